/* Fault injection: a backend that refuses requests by rule under a mixed
 * frame / pool / heap workload. Every refusal is a clean NULL with
 * FA_ERR_NOMEM and an event, nothing crashes, nothing leaks, and once the
 * refusals stop the allocator works normally. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"

struct outcome {
    int attempts, failures;
};

static void *checked(struct outcome *o, void *p) {
    o->attempts++;
    if (p == NULL) {
        assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
        o->failures++;
    }
    return p;
}

/* A few frames of everything: frame allocations of many sizes (new chunks,
 * dedicated chunks), pool blocks of several classes kept across frames and
 * freed later, heap blocks. */
static struct outcome mixed_workload(fa_alloc *a) {
    struct outcome o = {0, 0};
    enum { KEPT = 600 };
    static void *kept[KEPT];
    memset(kept, 0, sizeof kept);
    for (int frame = 0; frame < 8; frame++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        for (int i = 0; i < 300; i++)
            checked(&o, fa_frame_alloc(a, (size_t)(i % 9 + 1) * 900));
        checked(&o, fa_frame_alloc(a, (size_t)3 << 20));
        for (int i = 0; i < KEPT / 4; i++) {
            int slot = (frame * KEPT / 4 + i) % KEPT; /* replaced four frames later */
            assert_int_equal(fa_pool_free(a, kept[slot]), FA_OK);
            kept[slot] = checked(&o, fa_pool_alloc(a, (size_t)(16 << (i % 7))));
        }
        void *big = checked(&o, fa_heap_alloc(a, 300000, 4096));
        assert_int_equal(fa_heap_free(a, big), FA_OK);
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
    for (int i = 0; i < KEPT; i++)
        assert_int_equal(fa_pool_free(a, kept[i]), FA_OK);
    return o;
}

static void run_with_rule(fa_fail_mode mode, size_t n) {
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    fa_backend failing;
    assert_int_equal(fa_source_failing(&failing, cfg.backend, mode, n), FA_OK);
    cfg.backend = failing;
    cfg.chunk_cache_limit = 1; /* every frame asks the backend again */
    cfg.slab_reserve = 1;
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    struct outcome o = mixed_workload(a);
    assert_int_equal(ev.count, o.failures); /* one event per refusal */
    fa_source_info info;
    fa_source_info_get(&failing, &info);
    assert_int_equal(o.failures, info.failures); /* each refusal fails exactly one request */
    assert_true(mode != FA_FAIL_EVERY_NTH || info.requests < n || o.failures > 0);

    assert_int_equal(fa_source_failing_set(&failing, FA_FAIL_NEVER, 0), FA_OK);
    ev.count = 0;
    o = mixed_workload(a); /* the refusals stopped: all of it works */
    assert_int_equal(o.failures, 0);
    assert_int_equal(ev.count, 0);
    fa_destroy(a);
    assert_int_equal(c.bytes_out, 0); /* everything that went out came back */
    assert_int_equal(c.frees, c.allocs);
    fa_source_destroy(&failing);
}

static void every_nth_request_fails(void **state) {
    (void)state;
    for (size_t n = 1; n <= 50; n++)
        run_with_rule(FA_FAIL_EVERY_NTH, n);
}

static void only_the_nth_request_fails(void **state) {
    (void)state;
    for (size_t n = 1; n <= 50; n++)
        run_with_rule(FA_FAIL_NTH_ONCE, n);
}

static void a_byte_limit(void **state) {
    (void)state;
    for (size_t mib = 1; mib <= 8; mib++)
        run_with_rule(FA_FAIL_AFTER_BYTES, mib << 20);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_nth_request_fails),
        cmocka_unit_test(only_the_nth_request_fails),
        cmocka_unit_test(a_byte_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
