/* SPDX-License-Identifier: MIT */
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

/* ---- issue 19: statistics that tell the truth ----------------------------- */

#define CROSS_BLOCKS 10000
#define CLASS_64 3 /* 8 << 3 */

struct crossing {
    fa_alloc         *a;
    void             *blocks[CROSS_BLOCKS];
    int               count, freed; /* blocks it allocates; of which it frees itself */
    pthread_barrier_t made, done;   /* NULL made: the thread exits once it allocated */
    int               stays;
};

/* Allocates `count` 64-byte blocks in one frame, frees `freed` of them,
 * and (when it stays) lives on until the main thread has looked. */
static void *allocate_for_another(void *arg) {
    struct crossing *x = (struct crossing *)arg;
    assert_int_equal(fa_begin_frame(x->a), FA_OK);
    for (int i = 0; i < x->count; i++)
        x->blocks[i] = fa_pool_alloc(x->a, 64);
    for (int i = 0; i < x->freed; i++)
        assert_int_equal(fa_pool_free(x->a, x->blocks[i]), FA_OK);
    assert_int_equal(fa_end_frame(x->a), FA_OK);
    if (x->stays) {
        pthread_barrier_wait(&x->made);
        pthread_barrier_wait(&x->done);
    }
    return NULL;
}

static fa_class_stats class_of(fa_alloc *a, unsigned cls) {
    fa_stats *st = stats_of(a);
    assert_non_null(st);
    fa_class_stats c = st->classes[cls];
    assert_int_equal(st->pool.live_bytes, c.blocks_in_use * c.block_size);
    free(st);
    return c;
}

/* 10,000 blocks allocated by one thread and freed by another: none in use,
 * with no fa_trim and the allocating thread still alive (its slabs hold
 * the blocks as remote frees it has not collected). */
static void cross_thread_frees_leave_no_block_in_use(void **state) {
    fa_alloc *a = alloc_of(state);
    static struct crossing x;
    memset(&x, 0, sizeof x);
    x.a = a;
    x.count = CROSS_BLOCKS;
    x.stays = 1;
    pthread_barrier_init(&x.made, NULL, 2);
    pthread_barrier_init(&x.done, NULL, 2);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, allocate_for_another, &x), 0);
    pthread_barrier_wait(&x.made);
    assert_int_equal(class_of(a, CLASS_64).blocks_in_use, CROSS_BLOCKS);
    for (int i = 0; i < CROSS_BLOCKS; i++)
        assert_int_equal(fa_pool_free(a, x.blocks[i]), FA_OK);
    fa_class_stats c = class_of(a, CLASS_64);
    assert_int_equal(c.blocks_in_use, 0);
    assert_int_equal(c.blocks_free, c.slabs * ((64u << 10) / 64));
    pthread_barrier_wait(&x.done);
    pthread_join(t, NULL);
    assert_int_equal(class_of(a, CLASS_64).blocks_in_use, 0);
    pthread_barrier_destroy(&x.made);
    pthread_barrier_destroy(&x.done);
}

/* A thread allocates 100 blocks, frees 50 and exits; the main thread frees
 * the rest: none in use, and still none once another thread has used the
 * class again (adopting the exited thread's slab). */
