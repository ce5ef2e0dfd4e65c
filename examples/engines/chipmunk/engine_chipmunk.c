/* SPDX-License-Identifier: MIT */
/* Physics on Chipmunk2D: a step's contacts in frame memory (issue #17).
 *
 * A few hundred boxes and circles fall into a static container, past two
 * pinned wheels (dynamic bodies) and four rotating paddles (kinematic
 * bodies). Every step of the space is one frame:
 *
 *   fa_begin_frame
 *   cpSpaceStep        the default collision handler's postSolve writes one
 *                      manifold record per colliding pair (the two shape
 *                      ids, the normal, the total impulse, where its points
 *                      are) and one record per contact point into two frame
 *                      vectors (fa_vec over the arena handle, which the run
 *                      fetched once with fa_arena_get and keeps)
 *   process            sums each body's impulses into a frame array; a body
 *                      hit harder than IMPACT times its weight takes damage
 *                      and a small kick back (an impulse) computed from the
 *                      stored contacts, so that what the store holds feeds
 *                      back into the physics
 *   fa_end_frame       every record of the step goes at once
 *
 * Chipmunk's own memory (the space, bodies, shapes, arbiters, its spatial
 * index) stays on Chipmunk's allocator: it calls cpcalloc/cprealloc/cpfree,
 * macros fixed to calloc/realloc/free when the library itself was compiled,
 * with no hook to hand it another allocator at run time. What framealloc takes is
 * the game's per-step data about the physics.
 *
 * The same simulation runs twice in this process: first with the records
 * in malloc/realloc growable arrays (the reference), then in frame memory.
 * Checks, each a failure (exit 1): the final position, angle and velocities
 * of every body differ in any bit between the two runs; a step's contact
 * checksum differs; a record that does not link up (a point naming another
 * manifold, a manifold's points out of range) or a count that differs from
 * what the callback pushed; a failed push; any error event; and any backend
 * call after step STEADY_AFTER of the frame run (memory comes through a
 * counting backend around fa_backend_system).
 *
 * Usage: engine_chipmunk [--steps N] [--bodies N] [--quick]
 */
#include <framealloc.h>

#include <chipmunk/chipmunk.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DT (1.0 / 60.0)
#define ITERATIONS 10
#define GRAVITY 600.0       /* units / s^2, downwards */
#define HALF_WIDTH 320.0    /* the container: a floor and two walls */
#define WALL_HEIGHT 1200.0
#define COLUMNS 20          /* the falling bodies start on a grid, one per cell */
#define CELL (2.0 * HALF_WIDTH / COLUMNS)
#define SPAWN_Y 420.0
#define WHEELS 2            /* dynamic obstacles pinned to the world */
#define PADDLES 4           /* kinematic obstacles turning at a set speed */
#define WALLS 3
#define IMPACT 4.0          /* a step's impulse above 4 weights (m g dt) is a hit */
#define KICK 0.02           /* the share of a hit given back to the body */
#define STEADY_AFTER 10     /* frame-run steps after this one must not call the backend */
#define STEP_BYTES_PER_BODY 1024 /* a bound on a step's frame bytes per body (measured: about 300) */
#define NO_BODY UINT32_MAX  /* a static shape's body */

/* ---- what a step records --------------------------------------------------- */

struct manifold {          /* one colliding pair in one step */
    uint32_t shape_a, shape_b; /* shape ids, as Chipmunk orders the pair */
    uint32_t body_a, body_b;   /* index into world.bodies, or NO_BODY */
    uint32_t first_point;      /* its points: [first_point, + points) of the step's points */
    uint32_t points;
    uint32_t first_contact;    /* the pair's first step in contact */
    uint32_t index;            /* its own position in the step's manifolds */
    cpVect   normal;           /* from a to b */
    cpVect   impulse;          /* the solver's total: +impulse on b, -impulse on a */
};

struct contact_point {
    cpVect   a, b;     /* the point on each shape's surface */
    cpFloat  depth;    /* negative: penetration */
    uint32_t manifold; /* the manifold it belongs to */
};

