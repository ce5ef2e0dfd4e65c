/* SPDX-License-Identifier: MIT */
/* Threading (issue #15): frames in flight, shared frames, the frame
 * barrier, transfers and promotion (src/frame.c, src/barrier.c,
 * src/handoff.c). The deque has its own suite (test_deque.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "track.h" /* a tracked library poisons released frame memory: only live frames are read */

/* An allocator of the counting backend and the event recorder, with N
 * frames in flight and the given frame mode. */
struct rig {
    struct counting c;
    struct events   ev;
    fa_alloc       *a;
};

static void rig_open(struct rig *r, unsigned in_flight, fa_frame_mode mode, fa_debug debug) {
    memset(r, 0, sizeof *r);
    fa_config cfg = test_config(&r->c, &r->ev);
    cfg.frames_in_flight = in_flight;
    cfg.frame_mode = mode;
    cfg.debug = debug;
    cfg.frame_chunk_first = 4096; /* a frame of the tests below spans several chunks */
    cfg.frame_chunk_max = 16384;
    r->a = fa_create(&cfg);
    assert_non_null(r->a);
}

static void rig_close(struct rig *r) {
    fa_destroy(r->a);
    assert_int_equal(r->c.bytes_out, 0); /* every chunk went back */
}

/* ---- frames in flight ---------------------------------------------------- */

enum { BLOCKS = 24, FRAMES = 12 };

/* One frame's blocks: sizes from 40 B to 9 KiB (a few need a chunk of
 * their own), each filled with the frame's pattern. */
struct frame_blocks {
    unsigned char *p[BLOCKS];
    size_t         size[BLOCKS];
};

static size_t block_size(int frame, int i) {
    return (size_t)(40 + ((i * 977 + frame * 131) % 3000)) * (i % 7 == 0 ? 3 : 1);
}

static void fill_frame(fa_alloc *a, struct frame_blocks *fb, int frame) {
    for (int i = 0; i < BLOCKS; i++) {
        fb->size[i] = block_size(frame, i);
        fb->p[i] = (unsigned char *)fa_frame_alloc(a, fb->size[i]);
        assert_non_null(fb->p[i]);
        memset(fb->p[i], frame & 0xff, fb->size[i]);
    }
}

static int frame_intact(const struct frame_blocks *fb, int frame) {
    for (int i = 0; i < BLOCKS; i++)
        for (size_t k = 0; k < fb->size[i]; k++)
            if (fb->p[i][k] != (unsigned char)(frame & 0xff))
                return 0;
    return 1;
}

/* Memory of frame k stays untouched through the end of frame k + N - 1,
 * while later frames allocate and fill theirs. */
static void memory_lives_n_frames(unsigned n, fa_debug debug) {
    struct rig r;
    rig_open(&r, n, FA_FRAMES_PER_THREAD, debug);
    static struct frame_blocks fb[FRAMES];
    for (int k = 0; k < FRAMES; k++) {
        assert_int_equal(fa_begin_frame(r.a), FA_OK);
        fill_frame(r.a, &fb[k], k);
        assert_int_equal(fa_end_frame(r.a), FA_OK);
        for (int j = k - (int)n + 2; j <= k; j++) /* frames whose memory is still valid */
            if (j >= 0)
                assert_true(frame_intact(&fb[j], j));
    }
    assert_int_equal(fa_check(r.a), FA_OK);
    assert_int_equal(r.ev.count, 0);
    rig_close(&r);
}

static void frame_memory_lives_n_frames(void **state) {
    (void)state;
    for (unsigned n = 1; n <= 3; n++)
        memory_lives_n_frames(n, FA_DEBUG_OFF);
}

static void frame_memory_lives_n_frames_at_the_debug_levels(void **state) {
    (void)state;
    memory_lives_n_frames(2, FA_DEBUG_GUARD);
    memory_lives_n_frames(3, FA_DEBUG_TRACE);
    memory_lives_n_frames(2, FA_DEBUG_MALLOC);
}

/* After frame k + N - 1 ends, frame k's chunks are used again: the first
 * allocation of frame k + N lands where frame k's did, and the steady
 * state makes no backend call. */
