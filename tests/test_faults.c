/* SPDX-License-Identifier: MIT */
/* Fault loops (issue #11), after SQLite's out-of-memory loop: a scripted
 * workload runs once to learn R, the number of requests it makes of its
 * memory source; then, for every N in 1..R, once with request N refused and
 * once with every request from N on refused. Each refusal must be a clean
 * NULL with FA_ERR_NOMEM and one event of that code, nothing may leak, and
 * once the refusals stop the same workload must succeed in full. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)
#define COUNT(array) (sizeof(array) / sizeof *(array))

enum {
    FRAMES = 4,      /* frames of the creating thread */
    POOL_KEPT = 70,  /* pool blocks each frame keeps, freed two frames later */
    HEAP_KEPT = 3,   /* heap-path blocks each frame keeps, freed a frame later */
    WORKER_LEFT = 16 /* pool blocks the worker leaves live when it exits */
};

/* Five classes, the largest most: 16 of its blocks fill a 64 KiB slab, so
 * it takes several slabs a frame. */
static const size_t pool_sizes[] = {24, 200, 1000, 2000, 4096, 4096, 4096};

/* What the workload's calls did, kept by whichever of its two threads is
 * running (never both at once: the main thread waits for the worker). */
struct probe {
    fa_alloc      *a;
    struct events *ev;
    int            errors_seen; /* error events accounted for so far */
    int            failed;      /* allocations refused cleanly */
    int            wrong;       /* calls that failed otherwise, or not cleanly */
    const char    *first_wrong;
};

struct script {
    struct probe pr;
    int          stats_on, budgets_on; /* off in a minimal build */
    void        *pool[FRAMES][POOL_KEPT];
    void        *heap[FRAMES][HEAP_KEPT];
    void        *worker_pool[WORKER_LEFT];
    void        *worker_heap;
};

/* The error events (warnings of soft budgets aside) since the last look,
 * and the newest event. */
static int new_errors(struct probe *pr, fa_error *last, size_t *last_size) {
    pthread_mutex_lock(&pr->ev->lock);
    int errors = pr->ev->count - pr->ev->warnings;
    *last = pr->ev->last;
    *last_size = pr->ev->last_size;
    pthread_mutex_unlock(&pr->ev->lock);
    int fresh = errors - pr->errors_seen;
    pr->errors_seen = errors;
    return fresh;
}

static void note_wrong(struct probe *pr, const char *what) {
    if (pr->wrong++ == 0)
        pr->first_wrong = what;
}

/* An allocation of `size` bytes: NULL with FA_ERR_NOMEM as this thread's
 * last error and exactly one event, of that code and size; or memory (its
 * ends written, for the sanitizers and valgrind to check) and no event. */
static void *checked(struct probe *pr, void *p, size_t size, const char *what) {
    fa_error last;
    size_t last_size;
    int errors = new_errors(pr, &last, &last_size);
    if (p == NULL) {
        pr->failed++;
        if (fa_last_error() != FA_ERR_NOMEM || errors != 1 || last != FA_ERR_NOMEM || last_size != size)
            note_wrong(pr, what);
        return NULL;
    }
    if (errors != 0)
        note_wrong(pr, what);
    ((unsigned char *)p)[0] = 0xa5;
    ((unsigned char *)p)[size - 1] = 0x5a;
    return p;
}

/* Every other call of the workload succeeds under any rule: none of them
 * asks the memory source for anything (thread states, a path's pools and
 * caches, frame spans and snapshot sums are malloc'd, which the failing
 * source does not see; frees only give back). */
static void succeeded(struct probe *pr, fa_error e, const char *what) {
    fa_error last;
    size_t last_size;
    if (e != FA_OK || new_errors(pr, &last, &last_size) != 0)
        note_wrong(pr, what);
}

/* ---- the workload ------------------------------------------------------- */

static void set_budgets(struct script *s) {
    if (!s->budgets_on)
        return;
    struct probe *pr = &s->pr;
    succeeded(pr, fa_budget_set(pr->a, NULL, 0, 256 * MIB), "fa_budget_set: global");
    succeeded(pr, fa_budget_set(pr->a, "render", 256 * KIB, 64 * MIB), "fa_budget_set: render");
    succeeded(pr, fa_frame_budget_set(pr->a, MIB, 32 * MIB), "fa_frame_budget_set");
}

static void frame_bytes(struct probe *pr, int count, size_t step, const char *what) {
    for (int i = 0; i < count; i++) {
        size_t size = (size_t)(i % 6 + 1) * step;
        checked(pr, fa_frame_alloc(pr->a, size), size, what);
    }
}

/* Frame memory growing across chunks, a dedicated chunk, and rewinds to a
 * mark inside the frame and to its start, which hand chunks back (the
 * cache keeps none), each followed by more. */
