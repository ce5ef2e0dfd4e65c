/* SPDX-License-Identifier: MIT */
/* The NUMA allocator set (src/numa_set.c): one allocator per node, each
 * thread handed its node's, a config carried to every node, a refused
 * config refusing the whole set, and NULL sets reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "instance.h"

#define MIB ((size_t)1 << 20)

static void *use_local(void *arg) {
    fa_alloc *a = fa_numa_set_local((const fa_numa_set *)arg);
    int ok = a != NULL && fa_begin_frame(a) == FA_OK && fa_frame_alloc(a, 1000) != NULL &&
             fa_end_frame(a) == FA_OK;
    void *p = a != NULL ? fa_pool_alloc(a, 64) : NULL;
    ok = ok && p != NULL && fa_pool_free(a, p) == FA_OK;
    return ok ? arg : NULL;
}

static void numa_set_hands_each_thread_its_node(void **state) {
    (void)state;
    fa_numa_set *set = fa_numa_set_create(NULL, 256 * MIB);
    assert_non_null(set);
    size_t count = fa_numa_set_count(set);
    assert_true(count >= 1);
    for (size_t i = 0; i < count; i++) {
        fa_alloc *a = fa_numa_set_at(set, i);
        assert_non_null(a);
        for (size_t k = 0; k < i; k++)
            assert_ptr_not_equal(fa_numa_set_at(set, k), a);
    }
    assert_null(fa_numa_set_at(set, count));
    fa_alloc *local = fa_numa_set_local(set);
    int found = 0;
    for (size_t i = 0; i < count; i++)
        found += fa_numa_set_at(set, i) == local;
    assert_int_equal(found, 1);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, use_local, set);
    for (int i = 0; i < 4; i++) {
        void *ok;
        pthread_join(t[i], &ok);
        assert_ptr_equal(ok, set);
    }
    fa_numa_set_destroy(set);
    fa_numa_set_destroy(NULL);
    assert_int_equal(fa_numa_set_count(NULL), 0);
    assert_null(fa_numa_set_local(NULL));
}

/* The set's allocators run with the caller's config, each over its own
 * NUMA source (the backend in the config is replaced per node). */
static void a_config_reaches_every_node(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    cfg.frame_chunk_first = 256 * 1024;
    fa_numa_set *set = fa_numa_set_create(&cfg, 256 * MIB);
    assert_non_null(set);
    for (size_t i = 0; i < fa_numa_set_count(set); i++) {
        fa_alloc *a = fa_numa_set_at(set, i);
        fa_source_info info;
        assert_int_equal(fa_source_info_get(&a->cfg.backend, &info), FA_OK);
        assert_string_equal(info.name, "numa");
        assert_int_equal(a->cfg.frame_chunk_first, 256 * 1024);
        assert_int_equal(fa_begin_frame(a), FA_OK);
        assert_non_null(fa_frame_alloc(a, 1000));
        assert_int_equal(fa_end_frame(a), FA_OK);
        assert_int_equal(fa_source_info_get(&a->cfg.backend, &info), FA_OK);
        assert_true(info.in_use >= 256 * 1024); /* the frame's chunk came from the node's source */
    }
    fa_numa_set_destroy(set);
    assert_int_equal(atomic_load(&c.requests), 0); /* the caller's backend is never used */
}

/* A config fa_create refuses refuses the set, which leaves nothing behind. */
static void a_refused_config_makes_no_set(void **state) {
    (void)state;
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.frame_budget_soft = 2000;
    cfg.frame_budget_hard = 1000; /* soft above hard */
    assert_null(fa_numa_set_create(&cfg, 256 * MIB));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numa_set_hands_each_thread_its_node),
        cmocka_unit_test(a_config_reaches_every_node),
        cmocka_unit_test(a_refused_config_makes_no_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
