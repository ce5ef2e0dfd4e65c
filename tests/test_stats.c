/* Statistics and the history (src/stats.c over src/tally.c and
 * src/history.c): snapshots while threads allocate, figures that equal a
 * hand count, the frame records, and misuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"

struct busy {
    fa_alloc   *a;
    const char *tag;
    atomic_int *stop;
};

static void *busy_frames(void *arg) {
    struct busy *b = (struct busy *)arg;
    void *kept[64];
    for (int round = 0; !atomic_load(b->stop) || round < 50; round++) {
        fa_begin_frame(b->a);
        fa_tag_push(b->a, b->tag);
        for (int i = 0; i < 64; i++) {
            fa_frame_alloc(b->a, 48);
            kept[i] = fa_pool_alloc(b->a, (size_t)(i * 37 % 3000));
        }
        fa_tag_pop(b->a);
        for (int i = 0; i < 64; i++)
            fa_pool_free(b->a, kept[i]);
        fa_end_frame(b->a);
    }
    return NULL;
}

static int discard(void *user, const char *text, size_t length) {
    (void)text;
    *(size_t *)user += length;
    return 0;
}

/* Snapshots read what threads publish while they allocate: nothing torn or
 * racy (the sanitizer runs check), and every count right once they stop. */
static void snapshots_while_threads_allocate(void **state) {
    fa_alloc *a = alloc_of(state);
    atomic_int stop = 0;
    struct busy b[3] = {{a, "one", &stop}, {a, "two", &stop}, {a, "one", &stop}};
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, busy_frames, &b[i]), 0);
    size_t written = 0;
    for (int i = 0; i < 20; i++) {
        fa_stats *st = stats_of(a);
        assert_non_null(st);
        assert_true(st->total.frees <= st->total.allocations);
        free(st);
        assert_int_equal(fa_write_json_to(a, discard, &written), FA_OK);
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    assert_true(written > 0);
    fa_stats *st = stats_of(a);
    assert_int_equal(st->total.live_bytes, 0);
    assert_int_equal(st->total.allocations, st->total.frees);
    assert_true(st->tags[tag_index(st, "one")].pool.allocations >= 2 * 50 * 64);
    free(st);
}

struct producer {
    fa_alloc         *a;
    void             *blocks[2000];
    pthread_barrier_t made, freed;
};

static void *produce_without_frames(void *arg) {
    struct producer *p = (struct producer *)arg;
    for (int i = 0; i < 2000; i++)
        p->blocks[i] = fa_pool_alloc(p->a, 64);
    pthread_barrier_wait(&p->made);
    pthread_barrier_wait(&p->freed); /* alive while the consumer looks */
    return NULL;
}

/* A thread that runs no frames publishes at its pool refills; frees on
 * another thread may be seen before its last allocations, never as live
 * bytes below zero. */
static void pool_only_threads_publish_at_refills(void **state) {
    fa_alloc *a = alloc_of(state);
    static struct producer p;
    p.a = a;
    pthread_barrier_init(&p.made, NULL, 2);
    pthread_barrier_init(&p.freed, NULL, 2);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, produce_without_frames, &p), 0);
    pthread_barrier_wait(&p.made);
    fa_stats *st = stats_of(a);
    assert_true(st->pool.allocations >= 2000 - 512 && st->pool.allocations <= 2000);
    free(st);
    for (int i = 0; i < 2000; i++)
        assert_int_equal(fa_pool_free(a, p.blocks[i]), FA_OK);
    st = stats_of(a);
    assert_int_equal(st->pool.live_bytes, 0);
    assert_int_equal(st->total.live_bytes, 0);
    free(st);
    pthread_barrier_wait(&p.freed);
    pthread_join(t, NULL);
    st = stats_of(a);
    assert_int_equal(st->pool.allocations, 2000);
    assert_int_equal(st->pool.frees, 2000);
    free(st);
    pthread_barrier_destroy(&p.made);
    pthread_barrier_destroy(&p.freed);
}

