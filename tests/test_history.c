/* SPDX-License-Identifier: MIT */
/* The frame history (src/history.c), white-box: a ring that keeps the
 * newest records, copies them oldest first, sums them up, and lets readers
 * race the writer without a lock and without a torn record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "history.h"

enum { WIDE = FA_TAG_MAX + 4 }; /* paths, some past the public record's */

/* Every figure of record `frame` follows from it, so a torn copy shows:
 * path i took (i + 1) * frame bytes, for the first `paths` paths. */
static void record_paths(struct fa_history *h, uint64_t frame, uint32_t paths) {
    fa_frame_record *r = fa__history_open(h);
    if (r == NULL)
        return; /* no ring */
    FA__RECORD_SET(r, frame, frame);
    FA__RECORD_SET(r, duration_ns, 1000 * frame);
    FA__RECORD_SET(r, allocations, 10 * frame);
    FA__RECORD_SET(r, bytes, 100 * frame);
    FA__RECORD_SET(r, peak_bytes, 200 * frame);
    FA__RECORD_SET(r, chunks, 0);
    FA__RECORD_SET(r, reserved_bytes, 400 * frame);
    FA__RECORD_SET(r, backend_calls, 0);
    uint64_t tag_bytes[WIDE];
    for (uint32_t i = 0; i < paths; i++)
        tag_bytes[i] = (i + 1) * frame;
    fa__history_close(h, tag_bytes, paths);
}

static void record(struct fa_history *h, uint64_t frame) {
    record_paths(h, frame, 3);
}

static void assert_whole(const fa_frame_record *r) {
    assert_int_equal(r->duration_ns, 1000 * r->frame);
    assert_int_equal(r->allocations, 10 * r->frame);
    assert_int_equal(r->bytes, 100 * r->frame);
    assert_int_equal(r->peak_bytes, 200 * r->frame);
    assert_int_equal(r->reserved_bytes, 400 * r->frame);
    assert_int_equal(r->tag_bytes[2], 3 * r->frame);
    /* path 3: past a 3-path record, nothing; in a wide one, 4 * frame */
    assert_int_equal(r->tag_bytes[3], r->tag_bytes[FA_TAG_MAX - 1] != 0 ? 4 * r->frame : 0);
}

static void the_ring_keeps_the_newest_oldest_first(void **state) {
    (void)state;
    struct fa_history h;
    assert_true(fa__history_init(&h, 3, FA_TAG_MAX));
    fa_frame_record out[5];
    assert_int_equal(fa__history_copy(&h, out, NULL, 5), 0);
    for (uint64_t f = 1; f <= 5; f++)
        record(&h, f);
    assert_int_equal(fa__history_copy(&h, out, NULL, 5), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(out[i].frame, 3 + i);
        assert_whole(&out[i]);
    }
    assert_int_equal(fa__history_copy(&h, out, NULL, 2), 2); /* the newest two */
    assert_int_equal(out[0].frame, 4);
    assert_int_equal(out[1].frame, 5);
    fa__history_fini(&h);
}

