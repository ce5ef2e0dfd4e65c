/* SPDX-License-Identifier: MIT */
/* Jobs: a work-stealing job system on shared frames (docs/threading.md).
 *
 * The main thread drives: it created the allocator with FA_FRAMES_SHARED
 * and two frames in flight, it alone begins frames, and every frame it
 * submits 256 "particle batch" jobs. 1..N worker threads run them. Each job
 * simulates 64 particles in scratch frame memory, writes a draw batch (its
 * vertices) into frame memory of the thread that ran it, and hands that
 * batch to the render queue with fa_transfer_make. Every fourth batch
 * spawns two follow-up "collide" jobs, each reading half of its parent's
 * vertices.
 *
 * Who pushes where. A Chase-Lev deque (fa_deque) may be pushed and popped
 * by its owner alone; any thread may steal. So nobody pushes onto another
 * thread's deque:
 * - the main thread owns a submission deque: it pushes the frame's root
 *   jobs there, and later pops from it itself;
 * - each worker owns a deque of its own, onto which it pushes the
 *   follow-up jobs that the jobs it runs spawn, and pops from it first
 *   (the newest, the data it just wrote, is still in its cache);
 * - a thread with nothing of its own steals: a worker from the main
 *   thread's deque first, then from a randomly chosen peer; the main
 *   thread from the workers.
 * A job's record is a pool block (fa_pool_alloc) of the thread that made it
 * and is freed by whichever thread ran it: root jobs are allocated on the
 * main thread and mostly freed on workers (cross-thread pool frees).
 *
 * One frame:
 *   main   fa_begin_frame, opens the frame to the workers, pushes the jobs;
 *          meanwhile consumes the render queue of the previous frame (its
 *          vertices still valid: two frames in flight), then helps run jobs;
 *   all    run jobs until none is left (a count of jobs pending);
 *   all    meet at an fa_barrier (parties = workers + 1), whose last
 *          arrival ends the shared frame. The main thread never calls
 *          fa_end_frame: its next call is the next frame's fa_begin_frame.
 *
 * A worker's part of a frame opens at its first frame allocation (through
 * the arena handle it fetched once, on its own thread) and is reset by the
 * worker itself as it leaves the barrier. With frames_in_flight = 2 the
 * memory of frame k is released as the threads leave frame k + 1's barrier:
 * the render queue of frame k is read during frame k + 1 (each transfer
 * checked with fa_transfer_alive / fa_transfer_get), and during frame
 * k + 2 the example checks that those transfers are now dead.
 *
 * Self-checks, each a failure (exit 1): a draw batch or a collide result
 * that differs from the value computed again independently (no jobs, no
 * allocator), a transfer dead too early or alive too late, frame bytes that
 * differ from what the jobs allocate, any error event, and any backend
 * call after frame 10 (memory comes through a counting backend).
 *
 * Usage: 04_jobs [--workers N] [--frames F]
 */
#define _POSIX_C_SOURCE 200809L

#include <framealloc.h>

#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORKERS 64
#define BATCHES 256         /* root jobs a frame */
#define PARTICLES 64        /* particles a batch */
#define STEPS 4             /* integration steps a job */
#define FOLLOW_UP_EVERY 4   /* every 4th batch spawns two collide jobs, one a half */
#define FOLLOW_UPS (2 * BATCHES / FOLLOW_UP_EVERY)
#define HALF (PARTICLES / 2)
#define BINS 16             /* the collide job's histogram */
#define QUEUE_FRAMES 3      /* render queues: frame k is written, k - 1 read, k - 2 checked dead */
#define STEADY_AFTER 10     /* frames after this one must not call the backend */
#define PRINT_EVERY 10

/* ---- the work: integer particles, so that every thread computes the same bits */

struct particle {
    int32_t x, y, vx, vy; /* 1/256 px */
};

struct vertex {
    int32_t  x, y;
    uint32_t color, size;
};

struct frame_log { /* each thread's note of its part in a frame, in frame memory */
    uint64_t frame, jobs;
};

