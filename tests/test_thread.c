/* SPDX-License-Identifier: MIT */
/* Per-thread state (src/thread.c): frames on many threads, isolation between
 * allocators, and reclaiming state at thread exit and at destroy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "instance.h"
#include "helpers.h"

#define THREADS 4
#define FRAMES 60

struct worker {
    fa_alloc *a;
    int       id;
    int       errors;
};

/* Each thread fills its frame memory with its own id and checks it at the
 * end of the frame: any sharing between threads would show. */
static void *run_frames(void *arg) {
    struct worker *w = (struct worker *)arg;
    enum { N = 300 };
    unsigned char *p[N];
    for (int frame = 0; frame < FRAMES; frame++) {
        w->errors += fa_begin_frame(w->a) != FA_OK;
        for (int i = 0; i < N; i++) {
            size_t size = (size_t)((i * 37 + frame) % 700) + 1;
            p[i] = (unsigned char *)fa_frame_alloc(w->a, size);
            if (p[i] == NULL) {
                w->errors++;
                continue;
            }
            memset(p[i], w->id, size);
        }
        for (int i = 0; i < N; i++)
            for (size_t k = 0; p[i] != NULL && k < (size_t)((i * 37 + frame) % 700) + 1; k++)
                w->errors += p[i][k] != w->id;
        w->errors += fa_end_frame(w->a) != FA_OK;
    }
    return NULL;
}

static void frames_on_four_threads_do_not_interfere(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    fa_alloc *a = fa_create(&cfg);
    struct worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){a, i + 1, 0};
        pthread_create(&t[i], NULL, run_frames, &w[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].errors, 0);
    }
    assert_int_equal(ev.count, 0);
    assert_int_equal(fa_frame_number(a), 0); /* no frame on the creating thread */
    fa_destroy(a);
    assert_int_equal(c.bytes_out, 0);
}

/* The Rust crate's bug: one thread-local arena shared by every instance. */
static void two_allocators_on_one_thread_are_isolated(void **state) {
    (void)state;
    fa_alloc *a = fa_create(NULL);
    fa_alloc *b = fa_create(NULL);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    assert_int_equal(fa_begin_frame(b), FA_OK); /* not nested: another allocator */
    char *pa = (char *)fa_frame_alloc(a, 1000);
    char *pb = (char *)fa_frame_alloc(b, 1000);
    memset(pa, 'a', 1000);
    memset(pb, 'b', 1000);
    assert_int_equal(fa_end_frame(a), FA_OK);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    memset(fa_frame_alloc(a, 1000), 'x', 1000); /* reuses a's memory, not b's */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(pb[i], 'b');
    fa_frame_info ia, ib;
    fa_frame_info_get(a, &ia);
    fa_frame_info_get(b, &ib);
    assert_int_equal(ia.frame, 2);
    assert_int_equal(ib.frame, 1);
    assert_int_equal(fa_end_frame(b), FA_OK);
    assert_int_equal(fa_end_frame(b), FA_ERR_STATE);
    assert_int_equal(fa_end_frame(a), FA_OK);
    fa_destroy(a);
    fa_destroy(b);
}

static void *one_frame(void *arg) {
    fa_alloc *a = (fa_alloc *)arg;
    fa_begin_frame(a);
    for (int i = 0; i < 1000; i++)
        fa_frame_alloc(a, 500); /* several chunks */
    fa_end_frame(a);
    return NULL;
}

static int thread_count(fa_alloc *a) {
    int n = 0;
    for (struct fa_node *node = a->threads.list; node != NULL; node = node->next)
        n++;
    return n;
}

/* A short-lived thread's pool blocks, allocated and freed before it exits
 * (its empty slabs go back to the backend at exit). */
static void *pool_burst_and_exit(void *arg) {
    fa_alloc *a = (fa_alloc *)arg;
    enum { N = 3000 };
    void **p = (void **)malloc(N * sizeof *p);
    for (int i = 0; p != NULL && i < N; i++)
        p[i] = fa_pool_alloc(a, (size_t)8 << (i % 6));
    for (int i = 0; p != NULL && i < N; i++)
        fa_pool_free(a, p[i]);
    free(p);
    return NULL;
}

struct steady {
    fa_alloc  *a;
    atomic_int stop;
    long       bursts, failures;
};

/* Bursts of pool blocks on their own thread, whose slabs come from the
 * backend at addresses the exiting threads' slabs just gave back. */
static void *steady_pool_bursts(void *arg) {
    struct steady *s = (struct steady *)arg;
    enum { N = 2000 };
    void **p = (void **)malloc(N * sizeof *p);
    s->failures += p == NULL;
    while (p != NULL && !atomic_load(&s->stop) && s->bursts < 10) { /* bounded: valgrind runs one thread at a time */
        for (int i = 0; i < N; i++)
            s->failures += (p[i] = fa_pool_alloc(s->a, (size_t)8 << (i % 6))) == NULL;
        for (int i = 0; i < N; i++)
            s->failures += fa_pool_free(s->a, p[i]) != FA_OK;
        fa_trim(s->a); /* its empty slabs back too */
        s->bursts++;
    }
    free(p);
    return NULL;
}