static void released_frames_are_recycled(void **state) {
    (void)state;
    for (unsigned n = 1; n <= 3; n++) {
        struct rig r;
        rig_open(&r, n, FA_FRAMES_PER_THREAD, FA_DEBUG_OFF);
        void *first[16];
        long calls = 0;
        for (int k = 0; k < 16; k++) {
            assert_int_equal(fa_begin_frame(r.a), FA_OK);
            first[k] = fa_frame_alloc(r.a, 256);
            for (int i = 0; i < 8; i++)
                assert_non_null(fa_frame_alloc(r.a, 1000));
            assert_int_equal(fa_end_frame(r.a), FA_OK);
            if (k == 7)
                calls = r.c.requests;
            if (k >= (int)n + 1)
                assert_ptr_equal(first[k], first[k - (int)n]);
            if (k > 0 && n > 1)
                assert_ptr_not_equal(first[k], first[k - 1]); /* frame k - 1 is still in flight */
        }
        assert_int_equal(r.c.requests, calls); /* frames 8 .. 15: no backend call */
        rig_close(&r);
    }
}

static fa_stats *stats(fa_alloc *a) {
    fa_stats *st = stats_of(a);
    assert_non_null(st);
    return st;
}

/* A frame's bytes stay charged (statistics and budgets) until its memory
 * is released, and go back then. */
static void frames_in_flight_stay_charged(void **state) {
    (void)state;
    if (FA_MINIMAL) /* no statistics or budgets to see */
        skip();
    struct rig r;
    rig_open(&r, 2, FA_FRAMES_PER_THREAD, FA_DEBUG_OFF);
    assert_int_equal(fa_budget_set(r.a, NULL, 0, 1 << 20), FA_OK);
    uint64_t bytes[3];
    for (int k = 0; k < 3; k++) {
        assert_int_equal(fa_begin_frame(r.a), FA_OK);
        assert_int_equal(fa_tag_push(r.a, "render"), FA_OK);
        for (int i = 0; i < 10 + 10 * k; i++)
            assert_non_null(fa_frame_alloc(r.a, 512));
        assert_int_equal(fa_tag_pop(r.a), FA_OK);
        fa_frame_info info;
        assert_int_equal(fa_frame_info_get(r.a, &info), FA_OK);
        bytes[k] = info.bytes;
        assert_int_equal(fa_end_frame(r.a), FA_OK);
        fa_stats *st = stats(r.a);
        uint64_t live = bytes[k];
        assert_int_equal(st->frame.live_bytes, live); /* frame k - 1 released, frame k in flight */
        assert_int_equal(st->global_budget.usage, live);
        assert_int_equal(st->tags[1].frame.live_bytes, live); /* charged to "render" */
        free(st);
    }
    fa_destroy(r.a);
    struct rig r3;
    rig_open(&r3, 3, FA_FRAMES_PER_THREAD, FA_DEBUG_OFF);
    uint64_t sum = 0;
    for (int k = 0; k < 2; k++) {
        assert_int_equal(fa_begin_frame(r3.a), FA_OK);
        for (int i = 0; i < 5; i++)
            assert_non_null(fa_frame_alloc(r3.a, 256));
        fa_frame_info info;
        assert_int_equal(fa_frame_info_get(r3.a, &info), FA_OK);
        sum += info.bytes;
        assert_int_equal(fa_end_frame(r3.a), FA_OK);
    }
    fa_stats *st = stats(r3.a);
    assert_int_equal(st->frame.live_bytes, sum); /* N = 3: both frames still in flight */
    free(st);
    rig_close(&r3);
}

/* Marks act within the current frame only. */
static void marks_stay_within_the_current_frame(void **state) {
    (void)state;
    struct rig r;
    rig_open(&r, 2, FA_FRAMES_PER_THREAD, FA_DEBUG_OFF);
    assert_int_equal(fa_begin_frame(r.a), FA_OK);
    fa_mark m = fa_frame_mark(r.a);
    unsigned char *kept = (unsigned char *)fa_frame_alloc(r.a, 100);
    memset(kept, 7, 100);
    assert_int_equal(fa_end_frame(r.a), FA_OK);
    assert_int_equal(fa_begin_frame(r.a), FA_OK);
    assert_int_equal(fa_frame_rewind(r.a, m), FA_ERR_STATE);
    fa_mark here = fa_frame_mark(r.a);
    assert_non_null(fa_frame_alloc(r.a, 5000));
    assert_int_equal(fa_frame_rewind(r.a, here), FA_OK);
    assert_int_equal(kept[99], 7); /* the frame in flight was not touched */
    assert_int_equal(fa_end_frame(r.a), FA_OK);
    rig_close(&r);
}