static uint64_t hash64(uint64_t x) { /* the splitmix64 finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static struct particle spawn(uint64_t frame, uint32_t batch, uint32_t i) {
    uint64_t h = hash64(((uint64_t)batch * PARTICLES + i) * 0x9e3779b97f4a7c15u);
    int32_t age = (int32_t)(frame % 97);
    struct particle p = {(int32_t)(h & 0xffff) << 4, (int32_t)((h >> 16) & 0xffff) << 4,
                         (int32_t)((h >> 32) & 0x1ff) - 256, (int32_t)((h >> 41) & 0x1ff) - 256};
    p.x += p.vx * age;
    p.y += p.vy * age;
    return p;
}

static void step(struct particle *p) {
    p->vy -= 12; /* gravity */
    p->x += p->vx;
    p->y += p->vy;
    if (p->y < 0) { /* the ground: bounce, losing a quarter */
        p->y = -p->y;
        p->vy = -p->vy * 3 / 4;
    }
    p->x &= (1 << 20) - 1; /* the world wraps around */
}

static struct vertex vertex_of(const struct particle *p, uint64_t frame, uint32_t batch) {
    struct vertex v = {p->x >> 8, p->y >> 8, (uint32_t)hash64(frame << 32 | batch),
                       (uint32_t)(abs(p->vx) + abs(p->vy)) >> 4};
    return v;
}

static uint64_t fold_vertex(uint64_t sum, const struct vertex *v) {
    uint64_t word = (uint64_t)(uint32_t)v->x | (uint64_t)(uint32_t)v->y << 32;
    return hash64(sum ^ word) + ((uint64_t)v->color << 16 ^ v->size);
}

static unsigned bin_of(const struct vertex *v) {
    return (unsigned)v->x >> 8 & (BINS - 1);
}

/* Pairs of one half of a batch closer than 512 px: the brute-force
 * broadphase that makes a collide job the longest kind. */
static uint32_t contacts(const struct vertex *v, uint32_t half) {
    uint32_t n = 0;
    for (uint32_t i = half * HALF; i < (half + 1) * HALF; i++)
        for (uint32_t j = i + 1; j < (half + 1) * HALF; j++)
            n += abs(v[i].x - v[j].x) + abs(v[i].y - v[j].y) < 8;
    return n;
}

static uint64_t fold_bins(uint32_t batch, uint32_t half, const uint32_t *bins, uint32_t pairs) {
    uint64_t h = (uint64_t)batch << 1 | half;
    for (unsigned i = 0; i < BINS; i++)
        h = hash64(h ^ bins[i]);
    return hash64(h ^ pairs);
}

/* The reference: one batch's checksum (and the collide result) computed
 * straight from the particles, one at a time, without jobs or frame
 * memory. */
static uint64_t expected_batch(uint64_t frame, uint32_t batch, uint64_t *collide) {
    uint64_t sum = 0;
    uint32_t bins[2][BINS] = {{0}};
    struct vertex v[PARTICLES];
    for (uint32_t i = 0; i < PARTICLES; i++) {
        struct particle p = spawn(frame, batch, i);
        for (int s = 0; s < STEPS; s++)
            step(&p);
        v[i] = vertex_of(&p, frame, batch);
        sum = fold_vertex(sum, &v[i]);
        bins[i / HALF][bin_of(&v[i])]++;
    }
    *collide = fold_bins(batch, 0, bins[0], contacts(v, 0)) + fold_bins(batch, 1, bins[1], contacts(v, 1));
    return sum;
}

/* ---- the job system ----------------------------------------------------- */

enum job_kind { JOB_INTEGRATE, JOB_COLLIDE };

struct job { /* a pool block of the thread that made it; freed by the one that runs it */
    enum job_kind        kind;
    uint32_t             batch;
    uint64_t             frame;
    const struct vertex *verts; /* JOB_COLLIDE: the parent's draw batch */
    uint32_t             half;  /* JOB_COLLIDE: which half of it */
};

struct render_slot { /* one batch's entry in a frame's render queue */
    fa_transfer t;
    uint64_t    frame;  /* the frame that wrote it */
    unsigned    runner; /* who ran the job: its frame memory holds the vertices */
};

struct shared_state;

