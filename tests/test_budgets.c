/* SPDX-License-Identifier: MIT */
/* Budgets (src/budgets.c over src/budget_table.c): hard limits never
 * passed (by racing threads neither), soft limits warned once per crossing,
 * bytes given back by frees, frame ends and rewinds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"

static void hard_limit_refuses_and_changes_nothing_else(void **state) {
    struct fixture *f = fixture_of(state);
    fa_alloc *a = f->a;
    assert_int_equal(fa_budget_set(a, NULL, 0, 4096), FA_OK);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    for (int i = 0; i < 4; i++)
        assert_non_null(fa_frame_alloc(a, 1000));
    int events = f->ev.count;
    assert_null(fa_frame_alloc(a, 1000));
    assert_int_equal(fa_last_error(), FA_ERR_BUDGET);
    assert_int_equal(f->ev.count, events + 1);
    assert_int_equal(f->ev.last, FA_ERR_BUDGET);
    assert_non_null(strstr(f->ev.message, "(global)"));
    assert_non_null(fa_frame_alloc(a, 96)); /* exactly up to the limit */
    assert_null(fa_frame_alloc_aligned(a, 1, 1));
    fa_frame_info info;
    fa_frame_info_get(a, &info);
    assert_int_equal(info.bytes, 4096);
    assert_int_equal(info.allocations, 5);

    fa_stats *st = stats_of(a);
    assert_int_equal(st->global_budget.hard, 4096);
    assert_int_equal(st->global_budget.usage, 4096);
    assert_int_equal(st->global_budget.refusals, 2);
    free(st);
    assert_int_equal(fa_end_frame(a), FA_OK);
    st = stats_of(a);
    assert_int_equal(st->global_budget.usage, 0);
    assert_int_equal(st->global_budget.reserved, 0); /* frame ends give everything back */
    free(st);
}

static void a_tag_budget_covers_its_sub_tags_only(void **state) {
    struct fixture *f = fixture_of(state);
    fa_alloc *a = f->a;
    assert_int_equal(fa_budget_set(a, "renderer", 0, 1000), FA_OK);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    fa_tag_push(a, "renderer");
    fa_tag_push(a, "shadows");
    void *p = fa_pool_alloc(a, 512);
    assert_non_null(p);
    assert_non_null(fa_frame_alloc(a, 480));
    assert_null(fa_pool_alloc(a, 16)); /* 992 + 16 */
    assert_int_equal(f->ev.last, FA_ERR_BUDGET);
    assert_string_equal(f->ev.tag, "renderer/shadows");
    assert_non_null(strstr(f->ev.message, "renderer"));
    assert_non_null(fa_frame_alloc(a, 8)); /* 1000 */
    fa_tag_pop(a);
    fa_tag_pop(a);
    assert_non_null(fa_frame_alloc(a, 4096)); /* the root is not under it */
    fa_stats *st = stats_of(a);
    int renderer = tag_index(st, "renderer");
    assert_int_equal(st->tags[renderer].budget.usage, 1000);
    assert_int_equal(st->tags[renderer].budget.refusals, 1);
    assert_int_equal(st->tags[tag_index(st, "renderer/shadows")].budget.hard, 0);
    free(st);
    assert_int_equal(fa_pool_free(a, p), FA_OK); /* freed at the root, credited to renderer */
    fa_tag_push(a, "renderer");
    assert_non_null(fa_frame_alloc(a, 512));
    fa_tag_pop(a);
    assert_int_equal(fa_end_frame(a), FA_OK);
    st = stats_of(a);
    assert_int_equal(st->tags[renderer].budget.usage, 0);
    assert_int_equal(st->tags[renderer].budget.reserved, 0);
    free(st);
}