/* A step's records as the processing reads them, wherever they are kept. */
struct records {
    const struct manifold      *m;
    size_t                      manifolds;
    const struct contact_point *p;
    size_t                      points;
};

/* ---- the world: Chipmunk's objects and what the game keeps across steps ---- */

struct world {
    cpSpace       *space;
    cpBody       **bodies; /* dynamic and kinematic, in creation order: what the runs compare */
    size_t         bodies_n;
    cpShape      **shapes; /* every shape; its id is its index here (cpShapeGetUserData) */
    uint32_t      *shape_body;
    size_t         shapes_n;
    cpConstraint **joints;
    size_t         joints_n;
    double        *damage; /* per body, summed over the steps */
};

/* The final state of one body, compared bit for bit. */
struct body_state {
    cpFloat x, y, angle, vx, vy, w;
};

/* ---- one run: the world, a store, and the figures ---------------------------- */

enum list { MANIFOLDS, POINTS };

struct run;

/* Where a run keeps a step's records: malloc'd growable arrays, or frame
 * memory. Everything else about the two runs is the same code. */
struct store {
    const char *name;
    int (*open)(struct run *r);                    /* a step begins: empty lists */
    void *(*push)(struct run *r, enum list which); /* a new record, or NULL */
    /* The step's one scratch array, zeroed. */
    void *(*zeroed)(struct run *r, size_t count, size_t size, size_t align);
    struct records (*view)(const struct run *r);
    int (*close)(struct run *r);    /* the step's memory goes */
    void (*release)(struct run *r); /* after the last step */
};

struct heap_list { /* the malloc store's growable array, kept across steps */
    void  *data;
    size_t count, capacity, size;
};

struct counting_backend {
    fa_backend inner;
    uint64_t   calls;
};

struct run {
    const struct store *store;
    struct world        w;
    uint64_t            step;
    uint64_t           *checksums; /* one per step */
    /* The malloc store. */
    struct heap_list heap_lists[2];
    void            *heap_scratch;
    /* The frame store: the arena handle fetched once, and last step's
     * counts, which the next step reserves. */
    fa_alloc               *a;
    fa_arena               *arena;
    fa_vec                  vecs[2];
    size_t                  last_count[2];
    struct counting_backend *backend;
    /* This step's figures. */
    size_t   pushed[2]; /* what the callback pushed */
    size_t   frame_bytes;
    uint64_t calls;
    /* The run's figures. */
    uint64_t failures, bad_links, contacts, impacts, steady_calls;
    size_t   peak_bytes;
};

/* ---- small helpers ----------------------------------------------------------- */

static uint64_t hash64(uint64_t x) { /* the splitmix64 finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static double unit(uint64_t seed) { /* [0, 1), the same in every run */
    return (double)(hash64(seed * 0x9e3779b97f4a7c15u) >> 11) * 0x1p-53;
}

