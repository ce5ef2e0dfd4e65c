/* SPDX-License-Identifier: MIT */
/* Growing, shrinking and sizing blocks (issue #16): fa_pool_realloc,
 * fa_realloc_aligned, fa_usable_size, fa_pool_calloc, fa_pool_new (pool.c),
 * fa_frame_realloc, fa_arena_realloc and the handle's marks (frame.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "track.h" /* a tracked library serves every frame allocation on its slow path: it moves */

static void fill(unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 31 + seed);
}

static int holds(const unsigned char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 31 + seed))
            return 0;
    return 1;
}

/* ---- pool and heap blocks ------------------------------------------------ */

static void realloc_grows_and_shrinks_keeping_the_bytes(void **state) {
    fa_alloc *a = alloc_of(state);
    unsigned char *p = (unsigned char *)fa_pool_realloc(a, NULL, 20); /* NULL allocates */
    assert_non_null(p);
    fill(p, 20, 1);
    unsigned char *q = (unsigned char *)fa_pool_realloc(a, p, 30); /* the 32 B class: in place */
    assert_ptr_equal(q, p);
    size_t sizes[] = {100, 1000, 4096, 5000, 70000, 300, 17};
    size_t kept = 20;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        q = (unsigned char *)fa_pool_realloc(a, q, sizes[i]);
        assert_non_null(q);
        assert_true(holds(q, kept < sizes[i] ? kept : sizes[i], 1));
        fill(q, sizes[i], 1);
        kept = sizes[i];
        assert_true(fa_usable_size(a, q) >= sizes[i]);
    }
    assert_int_equal(fa_usable_size(a, q), 32); /* 17 B moved down to the 32 B class */
    assert_int_equal(fa_pool_free(a, q), FA_OK);
}

static void a_heap_block_shrinks_in_place_by_less_than_half(void **state) {
    fa_alloc *a = alloc_of(state);
    unsigned char *p = (unsigned char *)fa_pool_realloc(a, NULL, 10000);
    fill(p, 10000, 2);
    assert_int_equal(fa_usable_size(a, p), 10000);
    assert_ptr_equal(fa_pool_realloc(a, p, 6000), p);
    unsigned char *q = (unsigned char *)fa_pool_realloc(a, p, 4000); /* less than half: moves */
    assert_ptr_not_equal(q, p);
    assert_true(holds(q, 4000, 2));
    assert_int_equal(fa_usable_size(a, q), 4096);
    assert_int_equal(fa_pool_free(a, q), FA_OK);
}

static void size_zero_frees_and_returns_a_unique_block(void **state) {
    fa_alloc *a = alloc_of(state);
    void *p = fa_pool_alloc(a, 64);
    void *z = fa_pool_realloc(a, p, 0);
    assert_non_null(z);
    void *z2 = fa_pool_realloc(a, NULL, 0);
    assert_non_null(z2);
    assert_ptr_not_equal(z, z2);
    assert_int_equal(fa_pool_free(a, p), FA_ERR_DOUBLE_FREE); /* p went back */
    assert_int_equal(fa_pool_free(a, z), FA_OK);
    assert_int_equal(fa_pool_free(a, z2), FA_OK);
}

static void a_foreign_or_freed_pointer_is_refused_untouched(void **state) {
    struct fixture *f = fixture_of(state);
    unsigned char local[64];
    memset(local, 0x5a, sizeof local);
    assert_null(fa_pool_realloc(f->a, local, 100));
    assert_int_equal(fa_last_error(), FA_ERR_FOREIGN);
    assert_int_equal(fa_usable_size(f->a, local), 0);
    assert_int_equal(fa_last_error(), FA_ERR_FOREIGN);
    for (size_t i = 0; i < sizeof local; i++)
        assert_int_equal(local[i], 0x5a);
    void *p = fa_pool_alloc(f->a, 40);
    assert_int_equal(fa_pool_free(f->a, p), FA_OK);
    assert_null(fa_pool_realloc(f->a, p, 100));
    assert_int_equal(fa_last_error(), FA_ERR_DOUBLE_FREE);
    assert_int_equal(fa_usable_size(f->a, NULL), 0);
    assert_null(fa_realloc_aligned(f->a, NULL, 10, 3));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
}

/* A failed move leaves the block as it was. */
static void a_failed_realloc_leaves_the_block_intact(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    fa_alloc *a = fa_create(&cfg);
    unsigned char *p = (unsigned char *)fa_pool_alloc(a, 100);
    fill(p, 100, 3);
    atomic_store(&c.fail_from, atomic_load(&c.requests) + 1); /* the source runs out */
    assert_null(fa_pool_realloc(a, p, 200000));
    assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
    assert_true(holds(p, 100, 3));
    assert_int_equal(fa_usable_size(a, p), 128);
    atomic_store(&c.fail_from, 0);
    assert_int_equal(fa_pool_free(a, p), FA_OK);
    fa_destroy(a);
    assert_int_equal(c.bytes_out, 0);
}

