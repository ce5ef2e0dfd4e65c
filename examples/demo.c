/* SPDX-License-Identifier: MIT */
/*
 * framealloc demo: a game-frame simulation on three threads.
 *
 * The main thread builds render commands, UI text and GPU constants; a
 * physics worker finds and solves contacts; a particles worker fills
 * structure-of-arrays vertex data. Every engine frame all three begin a
 * frame on one shared allocator, allocate freely, and end it, which releases
 * everything at once. The world is synthetic: its numbers are there to drive
 * realistic allocation patterns, not to be good physics.
 *
 * Entities outlive frames: the main thread spawns them from the pools and the
 * physics worker frees them when they die; the navigation mesh is one large
 * block from the heap path.
 *
 * The allocator's memory comes from a counting backend, so the demo can show
 * how often frames reach the system allocator: once the entities have grown
 * to their budgets, never.
 *
 * Every subsystem works under a tag (render, ui, streaming, physics and its
 * contacts, particles, world/entities, world/navmesh), the streaming uploads
 * and the entities have budgets, and each thread's frame has one: the run
 * ends with the statistics per tag, the budgets' figures and the main
 * thread's frame history, and --json writes the whole snapshot.
 *
 * Usage: demo [--frames N] [--every N] [--json FILE]
 */
#define _POSIX_C_SOURCE 200809L

#include <framealloc.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KIB ((size_t)1024)
#define MIB (KIB * 1024)

#define DEFAULT_FRAMES 300
#define DEFAULT_PRINT_EVERY 25
#define ALWAYS_PRINTED_FRAMES 5
/* Runs this long check that their last STEADY_WINDOW frames never call the
 * backend: the entities fill their budgets, and take their last slab, by
 * about frame 100, so frames 201-300 are steady with room to spare. */
#define STEADY_CHECK_FRAMES 300
#define STEADY_WINDOW 100
#define FIXED_DT (1.0f / 60.0f)

enum role { ROLE_MAIN, ROLE_PHYSICS, ROLE_PARTICLES, ROLE_COUNT };

/* ---- failure: any error ends the demo ---------------------------------- */

static void *check_alloc(void *p, const char *what) {
    if (p == NULL) {
        fprintf(stderr, "demo: allocating %s failed: %s\n", what, fa_strerror(fa_last_error()));
        exit(EXIT_FAILURE);
    }
    return p;
}

static void check_status(fa_error e, const char *what) {
    if (e != FA_OK) {
        fprintf(stderr, "demo: %s failed: %s\n", what, fa_strerror(e));
        exit(EXIT_FAILURE);
    }
}

static void check_pthread(int rc, const char *what) {
    if (rc != 0) {
        fprintf(stderr, "demo: %s failed: %s\n", what, strerror(rc));
        exit(EXIT_FAILURE);
    }
}

static void print_event(void *user, const fa_event *ev) {
    (void)user;
    /* Whatever stdout holds was printed first: flushed, a warning lands
     * after it also when both streams go to one pipe (stdout is then fully
     * buffered, stderr not). */
    fflush(stdout);
    fprintf(stderr, "framealloc %s: %s\n", ev->error != FA_OK ? "error" : "warning", ev->message);
}

/* Runs one subsystem's work under its tag. */
static uint64_t tagged(fa_alloc *a, const char *tag, uint64_t (*work)(fa_alloc *, uint64_t), uint64_t frame) {
    check_status(fa_tag_push(a, tag), "fa_tag_push");
    uint64_t checksum = work(a, frame);
    check_status(fa_tag_pop(a), "fa_tag_pop");
    return checksum;
}

/* ---- counting backend: the system allocator, observed ------------------ */

struct counting_backend {
    fa_backend           inner;
    atomic_uint_fast64_t allocations;
    atomic_uint_fast64_t deallocations;
    atomic_size_t        bytes_outstanding;
    atomic_uint_fast64_t slab_requests; /* of the pools' 64 KiB slabs */
};

#define POOL_SLAB_BYTES (64 * KIB) /* no frame chunk is this small here */

static fa_backend_result counting_allocate(void *ctx, size_t size, size_t align, void **out) {
    struct counting_backend *cb = ctx;
    atomic_fetch_add_explicit(&cb->allocations, 1, memory_order_relaxed);
    if (size == POOL_SLAB_BYTES)
        atomic_fetch_add_explicit(&cb->slab_requests, 1, memory_order_relaxed);
    fa_backend_result r = cb->inner.allocate(cb->inner.ctx, size, align, out);
    /* Only memory served here comes back here: a FALLBACK goes to the system. */
    if (r == FA_BACKEND_OK)
        atomic_fetch_add_explicit(&cb->bytes_outstanding, size, memory_order_relaxed);
    return r;
}

static void counting_deallocate(void *ctx, void *ptr, size_t size, size_t align) {
    struct counting_backend *cb = ctx;
    atomic_fetch_add_explicit(&cb->deallocations, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&cb->bytes_outstanding, size, memory_order_relaxed);
    cb->inner.deallocate(cb->inner.ctx, ptr, size, align);
}

static void counting_backend_init(struct counting_backend *cb) {
    cb->inner = fa_backend_system();
    atomic_init(&cb->allocations, 0);
    atomic_init(&cb->deallocations, 0);
    atomic_init(&cb->bytes_outstanding, 0);
    atomic_init(&cb->slab_requests, 0);
}

static fa_backend counting_backend_table(struct counting_backend *cb) {
    fa_backend table = {cb, counting_allocate, counting_deallocate};
    return table;
}

static uint64_t backend_calls(struct counting_backend *cb) {
    return atomic_load(&cb->allocations) + atomic_load(&cb->deallocations);
}

/* ---- deterministic randomness and checksums ---------------------------- */

