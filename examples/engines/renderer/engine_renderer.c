/* SPDX-License-Identifier: MIT */
/* Renderer: command buffers in frame memory, two frames in flight (issue #17).
 *
 * The game thread (main) builds each frame's command list in its frame
 * memory: a culled list of visible objects (fa_vec), then one draw
 * command and one uniform block per visible object, and a packet that
 * points at both. It hands the packet to the render thread through a
 * single-slot mailbox (a mutex and a condition variable), as transfers
 * (fa_transfer_make), then ends its frame. With cfg.frames_in_flight = 2
 * the memory of frame k stays valid until the game thread's end of frame
 * k + 1, so the render thread reads frame k while frame k + 1 is built.
 * The one rule that makes this safe is the frames-in-flight contract:
 *
 *   game:    begin k   build k   post k   wait until render finished k - 1   end k
 *   render:            [--------- execute k - 1 --------]  take k   execute k ...
 *
 * The game thread's end of frame k releases frame k - 1, so it first waits
 * for the render thread to be done with it (mailbox_wait_done).
 *
 * Level data (materials, meshes with their vertices, the objects) lives in
 * a scratch arena (fa_arena_create): loaded once, longer-lived than any
 * frame, and reset and loaded again at a level change halfway. The render
 * thread reads that data too, so the level change first waits until the
 * render thread has finished every frame drawn with the old level.
 *
 * The render thread has frames of its own (frames are per thread): its
 * per-frame scratch, a draw order sorted by material, is its frame memory.
 * It validates each command list in build order (checksum and stamps) and
 * then "executes" it in material order: every vertex of the mesh through
 * the uniform block's matrix, counting those on screen (the fake GPU work).
 *
 * Self-checks, each a failure (exit 1): the render thread's checksum of a
 * frame differs from the one the game thread folded from the values it
 * wrote (not read back); a stamp (a pattern of frame and index in every
 * command and uniform block) or a level stamp is not intact when the render
 * thread reads it; a transfer is not alive when consumed; a frame's
 * transfers are dead before the game thread's end of frame k + 1, or alive
 * after it; any backend allocation in a steady frame (after warm-up, the
 * level change excepted; memory comes through a counting backend: memory
 * given back, as the chunk cache gives back what no frame has taken for
 * cfg.chunk_cache_frames frames, is no cost a steady frame must avoid); any
 * error event.
 *
 * Usage: engine_renderer [--quick] [--frames F] [--objects N]
 */
#define _POSIX_C_SOURCE 200809L

#include <framealloc.h>

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MATERIALS 64
#define MESHES 96
#define MAX_VERTS 12
#define CULL_ONE_IN 8    /* the camera culls about one object in 8 */
#define UNIFORM_ALIGN 64 /* uniform blocks start on their own line, as a GPU's offsets do */
#define WARMUP_FRAMES 8  /* frames after these, the level change excepted, call no backend */
#define PRINT_EVERY 60

/* ---- level data: a scratch arena, reset at a level change --------------- */

struct material {
    float    color[4];
    uint32_t texture, shader, level, pad;
};

struct mesh {
    const float *xyz; /* vert_count positions, in the level arena */
    uint32_t     vert_count, index_count, level, pad;
};

struct object {
    uint32_t mesh, material;
    float    x, y, z, spin;
};

struct level {
    uint32_t         number, objects;
    struct material *materials;
    struct mesh     *meshes;
    struct object   *object;
};

static uint32_t lcg(uint64_t *state) { /* Knuth's MMIX constants */
    *state = *state * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(*state >> 33);
}

static float unit(uint64_t *state) { /* [-1, 1) */
    return (float)lcg(state) / (float)(1u << 30) - 1.0f;
}

static int load_meshes(fa_arena *ar, struct level *lv, uint64_t *rng) {
    for (uint32_t m = 0; m < MESHES; m++) {
        uint32_t n = 3 + lcg(rng) % (MAX_VERTS - 2);
        float *xyz = fa_arena_new_array(ar, float, 3 * n);
        if (xyz == NULL)
            return 0;
        for (uint32_t i = 0; i < 3 * n; i++)
            xyz[i] = 0.05f * unit(rng);
        lv->meshes[m] = (struct mesh){xyz, n, 3 * n, lv->number, 0};
    }
    return 1;
}

/* Everything a level needs, from the level arena (reset before: nothing of
 * the last level survives). The level struct itself lives there too. */
