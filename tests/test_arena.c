/* SPDX-License-Identifier: MIT */
/* The chunked frame arena and its marks (src/arena.c), driven through the
 * public API with a counting backend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "track.h" /* a tracked library puts a red zone after each frame block */

#define KIB ((size_t)1024)
#define MIB (KIB * 1024)

static void fill(fa_alloc *a, size_t bytes, size_t each) {
    for (size_t done = 0; done < bytes; done += each)
        assert_non_null(fa_frame_alloc(a, each));
}

static void chunks_follow_the_growth_curve(void **state) {
    struct fixture *f = fixture_of(state);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    fill(f->a, 4 * MIB, 1000);
    long expect[] = {64 * KIB, 128 * KIB, 256 * KIB, 512 * KIB, MIB, MIB, MIB};
    for (size_t i = 0; i < sizeof expect / sizeof *expect; i++)
        assert_int_equal(f->c.sizes[i], expect[i]);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

static void oversized_request_gets_its_own_chunk(void **state) {
    struct fixture *f = fixture_of(state);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    char *small = (char *)fa_frame_alloc(f->a, 100);
    char *big = (char *)fa_frame_alloc(f->a, 3 * MIB);
    char *after = (char *)fa_frame_alloc(f->a, 100);
    assert_non_null(big);
    memset(big, 1, 3 * MIB);
    assert_int_equal(f->c.requests, 2);
    assert_true(f->c.sizes[1] >= (long)(3 * MIB)); /* dedicated */
    assert_ptr_equal(after, small + 100 + FA__REDZONE); /* bumping goes on in the first chunk */
    fill(f->a, 100 * KIB, 1000);                   /* the curve goes on at 128 KiB */
    assert_int_equal(f->c.sizes[2], 128 * KIB);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

static void steady_frames_make_no_backend_calls(void **state) {
    struct fixture *f = fixture_of(state);
    for (int frame = 0; frame < 20; frame++) {
        assert_int_equal(fa_begin_frame(f->a), FA_OK);
        fill(f->a, 900 * KIB, 96);
        assert_non_null(fa_frame_alloc(f->a, 2 * MIB)); /* a dedicated chunk each frame too */
        assert_int_equal(fa_end_frame(f->a), FA_OK);
        if (frame == 0)
            f->c.requests = 0;
    }
    assert_int_equal(f->c.requests, 0);
    assert_int_equal(f->c.frees, 0);
}

static void *first_frame_reserve(void *arg) {
    fa_alloc *a = (fa_alloc *)arg;
    fa_frame_info info;
    fa_begin_frame(a);
    fa_frame_alloc(a, 64);
    fa_frame_info_get(a, &info);
    fa_end_frame(a);
    return (void *)(uintptr_t)info.reserved;
}

/* A thread's first chunk must not be a cached dedicated chunk: the large
 * request that needs it comes back next frame. */
static void small_requests_leave_large_cached_chunks_alone(void **state) {
    struct fixture *f = fixture_of(state);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    assert_non_null(fa_frame_alloc(f->a, 3 * MIB));
    assert_int_equal(fa_end_frame(f->a), FA_OK); /* the 3 MiB chunk is cached */
    void *reserved;
    pthread_t t;
    pthread_create(&t, NULL, first_frame_reserve, f->a);
    pthread_join(t, &reserved);
    assert_int_equal((uintptr_t)reserved, 64 * KIB);
    long requests = f->c.requests;
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    assert_non_null(fa_frame_alloc(f->a, 3 * MIB));
    assert_int_equal(f->c.requests, requests); /* still there for it */
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

static void thread_keeps_its_first_chunk_between_frames(void **state) {
    struct fixture *f = fixture_of(state);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    void *first = fa_frame_alloc(f->a, 64);
    fill(f->a, 500 * KIB, 1000);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
    fa_frame_info info;
    fa_frame_info_get(f->a, &info);
    assert_int_equal(info.chunks, 1);
    assert_int_equal(info.reserved, 64 * KIB);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    assert_ptr_equal(fa_frame_alloc(f->a, 64), first); /* memory is reused */
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

static void cache_limit_sends_the_rest_back(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    cfg.chunk_cache_limit = 1; /* keep nothing shared */
    fa_alloc *a = fa_create(&cfg);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    fill(a, 500 * KIB, 1000);
    assert_int_equal(fa_end_frame(a), FA_OK);
    assert_int_equal(c.allocs - c.frees, 1); /* only the thread's first chunk stays */
    assert_int_equal(c.bytes_out, 64 * KIB);
    fa_destroy(a);
    assert_int_equal(c.bytes_out, 0);
}

/* Held memory (issue 19): frames of small allocations, each one reaching
 * the cache's clock while the thread has chunks there. */
static void small_frames(fa_alloc *a, int n) {
    for (int i = 0; i < n; i++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        assert_non_null(fa_frame_alloc(a, 1000));
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
}

/* One 20 MiB frame, then small frames: its chunks go back to the backend
 * at the chunk_cache_frames'th frame end after it, not at fa_trim. */
static void a_one_off_big_frame_does_not_pin_its_memory(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    cfg.chunk_cache_frames = 5;
    fa_alloc *a = fa_create(&cfg);
    small_frames(a, 1); /* the thread's first chunk, kept between frames */
    long steady = c.bytes_out;
    assert_int_equal(fa_begin_frame(a), FA_OK);
    assert_non_null(fa_frame_alloc(a, 20u << 20));
    assert_int_equal(fa_end_frame(a), FA_OK);
    assert_true(c.bytes_out >= steady + (20l << 20)); /* cached */
    small_frames(a, 4);
    assert_true(c.bytes_out >= steady + (20l << 20));
    small_frames(a, 1);
    assert_int_equal(c.bytes_out, steady);
    small_frames(a, 10); /* and the thread's frames are plain again: nothing more moves */
    assert_int_equal(c.bytes_out, steady);
    fa_destroy(a);
    assert_int_equal(c.bytes_out, 0);
    assert_int_equal(ev.count, 0);
}

/* One allocation growing over ten frames, 0.2 to 2 MB: each frame's chunk
 * outgrows the last one's, which nothing takes again; they go back as
 * they age instead of adding up. */
static void outgrown_chunks_go_back_as_they_age(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    cfg.chunk_cache_frames = 3;
    fa_alloc *a = fa_create(&cfg);
    for (int i = 1; i <= 10; i++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        assert_non_null(fa_frame_alloc(a, (size_t)i * 200000));
        assert_int_equal(fa_end_frame(a), FA_OK);
        assert_true(c.bytes_out <= (long)(3 * i * 200000 + 4 * 64 * KIB)); /* the last 3 at most */
    }
    small_frames(a, 3);
    assert_int_equal(c.bytes_out, 64 * KIB); /* the first chunk the small frames keep */
    fa_destroy(a);
    assert_int_equal(c.bytes_out, 0);
}

/* Frames that use several chunks every frame keep them: taken and given
 * back each frame, none ages, and steady frames call no backend. */
static void steady_large_frames_keep_their_chunks(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    cfg.chunk_cache_frames = 2;
    fa_alloc *a = fa_create(&cfg);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        fill(a, 3000 * KIB, 1000);
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
    long calls = c.allocs + c.frees;
    for (int i = 0; i < 50; i++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        fill(a, 3000 * KIB, 1000);
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
    assert_int_equal(c.allocs + c.frees, calls);
    fa_destroy(a);
    assert_int_equal(c.bytes_out, 0);
}

static void chunks_come_aligned_as_configured(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    cfg.frame_chunk_align = 4096;
    fa_alloc *a = fa_create(&cfg);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    fill(a, 3 * MIB, 1000);
    assert_non_null(fa_frame_alloc_aligned(a, 2 * MIB, 4096));
    assert_int_equal(c.max_align, 4096);
    assert_int_equal(fa_end_frame(a), FA_OK);
    fa_destroy(a);
    assert_int_equal(c.bytes_out, 0);
}

static void rewind_across_chunks_releases_them(void **state) {
    struct fixture *f = fixture_of(state);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    fill(f->a, 10 * KIB, 100);
    fa_frame_info before;
    fa_frame_info_get(f->a, &before);
    fa_mark m = fa_frame_mark(f->a);
    void *next = fa_frame_alloc(f->a, 256);
    fill(f->a, 2 * MIB, 1000);                       /* several new chunks */
    assert_non_null(fa_frame_alloc(f->a, 3 * MIB)); /* and a dedicated one */
    fa_frame_info during;
    fa_frame_info_get(f->a, &during);
    assert_true(during.chunks > before.chunks + 2);
    assert_int_equal(fa_frame_rewind(f->a, m), FA_OK);
    fa_frame_info after;
    fa_frame_info_get(f->a, &after);
    assert_int_equal(after.chunks, before.chunks);
    assert_int_equal(after.bytes, before.bytes);
    assert_ptr_equal(fa_frame_alloc(f->a, 256), next); /* the same position again */
    long requests = f->c.requests;
    fill(f->a, 2 * MIB, 1000); /* the released chunks come back from the cache */
    assert_int_equal(f->c.requests, requests);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

static void nested_marks_rewind_like_a_stack(void **state) {
    struct fixture *f = fixture_of(state);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    fa_mark outer = fa_frame_mark(f->a);
    fill(f->a, 100 * KIB, 1000);
    fa_mark inner = fa_frame_mark(f->a);
    fill(f->a, 300 * KIB, 1000);
    assert_int_equal(fa_frame_rewind(f->a, inner), FA_OK);
    assert_int_equal(fa_frame_rewind(f->a, inner), FA_OK); /* again: still at or before */
    assert_int_equal(fa_frame_rewind(f->a, outer), FA_OK);
    assert_int_equal(fa_frame_rewind(f->a, inner), FA_ERR_STATE); /* now past the position */
    fa_frame_info info;
    fa_frame_info_get(f->a, &info);
    assert_int_equal(info.bytes, 0);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

static void mark_before_any_chunk(void **state) {
    struct fixture *f = fixture_of(state);
    assert_int_equal(fa_begin_frame(f->a), FA_OK); /* first frame: no chunk yet */
    fa_mark m = fa_frame_mark(f->a);
    fill(f->a, 200 * KIB, 1000);
    assert_int_equal(fa_frame_rewind(f->a, m), FA_OK);
    fa_frame_info info;
    fa_frame_info_get(f->a, &info);
    assert_int_equal(info.chunks, 0);
    assert_non_null(fa_frame_alloc(f->a, 10));
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

static void bad_marks_are_state_errors_with_no_effect(void **state) {
    struct fixture *f = fixture_of(state);
    fa_mark empty;
    memset(&empty, 0, sizeof empty);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    fa_mark old = fa_frame_mark(f->a);
    assert_int_equal(fa_end_frame(f->a), FA_OK);

    fa_mark outside = fa_frame_mark(f->a); /* outside a frame */
    assert_int_equal(fa_last_error(), FA_ERR_STATE);
    assert_null(outside.fa__thread);
    assert_int_equal(fa_frame_rewind(f->a, outside), FA_ERR_STATE);

    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    void *p = fa_frame_alloc(f->a, 64);
    fa_frame_info before;
    fa_frame_info_get(f->a, &before);
    f->ev.count = 0;
    assert_int_equal(fa_frame_rewind(f->a, old), FA_ERR_STATE); /* an earlier frame */
    assert_int_equal(fa_frame_rewind(f->a, empty), FA_ERR_STATE);
    assert_int_equal(f->ev.count, 2);
    assert_int_equal(f->ev.last, FA_ERR_STATE);
    fa_frame_info after;
    fa_frame_info_get(f->a, &after);
    assert_int_equal(after.bytes, before.bytes);
    assert_ptr_not_equal(fa_frame_alloc(f->a, 64), p);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

static void mark_of_another_allocator_is_refused(void **state) {
    struct fixture *f = fixture_of(state);
    fa_alloc *other = fa_create(NULL);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    assert_int_equal(fa_begin_frame(other), FA_OK);
    fa_mark m = fa_frame_mark(other);
    assert_int_equal(fa_frame_rewind(f->a, m), FA_ERR_STATE);
    assert_int_equal(fa_frame_rewind(other, m), FA_OK);
    fa_end_frame(other);
    fa_end_frame(f->a);
    fa_destroy(other);
}

static void *rewind_from_other_thread(void *arg) {
    struct fixture *f = (struct fixture *)((void **)arg)[0];
    fa_mark *m = (fa_mark *)((void **)arg)[1];
    fa_error *result = (fa_error *)((void **)arg)[2];
    fa_begin_frame(f->a);
    *result = fa_frame_rewind(f->a, *m);
    fa_end_frame(f->a);
    return NULL;
}

static void mark_of_another_thread_is_refused(void **state) {
    struct fixture *f = fixture_of(state);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    fa_mark m = fa_frame_mark(f->a);
    fa_error result = FA_OK;
    void *args[] = {f, &m, &result};
    pthread_t t;
    pthread_create(&t, NULL, rewind_from_other_thread, args);
    pthread_join(t, NULL);
    assert_int_equal(result, FA_ERR_STATE);
    assert_int_equal(fa_frame_rewind(f->a, m), FA_OK);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}


int main(void) {
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(chunks_follow_the_growth_curve),
        FIXTURE_TEST(oversized_request_gets_its_own_chunk),
        FIXTURE_TEST(steady_frames_make_no_backend_calls),
        FIXTURE_TEST(small_requests_leave_large_cached_chunks_alone),
        FIXTURE_TEST(thread_keeps_its_first_chunk_between_frames),
        cmocka_unit_test(cache_limit_sends_the_rest_back),
        cmocka_unit_test(chunks_come_aligned_as_configured),
        cmocka_unit_test(a_one_off_big_frame_does_not_pin_its_memory),
        cmocka_unit_test(outgrown_chunks_go_back_as_they_age),
        cmocka_unit_test(steady_large_frames_keep_their_chunks),
        FIXTURE_TEST(rewind_across_chunks_releases_them),
        FIXTURE_TEST(nested_marks_rewind_like_a_stack),
        FIXTURE_TEST(mark_before_any_chunk),
        FIXTURE_TEST(bad_marks_are_state_errors_with_no_effect),
        FIXTURE_TEST(mark_of_another_allocator_is_refused),
        FIXTURE_TEST(mark_of_another_thread_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