static void the_summary_averages_what_the_ring_holds(void **state) {
    (void)state;
    struct fa_history h;
    assert_true(fa__history_init(&h, 4, FA_TAG_MAX));
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

/* Nearest-rank percentiles over the ring, computed by hand: frames 1..100
 * take 1000 * frame ns, written out of order (the ring holds them as they
 * come, the summary sorts). */
static void the_summary_has_nearest_rank_percentiles(void **state) {
    (void)state;
    struct fa_history h;
    assert_true(fa__history_init(&h, 100, FA_TAG_MAX));
    for (uint64_t k = 0; k < 100; k++)
        record(&h, 1 + (k * 37) % 100); /* a permutation of 1..100 */
    fa_history_summary s;
    fa__history_summarise(&h, &s);
    assert_int_equal(s.frames, 100);
    assert_int_equal(s.p50_frame_ns, 50000); /* the 50th of 100 sorted */
    assert_int_equal(s.p95_frame_ns, 95000);
    assert_int_equal(s.p99_frame_ns, 99000);
    assert_int_equal(s.max_frame_ns, 100000);
    fa__history_fini(&h);
    assert_true(fa__history_init(&h, 4, FA_TAG_MAX));
    for (uint64_t f = 1; f <= 3; f++) /* three records: p50 is the 2nd, p95 and p99 the 3rd */
        record(&h, f);
    fa__history_summarise(&h, &s);
    assert_int_equal(s.p50_frame_ns, 2000);
    assert_int_equal(s.p95_frame_ns, 3000);
    assert_int_equal(s.p99_frame_ns, 3000);
    fa__history_fini(&h);
}

static void no_ring_no_records(void **state) {
    (void)state;
    struct fa_history h;
    assert_true(fa__history_init(&h, 0, FA_TAG_MAX)); /* statistics off */
    record(&h, 1); /* no effect */
    fa_frame_record out[1];
    assert_int_equal(fa__history_copy(&h, out, NULL, 1), 0);
    fa_history_summary s;
    fa__history_summarise(&h, &s);
    assert_int_equal(s.frames, 0);
    fa__history_fini(&h);
}

struct race {
    struct fa_history h;
    atomic_int        done;
};

static void *write_frames(void *arg) {
    struct race *r = (struct race *)arg;
    for (uint64_t f = 1; f <= 200000; f++)
        record_paths(&r->h, f, WIDE);
    atomic_store(&r->done, 1);
    return NULL;
}

/* Readers copy while the writer laps the ring: every record they keep is
 * whole, its words past the record too, and they come oldest first (a
 * reader may keep none while the writer laps it; at rest it keeps them
 * all). */
static void readers_racing_the_writer_never_see_a_torn_record(void **state) {
    (void)state;
    static struct race r;
    assert_true(fa__history_init(&r.h, 8, WIDE));
    atomic_init(&r.done, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, write_frames, &r), 0);
    uint64_t copies = 0;
    struct fa_history_frames f;
    while (!atomic_load(&r.done) || copies == 0) {
        assert_true(fa__history_take(&r.h, 8, &f));
        for (size_t i = 0; i < f.count; i++) {
            assert_whole(&f.recs[i]);
            for (uint32_t p = FA_TAG_MAX; p < WIDE; p++)
                assert_int_equal(fa__history_frame_bytes(&f, i, p), (p + 1) * f.recs[i].frame);
            if (i > 0)
                assert_true(f.recs[i].frame > f.recs[i - 1].frame);
        }
        fa__history_frames_free(&f);
        fa_history_summary s;
        fa__history_summarise(&r.h, &s);
        assert_true(s.frames <= 8);
        copies++;
    }
    pthread_join(t, NULL);
    assert_true(fa__history_take(&r.h, 8, &f));
    assert_int_equal(f.count, 8); /* at rest, all of them */
    assert_int_equal(f.recs[7].frame, 200000);
    fa__history_frames_free(&f);
    fa__history_fini(&r.h);
}

/* Paths past FA_TAG_MAX go to the slot's more words, under the same
 * sequence count, and come back with their records. */
static void paths_past_the_record_come_back_with_it(void **state) {
    (void)state;
    enum { PATHS = FA_TAG_MAX + 6 };
    struct fa_history h;
    assert_true(fa__history_init(&h, 3, PATHS));
    assert_int_equal(h.more_paths, 6);
    for (uint64_t f = 1; f <= 4; f++) {
        fa_frame_record *r = fa__history_open(&h);
        FA__RECORD_SET(r, frame, f);
        uint64_t tag_bytes[PATHS];
        for (uint32_t i = 0; i < PATHS; i++)
            tag_bytes[i] = 1000 * f + i;
        fa__history_close(&h, tag_bytes, PATHS);
    }
    struct fa_history_frames copy;
    assert_true(fa__history_take(&h, 3, &copy));
    assert_int_equal(copy.count, 3);
    for (size_t k = 0; k < 3; k++) {
        uint64_t f = copy.recs[k].frame;
        assert_int_equal(f, 2 + k);
        for (uint32_t i = 0; i < PATHS; i++)
            assert_int_equal(fa__history_frame_bytes(&copy, k, i), 1000 * f + i);
    }
    fa__history_frames_free(&copy);
    fa__history_fini(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_ring_keeps_the_newest_oldest_first),
        cmocka_unit_test(the_summary_averages_what_the_ring_holds),
        cmocka_unit_test(the_summary_has_nearest_rank_percentiles),
        cmocka_unit_test(no_ring_no_records),
        cmocka_unit_test(readers_racing_the_writer_never_see_a_torn_record),
        cmocka_unit_test(paths_past_the_record_come_back_with_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