static struct level *load_level(fa_arena *ar, uint32_t number, uint32_t objects) {
    uint64_t rng = number;
    struct level *lv = fa_arena_new(ar, struct level);
    if (lv == NULL)
        return NULL;
    *lv = (struct level){number, objects, fa_arena_new_array(ar, struct material, MATERIALS),
                         fa_arena_new_array(ar, struct mesh, MESHES), fa_arena_new_array(ar, struct object, objects)};
    if (lv->materials == NULL || lv->meshes == NULL || lv->object == NULL || !load_meshes(ar, lv, &rng))
        return NULL;
    for (uint32_t m = 0; m < MATERIALS; m++)
        lv->materials[m] = (struct material){{unit(&rng), unit(&rng), unit(&rng), 1.0f}, lcg(&rng) % 32,
                                             lcg(&rng) % 4, number, 0};
    for (uint32_t o = 0; o < objects; o++)
        lv->object[o] = (struct object){lcg(&rng) % MESHES, lcg(&rng) % MATERIALS, unit(&rng), unit(&rng),
                                        unit(&rng), 0.05f * unit(&rng)};
    return lv;
}

/* ---- a frame's command list: the game thread's frame memory ------------- */

struct draw_cmd { /* 32 bytes, no padding: the checksum folds every byte */
    uint32_t key; /* material << 16 | mesh: the render thread's sort key */
    uint32_t mesh, material, uniform, index_count, object, level, stamp;
};

struct uniforms { /* 96 bytes, no padding */
    float    model[16];
    float    tint[4];
    uint32_t frame, object, level, stamp;
};

struct packet {
    uint64_t               frame;
    uint32_t               count, stamp;
    const struct draw_cmd *cmds;
    const struct uniforms *uniforms;
    const struct level    *level;
};

/* The pattern every command and uniform block carries: a function of
 * frame and index, so a block overwritten by a later frame, or filled by a
 * debug level after its release, shows. */
static uint32_t stamp_of(uint64_t frame, uint32_t i) {
    uint64_t h = (frame << 32 | i) * 0xd6e8feb86659fd93u;
    return (uint32_t)(h >> 32 ^ h);
}

/* 32-bit words folded in (FNV-1a on words): what both threads compute. */
static uint64_t fold_words(uint64_t h, const void *p, size_t bytes) {
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i + 4 <= bytes; i += 4) {
        uint32_t w;
        memcpy(&w, b + i, 4);
        h = (h ^ w) * 0x100000001b3u;
    }
    return h;
}

static int visible(uint32_t object, uint64_t frame) {
    return stamp_of(frame, object) % CULL_ONE_IN != 0;
}

static struct uniforms uniforms_of(const struct level *lv, uint32_t o, uint64_t frame) {
    const struct object *ob = &lv->object[o];
    float a = ob->spin * (float)frame, c = cosf(a), s = sinf(a);
    const float *tint = lv->materials[ob->material].color;
    return (struct uniforms){{c, -s, 0, 0, s, c, 0, 0, 0, 0, 1, 0, ob->x, ob->y, ob->z, 1},
                             {tint[0], tint[1], tint[2], tint[3]},
                             (uint32_t)frame, o, lv->number, 0};
}

/* What the mailbox carries, by value: no frame memory of its own. */
struct message {
    uint64_t    frame;
    fa_transfer packet, cmds, uniforms;
    uint32_t    count;    /* draw commands */
    uint64_t    expected; /* the game thread's checksum, folded from the values it wrote */
};

/* The culled list first (a growing fa_vec, in place while it is the
 * frame's last allocation), then exactly sized command and uniform arrays. */
static int cull(fa_arena *ar, const struct level *lv, uint64_t frame, fa_vec *out) {
    if (fa_vec_init_of(out, ar, uint32_t) != FA_OK)
        return 0;
    for (uint32_t o = 0; o < lv->objects; o++)
        if (visible(o, frame) && fa_vec_push_value(out, uint32_t, o) != FA_OK)
            return 0;
    return 1;
}

