/* SPDX-License-Identifier: MIT */
/* ECS: a small entity-component system on framealloc (issue #17).
 *
 * Entities live in archetype tables, one table per set of components,
 * stored as structure of arrays: each component column of a table is one
 * long-lived block of the allocator's pools, grown with fa_pool_realloc as
 * entities arrive (by doubling; a column past 4096 bytes becomes a heap
 * block, which fa_pool_realloc and fa_pool_free serve the same way).
 * Everything a tick computes is frame memory, taken through the thread's
 * arena handle (fa_arena_get, fetched once) and gone at fa_end_frame:
 *
 *   move       position += velocity, column by column;
 *   index      an fa_map from entity id to its (table, row), so that
 *              systems can follow ids (targets) and structural changes can
 *              find the rows they move;
 *   attack     a query of every entity with a position and health,
 *              gathered into a structure of arrays (fa_soa_alloc); each
 *              attacker weighs a few candidate targets by id, in batches
 *              of fa_batch_run whose per-batch scratch is rewound after
 *              each batch; the hits are then applied to the health column;
 *   lifecycle  wrecks age; the dead become wrecks, drifters become units,
 *              units become armed, old wrecks are despawned and as many
 *              new entities spawned: a command list (fa_vec) collected
 *              first, then applied by moving rows between tables.
 *
 * Archetypes: drifter (position, velocity), unit (+ health), armed
 * (+ sprite), wreck (position, sprite).
 *
 * Self-checks, each a failure (exit 1): a state checksum that differs, at
 * any tick, from the one of an independent straightforward implementation
 * of the same rules (one malloc'd array of whole entities, an id -> slot
 * array, no tables and no framealloc) run in the same process; any backend
 * call after the warm-up ticks (fa_stats backend_calls: the columns have
 * reached their size, and the frames reuse their chunks); any error event.
 *
 * Usage: engine_ecs [--quick] [--entities N] [--ticks T]
 */
#define _POSIX_C_SOURCE 200809L

#include <framealloc.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORLD_MASK ((1u << 20) - 1) /* positions wrap around a 2^20 square */
#define CANDIDATES 4                /* targets an attacker weighs */
#define ATTACK_RANGE (1u << 18)     /* Manhattan distance it reaches */
#define WRECK_TICKS 24              /* ticks a wreck stays */
#define PROMOTE_ONE_IN 32           /* a drifter becomes a unit one tick in 32 */
#define ARM_ONE_IN 16               /* a unit becomes armed one tick in 16 */
#define AIM_BATCH 256               /* attackers per fa_batch_run batch */
#define FIRST_CAPACITY 64           /* rows of a table's first columns */

/* ---- the rules: the same for both implementations ---------------------- */

enum component { C_ID, C_POS, C_VEL, C_HEALTH, C_SPRITE, C_COUNT };
#define HAS(c) (1u << (c))

struct pos { uint32_t x, y; };
struct vel { int32_t x, y; };
struct sprite { uint32_t image, age; };

static const size_t comp_size[C_COUNT] = {sizeof(uint32_t), sizeof(struct pos), sizeof(struct vel),
                                          sizeof(int32_t), sizeof(struct sprite)};

enum archetype { A_DRIFTER, A_UNIT, A_ARMED, A_WRECK, A_COUNT };
static const uint32_t arch_mask[A_COUNT] = {
    HAS(C_ID) | HAS(C_POS) | HAS(C_VEL),
    HAS(C_ID) | HAS(C_POS) | HAS(C_VEL) | HAS(C_HEALTH),
    HAS(C_ID) | HAS(C_POS) | HAS(C_VEL) | HAS(C_HEALTH) | HAS(C_SPRITE),
    HAS(C_ID) | HAS(C_POS) | HAS(C_SPRITE),
};
static const char *const arch_name[A_COUNT] = {"drifters", "units", "armed", "wrecks"};

/* One entity whole: how a row travels between tables, and how the
 * reference stores every entity. Only its archetype's fields mean anything. */
struct entity {
    uint32_t      id;
    struct pos    pos;
    struct vel    vel;
    int32_t       health;
    struct sprite sprite;
};

