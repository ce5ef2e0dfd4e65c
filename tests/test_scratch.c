/* SPDX-License-Identifier: MIT */
/* Scratch arenas (src/scratch.c and their API in src/frame.c): bump arenas
 * outside the frame cycle, served by the same inline fa_arena_alloc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "track.h" /* a tracked library serves a scratch arena on its slow path */

static fa_stats *stats(fa_alloc *a) {
    fa_stats *st = stats_of(a);
    assert_non_null(st);
    return st;
}

static void allocations_need_no_frame_and_survive_frames(void **state) {
    fa_alloc *a = alloc_of(state);
    fa_arena *level = fa_arena_create(a, "level", 0);
    assert_non_null(level);
    int *ids = fa_arena_new_array(level, int, 1000);
    for (int i = 0; i < 1000; i++)
        ids[i] = i;
    for (int k = 0; k < 3; k++) { /* frames come and go */
        assert_int_equal(fa_begin_frame(a), FA_OK);
        assert_non_null(fa_frame_alloc(a, 5000));
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
    for (int i = 0; i < 1000; i++)
        assert_int_equal(ids[i], i);
    fa_arena_destroy(level);
}

static void it_grows_across_chunks_and_resets_to_its_first(void **state) {
    struct fixture *f = fixture_of(state);
    fa_arena *ar = fa_arena_create(f->a, NULL, 0);
    void *first = fa_arena_alloc(ar, 100);
    for (int i = 0; i < 4000; i++) {
        unsigned char *p = (unsigned char *)fa_arena_alloc(ar, 500);
        assert_non_null(p);
        memset(p, i & 0xff, 500);
    }
    long calls = f->c.requests;
    assert_int_equal(fa_arena_reset(ar), FA_OK);
    assert_ptr_equal(fa_arena_alloc(ar, 100), first); /* the first chunk was kept */
    for (int i = 0; i < 4000; i++)
        assert_non_null(fa_arena_alloc(ar, 500));
    assert_int_equal(f->c.requests, calls); /* the chunks came back from the cache */
    fa_arena_destroy(ar);
    assert_int_equal(f->ev.count, 0);
}

static void marks_rewind_and_go_stale_at_a_reset(void **state) {
    fa_alloc *a = alloc_of(state);
    fa_arena *ar = fa_arena_create(a, "task", 0);
    assert_non_null(fa_arena_alloc(ar, 64));
    fa_mark m = fa_arena_mark(ar);
    void *after = fa_arena_alloc(ar, 64);
    for (int i = 0; i < 2000; i++) /* and into new chunks */
        fa_arena_alloc(ar, 1000);
    assert_int_equal(fa_arena_rewind(ar, m), FA_OK);
    assert_ptr_equal(fa_arena_alloc(ar, 64), after);
    assert_int_equal(fa_arena_reset(ar), FA_OK);
    assert_int_equal(fa_arena_rewind(ar, m), FA_ERR_STATE);
    fa_arena *other = fa_arena_create(a, "other", 0);
    assert_int_equal(fa_arena_rewind(other, fa_arena_mark(ar)), FA_ERR_STATE);
    fa_arena_destroy(other);
    fa_arena_destroy(ar);
}

/* A mark of a destroyed arena is stale on the next one, even one made at
 * the same address (glibc's malloc hands the same block straight back; the
 * fuzzer met it; sanitizer builds hold freed blocks back, so there the next
 * arena is elsewhere, which is refused as well). */
static void a_destroyed_arenas_mark_is_stale(void **state) {
    fa_alloc *a = alloc_of(state);
    for (int round = 0; round < 8; round++) {
        fa_arena *old = fa_arena_create(a, "old", 0);
        fa_mark m = fa_arena_mark(old);
        fa_arena_destroy(old);
        fa_arena *next = fa_arena_create(a, "next", 0);
        assert_int_equal(fa_arena_rewind(next, m), FA_ERR_STATE);
        fa_arena_destroy(next);
    }
}

static void the_capacity_is_a_hard_cap(void **state) {
    fa_alloc *a = alloc_of(state);
    fa_arena *ar = fa_arena_create(a, "capped", 4096);
    size_t got = 0;
    while (fa_arena_alloc(ar, 64) != NULL) /* the inline path stops at the cap too */
        got += 64;
    assert_int_equal(got, 4096);
    assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
    assert_null(fa_arena_alloc(ar, 1));
    assert_int_equal(fa_arena_reset(ar), FA_OK);
    assert_non_null(fa_arena_alloc_aligned(ar, 4096, 64));
    fa_arena_destroy(ar);
}

static void realloc_grows_the_last_block_in_place(void **state) {
    fa_alloc *a = alloc_of(state);
    fa_arena *ar = fa_arena_create(a, NULL, 0);
    char *p = (char *)fa_arena_realloc(ar, NULL, 0, 10, 8);
    memcpy(p, "0123456789", 10);
    char *grown = (char *)fa_arena_realloc(ar, p, 10, 100, 8);
    if (!FA__TRACKED)
        assert_ptr_equal(grown, p);
    p = grown;
    fa_arena_alloc(ar, 1);
    char *q = (char *)fa_arena_realloc(ar, p, 100, 200, 8);
    assert_ptr_not_equal(q, p);
    assert_memory_equal(q, "0123456789", 10);
    fa_arena_destroy(ar);
}

static void it_is_counted_and_charged_to_its_creators_path(void **state) {
    fa_alloc *a = alloc_of(state);
    if (FA_MINIMAL) /* no statistics or budgets */
        skip();
    assert_int_equal(fa_budget_set(a, "level", 0, 256 << 10), FA_OK);
    assert_int_equal(fa_tag_push(a, "level"), FA_OK);
    fa_arena *ar = fa_arena_create(a, "level data", 0);
    assert_int_equal(fa_tag_pop(a), FA_OK); /* charged to "level" still */
    for (int i = 0; i < 100; i++)
        assert_non_null(fa_arena_alloc(ar, 1000));
    fa_stats *st = stats(a);
    int level = 1;
    assert_string_equal(st->tags[level].path, "level");
    /* its chunks: an allocation each, their bytes live and charged */
    assert_true(st->tags[level].scratch.live_bytes >= 100 * 1000);
    assert_int_equal(st->tags[level].scratch.allocations, 2); /* 64 KiB, then 128 KiB */
    assert_int_equal(st->tags[0].scratch.live_bytes, 0);
    assert_int_equal(st->tags[level].budget.usage, st->tags[level].scratch.live_bytes);
    assert_int_equal(st->tags[level].budget.reserved, st->tags[level].scratch.live_bytes);
    free(st);
    size_t n = 0;
    while (fa_arena_alloc(ar, 10000) != NULL) /* until a chunk would pass the hard limit */
        n++;
    assert_int_equal(fa_last_error(), FA_ERR_BUDGET);
    assert_true(n > 0);
    assert_int_equal(fa_arena_reset(ar), FA_OK);
    st = stats(a);
    assert_true(st->tags[level].scratch.live_bytes <= 64 << 10); /* the first chunk, kept */
    assert_int_equal(st->tags[level].budget.reserved, st->tags[level].scratch.live_bytes);
    free(st);
    fa_arena_destroy(ar);
    st = stats(a);
    assert_int_equal(st->tags[level].budget.usage, 0);
    assert_int_equal(st->scratch.live_bytes, 0);
    free(st);
}

/* One thread at a time, any thread in turn. */
static void *use_on_another_thread(void *arg) {
    fa_arena *ar = (fa_arena *)arg;
    for (int i = 0; i < 500; i++)
        if (fa_arena_alloc(ar, 300) == NULL)
            return arg;
    return fa_arena_reset(ar) == FA_OK ? NULL : arg;
}

static void threads_use_it_in_turn(void **state) {
    fa_alloc *a = alloc_of(state);
    fa_arena *ar = fa_arena_create(a, "shared", 0);
    for (int k = 0; k < 3; k++) {
        pthread_t t;
        void *failed = ar;
        assert_int_equal(pthread_create(&t, NULL, use_on_another_thread, ar), 0);
        pthread_join(t, &failed);
        assert_null(failed);
        assert_non_null(fa_arena_alloc(ar, 300));
    }
    fa_arena_destroy(ar);
}

static void bad_handles_are_refused(void **state) {
    struct fixture *f = fixture_of(state);
    assert_int_equal(fa_arena_reset(NULL), FA_ERR_INVALID);
    fa_arena_destroy(NULL);
    fa_arena *mine = fa_arena_get(f->a);
    assert_int_equal(fa_arena_reset(mine), FA_ERR_INVALID);
    assert_int_equal(f->ev.last, FA_ERR_INVALID);
    fa_arena_destroy(mine); /* refused: still usable */
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    assert_non_null(fa_arena_alloc(mine, 10));
    assert_int_equal(fa_end_frame(f->a), FA_OK);
    char name[FA_TAG_NAME_MAX + 2];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    assert_null(fa_arena_create(f->a, name, 0));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_null(fa_arena_create(NULL, "x", 0));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
}

/* Arenas left at fa_destroy go with it: the fixture's teardown checks
 * that every backend byte came back. */
static void destroy_takes_the_arenas_left(void **state) {
    fa_alloc *a = alloc_of(state);
    for (int i = 0; i < 5; i++) {
        fa_arena *ar = fa_arena_create(a, "left", 0);
        for (int k = 0; k < 300; k++)
            assert_non_null(fa_arena_alloc(ar, 1000));
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(allocations_need_no_frame_and_survive_frames),
        FIXTURE_TEST(it_grows_across_chunks_and_resets_to_its_first),
        FIXTURE_TEST(marks_rewind_and_go_stale_at_a_reset),
        FIXTURE_TEST(a_destroyed_arenas_mark_is_stale),
        FIXTURE_TEST(the_capacity_is_a_hard_cap),
        FIXTURE_TEST(realloc_grows_the_last_block_in_place),
        FIXTURE_TEST(it_is_counted_and_charged_to_its_creators_path),
        FIXTURE_TEST(threads_use_it_in_turn),
        FIXTURE_TEST(bad_handles_are_refused),
        FIXTURE_TEST(destroy_takes_the_arenas_left),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