static int build_frame(fa_alloc *a, fa_arena *ar, const struct level *lv, uint64_t frame, struct message *msg) {
    fa_vec vis;
    if (!cull(ar, lv, frame, &vis))
        return 0;
    uint32_t n = (uint32_t)vis.count;
    struct draw_cmd *cmds = fa_arena_new_array(ar, struct draw_cmd, n);
    struct uniforms *uni = (struct uniforms *)fa_arena_array(ar, n, sizeof *uni, UNIFORM_ALIGN);
    struct packet *pk = fa_arena_new(ar, struct packet);
    if (cmds == NULL || uni == NULL || pk == NULL)
        return 0;
    uint64_t sum = 0xcbf29ce484222325u;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t o = *fa_vec_at_of(&vis, uint32_t, i);
        const struct object *ob = &lv->object[o];
        struct uniforms u = uniforms_of(lv, o, frame);
        u.stamp = stamp_of(frame, i) ^ 0x5bd1e995u;
        struct draw_cmd c = {ob->material << 16 | ob->mesh, ob->mesh, ob->material, i,
                             lv->meshes[ob->mesh].index_count, o, lv->number, stamp_of(frame, i)};
        sum = fold_words(fold_words(sum, &c, sizeof c), &u, sizeof u); /* the values, not the memory */
        cmds[i] = c;
        uni[i] = u;
    }
    *pk = (struct packet){frame, n, stamp_of(frame, UINT32_MAX), cmds, uni, lv};
    *msg = (struct message){frame, fa_transfer_make(a, pk, sizeof *pk), fa_transfer_make(a, cmds, n * sizeof *cmds),
                            fa_transfer_make(a, uni, n * sizeof *uni), n, sum};
    return msg->packet.ptr != NULL && msg->cmds.ptr != NULL && msg->uniforms.ptr != NULL;
}

/* ---- the mailbox: one slot, and the last frame the render thread finished */

struct mailbox {
    pthread_mutex_t lock;
    pthread_cond_t  changed;
    int             full, closed;
    struct message  msg;
    uint64_t        done; /* the render thread no longer reads frames up to this one */
};

static void mailbox_post(struct mailbox *mb, const struct message *m) {
    pthread_mutex_lock(&mb->lock);
    while (mb->full)
        pthread_cond_wait(&mb->changed, &mb->lock);
    mb->msg = *m;
    mb->full = 1;
    pthread_cond_broadcast(&mb->changed);
    pthread_mutex_unlock(&mb->lock);
}

/* 0 once the mailbox is closed and empty. */
static int mailbox_take(struct mailbox *mb, struct message *m) {
    pthread_mutex_lock(&mb->lock);
    while (!mb->full && !mb->closed)
        pthread_cond_wait(&mb->changed, &mb->lock);
    int got = mb->full;
    if (got) {
        *m = mb->msg;
        mb->full = 0;
        pthread_cond_broadcast(&mb->changed);
    }
    pthread_mutex_unlock(&mb->lock);
    return got;
}

static void mailbox_finish(struct mailbox *mb, uint64_t frame) {
    pthread_mutex_lock(&mb->lock);
    mb->done = frame;
    pthread_cond_broadcast(&mb->changed);
    pthread_mutex_unlock(&mb->lock);
}

/* The fence: returns once the render thread is done with `frame`. */
static void mailbox_wait_done(struct mailbox *mb, uint64_t frame) {
    pthread_mutex_lock(&mb->lock);
    while (mb->done < frame)
        pthread_cond_wait(&mb->changed, &mb->lock);
    pthread_mutex_unlock(&mb->lock);
}

static void mailbox_close(struct mailbox *mb) {
    pthread_mutex_lock(&mb->lock);
    mb->closed = 1;
    pthread_cond_broadcast(&mb->changed);
    pthread_mutex_unlock(&mb->lock);
}

/* ---- the render thread ---------------------------------------------------- */

struct render_figures { /* the render thread's own; read after it is joined */
    uint64_t frames, commands, vertices_on_screen, overlapped;
    uint64_t dead, checksum_errors, stamp_errors, level_errors, failures;
};

struct render {
    fa_alloc              *a;
    struct mailbox        *mb;
    const _Atomic uint64_t *game_frame; /* the frame the game thread is in */
    struct render_figures  fig;
};

/* The transfers are checked once per frame (they take a lock), then the
 * packet's pointers must be the ones transferred. */
static const struct packet *receive(struct render *r, const struct message *m) {
    if (!fa_transfer_alive(r->a, &m->packet) || !fa_transfer_alive(r->a, &m->cmds) ||
        !fa_transfer_alive(r->a, &m->uniforms)) {
        r->fig.dead++;
        return NULL;
    }
    const struct packet *pk = (const struct packet *)fa_transfer_get(r->a, &m->packet);
    int intact = pk != NULL && pk->frame == m->frame && pk->count == m->count &&
                 pk->stamp == stamp_of(m->frame, UINT32_MAX) &&
                 pk->cmds == fa_transfer_get(r->a, &m->cmds) && pk->uniforms == fa_transfer_get(r->a, &m->uniforms);
    r->fig.stamp_errors += !intact;
    return intact ? pk : NULL;
}