static uint64_t hash64(uint64_t x) { /* the splitmix64 finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static uint64_t mix(uint64_t checksum, uint64_t value) {
    return hash64(checksum ^ value);
}

static uint64_t mix_float(uint64_t checksum, float value) {
    uint32_t bits;
    memcpy(&bits, &value, sizeof bits);
    return mix(checksum, bits);
}

static uint64_t mix_string(uint64_t checksum, const char *s) {
    uint64_t fnv = 0xcbf29ce484222325u;
    for (; *s != '\0'; s++)
        fnv = (fnv ^ (unsigned char)*s) * 0x100000001b3u;
    return mix(checksum, fnv);
}

/* Seeded by frame and role, so every run computes the same world whatever
 * the threads' timing. */
struct rng {
    uint64_t state;
};

static struct rng rng_for(uint64_t frame, enum role role) {
    struct rng r = {hash64(frame * 0x9e3779b97f4a7c15u + (uint64_t)role)};
    return r;
}

static uint64_t rng_next(struct rng *r) {
    r->state += 0x9e3779b97f4a7c15u;
    return hash64(r->state);
}

static size_t rng_below(struct rng *r, size_t bound) {
    return (size_t)(rng_next(r) % bound);
}

static float rng_unit(struct rng *r) { /* [0, 1) */
    return (float)(rng_next(r) >> 40) / (float)(1u << 24);
}

/* ---- the frame schedule ------------------------------------------------ */

#define TEXTURE_UPLOAD_PERIOD 75
#define BURST_PERIOD 50
#define BURST_FRAMES 3
#define BURST_PARTICLES 4000

/* Streaming uploads are 2-3 MiB. The level's initial one is the largest, so
 * every later one fits the chunk it leaves in the cache. */
static size_t texture_upload_bytes(uint64_t frame) {
    if (frame == 1)
        return 3 * MIB;
    if (frame % TEXTURE_UPLOAD_PERIOD != 0)
        return 0;
    return 2 * MIB + (hash64(frame) % MIB & ~(size_t)4095);
}

static bool particle_burst(uint64_t frame) {
    return frame % BURST_PERIOD < BURST_FRAMES && frame >= BURST_PERIOD;
}

/* ---- physics worker ---------------------------------------------------- */

struct body_pair {
    uint32_t body_a, body_b;
    float    separation; /* negative: the bounding volumes overlap */
};

struct contact_point {
    float position[3];
    float penetration;
};

struct contact_manifold {
    struct contact_point points[4];
    float                normal[3];
    float                friction, restitution;
    uint32_t             body_a, body_b;
    uint32_t             point_count;
};
_Static_assert(sizeof(struct contact_manifold) == 96, "a manifold is meant to be 96 bytes");

struct contact_event {
    uint32_t body_a, body_b;
    float    impulse;
};

#define BODY_COUNT 4096
#define SOLVER_ITERATIONS 8
#define EVENT_IMPULSE 0.05f

/* Candidate pairs whose bounding volumes come close; about half touch. */
static struct body_pair *broadphase(fa_alloc *a, struct rng *rng, size_t pair_count) {
    struct body_pair *pairs = check_alloc(fa_frame_new_array(a, struct body_pair, pair_count), "broadphase pairs");
    for (size_t i = 0; i < pair_count; i++) {
        pairs[i].body_a = (uint32_t)rng_below(rng, BODY_COUNT);
        pairs[i].body_b = (uint32_t)rng_below(rng, BODY_COUNT);
        pairs[i].separation = rng_unit(rng) * 0.1f - 0.05f;
    }
    return pairs;
}

static void fill_manifold(struct contact_manifold *m, const struct body_pair *pair, struct rng *rng) {
    m->body_a = pair->body_a;
    m->body_b = pair->body_b;
    m->point_count = 1 + (uint32_t)rng_below(rng, 4);
    for (uint32_t p = 0; p < m->point_count; p++) {
        for (int axis = 0; axis < 3; axis++)
            m->points[p].position[axis] = rng_unit(rng) * 100.0f;
        m->points[p].penetration = -pair->separation * (1.0f + 0.25f * (float)p);
    }
    m->normal[0] = 0.0f;
    m->normal[1] = 1.0f;
    m->normal[2] = 0.0f;
    m->friction = 0.5f;
    m->restitution = 0.2f;
}

/* Counted first so the manifold array is exactly as long as the contacts. */
static struct contact_manifold *narrowphase(fa_alloc *a, struct rng *rng, const struct body_pair *pairs,
                                            size_t pair_count, size_t *contact_count) {
    size_t touching = 0;
    for (size_t i = 0; i < pair_count; i++)
        touching += pairs[i].separation < 0.0f;
    struct contact_manifold *manifolds =
        check_alloc(fa_frame_new_array(a, struct contact_manifold, touching), "contact manifolds");
    size_t n = 0;
    for (size_t i = 0; i < pair_count; i++)
        if (pairs[i].separation < 0.0f)
            fill_manifold(&manifolds[n++], &pairs[i], rng);
    *contact_count = touching;
    return manifolds;
}

static void solve_iteration(const struct contact_manifold *manifolds, size_t count, float *accumulated) {
    for (size_t c = 0; c < count; c++)
        for (uint32_t p = 0; p < manifolds[c].point_count; p++) {
            float *lambda = &accumulated[c * 4 + p];
            float next = *lambda + 0.5f * (manifolds[c].points[p].penetration - *lambda);
            *lambda = next > 0.0f ? next : 0.0f; /* contacts push, never pull */
        }
}

/* Returns each manifold's total impulse. The per-point accumulators are only
 * the solver's working set, so they go back by rewinding to a mark. */
static float *solve_contacts(fa_alloc *a, const struct contact_manifold *manifolds, size_t count) {
    float *impulses = check_alloc(fa_frame_new_array(a, float, count), "contact impulses");
    fa_mark solver_scratch = fa_frame_mark(a);
    float *accumulated = check_alloc(fa_frame_calloc(a, count * 4, sizeof(float)), "solver scratch");
    for (int iteration = 0; iteration < SOLVER_ITERATIONS; iteration++)
        solve_iteration(manifolds, count, accumulated);
    for (size_t c = 0; c < count; c++) {
        impulses[c] = 0.0f;
        for (uint32_t p = 0; p < manifolds[c].point_count; p++)
            impulses[c] += accumulated[c * 4 + p];
    }
    check_status(fa_frame_rewind(a, solver_scratch), "fa_frame_rewind");
    return impulses;
}

/* The events gameplay hears about (impact sounds, damage). They land where
 * the solver's scratch was. */
static uint64_t emit_contact_events(fa_alloc *a, const struct contact_manifold *manifolds,
                                    const float *impulses, size_t count) {
    struct contact_event *events = check_alloc(fa_frame_new_array(a, struct contact_event, count), "contact events");
    size_t n = 0;
    for (size_t c = 0; c < count; c++)
        if (impulses[c] > EVENT_IMPULSE)
            events[n++] = (struct contact_event){manifolds[c].body_a, manifolds[c].body_b, impulses[c]};
    uint64_t checksum = mix(0, n);
    for (size_t i = 0; i < n; i++)
        checksum = mix_float(mix(checksum, events[i].body_a ^ events[i].body_b), events[i].impulse);
    return checksum;
}

static uint64_t physics_frame(fa_alloc *a, uint64_t frame) {
    struct rng rng = rng_for(frame, ROLE_PHYSICS);
    size_t pair_count = 600 + rng_below(&rng, 1201);
    struct body_pair *pairs = broadphase(a, &rng, pair_count);
    size_t contact_count;
    check_status(fa_tag_push(a, "contacts"), "fa_tag_push"); /* physics/contacts */
    struct contact_manifold *manifolds = narrowphase(a, &rng, pairs, pair_count, &contact_count);
    check_status(fa_tag_pop(a), "fa_tag_pop");
    float *impulses = solve_contacts(a, manifolds, contact_count);
    return emit_contact_events(a, manifolds, impulses, contact_count);
}

/* ---- particles worker -------------------------------------------------- */

struct vec4 {
    float x, y, z, w;
};

#define BASE_PARTICLES 10000
#define PARTICLE_VARIATION 501
#define GRAVITY 9.81f

static size_t particle_count(uint64_t frame) {
    struct rng rng = rng_for(frame, ROLE_PARTICLES);
    size_t count = BASE_PARTICLES + rng_below(&rng, PARTICLE_VARIATION);
    return particle_burst(frame) ? count + BURST_PARTICLES : count;
}

/* Particles are stateless: each one's identity fixes its launch, and the
 * frame fixes its age, so a frame's vertex data needs no earlier frame. */
static void simulate_particle(size_t index, bool from_burst, uint64_t frame, struct vec4 *position,
                              struct vec4 *velocity, uint32_t *colour) {
    uint64_t seed = hash64(index);
    uint64_t lifetime_frames = 120 + (seed & 63);
    float age = (float)((frame + (seed >> 8)) % lifetime_frames) * FIXED_DT;
    float launch_speed = from_burst ? 12.0f : 6.0f;
    float vx = ((float)((seed >> 16) & 255) / 255.0f - 0.5f) * launch_speed;
    float vy = (float)((seed >> 24) & 255) / 255.0f * launch_speed;
    float vz = ((float)((seed >> 32) & 255) / 255.0f - 0.5f) * launch_speed;
    float origin_x = from_burst ? 25.0f : 0.0f;
    *velocity = (struct vec4){vx, vy - GRAVITY * age, vz, 0.0f};
    *position = (struct vec4){origin_x + vx * age, vy * age - 0.5f * GRAVITY * age * age, vz * age, 1.0f};
    uint32_t alpha = 255u - (uint32_t)(255.0f * age / ((float)lifetime_frames * FIXED_DT));
    *colour = alpha << 24 | (from_burst ? 0x2080ffu : 0xffc040u);
}

static uint64_t particles_frame(fa_alloc *a, uint64_t frame) {
    size_t count = particle_count(frame);
    size_t steady_count = particle_burst(frame) ? count - BURST_PARTICLES : count;
    /* Cache-line aligned so the vertex upload and SIMD loops start clean. */
    struct vec4 *positions = check_alloc(fa_frame_array(a, count, sizeof *positions, 64), "particle positions");
    struct vec4 *velocities = check_alloc(fa_frame_array(a, count, sizeof *velocities, 64), "particle velocities");
    uint32_t *colours = check_alloc(fa_frame_array(a, count, sizeof *colours, 64), "particle colours");
    float height_sum = 0.0f;
    uint64_t alpha_sum = 0;
    for (size_t i = 0; i < count; i++) {
        simulate_particle(i, i >= steady_count, frame, &positions[i], &velocities[i], &colours[i]);
        height_sum += positions[i].y;
        alpha_sum += colours[i] >> 24;
    }
    return mix_float(mix(count, alpha_sum), height_sum);
}

/* ---- main thread: render commands, UI, constants, streaming ------------ */

struct draw_command {
    struct draw_command *next;
    uint64_t             sort_key;
    uint32_t             mesh, material;
    uint32_t             first_index, index_count;
};

struct frame_constants {
    float view_projection[16];
    float camera_position[4];
    float time, delta_time, padding[2];
};

#define BASE_DRAW_COMMANDS 2500
#define DRAW_COMMAND_VARIATION 2001
#define ENTITY_LABELS 150
#define OBJECTIVE_WIDTH 28

static int compare_sort_keys(const void *lhs, const void *rhs) {
    uint64_t a = (*(const struct draw_command *const *)lhs)->sort_key;
    uint64_t b = (*(const struct draw_command *const *)rhs)->sort_key;
    return (a > b) - (a < b);
}

/* Scene traversal emits one small command per visible draw, as a list. */
static struct draw_command *record_draws(fa_alloc *a, struct rng *rng, size_t count) {
    struct draw_command *head = NULL;
    for (size_t i = 0; i < count; i++) {
        struct draw_command *cmd = check_alloc(fa_frame_alloc(a, sizeof *cmd), "draw command");
        cmd->material = (uint32_t)rng_below(rng, 64);
        cmd->mesh = (uint32_t)rng_below(rng, 512);
        cmd->first_index = (uint32_t)rng_below(rng, 1u << 20);
        cmd->index_count = 3 * (1 + (uint32_t)rng_below(rng, 2000));
        cmd->sort_key = (uint64_t)cmd->material << 48 | rng_next(rng) >> 16; /* material, then depth */
        cmd->next = head;
        head = cmd;
    }
    return head;
}

/* Sorted by key to minimise state changes; the checksum stands in for submission. */
static uint64_t submit_draws(fa_alloc *a, const struct draw_command *list, size_t count) {
    const struct draw_command **sorted =
        check_alloc(fa_frame_new_array(a, const struct draw_command *, count), "draw order");
    size_t n = 0;
    for (const struct draw_command *cmd = list; cmd != NULL; cmd = cmd->next)
        sorted[n++] = cmd;
    qsort(sorted, n, sizeof *sorted, compare_sort_keys);
    uint64_t checksum = 0;
    for (size_t i = 0; i < n; i++)
        checksum = mix(checksum, (uint64_t)sorted[i]->mesh << 32 | sorted[i]->index_count);
    return checksum;
}

static uint64_t render_frame(fa_alloc *a, uint64_t frame) {
    struct rng rng = rng_for(frame, ROLE_MAIN);
    size_t count = BASE_DRAW_COMMANDS + rng_below(&rng, DRAW_COMMAND_VARIATION);
    return submit_draws(a, record_draws(a, &rng, count), count);
}

static void ellipsize(char *text, size_t width) {
    if (strlen(text) > width)
        memcpy(text + width - 3, "...", 4);
}

static uint64_t build_ui(fa_alloc *a, uint64_t frame) {
    static const char *const objectives[] = {
        "Reach the lighthouse before the storm breaks",
        "Escort the convoy",
        "Find the three missing beacons in the flooded quarter",
    };
    static const char *const kinds[] = {"Guard", "Drone", "Trader", "Scout"};
    char *hud = check_alloc(fa_frame_printf(a, "frame %" PRIu64 "  sim time %.2f s", frame,
                                            (double)((float)frame * FIXED_DT)), "HUD text");
    /* A copy the UI may shorten without touching the game's own string. */
    char *objective = check_alloc(fa_frame_strdup(a, objectives[frame / 100 % 3]), "objective text");
    ellipsize(objective, OBJECTIVE_WIDTH);
    uint64_t checksum = mix_string(mix_string(0, hud), objective);
    for (unsigned i = 0; i < ENTITY_LABELS; i++) {
        unsigned health = (unsigned)(hash64(frame * ENTITY_LABELS + i) % 101);
        char *label = check_alloc(fa_frame_printf(a, "%s %u  hp %u", kinds[i % 4], i, health), "entity label");
        checksum = mix_string(checksum, label);
    }
    return checksum;
}

static uint64_t upload_frame_constants(fa_alloc *a, uint64_t frame) {
    /* Cache-line aligned so the copy into the GPU's buffer splits no line. */
    struct frame_constants *constants =
        check_alloc(fa_frame_alloc_aligned(a, sizeof *constants, 64), "frame constants");
    float time = (float)frame * FIXED_DT;
    for (int i = 0; i < 16; i++)
        constants->view_projection[i] = i % 5 == 0 ? 1.0f : 0.01f * (float)i * time;
    constants->camera_position[0] = 10.0f * time;
    constants->camera_position[1] = 2.0f;
    constants->camera_position[2] = -5.0f;
    constants->camera_position[3] = 1.0f;
    constants->time = time;
    constants->delta_time = FIXED_DT;
    check_status(fa_bandwidth_record(a, 0, sizeof *constants), "fa_bandwidth_record"); /* written for the GPU */
    return mix_float(mix_float(0, constants->view_projection[1]), constants->camera_position[0]);
}

/* Far larger than a chunk, so the arena gives it a chunk of its own. */
static uint64_t stage_texture(fa_alloc *a, size_t bytes, uint64_t frame) {
    /* Page aligned, as copy engines want staging memory. */
    uint32_t *texels = check_alloc(fa_frame_alloc_aligned(a, bytes, 4096), "texture staging");
    size_t count = bytes / sizeof *texels;
    for (size_t i = 0; i < count; i++)
        texels[i] = (uint32_t)(i * 2654435761u) ^ (uint32_t)frame;
    /* written here, then read by the copy engine: the frame's bandwidth */
    check_status(fa_bandwidth_record(a, bytes, bytes), "fa_bandwidth_record");
    return mix(texels[0], texels[count - 1]);
}

static uint64_t stream_textures(fa_alloc *a, uint64_t frame) {
    size_t upload = texture_upload_bytes(frame);
    return upload != 0 ? stage_texture(a, upload, frame) : 0;
}

static uint64_t main_frame(fa_alloc *a, uint64_t frame) {
    uint64_t checksum = mix(tagged(a, "render", render_frame, frame), tagged(a, "ui", build_ui, frame));
    checksum = mix(checksum, tagged(a, "render", upload_frame_constants, frame));
    return mix(checksum, tagged(a, "streaming", stream_textures, frame));
}

/* ---- entities: long-lived pool blocks, freed on another thread ---------- */

/* The level's long-lived memory is charged to world/<part>. */
static void push_world_tag(fa_alloc *a, const char *part) {
    check_status(fa_tag_push(a, "world"), "fa_tag_push");
    check_status(fa_tag_push(a, part), "fa_tag_push");
}

static void pop_world_tag(fa_alloc *a) {
    check_status(fa_tag_pop(a), "fa_tag_pop");
    check_status(fa_tag_pop(a), "fa_tag_pop");
}

/* The level's navigation mesh lives the whole run: one large block from the
 * heap path rather than a frame chunk. Entities spawn on its nodes. */
struct nav_node {
    float position[3], cost;
};
#define NAV_MESH_BYTES (3 * MIB)
#define NAV_NODES (NAV_MESH_BYTES / sizeof(struct nav_node))

static struct nav_node *build_nav_mesh(fa_alloc *a) {
    push_world_tag(a, "navmesh");
    struct nav_node *nodes = check_alloc(fa_heap_alloc(a, NAV_MESH_BYTES, 64), "navigation mesh");
    pop_world_tag(a);
    for (size_t i = 0; i < NAV_NODES; i++)
        nodes[i] = (struct nav_node){{(float)(i % 512), (float)(hash64(i) % 16) * 0.25f, (float)(i / 512)}, 1.0f};
    return nodes;
}

/* A game object that lives for many frames: a common header, then state of
 * its kind's own (AI, inventory, animation), so sizes vary. */
struct entity {
    uint32_t id, kind;
    uint64_t despawn_frame;
    float    position[3];
    uint8_t  state[];
};

/* Games cap each kind, and the caps bound the pools too: a class takes a new
 * slab only when every block of its slabs is in use (live, or dead and not yet
 * freed), so these budgets, plus a frame's deaths, need 1 + 2 + 6 + 5 slabs,
 * all taken while the live set grows, however long the run. */
static const struct entity_kind {
    size_t   bytes; /* 48-400 B: the pool classes of 64, 128, 256 and 512 B */
    unsigned budget;
} entity_kinds[] = {
    {48, 700},  /* pickup */
    {96, 700},  /* projectile */
    {160, 700}, /* prop */
    {248, 700}, /* NPC */
    {400, 600}, /* vehicle */
};

#define ENTITY_KINDS (sizeof entity_kinds / sizeof entity_kinds[0])
#define ENTITY_CAPACITY 3400 /* the budgets' sum */
/* Spawns ask for about 880 live of each kind (8 a frame living 110 frames on
 * average), more than the budgets allow: the live set nears them by frame
 * 100, then holds there as deaths make room. */
#define SPAWNS_MIN 32
#define SPAWNS_VARIATION 17
#define LIFETIME_MIN 20
#define LIFETIME_VARIATION 181
#define DESPAWN_MAX 128 /* deaths beyond this in a frame wait for the next */

/* The main thread owns the registry. It fills the despawn list before the
 * frame starts; the physics worker frees that list during the frame. */
struct entity_world {
    struct nav_node *nav;
    struct entity   *live[ENTITY_CAPACITY];
    size_t           live_count;
    unsigned         live_of_kind[ENTITY_KINDS];
    uint64_t         spawned;
    struct entity   *despawn[DESPAWN_MAX];
    size_t           despawn_count;
    uint64_t         despawned; /* physics worker only */
};

static void spawn_entity(fa_alloc *a, struct entity_world *w, struct rng *rng, uint64_t frame) {
    unsigned kind = (unsigned)rng_below(rng, ENTITY_KINDS);
    uint64_t lifetime = LIFETIME_MIN + rng_below(rng, LIFETIME_VARIATION);
    const struct nav_node *spot = &w->nav[rng_below(rng, NAV_NODES)];
    if (w->live_of_kind[kind] == entity_kinds[kind].budget)
        return; /* over budget: the spawner tries again later */
    struct entity *e = check_alloc(fa_pool_alloc(a, entity_kinds[kind].bytes), "entity");
    e->id = (uint32_t)++w->spawned;
    e->kind = kind;
    e->despawn_frame = frame + lifetime;
    memcpy(e->position, spot->position, sizeof e->position);
    memset(e->state, (int)kind, entity_kinds[kind].bytes - sizeof *e);
    w->live[w->live_count++] = e;
    w->live_of_kind[kind]++;
}

/* Main thread, between frames, while the workers wait at the barrier: the
 * dead go on the despawn list and new entities spawn. Doing it here rather
 * than during the frame keeps the backend counts deterministic: every free
 * of earlier frames is complete, so which blocks get reused, and when a new
 * slab is needed, never depends on how the threads raced. */
static void update_entities(fa_alloc *a, struct entity_world *w, uint64_t frame) {
    w->despawn_count = 0;
    for (size_t i = w->live_count; i-- > 0 && w->despawn_count < DESPAWN_MAX;) {
        struct entity *e = w->live[i];
        if (e->despawn_frame <= frame) { /* backwards, so the last entry moved here was seen */
            w->despawn[w->despawn_count++] = e;
            w->live_of_kind[e->kind]--;
            w->live[i] = w->live[--w->live_count];
        }
    }
    struct rng rng = rng_for(frame, ROLE_COUNT); /* a stream of its own: the other work is unchanged */
    push_world_tag(a, "entities");
    for (size_t n = SPAWNS_MIN + rng_below(&rng, SPAWNS_VARIATION); n > 0; n--)
        spawn_entity(a, w, &rng, frame);
    pop_world_tag(a);
}

/* Physics worker, in its frame: takes the dead out of the simulation (here,
 * folds their last state into the checksum) and frees them. Each free is a
 * cross-thread one; the main thread collects the blocks when it needs them. */
static uint64_t despawn_entities(fa_alloc *a, struct entity_world *w) {
    uint64_t checksum = mix(0, w->despawn_count);
    for (size_t i = 0; i < w->despawn_count; i++) {
        checksum = mix_float(mix(checksum, w->despawn[i]->id), w->despawn[i]->position[1]);
        check_status(fa_pool_free(a, w->despawn[i]), "fa_pool_free (despawn)");
    }
    w->despawned += w->despawn_count;
    return checksum;
}

/* After the last frame: the survivors go back on the main thread (their
 * owner), the mesh to the heap path, and fa_trim returns emptied slabs and
 * cached chunks to the backend. */
static void free_world(fa_alloc *a, struct entity_world *w) {
    for (size_t i = 0; i < w->live_count; i++)
        check_status(fa_pool_free(a, w->live[i]), "fa_pool_free");
    check_status(fa_heap_free(a, w->nav), "fa_heap_free");
    check_status(fa_trim(a), "fa_trim");
}

/* ---- the engine: three threads in lockstep ----------------------------- */

static uint64_t (*const frame_work[ROLE_COUNT])(fa_alloc *, uint64_t) = {
    [ROLE_MAIN] = main_frame,
    [ROLE_PHYSICS] = physics_frame,
    [ROLE_PARTICLES] = particles_frame,
};
static const char *const role_tag[ROLE_COUNT] = {
    [ROLE_MAIN] = NULL, /* its subsystems tag themselves */
    [ROLE_PHYSICS] = "physics",
    [ROLE_PARTICLES] = "particles",
};

/* Written by each thread before frame_done, read by the main thread after
 * it; the next frame_start keeps the workers from overwriting them. */
struct thread_report {
    fa_frame_info info;
    uint64_t      checksum;
};

struct engine {
    fa_alloc            *alloc;
    uint64_t             frames;
    pthread_barrier_t    frame_start;
    pthread_barrier_t    frame_done;
    struct thread_report reports[ROLE_COUNT];
    struct entity_world  world;
};

struct worker {
    struct engine *engine;
    enum role      role;
    pthread_t      thread;
};

/* Every thread runs each engine frame through here, in lockstep. */
static void run_thread_frame(struct engine *engine, enum role role, uint64_t frame) {
    struct thread_report *report = &engine->reports[role];
    pthread_barrier_wait(&engine->frame_start);
    check_status(fa_begin_frame(engine->alloc), "fa_begin_frame");
    report->checksum = role_tag[role] != NULL ? tagged(engine->alloc, role_tag[role], frame_work[role], frame)
                                              : frame_work[role](engine->alloc, frame);
    if (role == ROLE_PHYSICS)
        report->checksum = mix(report->checksum, despawn_entities(engine->alloc, &engine->world));
    check_status(fa_frame_info_get(engine->alloc, &report->info), "fa_frame_info_get");
    check_status(fa_end_frame(engine->alloc), "fa_end_frame");
    pthread_barrier_wait(&engine->frame_done);
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    for (uint64_t frame = 1; frame <= w->engine->frames; frame++)
        run_thread_frame(w->engine, w->role, frame);
    return NULL;
}

/* ---- figures ----------------------------------------------------------- */

struct frame_row {
    uint64_t frame;
    uint64_t allocations;
    size_t   bytes;
    size_t   chunks;
    size_t   live; /* entities */
    uint64_t backend_calls;
    double   time_us;
};

struct run_stats {
    uint64_t frames;
    uint64_t allocations;
    uint64_t bytes;
    size_t   peak_bytes;
    uint64_t peak_frame;
    uint64_t first_frame_calls;
    uint64_t growth_calls; /* from frame 2 to the last STEADY_WINDOW frames */
    uint64_t steady_calls; /* in the last STEADY_WINDOW frames */
    uint64_t last_slab_frame;
    size_t   trimmed_bytes; /* backend bytes outstanding after free_world */
    double   total_us;
    double   max_us;
    uint64_t checksum;
};

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static struct frame_row collect_row(const struct engine *engine, uint64_t backend_calls, double time_us) {
    struct frame_row row = {fa_frame_number(engine->alloc), 0, 0, 0, engine->world.live_count, backend_calls,
                            time_us};
    for (int role = 0; role < ROLE_COUNT; role++) {
        row.allocations += engine->reports[role].info.allocations;
        row.bytes += engine->reports[role].info.bytes;
        row.chunks += engine->reports[role].info.chunks;
    }
    return row;
}

static void stats_add(struct run_stats *stats, const struct frame_row *row, const struct engine *engine) {
    stats->frames++;
    stats->allocations += row->allocations;
    stats->bytes += row->bytes;
    if (row->bytes > stats->peak_bytes) {
        stats->peak_bytes = row->bytes;
        stats->peak_frame = row->frame;
    }
    if (row->frame == 1)
        stats->first_frame_calls = row->backend_calls;
    else if (row->frame + STEADY_WINDOW <= engine->frames)
        stats->growth_calls += row->backend_calls;
    else
        stats->steady_calls += row->backend_calls;
    stats->total_us += row->time_us;
    if (row->time_us > stats->max_us)
        stats->max_us = row->time_us;
    for (int role = 0; role < ROLE_COUNT; role++)
        stats->checksum = mix(stats->checksum, engine->reports[role].checksum);
}

static void print_table_header(void) {
    printf("%7s %8s %11s %7s %6s %8s %9s  %s\n", "frame", "allocs", "bytes KiB", "chunks", "live", "backend",
           "time us", "events");
}

static void print_row(const struct frame_row *row) {
    char events[64] = "";
    size_t upload = texture_upload_bytes(row->frame);
    if (upload != 0)
        snprintf(events, sizeof events, "texture upload %.2f MiB", (double)upload / (double)MIB);
    if (particle_burst(row->frame))
        snprintf(events + strlen(events), sizeof events - strlen(events), "%sparticle burst",
                 upload != 0 ? ", " : "");
    printf("%7" PRIu64 " %8" PRIu64 " %11.1f %7zu %6zu %8" PRIu64 " %9.0f%s%s\n", row->frame, row->allocations,
           (double)row->bytes / (double)KIB, row->chunks, row->live, row->backend_calls, row->time_us,
           events[0] != '\0' ? "  " : "", events);
}

static bool steady_state_checked(uint64_t frames) {
    return frames >= STEADY_CHECK_FRAMES;
}

static void print_backend_phases(const struct run_stats *stats, struct counting_backend *backend) {
    uint64_t steady_first = stats->frames > STEADY_WINDOW + 1 ? stats->frames - STEADY_WINDOW + 1 : 2;
    printf("  backend calls     %" PRIu64 " in frame 1", stats->first_frame_calls);
    if (steady_first > 2)
        printf(", %" PRIu64 " in frames 2-%" PRIu64, stats->growth_calls, steady_first - 1);
    if (stats->frames >= 2)
        printf(", %" PRIu64 " in frames %" PRIu64 "-%" PRIu64, stats->steady_calls, steady_first, stats->frames);
    if (!steady_state_checked(stats->frames))
        printf("; run %d frames or more to see the steady state\n", STEADY_CHECK_FRAMES);
    else
        printf(": the last %d frames %s the backend\n", STEADY_WINDOW,
               stats->steady_calls == 0 ? "never call" : "should not call");
    printf("  pool slabs        %" PRIu64 " of 64 KiB requested as the entities grew, the last in frame %" PRIu64 "\n",
           (uint64_t)atomic_load(&backend->slab_requests), stats->last_slab_frame);
}

static void print_summary(const struct run_stats *stats, const struct entity_world *world,
                          struct counting_backend *backend) {
    double frames = (double)stats->frames;
    printf("\nsummary: %" PRIu64 " frames on %d threads\n", stats->frames, ROLE_COUNT);
    printf("  allocations       %" PRIu64 " in all, %.0f per frame\n", stats->allocations,
           (double)stats->allocations / frames);
    printf("  bytes per frame   %.1f KiB on average, peak %.1f KiB (frame %" PRIu64 ")\n",
           (double)stats->bytes / frames / (double)KIB, (double)stats->peak_bytes / (double)KIB, stats->peak_frame);
    print_backend_phases(stats, backend);
    printf("  entities          %" PRIu64 " spawned on the main thread, %" PRIu64 " freed by the physics worker "
           "(cross-thread), %zu live at the end\n", world->spawned, world->despawned, world->live_count);
    printf("  after fa_trim     %.0f KiB with the backend: the empty slabs slab_reserve keeps, the main "
           "thread's chunk\n", (double)stats->trimmed_bytes / (double)KIB);
    printf("  frame time        %.0f us on average, %.0f us at most\n", stats->total_us / frames, stats->max_us);
    printf("  work checksum     %016" PRIx64 "\n", stats->checksum);
    printf("  after fa_destroy  %zu backend bytes outstanding (%" PRIu64 " allocations, %" PRIu64 " frees)\n",
           atomic_load(&backend->bytes_outstanding), (uint64_t)atomic_load(&backend->allocations),
           (uint64_t)atomic_load(&backend->deallocations));
}

/* The library's own figures, after the workers have exited (so every
 * thread's counts are in): one call prints the kinds, the main thread's
 * frames, every tag path with its budget and the pool classes. */
static void print_statistics(fa_alloc *a, const char *json_path) {
    printf("\n");
    check_status(fa_stats_print(a, stdout), "fa_stats_print");
    if (json_path != NULL) {
        FILE *out = fopen(json_path, "w");
        check_status(out != NULL ? fa_write_json(a, out) : FA_ERR_INVALID, "fa_write_json");
        fclose(out);
        printf("snapshot written to %s\n", json_path);
    }
}

static bool should_print(uint64_t frame, uint64_t every) {
    return frame <= ALWAYS_PRINTED_FRAMES || frame % every == 0;
}

/* ---- command line ------------------------------------------------------ */

struct options {
    uint64_t    frames;
    uint64_t    print_every;
    const char *json;  /* where to write the statistics snapshot, or NULL */
    const char *trace; /* where to write the trace, or NULL */
};

/* Asked for (--help), the usage goes to stdout and the demo succeeds; after
 * a wrong command line, to stderr with status 2. */
static void usage_exit(const char *program, int status) {
    FILE *out = status == EXIT_SUCCESS ? stdout : stderr;
    fprintf(out, "usage: %s [--frames N] [--every N] [--json FILE] [--trace FILE]\n", program);
    fprintf(out, "  --frames N    engine frames to run (default %d)\n", DEFAULT_FRAMES);
    fprintf(out, "  --every N     print frames 1-%d and every Nth (default %d)\n", ALWAYS_PRINTED_FRAMES,
            DEFAULT_PRINT_EVERY);
    fprintf(out, "  --json FILE   write the statistics snapshot (docs/statistics.md) to FILE\n");
    fprintf(out, "  --trace FILE  write the run as a trace (Chrome trace-event JSON, for Perfetto) to FILE\n");
    fprintf(out, "  --help        print this and exit\n");
    exit(status);
}

static uint64_t parse_positive(const char *text, const char *program) {
    char *end;
    if (text == NULL || *text < '0' || *text > '9')
        usage_exit(program, 2);
    unsigned long long value = strtoull(text, &end, 10);
    if (*end != '\0' || value == 0)
        usage_exit(program, 2);
    return value;
}

static struct options parse_options(int argc, char **argv) {
    struct options opts = {DEFAULT_FRAMES, DEFAULT_PRINT_EVERY, NULL, NULL};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--frames") == 0)
            opts.frames = parse_positive(argv[++i], argv[0]);
        else if (strcmp(argv[i], "--every") == 0)
            opts.print_every = parse_positive(argv[++i], argv[0]);
        else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
            opts.json = argv[++i];
        else if (strcmp(argv[i], "--trace") == 0 && i + 1 < argc)
            opts.trace = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            usage_exit(argv[0], EXIT_SUCCESS);
        else
            usage_exit(argv[0], 2);
    }
    return opts;
}