static uint64_t bits(cpFloat d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static uint64_t fold(uint64_t h, uint64_t x) {
    return hash64(h ^ x) + 0x9e3779b97f4a7c15u;
}

static uint64_t fold_vect(uint64_t h, cpVect v) {
    return fold(fold(h, bits(v.x)), bits(v.y));
}

/* ---- the malloc store ----------------------------------------------------------- */

static void *heap_list_push(struct heap_list *l) {
    if (l->count == l->capacity) {
        size_t capacity = l->capacity != 0 ? 2 * l->capacity : 64;
        void *data = realloc(l->data, capacity * l->size);
        if (data == NULL)
            return NULL;
        l->data = data;
        l->capacity = capacity;
    }
    return (char *)l->data + l->size * l->count++;
}

static int heap_open(struct run *r) {
    r->heap_lists[MANIFOLDS].size = sizeof(struct manifold);
    r->heap_lists[POINTS].size = sizeof(struct contact_point);
    r->heap_lists[MANIFOLDS].count = r->heap_lists[POINTS].count = 0; /* the capacity stays */
    return 1;
}

static void *heap_push(struct run *r, enum list which) {
    return heap_list_push(&r->heap_lists[which]);
}

static void *heap_zeroed(struct run *r, size_t count, size_t size, size_t align) {
    (void)align; /* calloc's alignment serves any object */
    free(r->heap_scratch);
    r->heap_scratch = calloc(count, size);
    return r->heap_scratch;
}

static struct records heap_view(const struct run *r) {
    const struct heap_list *l = r->heap_lists;
    return (struct records){(const struct manifold *)l[MANIFOLDS].data, l[MANIFOLDS].count,
                            (const struct contact_point *)l[POINTS].data, l[POINTS].count};
}

static int heap_close(struct run *r) {
    free(r->heap_scratch);
    r->heap_scratch = NULL;
    return 1;
}

static void heap_release(struct run *r) {
    free(r->heap_lists[MANIFOLDS].data);
    free(r->heap_lists[POINTS].data);
}

static const struct store heap_store = {"malloc", heap_open, heap_push, heap_zeroed, heap_view, heap_close,
                                        heap_release};

/* ---- the frame store ------------------------------------------------------------ */

/* Room for last step's count and a quarter more: most steps never grow, and
 * one that does grows inside the frame (in place while its block is the
 * arena's last, else by a copy whose old block goes with the frame). */
static int frame_vec_open(struct run *r, enum list which, size_t size, size_t align) {
    fa_vec *v = &r->vecs[which];
    size_t last = r->last_count[which];
    return fa_vec_init(v, r->arena, size, align) == FA_OK && fa_vec_reserve(v, last + last / 4 + 16) == FA_OK;
}

static int frame_open(struct run *r) {
    return fa_begin_frame(r->a) == FA_OK &&
           frame_vec_open(r, MANIFOLDS, sizeof(struct manifold), FA_ALIGNOF(struct manifold)) &&
           frame_vec_open(r, POINTS, sizeof(struct contact_point), FA_ALIGNOF(struct contact_point));
}

static void *frame_push(struct run *r, enum list which) {
    return fa_vec_push(&r->vecs[which]);
}

static void *frame_zeroed(struct run *r, size_t count, size_t size, size_t align) {
    void *p = fa_arena_array(r->arena, count, size, align);
    if (p != NULL)
        memset(p, 0, count * size);
    return p;
}

static struct records frame_view(const struct run *r) {
    const fa_vec *v = r->vecs;
    return (struct records){(const struct manifold *)v[MANIFOLDS].data, v[MANIFOLDS].count,
                            (const struct contact_point *)v[POINTS].data, v[POINTS].count};
}

static int frame_close(struct run *r) {
    fa_frame_info info;
    if (fa_frame_info_get(r->a, &info) == FA_OK)
        r->frame_bytes = info.bytes;
    r->last_count[MANIFOLDS] = r->vecs[MANIFOLDS].count;
    r->last_count[POINTS] = r->vecs[POINTS].count;
    return fa_end_frame(r->a) == FA_OK;
}

static void frame_release(struct run *r) {
    (void)r; /* the frames took everything back */
}

static const struct store frame_store = {"frame", frame_open, frame_push, frame_zeroed, frame_view, frame_close,
                                         frame_release};

/* ---- the collision callback: records into the store ----------------------------- */

static uint32_t shape_id(const cpShape *shape) {
    return (uint32_t)(uintptr_t)cpShapeGetUserData(shape);
}

static int record_points(struct run *r, const cpContactPointSet *set, uint32_t manifold) {
    for (int i = 0; i < set->count; i++) {
        struct contact_point *p = (struct contact_point *)r->store->push(r, POINTS);
        if (p == NULL)
            return 0;
        *p = (struct contact_point){set->points[i].pointA, set->points[i].pointB, set->points[i].distance,
                                    manifold};
        r->pushed[POINTS]++;
    }
    return 1;
}

/* The manifold is written whole at once, before its points are pushed: a
 * push may move its own list, so m is used only up to the next push. */
static int record_manifold(struct run *r, cpArbiter *arb) {
    cpShape *a, *b;
    cpArbiterGetShapes(arb, &a, &b);
    cpContactPointSet set = cpArbiterGetContactPointSet(arb);
    struct manifold *m = (struct manifold *)r->store->push(r, MANIFOLDS);
    if (m == NULL)
        return 0;
    uint32_t ia = shape_id(a), ib = shape_id(b), index = (uint32_t)r->pushed[MANIFOLDS]++;
    *m = (struct manifold){ia, ib, r->w.shape_body[ia], r->w.shape_body[ib], (uint32_t)r->pushed[POINTS],
                           (uint32_t)set.count, cpArbiterIsFirstContact(arb) != 0, index, set.normal,
                           cpArbiterTotalImpulse(arb)};
    return record_points(r, &set, index);
}

/* After the solver, once per colliding pair: the impulses are final. */
static void on_post_solve(cpArbiter *arb, cpSpace *space, cpDataPointer user) {
    (void)space;
    struct run *r = (struct run *)user;
    if (!record_manifold(r, arb))
        r->failures++;
}

/* ---- building and freeing the world --------------------------------------------- */

static void add_shape(struct world *w, cpShape *shape, uint32_t body, cpFloat friction, cpFloat elasticity) {
    cpShapeSetFriction(shape, friction);
    cpShapeSetElasticity(shape, elasticity);
    cpShapeSetUserData(shape, (cpDataPointer)(uintptr_t)w->shapes_n);
    w->shape_body[w->shapes_n] = body;
    w->shapes[w->shapes_n++] = cpSpaceAddShape(w->space, shape);
}

static uint32_t add_body(struct world *w, cpBody *body, cpVect position, cpFloat angle) {
    cpBodySetPosition(body, position);
    cpBodySetAngle(body, angle);
    w->bodies[w->bodies_n] = cpSpaceAddBody(w->space, body);
    return (uint32_t)w->bodies_n++;
}

static void add_walls(struct world *w) {
    cpBody *ground = cpSpaceGetStaticBody(w->space); /* the space's own: not freed by us */
    cpVect corners[4] = {{-HALF_WIDTH, WALL_HEIGHT}, {-HALF_WIDTH, 0}, {HALF_WIDTH, 0}, {HALF_WIDTH, WALL_HEIGHT}};
    for (int i = 0; i < WALLS; i++)
        add_shape(w, cpSegmentShapeNew(ground, corners[i], corners[i + 1], 4.0), NO_BODY, 0.9, 0.2);
}

/* Body i of the falling ones: a box or a circle of its own size, in its
 * own grid cell, jittered and turned by the seed. */
static void add_falling(struct world *w, uint32_t i) {
    double size = 12.0 + 10.0 * unit(4 * i), mass = size * size * 0.01;
    cpVect at = cpv(-HALF_WIDTH + CELL * (i % COLUMNS + 0.5) + 4.0 * (unit(4 * i + 1) - 0.5),
                    SPAWN_Y + CELL * (i / COLUMNS));
    int box = i % 2 == 0;
    cpBody *body = cpBodyNew(mass, box ? cpMomentForBox(mass, size, size)
                                       : cpMomentForCircle(mass, 0, size / 2, cpvzero));
    uint32_t index = add_body(w, body, at, 2.0 * CP_PI * unit(4 * i + 2));
    add_shape(w, box ? cpBoxShapeNew(body, size, size, 0.5) : cpCircleShapeNew(body, size / 2, cpvzero), index,
              0.7, 0.1 + 0.3 * unit(4 * i + 3));
}

static void add_wheel(struct world *w, cpVect at) {
    cpFloat radius = 36.0, mass = 20.0;
    cpBody *body = cpBodyNew(mass, cpMomentForCircle(mass, 0, radius, cpvzero));
    uint32_t index = add_body(w, body, at, 0);
    add_shape(w, cpCircleShapeNew(body, radius, cpvzero), index, 0.8, 0.3);
    cpConstraint *pin = cpPivotJointNew(cpSpaceGetStaticBody(w->space), body, at);
    w->joints[w->joints_n++] = cpSpaceAddConstraint(w->space, pin);
}

static void add_paddle(struct world *w, cpVect at, cpFloat spin) {
    cpBody *body = cpBodyNewKinematic();
    uint32_t index = add_body(w, body, at, 0);
    cpBodySetAngularVelocity(body, spin);
    add_shape(w, cpBoxShapeNew(body, 110.0, 10.0, 1.0), index, 0.6, 0.2);
}

static int world_build(struct world *w, size_t falling, struct run *r) {
    size_t bodies = falling + WHEELS + PADDLES, shapes = bodies + WALLS;
    *w = (struct world){.space = cpSpaceNew()};
    w->bodies = (cpBody **)calloc(bodies, sizeof *w->bodies);
    w->shapes = (cpShape **)calloc(shapes, sizeof *w->shapes);
    w->shape_body = (uint32_t *)calloc(shapes, sizeof *w->shape_body);
    w->joints = (cpConstraint **)calloc(WHEELS, sizeof *w->joints);
    w->damage = (double *)calloc(bodies, sizeof *w->damage);
    if (w->space == NULL || !w->bodies || !w->shapes || !w->shape_body || !w->joints || !w->damage)
        return 0;
    cpSpaceSetGravity(w->space, cpv(0, -GRAVITY));
    cpSpaceSetIterations(w->space, ITERATIONS);
    add_walls(w);
    for (uint32_t i = 0; i < falling; i++)
        add_falling(w, i);
    add_wheel(w, cpv(-160, 320));
    add_wheel(w, cpv(160, 320));
    for (int i = 0; i < PADDLES; i++)
        add_paddle(w, cpv(-240 + 160 * i, 170), i % 2 ? 2.0 : -2.0);
    cpCollisionHandler *handler = cpSpaceAddDefaultCollisionHandler(w->space);
    handler->postSolveFunc = on_post_solve;
    handler->userData = r;
    return 1;
}

/* The space first (it touches its bodies as it goes), then what was in it. */
static void world_free(struct world *w) {
    if (w->space != NULL)
        cpSpaceFree(w->space);
    for (size_t i = 0; i < w->joints_n; i++)
        cpConstraintFree(w->joints[i]);
    for (size_t i = 0; i < w->shapes_n; i++)
        cpShapeFree(w->shapes[i]);
    for (size_t i = 0; i < w->bodies_n; i++)
        cpBodyFree(w->bodies[i]);
    free(w->bodies);
    free(w->shapes);
    free(w->shape_body);
    free(w->joints);
    free(w->damage);
}

static struct body_state body_state(const cpBody *b) {
    cpVect p = cpBodyGetPosition(b), v = cpBodyGetVelocity(b);
    return (struct body_state){p.x, p.y, cpBodyGetAngle(b), v.x, v.y, cpBodyGetAngularVelocity(b)};
}

/* ---- processing a step ------------------------------------------------------------ */

/* The stored records link up, and hold what the callback pushed. */
static uint64_t check_links(const struct records *rec, const size_t pushed[2]) {
    uint64_t bad = rec->manifolds != pushed[MANIFOLDS] || rec->points != pushed[POINTS];
    for (size_t i = 0; i < rec->manifolds; i++) {
        const struct manifold *m = &rec->m[i];
        bad += m->index != i || m->first_point + (size_t)m->points > rec->points;
        for (uint32_t k = 0; k < m->points && m->first_point + (size_t)k < rec->points; k++)
            bad += rec->p[m->first_point + k].manifold != i;
    }
    return bad;
}

static uint64_t checksum(const struct records *rec, uint64_t step) {
    uint64_t h = hash64(step + 1);
    for (size_t i = 0; i < rec->manifolds; i++) {
        const struct manifold *m = &rec->m[i];
        h = fold(h, (uint64_t)m->shape_a << 32 | m->shape_b);
        h = fold(h, (uint64_t)m->first_point << 32 | m->points << 1 | m->first_contact);
        h = fold_vect(fold_vect(h, m->normal), m->impulse);
    }
    for (size_t i = 0; i < rec->points; i++) {
        const struct contact_point *p = &rec->p[i];
        h = fold(fold_vect(fold_vect(h, p->a), p->b), bits(p->depth) ^ p->manifold);
    }
    return h;
}

/* Each body's impulses this step, from the stored manifolds. */
static void sum_impulses(const struct records *rec, cpVect *sum) {
    for (size_t i = 0; i < rec->manifolds; i++) {
        const struct manifold *m = &rec->m[i];
        if (m->body_a != NO_BODY)
            sum[m->body_a] = cpvsub(sum[m->body_a], m->impulse);
        if (m->body_b != NO_BODY)
            sum[m->body_b] = cpvadd(sum[m->body_b], m->impulse);
    }
}

/* A hit (a step's impulse above IMPACT weights) damages a dynamic body and
 * kicks it back a little along the impulse: the stored contacts change the
 * simulation, identically in both runs if the store holds them faithfully. */
static void apply_hits(struct run *r, const cpVect *sum) {
    for (size_t i = 0; i < r->w.bodies_n; i++) {
        cpBody *b = r->w.bodies[i];
        if (cpBodyGetType(b) != CP_BODY_TYPE_DYNAMIC)
            continue;
        cpFloat weight = cpBodyGetMass(b) * GRAVITY * DT, hit = cpvlength(sum[i]) / weight;
        if (hit > IMPACT) {
            r->w.damage[i] += hit - IMPACT;
            cpBodyApplyImpulseAtLocalPoint(b, cpvmult(sum[i], KICK), cpvzero);
            r->impacts++;
        }
    }
}

static void process_step(struct run *r) {
    struct records rec = r->store->view(r);
    r->bad_links += check_links(&rec, r->pushed);
    r->checksums[r->step] = checksum(&rec, r->step);
    r->contacts += rec.points;
    cpVect *sum = (cpVect *)r->store->zeroed(r, r->w.bodies_n, sizeof *sum, FA_ALIGNOF(cpVect));
    if (sum == NULL) {
        r->failures++;
        return;
    }
    sum_impulses(&rec, sum);
    apply_hits(r, sum);
}

/* ---- running a simulation ---------------------------------------------------------- */

static double total_damage(const struct world *w) {
    double d = 0;
    for (size_t i = 0; i < w->bodies_n; i++)
        d += w->damage[i];
    return d;
}

static void print_step(const struct run *r) {
    printf("step %4" PRIu64 ": %4zu manifolds, %4zu points, frame bytes %7zu, backend calls %" PRIu64
           ", hits so far %6" PRIu64 ", damage %9.1f, checksum %016" PRIx64 "\n",
           r->step + 1, r->pushed[MANIFOLDS], r->pushed[POINTS], r->frame_bytes, r->calls, r->impacts,
           total_damage(&r->w), r->checksums[r->step]);
}

/* One step: one frame. The backend calls are counted after the frame's end
 * (an end may give memory back). */
static int run_step(struct run *r, uint64_t print_every) {
    uint64_t calls = r->backend != NULL ? r->backend->calls : 0;
    r->pushed[MANIFOLDS] = r->pushed[POINTS] = 0;
    if (!r->store->open(r))
        return 0;
    cpSpaceStep(r->w.space, DT);
    process_step(r);
    int ok = r->store->close(r);
    r->calls = r->backend != NULL ? r->backend->calls - calls : 0;
    if (r->step >= STEADY_AFTER)
        r->steady_calls += r->calls;
    if (r->frame_bytes > r->peak_bytes)
        r->peak_bytes = r->frame_bytes;
    if (print_every != 0 && ((r->step + 1) % print_every == 0 || r->step == 0))
        print_step(r);
    return ok;
}

/* Runs the whole simulation; the final states go to out, r->w.bodies_n of
 * them (the count outlives the world). */
static int run_simulation(struct run *r, size_t falling, uint64_t steps, uint64_t print_every,
                          struct body_state **out) {
    int ok = world_build(&r->w, falling, r);
    for (r->step = 0; ok && r->step < steps; r->step++)
        ok = run_step(r, print_every);
    *out = (struct body_state *)calloc(r->w.bodies_n, sizeof **out);
    if (*out == NULL)
        ok = 0;
    for (size_t i = 0; ok && i < r->w.bodies_n; i++)
        (*out)[i] = body_state(r->w.bodies[i]);
    printf("%s run: %" PRIu64 " steps, %zu bodies, %" PRIu64 " contact points, %" PRIu64
           " hits, damage %.1f, %" PRIu64 " failed pushes, %" PRIu64 " bad links\n",
           r->store->name, r->step, r->w.bodies_n, r->contacts, r->impacts, total_damage(&r->w), r->failures,
           r->bad_links);
    world_free(&r->w);
    r->store->release(r);
    return ok;
}

/* ---- the allocator: a counting backend, and the events --------------------------- */

static fa_backend_result counting_allocate(void *ctx, size_t size, size_t align, void **out) {
    struct counting_backend *cb = (struct counting_backend *)ctx;
    cb->calls++; /* one thread: no atomics needed */
    return cb->inner.allocate(cb->inner.ctx, size, align, out);
}

static void counting_deallocate(void *ctx, void *ptr, size_t size, size_t align) {
    struct counting_backend *cb = (struct counting_backend *)ctx;
    cb->calls++;
    cb->inner.deallocate(cb->inner.ctx, ptr, size, align);
}

static uint64_t error_events;

static void on_event(void *user, const fa_event *ev) {
    (void)user;
    if (ev->error != FA_OK)
        error_events++;
    fprintf(stderr, "engine_chipmunk: framealloc %s: %s\n", ev->error != FA_OK ? "error" : "warning",
            ev->message);
}

/* One chunk holds the worst step: the thread keeps it between frames, so
 * after the first step no step calls the backend. With the default chunks
 * (64 KiB, doubling) a step calls it only when it needs more frame memory
 * than any step before (the chunk cache serves the rest), which in a pile
 * that is still forming happens well after the first steps. */
static size_t chunk_for(size_t bodies) {
    size_t chunk = (size_t)64 << 10;
    while (chunk / STEP_BYTES_PER_BODY < bodies)
        chunk *= 2;
    return chunk;
}

/* ---- comparing the runs, and main ------------------------------------------------- */

/* Steps whose checksums differ, and bodies whose state differs in any bit. */
static uint64_t compare_steps(const uint64_t *ref, const uint64_t *got, uint64_t steps) {
    uint64_t differ = 0;
    for (uint64_t s = 0; s < steps; s++) {
        if (ref[s] != got[s] && differ++ == 0)
            printf("first differing step: %" PRIu64 "\n", s + 1);
    }
    return differ;
}

static uint64_t compare_bodies(const struct body_state *ref, const struct body_state *got, size_t n) {
    uint64_t differ = 0;
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&ref[i], &got[i], sizeof ref[i]) != 0 && differ++ == 0)
            printf("first differing body: %zu at (%.17g, %.17g) against (%.17g, %.17g)\n", i, got[i].x, got[i].y,
                   ref[i].x, ref[i].y);
    }
    return differ;
}