/* The hand count: frame 100 + 28, a mark, 64 (rewound), 16; three 24-byte
 * pool blocks (32-byte class), one freed; one 10000-byte heap block. */
static void stats_equal_a_hand_count(void **state) {
    fa_alloc *a = alloc_of(state);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    assert_non_null(fa_frame_alloc(a, 100));
    assert_non_null(fa_frame_alloc(a, 28));
    fa_mark m = fa_frame_mark(a);
    assert_non_null(fa_frame_alloc(a, 64));
    assert_int_equal(fa_frame_rewind(a, m), FA_OK);
    assert_non_null(fa_frame_alloc(a, 16));
    void *p[3];
    for (int i = 0; i < 3; i++)
        p[i] = fa_pool_alloc(a, 24);
    assert_int_equal(fa_pool_free(a, p[1]), FA_OK);
    void *h = fa_heap_alloc(a, 10000, 16);
    assert_int_equal(fa_end_frame(a), FA_OK);

    fa_stats *st = stats_of(a);
    assert_int_equal(st->size, sizeof *st);
    assert_int_equal(st->version, FA_STATS_VERSION);
    assert_int_equal(st->frame_number, 1);
    assert_int_equal(st->tag_count, 1);
    assert_string_equal(st->tags[0].path, "");
    assert_int_equal(st->frame.allocations, 4);
    assert_int_equal(st->frame.frees, 4);
    assert_int_equal(st->frame.bytes, 208);
    assert_int_equal(st->frame.live_bytes, 0);
    assert_int_equal(st->frame.peak_bytes, 192); /* before the rewind */
    assert_int_equal(st->pool.allocations, 3);
    assert_int_equal(st->pool.frees, 1);
    assert_int_equal(st->pool.bytes, 96);
    assert_int_equal(st->pool.live_bytes, 64);
    assert_int_equal(st->heap.allocations, 1);
    assert_int_equal(st->heap.live_bytes, 10000);
    assert_int_equal(st->total.allocations, 8);
    assert_int_equal(st->total.frees, 5);
    assert_int_equal(st->total.bytes, 208 + 96 + 10000);
    assert_int_equal(st->total.live_bytes, 10064);
    assert_int_equal(st->classes[2].block_size, 32);
    assert_int_equal(st->classes[2].slabs, 1);
    assert_int_equal(st->classes[2].blocks_in_use, 2);
    assert_int_equal(st->classes[2].blocks_free, (64 << 10) / 32 - 2);
    assert_true(st->classes[2].occupancy > 0.0009 && st->classes[2].occupancy < 0.001);
    assert_int_equal(st->classes[3].slabs, 0);
    assert_int_equal(st->backend_calls, 3); /* a chunk, a slab, the heap block */
    assert_true(st->backend_bytes >= 10000 + (64 << 10));
    free(st);

    fa_frame_info info;
    assert_int_equal(fa_frame_info_get(a, &info), FA_OK);
    assert_int_equal(info.allocations, 3); /* live at its end: the rewind took one */
    fa_pool_free(a, p[0]);
    fa_pool_free(a, p[2]);
    fa_heap_free(a, h);
}

static void history_keeps_the_last_frames(void **state) {
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    cfg.history_frames = 4;
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    (void)state;
    for (int f = 1; f <= 6; f++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        fa_tag_push(a, "ui");
        for (int i = 0; i < f; i++)
            fa_frame_alloc(a, 64);
        fa_tag_pop(a);
        fa_frame_alloc(a, 16);
        fa_end_frame(a);
    }
    fa_frame_record r[8];
    assert_int_equal(fa_history_get(a, r, 8), 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r[i].frame, (uint64_t)i + 3);
        assert_int_equal(r[i].allocations, (uint64_t)i + 4);
        assert_int_equal(r[i].bytes, 64 * (i + 3) + 16);
        assert_int_equal(r[i].peak_bytes, r[i].bytes);
        assert_int_equal(r[i].tag_bytes[1], 64 * (i + 3));
        assert_int_equal(r[i].tag_bytes[0], 16);
        assert_int_equal(r[i].chunks, 1);
        assert_int_equal(r[i].reserved_bytes, 64 << 10);
        assert_int_equal(r[i].backend_calls, 0); /* the chunk is kept between frames */
    }
    assert_int_equal(fa_history_get(a, r, 2), 2);
    assert_int_equal(r[1].frame, 6); /* the newest two */
    fa_history_summary sum;
    assert_int_equal(fa_history_summary_get(a, &sum), FA_OK);
    assert_int_equal(sum.frames, 4);
    assert_true(sum.avg_allocations > 5.49 && sum.avg_allocations < 5.51);
    assert_int_equal(sum.peak_bytes, 64 * 6 + 16);
    assert_true(sum.efficiency > 0 && sum.efficiency < 0.01);
    fa_destroy(a);
    assert_int_equal(c.bytes_out, 0);
}


