/* SPDX-License-Identifier: MIT */
/* The free extents of a range (src/source/extents.c), white-box: first-fit
 * takes at the lowest aligned start, alignments up to the range's own size,
 * refusals when nothing fits, gives that coalesce with the left, the right
 * or both neighbours, a validator that holds after every change and rejects
 * broken lists, and a seeded random run of takes and gives against a bitmap
 * model of the range. The extents never touch the memory they describe, so
 * every range here is a made-up address. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "source/extents.h"

#define BASE ((uintptr_t)0x100000)
#define RANGE ((size_t)1 << 20)
#define KB ((size_t)1024)

static void fresh(struct fa_extents *x, uintptr_t start, size_t size) {
    assert_true(fa__extents_init(x, start, size));
    assert_true(fa__extents_check(x));
    assert_int_equal(x->count, 1);
}

/* A take that must succeed, with the validator run after it. */
static uintptr_t take(struct fa_extents *x, size_t size, size_t align) {
    uintptr_t at = fa__extents_take(x, size, align);
    assert_true(fa__extents_check(x));
    assert_int_not_equal(at, 0);
    assert_int_equal(at % align, 0);
    return at;
}

static void give(struct fa_extents *x, uintptr_t start, size_t size) {
    fa__extents_give(x, start, size);
    assert_true(fa__extents_check(x));
}

static size_t free_total(const struct fa_extents *x) {
    size_t total = 0;
    for (size_t i = 0; i < x->count; i++)
        total += x->free[i].size;
    return total;
}

static void assert_extent(const struct fa_extents *x, size_t i, uintptr_t start, size_t size) {
    assert_true(i < x->count);
    assert_int_equal(x->free[i].start, start);
    assert_int_equal(x->free[i].size, size);
}

static void a_fresh_range_is_one_extent(void **state) {
    (void)state;
    struct fa_extents x;
    fresh(&x, BASE, RANGE);
    assert_extent(&x, 0, BASE, RANGE);
    assert_true(x.capacity >= 1);
    fa__extents_fini(&x);
    assert_null(x.free);
    assert_int_equal(x.count, 0);
    assert_int_equal(x.capacity, 0);
}

static void takes_return_the_lowest_start_that_fits(void **state) {
    (void)state;
    struct fa_extents x;
    fresh(&x, BASE, RANGE);
    uintptr_t a = take(&x, 4 * KB, 1), b = take(&x, 8 * KB, 1), c = take(&x, 4 * KB, 1);
    assert_int_equal(a, BASE); /* first fit from the bottom, one after another */
    assert_int_equal(b, BASE + 4 * KB);
    assert_int_equal(c, BASE + 12 * KB);
    give(&x, b, 8 * KB); /* a hole of 8 KB below the tail */
    assert_int_equal(x.count, 2);
    assert_int_equal(take(&x, 16 * KB, 1), BASE + 16 * KB); /* too big for the hole: the tail */
    assert_int_equal(take(&x, 2 * KB, 1), b);               /* the hole is lower */
    assert_int_equal(take(&x, 6 * KB, 1), b + 2 * KB);      /* the rest of it, exactly */
    assert_int_equal(x.count, 1);                           /* a hole filled exactly goes */
    assert_extent(&x, 0, BASE + 32 * KB, RANGE - 32 * KB);
    fa__extents_fini(&x);
}

