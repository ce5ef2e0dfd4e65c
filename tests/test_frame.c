/* SPDX-License-Identifier: MIT */
/* The frame API (src/frame.c and the inline fast path in framealloc.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "track.h" /* a tracked library puts a red zone after each frame block */

static size_t natural(size_t n) {
    size_t a = n & (~n + 1);
    return a > _Alignof(max_align_t) ? _Alignof(max_align_t) : a;
}

static void allocations_are_distinct_and_writable(void **state) {
    struct fixture *f = fixture_of(state);
    enum { N = 2000 };
    static unsigned char *p[N];
    for (int i = 0; i < N; i++) {
        size_t size = (size_t)(i % 300) + 1;
        p[i] = (unsigned char *)fa_frame_alloc(f->a, size);
        assert_non_null(p[i]);
        memset(p[i], i & 0xff, size);
    }
    for (int i = 0; i < N; i++)
        for (size_t k = 0; k < (size_t)(i % 300) + 1; k++)
            assert_int_equal(p[i][k], i & 0xff);
}

static void natural_alignment_for_every_small_size(void **state) {
    struct fixture *f = fixture_of(state);
    for (size_t n = 1; n <= 512; n++) {
        fa_frame_alloc(f->a, 1); /* misalign the position first */
        uintptr_t p = (uintptr_t)fa_frame_alloc(f->a, n);
        assert_int_equal(p % natural(n), 0);
    }
}

static void natural_alignment_wastes_nothing_on_odd_sizes(void **state) {
    struct fixture *f = fixture_of(state);
    char *a = (char *)fa_frame_alloc(f->a, 7);
    char *b = (char *)fa_frame_alloc(f->a, 31);
    char *c = (char *)fa_frame_alloc(f->a, 63);
    assert_ptr_equal(b, a + 7 + FA__REDZONE);
    assert_ptr_equal(c, b + 31 + FA__REDZONE);
}

static void explicit_alignment_applies_to_the_address(void **state) {
    struct fixture *f = fixture_of(state);
    size_t aligns[] = {1, 2, 16, 64, 256, 4096, 65536, 1 << 20};
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof aligns / sizeof *aligns; i++) {
            fa_frame_alloc(f->a, 3);
            void *p = fa_frame_alloc_aligned(f->a, 100, aligns[i]);
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % aligns[i], 0);
            memset(p, 0xee, 100);
        }
}

struct cache_aligned {
    _Alignas(64) float position[3];
    float velocity[3];
};

static void typed_helpers_use_the_type_alignment(void **state) {
    struct fixture *f = fixture_of(state);
    fa_frame_alloc(f->a, 1);
    struct cache_aligned *one = fa_frame_new(f->a, struct cache_aligned);
    struct cache_aligned *many = fa_frame_new_array(f->a, struct cache_aligned, 100);
    assert_int_equal((uintptr_t)one % 64, 0);
    assert_int_equal((uintptr_t)many % 64, 0);
    memset(many, 0, 100 * sizeof *many);
    assert_true((char *)many >= (char *)(one + 1));
}

static void size_zero_is_a_unique_pointer_without_error(void **state) {
    struct fixture *f = fixture_of(state);
    void *a = fa_frame_alloc(f->a, 0);
    void *b = fa_frame_alloc(f->a, 0);
    void *c = fa_frame_alloc_aligned(f->a, 0, 64);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    assert_int_equal((uintptr_t)c % 64, 0);
    assert_non_null(fa_frame_calloc(f->a, 0, 8));
    assert_non_null(fa_frame_array(f->a, 0, 8, 8));
    assert_int_equal(f->ev.count, 0);
}

static void sizes_that_cannot_be_met_are_nomem(void **state) {
    struct fixture *f = fixture_of(state);
    assert_null(fa_frame_alloc(f->a, SIZE_MAX));
    assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
    assert_null(fa_frame_alloc(f->a, SIZE_MAX / 2 + 1));
    assert_null(fa_frame_alloc_aligned(f->a, 16, (size_t)1 << 63));
    assert_null(fa_frame_calloc(f->a, SIZE_MAX / 2, 3));
    assert_null(fa_frame_array(f->a, SIZE_MAX / 8, 16, 8));
    assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
    assert_int_equal(f->ev.count, 5);
    assert_int_equal(f->ev.last, FA_ERR_NOMEM);
    assert_non_null(fa_frame_alloc(f->a, 64)); /* still usable */
}

