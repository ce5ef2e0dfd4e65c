/* SPDX-License-Identifier: MIT */
/* The validators FA_ASSERT_LEVEL 3 runs (src/invariant.h): each accepts a
 * healthy structure and refuses each kind of damage it is there to catch.
 * (`make assert` runs every suite with them on.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "arena.h"
#include "chunk.h"
#include "heap_table.h"
#include "source/extents.h"
#include "helpers.h"
#include "slab.h"

/* Two normal chunks, the older closed with 100 bytes used, the newer
 * bumped 40 bytes in. */
struct two_chunks {
    _Alignas(64) unsigned char older[4096];
    _Alignas(64) unsigned char newer[4096];
    struct fa_frame_arena        ar;
    struct fa__thread_tls  t;
};

static void make_two_chunks(struct two_chunks *x) {
    memset(x, 0, sizeof *x);
    struct fa_chunk *older = (struct fa_chunk *)(void *)x->older, *newer = (struct fa_chunk *)(void *)x->newer;
    *older = (struct fa_chunk){NULL, sizeof x->older, 100, 0, 0, 0, 0, 0};
    *newer = (struct fa_chunk){older, sizeof x->newer, 0, 1, 0, 0, 0, 0};
    x->ar = (struct fa_frame_arena){newer, newer, 2, 2, 100};
    x->t.cur = fa__chunk_base(newer) + 40;
    x->t.limit = fa__chunk_end(newer);
}

static void the_arena_check_sees_damaged_records(void **state) {
    (void)state;
    struct two_chunks x;
    make_two_chunks(&x);
    assert_true(fa__arena_check(&x.ar, &x.t));
    x.ar.closed = 99; /* the closed bytes disagree with the chunks */
    assert_false(fa__arena_check(&x.ar, &x.t));
    make_two_chunks(&x);
    x.ar.normal = 1; /* the growth index disagrees */
    assert_false(fa__arena_check(&x.ar, &x.t));
    make_two_chunks(&x);
    x.ar.next_seq = 1; /* a chunk newer than the next seq */
    assert_false(fa__arena_check(&x.ar, &x.t));
    make_two_chunks(&x);
    x.t.cur = fa__chunk_end(x.ar.bump) + 1; /* bumping past its chunk */
    assert_false(fa__arena_check(&x.ar, &x.t));
    make_two_chunks(&x);
    x.ar.bump->dedicated = 1;
    assert_false(fa__arena_check(&x.ar, &x.t));
}

/* A slab of 100 blocks of 64 bytes, 60 free. */
struct small_slab {
    struct fa_slab s;
    uint64_t       free_bits[2];
};

static void make_slab(struct small_slab *x) {
    memset(x, 0, sizeof *x);
    x->s.cls = 3;
    x->s.shift = 6;
    x->s.capacity = 100;
    x->s.in_use = 40;
    x->s.free_bits = x->free_bits;
    x->free_bits[0] = ~(uint64_t)0 << 4;                /* 60 free */
    x->free_bits[1] = 0;
}

static void the_slab_check_sees_miscounted_blocks(void **state) {
    (void)state;
    struct small_slab x;
    make_slab(&x);
    assert_true(fa__slab_check(&x.s));
    x.s.in_use = 41;
    assert_false(fa__slab_check(&x.s));
    make_slab(&x);
    x.free_bits[1] = (uint64_t)1 << 40; /* block 104 of 100 */
    x.s.in_use = 39;
    assert_false(fa__slab_check(&x.s));
    make_slab(&x);
    x.s.shift = 7; /* the block size disagrees with the class */
    assert_false(fa__slab_check(&x.s));
}

static void the_extents_check_sees_disorder(void **state) {
    (void)state;
    struct fa_extent free[3] = {{0x1000, 0x100}, {0x1200, 0x100}, {0x2000, 0x10}};
    struct fa_extents x = {free, 3, 3};
    assert_true(fa__extents_check(&x));
    free[1].start = 0x1100; /* touching its neighbour: should have been coalesced */
    assert_false(fa__extents_check(&x));
    free[1].start = 0x0800; /* out of order */
    assert_false(fa__extents_check(&x));
    free[1] = (struct fa_extent){0x1200, 0};
    assert_false(fa__extents_check(&x));
}

static void the_chunk_cache_check_sees_a_wrong_sum(void **state) {
    (void)state;
    struct two_chunks x;
    make_two_chunks(&x);
    struct fa_chunk_cache cache = {0};
    cache.align = 64;
    cache.held = x.ar.bump; /* newer -> older */
    cache.held_bytes = sizeof x.older + sizeof x.newer;
    assert_true(fa__chunk_cache_check(&cache));
    cache.held_bytes -= 64; /* a chunk's bytes not counted */
    assert_false(fa__chunk_cache_check(&cache));
    cache.held_bytes += 64;
    cache.align = 8192; /* a chunk not aligned as the cache asks */
    assert_false(fa__chunk_cache_check(&cache));
    cache.align = 64;
    cache.frames = 10;
    atomic_store(&cache.due, 11); /* the chunks, stamped 0, expire at tick 10: no tick would look */
    assert_false(fa__chunk_cache_check(&cache));
    atomic_store(&cache.due, 10);
    assert_true(fa__chunk_cache_check(&cache));
}

static void the_heap_check_sees_miscounts_and_a_full_table(void **state) {
    (void)state;
    struct fa_heap_entry table[4] = {{0x1000, 64, 16, FA__HEAP_LIVE, 0, 0, 0}, {0x2000, 64, 16, FA__HEAP_FREED, 0, 0, 0}};
    struct fa_heap h = {0};
    h.table = table;
    h.capacity = 4;
    h.live = 1;
    h.used = 2;
    assert_true(fa__heap_check(&h));
    h.live = 2; /* a tombstone counted live */
    assert_false(fa__heap_check(&h));
    h.live = 1;
    h.used = 1; /* a tombstone not counted used */
    assert_false(fa__heap_check(&h));
    table[2].state = table[3].state = FA__HEAP_FREED;
    h.used = 4; /* no empty slot left: a probe for a missing block would never end */
    assert_false(fa__heap_check(&h));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_arena_check_sees_damaged_records),
        cmocka_unit_test(the_slab_check_sees_miscounted_blocks),
        cmocka_unit_test(the_extents_check_sees_disorder),
        cmocka_unit_test(the_chunk_cache_check_sees_a_wrong_sum),
        cmocka_unit_test(the_heap_check_sees_miscounts_and_a_full_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
