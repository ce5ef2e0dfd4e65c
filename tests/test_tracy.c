/* SPDX-License-Identifier: MIT */
/* The Tracy adapter (include/framealloc_tracy.h) over a stand-in of
 * Tracy's C API (tests/tracy_fake): every pool and heap block reported
 * with its pool's name and freed under the same name, frame marks from the
 * creating thread only, and each frame's bytes plotted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "helpers.h"
#include "tracy/TracyC.h"
#include "framealloc_tracy.h"

struct fake_tracy fake_tracy;

static fa_alloc *traced(void) {
    fa_config cfg;
    fa_config_init(&cfg);
    fa_tracy_hooks(&cfg);
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    return a;
}

static void blocks_go_to_named_pools(void **state) {
    (void)state;
    memset(&fake_tracy, 0, sizeof fake_tracy);
    fa_alloc *a = traced();
    void *p = fa_pool_alloc(a, 40);
    assert_int_equal(fake_tracy.allocs, 1);
    assert_ptr_equal(fake_tracy.last_ptr, p);
    assert_int_equal(fake_tracy.last_size, 40);
    const char *pool = fake_tracy.last_pool;
    void *h = fa_heap_alloc(a, 50000, 16);
    assert_ptr_equal(fake_tracy.last_ptr, h);
    assert_true(fake_tracy.last_pool != pool); /* the heap's own name */
    const char *heap = fake_tracy.last_pool;
    assert_int_equal(fa_pool_free(a, p), FA_OK);
    assert_ptr_equal(fake_tracy.last_pool, pool); /* freed under the name it was made under */
    assert_int_equal(fa_heap_free(a, h), FA_OK);
    assert_ptr_equal(fake_tracy.last_pool, heap);
    assert_int_equal(fake_tracy.frees, 2);
    fa_destroy(a);
}

static void *worker_frame(void *arg) {
    fa_alloc *a = (fa_alloc *)arg;
    assert_int_equal(fa_begin_frame(a), FA_OK);
    assert_non_null(fa_frame_alloc(a, 64));
    assert_int_equal(fa_end_frame(a), FA_OK);
    return NULL;
}

static void frames_mark_and_plot(void **state) {
    (void)state;
    memset(&fake_tracy, 0, sizeof fake_tracy);
    fa_alloc *a = traced();
    for (int f = 0; f < 3; f++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        assert_non_null(fa_frame_alloc(a, 1000));
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
    assert_int_equal(fake_tracy.frame_marks, 3);
    assert_true(fake_tracy.last_value == 1.0); /* allocations, the last plot of a frame */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, worker_frame, a), 0);
    pthread_join(t, NULL);
    assert_int_equal(fake_tracy.frame_marks, 3); /* another thread's frame plots, marks nothing */
    assert_int_equal(fake_tracy.plots, 8);
    fa_destroy(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocks_go_to_named_pools),
        cmocka_unit_test(frames_mark_and_plot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
