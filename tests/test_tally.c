/* SPDX-License-Identifier: MIT */
/* The tallies (src/tally.c), white-box: an owner's counts add up and its
 * peaks only rise, a sum adds the first n paths of every tally and takes
 * the highest peak, retiring a thread merges its counts into the shared
 * tally (from several threads at once, like shared frees, without losing
 * one), and fa__stats_fill turns a sum into the public fa_stats figures:
 * live bytes are bytes less bytes freed, never below zero, pool counts
 * include the inline paths', and snapshot peaks never fall. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "tally.h"

/* Tallies of more paths than fa_stats.tags holds, on the heap as the
 * library keeps them. */
enum { PATHS = FA_TAG_MAX + 36 };

static struct fa_tally *fresh_tally(void) {
    struct fa_tally *t = (struct fa_tally *)malloc(sizeof *t);
    struct fa_path_tally *rows = (struct fa_path_tally *)malloc(PATHS * sizeof *rows);
    assert_non_null(t);
    assert_non_null(rows);
    fa__tally_init(t, rows, PATHS);
    return t;
}

static void tally_free(struct fa_tally *t) {
    free(t->path);
    free(t);
}

static struct fa_sum *fresh_sum(uint32_t n) {
    struct fa_sum *sum = fa__sum_new(n);
    assert_non_null(sum);
    return sum;
}

static uint64_t get(const _Atomic uint64_t *c) {
    return atomic_load(c);
}

static void counts_add_up_and_raise_keeps_the_maximum(void **state) {
    (void)state;
    struct fa_counts c;
    memset(&c, 0, sizeof c);
    fa__count_alloc(&c, 1, 64);
    fa__count_alloc(&c, 3, 300);
    fa__count_free(&c, 1, 64);
    fa__count_free_shared(&c, 2, 200);
    assert_int_equal(get(&c.allocs), 4);
    assert_int_equal(get(&c.bytes), 364);
    assert_int_equal(get(&c.frees), 3);
    assert_int_equal(get(&c.freed), 264);

    fa__raise(&c.peak, 100);
    fa__raise(&c.peak, 50);
    assert_int_equal(get(&c.peak), 100);
    fa__raise(&c.peak, 150);
    assert_int_equal(get(&c.peak), 150);

    _Atomic uint64_t v;
    atomic_init(&v, 0);
    fa__bump(&v, 7);
    fa__bump(&v, 5);
    assert_int_equal(get(&v), 12);
    fa__set(&v, 3); /* a published figure replaces the last one, lower or not */
    assert_int_equal(get(&v), 3);
}