/* Threads exit and give their emptied slabs back while another thread's
 * frees look slabs up out of line, in slabs the backend hands out again at
 * the same addresses: no free fails, nothing stays live, nothing leaks.
 * (The slab map's entries are read with atomic loads: a heavier stress
 * under TSan once saw a plain read racing an exiting thread's removal.) */
static void exits_giving_slabs_back_race_no_free(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    cfg.slab_reserve = 1;      /* emptied slabs go back at once */
    cfg.site_sample_bytes = 1; /* and every pool call looks its slab up out of line */
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    struct steady s = {a, 0, 0, 0};
    pthread_t steady;
    assert_int_equal(pthread_create(&steady, NULL, steady_pool_bursts, &s), 0);
    for (int round = 0; round < 10; round++) {
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, pool_burst_and_exit, a), 0);
        assert_int_equal(pthread_join(t, NULL), 0);
    }
    atomic_store(&s.stop, 1);
    assert_int_equal(pthread_join(steady, NULL), 0);
    assert_int_equal(s.failures, 0);
    assert_true(s.bursts > 0);
    assert_int_equal(ev.count, 0);
    fa_stats *st = stats_of(a); /* NULL with statistics off: a minimal build */
    assert_true(st != NULL || !fa__stats_on(a));
    assert_true(st == NULL || (st->pool.live_bytes == 0 && st->pool.allocations == st->pool.frees));
    free(st);
    fa_destroy(a);
    assert_int_equal(c.bytes_out, 0);
}

/* Each thread's per-path rows are the config's size, and one with tags
 * off: everything is charged to the root then. */
static void per_path_rows_follow_the_config(void **state) {
    (void)state;
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.max_tags = FA_TAG_PATHS_MAX;
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    uint32_t paths = fa__tags_on(a) ? FA_TAG_PATHS_MAX : 1; /* a minimal build has tags off */
    assert_int_equal(a->threads.paths, paths);
    assert_int_equal(a->ledger->tags.max, paths);
    assert_int_equal(fa_begin_frame(a), FA_OK); /* a state with 4096 rows */
    struct fa_thread *th = fa__thread_find(&a->threads);
    assert_non_null(th);
    assert_int_equal(th->tally.paths, paths);
    assert_true(((uintptr_t)th->charge.frame_tag_bytes & 7) == 0 && ((uintptr_t)th->ctx & 7) == 0);
    assert_ptr_equal(th->ctx[FA__TAG_ROOT], &th->root_pool);
    assert_true(paths == 1 || th->ctx[paths - 1] == NULL);
    assert_int_equal(fa_end_frame(a), FA_OK);
    fa_destroy(a);

    cfg.disable = FA_DISABLE_TAGS;
    a = fa_create(&cfg);
    assert_non_null(a);
    assert_int_equal(a->threads.paths, 1);
    assert_int_equal(a->ledger->history.more_paths, 0);
    assert_int_equal(fa_tag_push(a, "ignored"), FA_OK);
    assert_non_null(fa_pool_alloc(a, 64)); /* charged to the root */
    assert_int_equal(fa_tag_pop(a), FA_OK);
    fa_destroy(a);
}

static void *frame_and_exit(void *arg) {
    fa_alloc *a = (fa_alloc *)arg;
    fa_begin_frame(a);
    fa_end_frame(a);
    return NULL;
}

/* Threads exit while fa_thread_metrics_get reads: each read lists every
 * thread once, alive or departed, never both (the live threads and the
 * departed ring are read under one hold of the registry lock). */