/* ---- main -------------------------------------------------------------- */

static fa_alloc *create_allocator(struct counting_backend *backend) {
    fa_config cfg;
    fa_config_init(&cfg);
    /* Big enough for a typical frame of each thread, so most frames bump
     * through the one chunk each thread keeps between frames. */
    cfg.frame_chunk_first = 256 * KIB;
    cfg.frame_chunk_max = 1 * MIB;
    cfg.backend = counting_backend_table(backend);
    cfg.on_event = print_event;
    /* No thread's frame may take more than 8 MiB; one over 4 MiB warns. */
    cfg.frame_budget_soft = 4 * MIB;
    cfg.frame_budget_hard = 8 * MIB;
    /* Hot allocation sites, about one sample per 64 KiB allocated: the
     * report's table of where the memory goes (docs/profiling.md). */
    cfg.site_sample_bytes = 64 * KIB;
    /* A texture upload comes every 75 frames or so, in a chunk of its own:
     * the cache keeps an idle chunk that long, so that the steady state
     * calls the backend not at all (the default gives it back after 60). */
    cfg.chunk_cache_frames = 240;
    fa_alloc *a = check_alloc(fa_create(&cfg), "the allocator");
    /* The whole game fits in 64 MiB; an upload over 2.75 MiB warns (the
     * level's first one does); the entities' caps keep them under 1 MiB. */
    check_status(fa_budget_set(a, NULL, 0, 64 * MIB), "fa_budget_set");
    check_status(fa_budget_set(a, "streaming", 2 * MIB + 3 * MIB / 4, 4 * MIB), "fa_budget_set");
    check_status(fa_budget_set(a, "world/entities", 0, 1 * MIB), "fa_budget_set");
    return a;
}