static void soft_limit_warns_once_per_crossing(void **state) {
    struct fixture *f = fixture_of(state);
    fa_alloc *a = f->a;
    assert_int_equal(fa_budget_set(a, NULL, 1000, 0), FA_OK);
    for (int frame = 1; frame <= 2; frame++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        assert_non_null(fa_frame_alloc(a, 600));
        assert_int_equal(f->ev.warnings, frame - 1);
        assert_non_null(fa_frame_alloc(a, 600)); /* crosses */
        assert_int_equal(f->ev.warnings, frame);
        assert_int_equal(f->ev.last, FA_OK);
        assert_non_null(fa_frame_alloc(a, 600));
        assert_non_null(fa_pool_alloc(a, 8));
        assert_int_equal(f->ev.warnings, frame);
        fa_pool_free(a, fa_pool_alloc(a, 8));
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
    fa_stats *st = stats_of(a);
    assert_int_equal(st->global_budget.soft_crossings, 2);
    assert_int_equal(st->global_budget.refusals, 0);
    free(st);
    assert_int_equal(f->ev.count, f->ev.warnings); /* warnings only, no error */
}

static void frees_and_rewinds_give_bytes_back(void **state) {
    fa_alloc *a = alloc_of(state);
    assert_int_equal(fa_budget_set(a, NULL, 0, 8192), FA_OK);
    void *p = fa_pool_alloc(a, 4096), *q = fa_pool_alloc(a, 4096);
    assert_non_null(p);
    assert_non_null(q);
    assert_null(fa_pool_alloc(a, 8));
    assert_null(fa_heap_alloc(a, 1, 16));
    assert_int_equal(fa_pool_free(a, p), FA_OK);
    void *h = fa_heap_alloc(a, 4000, 16);
    assert_non_null(h);
    assert_null(fa_heap_alloc(a, 100, 16));
    assert_int_equal(fa_heap_free(a, h), FA_OK);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    fa_mark m = fa_frame_mark(a);
    assert_non_null(fa_frame_alloc(a, 4096));
    assert_null(fa_frame_alloc(a, 16));
    assert_int_equal(fa_frame_rewind(a, m), FA_OK);
    assert_non_null(fa_frame_alloc(a, 2048));
    assert_non_null(fa_frame_alloc(a, 2048));
    assert_int_equal(fa_end_frame(a), FA_OK);
    assert_int_equal(fa_pool_free(a, q), FA_OK);
    fa_stats *st = stats_of(a);
    assert_int_equal(st->global_budget.usage, 0);
    assert_int_equal(st->total.live_bytes, 0);
    free(st);
}

static void the_frame_budget_limits_each_frame(void **state) {
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    (void)state;
    cfg.frame_budget_soft = 5000;
    cfg.frame_budget_hard = 10000;
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    for (int frame = 0; frame < 2; frame++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        assert_non_null(fa_frame_alloc(a, 4000));
        assert_int_equal(ev.warnings, frame);
        assert_non_null(fa_frame_alloc(a, 2000));
        assert_int_equal(ev.warnings, frame + 1);
        assert_null(fa_frame_alloc(a, 5000));
        assert_int_equal(ev.last, FA_ERR_BUDGET);
        assert_non_null(fa_frame_alloc(a, 4000)); /* exactly 10000 */
        assert_null(fa_frame_alloc(a, 1));
        assert_non_null(fa_pool_alloc(a, 64)); /* frame memory only */
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
    assert_int_equal(fa_frame_budget_set(a, 0, 100), FA_OK);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    assert_null(fa_frame_alloc(a, 128));
    assert_non_null(fa_frame_alloc(a, 64));
    fa_stats *st = stats_of(a);
    assert_int_equal(st->frame_budget.hard, 100);
    assert_int_equal(st->frame_budget.soft_crossings, 2);
    assert_int_equal(st->frame_budget.refusals, 5);
    assert_int_equal(st->frame_budget.usage, 10000); /* the largest frame */
    free(st);
    fa_end_frame(a);
    fa_destroy(a);
}

static void a_late_budget_starts_from_live_memory(void **state) {
    fa_alloc *a = alloc_of(state);
    fa_tag_push(a, "late");
    void *p = fa_pool_alloc(a, 256);
    assert_non_null(p);
    assert_int_equal(fa_budget_set(a, "late", 0, 300), FA_OK);
    assert_null(fa_pool_alloc(a, 64));
    assert_int_equal(fa_pool_free(a, p), FA_OK);
    void *q = fa_pool_alloc(a, 256);
    assert_non_null(q);
    fa_tag_pop(a);
    fa_stats *st = stats_of(a);
    assert_int_equal(st->tags[tag_index(st, "late")].budget.usage, 256);
    free(st);
    fa_pool_free(a, q);
}

static void budget_misuse_is_reported(void **state) {
    fa_alloc *a = alloc_of(state);
    assert_int_equal(fa_budget_set(NULL, NULL, 0, 1), FA_ERR_INVALID);
    assert_int_equal(fa_frame_budget_set(NULL, 0, 1), FA_ERR_INVALID);
    assert_int_equal(fa_budget_set(a, NULL, 200, 100), FA_ERR_INVALID);
    assert_int_equal(fa_frame_budget_set(a, 200, 100), FA_ERR_INVALID);
    assert_int_equal(fa_budget_set(a, "a//b", 0, 100), FA_ERR_INVALID);
    assert_int_equal(fa_budget_set(a, "/a", 0, 100), FA_ERR_INVALID);
    char name[16];
    for (int i = 0; i < 31; i++) {
        snprintf(name, sizeof name, "b%d/x", i);
        assert_int_equal(fa_budget_set(a, name, 0, 100), FA_OK);
    }
    assert_int_equal(fa_budget_set(a, "b0/x", 10, 200), FA_OK); /* a known one changes */
    assert_int_equal(fa_budget_set(a, "one-more", 0, 100), FA_ERR_NOMEM);
    assert_int_equal(fa_budget_set(a, "", 0, 100), FA_OK); /* "" is the whole allocator */
    fa_stats *st = stats_of(a);
    assert_int_equal(st->global_budget.hard, 100);
    assert_int_equal(st->tags[tag_index(st, "b0/x")].budget.soft, 10);
    free(st);
    assert_non_null(fa_pool_alloc(a, 64)); /* still usable */
    fa_trim(a);
}

static void *frame_then_exit(void *arg) {
    fa_alloc *a = (fa_alloc *)arg;
    fa_begin_frame(a);
    fa_tag_push(a, "leaver");
    fa_frame_alloc(a, 512 << 10);
    return NULL; /* exits inside its frame, under its tag */
}

/* A thread that exits (or an allocator destroyed) inside a frame gives its
 * frame's bytes back to the budgets and the counts. */
static void a_frame_left_open_gives_its_bytes_back(void **state) {
    fa_alloc *a = alloc_of(state);
    assert_int_equal(fa_budget_set(a, NULL, 0, 1 << 20), FA_OK);
    assert_int_equal(fa_budget_set(a, "leaver", 0, 1 << 20), FA_OK);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, frame_then_exit, a), 0);
    pthread_join(t, NULL);
    fa_stats *st = stats_of(a);
    assert_int_equal(st->frame.live_bytes, 0);
    assert_int_equal(st->frame.bytes, 512 << 10);
    assert_int_equal(st->global_budget.reserved, 0);
    assert_int_equal(st->tags[tag_index(st, "leaver")].budget.reserved, 0);
    free(st);
    assert_int_equal(fa_begin_frame(a), FA_OK); /* all of it is there again */
    assert_non_null(fa_frame_alloc(a, 1 << 20));
}

