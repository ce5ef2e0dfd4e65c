/* SPDX-License-Identifier: MIT */
/* The budget table (src/budget_table.c), white-box: grants within the hard
 * limit, refusals, the chain of a path, a restart's new generation voiding
 * old headroom, and freed bytes handed straight back over a lowered limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "budget_table.h"
#include "helpers.h"

struct table {
    struct fa_budgets b;
    struct fa_tags    tags;
    struct fa_purse   purse;
    struct fa_chain   chain;
};

static struct table *fresh_table(void) {
    struct table *t = (struct table *)calloc(1, sizeof *t);
    assert_non_null(t);
    fa_config cfg;
    fa_config_init(&cfg);
    fa__budgets_init(&t->b, &cfg);
    fa__tags_init(&t->tags, FA_TAG_MAX, FA_TAG_DEPTH);
    return t;
}

static void drop_table(struct table *t) {
    fa__tags_fini(&t->tags);
    fa__budgets_fini(&t->b);
    free(t);
}

static void set_global(struct table *t, uint64_t hard, uint64_t live) {
    assert_int_equal(fa__budget_set(&t->b, &t->tags, FA__TAG_ROOT, 0, hard, live), FA__BUDGET_GLOBAL);
    fa__budget_return_all(&t->b, &t->purse); /* what a thread's refresh does */
    fa__budget_chain(&t->b, &t->tags, FA__TAG_ROOT, &t->chain);
}

static fa_error take(struct table *t, uint64_t need) {
    uint64_t crossed;
    uint32_t refused = 99;
    fa_error e = fa__budget_take(&t->b, &t->purse, &t->chain, need, &crossed, &refused);
    assert_true(e == FA_OK || refused == FA__BUDGET_GLOBAL);
    return e;
}

static uint64_t reserved(struct table *t) {
    return fa__budget_reserved(&t->b.slot[FA__BUDGET_GLOBAL]);
}

static void grants_stay_within_the_hard_limit(void **state) {
    (void)state;
    struct table *t = fresh_table();
    set_global(t, 10000, 0);
    assert_int_equal(take(t, 3000), FA_OK);
    assert_true(t->purse.held[FA__BUDGET_GLOBAL] >= 3000);
    assert_int_equal(reserved(t), t->purse.held[FA__BUDGET_GLOBAL]); /* nothing consumed yet */
    assert_true(reserved(t) <= 10000);
    fa__budget_charge(&t->b, &t->purse, &t->chain, 3000);
    assert_int_equal(take(t, 8000), FA_ERR_BUDGET); /* 3000 + 8000 > 10000 */
    assert_int_equal(t->b.slot[FA__BUDGET_GLOBAL].refusals, 0); /* counted by a caller that gives up */
    assert_int_equal(take(t, 7000), FA_OK); /* exactly up to the limit */
    assert_int_equal(reserved(t), 10000);
    fa__budget_return_all(&t->b, &t->purse);
    assert_int_equal(reserved(t), 3000); /* the consumed bytes only */
    drop_table(t);
}

/* Switched off and on again, a budget starts a new generation from the live
 * bytes: headroom the thread held from before is dropped, not returned. */
static void a_restart_voids_old_headroom(void **state) {
    (void)state;
    struct table *t = fresh_table();
    set_global(t, 1 << 20, 0);
    assert_int_equal(take(t, 64), FA_OK);
    fa__budget_charge(&t->b, &t->purse, &t->chain, 64);
    assert_true(t->purse.held[FA__BUDGET_GLOBAL] > 0);
    /* Off and on again before the thread looks (no refresh between them). */
    assert_int_equal(fa__budget_set(&t->b, &t->tags, FA__TAG_ROOT, 0, 0, 64), FA__BUDGET_GLOBAL);
    assert_int_equal(fa__budget_set(&t->b, &t->tags, FA__TAG_ROOT, 0, 100000, 64), FA__BUDGET_GLOBAL);
    assert_int_equal(reserved(t), 64); /* a new generation, counting the 64 live bytes */
    set_global(t, 100000, 64);         /* the thread's refresh: its old headroom is void */
    assert_int_equal(reserved(t), 64);
    assert_int_equal(t->purse.held[FA__BUDGET_GLOBAL], 0);
    assert_int_equal(take(t, 99936), FA_OK);
    assert_int_equal(take(t, 99936), FA_OK); /* the headroom held covers it: no new grant */
    fa__budget_charge(&t->b, &t->purse, &t->chain, 99936);
    assert_int_equal(take(t, 1), FA_ERR_BUDGET);
    drop_table(t);
}

static void frees_over_a_lowered_limit_go_straight_back(void **state) {
    (void)state;
    struct table *t = fresh_table();
    set_global(t, 1 << 20, 0);
    assert_int_equal(take(t, 16384), FA_OK);
    fa__budget_charge(&t->b, &t->purse, &t->chain, 16384);
    set_global(t, 5000, 0); /* lowered below the usage, same generation */
    assert_int_equal(reserved(t), 16384);
    fa__budget_credit(&t->b, &t->purse, &t->chain, 4096);
    assert_int_equal(t->purse.held[FA__BUDGET_GLOBAL], 0);
    assert_int_equal(reserved(t), 12288);
    assert_int_equal(take(t, 1), FA_ERR_BUDGET);
    drop_table(t);
}

static void a_path_counts_against_its_ancestors_budgets(void **state) {
    (void)state;
    struct table *t = fresh_table();
    fa_error e;
    int a = fa__tag_path(&t->tags, "a", &e), ab = fa__tag_path(&t->tags, "a/b", &e);
    int b = fa__tag_path(&t->tags, "b", &e);
    int slot = fa__budget_set(&t->b, &t->tags, (uint32_t)a, 0, 4096, 0);
    assert_true(slot > 0);
    set_global(t, 1 << 20, 0);
    fa__budget_chain(&t->b, &t->tags, (uint32_t)ab, &t->chain);
    assert_int_equal(t->chain.n, 2);
    assert_int_equal(t->chain.slot[0], slot);
    assert_int_equal(t->chain.slot[1], FA__BUDGET_GLOBAL);
    fa__budget_chain(&t->b, &t->tags, (uint32_t)b, &t->chain);
    assert_int_equal(t->chain.n, 1);
    assert_int_equal(t->chain.slot[0], FA__BUDGET_GLOBAL);
    drop_table(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grants_stay_within_the_hard_limit),
        cmocka_unit_test(a_restart_voids_old_headroom),
        cmocka_unit_test(frees_over_a_lowered_limit_go_straight_back),
        cmocka_unit_test(a_path_counts_against_its_ancestors_budgets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