static void an_aligned_realloc_keeps_its_alignment(void **state) {
    fa_alloc *a = alloc_of(state);
    size_t aligns[] = {8, 64, 256, 4096, 65536};
    for (size_t i = 0; i < sizeof aligns / sizeof *aligns; i++) {
        unsigned char *p = (unsigned char *)fa_realloc_aligned(a, NULL, 24, aligns[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % aligns[i], 0);
        fill(p, 24, 4);
        for (size_t size = 48; size < 20000; size *= 3) {
            p = (unsigned char *)fa_realloc_aligned(a, p, size, aligns[i]);
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % aligns[i], 0);
            assert_true(holds(p, 24, 4));
        }
        assert_int_equal(fa_pool_free(a, p), FA_OK);
    }
}

struct aligned64 {
    _Alignas(64) char c[64];
};
struct big_aligned {
    _Alignas(128) char c[8192];
};

static void calloc_zeroes_and_new_aligns(void **state) {
    fa_alloc *a = alloc_of(state);
    unsigned char *p = (unsigned char *)fa_pool_alloc(a, 256);
    memset(p, 0xff, 256);
    assert_int_equal(fa_pool_free(a, p), FA_OK);
    unsigned char *z = (unsigned char *)fa_pool_calloc(a, 8, 32); /* likely the same block again */
    for (int i = 0; i < 256; i++)
        assert_int_equal(z[i], 0);
    assert_null(fa_pool_calloc(a, SIZE_MAX / 2, 4));
    assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
    struct aligned64 *x = fa_pool_new(a, struct aligned64);
    struct big_aligned *y = fa_pool_new(a, struct big_aligned);
    assert_int_equal((uintptr_t)x % 64, 0);
    assert_int_equal((uintptr_t)y % 128, 0);
    assert_int_equal(fa_pool_free(a, z), FA_OK);
    assert_int_equal(fa_pool_free(a, x), FA_OK);
    assert_int_equal(fa_pool_free(a, y), FA_OK);
}

/* A callback table of Vulkan's shape (VkAllocationCallbacks): allocation,
 * reallocation and free, each with an alignment, map one to one. */
struct callbacks {
    void *user;
    void *(*allocation)(void *user, size_t size, size_t align, int scope);
    void *(*reallocation)(void *user, void *original, size_t size, size_t align, int scope);
    void (*free)(void *user, void *memory);
};

static void *cb_alloc(void *user, size_t size, size_t align, int scope) {
    (void)scope;
    return fa_realloc_aligned((fa_alloc *)user, NULL, size, align);
}
static void *cb_realloc(void *user, void *original, size_t size, size_t align, int scope) {
    (void)scope;
    return fa_realloc_aligned((fa_alloc *)user, original, size, align);
}
static void cb_free(void *user, void *memory) {
    fa_pool_free((fa_alloc *)user, memory);
}

static void a_vulkan_shaped_callback_table_works(void **state) {
    struct fixture *f = fixture_of(state);
    struct callbacks cb = {f->a, cb_alloc, cb_realloc, cb_free};
    void *blocks[32];
    for (int i = 0; i < 32; i++) {
        size_t align = (size_t)8 << (i % 8);
        blocks[i] = cb.allocation(cb.user, (size_t)(i * 397 + 1), align, 1);
        assert_non_null(blocks[i]);
        assert_int_equal((uintptr_t)blocks[i] % align, 0);
        fill((unsigned char *)blocks[i], (size_t)(i * 397 + 1), (unsigned)i);
    }
    for (int i = 0; i < 32; i++) {
        size_t align = (size_t)8 << (i % 8);
        blocks[i] = cb.reallocation(cb.user, blocks[i], (size_t)(i * 797 + 50), align, 1);
        assert_int_equal((uintptr_t)blocks[i] % align, 0);
        assert_true(holds((unsigned char *)blocks[i], (size_t)(i * 397 + 1), (unsigned)i));
    }
    for (int i = 0; i < 32; i++)
        cb.free(cb.user, blocks[i]);
    cb.free(cb.user, NULL); /* Vulkan may free NULL */
    assert_int_equal(f->ev.count, 0);
}

/* ---- frame memory -------------------------------------------------------- */

static void the_last_frame_allocation_grows_in_place(void **state) {
    fa_alloc *a = alloc_of(state);
    unsigned char *p = (unsigned char *)fa_frame_realloc(a, NULL, 0, 16);
    fill(p, 16, 5);
    unsigned char *q = (unsigned char *)fa_frame_realloc(a, p, 16, 400);
    fa_frame_info info;
    fa_frame_info_get(a, &info);
    if (!FA__TRACKED) {
        assert_ptr_equal(q, p);
        assert_int_equal(info.allocations, 1); /* still one allocation */
    }
    assert_true(holds(q, 16, 5));
    fill(q, 400, 5);
    assert_ptr_equal(fa_frame_realloc(a, q, 400, 100), q); /* shrinks in place */
    void *other = fa_frame_alloc(a, 8);
    unsigned char *r = (unsigned char *)fa_frame_realloc(a, q, 100, 800); /* no longer the last: a copy */
    assert_ptr_not_equal(r, q);
    assert_true((uintptr_t)r > (uintptr_t)other);
    assert_true(holds(r, 100, 5));
}