/* Regressions found in review, one scenario each. */

static void *heap_until_refused(void *arg) {
    fa_alloc *a = (fa_alloc *)arg;
    while (fa_heap_alloc(a, 1024, 16) != NULL) {
    }
    return NULL; /* the blocks stay live until the allocator goes */
}

/* A free's credit can trim a thread's headroom below what its frame's
 * limit was set from: the limit is taken again, so the frame cannot pass
 * the hard limit afterwards. */
static void a_credit_never_leaves_the_frame_past_a_limit(void **state) {
    (void)state;
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.frame_chunk_first = cfg.frame_chunk_max = (size_t)1 << 20;
    fa_alloc *a = fa_create(&cfg);
    const size_t hard = (size_t)4 << 20;
    assert_int_equal(fa_budget_set(a, NULL, 0, hard), FA_OK);
    void *h = fa_heap_alloc(a, 10000, 16);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    for (int i = 0; i < 64; i++)
        fa_frame_alloc(a, 1000);
    fa_mark m = fa_frame_mark(a);
    assert_non_null(fa_frame_alloc(a, 60 << 10)); /* a fresh batch */
    assert_int_equal(fa_frame_rewind(a, m), FA_OK); /* ... held again */
    assert_int_equal(fa_heap_free(a, h), FA_OK);    /* held past two batches: trimmed */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, heap_until_refused, a), 0);
    pthread_join(t, NULL);
    while (fa_frame_alloc(a, 1024) != NULL) {
    }
    fa_stats *st = stats_of(a);
    assert_true(st->global_budget.reserved <= hard);
    assert_true(st->global_budget.usage <= hard);
    free(st);
    fa_end_frame(a);
    fa_destroy(a);
}

