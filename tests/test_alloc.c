/* SPDX-License-Identifier: MIT */
/* The allocator's lifecycle and configuration (src/alloc.c, src/config.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "instance.h"
#include "helpers.h"

static void config_init_fills_documented_defaults(void **state) {
    (void)state;
    fa_config cfg;
    memset(&cfg, 0xab, sizeof cfg);
    fa_config_init(&cfg);
    assert_int_equal(cfg.size, sizeof(fa_config));
    assert_int_equal(cfg.version, FA_CONFIG_VERSION);
    assert_int_equal(cfg.frame_chunk_first, 64 * 1024);
    assert_int_equal(cfg.frame_chunk_max, 1024 * 1024);
    assert_int_equal(cfg.frame_chunk_growth, 2);
    assert_int_equal(cfg.frame_chunk_align, 64);
    assert_int_equal(cfg.slab_size, 64 * 1024);
    assert_int_equal(cfg.slab_reserve, 1024 * 1024);
    assert_int_equal(cfg.chunk_cache_limit, 32 * 1024 * 1024);
    assert_int_equal(cfg.abort_on_error, 0);
    assert_non_null(cfg.backend.allocate);
    assert_non_null(cfg.backend.deallocate);
    assert_null(cfg.on_event);
    fa_config_init(NULL); /* harmless */
}

static void zero_config_and_null_config_mean_defaults(void **state) {
    (void)state;
    fa_config zero;
    memset(&zero, 0, sizeof zero);
    fa_alloc *a = fa_create(&zero);
    fa_alloc *b = fa_create(NULL);
    assert_non_null(a);
    assert_non_null(b);
    fa_config defaults;
    fa_config_init(&defaults);
    assert_int_equal(a->cfg.frame_chunk_first, defaults.frame_chunk_first);
    assert_int_equal(a->cfg.chunk_cache_limit, defaults.chunk_cache_limit);
    assert_ptr_equal(a->cfg.backend.allocate, defaults.backend.allocate);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    assert_non_null(fa_frame_alloc(a, 100));
    assert_int_equal(fa_end_frame(a), FA_OK);
    fa_destroy(a);
    fa_destroy(b);
}

/* Each bad config is FA_ERR_INVALID and, where the struct itself is sound, an
 * event through the caller's callback. */
static void expect_invalid(fa_config cfg, int event_expected) {
    struct events ev;
    events_init(&ev);
    cfg.on_event = record_event;
    cfg.event_user = &ev;
    assert_null(fa_create(&cfg));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_int_equal(ev.count, event_expected);
    if (event_expected)
        assert_int_equal(ev.last, FA_ERR_INVALID);
}

/* A caller built against version 1 of fa_config (its struct ends before
 * chunk_cache_frames) is taken at its word: its fields used, the newer
 * ones at their defaults, nothing past its struct read. */
static void a_version_1_config_is_taken(void **state) {
    (void)state;
    size_t fields = offsetof(fa_config, chunk_cache_frames);
    size_t v1 = (fields + _Alignof(fa_config) - 1) & ~(_Alignof(fa_config) - 1);
    unsigned char *buffer = (unsigned char *)malloc(sizeof(fa_config));
    memset(buffer, 0xFF, sizeof(fa_config)); /* what lies past a version 1 struct */
    fa_config *old = (fa_config *)(void *)buffer;
    memset(old, 0, fields);
    old->size = (uint32_t)v1;
    old->version = 1;
    old->history_frames = 7;
    fa_alloc *a = fa_create(old);
    assert_non_null(a);
    fa_config in_effect;
    assert_int_equal(fa_config_get(a, &in_effect), FA_OK);
    assert_int_equal(in_effect.size, sizeof(fa_config));
    assert_int_equal(in_effect.version, FA_CONFIG_VERSION);
    assert_int_equal(in_effect.history_frames, 7);
    assert_int_equal(in_effect.chunk_cache_frames, 60);
    assert_int_equal(in_effect.max_tags, FA_TAG_MAX);
    assert_int_equal(in_effect.max_budgets, 31);
    assert_int_equal(in_effect.max_tag_depth, FA_TAG_DEPTH);
    assert_int_equal(fa_config_get(a, NULL), FA_ERR_INVALID);
    assert_int_equal(fa_config_get(NULL, &in_effect), FA_ERR_INVALID);
    fa_destroy(a);
    free(buffer);
}