static void start_workers(struct engine *engine, struct worker workers[ROLE_COUNT]) {
    for (int role = ROLE_PHYSICS; role < ROLE_COUNT; role++) {
        workers[role].engine = engine;
        workers[role].role = (enum role)role;
        check_pthread(pthread_create(&workers[role].thread, NULL, worker_main, &workers[role]), "pthread_create");
    }
}

static void join_workers(struct worker workers[ROLE_COUNT]) {
    for (int role = ROLE_PHYSICS; role < ROLE_COUNT; role++)
        check_pthread(pthread_join(workers[role].thread, NULL), "pthread_join");
}

static void run_frames(struct engine *engine, struct counting_backend *backend, uint64_t print_every,
                       struct run_stats *stats) {
    print_table_header();
    for (uint64_t frame = 1; frame <= engine->frames; frame++) {
        uint64_t calls_before = backend_calls(backend), slabs_before = atomic_load(&backend->slab_requests);
        double start = now_us();
        update_entities(engine->alloc, &engine->world, frame);
        run_thread_frame(engine, ROLE_MAIN, frame);
        struct frame_row row = collect_row(engine, backend_calls(backend) - calls_before, now_us() - start);
        if (atomic_load(&backend->slab_requests) != slabs_before)
            stats->last_slab_frame = frame;
        stats_add(stats, &row, engine);
        if (should_print(row.frame, print_every))
            print_row(&row);
    }
}