/* With statistics off, pool blocks still come from their path's pools, so
 * their frees give back to the path's budget. */
static void tag_budgets_hold_with_statistics_off(void **state) {
    (void)state;
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.disable = FA_DISABLE_STATS;
    fa_alloc *a = fa_create(&cfg);
    assert_int_equal(fa_budget_set(a, "A", 0, 1 << 20), FA_OK);
    fa_tag_push(a, "A");
    for (int i = 0; i < 4096; i++) {
        void *p = fa_pool_alloc(a, 1024);
        assert_non_null(p);
        assert_int_equal(fa_pool_free(a, p), FA_OK);
    }
    void *kept = fa_pool_alloc(a, 1024);
    fa_tag_pop(a);
    assert_int_equal(fa_pool_free(a, kept), FA_OK); /* at the root: still given back */
    fa_tag_push(a, "A");
    void *big[1024];
    for (int i = 0; i < 1024; i++) /* exactly the limit */
        assert_non_null(big[i] = fa_pool_alloc(a, 1024));
    assert_null(fa_pool_alloc(a, 1024));
    for (int i = 0; i < 1024; i++)
        fa_pool_free(a, big[i]);
    fa_tag_pop(a);
    fa_destroy(a);
}

/* A path's first budget starts from its live bytes, a global one set
 * before it or not. */
static void a_tag_budget_after_a_global_one_counts_live_bytes(void **state) {
    fa_alloc *a = alloc_of(state);
    void *p[12];
    fa_tag_push(a, "A");
    for (int i = 0; i < 10; i++)
        p[i] = fa_heap_alloc(a, 100000, 16);
    fa_tag_pop(a);
    assert_int_equal(fa_budget_set(a, NULL, 0, 1u << 30), FA_OK);
    assert_int_equal(fa_budget_set(a, "A", 0, 1200000), FA_OK);
    fa_tag_push(a, "A");
    assert_non_null(p[10] = fa_heap_alloc(a, 100000, 16));
    assert_non_null(p[11] = fa_heap_alloc(a, 100000, 16));
    assert_null(fa_heap_alloc(a, 100000, 16)); /* 1,200,000 reached */
    fa_tag_pop(a);
    for (int i = 0; i < 12; i++)
        fa_heap_free(a, p[i]);
    fa_stats *st = stats_of(a);
    int tag = tag_index(st, "A");
    assert_int_equal(st->tags[tag].budget.usage, 0);
    assert_true(st->tags[tag].budget.reserved <= 64 << 10); /* headroom this thread keeps */
    free(st);
}

struct late_frame {
    fa_alloc         *a;
    pthread_barrier_t step;
};

static void *frame_across_a_budget_change(void *arg) {
    struct late_frame *l = (struct late_frame *)arg;
    fa_tag_push(l->a, "X");
    fa_begin_frame(l->a);
    for (int i = 0; i < 40; i++)
        fa_frame_alloc(l->a, 1000);
    fa_frame_alloc(l->a, 200000); /* settles */
    pthread_barrier_wait(&l->step);
    pthread_barrier_wait(&l->step); /* the budget is set meanwhile */
    fa_end_frame(l->a);
    fa_tag_pop(l->a);
    return NULL;
}

/* A budget set while another thread's frame is open under its path gets
 * that frame's bytes back when it ends, even with no slow path between. */