static void bad_alignment_is_invalid(void **state) {
    struct fixture *f = fixture_of(state);
    size_t bad[] = {0, 3, 6, 48, 100, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_null(fa_frame_alloc_aligned(f->a, 8, bad[i]));
        assert_int_equal(fa_last_error(), FA_ERR_INVALID);
        assert_null(fa_frame_array(f->a, 2, 8, bad[i]));
    }
    assert_int_equal(f->ev.count, 12);
    assert_int_equal(f->ev.last, FA_ERR_INVALID);
}

static void large_requests_take_the_slow_path(void **state) {
    struct fixture *f = fixture_of(state);
    size_t big = FA__FAST_MAX + 12345;
    char *p = (char *)fa_frame_alloc(f->a, big);
    assert_non_null(p);
    p[0] = 1;
    p[big - 1] = 2;
    assert_non_null(fa_frame_alloc(f->a, 100));
}

static void calloc_zeroes(void **state) {
    struct fixture *f = fixture_of(state);
    for (int round = 0; round < 2; round++) {
        unsigned char *p = (unsigned char *)fa_frame_calloc(f->a, 1000, 24);
        assert_non_null(p);
        for (size_t i = 0; i < 24000; i++)
            assert_int_equal(p[i], 0);
        assert_int_equal((uintptr_t)p % 8, 0);
        memset(p, 0xff, 24000);                 /* dirty it for the next frame */
        assert_int_equal(fa_end_frame(f->a), FA_OK);
        assert_int_equal(fa_begin_frame(f->a), FA_OK);
    }
}

static void strdup_and_printf_copy_into_the_frame(void **state) {
    struct fixture *f = fixture_of(state);
    const char *src = "entity/42";
    char *s = fa_frame_strdup(f->a, src);
    assert_string_equal(s, src);
    assert_ptr_not_equal(s, src);
    assert_string_equal(fa_frame_strdup(f->a, ""), "");
    char *line = fa_frame_printf(f->a, "FPS %d, %s, %.1f", 60, "ok", 16.5);
    assert_string_equal(line, "FPS 60, ok, 16.5");
    char *long_line = fa_frame_printf(f->a, "%200000d", 7); /* longer than a chunk */
    assert_non_null(long_line);
    assert_int_equal(strlen(long_line), 200000);
    assert_null(fa_frame_strdup(f->a, NULL));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_null(fa_frame_printf(f->a, NULL));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
}

/* A minimal build counts only the allocations the slow path serves: here
 * the first (it takes the frame's chunk) and the dedicated one. */
#define COUNTED(n) (FA_MINIMAL ? 2 : (n))

static void info_counts_allocations_and_bytes(void **state) {
    struct fixture *f = fixture_of(state);
    fa_frame_info info;
    assert_int_equal(fa_frame_info_get(f->a, &info), FA_OK);
    assert_int_equal(info.allocations, 0);
    assert_true(info.in_frame);
    for (int i = 0; i < 100; i++)
        fa_frame_alloc(f->a, 64);
    fa_frame_alloc(f->a, 1 << 25); /* slow path, dedicated chunk */
    assert_int_equal(fa_frame_info_get(f->a, &info), FA_OK);
    assert_int_equal(info.allocations, COUNTED(101));
    assert_int_equal(info.bytes, 100 * 64 + (1 << 25));
    assert_int_equal(fa_end_frame(f->a), FA_OK);
    assert_int_equal(fa_frame_info_get(f->a, &info), FA_OK); /* the frame just ended */
    assert_false(info.in_frame);
    assert_int_equal(info.allocations, COUNTED(101));
    assert_int_equal(info.chunks, 1);
    assert_int_equal(fa_frame_info_get(f->a, NULL), FA_ERR_INVALID);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
}

static void frame_order_is_checked(void **state) {
    struct fixture *f = fixture_of(state);
    assert_int_equal(fa_begin_frame(f->a), FA_ERR_STATE); /* nested */
    assert_non_null(fa_frame_alloc(f->a, 8));            /* the frame goes on */
    assert_int_equal(fa_end_frame(f->a), FA_OK);
    assert_int_equal(fa_end_frame(f->a), FA_ERR_STATE); /* end without begin */
    f->ev.count = 0;
    assert_null(fa_frame_alloc(f->a, 8)); /* outside a frame */
    assert_int_equal(fa_last_error(), FA_ERR_STATE);
    assert_null(fa_frame_alloc_aligned(f->a, 8, 64));
    assert_null(fa_frame_strdup(f->a, "x"));
    assert_null(fa_frame_printf(f->a, "x"));
    assert_null(fa_frame_calloc(f->a, 2, 2));
    assert_int_equal(f->ev.count, 5);
    assert_int_equal(f->ev.last, FA_ERR_STATE);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    assert_non_null(fa_frame_alloc(f->a, 8));
}