static void bad_settings_are_refused(void **state) {
    (void)state;
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.frames_in_flight = FA_FRAMES_IN_FLIGHT_MAX + 1;
    assert_null(fa_create(&cfg));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    fa_config_init(&cfg);
    cfg.frame_mode = (fa_frame_mode)7;
    assert_null(fa_create(&cfg));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    fa_config_init(&cfg);
    cfg.frames_in_flight = FA_FRAMES_IN_FLIGHT_MAX;
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    for (int k = 0; k < 20; k++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        assert_non_null(fa_frame_alloc(a, 64));
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
    fa_destroy(a);
}

/* A thread that exits with frames in flight gives everything back. */
static void *frames_then_exit(void *arg) {
    fa_alloc *a = (fa_alloc *)arg;
    for (int k = 0; k < 5; k++) {
        fa_begin_frame(a);
        fa_frame_alloc(a, 3000);
        fa_end_frame(a);
    }
    return NULL;
}

static void a_thread_leaving_with_frames_in_flight_gives_them_back(void **state) {
    (void)state;
    if (FA_MINIMAL) /* no statistics or budgets to see */
        skip();
    struct rig r;
    rig_open(&r, 3, FA_FRAMES_PER_THREAD, FA_DEBUG_OFF);
    assert_int_equal(fa_budget_set(r.a, NULL, 0, 1 << 20), FA_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, frames_then_exit, r.a), 0);
    pthread_join(t, NULL);
    fa_stats *st = stats(r.a);
    assert_int_equal(st->frame.live_bytes, 0);
    assert_int_equal(st->global_budget.usage, 0);
    free(st);
    assert_int_equal(r.ev.count, 0);
    rig_close(&r);
}

/* ---- shared frames ------------------------------------------------------- */

struct stepper {
    fa_alloc         *a;
    pthread_barrier_t step;
    void             *first[3];
    uint64_t          frame[3];
    fa_error          begin, end, outside;
};

/* A worker that never calls begin or end: its frame allocations follow
 * the driver's frames. */
static void *stepping_worker(void *arg) {
    struct stepper *s = (struct stepper *)arg;
    fa_arena *ar = fa_arena_get(s->a);
    s->outside = fa_frame_alloc(s->a, 8) == NULL ? fa_last_error() : FA_OK; /* no frame open yet */
    pthread_barrier_wait(&s->step); /* 1: the driver begins frame 1 */
    pthread_barrier_wait(&s->step);
    for (int k = 0; k < 3; k++) {
        s->first[k] = fa_arena_alloc(ar, 64);
        for (int i = 0; i < 50; i++)
            fa_arena_alloc(ar, 64); /* the inline path, with the frame's chunk */
        fa_frame_info info;
        fa_frame_info_get(s->a, &info);
        s->frame[k] = info.frame;
        pthread_barrier_wait(&s->step); /* the driver ends the frame and begins the next */
        pthread_barrier_wait(&s->step);
    }
    s->begin = fa_begin_frame(s->a);
    s->end = fa_end_frame(s->a);
    return NULL;
}

static void workers_follow_the_driving_threads_frames(void **state) {
    (void)state;
    struct rig r;
    rig_open(&r, 1, FA_FRAMES_SHARED, FA_DEBUG_OFF);
    struct stepper s = {.a = r.a};
    pthread_barrier_init(&s.step, NULL, 2);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stepping_worker, &s), 0);
    pthread_barrier_wait(&s.step);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(fa_begin_frame(r.a), FA_OK);
        pthread_barrier_wait(&s.step);
        pthread_barrier_wait(&s.step); /* the worker allocated */
        assert_int_equal(fa_end_frame(r.a), FA_OK);
    }
    assert_int_equal(fa_begin_frame(r.a), FA_OK);
    pthread_barrier_wait(&s.step);
    pthread_join(t, NULL);
    assert_int_equal(s.outside, FA_ERR_STATE);
    for (int k = 0; k < 3; k++)
        assert_int_equal(s.frame[k], (uint64_t)k + 1);
    /* Each frame's end sent the worker's next allocation to the slow path,
     * which reset its arena: every frame starts where the first did. */
    assert_ptr_equal(s.first[1], s.first[0]);
    assert_ptr_equal(s.first[2], s.first[0]);
    assert_int_equal(s.begin, FA_ERR_STATE);
    assert_int_equal(s.end, FA_ERR_STATE);
    assert_int_equal(fa_frame_number(r.a), 4);
    assert_int_equal(fa_end_frame(r.a), FA_OK);
    assert_int_equal(fa_end_frame(r.a), FA_ERR_STATE); /* none open */
    pthread_barrier_destroy(&s.step);
    rig_close(&r);
}

