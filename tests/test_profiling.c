/* SPDX-License-Identifier: MIT */
/* Profiling (src/profile.c, src/observe.c, src/trace.c, src/site_table.c):
 * hot sites exact at a sample of every byte and close to the truth at a
 * sparser one, the threshold query, bandwidth from known byte counts per
 * frame, per-thread and per-tag metrics against hand counts, the profiler
 * hooks, and the trace file's events and errors. tests/check_trace.py
 * checks the trace this suite leaves as JSON (ctest trace_json). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "helpers.h"

static fa_alloc *create(size_t sample_bytes, const fa_hooks *hooks) {
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.site_sample_bytes = sample_bytes;
    if (hooks != NULL)
        cfg.hooks = *hooks;
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    return a;
}

/* Three call sites, each its own function making one call, so that each
 * has one return address: a loop around the call could be unrolled into
 * several, and a tail call would return into the loop (the empty asm after
 * the call keeps it a call). */
#define ONE_SITE(call)                                                                                     \
    void *p = (call);                                                                                      \
    __asm__ volatile("" : : "r"(p) : "memory");                                                           \
    return p
static __attribute__((noinline)) void *pool_site(fa_alloc *a, size_t size) {
    ONE_SITE(fa_pool_alloc(a, size));
}
static __attribute__((noinline)) void *frame_site(fa_alloc *a, size_t size) {
    ONE_SITE(fa_frame_alloc(a, size));
}
static __attribute__((noinline)) void *heap_site(fa_alloc *a, size_t size) {
    ONE_SITE(fa_heap_alloc(a, size, 16));
}

/* n allocations of size bytes from each. */
static void from_pools(fa_alloc *a, void **keep, int n, size_t size) {
    for (int i = 0; i < n; i++)
        assert_non_null(keep[i] = pool_site(a, size));
}
static void from_frame(fa_alloc *a, int n, size_t size) {
    for (int i = 0; i < n; i++)
        assert_non_null(frame_site(a, size));
}
static void from_heap(fa_alloc *a, void **keep, int n, size_t size) {
    for (int i = 0; i < n; i++)
        assert_non_null(keep[i] = heap_site(a, size));
}

static const fa_site *site_with(const fa_site *s, size_t n, uint64_t count) {
    for (size_t i = 0; i < n; i++)
        if (s[i].count == count)
            return &s[i];
    return NULL;
}