static void a_budget_set_mid_frame_gets_the_frame_back(void **state) {
    fa_alloc *a = alloc_of(state);
    static struct late_frame l;
    l.a = a;
    pthread_barrier_init(&l.step, NULL, 2);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, frame_across_a_budget_change, &l), 0);
    pthread_barrier_wait(&l.step);
    assert_int_equal(fa_budget_set(a, "X", 0, 1 << 20), FA_OK);
    fa_stats *st = stats_of(a);
    assert_int_equal(st->tags[tag_index(st, "X")].budget.reserved, 240000); /* its live bytes */
    free(st);
    pthread_barrier_wait(&l.step);
    pthread_join(t, NULL);
    st = stats_of(a);
    assert_int_equal(st->tags[tag_index(st, "X")].budget.reserved, 0);
    free(st);
    pthread_barrier_destroy(&l.step);
}

/* Four threads race for the last bytes of a hard limit with frame and pool
 * allocations; what they hold together never passes it. */
#define RACE_LIMIT ((size_t)1 << 20)

struct racer {
    fa_alloc          *a;
    pthread_barrier_t *start, *done;
    size_t             got;
    void              *blocks[RACE_LIMIT / 64];
    size_t             block_count;
};

static void *race(void *arg) {
    struct racer *r = (struct racer *)arg;
    fa_begin_frame(r->a);
    fa_tag_push(r->a, "race");
    pthread_barrier_wait(r->start);
    for (int i = 0;; i++) {
        if (i % 2 == 0 && fa_frame_alloc(r->a, 64) != NULL) {
            r->got += 64;
        } else if (i % 2 == 1 && (r->blocks[r->block_count] = fa_pool_alloc(r->a, 64)) != NULL) {
            r->block_count++;
            r->got += 64;
        } else {
            break;
        }
    }
    pthread_barrier_wait(r->done); /* everything still held */
    pthread_barrier_wait(r->done); /* the main thread has looked */
    for (size_t i = 0; i < r->block_count; i++)
        fa_pool_free(r->a, r->blocks[i]);
    fa_tag_pop(r->a);
    fa_end_frame(r->a);
    return NULL;
}

static void four_racing_threads_never_pass_a_hard_limit(void **state) {
    fa_alloc *a = alloc_of(state);
    for (int round = 0; round < 8; round++) {
        assert_int_equal(fa_budget_set(a, round % 2 ? NULL : "race", 0, RACE_LIMIT - 64 * round), FA_OK);
        assert_int_equal(fa_budget_set(a, round % 2 ? "race" : NULL, 0, 0), FA_OK);
        pthread_barrier_t start, done;
        pthread_barrier_init(&start, NULL, 4);
        pthread_barrier_init(&done, NULL, 5);
        static struct racer r[4];
        pthread_t t[4];
        for (int i = 0; i < 4; i++) {
            r[i] = (struct racer){a, &start, &done, 0, {NULL}, 0};
            assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
        }
        pthread_barrier_wait(&done);
        size_t total = 0;
        for (int i = 0; i < 4; i++)
            total += r[i].got;
        assert_true(total <= RACE_LIMIT - 64 * round);
        assert_true(total + 4 * 64 * 2 > RACE_LIMIT - 64 * round); /* and they got nearly all */
        pthread_barrier_wait(&done);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&start);
        pthread_barrier_destroy(&done);
    }
    fa_stats *st = stats_of(a);
    assert_int_equal(st->global_budget.usage, 0);
    assert_int_equal(st->global_budget.reserved, 0);
    assert_int_equal(st->tags[tag_index(st, "race")].budget.reserved, 0);
    free(st);
}

static uint64_t global_usage(fa_alloc *a, uint64_t *reserved) {
    fa_stats *st = stats_of(a);
    uint64_t usage = st->global_budget.usage;
    *reserved = st->global_budget.reserved;
    free(st);
    return usage;
}

/* Regression (issue #11): the thread kept the headroom it held across a
 * budget switched off and on again, and served 161 blocks of 1 KiB against
 * a hard limit of 100,000 bytes. */