struct options {
    uint64_t steps;
    size_t   bodies;
};

static void usage_exit(const char *program) {
    fprintf(stderr, "usage: %s [--steps N] [--bodies N] [--quick]\n", program);
    fprintf(stderr, "  --steps N   steps to simulate, one frame each (default 600)\n");
    fprintf(stderr, "  --bodies N  falling boxes and circles (default 300)\n");
    fprintf(stderr, "  --quick     120 steps of 100 bodies, for the sanitizer and valgrind runs\n");
    exit(2);
}

static unsigned long parse_count(const char *text, unsigned long max, const char *program) {
    char *end;
    if (text == NULL || *text < '0' || *text > '9')
        usage_exit(program);
    unsigned long value = strtoul(text, &end, 10);
    if (*end != '\0' || value == 0 || value > max)
        usage_exit(program);
    return value;
}

static struct options parse_options(int argc, char **argv) {
    struct options o = {600, 300};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--steps") == 0)
            o.steps = parse_count(i + 1 < argc ? argv[++i] : NULL, 1000000, argv[0]);
        else if (strcmp(argv[i], "--bodies") == 0)
            o.bodies = parse_count(i + 1 < argc ? argv[++i] : NULL, 100000, argv[0]);
        else if (strcmp(argv[i], "--quick") == 0)
            o = (struct options){120, 100};
        else
            usage_exit(argv[0]);
    }
    return o;
}