static void alignment_is_honoured_up_to_the_range_size(void **state) {
    (void)state;
    const uintptr_t start = BASE + 0x30; /* aligned to 16 and no more */
    for (size_t align = 1; align <= RANGE / 2; align <<= 1) {
        struct fa_extents x;
        fresh(&x, start, RANGE);
        uintptr_t want = (start + align - 1) & ~(uintptr_t)(align - 1);
        uintptr_t at = take(&x, 100, align);
        assert_int_equal(at, want); /* the lowest aligned start */
        size_t before = (size_t)(at - start);
        assert_int_equal(x.count, before != 0 ? 2 : 1); /* the gap below stays free */
        if (before != 0) {
            assert_extent(&x, 0, start, before);
            assert_int_equal(take(&x, 16, 16), start); /* and is the lowest fit now */
            give(&x, start, 16);
        }
        assert_int_equal(free_total(&x), RANGE - 100);
        give(&x, at, 100);
        assert_int_equal(x.count, 1);
        assert_extent(&x, 0, start, RANGE);
        fa__extents_fini(&x);
    }
    /* A range on a large boundary: an alignment of the range's whole size fits
     * once, at its start, and twice that fits nowhere inside it. */
    struct fa_extents x;
    fresh(&x, BASE, RANGE);
    assert_int_equal(fa__extents_take(&x, 1, (size_t)1 << 21), 0);
    assert_true(fa__extents_check(&x));
    assert_extent(&x, 0, BASE, RANGE); /* a refusal changes nothing */
    assert_int_equal(take(&x, 4 * KB, RANGE), BASE);
    assert_int_equal(fa__extents_take(&x, 4 * KB, RANGE), 0);
    assert_int_equal(take(&x, 4 * KB, RANGE / 2), BASE + RANGE / 2);
    assert_int_equal(x.count, 2);
    fa__extents_fini(&x);
}

static void an_exhausted_range_refuses_every_take(void **state) {
    (void)state;
    struct fa_extents x;
    fresh(&x, BASE, RANGE);
    assert_int_equal(fa__extents_take(&x, RANGE + 1, 1), 0); /* larger than the range */
    assert_extent(&x, 0, BASE, RANGE);
    assert_int_equal(take(&x, RANGE, 4096), BASE);
    assert_int_equal(x.count, 0);
    assert_int_equal(fa__extents_take(&x, 1, 1), 0);
    assert_int_equal(fa__extents_take(&x, 4096, 4096), 0);
    assert_true(fa__extents_check(&x));
    give(&x, BASE, RANGE);
    assert_int_equal(x.count, 1);
    assert_extent(&x, 0, BASE, RANGE);
    /* Fragmented: 64 KB free in all, no 16 KB of it in one piece. */
    uintptr_t blocks[64];
    for (int i = 0; i < 64; i++)
        blocks[i] = take(&x, 16 * KB, 1);
    assert_int_equal(x.count, 0);
    for (int i = 0; i < 64; i += 8)
        give(&x, blocks[i], 8 * KB); /* the lower half of every eighth block */
    assert_int_equal(free_total(&x), 64 * KB);
    assert_int_equal(x.count, 8);
    assert_int_equal(fa__extents_take(&x, 16 * KB, 1), 0);
    assert_int_equal(fa__extents_take(&x, 8 * KB, 16 * KB), blocks[0]); /* BASE is 16 KB-aligned */
    assert_true(fa__extents_check(&x));
    fa__extents_fini(&x);
}

/* Four 4 KB blocks taken from the bottom of a 64 KB range, the rest free. */
static void four_taken(struct fa_extents *x, uintptr_t b[4]) {
    fresh(x, BASE, 64 * KB);
    for (int i = 0; i < 4; i++)
        b[i] = take(x, 4 * KB, 4 * KB);
    assert_int_equal(x->count, 1);
    assert_extent(x, 0, BASE + 16 * KB, 48 * KB);
}

static void a_range_given_between_taken_ones_stands_alone(void **state) {
    (void)state;
    struct fa_extents x;
    uintptr_t b[4];
    four_taken(&x, b);
    give(&x, b[1], 4 * KB);
    assert_int_equal(x.count, 2);
    assert_extent(&x, 0, b[1], 4 * KB);
    assert_extent(&x, 1, BASE + 16 * KB, 48 * KB);
    fa__extents_fini(&x);
}

static void a_given_range_coalesces_with_its_left_neighbour(void **state) {
    (void)state;
    struct fa_extents x;
    uintptr_t b[4];
    four_taken(&x, b);
    give(&x, b[0], 4 * KB);
    give(&x, b[1], 4 * KB); /* b[2] still taken on its right */
    assert_int_equal(x.count, 2);
    assert_extent(&x, 0, BASE, 8 * KB);
    assert_extent(&x, 1, BASE + 16 * KB, 48 * KB);
    fa__extents_fini(&x);
}