static void only_the_creating_thread_begins_and_ends_shared_frames(void **state) {
    (void)state;
    struct rig r;
    rig_open(&r, 1, FA_FRAMES_SHARED, FA_DEBUG_OFF);
    assert_null(fa_frame_alloc(r.a, 8));
    assert_int_equal(fa_last_error(), FA_ERR_STATE);
    assert_int_equal(fa_begin_frame(r.a), FA_OK);
    assert_int_equal(fa_begin_frame(r.a), FA_ERR_STATE); /* frames do not nest */
    assert_non_null(fa_frame_alloc(r.a, 8));
    assert_int_equal(fa_end_frame(r.a), FA_OK);
    assert_null(fa_frame_alloc(r.a, 8));
    assert_int_equal(fa_last_error(), FA_ERR_STATE);
    rig_close(&r);
}

/* Workers and the driver meet at a barrier per frame, which ends the
 * shared frame; each frame's memory of each worker holds its pattern to
 * the end, and the frame bytes all come back. */
enum { SHARED_WORKERS = 3, SHARED_FRAMES = 200 };

struct crew {
    fa_alloc   *a;
    fa_barrier *meet;
    pthread_barrier_t start; /* the driver has begun the frame */
    atomic_int  errors;
    int         in_flight;
};

static void *crew_worker(void *arg) {
    struct crew *c = (struct crew *)arg;
    fa_arena *ar = fa_arena_get(c->a);
    unsigned char *prev = NULL;
    size_t prev_size = 0;
    for (int k = 0; k < SHARED_FRAMES; k++) {
        pthread_barrier_wait(&c->start);
        size_t size = (size_t)(100 + (k * 53) % 900);
        unsigned char *p = (unsigned char *)fa_arena_alloc(ar, size);
        if (p == NULL) {
            atomic_fetch_add(&c->errors, 1);
        } else {
            memset(p, k & 0xff, size);
            for (int i = 0; i < 20; i++)
                c->errors += fa_arena_alloc(ar, 48) == NULL;
        }
        if (c->in_flight > 1 && prev != NULL) /* the last frame's memory is still valid */
            for (size_t i = 0; i < prev_size; i++)
                c->errors += prev[i] != (unsigned char)((k - 1) & 0xff);
        prev = p;
        prev_size = size;
        c->errors += fa_barrier_wait(c->meet) != FA_OK;
    }
    return NULL;
}

static void run_crew(unsigned in_flight) {
    struct rig r;
    rig_open(&r, in_flight, FA_FRAMES_SHARED, FA_DEBUG_OFF);
    struct crew c = {.a = r.a, .in_flight = (int)in_flight};
    c.meet = fa_barrier_create(r.a, SHARED_WORKERS + 1);
    assert_non_null(c.meet);
    pthread_barrier_init(&c.start, NULL, SHARED_WORKERS + 1);
    pthread_t t[SHARED_WORKERS];
    for (int i = 0; i < SHARED_WORKERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, crew_worker, &c), 0);
    for (int k = 0; k < SHARED_FRAMES; k++) {
        assert_int_equal(fa_begin_frame(r.a), FA_OK);
        pthread_barrier_wait(&c.start);
        assert_non_null(fa_frame_alloc(r.a, 200));
        assert_int_equal(fa_barrier_wait(c.meet), FA_OK); /* ends the frame */
    }
    for (int i = 0; i < SHARED_WORKERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&c.errors), 0);
    assert_int_equal(fa_end_frame(r.a), FA_ERR_STATE); /* the barrier ended the last one */
    assert_int_equal(fa_frame_number(r.a), SHARED_FRAMES);
    assert_int_equal(r.ev.count, 1);                   /* that one */
    fa_barrier_destroy(c.meet);
    pthread_barrier_destroy(&c.start);
    rig_close(&r);
}

