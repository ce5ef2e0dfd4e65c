/* SPDX-License-Identifier: MIT */
/* The ready memory sources (src/source/: source.c, mmap.c, numa.c, fixed.c,
 * failing.c), alone and under an allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"

#define KIB ((size_t)1024)
#define MIB (KIB * 1024)

static void *take(fa_backend *b, size_t size, size_t align) {
    void *p = NULL;
    if (b->allocate(b->ctx, size, align, &p) != FA_BACKEND_OK)
        return NULL;
    return p;
}

static void give(fa_backend *b, void *p, size_t size, size_t align) {
    b->deallocate(b->ctx, p, size, align);
}

/* What every source must do: aligned, writable, disjoint memory, counted. */
static void serves_aligned_disjoint_memory(fa_backend *b) {
    size_t sizes[] = {100, 4096, 65536, 3 * MIB, 1};
    size_t aligns[] = {16, 4096, 65536, 64, 8};
    char *p[5];
    for (int i = 0; i < 5; i++) {
        p[i] = (char *)take(b, sizes[i], aligns[i]);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % aligns[i], 0);
        memset(p[i], i + 1, sizes[i]);
    }
    for (int i = 0; i < 5; i++)
        for (size_t k = 0; k < sizes[i]; k += 997)
            assert_int_equal(p[i][k], i + 1);
    fa_source_info info;
    assert_int_equal(fa_source_info_get(b, &info), FA_OK);
    assert_int_equal(info.in_use, 100 + 4096 + 65536 + 3 * MIB + 1);
    assert_int_equal(info.requests, 5);
    for (int i = 0; i < 5; i++)
        give(b, p[i], sizes[i], aligns[i]);
    assert_int_equal(fa_source_info_get(b, &info), FA_OK);
    assert_int_equal(info.in_use, 0);
}