static void bad_configs_are_refused(void **state) {
    (void)state;
    fa_config base;
    fa_config_init(&base);
    fa_config cfg = base;
    cfg.size = sizeof cfg + 8; /* a newer header's struct: layout unknown, no callback */
    expect_invalid(cfg, 0);
    cfg = base;
    cfg.size = 8;
    expect_invalid(cfg, 0);
    cfg = base;
    cfg.version = FA_CONFIG_VERSION + 1;
    expect_invalid(cfg, 0);
    cfg = base;
    cfg.version = 1; /* a version 1 caller's size is its own, not this header's */
    expect_invalid(cfg, 0);
    cfg = base;
    cfg.backend.deallocate = NULL; /* half a backend */
    expect_invalid(cfg, 1);
    cfg = base;
    cfg.max_tags = FA_TAG_PATHS_MAX + 1;
    expect_invalid(cfg, 1);
    cfg = base;
    cfg.max_budgets = FA_BUDGET_MAX + 1;
    expect_invalid(cfg, 1);
    cfg = base;
    cfg.max_tag_depth = FA_TAG_DEPTH_MAX + 1;
    expect_invalid(cfg, 1);
    cfg = base;
    cfg.backend.allocate = NULL;
    expect_invalid(cfg, 1);
    cfg = base;
    cfg.frame_chunk_first = 1024;
    expect_invalid(cfg, 1);
    cfg = base;
    cfg.frame_chunk_first = 256 * 1024;
    cfg.frame_chunk_max = 128 * 1024;
    expect_invalid(cfg, 1);
    cfg = base;
    cfg.frame_chunk_max = SIZE_MAX;
    expect_invalid(cfg, 1);
    size_t bad_aligns[] = {32, 96, 2 << 20}; /* below 64, not a power of two, above the max chunk */
    for (int i = 0; i < 3; i++) {
        cfg = base;
        cfg.frame_chunk_align = bad_aligns[i];
        expect_invalid(cfg, 1);
    }
    size_t bad_slabs[] = {32 << 10, 96 << 10, 2 << 20};
    for (int i = 0; i < 3; i++) {
        cfg = base;
        cfg.slab_size = bad_slabs[i];
        expect_invalid(cfg, 1);
    }
}

static void destroy_null_and_twice(void **state) {
    (void)state;
    fa_destroy(NULL); /* a no-op, like free(NULL) */
    fa_alloc *a = fa_create(NULL);
    fa_alloc *b = fa_create(NULL);
    fa_destroy(a);
    fa_destroy(a); /* twice: refused, nothing touched */
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_int_equal(fa_begin_frame(b), FA_OK); /* the others still work */
    assert_non_null(fa_frame_alloc(b, 64));
    assert_int_equal(fa_end_frame(b), FA_OK);
    fa_destroy(b);
}

static void null_allocator_is_invalid_everywhere(void **state) {
    (void)state;
    fa_frame_info info;
    assert_int_equal(fa_begin_frame(NULL), FA_ERR_INVALID);
    assert_int_equal(fa_end_frame(NULL), FA_ERR_INVALID);
    assert_int_equal(fa_frame_number(NULL), 0);
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_null(fa_frame_alloc(NULL, 8)); /* the inline path reaches the slow one */
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_null(fa_frame_alloc_aligned(NULL, 8, 64));
    assert_null(fa_frame_array(NULL, 4, 8, 8));
    assert_null(fa_frame_calloc(NULL, 1, 8));
    assert_null(fa_frame_strdup(NULL, "x"));
    assert_null(fa_frame_printf(NULL, "%d", 1));
    fa_mark m = fa_frame_mark(NULL);
    assert_null(m.fa__thread);
    assert_int_equal(fa_frame_rewind(NULL, m), FA_ERR_INVALID);
    assert_int_equal(fa_frame_info_get(NULL, &info), FA_ERR_INVALID);
}

/* More allocators than fast-path slots: the rest work through the slow path,
 * each with its own arena. */
#define MANY (FA__SLOTS + 4)

static void more_allocators_than_slots(void **state) {
    (void)state;
    fa_alloc *a[MANY];
    unsigned char *p[MANY];
    int without_slot = 0;
    for (int i = 0; i < MANY; i++) {
        a[i] = fa_create(NULL);
        assert_non_null(a[i]);
        without_slot += a[i]->threads.slot == 0;
        assert_int_equal(fa_begin_frame(a[i]), FA_OK);
        p[i] = (unsigned char *)fa_frame_alloc(a[i], 1000);
        assert_non_null(p[i]);
        memset(p[i], i, 1000);
    }
    assert_true(without_slot >= 4);
    for (int i = 0; i < MANY; i++) {
        for (int k = 0; k < 1000; k++)
            assert_int_equal(p[i][k], i);
        fa_frame_info info;
        fa_frame_info_get(a[i], &info);
        assert_int_equal(info.allocations, 1);
        assert_int_equal(fa_end_frame(a[i]), FA_OK);
        fa_destroy(a[i]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_init_fills_documented_defaults),
        cmocka_unit_test(zero_config_and_null_config_mean_defaults),
        cmocka_unit_test(bad_configs_are_refused),
        cmocka_unit_test(a_version_1_config_is_taken),
        cmocka_unit_test(destroy_null_and_twice),
        cmocka_unit_test(null_allocator_is_invalid_everywhere),
        cmocka_unit_test(more_allocators_than_slots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