struct runner { /* a worker, or the main thread (the last one) */
    _Alignas(64) struct shared_state *s;
    unsigned  index;
    fa_arena *arena; /* this thread's frame arena: fa_arena_get once, on the thread */
    fa_deque *deque; /* created on this thread: it alone pushes and pops */
    uint64_t  rng;
    pthread_t thread;
    /* Written by the thread itself, read by the main thread after the barrier. */
    uint64_t jobs, steals_root, steals_peer;
    size_t   frame_bytes; /* its part of the frame, from fa_frame_info_get */
    _Atomic uint64_t left; /* the last frame whose barrier it has left */
};

struct shared_state {
    fa_alloc   *a;
    fa_barrier *barrier;
    unsigned    workers;
    struct runner runners[MAX_WORKERS + 1]; /* [workers] is the main thread */

    pthread_mutex_t lock; /* guards the next four */
    pthread_cond_t  wake;
    uint64_t        go_frame; /* the frame open to the workers */
    unsigned        ready;    /* workers with their deque made */
    int             quit;

    _Alignas(64) _Atomic uint64_t pending; /* jobs of this frame not finished */
    _Atomic uint64_t collide_sum;          /* this frame's collide results, summed */
    _Atomic uint64_t failures;             /* jobs whose allocation failed */

    struct render_slot queue[QUEUE_FRAMES][BATCHES];
};

static void job_failed(struct shared_state *s) {
    atomic_fetch_add(&s->failures, 1);
}

static void run_integrate(struct runner *r, const struct job *job) {
    struct shared_state *s = r->s;
    struct particle *scratch = fa_arena_new_array(r->arena, struct particle, PARTICLES);
    struct vertex *out = fa_arena_new_array(r->arena, struct vertex, PARTICLES);
    if (scratch == NULL || out == NULL) {
        job_failed(s);
        return;
    }
    for (uint32_t i = 0; i < PARTICLES; i++)
        scratch[i] = spawn(job->frame, job->batch, i);
    for (int k = 0; k < STEPS; k++)
        for (uint32_t i = 0; i < PARTICLES; i++)
            step(&scratch[i]);
    for (uint32_t i = 0; i < PARTICLES; i++)
        out[i] = vertex_of(&scratch[i], job->frame, job->batch);

    /* To the render queue: read during the next frame, by the main thread. */
    struct render_slot *slot = &s->queue[job->frame % QUEUE_FRAMES][job->batch];
    slot->t = fa_transfer_make(s->a, out, PARTICLES * sizeof *out);
    slot->frame = job->frame;
    slot->runner = r->index;
    if (slot->t.ptr == NULL)
        job_failed(s);

    /* Follow-ups onto this thread's own deque: it pops one at once, and
     * the other is there for an idle thread to steal meanwhile. */
    for (uint32_t half = 0; half < 2 && job->batch % FOLLOW_UP_EVERY == 0; half++) {
        struct job *next = (struct job *)fa_pool_alloc(s->a, sizeof *next);
        if (next == NULL) {
            job_failed(s);
            return;
        }
        *next = (struct job){JOB_COLLIDE, job->batch, job->frame, out, half};
        atomic_fetch_add(&s->pending, 1); /* before this job's own finish: pending never hits 0 early */
        if (fa_deque_push(r->deque, next) != FA_OK) {
            atomic_fetch_sub(&s->pending, 1);
            fa_pool_free(s->a, next);
            job_failed(s);
        }
    }
}

static void run_collide(struct runner *r, const struct job *job) {
    /* The parent's vertices: frame memory of whichever thread ran it, valid
     * to every thread for the whole frame. */
    uint32_t *bins = fa_arena_new_array(r->arena, uint32_t, BINS);
    if (bins == NULL) {
        job_failed(r->s);
        return;
    }
    memset(bins, 0, BINS * sizeof *bins);
    for (uint32_t i = job->half * HALF; i < (job->half + 1) * HALF; i++)
        bins[bin_of(&job->verts[i])]++;
    uint64_t result = fold_bins(job->batch, job->half, bins, contacts(job->verts, job->half));
    atomic_fetch_add(&r->s->collide_sum, result);
}

static void run_job(struct runner *r, struct job *job) {
    if (job->kind == JOB_INTEGRATE)
        run_integrate(r, job);
    else
        run_collide(r, job);
    if (fa_pool_free(r->s->a, job) != FA_OK) /* often another thread's block */
        job_failed(r->s);
    r->jobs++;
    atomic_fetch_sub_explicit(&r->s->pending, 1, memory_order_acq_rel);
}