/* An allocator on the source: frames, pools, heap; all of it comes back. */
static void carries_an_allocator(fa_backend *b) {
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.backend = *b;
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    for (int frame = 0; frame < 3; frame++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        for (int i = 0; i < 2000; i++)
            assert_non_null(fa_frame_alloc(a, 300));
        void *pool = fa_pool_alloc(a, 200);
        void *heap = fa_heap_alloc(a, 200000, 4096);
        assert_non_null(pool);
        assert_non_null(heap);
        assert_int_equal(fa_pool_free(a, pool), FA_OK);
        assert_int_equal(fa_heap_free(a, heap), FA_OK);
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
    fa_source_info info;
    fa_source_info_get(b, &info);
    assert_true(info.in_use > 0);
    fa_destroy(a);
    fa_source_info_get(b, &info);
    assert_int_equal(info.in_use, 0);
}

static void mmap_source(void **state) {
    (void)state;
    fa_backend b;
    assert_int_equal(fa_source_mmap(&b, 256 * MIB, FA_HUGE_NONE), FA_OK);
    fa_source_info info;
    assert_int_equal(fa_source_info_get(&b, &info), FA_OK);
    assert_string_equal(info.name, "mmap");
    assert_int_equal(info.capacity, 256 * MIB);
    assert_int_equal(info.huge, FA_HUGE_NONE);
    assert_int_equal(info.numa_node, -1);
    serves_aligned_disjoint_memory(&b);
    carries_an_allocator(&b);
    fa_source_destroy(&b);
    assert_null(b.allocate);
}

static void mmap_runs_out_cleanly(void **state) {
    (void)state;
    fa_backend b;
    assert_int_equal(fa_source_mmap(&b, 1 * MIB, FA_HUGE_NONE), FA_OK);
    void *p = take(&b, 768 * KIB, 4096);
    assert_non_null(p);
    assert_null(take(&b, 512 * KIB, 4096)); /* does not fit what is left */
    assert_null(take(&b, 2 * MIB, 4096));   /* larger than the reserve */
    give(&b, p, 768 * KIB, 4096);
    p = take(&b, 1 * MIB, 4096); /* whole again after the give */
    assert_non_null(p);
    give(&b, p, 1 * MIB, 4096);
    fa_source_info info;
    fa_source_info_get(&b, &info);
    assert_int_equal(info.failures, 2);
    fa_source_destroy(&b);
}

static void huge_page_modes_fall_back_cleanly(void **state) {
    (void)state;
    for (int mode = FA_HUGE_TRANSPARENT; mode <= FA_HUGE_EXPLICIT; mode++) {
        fa_backend b;
        assert_int_equal(fa_source_mmap(&b, 64 * MIB, (fa_huge_pages)mode), FA_OK);
        fa_source_info info;
        fa_source_info_get(&b, &info);
        assert_true(info.huge == FA_HUGE_NONE || info.huge == (fa_huge_pages)mode);
        void *p = take(&b, 3 * MIB, 2 * MIB);
        assert_non_null(p);
        memset(p, 1, 3 * MIB);
        give(&b, p, 3 * MIB, 2 * MIB);
        fa_source_destroy(&b);
    }
    fa_backend b;
    assert_int_equal(fa_source_mmap(&b, 1 * MIB, (fa_huge_pages)7), FA_ERR_INVALID);
    assert_int_equal(fa_source_mmap(NULL, 1 * MIB, FA_HUGE_NONE), FA_ERR_INVALID);
}

static void numa_source_on_node_zero(void **state) {
    (void)state;
    fa_backend b;
    assert_int_equal(fa_source_numa(&b, 0, 256 * MIB), FA_OK);
    fa_source_info info;
    fa_source_info_get(&b, &info);
    assert_string_equal(info.name, "numa");
    assert_true(info.numa_node == 0 || info.numa_node == -1); /* -1: a kernel without NUMA support */
    serves_aligned_disjoint_memory(&b);
    carries_an_allocator(&b);
    fa_source_destroy(&b);

    assert_int_equal(fa_source_numa(&b, 4095, 16 * MIB), FA_OK); /* no such node: unbound */
    fa_source_info_get(&b, &info);
    assert_int_equal(info.numa_node, -1);
    void *p = take(&b, 4096, 4096);
    assert_non_null(p);
    give(&b, p, 4096, 4096);
    fa_source_destroy(&b);
    assert_int_equal(fa_source_numa(&b, -1, 0), FA_ERR_INVALID);
}

static void fixed_source(void **state) {
    (void)state;
    size_t size = 64 * MIB;
    char *buffer = (char *)malloc(size + 3);
    fa_backend b;
    assert_int_equal(fa_source_fixed(&b, buffer + 3, size), FA_OK); /* misaligned start is fine */
    serves_aligned_disjoint_memory(&b);
    carries_an_allocator(&b);
    fa_source_info info;
    fa_source_info_get(&b, &info);
    assert_string_equal(info.name, "fixed");
    assert_true(info.capacity > size - 32 && info.capacity <= size);
    fa_source_destroy(&b);
    free(buffer);
}

static void fixed_region_exhaustion_is_clean(void **state) {
    (void)state;
    static char buffer[1 << 20];
    fa_backend b;
    assert_int_equal(fa_source_fixed(&b, buffer, sizeof buffer), FA_OK);
    void *p[16];
    int n = 0;
    while (n < 16 && (p[n] = take(&b, 100 * KIB, 64)) != NULL) {
        assert_true((char *)p[n] >= buffer && (char *)p[n] + 100 * KIB <= buffer + sizeof buffer);
        n++;
    }
    assert_int_equal(n, 10); /* 1 MiB holds ten of them, not eleven */
    for (int i = 1; i < n; i += 2) /* free every other one, then the rest: it all coalesces */
        give(&b, p[i], 100 * KIB, 64);
    for (int i = 0; i < n; i += 2)
        give(&b, p[i], 100 * KIB, 64);
    void *whole = take(&b, sizeof buffer - 64, 16);
    assert_non_null(whole);
    give(&b, whole, sizeof buffer - 64, 16);

    /* an allocator on a full region: NOMEM, reported, recoverable */
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.backend = b;
    fa_alloc *a = fa_create(&cfg);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    assert_non_null(fa_frame_alloc(a, 100));
    assert_null(fa_frame_alloc(a, 2 << 20));
    assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
    assert_non_null(fa_frame_alloc(a, 100));
    assert_int_equal(fa_end_frame(a), FA_OK);
    fa_destroy(a);
    fa_source_destroy(&b);
    assert_int_equal(fa_source_fixed(&b, NULL, 100), FA_ERR_INVALID);
    assert_int_equal(fa_source_fixed(&b, buffer, 0), FA_ERR_INVALID);
    assert_int_equal(fa_source_fixed(&b, buffer + 1, 8), FA_ERR_INVALID);
    assert_int_equal(fa_source_fixed(&b, buffer, 1), FA_ERR_INVALID); /* regression: was FA_OK, capacity 0 */
    assert_int_equal(fa_source_fixed(&b, buffer, 15), FA_ERR_INVALID);
}

static int fails(fa_backend *b, size_t size) {
    void *p = take(b, size, 16);
    if (p != NULL)
        give(b, p, size, 16);
    return p == NULL;
}

static void failing_source_rules(void **state) {
    (void)state;
    fa_backend b;
    assert_int_equal(fa_source_failing(&b, fa_backend_system(), FA_FAIL_EVERY_NTH, 3), FA_OK);
    int pattern = 0;
    for (int i = 0; i < 9; i++)
        pattern = pattern * 2 + fails(&b, 64);
    assert_int_equal(pattern, 0x49); /* 001001001 */
    assert_int_equal(fa_source_failing_set(&b, FA_FAIL_NTH_ONCE, 2), FA_OK);
    assert_int_equal(fails(&b, 64) * 4 + fails(&b, 64) * 2 + fails(&b, 64), 2);
    assert_int_equal(fa_source_failing_set(&b, FA_FAIL_AFTER_BYTES, 1000), FA_OK);
    void *p = take(&b, 600, 16);
    assert_non_null(p);
    assert_true(fails(&b, 600)); /* 1200 outstanding would pass 1000 */
    assert_false(fails(&b, 400));
    give(&b, p, 600, 16);
    assert_false(fails(&b, 1000));
    fa_source_info info;
    fa_source_info_get(&b, &info);
    assert_string_equal(info.name, "failing");
    assert_int_equal(info.capacity, 1000);
    assert_int_equal(info.failures, 3 + 1 + 1);
    assert_int_equal(fa_source_failing_set(&b, FA_FAIL_NEVER, 0), FA_OK);
    assert_false(fails(&b, 1 << 20));
    fa_source_destroy(&b);

    fa_backend sys = fa_backend_system();
    assert_int_equal(fa_source_failing_set(&sys, FA_FAIL_NEVER, 0), FA_ERR_INVALID);
    assert_int_equal(fa_source_failing(&b, sys, (fa_fail_mode)9, 1), FA_ERR_INVALID);
}

static fa_backend_result mine(void *ctx, size_t size, size_t align, void **out) {
    (void)ctx, (void)size, (void)align, (void)out;
    return FA_BACKEND_FAIL;
}

static void info_and_destroy_on_other_backends(void **state) {
    (void)state;
    fa_backend sys = fa_backend_system();
    fa_source_info info;
    assert_int_equal(fa_source_info_get(&sys, &info), FA_OK);
    assert_string_equal(info.name, "system");
    fa_backend zero;
    memset(&zero, 0, sizeof zero);
    assert_int_equal(fa_source_info_get(&zero, &info), FA_OK);
    assert_string_equal(info.name, "system");
    fa_backend user = {NULL, mine, NULL};
    assert_int_equal(fa_source_info_get(&user, &info), FA_ERR_INVALID);
    assert_int_equal(fa_source_info_get(NULL, &info), FA_ERR_INVALID);
    fa_source_destroy(&sys); /* not ours to release: untouched */
    assert_non_null(sys.allocate);
    fa_source_destroy(&user);
    assert_ptr_equal(user.allocate, mine);
    fa_source_destroy(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mmap_source),
        cmocka_unit_test(mmap_runs_out_cleanly),
        cmocka_unit_test(huge_page_modes_fall_back_cleanly),
        cmocka_unit_test(numa_source_on_node_zero),
        cmocka_unit_test(fixed_source),
        cmocka_unit_test(fixed_region_exhaustion_is_clean),
        cmocka_unit_test(failing_source_rules),
        cmocka_unit_test(info_and_destroy_on_other_backends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