static void frame_number_counts_the_creators_frames(void **state) {
    struct fixture *f = fixture_of(state);
    assert_int_equal(fa_frame_number(f->a), 1); /* setup began the first */
    assert_int_equal(fa_end_frame(f->a), FA_OK);
    assert_int_equal(fa_frame_number(f->a), 1);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(fa_begin_frame(f->a), FA_OK);
        assert_int_equal(fa_end_frame(f->a), FA_OK);
    }
    assert_int_equal(fa_frame_number(f->a), 6);
    fa_alloc *fresh = fa_create(NULL);
    assert_int_equal(fa_frame_number(fresh), 0);
    fa_destroy(fresh);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
}

/* In a minimal build there is nothing to turn on, and the calls say so. */
static void minimal_builds_turn_everything_off(void **state) {
    struct fixture *f = fixture_of(state);
    fa_config cfg;
    fa_config_init(&cfg);
    assert_int_equal(cfg.disable, FA_MINIMAL ? FA_DISABLE_ALL : 0u);
    if (!FA_MINIMAL)
        return;
    fa_stats *st = (fa_stats *)calloc(1, sizeof *st);
    assert_int_equal(fa_stats_get(f->a, st), FA_ERR_STATE);
    assert_int_equal(fa_budget_set(f->a, NULL, 0, 100), FA_ERR_STATE);
    assert_int_equal(fa_tag_push(f->a, "checked"), FA_OK);
    assert_non_null(fa_frame_alloc(f->a, 64));
    assert_int_equal(fa_tag_pop(f->a), FA_OK);
    free(st);
}


/* ---- the arena handle ---------------------------------------------------- */

/* The handle bumps the same arena as fa_frame_alloc: the two interleave
 * contiguously and count together. */
static void the_arena_handle_bumps_the_threads_frame(void **state) {
    struct fixture *f = fixture_of(state);
    fa_arena *ar = fa_arena_get(f->a);
    assert_non_null(ar);
    assert_ptr_equal(fa_arena_get(f->a), ar); /* one per thread and allocator */
    char *x = (char *)fa_arena_alloc(ar, 64);
    char *y = (char *)fa_frame_alloc(f->a, 64);
    char *z = (char *)fa_arena_alloc(ar, 64);
    assert_ptr_equal(y, x + 64 + FA__REDZONE);
    assert_ptr_equal(z, y + 64 + FA__REDZONE);
    for (size_t size = 1; size <= 64; size++)
        assert_int_equal((uintptr_t)fa_arena_alloc(ar, size) % natural(size), 0);
    assert_int_equal((uintptr_t)fa_arena_alloc_aligned(ar, 100, 4096) % 4096, 0);
    struct big {
        _Alignas(64) char c[100];
    } *b = fa_arena_new(ar, struct big);
    assert_int_equal((uintptr_t)b % 64, 0);
    double *d = fa_arena_new_array(ar, double, 1000);
    assert_non_null(d);
    d[999] = 1.0;
    fa_frame_info info;
    assert_int_equal(fa_frame_info_get(f->a, &info), FA_OK);
    if (!FA_MINIMAL) /* a minimal build counts slow-path allocations only */
        assert_int_equal(info.allocations, 3 + 64 + 3);
}

/* Everything fa_frame_alloc refuses, the handle refuses alike, its events
 * naming the handle's call. */
static void the_arena_handle_refuses_as_fa_frame_alloc_does(void **state) {
    struct fixture *f = fixture_of(state);
    fa_arena *ar = fa_arena_get(f->a);
    assert_null(fa_arena_alloc_aligned(ar, 16, 3));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_non_null(strstr(f->ev.message, "fa_arena_alloc"));
    assert_null(fa_arena_alloc(ar, SIZE_MAX));
    assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
    assert_null(fa_arena_array(ar, SIZE_MAX / 2, 4, 4));
    assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
    assert_non_null(fa_arena_alloc(ar, 0)); /* a unique pointer, no error */
    void *large = fa_arena_alloc(ar, (size_t)8 << 20); /* past the chunk: the slow path */
    assert_non_null(large);
    memset(large, 1, (size_t)8 << 20);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
    assert_null(fa_arena_alloc(ar, 64)); /* outside a frame */
    assert_int_equal(fa_last_error(), FA_ERR_STATE);
    assert_non_null(strstr(f->ev.message, "fa_arena_alloc: not in a frame"));
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    assert_non_null(fa_arena_alloc(ar, 64)); /* the handle outlives frames */
}