static void an_exited_threads_blocks_freed_elsewhere(void **state) {
    fa_alloc *a = alloc_of(state);
    static struct crossing x;
    memset(&x, 0, sizeof x);
    x.a = a;
    x.count = 100;
    x.freed = 50;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, allocate_for_another, &x), 0);
    pthread_join(t, NULL);
    assert_int_equal(class_of(a, CLASS_64).blocks_in_use, 50);
    for (int i = 50; i < 100; i++)
        assert_int_equal(fa_pool_free(a, x.blocks[i]), FA_OK);
    assert_int_equal(class_of(a, CLASS_64).blocks_in_use, 0);
    static struct crossing y;
    memset(&y, 0, sizeof y);
    y.a = a;
    y.count = 30;
    y.freed = 10;
    y.stays = 1;
    pthread_barrier_init(&y.made, NULL, 2);
    pthread_barrier_init(&y.done, NULL, 2);
    assert_int_equal(pthread_create(&t, NULL, allocate_for_another, &y), 0);
    pthread_barrier_wait(&y.made);
    assert_int_equal(class_of(a, CLASS_64).blocks_in_use, 20);
    for (int i = 10; i < 30; i++)
        assert_int_equal(fa_pool_free(a, y.blocks[i]), FA_OK);
    assert_int_equal(class_of(a, CLASS_64).blocks_in_use, 0);
    pthread_barrier_wait(&y.done);
    pthread_join(t, NULL);
    assert_int_equal(class_of(a, CLASS_64).blocks_in_use, 0);
    pthread_barrier_destroy(&y.made);
    pthread_barrier_destroy(&y.done);
}

#define SPAWNS 200000

/* 200,000 spawns, then as many frees, with no snapshot in between: the
 * peak is what was live at the last publish point before the frees (a
 * refill), not the 0 a snapshot would see now. */
static void peaks_are_raised_where_threads_publish(void **state) {
    fa_alloc *a = alloc_of(state);
    void **spawned = (void **)malloc(SPAWNS * sizeof *spawned);
    assert_non_null(spawned);
    for (int i = 0; i < SPAWNS; i++)
        spawned[i] = fa_pool_alloc(a, 64);
    for (int i = 0; i < SPAWNS; i++)
        assert_int_equal(fa_pool_free(a, spawned[i]), FA_OK);
    void *big = fa_heap_alloc(a, 1 << 20, 64); /* a heap block: its own publish point */
    assert_int_equal(fa_heap_free(a, big), FA_OK);
    fa_stats *st = stats_of(a);
    assert_int_equal(st->pool.live_bytes, 0);
    assert_true(st->pool.peak_bytes >= (uint64_t)(SPAWNS - 1024) * 64);
    assert_true(st->pool.peak_bytes <= (uint64_t)SPAWNS * 64);
    assert_int_equal(st->heap.peak_bytes, 1 << 20);
    assert_true(st->total.peak_bytes >= st->pool.peak_bytes);
    free(st);
    free(spawned);
}

/* A worker keeps its spawns across its frames: its frame ends publish. */
static void *spawn_across_frames(void *arg) {
    fa_alloc *a = (fa_alloc *)arg;
    void *kept[200];
    for (int f = 0; f < 10; f++) {
        assert_int_equal(fa_begin_frame(a), FA_OK);
        for (int i = 0; i < 200; i++)
            kept[i] = fa_pool_alloc(a, 128);
        assert_int_equal(fa_end_frame(a), FA_OK);
        assert_int_equal(fa_begin_frame(a), FA_OK);
        for (int i = 0; i < 200; i++)
            assert_int_equal(fa_pool_free(a, kept[i]), FA_OK);
        assert_int_equal(fa_end_frame(a), FA_OK);
    }
    return NULL;
}

static void threads_alive_and_seen(void **state) {
    fa_alloc *a = alloc_of(state);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_create(&t[i], NULL, spawn_across_frames, a), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    fa_stats *st = stats_of(a);
    assert_int_equal(st->threads_alive, 0);
    assert_int_equal(st->threads_seen, 3);
    assert_int_equal(st->pool.live_bytes, 0);
    assert_true(st->pool.peak_bytes >= 200 * 128); /* one thread's frame end at least */
    assert_true(st->pool.peak_bytes <= 3 * 200 * 128);
    free(st);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    assert_int_equal(fa_end_frame(a), FA_OK);
    st = stats_of(a);
    assert_int_equal(st->threads_alive, 1);
    assert_int_equal(st->threads_seen, 4);
    free(st);
}

/* What the allocator holds beyond live memory has figures of its own: the
 * chunk cache and the empty slabs. */