static void a_sum_adds_the_first_n_paths_of_every_tally(void **state) {
    (void)state;
    enum { N = 3, TALLIES = 3 };
    struct fa_tally *t[TALLIES];
    for (int i = 0; i < TALLIES; i++) {
        t[i] = fresh_tally();
        uint64_t w = (uint64_t)i + 1;
        for (uint32_t p = 0; p < N; p++)
            for (int k = 0; k < FA__KIND_COUNT; k++) {
                fa__count_alloc(&t[i]->path[p].kind[k], w, 100 * w);
                fa__count_free(&t[i]->path[p].kind[k], 1, 10 * w);
                fa__raise(&t[i]->path[p].kind[k].peak, 1000 * w + p);
            }
        fa__set(&t[i]->path[1].pool_out[4], 5 * w);
        fa__set(&t[i]->path[1].pool_back[4], 2 * w);
        fa__set(&t[i]->path[0].slabs[4], w);
        fa__set(&t[i]->path[2].slabs[4], 1);
        fa__count_remote(t[i], 4, 0);
        fa__count_remote(t[i], 4, 1);
        fa__raise(&t[i]->frame_peak, 500 * w);
        /* a path past the first N: not summed */
        fa__count_alloc(&t[i]->path[N].kind[FA__KIND_HEAP], 99, 9999);
        fa__set(&t[i]->path[N].slabs[4], 99);
    }

    struct fa_sum *sum = fresh_sum(N);
    memset(sum->path, 0xab, N * sizeof sum->path[0]); /* clearing must not rely on a zeroed sum */
    memset(sum->slab_blocks, 0xab, sizeof sum->slab_blocks);
    sum->threads = sum->frame_peak = 7;
    fa__sum_clear(sum);
    assert_int_equal(sum->paths, N);
    for (uint32_t p = 0; p < N; p++)
        for (int k = 0; k < FA__KIND_COUNT; k++)
            for (int f = 0; f < 5; f++)
                assert_int_equal(sum->path[p].kind[k][f], 0);
    assert_int_equal(sum->threads, 0);
    assert_int_equal(sum->frame_peak, 0);
    assert_int_equal(sum->slab_blocks[FA__POOL_CLASSES - 1], 0);

    for (int i = 0; i < TALLIES; i++)
        fa__tally_add(sum, t[i]);
    /* weights 1 + 2 + 3 */
    for (uint32_t p = 0; p < N; p++)
        for (int k = 0; k < FA__KIND_COUNT; k++) {
            assert_int_equal(sum->path[p].kind[k][0], 6);
            assert_int_equal(sum->path[p].kind[k][1], 3);
            assert_int_equal(sum->path[p].kind[k][2], 600);
            assert_int_equal(sum->path[p].kind[k][3], 60);
            assert_int_equal(sum->path[p].kind[k][4], 3000 + p); /* the highest, not the total */
        }
    assert_int_equal(sum->path[1].pool_out[4], 30);
    assert_int_equal(sum->path[1].pool_back[4], 12);
    assert_int_equal(sum->path[0].pool_out[4], 0);
    assert_int_equal(sum->slabs[4], 6 + 3); /* classes sum over paths and tallies */
    assert_int_equal(sum->remote[4], 2 * TALLIES); /* per class: owner's and shared counts alike */
    assert_int_equal(sum->slabs[3], 0);
    assert_int_equal(sum->frame_peak, 1500);
    assert_int_equal(sum->threads, 0); /* the caller counts threads */

    /* Cleared, and summed again: not added twice. */
    fa__sum_clear(sum);
    for (int i = 0; i < TALLIES; i++)
        fa__tally_add(sum, t[i]);
    assert_int_equal(sum->path[0].kind[FA__KIND_FRAME][0], 6);
    free(sum);

    /* A sum of one more path takes the counts past N in. */
    sum = fresh_sum(N + 1);
    for (int i = 0; i < TALLIES; i++)
        fa__tally_add(sum, t[i]);
    assert_int_equal(sum->path[N].kind[FA__KIND_HEAP][0], 3 * 99);
    assert_int_equal(sum->path[N].kind[FA__KIND_HEAP][2], 3 * 9999);
    assert_int_equal(sum->slabs[4], 9 + 3 * 99);
    assert_int_equal(sum->path[0].kind[FA__KIND_FRAME][0], 6);

    free(sum);
    for (int i = 0; i < TALLIES; i++)
        tally_free(t[i]);
}