static void a_given_range_coalesces_with_its_right_neighbour(void **state) {
    (void)state;
    struct fa_extents x;
    uintptr_t b[4];
    four_taken(&x, b);
    give(&x, b[1], 4 * KB);
    give(&x, b[0], 4 * KB); /* nothing free on its left: the bottom of the range */
    assert_int_equal(x.count, 2);
    assert_extent(&x, 0, BASE, 8 * KB);
    give(&x, b[3], 4 * KB); /* b[2] still taken on its left; the tail on its right */
    assert_int_equal(x.count, 2);
    assert_extent(&x, 1, b[3], 52 * KB);
    fa__extents_fini(&x);
}

static void a_given_range_coalesces_with_both_neighbours(void **state) {
    (void)state;
    struct fa_extents x;
    uintptr_t b[4];
    four_taken(&x, b);
    give(&x, b[1], 4 * KB);
    give(&x, b[3], 4 * KB);
    assert_int_equal(x.count, 2);
    give(&x, b[2], 4 * KB); /* bridges [b1] and [b3 .. end] */
    assert_int_equal(x.count, 1);
    assert_extent(&x, 0, b[1], 60 * KB);
    give(&x, b[0], 4 * KB);
    assert_int_equal(x.count, 1);
    assert_extent(&x, 0, BASE, 64 * KB); /* all back: the whole range again */
    fa__extents_fini(&x);
}

static void many_holes_grow_the_bookkeeping_and_close_up_again(void **state) {
    (void)state;
    struct fa_extents x;
    fresh(&x, BASE, RANGE);
    enum { BLOCKS = 256 };
    uintptr_t b[BLOCKS];
    for (int i = 0; i < BLOCKS; i++)
        b[i] = take(&x, 4 * KB, 4 * KB);
    assert_int_equal(x.count, 0);
    for (int i = 0; i < BLOCKS; i += 2)
        give(&x, b[i], 4 * KB);
    assert_int_equal(x.count, BLOCKS / 2); /* no two of them touch */
    assert_true(x.capacity >= BLOCKS / 2);
    for (size_t i = 0; i < x.count; i++)
        assert_extent(&x, i, b[2 * i], 4 * KB);
    for (int i = BLOCKS - 1; i > 0; i -= 2) /* top down: each bridges two */
        give(&x, b[i], 4 * KB);
    assert_int_equal(x.count, 1);
    assert_extent(&x, 0, BASE, RANGE);
    fa__extents_fini(&x);
}

static void the_check_rejects_broken_lists(void **state) {
    (void)state;
    struct fa_extent items[3] = {{BASE, 4 * KB}, {BASE + 8 * KB, 4 * KB}, {BASE + 16 * KB, 4 * KB}};
    struct fa_extents x = {items, 3, 3};
    assert_true(fa__extents_check(&x));
    items[1].start = BASE + 4 * KB; /* touches the one before: not coalesced */
    assert_false(fa__extents_check(&x));
    items[1].start = BASE + 2 * KB; /* overlaps it */
    assert_false(fa__extents_check(&x));
    items[1].start = BASE + 32 * KB; /* out of order */
    assert_false(fa__extents_check(&x));
    items[1].start = BASE + 8 * KB;
    items[1].size = 0; /* empty */
    assert_false(fa__extents_check(&x));
    items[1].size = 4 * KB;
    items[2].start = UINTPTR_MAX - KB; /* runs past the end of the address space */
    assert_false(fa__extents_check(&x));
    items[2].start = BASE + 16 * KB;
    x.capacity = 2; /* more extents than room */
    assert_false(fa__extents_check(&x));
    x.capacity = 3;
    assert_true(fa__extents_check(&x));
}

/* The model: one bit per granule of the range, set while taken. */
#define GRANULE ((size_t)256)
#define GRANULES (RANGE / GRANULE)

struct taken {
    uintptr_t start;
    size_t    size;
};

/* The lowest start aligned to align with size bytes free in the model, or 0. */
static uintptr_t model_first_fit(const unsigned char *used, size_t size, size_t align) {
    size_t need = size / GRANULE;
    for (uintptr_t at = (BASE + align - 1) & ~(uintptr_t)(align - 1); at + size <= BASE + RANGE; at += align) {
        size_t g = (size_t)(at - BASE) / GRANULE, n = 0;
        while (n < need && !used[g + n])
            n++;
        if (n == need)
            return at;
    }
    return 0;
}