/* The next job for r: its own deque, then the main thread's (workers),
 * then a peer's from a random start. NULL: nothing to take just now. */
static struct job *find_job(struct runner *r) {
    struct shared_state *s = r->s;
    struct job *job = (struct job *)fa_deque_pop(r->deque);
    if (job != NULL)
        return job;
    struct runner *main_runner = &s->runners[s->workers];
    if (r != main_runner && (job = (struct job *)fa_deque_steal(main_runner->deque)) != NULL) {
        r->steals_root++;
        return job;
    }
    r->rng = hash64(r->rng);
    for (unsigned i = 0; i < s->workers; i++) {
        struct runner *victim = &s->runners[(r->rng + i) % s->workers];
        if (victim != r && (job = (struct job *)fa_deque_steal(victim->deque)) != NULL) {
            r->steals_peer++;
            return job;
        }
    }
    return NULL;
}

static void run_until_done(struct runner *r) {
    while (atomic_load_explicit(&r->s->pending, memory_order_acquire) != 0) {
        struct job *job = find_job(r);
        if (job != NULL)
            run_job(r, job);
        else
            sched_yield(); /* the others hold the last jobs */
    }
}

/* The thread's note of its part in the frame (so that every thread takes
 * frame memory every frame), and at the end its bytes. */
static void note_frame(struct runner *r, uint64_t frame) {
    struct frame_log *log = fa_arena_new(r->arena, struct frame_log);
    if (log == NULL) {
        job_failed(r->s);
        return;
    }
    log->frame = frame;
    log->jobs = r->jobs;
}

static void note_bytes(struct runner *r, uint64_t frame) {
    fa_frame_info info;
    r->frame_bytes = 0;
    if (fa_frame_info_get(r->s->a, &info) == FA_OK && info.in_frame && info.frame == frame)
        r->frame_bytes = info.bytes;
}