int main(int argc, char **argv) {
    struct options opts = parse_options(argc, argv);
    struct counting_backend backend;
    counting_backend_init(&backend);
    struct engine engine = {.alloc = create_allocator(&backend), .frames = opts.frames};
    if (opts.trace != NULL) { /* from before the first allocation to after the last free */
        fa_error e = fa_trace_start(engine.alloc, opts.trace);
        if (e != FA_OK) {
            fprintf(stderr, "demo: cannot write the trace to %s: %s\n", opts.trace, fa_strerror(e));
            return EXIT_FAILURE;
        }
    }
    engine.world.nav = build_nav_mesh(engine.alloc);
    check_pthread(pthread_barrier_init(&engine.frame_start, NULL, ROLE_COUNT), "pthread_barrier_init");
    check_pthread(pthread_barrier_init(&engine.frame_done, NULL, ROLE_COUNT), "pthread_barrier_init");

    printf("framealloc demo: %" PRIu64 " frames; main thread (render, UI, streaming, entity spawns), physics "
           "(and despawns) and particles workers; a %zu MiB navigation mesh from fa_heap_alloc\n\n",
           opts.frames, NAV_MESH_BYTES / MIB);
    struct worker workers[ROLE_COUNT]; /* by role; the main thread's entry is unused */
    struct run_stats stats = {0};
    start_workers(&engine, workers);
    run_frames(&engine, &backend, opts.print_every, &stats);
    join_workers(workers);
    print_statistics(engine.alloc, opts.json);
    pthread_barrier_destroy(&engine.frame_start);
    pthread_barrier_destroy(&engine.frame_done);
    free_world(engine.alloc, &engine.world);
    if (opts.trace != NULL) { /* the whole run, the world's frees included */
        check_status(fa_trace_stop(engine.alloc), "fa_trace_stop");
        printf("trace written to %s\n", opts.trace);
    }
    stats.trimmed_bytes = atomic_load(&backend.bytes_outstanding);
    fa_destroy(engine.alloc);

    print_summary(&stats, &engine.world, &backend);
    if (atomic_load(&backend.bytes_outstanding) != 0) {
        fprintf(stderr, "demo: fa_destroy left backend memory outstanding\n");
        return EXIT_FAILURE;
    }
    if (steady_state_checked(stats.frames) && stats.steady_calls != 0) {
        fprintf(stderr, "demo: the last %d frames called the backend\n", STEADY_WINDOW);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