static void frame_work(struct probe *pr, int frame) {
    fa_mark start = fa_frame_mark(pr->a);
    frame_bytes(pr, 12, 4 * KIB, "fa_frame_alloc: growing across chunks");
    fa_mark middle = fa_frame_mark(pr->a);
    frame_bytes(pr, 12, 6 * KIB, "fa_frame_alloc: growing across chunks");
    checked(pr, fa_frame_calloc(pr->a, 1000, 48), 48000, "fa_frame_calloc");
    size_t oversize = 2 * MIB + (size_t)frame * KIB;
    checked(pr, fa_frame_alloc_aligned(pr->a, oversize, 4096), oversize,
            "fa_frame_alloc_aligned: a dedicated chunk");
    succeeded(pr, fa_frame_rewind(pr->a, middle), "fa_frame_rewind to a mark inside the frame");
    frame_bytes(pr, 6, 8 * KIB, "fa_frame_alloc: after a rewind");
    succeeded(pr, fa_frame_rewind(pr->a, start), "fa_frame_rewind to the frame's start");
    frame_bytes(pr, 6, 8 * KIB, "fa_frame_alloc: after a rewind");
}

static void free_pool(struct probe *pr, void *p) {
    succeeded(pr, fa_pool_free(pr->a, p), "fa_pool_free");
}

/* Pool blocks of five classes (new slabs), kept two frames; heap blocks,
 * one aligned to 64 KiB and one through the pool call, kept one frame. */
static void block_work(struct script *s, int frame) {
    struct probe *pr = &s->pr;
    if (frame >= 2)
        for (int i = 0; i < POOL_KEPT; i++)
            free_pool(pr, s->pool[frame - 2][i]);
    for (int i = 0; i < POOL_KEPT; i++) {
        size_t size = pool_sizes[(size_t)i % COUNT(pool_sizes)];
        s->pool[frame][i] = checked(pr, fa_pool_alloc(pr->a, size), size, "fa_pool_alloc: a refill");
    }
    if (frame >= 1) {
        succeeded(pr, fa_heap_free(pr->a, s->heap[frame - 1][0]), "fa_heap_free");
        free_pool(pr, s->heap[frame - 1][1]);
        succeeded(pr, fa_heap_free(pr->a, s->heap[frame - 1][2]), "fa_heap_free");
    }
    size_t big = 100 * KIB + (size_t)frame;
    s->heap[frame][0] = checked(pr, fa_heap_alloc(pr->a, big, 64 * KIB), big,
                                "fa_heap_alloc: 64 KiB aligned");
    s->heap[frame][1] = checked(pr, fa_pool_alloc(pr->a, 5000), 5000, "fa_pool_alloc: above the classes");
    s->heap[frame][2] = checked(pr, fa_heap_alloc(pr->a, 300 * KIB, 16), 300 * KIB, "fa_heap_alloc");
}

/* A second thread: a new path's first push there, frame memory across
 * chunks, pool and heap blocks; it exits in a frame, its tag pushed and
 * some blocks live, which the main thread frees later. */
static void *worker(void *arg) {
    struct script *s = (struct script *)arg;
    struct probe *pr = &s->pr;
    succeeded(pr, fa_tag_push(pr->a, "worker"), "worker: fa_tag_push of a new path");
    succeeded(pr, fa_begin_frame(pr->a), "worker: fa_begin_frame");
    frame_bytes(pr, 12, 4 * KIB, "worker: fa_frame_alloc");
    void *freed_here[WORKER_LEFT];
    for (int i = 0; i < WORKER_LEFT; i++) {
        s->worker_pool[i] = checked(pr, fa_pool_alloc(pr->a, 4096), 4096, "worker: fa_pool_alloc");
        freed_here[i] = checked(pr, fa_pool_alloc(pr->a, 64), 64, "worker: fa_pool_alloc");
    }
    s->worker_heap = checked(pr, fa_heap_alloc(pr->a, 70 * KIB, 64 * KIB), 70 * KIB, "worker: fa_heap_alloc");
    for (int i = 0; i < WORKER_LEFT; i++)
        free_pool(pr, freed_here[i]);
    succeeded(pr, fa_end_frame(pr->a), "worker: fa_end_frame");
    succeeded(pr, fa_begin_frame(pr->a), "worker: fa_begin_frame");
    checked(pr, fa_frame_alloc(pr->a, 100 * KIB), 100 * KIB, "worker: fa_frame_alloc");
    return NULL;
}

static void worker_run(struct script *s) {
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, worker, s), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    for (int i = 0; i < WORKER_LEFT; i++)
        free_pool(&s->pr, s->worker_pool[i]); /* into slabs no thread owns */
    succeeded(&s->pr, fa_heap_free(s->pr.a, s->worker_heap), "fa_heap_free of the worker's block");
}

