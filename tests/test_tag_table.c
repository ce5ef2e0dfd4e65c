/* SPDX-License-Identifier: MIT */
/* The tag table (src/tag_table.c), white-box: names checked, paths
 * interned once and level by level, the limit of FA_TAG_MAX paths, and
 * lock-free lookups racing additions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "tag_table.h"

static struct fa_tags *fresh_table(void) {
    struct fa_tags *tags = (struct fa_tags *)calloc(1, sizeof *tags);
    assert_non_null(tags);
    fa__tags_init(tags, FA_TAG_MAX, FA_TAG_DEPTH);
    return tags;
}

static void drop_table(struct fa_tags *tags) {
    fa__tags_fini(tags);
    free(tags);
}

static void names_are_checked(void **state) {
    (void)state;
    assert_true(fa__tag_name_ok("renderer", 8));
    assert_true(fa__tag_name_ok("a-b_c.9", 7));
    assert_false(fa__tag_name_ok("", 0));
    assert_false(fa__tag_name_ok("a/b", 3));
    assert_false(fa__tag_name_ok("tab\there", 8));
    char longest[FA_TAG_NAME_MAX + 2];
    memset(longest, 'x', sizeof longest);
    assert_true(fa__tag_name_ok(longest, FA_TAG_NAME_MAX));
    assert_false(fa__tag_name_ok(longest, FA_TAG_NAME_MAX + 1));
}

static void paths_are_interned_once_level_by_level(void **state) {
    (void)state;
    struct fa_tags *tags = fresh_table();
    assert_int_equal(fa__tag_count(tags), 1);
    assert_string_equal(fa__tag(tags, FA__TAG_ROOT)->path, "");
    fa_error e = FA_OK;
    int abc = fa__tag_path(tags, "a/b/c", &e);
    assert_int_equal(abc, 3); /* "a", "a/b", then "a/b/c" */
    assert_string_equal(fa__tag(tags, 3)->path, "a/b/c");
    assert_int_equal(fa__tag(tags, 3)->depth, 3);
    assert_string_equal(fa__tag(tags, fa__tag(tags, 3)->parent)->path, "a/b");
    assert_int_equal(fa__tag_child(tags, 1, "b", 1), 2); /* found, not added */
    assert_int_equal(fa__tag_path(tags, "a/b/c", &e), abc);
    assert_int_equal(fa__tag_path(tags, "", &e), FA__TAG_ROOT);
    assert_int_equal(fa__tag_count(tags), 4);
    assert_int_equal(fa__tag_path(tags, "a//b", &e), -1);
    assert_int_equal(e, FA_ERR_INVALID);
    assert_int_equal(fa__tag_count(tags), 4); /* a bad path interns nothing */
    drop_table(tags);
}

static void a_full_table_refuses_new_paths_and_keeps_known_ones(void **state) {
    (void)state;
    struct fa_tags *tags = fresh_table();
    char name[8];
    for (int i = 1; i < FA_TAG_MAX; i++) {
        snprintf(name, sizeof name, "t%d", i);
        assert_int_equal(fa__tag_child(tags, FA__TAG_ROOT, name, strlen(name)), i);
    }
    assert_int_equal(fa__tag_child(tags, FA__TAG_ROOT, "one_more", 8), -1);
    fa_error e = FA_OK;
    assert_int_equal(fa__tag_path(tags, "t1/new", &e), -1);
    assert_int_equal(e, FA_ERR_NOMEM);
    assert_int_equal(fa__tag_child(tags, FA__TAG_ROOT, "t7", 2), 7);
    assert_int_equal(fa__tag_count(tags), FA_TAG_MAX);
    drop_table(tags);
}

/* Four threads intern the same names at once: each name gets one id, and
 * every thread sees it whole. */
struct racer {
    struct fa_tags *tags;
    int             ids[32];
};

static void *intern_all(void *arg) {
    struct racer *r = (struct racer *)arg;
    char name[8];
    for (int i = 0; i < 32; i++) {
        snprintf(name, sizeof name, "n%d", i);
        r->ids[i] = fa__tag_child(r->tags, FA__TAG_ROOT, name, strlen(name));
    }
    return NULL;
}

static void racing_additions_agree(void **state) {
    (void)state;
    struct fa_tags *tags = fresh_table();
    struct racer r[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        r[i].tags = tags;
        assert_int_equal(pthread_create(&t[i], NULL, intern_all, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(fa__tag_count(tags), 33);
    for (int n = 0; n < 32; n++) {
        char name[8];
        snprintf(name, sizeof name, "n%d", n);
        for (int i = 0; i < 4; i++)
            assert_int_equal(r[i].ids[n], r[0].ids[n]);
        assert_string_equal(fa__tag(tags, (uint32_t)r[0].ids[n])->path, name);
    }
    drop_table(tags);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_are_checked),
        cmocka_unit_test(paths_are_interned_once_level_by_level),
        cmocka_unit_test(a_full_table_refuses_new_paths_and_keeps_known_ones),
        cmocka_unit_test(racing_additions_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