/* Pass 1, in build order: the checksum and every stamp. */
static void validate(struct render *r, const struct packet *pk, uint64_t expected) {
    uint64_t sum = 0xcbf29ce484222325u;
    for (uint32_t i = 0; i < pk->count; i++) {
        const struct draw_cmd *c = &pk->cmds[i];
        const struct uniforms *u = &pk->uniforms[c->uniform];
        sum = fold_words(fold_words(sum, c, sizeof *c), u, sizeof *u);
        r->fig.stamp_errors += c->stamp != stamp_of(pk->frame, i) || u->stamp != (stamp_of(pk->frame, i) ^ 0x5bd1e995u);
    }
    r->fig.checksum_errors += sum != expected;
}

/* The draw order, material by material (a counting sort): the render
 * thread's frame memory, gone at its own frame end. */
static uint32_t *sort_by_material(fa_arena *ar, const struct packet *pk) {
    uint32_t *start = fa_arena_new_array(ar, uint32_t, MATERIALS + 1);
    uint32_t *order = fa_arena_new_array(ar, uint32_t, pk->count);
    if (start == NULL || order == NULL)
        return NULL;
    memset(start, 0, (MATERIALS + 1) * sizeof *start);
    for (uint32_t i = 0; i < pk->count; i++)
        start[(pk->cmds[i].key >> 16) + 1]++;
    for (uint32_t m = 0; m < MATERIALS; m++)
        start[m + 1] += start[m];
    for (uint32_t i = 0; i < pk->count; i++)
        order[start[pk->cmds[i].key >> 16]++] = i;
    return order;
}

/* Pass 2, the fake GPU: every vertex of the mesh through the matrix. */
static uint64_t draw(const struct level *lv, const struct draw_cmd *c, const struct uniforms *u, uint64_t *bad) {
    const struct mesh *m = &lv->meshes[c->mesh];
    *bad += m->level != c->level || lv->materials[c->material].level != c->level || u->level != c->level;
    uint64_t on_screen = 0;
    for (uint32_t v = 0; v < m->vert_count; v++) {
        const float *p = &m->xyz[3 * v];
        float x = u->model[0] * p[0] + u->model[4] * p[1] + u->model[8] * p[2] + u->model[12];
        float y = u->model[1] * p[0] + u->model[5] * p[1] + u->model[9] * p[2] + u->model[13];
        on_screen += fabsf(x) <= 1.0f && fabsf(y) <= 1.0f;
    }
    return on_screen;
}

static void execute(struct render *r, fa_arena *ar, const struct message *m) {
    if (atomic_load_explicit(r->game_frame, memory_order_relaxed) > m->frame)
        r->fig.overlapped++; /* read while the game thread already built the next frame */
    const struct packet *pk = receive(r, m);
    if (pk == NULL)
        return;
    validate(r, pk, m->expected);
    uint32_t *order = sort_by_material(ar, pk);
    if (order == NULL) {
        r->fig.failures++;
        return;
    }
    for (uint32_t i = 0; i < pk->count; i++) {
        const struct draw_cmd *c = &pk->cmds[order[i]];
        r->fig.vertices_on_screen += draw(pk->level, c, &pk->uniforms[c->uniform], &r->fig.level_errors);
    }
    r->fig.commands += pk->count;
    r->fig.frames++;
}

static void *render_main(void *arg) {
    struct render *r = (struct render *)arg;
    fa_arena *ar = fa_arena_get(r->a); /* on this thread: its own frame arena */
    struct message m;
    while (mailbox_take(r->mb, &m)) {
        if (ar == NULL || fa_begin_frame(r->a) != FA_OK) {
            r->fig.failures++;
        } else {
            execute(r, ar, &m);
            r->fig.failures += fa_end_frame(r->a) != FA_OK;
        }
        mailbox_finish(r->mb, m.frame); /* after its last read of frame m.frame */
    }
    return NULL;
}

/* ---- the game thread ------------------------------------------------------ */

struct counting_backend {
    fa_backend       inner;
    _Atomic uint64_t calls; /* allocations */
};