int main(int argc, char **argv) {
    struct options o = parse_options(argc, argv);
    struct counting_backend backend = {fa_backend_system(), 0};
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.frame_chunk_first = cfg.frame_chunk_max = chunk_for(o.bodies + WHEELS + PADDLES);
    cfg.backend = (fa_backend){&backend, counting_allocate, counting_deallocate};
    cfg.on_event = on_event;
    fa_alloc *a = fa_create(&cfg);
    if (a == NULL) {
        fprintf(stderr, "engine_chipmunk: fa_create: %s\n", fa_strerror(fa_last_error()));
        return 1;
    }
    printf("engine_chipmunk: Chipmunk %s, %zu falling bodies + %d wheels + %d paddles, %" PRIu64
           " steps of %.4f s, frame chunks of %zu KiB\n", cpVersionString, o.bodies, WHEELS, PADDLES, o.steps, DT,
           cfg.frame_chunk_first >> 10);

    struct run ref = {.store = &heap_store}, frame = {.store = &frame_store, .a = a, .arena = fa_arena_get(a),
                                                       .backend = &backend};
    ref.checksums = (uint64_t *)calloc(o.steps, sizeof *ref.checksums);
    frame.checksums = (uint64_t *)calloc(o.steps, sizeof *frame.checksums);
    struct body_state *ref_end = NULL, *frame_end = NULL;
    uint64_t print_every = o.steps >= 6 ? o.steps / 6 : 1;
    int ran = ref.checksums != NULL && frame.checksums != NULL && frame.arena != NULL &&
              run_simulation(&ref, o.bodies, o.steps, 0, &ref_end) &&
              run_simulation(&frame, o.bodies, o.steps, print_every, &frame_end);

    /* The pass-through debug level (FRAMEALLOC_DEBUG=malloc) takes every
     * frame block from the backend by design. */
    int steady_checked = fa_debug_level(a) != FA_DEBUG_MALLOC && o.steps > STEADY_AFTER;
    uint64_t steps_differ = ran ? compare_steps(ref.checksums, frame.checksums, o.steps) : 0;
    uint64_t bodies_differ = ran ? compare_bodies(ref_end, frame_end, ref.w.bodies_n) : 0;
    uint64_t steady_calls = steady_checked ? frame.steady_calls : 0;
    fa_destroy(a);
    int ok = ran && steps_differ == 0 && bodies_differ == 0 && ref.failures + frame.failures == 0 &&
             ref.bad_links + frame.bad_links == 0 && error_events == 0 && steady_calls == 0;
    printf("engine_chipmunk: %" PRIu64 " steps with differing contacts, %" PRIu64 " bodies with differing state, "
           "peak frame bytes %zu, %" PRIu64 " backend calls after step %d%s, %" PRIu64 " error events: %s\n",
           steps_differ, bodies_differ, frame.peak_bytes, steady_calls, STEADY_AFTER,
           steady_checked ? "" : " (not checked)", error_events, ok ? "ok" : "FAILED");
    free(ref.checksums);
    free(frame.checksums);
    free(ref_end);
    free(frame_end);
    return ok ? 0 : 1;
}