static void headroom_held_across_a_restart_is_void(void **state) {
    fa_alloc *a = alloc_of(state);
    assert_int_equal(fa_budget_set(a, NULL, 0, 1 << 20), FA_OK);
    void *first = fa_pool_alloc(a, 64);
    assert_non_null(first);
    assert_int_equal(fa_budget_set(a, NULL, 0, 0), FA_OK);
    assert_int_equal(fa_budget_set(a, NULL, 0, 100000), FA_OK);
    enum { MAX = 200 };
    void *blocks[MAX];
    int n = 0;
    while (n < MAX && (blocks[n] = fa_pool_alloc(a, 1024)) != NULL)
        n++;
    assert_int_equal(fa_last_error(), FA_ERR_BUDGET);
    uint64_t reserved, usage = global_usage(a, &reserved);
    assert_true(usage <= 100000);
    assert_int_equal(usage, 64 + (uint64_t)n * 1024);
    assert_true(reserved >= usage);
    assert_true(n >= 90); /* the limit binds, it does not starve */
    while (n > 0)
        assert_int_equal(fa_pool_free(a, blocks[--n]), FA_OK);
    assert_int_equal(fa_pool_free(a, first), FA_OK);
}

/* Regression (issue #11): a hard limit lowered below what the thread had
 * reserved let a 50,000-byte block through a limit of 1,064 bytes, and the
 * budget's reserved count stayed below its usage for good. */
static void a_limit_lowered_below_the_reservation_binds_at_once(void **state) {
    fa_alloc *a = alloc_of(state);
    assert_int_equal(fa_budget_set(a, NULL, 0, 1 << 20), FA_OK);
    void *small = fa_pool_alloc(a, 64);
    assert_non_null(small);
    uint64_t reserved, usage = global_usage(a, &reserved);
    assert_int_equal(usage, 64);
    assert_int_equal(fa_budget_set(a, NULL, 0, usage + 1000), FA_OK);
    assert_null(fa_heap_alloc(a, 50000, 64));
    assert_int_equal(fa_last_error(), FA_ERR_BUDGET);
    void *fits = fa_heap_alloc(a, 900, 64);
    assert_non_null(fits);
    usage = global_usage(a, &reserved);
    assert_int_equal(usage, 964);
    assert_true(reserved >= usage && reserved <= 1064);
    assert_int_equal(fa_heap_free(a, fits), FA_OK);
    assert_int_equal(fa_pool_free(a, small), FA_OK);
    usage = global_usage(a, &reserved);
    assert_int_equal(usage, 0);
}

/* Regression (found by the fuzzer): with a limit lowered below the usage,
 * a free left its bytes with the thread as headroom, and the next
 * allocation spent them past the limit. */
static void frees_under_a_lowered_limit_are_not_headroom(void **state) {
    fa_alloc *a = alloc_of(state);
    assert_int_equal(fa_budget_set(a, NULL, 0, 1 << 20), FA_OK);
    void *blocks[4];
    for (int i = 0; i < 4; i++)
        assert_non_null(blocks[i] = fa_pool_alloc(a, 4096));
    assert_int_equal(fa_budget_set(a, NULL, 0, 5000), FA_OK); /* below the 16,384 in use */
    assert_int_equal(fa_pool_free(a, blocks[3]), FA_OK);
    assert_null(fa_pool_alloc(a, 512)); /* 12,288 still in use: every new charge is refused */
    assert_int_equal(fa_last_error(), FA_ERR_BUDGET);
    assert_int_equal(fa_pool_free(a, blocks[2]), FA_OK);
    assert_int_equal(fa_pool_free(a, blocks[1]), FA_OK);
    void *fits = fa_pool_alloc(a, 512); /* 4,096 + 512 */
    assert_non_null(fits);
    assert_null(fa_pool_alloc(a, 512));
    uint64_t reserved, usage = global_usage(a, &reserved);
    assert_int_equal(usage, 4608);
    assert_true(reserved >= usage && reserved <= 5000);
    assert_int_equal(fa_pool_free(a, fits), FA_OK);
    assert_int_equal(fa_pool_free(a, blocks[0]), FA_OK);
}

/* Starts fn(arg) on a thread that meets the test at `step` twice, and
 * returns once it reached the first meeting. */
static pthread_t start_stepped(pthread_barrier_t *step, void *(*fn)(void *), void *arg) {
    pthread_barrier_init(step, NULL, 2);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fn, arg), 0);
    pthread_barrier_wait(step);
    return t;
}