static void snapshot(struct script *s) {
    if (!s->stats_on)
        return;
    fa_stats *st = (fa_stats *)calloc(1, sizeof *st);
    assert_non_null(st);
    succeeded(&s->pr, fa_stats_get(s->pr.a, st), "fa_stats_get");
    free(st);
}

/* Under "render", a new path in most frames: a path has pools of its own,
 * so those frames take new slabs rather than reuse the freed blocks. */
static const char *const subpaths[FRAMES] = {NULL, "shadows", "ui", "hud"};

static void one_frame(struct script *s, int frame) {
    struct probe *pr = &s->pr;
    int nested = subpaths[frame] != NULL;
    succeeded(pr, fa_begin_frame(pr->a), "fa_begin_frame");
    succeeded(pr, fa_tag_push(pr->a, "render"), "fa_tag_push");
    if (nested)
        succeeded(pr, fa_tag_push(pr->a, subpaths[frame]), "fa_tag_push of a new path");
    frame_work(pr, frame);
    block_work(s, frame);
    if (frame % 2 == 1) /* the second worker adopts the first one's slabs */
        worker_run(s);
    if (frame == 2)
        snapshot(s);
    for (int i = 0; i <= nested; i++)
        succeeded(pr, fa_tag_pop(pr->a), "fa_tag_pop");
    succeeded(pr, fa_end_frame(pr->a), "fa_end_frame");
}

/* The whole script; everything it allocates is freed by its end. */
static void run_script(struct script *s) {
    memset(s->pool, 0, sizeof s->pool);
    memset(s->heap, 0, sizeof s->heap);
    set_budgets(s);
    for (int frame = 0; frame < FRAMES; frame++)
        one_frame(s, frame);
    for (int frame = FRAMES - 2; frame < FRAMES; frame++)
        for (int i = 0; i < POOL_KEPT; i++)
            free_pool(&s->pr, s->pool[frame][i]);
    succeeded(&s->pr, fa_heap_free(s->pr.a, s->heap[FRAMES - 1][0]), "fa_heap_free");
    free_pool(&s->pr, s->heap[FRAMES - 1][1]);
    succeeded(&s->pr, fa_heap_free(s->pr.a, s->heap[FRAMES - 1][2]), "fa_heap_free");
    /* A frame end hands the thread's budget headroom back: the budgets then
     * count only what is live. */
    succeeded(&s->pr, fa_begin_frame(s->pr.a), "fa_begin_frame");
    succeeded(&s->pr, fa_end_frame(s->pr.a), "fa_end_frame");
    succeeded(&s->pr, fa_trim(s->pr.a), "fa_trim");
}

/* ---- one run under one rule ---------------------------------------------- */

struct rule {
    fa_fail_mode mode;
    size_t       n;
};

static const char *mode_name(fa_fail_mode mode) {
    static const char *const names[] = {"FA_FAIL_NEVER", "FA_FAIL_EVERY_NTH", "FA_FAIL_NTH_ONCE",
                                        "FA_FAIL_AFTER_BYTES", "FA_FAIL_FROM_NTH"};
    return names[mode];
}

/* Fails the test naming the rule, so that the run can be replayed. */
static void require(int ok, struct rule r, const char *what) {
    if (!ok)
        fail_msg("%s n=%zu: %s", mode_name(r.mode), r.n, what);
}

static void require_clean(const struct probe *pr, struct rule r) {
    if (pr->wrong != 0)
        fail_msg("%s n=%zu: %d calls went wrong, the first: %s", mode_name(r.mode), r.n, pr->wrong,
                 pr->first_wrong);
}

/* With every block freed and every frame ended, neither the statistics
 * nor the budgets count anything: no failure left a charge behind. */
static void require_nothing_live(const struct script *s, struct rule r) {
    if (!s->stats_on)
        return;
    fa_stats *st = stats_of(s->pr.a);
    assert_non_null(st);
    require(st->total.live_bytes == 0, r, "live bytes left after everything was freed");
    if (s->budgets_on) {
        int render = tag_index(st, "render");
        assert_true(render > 0);
        require(st->global_budget.reserved == 0 && st->tags[render].budget.reserved == 0, r,
                "a budget still counts bytes after everything was freed");
    }
    free(st);
}

/* What the source saw of the faulted workload. */
struct tally {
    uint64_t requests, failures;
};

static struct tally run_under(struct rule r) {
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    fa_backend failing;
    assert_int_equal(fa_source_failing(&failing, cfg.backend, r.mode, r.n), FA_OK);
    cfg.backend = failing;
    cfg.chunk_cache_limit = 1; /* chunks and empty slabs go back at once, */
    cfg.slab_reserve = 1;      /* so that the workload asks for them again */
    struct script *s = (struct script *)calloc(1, sizeof *s);
    assert_non_null(s);
    s->pr.a = fa_create(&cfg);
    assert_non_null(s->pr.a);
    s->pr.ev = &ev;
    s->stats_on = !(cfg.disable & FA_DISABLE_STATS);
    s->budgets_on = !(cfg.disable & FA_DISABLE_BUDGETS);

