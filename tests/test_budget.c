/* Budgets: hard limits never passed (by racing threads neither), soft
 * limits warned once per crossing, bytes given back by frees, frame ends
 * and rewinds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"

static struct fixture *F(void **state) {
    return (struct fixture *)*state;
}

static void hard_limit_refuses_and_changes_nothing_else(void **state) {
    struct fixture *f = F(state);
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
    struct fixture *f = F(state);
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
    struct fixture *f = F(state);
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
    fa_alloc *a = F(state)->a;
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
    fa_alloc *a = F(state)->a;
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
    fa_alloc *a = F(state)->a;
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
    fa_alloc *a = F(state)->a;
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
    fa_alloc *a = F(state)->a;
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(hard_limit_refuses_and_changes_nothing_else, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(a_tag_budget_covers_its_sub_tags_only, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(soft_limit_warns_once_per_crossing, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(frees_and_rewinds_give_bytes_back, fixture_setup, fixture_teardown),
        cmocka_unit_test(the_frame_budget_limits_each_frame),
        cmocka_unit_test_setup_teardown(a_late_budget_starts_from_live_memory, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(budget_misuse_is_reported, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(a_frame_left_open_gives_its_bytes_back, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(four_racing_threads_never_pass_a_hard_limit, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