static void a_null_arena_handle_is_invalid(void **state) {
    (void)state;
    assert_null(fa_arena_get(NULL));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    fa_arena *none = NULL;
    assert_null(fa_arena_alloc(none, 64));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_null(fa_arena_alloc_aligned(none, 64, 64));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_null(fa_arena_new_array(none, int, 10));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
}

/* Marks, rewinds and tags act on what the handle allocated, as on
 * fa_frame_alloc's. */
static void rewinds_and_tags_see_the_handles_allocations(void **state) {
    struct fixture *f = fixture_of(state);
    fa_arena *ar = fa_arena_get(f->a);
    fa_mark m = fa_frame_mark(f->a);
    void *first = fa_arena_alloc(ar, 256);
    assert_int_equal(fa_tag_push(f->a, "handle"), FA_OK);
    for (int i = 0; i < 10; i++)
        assert_non_null(fa_arena_alloc(ar, 1000));
    assert_int_equal(fa_tag_pop(f->a), FA_OK);
    assert_int_equal(fa_frame_rewind(f->a, m), FA_OK);
    assert_ptr_equal(fa_arena_alloc(ar, 256), first);
    if (FA_MINIMAL)
        return;
    fa_stats *st = stats_of(f->a);
    assert_non_null(st);
    assert_int_equal(st->tags[tag_index(st, "handle")].frame.live_bytes, 0); /* rewound */
    assert_int_equal(st->tags[tag_index(st, "handle")].frame.allocations, 10);
    free(st);
}

/* Allocators past the fast slots get handles too; their inline calls bump. */
static void allocators_without_a_slot_have_arena_handles(void **state) {
    (void)state;
    fa_alloc *fill[FA__SLOTS];
    int filled = 0;
    fa_alloc *spare;
    while ((spare = fa_create(NULL)) != NULL && filled < FA__SLOTS)
        fill[filled++] = spare;
    assert_non_null(spare);
    fa_arena *ar = fa_arena_get(spare);
    assert_int_equal(fa_begin_frame(spare), FA_OK);
    char *x = (char *)fa_arena_alloc(ar, 32);
    assert_ptr_equal(fa_arena_alloc(ar, 32), x + 32 + FA__REDZONE);
    assert_int_equal(fa_end_frame(spare), FA_OK);
    fa_destroy(spare);
    while (filled > 0)
        fa_destroy(fill[--filled]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        FRAME_FIXTURE_TEST(allocations_are_distinct_and_writable),
        FRAME_FIXTURE_TEST(natural_alignment_for_every_small_size),
        FRAME_FIXTURE_TEST(natural_alignment_wastes_nothing_on_odd_sizes),
        FRAME_FIXTURE_TEST(explicit_alignment_applies_to_the_address),
        FRAME_FIXTURE_TEST(typed_helpers_use_the_type_alignment),
        FRAME_FIXTURE_TEST(size_zero_is_a_unique_pointer_without_error),
        FRAME_FIXTURE_TEST(sizes_that_cannot_be_met_are_nomem),
        FRAME_FIXTURE_TEST(bad_alignment_is_invalid),
        FRAME_FIXTURE_TEST(large_requests_take_the_slow_path),
        FRAME_FIXTURE_TEST(calloc_zeroes),
        FRAME_FIXTURE_TEST(strdup_and_printf_copy_into_the_frame),
        FRAME_FIXTURE_TEST(info_counts_allocations_and_bytes),
        FRAME_FIXTURE_TEST(frame_order_is_checked),
        FRAME_FIXTURE_TEST(frame_number_counts_the_creators_frames),
        FRAME_FIXTURE_TEST(minimal_builds_turn_everything_off),
        FRAME_FIXTURE_TEST(the_arena_handle_bumps_the_threads_frame),
        FRAME_FIXTURE_TEST(the_arena_handle_refuses_as_fa_frame_alloc_does),
        cmocka_unit_test(a_null_arena_handle_is_invalid),
        FRAME_FIXTURE_TEST(rewinds_and_tags_see_the_handles_allocations),
        cmocka_unit_test(allocators_without_a_slot_have_arena_handles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