static void stats_misuse_is_reported(void **state) {
    fa_alloc *a = alloc_of(state);
    fa_stats *st = (fa_stats *)calloc(1, sizeof *st);
    assert_int_equal(fa_stats_get(NULL, st), FA_ERR_INVALID);
    assert_int_equal(fa_stats_get(a, NULL), FA_ERR_INVALID);
    st->size = 8;
    assert_int_equal(fa_stats_get(a, st), FA_ERR_INVALID);
    st->size = 0;
    st->version = FA_STATS_VERSION + 1;
    assert_int_equal(fa_stats_get(a, st), FA_ERR_INVALID);
    st->version = 0;
    assert_int_equal(fa_begin_frame(a), FA_OK);
    assert_int_equal(fa_end_frame(a), FA_OK);
    assert_int_equal(fa_stats_get(a, st), FA_OK);
    assert_null(fa_frame_alloc(a, 16)); /* a snapshot between frames opens none */
    assert_int_equal(fa_last_error(), FA_ERR_STATE);
    assert_int_equal(fa_history_get(a, NULL, 3), 0);
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_int_equal(fa_history_get(NULL, NULL, 0), 0);
    assert_int_equal(fa_history_summary_get(a, NULL), FA_ERR_INVALID);
    free(st);
}


/* fa_stats_print: every section, the paths and budgets by name. */
static void the_table_shows_every_section(void **state) {
    struct fixture *f = fixture_of(state);
    assert_int_equal(fa_budget_set(f->a, "render", 0, 1 << 20), FA_OK);
    for (int k = 0; k < 5; k++) {
        assert_int_equal(fa_begin_frame(f->a), FA_OK);
        assert_int_equal(fa_tag_push(f->a, "render"), FA_OK);
        assert_non_null(fa_frame_alloc(f->a, 4000));
        assert_int_equal(fa_tag_pop(f->a), FA_OK);
        assert_int_equal(fa_end_frame(f->a), FA_OK);
    }
    void *kept = fa_pool_alloc(f->a, 100);
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    assert_int_equal(fa_stats_print(f->a, out), FA_OK);
    fclose(out);
    const char *expected[] = {"framealloc: frame 5,", "kind", "scratch", "frames: the last 5", "p95",
                              "tag paths", "render", "soft no limit / hard 1024 KiB", "128 B: 1 slabs, 1 blocks in use"};
    for (size_t i = 0; i < sizeof expected / sizeof *expected; i++)
        if (strstr(text, expected[i]) == NULL)
            fail_msg("\"%s\" is not in:\n%s", expected[i], text);
    free(text);
    assert_int_equal(fa_stats_print(f->a, NULL), FA_ERR_INVALID);
    assert_int_equal(f->ev.last, FA_ERR_INVALID);
    assert_int_equal(fa_stats_print(NULL, stdout), FA_ERR_INVALID);
    assert_int_equal(fa_pool_free(f->a, kept), FA_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(the_table_shows_every_section),
        FIXTURE_TEST(snapshots_while_threads_allocate),
        FIXTURE_TEST(pool_only_threads_publish_at_refills),
        FIXTURE_TEST(stats_equal_a_hand_count),
        cmocka_unit_test(history_keeps_the_last_frames),
        FIXTURE_TEST(stats_misuse_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