static void *worker_main(void *arg) {
    struct runner *r = (struct runner *)arg;
    struct shared_state *s = r->s;
    r->arena = fa_arena_get(s->a); /* on this thread: the handle is this thread's */
    r->deque = fa_deque_create(s->a, BATCHES);
    /* Warms this thread's pool, whose blocks follow-up jobs take, so that
     * no steady-state frame waits for its first slab. */
    fa_pool_free(s->a, fa_pool_alloc(s->a, sizeof(struct job)));
    if (r->arena == NULL || r->deque == NULL)
        job_failed(s);

    pthread_mutex_lock(&s->lock);
    s->ready++;
    pthread_cond_broadcast(&s->wake);
    uint64_t seen = 0;
    for (;;) {
        while (s->go_frame == seen && !s->quit)
            pthread_cond_wait(&s->wake, &s->lock);
        if (s->quit)
            break;
        seen = s->go_frame;
        pthread_mutex_unlock(&s->lock);

        note_frame(r, seen); /* opens this thread's part of the shared frame */
        run_until_done(r);
        note_bytes(r, seen);
        if (fa_barrier_wait(s->barrier) != FA_OK) /* the last one in ends the frame */
            job_failed(s);
        atomic_store_explicit(&r->left, seen, memory_order_release);

        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- the main thread: driver and render queue consumer ----------------- */

struct counting_backend {
    fa_backend       inner;
    _Atomic uint64_t calls;
};

static fa_backend_result counting_allocate(void *ctx, size_t size, size_t align, void **out) {
    struct counting_backend *cb = (struct counting_backend *)ctx;
    atomic_fetch_add_explicit(&cb->calls, 1, memory_order_relaxed);
    return cb->inner.allocate(cb->inner.ctx, size, align, out);
}

static void counting_deallocate(void *ctx, void *ptr, size_t size, size_t align) {
    struct counting_backend *cb = (struct counting_backend *)ctx;
    atomic_fetch_add_explicit(&cb->calls, 1, memory_order_relaxed);
    cb->inner.deallocate(cb->inner.ctx, ptr, size, align);
}

static _Atomic uint64_t error_events;

static void on_event(void *user, const fa_event *ev) {
    (void)user;
    if (ev->error != FA_OK)
        atomic_fetch_add(&error_events, 1);
    fprintf(stderr, "04_jobs: framealloc %s: %s\n", ev->error != FA_OK ? "error" : "warning", ev->message);
}

struct totals {
    uint64_t batches_checked, mismatches, dead_checked, lifetime_errors;
    uint64_t checksum, expected_checksum;
};

/* Reads frame `frame`'s render queue: every transfer must still be alive. */
static void consume(struct shared_state *s, uint64_t frame, struct totals *t, int in_frame) {
    struct runner *me = &s->runners[s->workers];
    /* The render thread's own scratch, a draw list, in this frame's memory. */
    const struct vertex **draw = in_frame ? fa_arena_new_array(me->arena, const struct vertex *, BATCHES) : NULL;
    if (in_frame && draw == NULL)
        t->lifetime_errors++;
    for (uint32_t b = 0; b < BATCHES; b++) {
        struct render_slot *slot = &s->queue[frame % QUEUE_FRAMES][b];
        uint64_t collide, want = expected_batch(frame, b, &collide);
        if (slot->frame != frame || !fa_transfer_alive(s->a, &slot->t)) {
            t->lifetime_errors++;
            continue;
        }
        const struct vertex *v = (const struct vertex *)fa_transfer_get(s->a, &slot->t);
        if (v == NULL) {
            t->lifetime_errors++;
            continue;
        }
        if (draw != NULL)
            draw[b] = v;
        uint64_t sum = 0;
        for (uint32_t i = 0; i < PARTICLES; i++)
            sum = fold_vertex(sum, &v[i]);
        t->mismatches += sum != want;
        t->checksum += sum;
        t->expected_checksum += want;
        t->batches_checked++;
    }
}

/* Frame `frame`'s transfers of every thread that has left the barrier of
 * frame + 1 are dead: that thread released the frame's memory as it left. */
static void check_dead(struct shared_state *s, uint64_t frame, struct totals *t, int owners_exited) {
    for (uint32_t b = 0; b < BATCHES; b++) {
        struct render_slot *slot = &s->queue[frame % QUEUE_FRAMES][b];
        int is_main = slot->runner == s->workers;
        if (owners_exited && is_main)
            continue; /* the main thread holds its last frames until it exits */
        if (!owners_exited && !is_main &&
            atomic_load_explicit(&s->runners[slot->runner].left, memory_order_acquire) < frame + 1)
            continue; /* not known yet */
        if (fa_transfer_alive(s->a, &slot->t))
            t->lifetime_errors++;
        t->dead_checked++;
    }
}

/* Every thread's counts summed (after a barrier: each wrote its own). */
struct figures {
    uint64_t jobs, main_jobs, root, peer, calls;
    size_t   bytes; /* the frame's, every thread's part */
};

static struct figures gather(const struct shared_state *s) {
    struct figures f = {0};
    for (unsigned w = 0; w <= s->workers; w++) {
        const struct runner *r = &s->runners[w];
        f.jobs += r->jobs;
        f.root += r->steals_root;
        f.peer += r->steals_peer;
        f.bytes += r->frame_bytes;
    }
    f.main_jobs = s->runners[s->workers].jobs;
    return f;
}

/* What the jobs take from frame memory in a frame, by construction: no
 * padding, every size being a multiple of 16. */
static size_t frame_bytes_expected(unsigned workers, uint64_t frame) {
    return (size_t)BATCHES * PARTICLES * (sizeof(struct particle) + sizeof(struct vertex)) /* integrate */
           + (size_t)FOLLOW_UPS * BINS * sizeof(uint32_t)                                   /* collide */
           + (size_t)(workers + 1) * sizeof(struct frame_log)                              /* each thread's note */
           + (frame >= 2 ? BATCHES * sizeof(const struct vertex *) : 0);                   /* the draw list */
}

static void wait_for_workers_to_leave(struct shared_state *s, uint64_t frame) {
    for (unsigned w = 0; w < s->workers; w++)
        while (atomic_load_explicit(&s->runners[w].left, memory_order_acquire) < frame)
            sched_yield();
}

static void usage_exit(const char *program) {
    fprintf(stderr, "usage: %s [--workers N] [--frames F]\n", program);
    fprintf(stderr, "  --workers N  worker threads, 1 to %d (default 3)\n", MAX_WORKERS);
    fprintf(stderr, "  --frames F   frames to run (default 60)\n");
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

static struct shared_state state; /* large (the render queues): not on the stack */

int main(int argc, char **argv) {
    unsigned workers = 3;
    uint64_t frames = 60;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--workers") == 0)
            workers = (unsigned)parse_count(i + 1 < argc ? argv[++i] : NULL, MAX_WORKERS, argv[0]);
        else if (strcmp(argv[i], "--frames") == 0)
            frames = parse_count(i + 1 < argc ? argv[++i] : NULL, 1000000, argv[0]);
        else
            usage_exit(argv[0]);
    }

    struct counting_backend backend = {fa_backend_system(), 0};
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.frame_mode = FA_FRAMES_SHARED;
    cfg.frames_in_flight = 2;
    /* One chunk holds a whole frame of any one thread, however the jobs
     * fall: every thread then takes one chunk a frame and gives one back,
     * and after the first frames the cache serves them all. */
    cfg.frame_chunk_first = cfg.frame_chunk_max = (size_t)1 << 20;
    cfg.backend = (fa_backend){&backend, counting_allocate, counting_deallocate};
    cfg.on_event = on_event;

    struct shared_state *s = &state;
    s->a = fa_create(&cfg);
    if (s->a == NULL) {
        fprintf(stderr, "04_jobs: fa_create: %s\n", fa_strerror(fa_last_error()));
        return 1;
    }
    s->workers = workers;
    s->barrier = fa_barrier_create(s->a, workers + 1);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->wake, NULL);
    struct runner *me = &s->runners[workers];
    *me = (struct runner){.s = s, .index = workers, .arena = fa_arena_get(s->a),
                          .deque = fa_deque_create(s->a, 2 * BATCHES), .rng = workers};
    if (s->barrier == NULL || me->arena == NULL || me->deque == NULL)
        return 1; /* reported */
    for (unsigned w = 0; w < workers; w++) {
        s->runners[w] = (struct runner){.s = s, .index = w, .rng = w};
        if (pthread_create(&s->runners[w].thread, NULL, worker_main, &s->runners[w]) != 0) {
            fprintf(stderr, "04_jobs: pthread_create failed\n");
            return 1;
        }
    }
    pthread_mutex_lock(&s->lock);
    while (s->ready < workers)
        pthread_cond_wait(&s->wake, &s->lock);
    pthread_mutex_unlock(&s->lock);

    printf("04_jobs: %u workers + main, %" PRIu64 " frames of %d jobs (+%d follow-ups), shared frames, "
           "2 in flight\n", workers, frames, BATCHES, FOLLOW_UPS);
    /* A debug level (FRAMEALLOC_DEBUG) changes two figures by design: the
     * guards take frame bytes of their own, and the pass-through level
     * takes every frame block from the backend. */
    fa_debug level = fa_debug_level(s->a);
    int exact_bytes = level == FA_DEBUG_OFF, steady_backend = level != FA_DEBUG_MALLOC;
    if (!exact_bytes)
        printf("04_jobs: at a debug level: frame bytes%s not checked\n", steady_backend ? "" : " and backend calls");
    struct totals t = {0};
    struct figures last = {0};
    uint64_t calls_steady_from = 0, bytes_errors = 0, collide_errors = 0;
    static fa_stats st_storage; /* large: not on the stack */
    fa_stats *st = &st_storage;
    for (uint64_t f = 1; f <= frames; f++) {
        if (fa_begin_frame(s->a) != FA_OK)
            return 1; /* reported */
        note_frame(me, f);
        uint64_t collide_want = 0;
        atomic_store(&s->pending, BATCHES);
        atomic_store(&s->collide_sum, 0);
        pthread_mutex_lock(&s->lock);
        s->go_frame = f;
        pthread_cond_broadcast(&s->wake);
        pthread_mutex_unlock(&s->lock);

        for (uint32_t b = 0; b < BATCHES; b++) { /* the submission deque: main's own */
            struct job *job = (struct job *)fa_pool_alloc(s->a, sizeof *job);
            if (job == NULL)
                return 1; /* reported */
            *job = (struct job){JOB_INTEGRATE, b, f, NULL, 0};
            if (fa_deque_push(me->deque, job) != FA_OK)
                return 1;
        }
        if (f >= 2)
            consume(s, f - 1, &t, 1); /* the render queue, one frame behind */
        if (f >= 3)
            check_dead(s, f - 2, &t, 0);
        for (uint32_t b = 0; b < BATCHES; b += FOLLOW_UP_EVERY) {
            uint64_t collide;
            expected_batch(f, b, &collide);
            collide_want += collide;
        }
        run_until_done(me);
        collide_errors += atomic_load(&s->collide_sum) != collide_want;
        note_bytes(me, f);
        if (fa_barrier_wait(s->barrier) != FA_OK) /* ends frame f */
            return 1;

        /* The frame's figures: every thread wrote its own before the barrier. */
        struct figures now = gather(s);
        size_t bytes_want = frame_bytes_expected(workers, f);
        bytes_errors += exact_bytes && now.bytes != bytes_want;
        if (f == STEADY_AFTER)
            now.calls = calls_steady_from = atomic_load(&backend.calls);
        else
            now.calls = atomic_load(&backend.calls);
        if (f == 1 || f % PRINT_EVERY == 0) {
            memset(st, 0, sizeof *st);
            if (!FA_MINIMAL) /* a minimal build keeps no statistics: the totals read 0 */
                fa_stats_get(s->a, st);
            printf("frame %4" PRIu64 ": %3" PRIu64 " jobs (main %3" PRIu64 "), %3" PRIu64 " steals (%3" PRIu64
                   " from main, %2" PRIu64 " from peers), frame bytes %zu (expected %zu), all frames %6.1f MiB, "
                   "backend calls %2" PRIu64 " (all %" PRIu64 ")\n",
                   f, now.jobs - last.jobs, now.main_jobs - last.main_jobs,
                   now.root + now.peer - last.root - last.peer, now.root - last.root, now.peer - last.peer,
                   now.bytes, bytes_want, (double)st->frame.bytes / (1024.0 * 1024.0), now.calls - last.calls,
                   st->backend_calls);
        }
        last = now;
    }

    /* The last frame's render queue: still in flight (nobody has left a
     * later barrier), read after its end. Then the one before it is dead
     * once every worker has left the last barrier. */
    consume(s, frames, &t, 0);
    wait_for_workers_to_leave(s, frames);
    if (frames >= 2)
        check_dead(s, frames - 1, &t, 0);
    uint64_t steady_calls = 0;
    if (frames > STEADY_AFTER && steady_backend)
        steady_calls = atomic_load(&backend.calls) - calls_steady_from;

    pthread_mutex_lock(&s->lock);
    s->quit = 1;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->lock);
    for (unsigned w = 0; w < workers; w++)
        pthread_join(s->runners[w].thread, NULL);
    check_dead(s, frames, &t, 1); /* a thread that exited released everything */

    for (unsigned w = 0; w <= workers; w++)
        fa_deque_destroy(s->runners[w].deque);
    fa_barrier_destroy(s->barrier);
    fa_destroy(s->a);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);

    uint64_t errors = atomic_load(&error_events), failures = atomic_load(&s->failures);
    int ok = t.mismatches == 0 && t.lifetime_errors == 0 && t.checksum == t.expected_checksum && errors == 0 &&
             failures == 0 && bytes_errors == 0 && collide_errors == 0 && steady_calls == 0 &&
             last.jobs == frames * (BATCHES + FOLLOW_UPS);
    printf("04_jobs: %" PRIu64 " jobs (%" PRIu64 " failed), %" PRIu64 " steals (%" PRIu64 " from peers)\n", last.jobs,
           failures, last.root + last.peer, last.peer);
    printf("04_jobs: render queue: %" PRIu64 " draw batches checked, checksum %016" PRIx64 " (expected %016" PRIx64
           "), %" PRIu64 " mismatches; %" PRIu64 " transfers seen dead in time, %" PRIu64 " lifetime errors\n",
           t.batches_checked, t.checksum, t.expected_checksum, t.mismatches, t.dead_checked, t.lifetime_errors);
    printf("04_jobs: %" PRIu64 " frames with wrong bytes, %" PRIu64 " with wrong collide results, %" PRIu64
           " error events, %" PRIu64 " backend calls after frame %d: %s\n", bytes_errors, collide_errors, errors,
           steady_calls, STEADY_AFTER, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