static fa_backend_result count_allocate(void *ctx, size_t size, size_t align, void **out) {
    struct counting_backend *cb = (struct counting_backend *)ctx;
    atomic_fetch_add_explicit(&cb->calls, 1, memory_order_relaxed);
    return cb->inner.allocate(cb->inner.ctx, size, align, out);
}

static void give_back(void *ctx, void *ptr, size_t size, size_t align) {
    struct counting_backend *cb = (struct counting_backend *)ctx;
    cb->inner.deallocate(cb->inner.ctx, ptr, size, align);
}

static _Atomic uint64_t error_events; /* both threads report */

static void on_event(void *user, const fa_event *ev) {
    (void)user;
    if (ev->error != FA_OK)
        atomic_fetch_add(&error_events, 1);
    fprintf(stderr, "engine_renderer: framealloc %s: %s\n", ev->error != FA_OK ? "error" : "warning", ev->message);
}

struct game {
    fa_alloc               *a;
    fa_arena               *frame, *level_arena;
    struct level           *level;
    struct mailbox          mb;
    struct counting_backend backend;
    _Atomic uint64_t        frame_number;
    struct message          last; /* the frame before, to see its transfers die */
    fa_frame_info           info; /* the last frame, taken before its end: its bytes and chunks */
    uint64_t                lifetime_errors, steady_calls, change_calls, commands_built;
};

/* With two frames in flight, ending frame k released frame k - 1 and
 * nothing of frame k. */
static void check_lifetimes(struct game *g, const struct message *now) {
    g->lifetime_errors += !fa_transfer_alive(g->a, &now->packet) || !fa_transfer_alive(g->a, &now->cmds);
    if (g->last.frame != 0)
        g->lifetime_errors += fa_transfer_alive(g->a, &g->last.packet) || fa_transfer_alive(g->a, &g->last.uniforms);
    g->last = *now;
}

/* The level change: the render thread may still be drawing frame k - 1
 * with the old level's meshes, so it must be done with it first. */
static int change_level(struct game *g, uint64_t frame, uint32_t number, uint32_t objects) {
    mailbox_wait_done(&g->mb, frame - 1);
    if (fa_arena_reset(g->level_arena) != FA_OK)
        return 0;
    g->level = load_level(g->level_arena, number, objects);
    return g->level != NULL;
}

static int game_frame(struct game *g, uint64_t k, int level_change, uint32_t objects) {
    if (fa_begin_frame(g->a) != FA_OK)
        return 0;
    atomic_store_explicit(&g->frame_number, k, memory_order_relaxed);
    struct message msg;
    if ((level_change && !change_level(g, k, 2, objects)) || !build_frame(g->a, g->frame, g->level, k, &msg)) {
        mailbox_wait_done(&g->mb, k - 1); /* even on the way out: this end releases frame k - 1 */
        fa_end_frame(g->a);
        return 0;
    }
    g->commands_built += msg.count;
    mailbox_post(&g->mb, &msg);
    fa_frame_info_get(g->a, &g->info);
    mailbox_wait_done(&g->mb, k - 1); /* the frames-in-flight contract */
    if (fa_end_frame(g->a) != FA_OK)
        return 0;
    check_lifetimes(g, &msg);
    return 1;
}

struct options {
    uint64_t frames;
    uint32_t objects;
};

static void usage_exit(const char *program) {
    fprintf(stderr, "usage: %s [--quick] [--frames F] [--objects N]\n", program);
    exit(2);
}

static unsigned long parse_count(const char *text, unsigned long min, unsigned long max, const char *program) {
    char *end;
    unsigned long v = text != NULL ? strtoul(text, &end, 10) : 0;
    if (text == NULL || *end != '\0' || v < min || v > max)
        usage_exit(program);
    return v;
}

static struct options parse(int argc, char **argv) {
    struct options o = {240, 4000};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            o = (struct options){40, 1000};
        else if (strcmp(argv[i], "--frames") == 0)
            o.frames = parse_count(i + 1 < argc ? argv[++i] : NULL, 2, 1000000, argv[0]);
        else if (strcmp(argv[i], "--objects") == 0)
            o.objects = (uint32_t)parse_count(i + 1 < argc ? argv[++i] : NULL, 1, 1000000, argv[0]);
        else
            usage_exit(argv[0]);
    }
    return o;
}

/* The frames, with the backend allocations of each (both threads') sorted into
 * steady frames and the level change. Level 2 has three quarters of
 * level 1's objects. */