static void a_barrier_ends_each_shared_frame(void **state) {
    (void)state;
    run_crew(1);
    run_crew(2);
}

/* Under per-thread frames the barrier only waits, round after round. */
struct waiters {
    fa_barrier *b;
    atomic_int  arrived;
    int         rounds;
    atomic_int  behind; /* a thread saw a round not yet complete */
};

static void *wait_rounds(void *arg) {
    struct waiters *w = (struct waiters *)arg;
    for (int k = 0; k < w->rounds; k++) {
        atomic_fetch_add(&w->arrived, 1);
        fa_barrier_wait(w->b);
        if (atomic_load(&w->arrived) < 4 * (k + 1))
            atomic_fetch_add(&w->behind, 1);
        fa_barrier_wait(w->b); /* nobody arrives for the next round before all left this one */
    }
    return NULL;
}

static void a_barrier_is_reusable_without_lost_wakeups(void **state) {
    (void)state;
    struct rig r;
    rig_open(&r, 1, FA_FRAMES_PER_THREAD, FA_DEBUG_OFF);
    struct waiters w = {.b = fa_barrier_create(r.a, 4), .rounds = 300};
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, wait_rounds, &w), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&w.arrived), 4 * 300);
    assert_int_equal(atomic_load(&w.behind), 0);
    fa_barrier_destroy(w.b);
    assert_null(fa_barrier_create(r.a, 0));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_null(fa_barrier_create(NULL, 2));
    assert_int_equal(fa_barrier_wait(NULL), FA_ERR_INVALID);
    fa_barrier_destroy(NULL);
    rig_close(&r);
}

/* At a debug level, a worker allocating while the driver ends the frame is
 * reported. The worker's allocation crosses a soft frame budget, and the
 * warning's callback (on the worker, inside the allocation) lets the
 * driver end the frame before the allocation finishes. */
struct racer {
    fa_alloc         *a;
    pthread_t         driver;
    pthread_barrier_t step;
    atomic_int        race_events, warnings;
    void             *got;
};

static void race_event(void *user, const fa_event *ev) {
    struct racer *r = (struct racer *)user;
    if (pthread_equal(pthread_self(), r->driver))
        return;
    if (ev->error == FA_OK && atomic_fetch_add(&r->warnings, 1) == 0) {
        pthread_barrier_wait(&r->step); /* the driver ends the frame now */
        pthread_barrier_wait(&r->step);
    }
    if (ev->error == FA_ERR_STATE && strstr(ev->message, "ended while this thread allocated") != NULL)
        atomic_fetch_add(&r->race_events, 1);
}

static void *racing_worker(void *arg) {
    struct racer *r = (struct racer *)arg;
    r->got = fa_frame_alloc(r->a, 64);
    return NULL;
}

static void a_worker_allocating_while_its_frame_ends_is_reported(void **state) {
    (void)state;
    if (FA_MINIMAL) /* no statistics or budgets to see */
        skip();
    struct racer r = {0};
    r.driver = pthread_self();
    pthread_barrier_init(&r.step, NULL, 2);
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.frame_mode = FA_FRAMES_SHARED;
    cfg.debug = FA_DEBUG_GUARD;
    cfg.frame_budget_soft = 1;
    cfg.on_event = race_event;
    cfg.event_user = &r;
    r.a = fa_create(&cfg);
    assert_non_null(r.a);
    assert_int_equal(fa_begin_frame(r.a), FA_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, racing_worker, &r), 0);
    pthread_barrier_wait(&r.step);
    assert_int_equal(fa_end_frame(r.a), FA_OK);
    pthread_barrier_wait(&r.step);
    pthread_join(t, NULL);
    assert_non_null(r.got);
    assert_int_equal(atomic_load(&r.race_events), 1);
    pthread_barrier_destroy(&r.step);
    fa_destroy(r.a);
}

/* ---- transfers and promotion --------------------------------------------- */

struct receiver {
    fa_alloc   *a;
    fa_transfer t;
    int         alive;
    void       *got;
};

static void *receive(void *arg) {
    struct receiver *r = (struct receiver *)arg;
    r->alive = fa_transfer_alive(r->a, &r->t);
    r->got = fa_transfer_get(r->a, &r->t);
    return NULL;
}