static void held_memory_is_named(void **state) {
    fa_alloc *a = alloc_of(state);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    assert_non_null(fa_frame_alloc(a, 3 << 20));
    assert_int_equal(fa_end_frame(a), FA_OK);
    void *blocks[2048];
    for (int i = 0; i < 2048; i++)
        blocks[i] = fa_pool_alloc(a, 64);
    for (int i = 0; i < 2048; i++)
        fa_pool_free(a, blocks[i]);
    assert_int_equal(fa_trim(a), FA_OK); /* empties the slabs: within the reserve they stay */
    fa_stats *st = stats_of(a);
    assert_int_equal(st->chunk_cache_bytes, 0); /* fa_trim gave the chunks back */
    assert_int_equal(st->empty_slab_bytes, 2 * (64 << 10));
    free(st);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    assert_non_null(fa_frame_alloc(a, 3 << 20));
    assert_int_equal(fa_end_frame(a), FA_OK);
    st = stats_of(a);
    assert_true(st->chunk_cache_bytes >= 3 << 20);
    assert_true(st->backend_bytes >= st->chunk_cache_bytes + st->empty_slab_bytes);
    free(st);
}

/* A caller compiled against version 2 of fa_stats (the struct up to its
 * tags) is served that layout, and nothing past it is written. */
static void a_version_2_caller_gets_its_layout(void **state) {
    fa_alloc *a = alloc_of(state);
    size_t v2 = offsetof(fa_stats, threads_seen);
    fa_stats *st = (fa_stats *)malloc(sizeof *st);
    memset(st, 0xAB, sizeof *st);
    st->size = (uint32_t)v2;
    st->version = 2;
    assert_int_equal(fa_stats_get(a, st), FA_OK);
    assert_int_equal(st->size, v2);
    assert_int_equal(st->version, 2);
    assert_int_equal(st->tag_count, 1);
    const unsigned char *past = (const unsigned char *)st + v2;
    for (size_t i = 0; i < sizeof *st - v2; i++)
        assert_int_equal(past[i], 0xAB);
    free(st);
}


/* fa_tag_stats_get: every path, as fa_stats_get has them; the count of
 * all paths whatever room the caller gave. */
static void tag_stats_give_every_path(void **state) {
    fa_alloc *a = alloc_of(state);
    const char *names[] = {"ai", "audio", "render"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fa_tag_push(a, names[i]), FA_OK);
        assert_non_null(fa_pool_alloc(a, (size_t)(i + 1) * 100));
        assert_int_equal(fa_tag_pop(a), FA_OK);
    }
    assert_int_equal(fa_tag_stats_get(a, NULL, 0), 4);
    fa_tag_stats two[2];
    memset(two, 0, sizeof two);
    assert_int_equal(fa_tag_stats_get(a, two, 2), 4);
    assert_string_equal(two[0].path, "");
    assert_string_equal(two[1].path, "ai");
    fa_tag_stats all[FA_TAG_MAX];
    assert_int_equal(fa_tag_stats_get(a, all, FA_TAG_MAX), 4);
    fa_stats *st = stats_of(a);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(all[i].path, st->tags[i].path);
        assert_int_equal(all[i].pool.live_bytes, st->tags[i].pool.live_bytes);
    }
    assert_int_equal(all[3].pool.live_bytes, 512);
    free(st);
    assert_int_equal(fa_tag_stats_get(NULL, all, 1), 0);
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_int_equal(fa_tag_stats_get(a, NULL, 1), 0);
    assert_string_equal(fa_last_error_detail(), "fa_tag_stats_get: NULL output");
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
        FIXTURE_TEST(cross_thread_frees_leave_no_block_in_use),
        FIXTURE_TEST(an_exited_threads_blocks_freed_elsewhere),
        FIXTURE_TEST(peaks_are_raised_where_threads_publish),
        FIXTURE_TEST(threads_alive_and_seen),
        FIXTURE_TEST(held_memory_is_named),
        FIXTURE_TEST(a_version_2_caller_gets_its_layout),
        FIXTURE_TEST(tag_stats_give_every_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