/* Lets it past the second meeting and waits for it to end. */
static void finish_stepped(pthread_t t, pthread_barrier_t *step) {
    pthread_barrier_wait(step);
    pthread_join(t, NULL);
    pthread_barrier_destroy(step);
}

struct switcher {
    fa_alloc         *a;
    pthread_barrier_t step;
    void             *refused, *fits;
    fa_error          error;
};

static void *hold_headroom_then_switch(void *arg) {
    struct switcher *w = (struct switcher *)arg;
    fa_tag_push(w->a, "X");
    void *small = fa_pool_alloc(w->a, 64); /* takes a batch of headroom under X */
    pthread_barrier_wait(&w->step);
    pthread_barrier_wait(&w->step); /* X's limit is lowered meanwhile */
    fa_tag_push(w->a, "Y");         /* a switch, before any slow path */
    w->refused = fa_heap_alloc(w->a, 50000, 64);
    w->error = fa_last_error();
    w->fits = fa_heap_alloc(w->a, 900, 64);
    fa_heap_free(w->a, w->fits);
    fa_tag_pop(w->a);
    fa_pool_free(w->a, small);
    fa_tag_pop(w->a);
    return NULL;
}

/* Regression: a tag switch took the budgets' new epoch without returning
 * the headroom held under the old one, so a limit lowered by another
 * thread did not bind the switching thread until its batch ran out. */
static void a_tag_switch_returns_headroom_of_a_changed_budget(void **state) {
    fa_alloc *a = alloc_of(state);
    assert_int_equal(fa_budget_set(a, "X", 0, 1 << 20), FA_OK);
    static struct switcher w;
    w.a = a;
    pthread_t t = start_stepped(&w.step, hold_headroom_then_switch, &w);
    assert_int_equal(fa_budget_set(a, "X", 0, 64 + 1000), FA_OK);
    finish_stepped(t, &w.step);
    assert_null(w.refused);
    assert_int_equal(w.error, FA_ERR_BUDGET);
    assert_non_null(w.fits);
    fa_stats *st = stats_of(a);
    assert_int_equal(st->tags[tag_index(st, "X")].budget.usage, 0);
    free(st);
}

/* ---- charged pool caches: pools under a budget on the inline paths ----- */

static uint64_t tag_reserved(fa_alloc *a, const char *tag, uint64_t *usage) {
    fa_stats *st = stats_of(a);
    const fa_budget_stats *b = &st->tags[tag_index(st, tag)].budget;
    uint64_t reserved = b->reserved;
    *usage = b->usage;
    free(st);
    return reserved;
}

/* Freed blocks of a budgeted path stay in the thread's cache, charged like
 * live ones (the budget's reservation, never its usage, shows them), and
 * fa_trim gives them back with the headroom. */
static void a_budgeted_cache_keeps_its_blocks_charged(void **state) {
    fa_alloc *a = alloc_of(state);
    assert_int_equal(fa_budget_set(a, "game", 0, 1 << 20), FA_OK);
    assert_int_equal(fa_tag_push(a, "game"), FA_OK);
    void *blocks[100];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 100; i++)
            assert_non_null(blocks[i] = fa_pool_alloc(a, 64));
        for (int i = 0; i < 100; i++)
            assert_int_equal(fa_pool_free(a, blocks[i]), FA_OK);
    }
    fa_tag_pop(a);
    uint64_t usage, reserved = tag_reserved(a, "game", &usage);
    assert_int_equal(usage, 0);
    assert_true(reserved >= 100 * 64 && reserved <= 1 << 20); /* the cached blocks are still charged */
    assert_int_equal(fa_trim(a), FA_OK);
    assert_int_equal(tag_reserved(a, "game", &usage), 0);
}

/* A thread's own cached blocks never make its budget refuse: a refusal
 * first gives them back and asks again. */