    run_script(s);
    require_clean(&s->pr, r);
    fa_source_info info;
    assert_int_equal(fa_source_info_get(&failing, &info), FA_OK);
    /* The library neither retries nor hides a refusal: each is one failed call. */
    require(info.failures == (uint64_t)s->pr.failed, r, "refused requests and failed calls differ");
    require_nothing_live(s, r);

    assert_int_equal(fa_source_failing_set(&failing, FA_FAIL_NEVER, 0), FA_OK);
    s->pr.failed = 0;
    run_script(s); /* the allocator works afterwards */
    require_clean(&s->pr, r);
    require(s->pr.failed == 0, r, "an allocation failed once the refusals stopped");
    require_nothing_live(s, r);

    fa_destroy(s->pr.a);
    free(s);
    require(c.bytes_out == 0 && c.frees == c.allocs, r, "memory not given back to the source");
    fa_source_destroy(&failing);
    return (struct tally){info.requests, info.failures};
}

/* ---- the rule on its own ------------------------------------------------ */

static int refused(const fa_backend *b) {
    void *p = NULL;
    if (b->allocate(b->ctx, 64, 16, &p) != FA_BACKEND_OK)
        return 1;
    b->deallocate(b->ctx, p, 64, 16);
    return 0;
}

/* The rule the loop below needs, on the source alone: memory that has run
 * out stays out until the rule changes. */
static void the_from_nth_rule(void **state) {
    (void)state;
    fa_backend b;
    assert_int_equal(fa_source_failing(&b, fa_backend_system(), FA_FAIL_FROM_NTH, 3), FA_OK);
    int pattern = 0;
    for (int i = 0; i < 6; i++)
        pattern = pattern * 2 + refused(&b);
    assert_int_equal(pattern, 0x0f); /* 001111 */
    assert_int_equal(fa_source_failing_set(&b, FA_FAIL_FROM_NTH, 0), FA_OK);
    assert_true(refused(&b)); /* n 0, like n 1: from the first request on */
    assert_int_equal(fa_source_failing_set(&b, FA_FAIL_NEVER, 0), FA_OK);
    assert_false(refused(&b));
    fa_source_info info;
    assert_int_equal(fa_source_info_get(&b, &info), FA_OK);
    assert_int_equal(info.failures, 4 + 1);
    fa_source_destroy(&b);
}

/* ---- the loops ----------------------------------------------------------- */

/* Runs the rule for every N in 1..R, R learnt from a run without refusals. */
static void every_request(fa_fail_mode mode) {
    struct tally baseline = run_under((struct rule){FA_FAIL_NEVER, 0});
    assert_true(baseline.requests > 0);
    assert_int_equal(baseline.failures, 0);
    uint64_t faults = 0;
    for (size_t n = 1; n <= baseline.requests; n++) {
        struct tally t = run_under((struct rule){mode, n});
        /* Up to request N the run is the baseline's, so request N is made. */
        require(mode == FA_FAIL_NTH_ONCE ? t.failures == 1 : t.failures >= 1, (struct rule){mode, n},
                "request N was never made: the workload is not deterministic");
        faults += t.failures;
    }
    print_message("%s: R = %llu requests, %llu faults injected\n", mode_name(mode),
                  (unsigned long long)baseline.requests, (unsigned long long)faults);
}

static void only_the_nth_request_fails(void **state) {
    (void)state;
    every_request(FA_FAIL_NTH_ONCE);
}

static void every_request_from_the_nth_on_fails(void **state) {
    (void)state;
    every_request(FA_FAIL_FROM_NTH);
}

/* The other rules, each refusing at least once within the workload. */
static void run_biting(struct rule r) {
    require(run_under(r).failures > 0, r, "the rule refused nothing");
}

static void every_nth_request_fails(void **state) {
    (void)state;
    for (size_t n = 2; n <= 9; n++)
        run_biting((struct rule){FA_FAIL_EVERY_NTH, n});
}

static void a_byte_limit(void **state) {
    (void)state;
    /* The workload holds over 3 MiB at its peak: each of these limits bites. */
    for (size_t limit = 512 * KIB; limit <= 3 * MIB; limit += 512 * KIB)
        run_biting((struct rule){FA_FAIL_AFTER_BYTES, limit});
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_from_nth_rule),
        cmocka_unit_test(only_the_nth_request_fails),
        cmocka_unit_test(every_request_from_the_nth_on_fails),
        cmocka_unit_test(every_nth_request_fails),
        cmocka_unit_test(a_byte_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