static void threads_exiting_during_a_read_are_listed_once(void **state) {
    (void)state;
    fa_alloc *a = fa_create(NULL);
    assert_non_null(a);
    if (!fa__stats_on(a)) { /* a minimal build keeps no metrics */
        fa_destroy(a);
        return;
    }
    enum { THREADS_MADE = 40, ROOM = THREADS_MADE + 1 };
    pthread_t t[THREADS_MADE];
    for (int i = 0; i < THREADS_MADE; i++)
        assert_int_equal(pthread_create(&t[i], NULL, frame_and_exit, a), 0);
    fa_thread_metrics m[ROOM];
    for (int round = 0; round < 200; round++) {
        size_t n = fa_thread_metrics_get(a, m, ROOM);
        assert_true(n <= THREADS_MADE);
        for (size_t i = 0; i < n; i++)
            for (size_t k = i + 1; k < n; k++)
                assert_int_not_equal(m[i].thread, m[k].thread);
    }
    for (int i = 0; i < THREADS_MADE; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(fa_thread_metrics_get(a, m, ROOM), THREADS_MADE);
    fa_destroy(a);
}

static void thread_exit_reclaims_its_state(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    fa_alloc *a = fa_create(&cfg);
    for (int round = 0; round < 10; round++) {
        pthread_t t;
        pthread_create(&t, NULL, one_frame, a);
        pthread_join(t, NULL);
        assert_int_equal(thread_count(a), 0);
    }
    /* every chunk of the exited threads is in the cache, reused round after round */
    assert_int_equal(c.bytes_out, (long)a->chunks.held_bytes);
    assert_true(c.allocs <= 6);
    fa_destroy(a);
    assert_int_equal(c.bytes_out, 0);
}

static void *pool_and_frames_then_exit(void *arg) {
    fa_alloc *a = (fa_alloc *)arg;
    void *blocks[3000];
    for (int i = 0; i < 3000; i++)
        blocks[i] = fa_pool_alloc(a, 100);
    for (int i = 0; i < 3000; i++)
        fa_pool_free(a, blocks[i]);
    one_frame(a);
    return NULL;
}

/* With nothing to keep (no reserve, no chunk cache), an exiting thread gives
 * everything back to the backend itself. */
static void thread_exit_gives_back_beyond_the_limits(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    cfg.chunk_cache_limit = 1;
    cfg.slab_reserve = 1;
    fa_alloc *a = fa_create(&cfg);
    pthread_t t;
    pthread_create(&t, NULL, pool_and_frames_then_exit, a);
    pthread_join(t, NULL);
    assert_true(c.allocs > 3);
    assert_int_equal(c.bytes_out, 0);
    fa_destroy(a);
}

struct parked {
    fa_alloc       *a;
    pthread_mutex_t lock;
    pthread_cond_t  cond;
    int             stage; /* 1: frame done, 2: may exit */
};

static void *frame_then_park(void *arg) {
    struct parked *p = (struct parked *)arg;
    fa_begin_frame(p->a);
    fa_frame_alloc(p->a, 200000); /* still in the frame when destroyed */
    pthread_mutex_lock(&p->lock);
    p->stage = 1;
    pthread_cond_broadcast(&p->cond);
    while (p->stage != 2)
        pthread_cond_wait(&p->cond, &p->lock);
    pthread_mutex_unlock(&p->lock);
    return NULL; /* exits after the allocator is gone: its exit hook has nothing left */
}

static void destroy_reclaims_live_threads_state(void **state) {
    (void)state;
    for (int overflow = 0; overflow < 2; overflow++) {
        fa_alloc *fill[FA__SLOTS];
        int filled = 0;
        while (overflow && filled < FA__SLOTS) /* take every slot: the next has none */
            fill[filled++] = fa_create(NULL);
        struct counting c;
        struct events ev;
        fa_config cfg = test_config(&c, &ev);
        struct parked p = {fa_create(&cfg), PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
        assert_int_equal(p.a->threads.slot == 0, overflow);
        pthread_t t;
        pthread_create(&t, NULL, frame_then_park, &p);
        pthread_mutex_lock(&p.lock);
        while (p.stage != 1)
            pthread_cond_wait(&p.cond, &p.lock);
        pthread_mutex_unlock(&p.lock);
        assert_true(c.bytes_out > 0);
        fa_destroy(p.a);
        assert_int_equal(c.bytes_out, 0);
        pthread_mutex_lock(&p.lock);
        p.stage = 2;
        pthread_cond_broadcast(&p.cond);
        pthread_mutex_unlock(&p.lock);
        pthread_join(t, NULL);
        while (filled > 0)
            fa_destroy(fill[--filled]);
    }
}

struct reuse {
    fa_alloc *a;
    int       ok;
};

static void *frame_on(void *arg) {
    struct reuse *r = (struct reuse *)arg;
    r->ok = fa_begin_frame(r->a) == FA_OK && fa_frame_alloc(r->a, 64) != NULL &&
            fa_end_frame(r->a) == FA_OK;
    return NULL;
}

/* A slot freed by destroy and taken by a new allocator: a thread that used
 * the old one starts afresh with the new one. */
static void slot_reuse_starts_threads_afresh(void **state) {
    (void)state;
    fa_alloc *old = fa_create(NULL);
    assert_int_equal(fa_begin_frame(old), FA_OK);
    assert_non_null(fa_frame_alloc(old, 64));
    fa_destroy(old); /* mid-frame, on this thread */
    fa_alloc *fresh = fa_create(NULL);
    assert_null(fa__tls[fresh->threads.slot].thread);
    assert_null(fa_frame_alloc(fresh, 64)); /* no frame begun on the new one */
    assert_int_equal(fa_last_error(), FA_ERR_STATE);
    struct reuse r = {fresh, 0};
    frame_on(&r);
    assert_true(r.ok);
    pthread_t t;
    pthread_create(&t, NULL, frame_on, &r);
    pthread_join(t, NULL);
    assert_true(r.ok);
    fa_destroy(fresh);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_on_four_threads_do_not_interfere),
        cmocka_unit_test(two_allocators_on_one_thread_are_isolated),
        cmocka_unit_test(thread_exit_reclaims_its_state),
        cmocka_unit_test(thread_exit_gives_back_beyond_the_limits),
        cmocka_unit_test(exits_giving_slabs_back_race_no_free),
        cmocka_unit_test(per_path_rows_follow_the_config),
        cmocka_unit_test(threads_exiting_during_a_read_are_listed_once),
        cmocka_unit_test(destroy_reclaims_live_threads_state),
        cmocka_unit_test(slot_reuse_starts_threads_afresh),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