/* At a sample of every byte each allocation is counted where it was made. */
static void sites_exact_on_a_script(void **state) {
    (void)state;
    fa_alloc *a = create(1, NULL);
    void *pools[30], *heaps[3];
    assert_int_equal(fa_begin_frame(a), FA_OK);
    from_pools(a, pools, 30, 48);  /* 30 x 48 = 1440 bytes */
    from_frame(a, 200, 100);       /* 200 x 100 = 20000 bytes */
    from_heap(a, heaps, 3, 10000); /* 3 x 10000 = 30000 bytes */
    assert_int_equal(fa_end_frame(a), FA_OK);
    fa_site s[8];
    assert_int_equal(fa_sites_get(a, s, 8, 0.0), 3);
    assert_int_equal(s[0].count, 3); /* the most bytes first: the heap site */
    assert_int_equal(s[0].bytes, 30000);
    assert_int_equal(s[1].count, 200);
    assert_int_equal(s[1].bytes, 20000);
    assert_int_equal(s[2].count, 30);
    assert_int_equal(s[2].bytes, 1440);
    assert_int_equal(s[2].samples, 30);
    assert_true(s[0].site != s[1].site && s[1].site != s[2].site && s[2].site != NULL);
    assert_true(s[1].average == 100.0 && s[2].average == 48.0);
    assert_true(s[0].share > 0.58 && s[0].share < 0.59); /* 30000 / 51440 */
    assert_null(s[0].backtrace); /* only FA_DEBUG_TRACE keeps them */

    /* the threshold: only the sites with at least a third of the bytes */
    assert_int_equal(fa_sites_get(a, s, 8, 1.0 / 3.0), 2);
    assert_non_null(site_with(s, 2, 200));
    assert_int_equal(fa_sites_get(a, NULL, 0, 0.5), 1); /* a count needs no room */

    assert_int_equal(fa_sites_reset(a), FA_OK);
    assert_int_equal(fa_sites_get(a, s, 8, 0.0), 0);
    for (int i = 0; i < 30; i++)
        assert_int_equal(fa_pool_free(a, pools[i]), FA_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(fa_heap_free(a, heaps[i]), FA_OK);
    fa_destroy(a);
}

/* At FA_DEBUG_TRACE a site keeps its first sample's backtrace, which
 * starts at the site itself. */
static void sites_keep_a_backtrace_at_trace_level(void **state) {
    (void)state;
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.site_sample_bytes = 1;
    cfg.debug = FA_DEBUG_TRACE;
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    void *p[2];
    from_pools(a, p, 2, 32);
    fa_site s[2];
    assert_int_equal(fa_sites_get(a, s, 2, 0.0), 1);
    assert_int_equal(s[0].count, 2);
    assert_non_null(s[0].backtrace);
    assert_true(s[0].depth >= 2);
    assert_ptr_equal(s[0].backtrace[0], s[0].site);
    for (int i = 0; i < 2; i++)
        assert_int_equal(fa_pool_free(a, p[i]), FA_OK);
    fa_destroy(a);
}

/* A sparser sample estimates: about one sample per 4096 bytes, each
 * standing for 4096 bytes (an allocation larger than that for itself). */
static void sites_sampled_estimate_the_bytes(void **state) {
    (void)state;
    fa_alloc *a = create(4096, NULL);
    fa_arena *ar = fa_arena_get(a);
    for (int f = 0; f < 10; f++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        for (int i = 0; i < 1000; i++) /* the inline path: it stops at each sample point */
            assert_non_null(fa_arena_alloc(ar, 64));
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
    fa_site s[4];
    assert_int_equal(fa_sites_get(a, s, 4, 0.0), 1);
    /* 640,000 bytes: 156 samples expected, each gap uniform in [2048, 6144) */
    assert_in_range(s[0].samples, 130, 185);
    assert_int_equal(s[0].bytes, s[0].samples * 4096);
    assert_int_equal(s[0].count, s[0].samples * 64);
    fa_destroy(a);
}

static void sites_off_and_bad_arguments(void **state) {
    (void)state;
    fa_alloc *a = create(0, NULL);
    fa_site s[2];
    assert_int_equal(fa_sites_get(a, s, 2, 0.0), 0);
    assert_int_equal(fa_last_error(), FA_ERR_STATE);
    assert_int_equal(fa_sites_reset(a), FA_ERR_STATE);
    assert_int_equal(fa_sites_get(NULL, s, 2, 0.0), 0);
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_int_equal(fa_sites_reset(NULL), FA_ERR_INVALID);
    fa_destroy(a);
    a = create(1, NULL);
    assert_int_equal(fa_sites_get(a, NULL, 2, 0.0), 0);
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    fa_destroy(a);
}

/* Each frame's record has the bytes recorded during it; the summary's
 * rates are those bytes over the frames' time. */
static void bandwidth_per_frame(void **state) {
    (void)state;
    fa_alloc *a = create(0, NULL);
    char src[4096], dst[4096];
    memset(src, 7, sizeof src);
    for (int f = 0; f < 4; f++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        assert_int_equal(fa_bandwidth_record(a, 1000u * (uint64_t)(f + 1), 10), FA_OK);
        if (f == 3) {
            (void)fa_bandwidth_copy(a, dst, src, sizeof src); /* + 4096 read and written */
            (void)fa_bandwidth_scan(a, dst, 100);            /* + 100 read */
        }
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
    assert_memory_equal(src, dst, sizeof src);
    fa_frame_record r[4];
    assert_int_equal(fa_history_get(a, r, 4), 4);
    assert_int_equal(r[0].read_bytes, 1000);
    assert_int_equal(r[1].read_bytes, 2000);
    assert_int_equal(r[2].write_bytes, 10);
    assert_int_equal(r[3].read_bytes, 4000 + 4096 + 100);
    assert_int_equal(r[3].write_bytes, 10 + 4096);
    uint64_t read, written, ns = 0;
    assert_int_equal(fa_bandwidth_get(a, &read, &written), FA_OK);
    assert_int_equal(read, 1000 + 2000 + 3000 + 4000 + 4096 + 100);
    assert_int_equal(written, 40 + 4096);
    fa_history_summary sum;
    assert_int_equal(fa_history_summary_get(a, &sum), FA_OK);
    for (int f = 0; f < 4; f++)
        ns += r[f].duration_ns;
    double expect = (double)read / (double)ns * 1e3;
    assert_true(sum.read_mbps > expect * 0.999999 && sum.read_mbps < expect * 1.000001);
    assert_int_equal(fa_bandwidth_record(NULL, 1, 1), FA_ERR_INVALID);
    assert_int_equal(fa_bandwidth_get(a, NULL, &written), FA_ERR_INVALID);
    assert_int_equal(fa_bandwidth_copy(a, NULL, src, 8), 0);
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_int_equal(fa_bandwidth_scan(NULL, src, 8), 0);
    fa_destroy(a);
}

/* ---- metrics --------------------------------------------------------------- */

struct worker {
    fa_alloc         *a;
    pthread_barrier_t done, leave;
};

/* 3 frames of 5 allocations of 32 bytes, then waits to be counted. */
static void *worker_frames(void *arg) {
    struct worker *w = (struct worker *)arg;
    for (int f = 0; f < 3; f++) {
        assert_int_equal(fa_begin_frame(w->a), FA_OK);
        for (int i = 0; i < 5; i++)
            assert_non_null(fa_frame_alloc(w->a, 32));
        assert_int_equal(fa_end_frame(w->a), FA_OK);
    }
    pthread_barrier_wait(&w->done);
    pthread_barrier_wait(&w->leave);
    return NULL;
}

static void thread_metrics_per_thread(void **state) {
    (void)state;
    struct worker w;
    w.a = create(0, NULL);
    pthread_barrier_init(&w.done, NULL, 2);
    pthread_barrier_init(&w.leave, NULL, 2);
    for (int f = 0; f < 2; f++) { /* the creator: 2 frames, 1 and 2 allocations of 1000 */
        assert_int_equal(fa_begin_frame(w.a), FA_OK);
        for (int i = 0; i <= f; i++)
            assert_non_null(fa_frame_alloc(w.a, 1000));
        assert_int_equal(fa_end_frame(w.a), FA_OK);
    }
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, worker_frames, &w), 0);
    pthread_barrier_wait(&w.done);
    fa_thread_metrics m[4];
    assert_int_equal(fa_thread_metrics_get(w.a, m, 4), 2);
    const fa_thread_metrics *mine = m[0].is_creator ? &m[0] : &m[1], *theirs = m[0].is_creator ? &m[1] : &m[0];
    assert_int_equal(mine->frames, 2);
    assert_int_equal(mine->allocations, 3);
    assert_int_equal(mine->bytes, 3000);
    assert_int_equal(mine->peak_frame_bytes, 2000);
    assert_true(mine->avg_bytes == 1500.0 && mine->avg_allocations == 1.5);
    assert_int_equal(theirs->frames, 3);
    assert_int_equal(theirs->allocations, 15);
    assert_int_equal(theirs->bytes, 15 * 32);
    assert_int_equal(theirs->peak_frame_bytes, 5 * 32);
    assert_true(theirs->thread != mine->thread && mine->alive && theirs->alive);
    assert_int_equal(fa_thread_metrics_get(w.a, m, 1), 2); /* the count, with room for one */
    pthread_barrier_wait(&w.leave);
    pthread_join(t, NULL);
    assert_int_equal(fa_thread_metrics_get(w.a, m, 4), 2); /* the worker left: its figures stay */
    assert_true(m[0].alive && m[0].is_creator);
    assert_true(!m[1].alive && m[1].frames == 3 && m[1].bytes == 15 * 32);
    pthread_barrier_destroy(&w.done);
    pthread_barrier_destroy(&w.leave);
    fa_destroy(w.a);
}

static void tag_metrics_over_the_history(void **state) {
    (void)state;
    fa_alloc *a = create(0, NULL);
    for (int f = 0; f < 4; f++) { /* ai: 128, 256, 384, 512; root: 64 each (no padding) */
        assert_int_equal(fa_begin_frame(a), FA_OK);
        assert_non_null(fa_frame_alloc(a, 64));
        assert_int_equal(fa_tag_push(a, "ai"), FA_OK);
        assert_non_null(fa_frame_alloc(a, 128 * (size_t)(f + 1)));
        assert_int_equal(fa_tag_pop(a), FA_OK);
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
    fa_tag_metrics t[4];
    assert_int_equal(fa_tag_metrics_get(a, t, 4), 2);
    assert_string_equal(t[0].path, "");
    assert_string_equal(t[1].path, "ai");
    assert_true(t[0].avg_bytes == 64.0 && t[1].avg_bytes == 320.0);
    assert_int_equal(t[1].peak_bytes, 512);
    assert_true(t[1].share == 1280.0 / 1536.0);
    assert_int_equal(fa_tag_metrics_get(NULL, t, 4), 0);
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    fa_destroy(a);

    fa_config cfg; /* statistics off: no metrics */
    fa_config_init(&cfg);
    cfg.disable = FA_DISABLE_ALL;
    a = fa_create(&cfg);
    assert_int_equal(fa_tag_metrics_get(a, t, 4), 0);
    assert_int_equal(fa_last_error(), FA_ERR_STATE);
    assert_int_equal(fa_thread_metrics_get(a, NULL, 0), 0);
    assert_int_equal(fa_last_error(), FA_ERR_STATE);
    fa_destroy(a);
}

/* ---- hooks ----------------------------------------------------------------- */

struct seen {
    int         allocs[2], releases[2], frames;
    size_t      bytes[2];
    const void *last;
    uint64_t    frame_bytes, frame_allocations;
};

static void saw_alloc(void *user, fa_block_kind kind, const void *p, size_t size) {
    struct seen *s = (struct seen *)user;
    s->allocs[kind]++;
    s->bytes[kind] += size;
    s->last = p;
}
static void saw_release(void *user, fa_block_kind kind, const void *p) {
    struct seen *s = (struct seen *)user;
    s->releases[kind]++;
    s->last = p;
}
static void saw_frame(void *user, const fa_frame_event *f) {
    struct seen *s = (struct seen *)user;
    s->frames++;
    s->frame_bytes = f->bytes;
    s->frame_allocations = f->allocations;
    assert_true(f->ended_ns >= f->began_ns && f->is_creator);
}

static void hooks_see_blocks_and_frames(void **state) {
    (void)state;
    struct seen s = {0};
    fa_hooks hooks = {&s, saw_alloc, saw_release, saw_frame};
    fa_alloc *a = create(0, &hooks);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    void *p = fa_pool_alloc(a, 24), *q = fa_heap_alloc(a, 100000, 64);
    fa_cache *c = fa_cache_get(a);
    void *r = fa_cache_alloc(c, 300); /* the handle's inline path gives way to the hook too */
    assert_true(p != NULL && q != NULL && r != NULL);
    assert_ptr_equal(s.last, r);
    for (int i = 0; i < 7; i++)
        assert_non_null(fa_frame_alloc(a, 10)); /* frames report totals, not each block */
    assert_int_equal(fa_end_frame(a), FA_OK);
    assert_int_equal(s.allocs[FA_BLOCK_POOL], 2);
    assert_int_equal(s.allocs[FA_BLOCK_HEAP], 1);
    assert_int_equal(s.bytes[FA_BLOCK_HEAP], 100000);
    assert_int_equal(s.frames, 1);
    assert_int_equal(s.frame_allocations, 7);
    assert_int_equal(s.frame_bytes, 70);
    assert_int_equal(fa_pool_free(a, p), FA_OK);
    assert_int_equal(fa_cache_free(c, r), FA_OK);
    assert_int_equal(fa_heap_free(a, q), FA_OK);
    assert_int_equal(s.releases[FA_BLOCK_POOL], 2);
    assert_int_equal(s.releases[FA_BLOCK_HEAP], 1);
    assert_int_equal(fa_pool_free(a, p), FA_ERR_DOUBLE_FREE); /* a refused free is not reported */
    assert_int_equal(s.releases[FA_BLOCK_POOL], 2);
    fa_destroy(a);
}

/* ---- the trace ------------------------------------------------------------- */

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

static void *traced_worker(void *arg) {
    fa_alloc *a = (fa_alloc *)arg;
    for (int f = 0; f < 3; f++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        assert_non_null(fa_frame_alloc(a, 128));
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
    return NULL;
}

/* Leaves trace.json for check_trace.py: slices of two threads, counters,
 * a budget crossing, a refusal and an error as instants. */
static void trace_records_frames_counters_and_events(void **state) {
    (void)state;
    fa_alloc *a = create(0, NULL);
    assert_int_equal(fa_trace_start(a, "trace.json"), FA_OK);
    assert_int_equal(fa_trace_start(a, "other.json"), FA_ERR_STATE);
    assert_int_equal(fa_budget_set(a, "ai", 1000, 4000), FA_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, traced_worker, a), 0);
    pthread_join(t, NULL);
    for (int f = 0; f < 5; f++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        assert_int_equal(fa_tag_push(a, "ai"), FA_OK);
        assert_non_null(fa_frame_alloc(a, 800 * (size_t)f)); /* frame 2 on: over the soft limit */
        if (f == 4)
            assert_null(fa_frame_alloc(a, 8000)); /* refused by the hard one */
        assert_int_equal(fa_tag_pop(a), FA_OK);
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
    assert_int_equal(fa_end_frame(a), FA_ERR_STATE); /* an error, as an instant */
    assert_int_equal(fa_trace_stop(a), FA_OK);
    assert_int_equal(fa_trace_stop(a), FA_ERR_STATE);
    const char *text = slurp("trace.json");
    assert_non_null(strstr(text, "\"traceEvents\":["));
    assert_non_null(strstr(text, "\"ph\":\"X\""));
    assert_non_null(strstr(text, "\"ph\":\"C\""));
    assert_non_null(strstr(text, "\"cat\":\"budget\""));
    assert_non_null(strstr(text, "\"error\":\"FA_ERR_BUDGET\""));
    assert_non_null(strstr(text, "\"error\":\"FA_ERR_STATE\""));
    assert_non_null(strstr(text, "\"ai\":"));
    assert_non_null(strstr(text, "\n]}\n"));
    fa_destroy(a);
}

static void trace_errors_and_destroy_finishes(void **state) {
    (void)state;
    fa_alloc *a = create(0, NULL);
    assert_int_equal(fa_trace_start(NULL, "x.json"), FA_ERR_INVALID);
    assert_int_equal(fa_trace_start(a, NULL), FA_ERR_INVALID);
    assert_int_equal(fa_trace_start(a, "/nonexistent-dir/trace.json"), FA_ERR_INVALID);
    assert_int_equal(fa_trace_stop(a), FA_ERR_STATE);
    assert_int_equal(fa_trace_stop(NULL), FA_ERR_INVALID);
    assert_int_equal(fa_trace_start(a, "trace-destroyed.json"), FA_OK); /* restartable after a failure */
    assert_int_equal(fa_begin_frame(a), FA_OK);
    assert_int_equal(fa_end_frame(a), FA_OK);
    fa_destroy(a); /* finishes the file */
    assert_non_null(strstr(slurp("trace-destroyed.json"), "\n]}\n"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sites_exact_on_a_script),
        cmocka_unit_test(sites_keep_a_backtrace_at_trace_level),
        cmocka_unit_test(sites_sampled_estimate_the_bytes),
        cmocka_unit_test(sites_off_and_bad_arguments),
        cmocka_unit_test(bandwidth_per_frame),
        cmocka_unit_test(thread_metrics_per_thread),
        cmocka_unit_test(tag_metrics_over_the_history),
        cmocka_unit_test(hooks_see_blocks_and_frames),
        cmocka_unit_test(trace_records_frames_counters_and_events),
        cmocka_unit_test(trace_errors_and_destroy_finishes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