static void growth_past_the_chunk_copies(void **state) {
    fa_alloc *a = alloc_of(state);
    size_t size = 1000;
    unsigned char *p = (unsigned char *)fa_frame_alloc(a, size);
    fill(p, size, 6);
    while (size < (4u << 20)) { /* across every chunk size, and to a dedicated chunk */
        p = (unsigned char *)fa_frame_realloc(a, p, size, size * 2);
        assert_non_null(p);
        assert_true(holds(p, size, 6));
        size *= 2;
        fill(p, size, 6);
    }
}

static void frame_realloc_outside_a_frame_is_refused(void **state) {
    struct fixture *f = fixture_of(state);
    assert_null(fa_frame_realloc(f->a, NULL, 0, 10));
    assert_int_equal(fa_last_error(), FA_ERR_STATE);
}

static void arena_realloc_keeps_alignment_and_marks_work(void **state) {
    fa_alloc *a = alloc_of(state);
    fa_arena *ar = fa_arena_get(a);
    fa_mark m = fa_arena_mark(ar);
    unsigned char *p = (unsigned char *)fa_arena_alloc_aligned(ar, 64, 64);
    fill(p, 64, 7);
    fa_arena_alloc(ar, 3);
    p = (unsigned char *)fa_arena_realloc(ar, p, 64, 640, 256);
    assert_int_equal((uintptr_t)p % 256, 0);
    assert_true(holds(p, 64, 7));
    assert_null(fa_arena_realloc(ar, p, 640, 700, 48));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_int_equal(fa_arena_rewind(ar, m), FA_OK);
    fa_frame_info info;
    fa_frame_info_get(a, &info);
    assert_int_equal(info.allocations, 0);
    assert_null(fa_arena_realloc(NULL, NULL, 0, 8, 8));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
}

/* The debug levels check the old size the caller vouches for, and always
 * move the block. */
static void a_debug_level_checks_the_old_size(void **state) {
    (void)state;
    fa_debug levels[] = {FA_DEBUG_GUARD, FA_DEBUG_MALLOC};
    for (size_t k = 0; k < 2; k++) {
        struct counting c;
        struct events ev;
        fa_config cfg = test_config(&c, &ev);
        cfg.debug = levels[k];
        fa_alloc *a = fa_create(&cfg);
        assert_int_equal(fa_begin_frame(a), FA_OK);
        unsigned char *p = (unsigned char *)fa_frame_alloc(a, 40);
        fill(p, 40, 8);
        assert_null(fa_frame_realloc(a, p, 41, 80));
        assert_int_equal(fa_last_error(), FA_ERR_INVALID);
        unsigned char *q = (unsigned char *)fa_frame_realloc(a, p, 40, 80);
        assert_non_null(q);
        assert_ptr_not_equal(q, p);
        assert_true(holds(q, 40, 8));
        unsigned char *r = (unsigned char *)fa_pool_realloc(a, fa_pool_alloc(a, 30), 31);
        assert_non_null(r);
        assert_int_equal(fa_usable_size(a, r), 31); /* the size asked for */
        assert_int_equal(fa_pool_free(a, r), FA_OK);
        assert_int_equal(fa_end_frame(a), FA_OK);
        assert_int_equal(fa_check(a), FA_OK);
        fa_destroy(a);
        assert_int_equal(c.bytes_out, 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(realloc_grows_and_shrinks_keeping_the_bytes),
        FIXTURE_TEST(a_heap_block_shrinks_in_place_by_less_than_half),
        FIXTURE_TEST(size_zero_frees_and_returns_a_unique_block),
        FIXTURE_TEST(a_foreign_or_freed_pointer_is_refused_untouched),
        cmocka_unit_test(a_failed_realloc_leaves_the_block_intact),
        FIXTURE_TEST(an_aligned_realloc_keeps_its_alignment),
        FIXTURE_TEST(calloc_zeroes_and_new_aligns),
        FIXTURE_TEST(a_vulkan_shaped_callback_table_works),
        FRAME_FIXTURE_TEST(the_last_frame_allocation_grows_in_place),
        FRAME_FIXTURE_TEST(growth_past_the_chunk_copies),
        FIXTURE_TEST(frame_realloc_outside_a_frame_is_refused),
        FRAME_FIXTURE_TEST(arena_realloc_keeps_alignment_and_marks_work),
        cmocka_unit_test(a_debug_level_checks_the_old_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