static void retiring_merges_counts_and_keeps_the_higher_peaks(void **state) {
    (void)state;
    struct fa_tally *into = fresh_tally();
    struct fa_tally *from = fresh_tally();
    fa__count_alloc(&into->path[0].kind[FA__KIND_POOL], 2, 128);
    fa__raise(&into->path[0].kind[FA__KIND_FRAME].peak, 4096);
    fa__raise(&into->frame_peak, 4096);
    fa__set(&into->path[5].pool_out[2], 10);
    fa__set(&into->path[5].slabs[2], 4);

    fa__count_alloc(&from->path[0].kind[FA__KIND_POOL], 3, 192);
    fa__count_free(&from->path[0].kind[FA__KIND_POOL], 1, 64);
    fa__count_alloc(&from->path[PATHS - 1].kind[FA__KIND_HEAP], 1, 1 << 20);
    fa__raise(&from->path[0].kind[FA__KIND_FRAME].peak, 1024);
    fa__raise(&from->path[7].kind[FA__KIND_FRAME].peak, 8192);
    fa__raise(&from->frame_peak, 8192);
    fa__set(&from->path[5].pool_out[2], 7);
    fa__set(&from->path[5].pool_back[2], 6);
    fa__set(&from->path[5].slabs[2], 3);
    fa__count_remote(from, 2, 0);
    fa__count_remote(into, 2, 0);

    fa__tally_retire(into, from);
    assert_int_equal(get(&into->path[0].kind[FA__KIND_POOL].allocs), 5);
    assert_int_equal(get(&into->path[0].kind[FA__KIND_POOL].bytes), 320);
    assert_int_equal(get(&into->path[0].kind[FA__KIND_POOL].frees), 1);
    assert_int_equal(get(&into->path[0].kind[FA__KIND_POOL].freed), 64);
    assert_int_equal(get(&into->path[PATHS - 1].kind[FA__KIND_HEAP].bytes), 1 << 20); /* every path */
    assert_int_equal(get(&into->path[0].kind[FA__KIND_FRAME].peak), 4096); /* the higher stays */
    assert_int_equal(get(&into->path[7].kind[FA__KIND_FRAME].peak), 8192);
    assert_int_equal(get(&into->frame_peak), 8192);
    assert_int_equal(get(&into->path[5].pool_out[2]), 17);
    assert_int_equal(get(&into->path[5].pool_back[2]), 6);
    /* the departing thread's slabs went to the shared lists: not its census */
    assert_int_equal(get(&into->path[5].slabs[2]), 4);
    assert_int_equal(get(&into->remote[2]), 2); /* the remote frees it made count on */
    assert_int_equal(get(&from->path[0].kind[FA__KIND_POOL].allocs), 3); /* the source is only read */
    tally_free(into);
    tally_free(from);
}

enum { RACERS = 4, ROUNDS = 50000, RETIRES = 25 };

struct racer {
    struct fa_tally *shared;
    struct fa_tally *own;
    uint64_t         id;
};

static void *free_shared(void *arg) {
    struct racer *r = (struct racer *)arg;
    for (int i = 0; i < ROUNDS; i++)
        fa__count_free_shared(&r->shared->path[1].kind[FA__KIND_POOL], 1, 8 << (i % 4));
    return NULL;
}

/* Four threads free into the shared tally at once (frees by threads that
 * do not own the counts): no count is lost. */