enum fate { KEEP, TO_UNIT, TO_ARMED, TO_WRECK, DESPAWN };

static uint64_t mix64(uint64_t x) { /* the splitmix64 finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static uint64_t roll(uint32_t id, uint64_t tick, uint64_t salt) {
    return mix64((uint64_t)id * 0x9e3779b97f4a7c15u ^ tick << 20 ^ salt);
}

/* A new entity is a function of its id alone: spawns made in any order
 * give the same world. */
static enum archetype spawn_entity(uint32_t id, struct entity *e) {
    uint64_t h = mix64(id);
    enum archetype arch = (enum archetype)(h % 3);
    *e = (struct entity){id, {(uint32_t)(h >> 8) & WORLD_MASK, (uint32_t)(h >> 28) & WORLD_MASK},
                         {(int32_t)(h >> 48 & 1023) - 512, (int32_t)(h >> 38 & 1023) - 512},
                         40 + (int32_t)(id % 61), {id % 16, 0}};
    return arch;
}

static uint32_t candidate(uint32_t attacker, uint64_t tick, unsigned k, uint32_t id_limit) {
    return (uint32_t)(roll(attacker, tick, k) % id_limit);
}

static uint32_t distance(struct pos a, struct pos b) {
    return (a.x > b.x ? a.x - b.x : b.x - a.x) + (a.y > b.y ? a.y - b.y : b.y - a.y);
}

static int32_t damage_of(int32_t attacker_health, int armed) {
    return 1 + (attacker_health & 7) + 3 * armed;
}

/* Decided on the state after this tick's damage and wreck ageing. */
static enum fate fate_of(enum archetype arch, uint32_t id, int32_t health, uint32_t age, uint64_t tick) {
    switch (arch) {
    case A_DRIFTER: return roll(id, tick, 101) % PROMOTE_ONE_IN == 0 ? TO_UNIT : KEEP;
    case A_UNIT: return health <= 0 ? TO_WRECK : roll(id, tick, 202) % ARM_ONE_IN == 0 ? TO_ARMED : KEEP;
    case A_ARMED: return health <= 0 ? TO_WRECK : KEEP;
    default: return age >= WRECK_TICKS ? DESPAWN : KEEP;
    }
}

/* The components an entity gains on its way to its next archetype. */
static enum archetype become(struct entity *e, enum archetype from, enum fate fate) {
    switch (fate) {
    case TO_UNIT: e->health = 40 + (int32_t)(e->id % 61); return A_UNIT;
    case TO_ARMED: e->sprite = (struct sprite){e->id % 16, 0}; return A_ARMED;
    default: /* TO_WRECK: the armed keep their image */
        e->sprite = (struct sprite){from == A_ARMED ? e->sprite.image : 16 + e->id % 8, 0};
        return A_WRECK;
    }
}

/* Order-free: a sum over entities, each hashed over its own components. */
static uint64_t entity_hash(enum archetype arch, const struct entity *e) {
    uint32_t m = arch_mask[arch];
    uint64_t h = mix64((uint64_t)e->id << 8 | (unsigned)arch);
    h = mix64(h ^ ((uint64_t)e->pos.x << 32 | e->pos.y));
    if (m & HAS(C_VEL))
        h = mix64(h ^ ((uint64_t)(uint32_t)e->vel.x << 32 | (uint32_t)e->vel.y));
    if (m & HAS(C_HEALTH))
        h = mix64(h ^ (uint32_t)e->health);
    if (m & HAS(C_SPRITE))
        h = mix64(h ^ ((uint64_t)e->sprite.image << 32 | e->sprite.age));
    return h;
}

/* ---- the ECS on framealloc ---------------------------------------------- */

struct table {
    uint32_t mask;
    size_t   count, capacity;
    void    *col[C_COUNT]; /* pool (or heap) blocks; NULL where the archetype lacks one */
};

#define COL(t, c, T) ((T *)(t)->col[c])

struct loc { /* where an entity is this tick: a value of the id map */
    uint32_t table, row;
};

struct hit {
    uint32_t target; /* 0: none (ids start at 1) */
    int32_t  damage;
};

struct world {
    fa_alloc    *a;
    fa_arena    *frame; /* this thread's frame arena: every system's per-tick memory */
    struct table tables[A_COUNT];
    uint32_t     next_id;
    uint64_t     tick;
    fa_map       where; /* this tick's id -> struct loc *, frame memory */
    int          failed;
    uint64_t     growths, hits, deaths, spawns; /* figures */
};

static void fail(struct world *w, const char *what) {
    if (!w->failed)
        fprintf(stderr, "engine_ecs: tick %" PRIu64 ": %s (framealloc's last error: %s)\n", w->tick, what,
                fa_strerror(fa_last_error()));
    w->failed = 1;
}

/* Room for `need` rows: every column grows by doubling, so a table that
 * has seen its largest population never grows again. */
static int table_reserve(struct world *w, struct table *t, size_t need) {
    if (need <= t->capacity)
        return 1;
    size_t cap = t->capacity != 0 ? t->capacity : FIRST_CAPACITY;
    while (cap < need)
        cap *= 2;
    for (int c = 0; c < C_COUNT; c++) {
        if (!(t->mask & HAS(c)))
            continue;
        void *p = fa_pool_realloc(w->a, t->col[c], cap * comp_size[c]);
        if (p == NULL) { /* the columns grown so far stay valid, only larger */
            fail(w, "fa_pool_realloc");
            return 0;
        }
        t->col[c] = p;
    }
    t->capacity = cap;
    w->growths++;
    return 1;
}

static struct entity row_read(const struct table *t, size_t row) {
    struct entity e = {0};
    e.id = COL(t, C_ID, uint32_t)[row];
    e.pos = COL(t, C_POS, struct pos)[row];
    if (t->mask & HAS(C_VEL))
        e.vel = COL(t, C_VEL, struct vel)[row];
    if (t->mask & HAS(C_HEALTH))
        e.health = COL(t, C_HEALTH, int32_t)[row];
    if (t->mask & HAS(C_SPRITE))
        e.sprite = COL(t, C_SPRITE, struct sprite)[row];
    return e;
}

static void row_write(struct table *t, size_t row, const struct entity *e) {
    COL(t, C_ID, uint32_t)[row] = e->id;
    COL(t, C_POS, struct pos)[row] = e->pos;
    if (t->mask & HAS(C_VEL))
        COL(t, C_VEL, struct vel)[row] = e->vel;
    if (t->mask & HAS(C_HEALTH))
        COL(t, C_HEALTH, int32_t)[row] = e->health;
    if (t->mask & HAS(C_SPRITE))
        COL(t, C_SPRITE, struct sprite)[row] = e->sprite;
}

/* The entity's loc in the id map, or NULL (not indexed this tick). */
static struct loc *loc_of(const struct world *w, uint32_t id) {
    void *v;
    return fa_map_get(&w->where, id, &v) ? (struct loc *)v : NULL;
}

static int row_append(struct world *w, enum archetype arch, const struct entity *e, struct loc *l) {
    struct table *t = &w->tables[arch];
    if (!table_reserve(w, t, t->count + 1))
        return 0;
    row_write(t, t->count, e);
    if (l != NULL)
        *l = (struct loc){(uint32_t)arch, (uint32_t)t->count};
    t->count++;
    return 1;
}

/* Swap-remove: the last row fills the hole, and its entity's loc follows. */
static void row_remove(struct world *w, struct table *t, uint32_t row) {
    size_t last = --t->count;
    if (row == last)
        return;
    struct entity moved = row_read(t, last);
    row_write(t, row, &moved);
    struct loc *l = loc_of(w, moved.id);
    if (l != NULL)
        l->row = row;
}

static void move_system(struct world *w) {
    for (int a = 0; a < A_COUNT; a++) {
        struct table *t = &w->tables[a];
        if (!(t->mask & HAS(C_VEL)))
            continue;
        struct pos *p = COL(t, C_POS, struct pos);
        const struct vel *v = COL(t, C_VEL, struct vel);
        for (size_t i = 0; i < t->count; i++) {
            p[i].x = (p[i].x + (uint32_t)v[i].x) & WORLD_MASK;
            p[i].y = (p[i].y + (uint32_t)v[i].y) & WORLD_MASK;
        }
    }
}

static size_t entity_count(const struct world *w) {
    size_t n = 0;
    for (int a = 0; a < A_COUNT; a++)
        n += w->tables[a].count;
    return n;
}

/* The id map: a fixed-capacity table in frame memory (it never moves, so
 * the locs it points at stay put), rebuilt every tick. */
static int index_system(struct world *w) {
    size_t n = entity_count(w);
    struct loc *locs = fa_arena_new_array(w->frame, struct loc, n);
    if (locs == NULL || fa_map_init(&w->where, w->frame, n) != FA_OK) {
        fail(w, "the id map");
        return 0;
    }
    size_t k = 0;
    for (uint32_t a = 0; a < A_COUNT; a++) {
        const struct table *t = &w->tables[a];
        for (uint32_t r = 0; r < t->count; r++, k++) {
            locs[k] = (struct loc){a, r};
            if (fa_map_put(&w->where, COL(t, C_ID, uint32_t)[r], &locs[k]) != FA_OK) {
                fail(w, "fa_map_put");
                return 0;
            }
        }
    }
    return 1;
}

/* A query's result: every entity with health, gathered column by column
 * into one structure of arrays in frame memory. */
enum { Q_ID, Q_POS, Q_HEALTH, Q_ARMED, Q_ARRAYS };

struct query {
    size_t      count;
    uint32_t   *id;
    struct pos *pos;
    int32_t    *health;
    uint8_t    *armed;
};

static int query_health(struct world *w, struct query *q) {
    static const size_t sizes[Q_ARRAYS] = {sizeof(uint32_t), sizeof(struct pos), sizeof(int32_t), 1};
    static const size_t aligns[Q_ARRAYS] = {FA_ALIGNOF(uint32_t), FA_ALIGNOF(struct pos), FA_ALIGNOF(int32_t), 1};
    void *arr[Q_ARRAYS];
    q->count = w->tables[A_UNIT].count + w->tables[A_ARMED].count;
    if (fa_soa_alloc(w->frame, q->count, Q_ARRAYS, sizes, aligns, arr) != FA_OK) {
        fail(w, "fa_soa_alloc");
        return 0;
    }
    q->id = arr[Q_ID], q->pos = arr[Q_POS], q->health = arr[Q_HEALTH], q->armed = arr[Q_ARMED];
    size_t k = 0;
    for (int a = A_UNIT; a <= A_ARMED; a++) {
        const struct table *t = &w->tables[a];
        if (t->count == 0)
            continue; /* its columns may not exist yet */
        memcpy(q->id + k, t->col[C_ID], t->count * sizeof *q->id);
        memcpy(q->pos + k, t->col[C_POS], t->count * sizeof *q->pos);
        memcpy(q->health + k, t->col[C_HEALTH], t->count * sizeof *q->health);
        memset(q->armed + k, a == A_ARMED, t->count);
        k += t->count;
    }
    return 1;
}

struct aim_ctx {
    const struct world *w;
    const struct query *q;
    struct hit         *hits; /* one per query row: sized before the run, never grown in it */
};

struct aim { /* one candidate's weighing: batch scratch */
    uint32_t target, dist;
};

/* Candidate k of an attacker: valid when it exists now and has health. */
static struct aim weigh(const struct world *w, uint32_t attacker, struct pos at, unsigned k) {
    uint32_t c = candidate(attacker, w->tick, k, w->next_id);
    const struct loc *l = c != attacker ? loc_of(w, c) : NULL;
    if (l == NULL || !(w->tables[l->table].mask & HAS(C_HEALTH)))
        return (struct aim){0, UINT32_MAX};
    const struct pos *p = COL(&w->tables[l->table], C_POS, struct pos);
    return (struct aim){c, distance(at, p[l->row])};
}

/* One batch of attackers: every candidate weighed into batch scratch, then
 * the nearest in range chosen (the first of equals). */
static fa_error aim_batch(void *ctx, fa_arena *ar, void *items, size_t first, size_t n) {
    const struct aim_ctx *x = (const struct aim_ctx *)ctx;
    const uint32_t *ids = (const uint32_t *)items; /* the query's id array, from row `first` */
    struct aim *weighed = fa_arena_new_array(ar, struct aim, n * CANDIDATES);
    if (weighed == NULL)
        return fa_last_error();
    for (size_t i = 0; i < n; i++)
        for (unsigned k = 0; k < CANDIDATES; k++)
            weighed[i * CANDIDATES + k] = weigh(x->w, ids[i], x->q->pos[first + i], k);
    for (size_t i = 0; i < n; i++) {
        const struct aim *best = &weighed[i * CANDIDATES];
        for (unsigned k = 1; k < CANDIDATES; k++)
            if (weighed[i * CANDIDATES + k].dist < best->dist)
                best = &weighed[i * CANDIDATES + k];
        size_t q = first + i;
        x->hits[q] = best->dist < ATTACK_RANGE
                         ? (struct hit){best->target, damage_of(x->q->health[q], x->q->armed[q])}
                         : (struct hit){0, 0};
    }
    return FA_OK;
}

/* Every hit is chosen on the state before any damage, then applied. */
static int attack_system(struct world *w) {
    struct query q;
    if (!query_health(w, &q))
        return 0;
    struct aim_ctx x = {w, &q, fa_arena_new_array(w->frame, struct hit, q.count)};
    if (x.hits == NULL || fa_batch_run(w->frame, q.id, q.count, sizeof *q.id, AIM_BATCH, aim_batch, &x) != FA_OK) {
        fail(w, "aiming");
        return 0;
    }
    for (size_t i = 0; i < q.count; i++) {
        const struct loc *l = x.hits[i].target != 0 ? loc_of(w, x.hits[i].target) : NULL;
        if (l != NULL) {
            COL(&w->tables[l->table], C_HEALTH, int32_t)[l->row] -= x.hits[i].damage;
            w->hits++;
        }
    }
    return 1;
}

struct command {
    uint32_t  id;
    enum fate fate;
};

/* Fates are all decided first (the rows do not move while they are read),
 * then applied in order, each finding its row through the id map. */
static int collect_fates(struct world *w, fa_vec *cmds) {
    struct sprite *s = COL(&w->tables[A_WRECK], C_SPRITE, struct sprite);
    for (size_t i = 0; i < w->tables[A_WRECK].count; i++)
        s[i].age++;
    for (int a = 0; a < A_COUNT; a++) {
        const struct table *t = &w->tables[a];
        const uint32_t *id = COL(t, C_ID, uint32_t);
        for (size_t r = 0; r < t->count; r++) {
            int32_t health = t->mask & HAS(C_HEALTH) ? COL(t, C_HEALTH, int32_t)[r] : 0;
            uint32_t age = t->mask & HAS(C_SPRITE) ? COL(t, C_SPRITE, struct sprite)[r].age : 0;
            enum fate f = fate_of((enum archetype)a, id[r], health, age, w->tick);
            if (f != KEEP && fa_vec_push_value(cmds, struct command, ((struct command){id[r], f})) != FA_OK) {
                fail(w, "fa_vec_push");
                return 0;
            }
        }
    }
    return 1;
}

static int apply_command(struct world *w, const struct command *c) {
    struct loc *l = loc_of(w, c->id);
    if (l == NULL) { /* every entity alive at the tick's start is indexed */
        fail(w, "an entity missing from the id map");
        return 0;
    }
    enum archetype from = (enum archetype)l->table;
    struct entity e = row_read(&w->tables[from], l->row);
    row_remove(w, &w->tables[from], l->row);
    if (c->fate == DESPAWN) {
        fa_map_remove(&w->where, c->id);
        return 1;
    }
    w->deaths += c->fate == TO_WRECK;
    return row_append(w, become(&e, from, c->fate), &e, l);
}

static int spawn(struct world *w) {
    struct entity e;
    enum archetype arch = spawn_entity(w->next_id++, &e);
    w->spawns++;
    return row_append(w, arch, &e, NULL);
}

static int lifecycle_system(struct world *w) {
    fa_vec cmds;
    if (fa_vec_init_of(&cmds, w->frame, struct command) != FA_OK || !collect_fates(w, &cmds))
        return 0;
    size_t despawned = 0;
    for (size_t i = 0; i < cmds.count; i++) {
        const struct command *c = fa_vec_at_of(&cmds, struct command, i);
        despawned += c->fate == DESPAWN;
        if (!apply_command(w, c))
            return 0;
    }
    for (size_t i = 0; i < despawned; i++) /* the population stays the same */
        if (!spawn(w))
            return 0;
    return 1;
}

static int ecs_tick(struct world *w) {
    w->tick++;
    if (fa_begin_frame(w->a) != FA_OK) {
        fail(w, "fa_begin_frame");
        return 0;
    }
    move_system(w);
    int ok = index_system(w) && attack_system(w) && lifecycle_system(w);
    w->where = (fa_map){0}; /* its table goes with the frame */
    if (fa_end_frame(w->a) != FA_OK)
        fail(w, "fa_end_frame");
    return ok && !w->failed;
}

static int ecs_init(struct world *w, fa_alloc *a, uint32_t entities) {
    *w = (struct world){.a = a, .frame = fa_arena_get(a), .next_id = 1};
    for (int k = 0; k < A_COUNT; k++)
        w->tables[k].mask = arch_mask[k];
    if (w->frame == NULL) {
        fail(w, "fa_arena_get");
        return 0;
    }
    for (uint32_t i = 0; i < entities; i++)
        if (!spawn(w))
            return 0;
    w->spawns = 0;
    return 1;
}

static uint64_t ecs_checksum(const struct world *w) {
    uint64_t sum = 0;
    for (int a = 0; a < A_COUNT; a++)
        for (size_t r = 0; r < w->tables[a].count; r++) {
            struct entity e = row_read(&w->tables[a], r);
            sum += entity_hash((enum archetype)a, &e);
        }
    return sum;
}

static void ecs_free(struct world *w) {
    for (int a = 0; a < A_COUNT; a++)
        for (int c = 0; c < C_COUNT; c++)
            if (fa_pool_free(w->a, w->tables[a].col[c]) != FA_OK)
                fail(w, "fa_pool_free");
}

/* ---- the reference: the same rules, one plain array of entities -------- */

struct ref_entity {
    struct entity  e;
    enum archetype arch;
    int32_t        pending; /* damage taken this tick */
    enum fate      fate;
};

struct reference {
    struct ref_entity *all;
    size_t             count;
    int32_t           *slot_of; /* id -> index into all, -1 when gone */
    size_t             ids;     /* entries of slot_of */
    uint32_t           next_id;
    uint64_t           tick;
};

static int ref_set_slot(struct reference *r, uint32_t id, int32_t slot) {
    if (id >= r->ids) {
        size_t n = r->ids != 0 ? r->ids * 2 : 1024;
        int32_t *s = realloc(r->slot_of, n * sizeof *s);
        if (s == NULL)
            return 0;
        for (size_t i = r->ids; i < n; i++)
            s[i] = -1;
        r->slot_of = s;
        r->ids = n;
    }
    r->slot_of[id] = slot;
    return 1;
}

static int ref_spawn_into(struct reference *r, size_t slot) {
    uint32_t id = r->next_id++;
    r->all[slot].arch = spawn_entity(id, &r->all[slot].e);
    return ref_set_slot(r, id, (int32_t)slot);
}

static int ref_init(struct reference *r, uint32_t entities) {
    *r = (struct reference){calloc(entities, sizeof *r->all), entities, NULL, 0, 1, 0};
    if (r->all == NULL)
        return 0;
    for (size_t i = 0; i < entities; i++)
        if (!ref_spawn_into(r, i))
            return 0;
    return 1;
}

static const struct ref_entity *ref_find(const struct reference *r, uint32_t id) {
    int32_t slot = id < r->ids ? r->slot_of[id] : -1;
    return slot >= 0 ? &r->all[slot] : NULL;
}

static void ref_attack(struct reference *r, const struct ref_entity *x) {
    uint32_t best = 0, best_dist = UINT32_MAX;
    for (unsigned k = 0; k < CANDIDATES; k++) {
        uint32_t c = candidate(x->e.id, r->tick, k, r->next_id);
        const struct ref_entity *t = c != x->e.id ? ref_find(r, c) : NULL;
        if (t == NULL || !(arch_mask[t->arch] & HAS(C_HEALTH)))
            continue;
        uint32_t d = distance(x->e.pos, t->e.pos);
        if (d < best_dist)
            best = c, best_dist = d;
    }
    if (best_dist < ATTACK_RANGE)
        r->all[r->slot_of[best]].pending += damage_of(x->e.health, x->arch == A_ARMED);
}

static int ref_tick(struct reference *r) {
    r->tick++;
    for (size_t i = 0; i < r->count; i++) {
        struct ref_entity *x = &r->all[i];
        x->pending = 0;
        if (arch_mask[x->arch] & HAS(C_VEL)) {
            x->e.pos.x = (x->e.pos.x + (uint32_t)x->e.vel.x) & WORLD_MASK;
            x->e.pos.y = (x->e.pos.y + (uint32_t)x->e.vel.y) & WORLD_MASK;
        }
    }
    for (size_t i = 0; i < r->count; i++)
        if (arch_mask[r->all[i].arch] & HAS(C_HEALTH))
            ref_attack(r, &r->all[i]);
    for (size_t i = 0; i < r->count; i++) {
        struct ref_entity *x = &r->all[i];
        x->e.health -= x->pending;
        x->e.sprite.age += x->arch == A_WRECK;
        x->fate = fate_of(x->arch, x->e.id, x->e.health, x->e.sprite.age, r->tick);
    }
    for (size_t i = 0; i < r->count; i++) {
        struct ref_entity *x = &r->all[i];
        if (x->fate == DESPAWN) {
            r->slot_of[x->e.id] = -1;
            if (!ref_spawn_into(r, i))
                return 0;
        } else if (x->fate != KEEP) {
            x->arch = become(&x->e, x->arch, x->fate);
        }
    }
    return 1;
}

static uint64_t ref_checksum(const struct reference *r) {
    uint64_t sum = 0;
    for (size_t i = 0; i < r->count; i++)
        sum += entity_hash(r->all[i].arch, &r->all[i].e);
    return sum;
}

/* ---- the run ------------------------------------------------------------ */

static uint64_t error_events;

static void on_event(void *user, const fa_event *ev) {
    (void)user;
    error_events += ev->error != FA_OK; /* one thread: no atomics needed */
    fprintf(stderr, "engine_ecs: framealloc %s: %s\n", ev->error != FA_OK ? "error" : "warning", ev->message);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Backend calls so far, from the statistics (which a minimal build does not keep). */
static uint64_t backend_calls(fa_alloc *a) {
    static fa_stats st; /* large: not on the stack */
    memset(&st, 0, sizeof st);
    return !FA_MINIMAL && fa_stats_get(a, &st) == FA_OK ? st.backend_calls : 0;
}

struct options {
    uint32_t entities;
    uint64_t ticks, warmup;
};

static void usage_exit(const char *program) {
    fprintf(stderr, "usage: %s [--quick] [--entities N] [--ticks T]\n", program);
    exit(2);
}

static unsigned long parse_count(const char *text, unsigned long max, const char *program) {
    char *end;
    unsigned long v = text != NULL ? strtoul(text, &end, 10) : 0;
    if (text == NULL || *end != '\0' || v == 0 || v > max)
        usage_exit(program);
    return v;
}

static struct options parse(int argc, char **argv) {
    struct options o = {4000, 300, 40};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            o = (struct options){1000, 100, 40};
        else if (strcmp(argv[i], "--entities") == 0)
            o.entities = (uint32_t)parse_count(i + 1 < argc ? argv[++i] : NULL, 1000000, argv[0]);
        else if (strcmp(argv[i], "--ticks") == 0)
            o.ticks = parse_count(i + 1 < argc ? argv[++i] : NULL, 1000000, argv[0]);
        else
            usage_exit(argv[0]);
    }
    return o;
}

struct run {
    uint64_t first_mismatch; /* 0: none */
    uint64_t steady_calls, steady_growths, max_frame_bytes;
    double   ecs_s, ref_s;
};

/* Both worlds tick side by side; their checksums are compared every tick,
 * so that a divergence names its tick. */
static int run_ticks(struct world *w, struct reference *r, const struct options *o, struct run *out) {
    uint64_t calls_at_warmup = 0, growths_at_warmup = 0;
    for (uint64_t t = 1; t <= o->ticks; t++) {
        double t0 = now_s();
        if (!ecs_tick(w))
            return 0;
        double t1 = now_s();
        if (!ref_tick(r)) {
            fprintf(stderr, "engine_ecs: the reference ran out of memory\n");
            return 0;
        }
        out->ecs_s += t1 - t0, out->ref_s += now_s() - t1;
        fa_frame_info fi;
        if (fa_frame_info_get(w->a, &fi) == FA_OK && fi.bytes > out->max_frame_bytes)
            out->max_frame_bytes = fi.bytes;
        if (out->first_mismatch == 0 && ecs_checksum(w) != ref_checksum(r))
            out->first_mismatch = t;
        if (t == o->warmup)
            calls_at_warmup = backend_calls(w->a), growths_at_warmup = w->growths;
    }
    if (o->ticks > o->warmup)
        out->steady_calls = backend_calls(w->a) - calls_at_warmup, out->steady_growths = w->growths - growths_at_warmup;
    return 1;
}

int main(int argc, char **argv) {
    struct options o = parse(argc, argv);
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.on_event = on_event;
    fa_alloc *a = fa_create(&cfg);
    if (a == NULL) {
        fprintf(stderr, "engine_ecs: fa_create: %s\n", fa_strerror(fa_last_error()));
        return 1;
    }
    /* The pass-through debug level takes every block from the backend by design. */
    int count_calls = !FA_MINIMAL && fa_debug_level(a) != FA_DEBUG_MALLOC;

    struct world w = {0};
    struct reference r = {0}; /* all empty, should a set-up fail half-way */
    struct run run = {0};
    int ran = ecs_init(&w, a, o.entities) && ref_init(&r, o.entities) && run_ticks(&w, &r, &o, &run);
    uint64_t ecs_sum = ecs_checksum(&w), ref_sum = ref_checksum(&r);

    printf("engine_ecs: %" PRIu32 " entities, %" PRIu64 " ticks (steady after %" PRIu64 "):", o.entities, o.ticks,
           o.warmup);
    for (int k = 0; k < A_COUNT; k++)
        printf(" %zu %s (capacity %zu)%s", w.tables[k].count, arch_name[k], w.tables[k].capacity,
               k + 1 < A_COUNT ? "," : "\n");
    /* The reference finds an id through a plain array indexed by id; the
     * ECS through the hash map, whose lookups are most of the difference. */
    printf("engine_ecs: %" PRIu64 " hits, %" PRIu64 " deaths, %" PRIu64 " spawns; largest tick frame %" PRIu64
           " bytes; %.2f us a tick (reference %.2f us)\n", w.hits, w.deaths, w.spawns, run.max_frame_bytes,
           run.ecs_s * 1e6 / (double)o.ticks, run.ref_s * 1e6 / (double)o.ticks);
    printf("engine_ecs: column growths %" PRIu64 " (%" PRIu64 " after warm-up), backend calls after warm-up %" PRIu64
           "%s\n", w.growths, run.steady_growths, run.steady_calls, count_calls ? "" : " (not counted here)");

    ecs_free(&w);
    fa_destroy(a);
    free(r.all);
    free(r.slot_of);
    int ok = ran && !w.failed && run.first_mismatch == 0 && ecs_sum == ref_sum && error_events == 0 &&
             (!count_calls || run.steady_calls == 0);
    if (run.first_mismatch)
        printf("engine_ecs: the states first differ after tick %" PRIu64 "\n", run.first_mismatch);
    printf("engine_ecs: checksum %016" PRIx64 " (reference %016" PRIx64 "), %" PRIu64 " error events: %s\n", ecs_sum,
           ref_sum, error_events, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