static void a_refusal_first_takes_back_the_threads_cached_blocks(void **state) {
    fa_alloc *a = alloc_of(state);
    assert_int_equal(fa_budget_set(a, NULL, 0, 64 << 10), FA_OK);
    void *small[16], *big[17];
    for (int i = 0; i < 16; i++)
        assert_non_null(small[i] = fa_pool_alloc(a, 64));
    for (int i = 0; i < 16; i++)
        assert_int_equal(fa_pool_free(a, small[i]), FA_OK); /* 1 KiB cached, charged */
    for (int i = 0; i < 16; i++)
        assert_non_null(big[i] = fa_pool_alloc(a, 4096)); /* the whole 64 KiB */
    assert_null(big[16] = fa_pool_alloc(a, 4096));
    assert_int_equal(fa_last_error(), FA_ERR_BUDGET);
    uint64_t reserved, usage = global_usage(a, &reserved);
    assert_int_equal(usage, 64 << 10);
    assert_int_equal(reserved, 64 << 10);
    for (int i = 0; i < 16; i++)
        assert_int_equal(fa_pool_free(a, big[i]), FA_OK);
}

struct cacher {
    fa_alloc         *a;
    pthread_barrier_t step;
};

static void cache_round(fa_alloc *a) {
    void *blocks[64];
    for (int i = 0; i < 64; i++)
        blocks[i] = fa_pool_alloc(a, 128);
    for (int i = 0; i < 64; i++)
        fa_pool_free(a, blocks[i]);
}

static void *cache_then_exit(void *arg) {
    struct cacher *w = (struct cacher *)arg;
    fa_tag_push(w->a, "worker");
    cache_round(w->a);
    pthread_barrier_wait(&w->step);
    pthread_barrier_wait(&w->step); /* the limit changes meanwhile */
    cache_round(w->a);
    return NULL; /* exits with its cache charged */
}

/* A changed limit drops a thread's charged cache before its headroom goes
 * back, and an exiting thread gives its cached blocks' bytes back: nothing
 * stays reserved once the blocks are free. */
static void charged_caches_go_back_on_a_change_and_at_exit(void **state) {
    fa_alloc *a = alloc_of(state);
    assert_int_equal(fa_budget_set(a, NULL, 0, 1 << 24), FA_OK);
    assert_int_equal(fa_budget_set(a, "worker", 0, 1 << 20), FA_OK);
    static struct cacher w;
    w.a = a;
    pthread_t t = start_stepped(&w.step, cache_then_exit, &w);
    uint64_t usage;
    assert_true(tag_reserved(a, "worker", &usage) >= 64 * 128);
    assert_int_equal(fa_budget_set(a, "worker", 0, 1 << 19), FA_OK);
    finish_stepped(t, &w.step);
    assert_int_equal(tag_reserved(a, "worker", &usage), 0);
    assert_int_equal(usage, 0);
    uint64_t reserved;
    assert_int_equal(global_usage(a, &reserved), 0);
    assert_int_equal(reserved, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(hard_limit_refuses_and_changes_nothing_else),
        FIXTURE_TEST(a_tag_budget_covers_its_sub_tags_only),
        FIXTURE_TEST(soft_limit_warns_once_per_crossing),
        FIXTURE_TEST(frees_and_rewinds_give_bytes_back),
        cmocka_unit_test(the_frame_budget_limits_each_frame),
        FIXTURE_TEST(a_late_budget_starts_from_live_memory),
        FIXTURE_TEST(budget_misuse_is_reported),
        FIXTURE_TEST(a_frame_left_open_gives_its_bytes_back),
        cmocka_unit_test(a_credit_never_leaves_the_frame_past_a_limit),
        cmocka_unit_test(tag_budgets_hold_with_statistics_off),
        FIXTURE_TEST(a_tag_budget_after_a_global_one_counts_live_bytes),
        FIXTURE_TEST(a_budget_set_mid_frame_gets_the_frame_back),
        FIXTURE_TEST(headroom_held_across_a_restart_is_void),
        FIXTURE_TEST(a_limit_lowered_below_the_reservation_binds_at_once),
        FIXTURE_TEST(frees_under_a_lowered_limit_are_not_headroom),
        FIXTURE_TEST(four_racing_threads_never_pass_a_hard_limit),
        FIXTURE_TEST(a_tag_switch_returns_headroom_of_a_changed_budget),
        FIXTURE_TEST(a_budgeted_cache_keeps_its_blocks_charged),
        FIXTURE_TEST(a_refusal_first_takes_back_the_threads_cached_blocks),
        FIXTURE_TEST(charged_caches_go_back_on_a_change_and_at_exit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
