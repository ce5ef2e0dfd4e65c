/* SPDX-License-Identifier: MIT */
/* Memory sources through cfg.backend (src/backend.c, src/source/system.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"

static void system_backend_serves_aligned_memory(void **state) {
    (void)state;
    fa_backend sys = fa_backend_system();
    assert_null(sys.ctx);
    size_t aligns[] = {1, 8, 64, 4096, 65536};
    for (size_t i = 0; i < sizeof aligns / sizeof *aligns; i++) {
        void *p = NULL;
        assert_int_equal(sys.allocate(sys.ctx, 1000, aligns[i], &p), FA_BACKEND_OK);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % aligns[i], 0);
        memset(p, 1, 1000);
        sys.deallocate(sys.ctx, p, 1000, aligns[i]);
    }
}

/* Every chunk byte goes through the backend and comes back by destroy. */
static void counting_backend_sees_every_chunk(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    fa_alloc *a = fa_create(&cfg);
    assert_int_equal(c.requests, 0); /* nothing is taken before it is needed */
    assert_int_equal(fa_begin_frame(a), FA_OK);
    for (int i = 0; i < 1000; i++)
        assert_non_null(fa_frame_alloc(a, 1024));
    assert_non_null(fa_frame_alloc(a, 3 << 20));
    fa_frame_info info;
    fa_frame_info_get(a, &info);
    assert_int_equal(c.allocs, (long)info.chunks);
    assert_int_equal(c.bytes_out, (long)info.reserved);
    assert_true(c.max_align >= 64);
    assert_int_equal(fa_end_frame(a), FA_OK);
    fa_destroy(a);
    assert_int_equal(c.bytes_out, 0);
    assert_int_equal(c.frees, c.allocs);
    assert_int_equal(ev.count, 0);
}

/* FALLBACK: the system serves, and gets the memory back (ASan/valgrind would
 * report a leak or a bad free otherwise). */
static void fallback_lets_the_system_serve(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    c.mode = ANSWER_FALLBACK;
    fa_alloc *a = fa_create(&cfg);
    for (int frame = 0; frame < 3; frame++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        for (int i = 0; i < 300; i++)
            memset(fa_frame_alloc(a, 1000), 7, 1000);
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
    assert_true(c.requests > 0);
    assert_int_equal(c.allocs, 0);
    fa_destroy(a);
    assert_int_equal(c.frees, 0); /* nothing of the system's went to the backend */
    assert_int_equal(ev.count, 0);
}

/* A refusing backend: NULL, FA_ERR_NOMEM, one event, the allocator usable. */
static void refusal_is_nomem_and_recoverable(enum counting_mode mode) {
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    fa_alloc *a = fa_create(&cfg);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    c.mode = mode;
    assert_null(fa_frame_alloc(a, 200));
    assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
    assert_int_equal(ev.count, 1);
    assert_int_equal(ev.last, FA_ERR_NOMEM);
    assert_int_equal(ev.last_size, 200);
    assert_int_equal(c.bytes_out, 0); /* a misaligned block was given back */
    c.mode = ANSWER_OK;
    assert_non_null(fa_frame_alloc(a, 200));
    assert_int_equal(fa_end_frame(a), FA_OK);
    fa_destroy(a);
    assert_int_equal(c.bytes_out, 0);
}

static void fail_is_nomem(void **state) {
    (void)state;
    refusal_is_nomem_and_recoverable(ANSWER_FAIL);
}

static void ok_with_null_counts_as_fail(void **state) {
    (void)state;
    refusal_is_nomem_and_recoverable(ANSWER_OK_NULL);
}

static void misaligned_memory_is_refused_and_given_back(void **state) {
    (void)state;
    refusal_is_nomem_and_recoverable(ANSWER_MISALIGNED);
}

/* Fault injection: the Nth request and every one after it fails, for N over
 * a range; every failure is clean and nothing leaks. */
static void failing_every_request_from_n(void **state) {
    (void)state;
    for (long n = 1; n <= 12; n++) {
        struct counting c;
        struct events ev;
        fa_config cfg = test_config(&c, &ev);
        cfg.chunk_cache_limit = 1; /* every frame asks the backend again */
        c.fail_from = n;
        fa_alloc *a = fa_create(&cfg);
        int failures = 0;
        for (int frame = 0; frame < 4; frame++) {
            assert_int_equal(fa_begin_frame(a), FA_OK);
            for (int i = 0; i < 200; i++) {
                void *p = fa_frame_alloc(a, (size_t)(i % 7 + 1) * 1000);
                if (p == NULL) {
                    assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
                    failures++;
                }
            }
            assert_int_equal(fa_end_frame(a), FA_OK);
        }
        assert_int_equal(ev.count, failures);
        assert_true(failures > 0);
        fa_destroy(a);
        assert_int_equal(c.bytes_out, 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(system_backend_serves_aligned_memory),
        cmocka_unit_test(counting_backend_sees_every_chunk),
        cmocka_unit_test(fallback_lets_the_system_serve),
        cmocka_unit_test(fail_is_nomem),
        cmocka_unit_test(ok_with_null_counts_as_fail),
        cmocka_unit_test(misaligned_memory_is_refused_and_given_back),
        cmocka_unit_test(failing_every_request_from_n),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