static struct receiver ask_other_thread(fa_alloc *a, fa_transfer t) {
    struct receiver r = {a, t, -1, NULL};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, receive, &r), 0);
    pthread_join(th, NULL);
    return r;
}

static void a_transfer_lives_as_long_as_its_frame(void **state) {
    (void)state;
    for (unsigned n = 1; n <= 3; n++) {
        struct rig r;
        rig_open(&r, n, FA_FRAMES_PER_THREAD, FA_DEBUG_OFF);
        assert_int_equal(fa_begin_frame(r.a), FA_OK);
        char *p = (char *)fa_frame_alloc(r.a, 64);
        fa_transfer t = fa_transfer_make(r.a, p + 8, 32);
        assert_ptr_equal(t.ptr, p + 8);
        assert_int_equal(t.frame, 1);
        struct receiver got = ask_other_thread(r.a, t);
        assert_int_equal(got.alive, 1);
        assert_ptr_equal(got.got, p + 8);
        for (unsigned k = 1; k <= n; k++) { /* alive until the end of frame 1 + n - 1 */
            if (k > 1)
                assert_int_equal(fa_begin_frame(r.a), FA_OK);
            assert_int_equal(fa_transfer_alive(r.a, &t), 1);
            assert_int_equal(fa_end_frame(r.a), FA_OK);
        }
        got = ask_other_thread(r.a, t);
        assert_int_equal(got.alive, 0);
        assert_null(got.got);
        assert_int_equal(r.ev.last, FA_ERR_STATE);
        assert_non_null(strstr(r.ev.message, "dead transfer"));
        rig_close(&r);
    }
}

static void a_transfer_of_memory_not_in_the_frame_is_refused(void **state) {
    struct fixture *f = fixture_of(state);
    int local = 0;
    fa_transfer t = fa_transfer_make(f->a, &local, 4);
    assert_int_equal(fa_last_error(), FA_ERR_STATE); /* not in a frame */
    assert_null(t.ptr);
    assert_int_equal(fa_transfer_alive(f->a, &t), 0);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    char *p = (char *)fa_frame_alloc(f->a, 16);
    t = fa_transfer_make(f->a, &local, 4);
    assert_int_equal(fa_last_error(), FA_ERR_FOREIGN);
    assert_null(t.ptr);
    t = fa_transfer_make(f->a, p, 4096); /* runs past what was allocated */
    assert_int_equal(fa_last_error(), FA_ERR_FOREIGN);
    assert_null(fa_transfer_get(f->a, &t));
    assert_int_equal(fa_transfer_alive(f->a, NULL), 0);
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

static void *transfer_then_exit(void *arg) {
    struct receiver *r = (struct receiver *)arg;
    fa_begin_frame(r->a);
    r->t = fa_transfer_make(r->a, fa_frame_alloc(r->a, 40), 40);
    return NULL; /* exits inside its frame */
}

static void a_transfer_dies_with_its_thread(void **state) {
    struct fixture *f = fixture_of(state);
    struct receiver r = {f->a, {0}, 0, NULL};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, transfer_then_exit, &r), 0);
    pthread_join(th, NULL);
    assert_non_null(r.t.ptr);
    assert_int_equal(fa_transfer_alive(f->a, &r.t), 0);
}