/* The extents are exactly the model's maximal free runs. */
static void assert_matches_model(const struct fa_extents *x, const unsigned char *used, size_t taken_bytes) {
    assert_true(fa__extents_check(x));
    size_t i = 0, g = 0;
    while (g < GRANULES) {
        if (used[g]) {
            g++;
            continue;
        }
        size_t run = g;
        while (run < GRANULES && !used[run])
            run++;
        assert_extent(x, i, BASE + g * GRANULE, (run - g) * GRANULE);
        i++;
        g = run;
    }
    assert_int_equal(i, x->count);
    assert_int_equal(free_total(x) + taken_bytes, RANGE);
}

static void random_takes_and_gives_agree_with_a_bitmap_model(void **state) {
    (void)state;
    enum { MAX_TAKEN = 512, STEPS = 20000 };
    static unsigned char used[GRANULES];
    static struct taken taken[MAX_TAKEN];
    memset(used, 0, sizeof used);
    struct rng r = rng_seeded(20240611);
    struct fa_extents x;
    fresh(&x, BASE, RANGE);
    size_t n = 0, taken_bytes = 0, refusals = 0, max_count = 0;
    for (int step = 0; step < STEPS; step++) {
        if (n < MAX_TAKEN && (n == 0 || rng_below(&r, 100) < 55)) {
            size_t size = (1 + rng_below(&r, rng_below(&r, 4) == 0 ? 256 : 16)) * GRANULE;
            size_t align = GRANULE << rng_below(&r, 9); /* 256 B to 64 KB */
            if (rng_below(&r, 8) == 0)
                align = (size_t)1 << rng_below(&r, 9); /* below a granule: a granule's alignment serves */
            uintptr_t want = model_first_fit(used, size, align < GRANULE ? GRANULE : align);
            uintptr_t at = fa__extents_take(&x, size, align);
            assert_true(fa__extents_check(&x));
            assert_int_equal(at, want);
            if (at == 0) {
                refusals++;
                continue;
            }
            assert_true(at >= BASE && at + size <= BASE + RANGE); /* inside the range */
            size_t g = (size_t)(at - BASE) / GRANULE;
            for (size_t k = 0; k < size / GRANULE; k++) {
                assert_false(used[g + k]); /* overlaps nothing taken */
                used[g + k] = 1;
            }
            taken[n++] = (struct taken){at, size};
            taken_bytes += size;
        } else {
            size_t i = rng_below(&r, n);
            struct taken t = taken[i];
            taken[i] = taken[--n];
            size_t g = (size_t)(t.start - BASE) / GRANULE;
            for (size_t k = 0; k < t.size / GRANULE; k++)
                used[g + k] = 0;
            taken_bytes -= t.size;
            give(&x, t.start, t.size);
        }
        if (x.count > max_count)
            max_count = x.count;
        if (step % 64 == 0)
            assert_matches_model(&x, used, taken_bytes);
    }
    assert_matches_model(&x, used, taken_bytes);
    assert_true(refusals > 0);  /* the run reached a full range ... */
    assert_true(max_count > 16); /* ... and a fragmented one */
    while (n > 0) { /* everything back, in random order */
        size_t i = rng_below(&r, n);
        give(&x, taken[i].start, taken[i].size);
        taken[i] = taken[--n];
    }
    assert_int_equal(x.count, 1);
    assert_extent(&x, 0, BASE, RANGE);
    fa__extents_fini(&x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_fresh_range_is_one_extent),
        cmocka_unit_test(takes_return_the_lowest_start_that_fits),
        cmocka_unit_test(alignment_is_honoured_up_to_the_range_size),
        cmocka_unit_test(an_exhausted_range_refuses_every_take),
        cmocka_unit_test(a_range_given_between_taken_ones_stands_alone),
        cmocka_unit_test(a_given_range_coalesces_with_its_left_neighbour),
        cmocka_unit_test(a_given_range_coalesces_with_its_right_neighbour),
        cmocka_unit_test(a_given_range_coalesces_with_both_neighbours),
        cmocka_unit_test(many_holes_grow_the_bookkeeping_and_close_up_again),
        cmocka_unit_test(the_check_rejects_broken_lists),
        cmocka_unit_test(random_takes_and_gives_agree_with_a_bitmap_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