static void shared_frees_from_four_threads_add_up_exactly(void **state) {
    (void)state;
    struct fa_tally *shared = fresh_tally();
    struct racer r[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        r[i] = (struct racer){shared, NULL, (uint64_t)i};
        assert_int_equal(pthread_create(&th[i], NULL, free_shared, &r[i]), 0);
    }
    for (int i = 0; i < RACERS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    /* each thread: ROUNDS / 4 frees each of 8, 16, 32 and 64 bytes */
    assert_int_equal(get(&shared->path[1].kind[FA__KIND_POOL].frees), (uint64_t)RACERS * ROUNDS);
    assert_int_equal(get(&shared->path[1].kind[FA__KIND_POOL].freed), (uint64_t)RACERS * (ROUNDS / 4) * 120);
    assert_int_equal(get(&shared->path[1].kind[FA__KIND_POOL].allocs), 0);
    tally_free(shared);
}

static void *retire_repeatedly(void *arg) {
    struct racer *r = (struct racer *)arg;
    for (int i = 0; i < RETIRES; i++)
        fa__tally_retire(r->shared, r->own);
    return NULL;
}

/* Four exiting threads retire into the shared tally at once: the counts
 * add up exactly and the peaks come out as the highest. */
static void threads_retiring_at_once_lose_no_count(void **state) {
    (void)state;
    struct fa_tally *shared = fresh_tally();
    struct racer r[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        r[i] = (struct racer){shared, fresh_tally(), (uint64_t)i + 1};
        fa__count_alloc(&r[i].own->path[2].kind[FA__KIND_FRAME], r[i].id, 1000 * r[i].id);
        fa__count_free(&r[i].own->path[2].kind[FA__KIND_HEAP], 1, 64);
        fa__raise(&r[i].own->path[2].kind[FA__KIND_FRAME].peak, 777 * r[i].id);
        fa__raise(&r[i].own->frame_peak, 100 * r[i].id);
        fa__set(&r[i].own->path[2].pool_out[0], r[i].id);
    }
    for (int i = 0; i < RACERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, retire_repeatedly, &r[i]), 0);
    for (int i = 0; i < RACERS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    /* ids 1 + 2 + 3 + 4 = 10, each retired RETIRES times */
    assert_int_equal(get(&shared->path[2].kind[FA__KIND_FRAME].allocs), 10 * RETIRES);
    assert_int_equal(get(&shared->path[2].kind[FA__KIND_FRAME].bytes), 10000 * RETIRES);
    assert_int_equal(get(&shared->path[2].kind[FA__KIND_HEAP].frees), RACERS * RETIRES);
    assert_int_equal(get(&shared->path[2].kind[FA__KIND_HEAP].freed), 64 * RACERS * RETIRES);
    assert_int_equal(get(&shared->path[2].pool_out[0]), 10 * RETIRES);
    assert_int_equal(get(&shared->path[2].kind[FA__KIND_FRAME].peak), 777 * RACERS);
    assert_int_equal(get(&shared->frame_peak), 100 * RACERS);
    for (int i = 0; i < RACERS; i++)
        tally_free(r[i].own);
    tally_free(shared);
}

static struct fa_peaks *fresh_peaks(uint32_t n) {
    struct fa_peaks *peaks = (struct fa_peaks *)malloc(sizeof *peaks);
    assert_non_null(peaks);
    peaks->tag = (uint64_t(*)[FA__KIND_COUNT])calloc(n, sizeof *peaks->tag);
    assert_non_null(peaks->tag);
    return peaks;
}

/* Two paths with frame, pool and heap counts, and the classes' census. */
static struct fa_sum *sample_sum(void) {
    struct fa_sum *sum = fresh_sum(2);
    uint64_t *f0 = sum->path[0].kind[FA__KIND_FRAME], *p0 = sum->path[0].kind[FA__KIND_POOL],
             *h0 = sum->path[0].kind[FA__KIND_HEAP], *p1 = sum->path[1].kind[FA__KIND_POOL];
    /* allocs, frees, bytes, freed, peak */
    f0[0] = 10, f0[1] = 10, f0[2] = 1000, f0[3] = 1000, f0[4] = 600;
    p0[0] = 2, p0[1] = 1, p0[2] = 128, p0[3] = 64; /* the slow path's counts */
    h0[0] = 1, h0[1] = 0, h0[2] = 8192, h0[3] = 0;
    p1[0] = 1, p1[1] = 0, p1[2] = 4096, p1[3] = 0;
    sum->path[0].pool_out[3] = 5; /* the inline paths': 64-byte blocks */
    sum->path[0].pool_back[3] = 2;
    sum->path[1].pool_out[0] = 4; /* 8-byte blocks */
    sum->frame_peak = 900;
    sum->path[1].pool_out[3] = 300; /* 64-byte blocks in all: 305 out, 2 back, 103 freed remotely */
    sum->remote[3] = 103;
    sum->slabs[3] = 2;
    sum->slab_blocks[3] = 2 * 1024;
    return sum;
}

static void stats_fill_makes_the_public_figures_of_a_sum(void **state) {
    (void)state;
    struct fa_sum *sum = sample_sum();
    fa_stats *st = (fa_stats *)calloc(1, sizeof *st);
    fa_tag_stats tags[2];
    memset(tags, 0, sizeof tags);
    struct fa_peaks *peaks = fresh_peaks(2);
    assert_non_null(st);
    struct fa_live *live = (struct fa_live *)calloc(1, sizeof *live);
    assert_non_null(live);
    fa__stats_fill(st, tags, sum, peaks, live);

    const fa_tag_stats *t0 = &tags[0], *t1 = &tags[1];
    assert_int_equal(t0->frame.allocations, 10);
    assert_int_equal(t0->frame.live_bytes, 0);
    assert_int_equal(t0->frame.peak_bytes, 600); /* the frame peak is the largest frame */
    assert_int_equal(t0->pool.allocations, 2 + 5);
    assert_int_equal(t0->pool.frees, 1 + 2);
    assert_int_equal(t0->pool.bytes, 128 + 5 * 64);
    assert_int_equal(t0->pool.live_bytes, (128 + 5 * 64) - (64 + 2 * 64));
    assert_int_equal(t0->pool.peak_bytes, t0->pool.live_bytes); /* pool and heap: the snapshots' */
    assert_int_equal(t0->heap.live_bytes, 8192);
    assert_int_equal(t1->pool.allocations, 1 + 4 + 300);
    assert_int_equal(t1->pool.bytes, 4096 + 4 * 8 + 300 * 64);
    assert_int_equal(t1->pool.live_bytes, 4096 + 4 * 8 + 300 * 64);

    /* the kinds sum the paths; the total sums the kinds */
    assert_int_equal(st->pool.allocations, t0->pool.allocations + t1->pool.allocations);
    assert_int_equal(st->pool.live_bytes, t0->pool.live_bytes + t1->pool.live_bytes);
    assert_int_equal(st->frame.peak_bytes, 900);
    assert_int_equal(st->pool.peak_bytes, st->pool.live_bytes);
    assert_int_equal(st->total.allocations, st->frame.allocations + st->pool.allocations + st->heap.allocations);
    assert_int_equal(st->total.bytes, st->frame.bytes + st->pool.bytes + st->heap.bytes);
    assert_int_equal(st->total.live_bytes, st->frame.live_bytes + st->pool.live_bytes + st->heap.live_bytes);
    assert_int_equal(st->total.live_bytes, st->total.bytes - (1000 + 64 + 2 * 64));
    assert_int_equal(st->total.peak_bytes, st->total.live_bytes);
    assert_int_equal(atomic_load(&live->total_peak), st->total.live_bytes); /* a snapshot raises the peaks */
    assert_int_equal(atomic_load(&live->peak[FA__KIND_POOL]), st->pool.live_bytes);

    /* classes: blocks handed out, less those taken back and freed remotely */
    for (unsigned c = 0; c < FA__POOL_CLASSES; c++)
        assert_int_equal(st->classes[c].block_size, (uint64_t)8 << c);
    assert_int_equal(st->classes[3].slabs, 2);
    assert_int_equal(st->classes[3].blocks_in_use, 200);
    assert_int_equal(st->classes[3].blocks_free, 2048 - 200);
    assert_true(st->classes[3].occupancy > 200.0 / 2048 - 1e-9 && st->classes[3].occupancy < 200.0 / 2048 + 1e-9);
    assert_int_equal(st->classes[0].slabs, 0);
    assert_true(st->classes[0].occupancy == 0.0); /* no slabs: 0, not a division by zero */
    free(live);
    free(peaks->tag);
    free(peaks);
    free(st);
    free(sum);
}

static void snapshot_peaks_never_fall_and_live_bytes_never_go_below_zero(void **state) {
    (void)state;
    struct fa_sum *sum = sample_sum();
    fa_stats *st = (fa_stats *)calloc(1, sizeof *st);
    fa_tag_stats tags[2];
    memset(tags, 0, sizeof tags);
    struct fa_peaks *peaks = fresh_peaks(2);
    assert_non_null(st);
    struct fa_live *live = (struct fa_live *)calloc(1, sizeof *live);
    assert_non_null(live);
    fa__stats_fill(st, tags, sum, peaks, live);
    uint64_t pool_peak = st->pool.peak_bytes, total_peak = st->total.peak_bytes;
    assert_true(pool_peak > 0);

    /* Everything of path 1's pool freed since; a free of path 0's heap is
     * published before its allocation, and a cache counted more blocks
     * than the slabs had when they were last published. */
    sum->path[1].kind[FA__KIND_POOL][3] = 4096;
    sum->path[1].pool_back[0] = 4;
    sum->path[1].pool_back[3] = 300;
    sum->path[0].kind[FA__KIND_HEAP][3] = 8192 + 512;
    sum->remote[3] = 200; /* more remote frees published than allocations */
    memset(st, 0, sizeof *st); /* as fa_stats_get does before each fill */
    memset(tags, 0, sizeof tags);
    fa__stats_fill(st, tags, sum, peaks, live);
    assert_int_equal(tags[1].pool.live_bytes, 0);
    assert_int_equal(tags[0].heap.live_bytes, 0); /* clamped, not wrapped */
    assert_int_equal(tags[1].pool.peak_bytes, 4096 + 4 * 8 + 300 * 64);
    assert_int_equal(st->pool.peak_bytes, pool_peak);
    assert_true(st->pool.live_bytes < pool_peak);
    assert_int_equal(st->total.peak_bytes, total_peak);
    assert_true(st->total.live_bytes < total_peak);
    assert_int_equal(st->classes[3].blocks_in_use, 0);
    assert_int_equal(st->classes[3].blocks_free, 2048);
    free(live);
    free(peaks->tag);
    free(peaks);
    free(st);
    free(sum);
}

/* Live figures raised where threads publish: the peak keeps the highest
 * sum, frees lower the live bytes only, a kind's peak and the total's are
 * raised together, and racing publishers lose no byte. */
static void *publish_and_take_back(void *arg) {
    struct fa_live *l = (struct fa_live *)arg;
    for (int i = 0; i < ROUNDS; i++) {
        fa__live_add(l, FA__KIND_HEAP, 64);
        fa__live_add(l, FA__KIND_HEAP, -64);
    }
    return NULL;
}

static void live_figures_keep_their_highest_sum(void **state) {
    (void)state;
    struct fa_live *l = (struct fa_live *)malloc(sizeof *l);
    assert_non_null(l);
    fa__live_init(l);
    fa__live_add(l, FA__KIND_POOL, -128); /* a remote free published first */
    fa__live_add(l, FA__KIND_POOL, 1000);
    fa__live_add(l, FA__KIND_SCRATCH, 500);
    fa__live_add(l, FA__KIND_POOL, -872);
    assert_int_equal(atomic_load(&l->bytes[FA__KIND_POOL]), 0);
    assert_int_equal(atomic_load(&l->peak[FA__KIND_POOL]), 872);
    assert_int_equal(atomic_load(&l->total), 500);
    assert_int_equal(atomic_load(&l->total_peak), 1372);
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, publish_and_take_back, l), 0);
    for (int i = 0; i < RACERS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(atomic_load(&l->bytes[FA__KIND_HEAP]), 0);
    assert_true(atomic_load(&l->peak[FA__KIND_HEAP]) >= 64 && atomic_load(&l->peak[FA__KIND_HEAP]) <= 64 * RACERS);
    assert_int_equal(atomic_load(&l->total), 500);
    free(l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_add_up_and_raise_keeps_the_maximum),
        cmocka_unit_test(a_sum_adds_the_first_n_paths_of_every_tally),
        cmocka_unit_test(retiring_merges_counts_and_keeps_the_higher_peaks),
        cmocka_unit_test(shared_frees_from_four_threads_add_up_exactly),
        cmocka_unit_test(threads_retiring_at_once_lose_no_count),
        cmocka_unit_test(stats_fill_makes_the_public_figures_of_a_sum),
        cmocka_unit_test(snapshot_peaks_never_fall_and_live_bytes_never_go_below_zero),
        cmocka_unit_test(live_figures_keep_their_highest_sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
