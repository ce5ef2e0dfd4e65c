/* The frame history (src/history.c), white-box: a ring that keeps the
 * newest records, copies them oldest first, and sums them up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "history.h"

static void record(struct fa_history *h, uint64_t frame) {
    fa_frame_record *r = fa__history_begin(h);
    assert_non_null(r);
    r->frame = frame;
    r->duration_ns = 1000 * frame;
    r->allocations = 10 * frame;
    r->bytes = 100 * frame;
    r->peak_bytes = 200 * frame;
    r->reserved_bytes = 400 * frame;
    fa__history_commit(h);
}

static void the_ring_keeps_the_newest_oldest_first(void **state) {
    (void)state;
    struct fa_history h;
    assert_true(fa__history_init(&h, 3));
    fa_frame_record out[5];
    assert_int_equal(fa__history_copy(&h, out, 5), 0);
    for (uint64_t f = 1; f <= 5; f++)
        record(&h, f);
    assert_int_equal(fa__history_copy(&h, out, 5), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(out[i].frame, 3 + i);
    assert_int_equal(fa__history_copy(&h, out, 2), 2); /* the newest two */
    assert_int_equal(out[0].frame, 4);
    assert_int_equal(out[1].frame, 5);
    fa__history_fini(&h);
}

static void the_summary_averages_what_the_ring_holds(void **state) {
    (void)state;
    struct fa_history h;
    assert_true(fa__history_init(&h, 4));
    for (uint64_t f = 1; f <= 6; f++)
        record(&h, f); /* holds frames 3..6 */
    fa_history_summary s;
    fa__history_summarise(&h, &s);
    assert_int_equal(s.frames, 4);
    assert_true(s.avg_frame_ns == 4500.0);
    assert_true(s.avg_allocations == 45.0);
    assert_true(s.avg_bytes == 450.0);
    assert_int_equal(s.peak_bytes, 1200);
    assert_true(s.efficiency == 0.25);
    fa__history_fini(&h);
}

static void no_ring_no_records(void **state) {
    (void)state;
    struct fa_history h;
    assert_true(fa__history_init(&h, 0)); /* statistics off */
    assert_null(fa__history_begin(&h));
    fa_frame_record out[1];
    assert_int_equal(fa__history_copy(&h, out, 1), 0);
    fa_history_summary s;
    fa__history_summarise(&h, &s);
    assert_int_equal(s.frames, 0);
    fa__history_fini(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_ring_keeps_the_newest_oldest_first),
        cmocka_unit_test(the_summary_averages_what_the_ring_holds),
        cmocka_unit_test(no_ring_no_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