static void promotion_keeps_bytes_and_alignment(void **state) {
    struct fixture *f = fixture_of(state);
    assert_int_equal(fa_tag_push(f->a, "kept"), FA_OK);
    size_t sizes[] = {1, 24, 100, 4096, 10000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        unsigned char *p = (unsigned char *)fa_frame_alloc(f->a, sizes[i]);
        for (size_t k = 0; k < sizes[i]; k++)
            p[k] = (unsigned char)(k * 7 + i);
        unsigned char *q = (unsigned char *)fa_frame_promote(f->a, p, sizes[i]);
        assert_non_null(q);
        assert_memory_equal(p, q, sizes[i]);
        size_t natural = sizes[i] & (~sizes[i] + 1);
        natural = natural > _Alignof(max_align_t) ? _Alignof(max_align_t) : natural;
        assert_int_equal((uintptr_t)q % natural, 0);
        unsigned char *aligned = (unsigned char *)fa_frame_promote_aligned(f->a, p, sizes[i], 256);
        assert_non_null(aligned);
        assert_int_equal((uintptr_t)aligned % 256, 0);
        assert_memory_equal(p, aligned, sizes[i]);
        assert_int_equal(fa_pool_free(f->a, q), FA_OK);
        assert_int_equal(fa_pool_free(f->a, aligned), FA_OK);
    }
    unsigned char *p = (unsigned char *)fa_frame_alloc(f->a, 64);
    memset(p, 0x5a, 64);
    unsigned char *kept = (unsigned char *)fa_frame_promote(f->a, p, 64);
    assert_int_equal(fa_tag_pop(f->a), FA_OK);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
    for (int k = 0; k < 64; k++) /* it outlives the frame */
        assert_int_equal(kept[k], 0x5a);
    if (!FA_MINIMAL) {
        fa_stats *st = stats(f->a);
        assert_int_equal(st->tags[1].pool.live_bytes, 64); /* charged to "kept" */
        free(st);
    }
    assert_int_equal(fa_pool_free(f->a, kept), FA_OK);
}

static void promotion_of_other_memory_is_foreign(void **state) {
    struct fixture *f = fixture_of(state);
    int local = 0;
    assert_null(fa_frame_promote(f->a, &local, sizeof local));
    assert_int_equal(fa_last_error(), FA_ERR_FOREIGN);
    char *p = (char *)fa_frame_alloc(f->a, 16);
    assert_null(fa_frame_promote(f->a, p, 1 << 20));
    assert_int_equal(fa_last_error(), FA_ERR_FOREIGN);
    assert_null(fa_frame_promote_aligned(f->a, p, 16, 3));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_null(fa_frame_promote(NULL, p, 16));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
}

/* A frame in flight may still be promoted; a released one is foreign. */
static void promotion_reaches_frames_in_flight(void **state) {
    (void)state;
    struct rig r;
    rig_open(&r, 2, FA_FRAMES_PER_THREAD, FA_DEBUG_OFF);
    assert_int_equal(fa_begin_frame(r.a), FA_OK);
    char *p = (char *)fa_frame_alloc(r.a, 48);
    memset(p, 9, 48);
    assert_int_equal(fa_end_frame(r.a), FA_OK);
    assert_int_equal(fa_begin_frame(r.a), FA_OK);
    char *q = (char *)fa_frame_promote(r.a, p, 48);
    assert_non_null(q);
    assert_int_equal(q[47], 9);
    assert_int_equal(fa_end_frame(r.a), FA_OK);
    assert_int_equal(fa_begin_frame(r.a), FA_OK);
    assert_null(fa_frame_promote(r.a, p, 48));
    assert_int_equal(fa_last_error(), FA_ERR_FOREIGN);
    assert_int_equal(fa_end_frame(r.a), FA_OK);
    assert_int_equal(fa_pool_free(r.a, q), FA_OK);
    rig_close(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_memory_lives_n_frames),
        cmocka_unit_test(frame_memory_lives_n_frames_at_the_debug_levels),
        cmocka_unit_test(released_frames_are_recycled),
        cmocka_unit_test(frames_in_flight_stay_charged),
        cmocka_unit_test(marks_stay_within_the_current_frame),
        cmocka_unit_test(bad_settings_are_refused),
        cmocka_unit_test(a_thread_leaving_with_frames_in_flight_gives_them_back),
        cmocka_unit_test(only_the_creating_thread_begins_and_ends_shared_frames),
        cmocka_unit_test(workers_follow_the_driving_threads_frames),
        cmocka_unit_test(a_barrier_ends_each_shared_frame),
        cmocka_unit_test(a_barrier_is_reusable_without_lost_wakeups),
        cmocka_unit_test(a_worker_allocating_while_its_frame_ends_is_reported),
        cmocka_unit_test(a_transfer_lives_as_long_as_its_frame),
        FIXTURE_TEST(a_transfer_of_memory_not_in_the_frame_is_refused),
        FIXTURE_TEST(a_transfer_dies_with_its_thread),
        FRAME_FIXTURE_TEST(promotion_keeps_bytes_and_alignment),
        FRAME_FIXTURE_TEST(promotion_of_other_memory_is_foreign),
        cmocka_unit_test(promotion_reaches_frames_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
