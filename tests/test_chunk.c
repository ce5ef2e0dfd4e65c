/* SPDX-License-Identifier: MIT */
/* Chunk sizes and the shared chunk cache (src/chunk.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "chunk.h"
#include "helpers.h"

#define KIB ((size_t)1024)

static void source_with(struct fa_chunk_cache *src, struct counting *c, size_t first, size_t max,
                        uint32_t growth, size_t cache_limit) {
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.backend = counting_backend(c);
    cfg.frame_chunk_first = first;
    cfg.frame_chunk_max = max;
    cfg.frame_chunk_growth = growth;
    cfg.chunk_cache_limit = cache_limit;
    static struct fa_meter meter;
    fa__chunks_init(src, &cfg, &meter);
}

static void growth_curve_doubles_then_stays(void **state) {
    (void)state;
    struct counting c;
    struct fa_chunk_cache src;
    source_with(&src, &c, 64 * KIB, 1024 * KIB, 2, 0);
    size_t expect[] = {64 * KIB, 128 * KIB, 256 * KIB, 512 * KIB, 1024 * KIB, 1024 * KIB, 1024 * KIB};
    for (uint32_t i = 0; i < sizeof expect / sizeof *expect; i++)
        assert_int_equal(fa__chunk_normal_size(&src, i), expect[i]);
    assert_int_equal(fa__chunk_normal_size(&src, UINT32_MAX), 1024 * KIB);
    fa__chunks_fini(&src);

    source_with(&src, &c, 48 * KIB, 1000 * KIB, 3, 0); /* clamps to max, not past it */
    assert_int_equal(fa__chunk_normal_size(&src, 2), 432 * KIB);
    assert_int_equal(fa__chunk_normal_size(&src, 3), 1000 * KIB);
    fa__chunks_fini(&src);

    source_with(&src, &c, 64 * KIB, 1024 * KIB, 1, 0); /* growth 1: fixed size */
    assert_int_equal(fa__chunk_normal_size(&src, 5), 64 * KIB);
    fa__chunks_fini(&src);
}

static void cache_gives_smallest_close_fit_then_backend(void **state) {
    (void)state;
    struct counting c;
    struct fa_chunk_cache src;
    source_with(&src, &c, 64 * KIB, 1024 * KIB, 2, 4096 * KIB);
    struct fa_chunk *big = fa__chunk_take(&src, 512 * KIB);
    struct fa_chunk *small = fa__chunk_take(&src, 128 * KIB);
    assert_int_equal(c.allocs, 2);
    assert_int_equal((uintptr_t)big % FA__CHUNK_BASE_ALIGN, 0);
    big->next = small;
    small->next = NULL;
    fa__chunk_give(&src, big);
    assert_int_equal(src.held_bytes, 640 * KIB);
    assert_ptr_equal(fa__chunk_take(&src, 100 * KIB), small); /* smallest that fits */
    assert_int_equal(c.allocs, 2);                            /* no backend call */
    struct fa_chunk *fresh = fa__chunk_take(&src, 100 * KIB); /* big is over twice that */
    assert_int_equal(c.allocs, 3);
    assert_int_equal(fresh->size, 100 * KIB);
    assert_ptr_equal(fa__chunk_take(&src, 300 * KIB), big);
    assert_int_equal(c.allocs, 3);
    small->next = big;
    big->next = fresh;
    fresh->next = NULL;
    fa__chunk_free_list(&src, small);
    assert_int_equal(c.bytes_out, 0);
    fa__chunks_fini(&src);
}

static void cache_keeps_no_more_than_its_limit(void **state) {
    (void)state;
    struct counting c;
    struct fa_chunk_cache src;
    source_with(&src, &c, 64 * KIB, 1024 * KIB, 2, 200 * KIB);
    struct fa_chunk *list = NULL;
    for (int i = 0; i < 5; i++) {
        struct fa_chunk *ch = fa__chunk_take(&src, 64 * KIB);
        ch->next = list;
        list = ch;
    }
    fa__chunk_stash(&src, list); /* a stash may go over the limit ... */
    assert_int_equal(src.held_bytes, 320 * KIB);
    assert_int_equal(c.frees, 0);
    fa__chunk_give(&src, NULL); /* ... the next give trims it */
    assert_true(src.held_bytes <= 200 * KIB);
    assert_int_equal(c.frees, 2);
    fa__chunks_fini(&src);
    assert_int_equal(c.bytes_out, 0);
}

/* Retention: a cached chunk no one takes for `frames` ticks (frame ends
 * that reach the cache) goes back to the backend; a chunk taken and given
 * back starts its count again. */
static void untaken_chunks_go_back_after_their_frames(void **state) {
    (void)state;
    struct counting c;
    struct fa_chunk_cache src;
    source_with(&src, &c, 64 * KIB, 1024 * KIB, 2, 4096 * KIB);
    src.frames = 3;
    struct fa_chunk *old = fa__chunk_take(&src, 512 * KIB);
    struct fa_chunk *warm = fa__chunk_take(&src, 128 * KIB);
    old->next = NULL;
    fa__chunk_give(&src, old);
    fa__chunk_tick(&src);
    warm->next = NULL;
    fa__chunk_give(&src, warm); /* a tick later */
    fa__chunk_tick(&src);
    assert_int_equal(c.frees, 0);
    fa__chunk_tick(&src); /* old: 3 ticks untaken */
    assert_int_equal(c.frees, 1);
    assert_int_equal(src.held_bytes, 128 * KIB);
    warm = fa__chunk_take(&src, 100 * KIB); /* taken and given back: counted afresh */
    fa__chunk_give(&src, warm);
    fa__chunk_tick(&src);
    fa__chunk_tick(&src);
    assert_int_equal(src.held_bytes, 128 * KIB);
    fa__chunk_tick(&src);
    assert_int_equal(src.held_bytes, 0);
    assert_int_equal(c.frees, 2);
    assert_int_equal(c.bytes_out, 0);
    fa__chunks_fini(&src);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(growth_curve_doubles_then_stays),
        cmocka_unit_test(cache_gives_smallest_close_fit_then_backend),
        cmocka_unit_test(cache_keeps_no_more_than_its_limit),
        cmocka_unit_test(untaken_chunks_go_back_after_their_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