static int run_frames(struct game *g, const struct options *o) {
    uint64_t change = o->frames / 2 + 1;
    for (uint64_t k = 1; k <= o->frames; k++) {
        uint64_t before = atomic_load(&g->backend.calls);
        if (!game_frame(g, k, k == change, o->objects / 4 * 3 + 1))
            return 0;
        uint64_t calls = atomic_load(&g->backend.calls) - before;
        if (k == change)
            g->change_calls = calls;
        else if (k > WARMUP_FRAMES)
            g->steady_calls += calls;
        if (k == 1 || k % PRINT_EVERY == 0 || k == change)
            printf("frame %4" PRIu64 ": level %" PRIu32 ", %6" PRIu64 " commands built in all, frame %3zu KiB in %zu "
                   "chunks (%zu KiB), backend allocations %" PRIu64 "\n", k, g->level->number, g->commands_built,
                   g->info.bytes / 1024, g->info.chunks, g->info.reserved / 1024, calls);
    }
    mailbox_wait_done(&g->mb, o->frames);
    return 1;
}

static struct game game; /* the game thread's state; the mailbox is shared */

int main(int argc, char **argv) {
    struct options o = parse(argc, argv);
    struct game *g = &game;
    g->backend.inner = fa_backend_system();
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.frames_in_flight = 2; /* frame k stays valid until the end of frame k + 1 */
    cfg.backend = (fa_backend){&g->backend, count_allocate, give_back};
    cfg.on_event = on_event;
    g->a = fa_create(&cfg);
    if (g->a == NULL) {
        fprintf(stderr, "engine_renderer: fa_create: %s\n", fa_strerror(fa_last_error()));
        return 1;
    }
    /* The pass-through debug level takes every block from the backend by design. */
    int count_calls = fa_debug_level(g->a) != FA_DEBUG_MALLOC;
    g->frame = fa_arena_get(g->a);
    g->level_arena = fa_arena_create(g->a, "level", 0);
    g->level = g->level_arena != NULL ? load_level(g->level_arena, 1, o.objects) : NULL;
    pthread_mutex_init(&g->mb.lock, NULL);
    pthread_cond_init(&g->mb.changed, NULL);
    struct render r = {g->a, &g->mb, &g->frame_number, {0}};
    pthread_t thread;
    if (g->frame == NULL || g->level == NULL || pthread_create(&thread, NULL, render_main, &r) != 0) {
        fprintf(stderr, "engine_renderer: set-up failed\n");
        return 1;
    }

    printf("engine_renderer: %" PRIu64 " frames, 2 in flight, level 1 of %" PRIu32 " objects, level change at frame %"
           PRIu64 "\n", o.frames, o.objects, o.frames / 2 + 1);
    int ran = run_frames(g, &o);
    mailbox_close(&g->mb);
    pthread_join(thread, NULL);
    fa_arena_destroy(g->level_arena);
    fa_destroy(g->a);
    pthread_cond_destroy(&g->mb.changed);
    pthread_mutex_destroy(&g->mb.lock);

    const struct render_figures *f = &r.fig;
    uint64_t errors = atomic_load(&error_events);
    int ok = ran && f->frames == o.frames && f->commands == g->commands_built && f->dead == 0 &&
             f->checksum_errors == 0 && f->stamp_errors == 0 && f->level_errors == 0 && f->failures == 0 &&
             g->lifetime_errors == 0 && errors == 0 && (!count_calls || g->steady_calls == 0);
    printf("engine_renderer: render thread: %" PRIu64 " frames, %" PRIu64 " commands (built %" PRIu64 "), %" PRIu64
           " vertices on screen, %" PRIu64 " frames read while the next was built\n", f->frames, f->commands,
           g->commands_built, f->vertices_on_screen, f->overlapped);
    printf("engine_renderer: %" PRIu64 " dead transfers consumed, %" PRIu64 " checksum, %" PRIu64 " stamp, %" PRIu64
           " level mismatches; %" PRIu64 " lifetime errors\n", f->dead, f->checksum_errors, f->stamp_errors,
           f->level_errors, g->lifetime_errors);
    printf("engine_renderer: backend allocations in steady frames %" PRIu64 "%s, at the level change %" PRIu64 "; %" PRIu64
           " error events: %s\n", g->steady_calls, count_calls ? "" : " (not counted here)", g->change_calls, errors,
           ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
