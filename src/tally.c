/* SPDX-License-Identifier: MIT */
/* Tallies: per-thread counts, their sums, and the public figures (fa_stats)
 * made of them.
 * Floor: structures (docs/internals.md). It calls nothing above it: no
 * thread, instance, attribution or API file.
 * Invariants:
 * - A thread's tally is written by its owner only, with a relaxed load and
 *   store (fa__bump): a reader never sees a torn count, and no path pays
 *   for an atomic read-modify-write. The allocator's shared tally (exited
 *   threads, frees by threads without state) takes atomic adds instead.
 * - Allocation and free counts only grow, peaks only rise. Live bytes are
 *   bytes minus bytes freed, clamped at 0: a free may be published before
 *   its allocation.
 * - The rows past the paths that exist are zero, so a sum reads the first
 *   n, the paths that existed when it was made. */
#include "tally.h"

#include "invariant.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void fa__count_free_shared(struct fa_counts *c, uint64_t count, uint64_t n) {
    atomic_fetch_add_explicit(&c->frees, count, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->freed, n, memory_order_relaxed);
}

void fa__tally_init(struct fa_tally *t, struct fa_path_tally *rows, uint32_t paths) {
    memset(t, 0, sizeof *t); /* all-zero atomics are valid zero counts on every target we build for */
    memset(rows, 0, paths * sizeof *rows);
    t->path = rows;
    t->paths = paths;
}

static uint64_t load(const _Atomic uint64_t *c) {
    return atomic_load_explicit(c, memory_order_relaxed);
}

static uint64_t max_u64(uint64_t a, uint64_t b) {
    return a > b ? a : b;
}

struct fa_sum *fa__sum_new(uint32_t n) {
    struct fa_sum *sum = (struct fa_sum *)malloc(sizeof *sum + n * sizeof sum->path[0]);
    if (sum != NULL) {
        sum->paths = n;
        fa__sum_clear(sum);
    }
    return sum;
}

void fa__sum_clear(struct fa_sum *sum) {
    uint32_t n = sum->paths;
    memset(sum, 0, sizeof *sum + n * sizeof sum->path[0]);
    sum->paths = n;
}

/* Only the first sum->paths paths existed: the rows past them were zero. */
void fa__tally_add(struct fa_sum *sum, const struct fa_tally *t) {
    uint32_t n = sum->paths;
    fa__assert_internal(n <= t->paths);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < FA__KIND_COUNT; k++) {
            const struct fa_counts *c = &t->path[i].kind[k];
            uint64_t *s = sum->path[i].kind[k];
            s[0] += load(&c->allocs);
            s[1] += load(&c->frees);
            s[2] += load(&c->bytes);
            s[3] += load(&c->freed);
            if (load(&c->peak) > s[4])
                s[4] = load(&c->peak);
        }
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t c = 0; c < FA__POOL_CLASSES; c++) {
            sum->path[i].pool_out[c] += load(&t->path[i].pool_out[c]);
            sum->path[i].pool_back[c] += load(&t->path[i].pool_back[c]);
            sum->slabs[c] += load(&t->path[i].slabs[c]);
        }
    for (uint32_t c = 0; c < FA__POOL_CLASSES; c++)
        sum->remote[c] += load(&t->remote[c]);
    sum->frame_peak = max_u64(sum->frame_peak, load(&t->frame_peak));
}

static void merge(_Atomic uint64_t *into, const _Atomic uint64_t *from) {
    atomic_fetch_add_explicit(into, load(from), memory_order_relaxed);
}

static void merge_max(_Atomic uint64_t *into, const _Atomic uint64_t *from) {
    uint64_t v = load(from), old = load(into);
    while (v > old && !atomic_compare_exchange_weak_explicit(into, &old, v, memory_order_relaxed,
                                                             memory_order_relaxed)) {
    }
}

void fa__tally_retire(struct fa_tally *into, const struct fa_tally *from) {
    fa__assert_internal(into->paths == from->paths);
    for (uint32_t i = 0; i < from->paths; i++)
        for (uint32_t k = 0; k < FA__KIND_COUNT; k++) {
            struct fa_counts *c = &into->path[i].kind[k];
            const struct fa_counts *f = &from->path[i].kind[k];
            merge(&c->allocs, &f->allocs);
            merge(&c->frees, &f->frees);
            merge(&c->bytes, &f->bytes);
            merge(&c->freed, &f->freed);
            merge_max(&c->peak, &f->peak);
        }
    for (uint32_t i = 0; i < from->paths; i++)
        for (uint32_t c = 0; c < FA__POOL_CLASSES; c++) { /* its slabs went to the shared lists */
            merge(&into->path[i].pool_out[c], &from->path[i].pool_out[c]);
            merge(&into->path[i].pool_back[c], &from->path[i].pool_back[c]);
        }
    for (uint32_t c = 0; c < FA__POOL_CLASSES; c++)
        merge(&into->remote[c], &from->remote[c]);
    merge_max(&into->frame_peak, &from->frame_peak);
}

/* ---- live bytes and their peaks ----------------------------------------- */

void fa__live_init(struct fa_live *l) {
    memset(l, 0, sizeof *l); /* all-zero atomics are valid zeros, as for tallies */
}

/* Raises *peak to v (a live figure, which may be below 0); the peak after. */
static uint64_t raise_shared(_Atomic uint64_t *peak, int64_t v) {
    uint64_t old = load(peak);
    while (v > 0 && (uint64_t)v > old &&
           !atomic_compare_exchange_weak_explicit(peak, &old, (uint64_t)v, memory_order_relaxed,
                                                  memory_order_relaxed)) {
    }
    return max_u64(old, v > 0 ? (uint64_t)v : 0);
}

void fa__live_add(struct fa_live *l, int kind, int64_t delta) {
    fa__assert(kind != FA__KIND_FRAME);
    int64_t now = atomic_fetch_add_explicit(&l->bytes[kind], delta, memory_order_relaxed) + delta;
    int64_t all = atomic_fetch_add_explicit(&l->total, delta, memory_order_relaxed) + delta;
    if (delta > 0) { /* a free lowers nothing */
        raise_shared(&l->peak[kind], now);
        raise_shared(&l->total_peak, all);
    }
}

/* What the inline paths counted for path i, into its pool counts. */
static void add_fast_counts(uint64_t *s, const struct fa_sum_path *p) {
    for (uint32_t c = 0; c < FA__POOL_CLASSES; c++) {
        s[0] += p->pool_out[c];
        s[1] += p->pool_back[c];
        s[2] += p->pool_out[c] << (c + 3);
        s[3] += p->pool_back[c] << (c + 3);
    }
}

/* Counts to figures; a path's peak of long-lived memory is the snapshots'. */
static void kind_fill(fa_kind_stats *k, const uint64_t *s, int kind, uint64_t *peak) {
    k->allocations = s[0];
    k->frees = s[1];
    k->bytes = s[2];
    k->live_bytes = s[2] > s[3] ? s[2] - s[3] : 0; /* a free published before its allocation */
    *peak = max_u64(*peak, k->live_bytes);
    k->peak_bytes = kind == FA__KIND_FRAME ? s[4] : *peak;
}

static void kind_add(fa_kind_stats *into, const fa_kind_stats *k) {
    into->allocations += k->allocations;
    into->frees += k->frees;
    into->bytes += k->bytes;
    into->live_bytes += k->live_bytes;
}

/* Blocks of class c handed out and not freed, as published: below zero
 * (clamped) while a free is published before its allocation. */
static uint64_t blocks_in_use(const struct fa_sum *sum, uint32_t c) {
    uint64_t out = 0, back = sum->remote[c];
    for (uint32_t i = 0; i < sum->paths; i++) {
        out += sum->path[i].pool_out[c];
        back += sum->path[i].pool_back[c];
    }
    return out > back ? out - back : 0;
}

static void classes_fill(fa_stats *out, const struct fa_sum *sum) {
    for (uint32_t c = 0; c < FA__POOL_CLASSES; c++) {
        fa_class_stats *cs = &out->classes[c];
        uint64_t in_use = blocks_in_use(sum, c);
        cs->block_size = (uint64_t)8 << c;
        cs->slabs = sum->slabs[c];
        cs->blocks_in_use = in_use;
        cs->blocks_free = sum->slab_blocks[c] > in_use ? sum->slab_blocks[c] - in_use : 0;
        cs->occupancy = sum->slab_blocks[c] != 0 ? (double)in_use / (double)sum->slab_blocks[c] : 0.0;
    }
}

void fa__stats_fill(fa_stats *out, fa_tag_stats *tags, const struct fa_sum *sum, struct fa_peaks *peaks,
                    struct fa_live *live) {
    fa_kind_stats *kinds[FA__KIND_COUNT] = {&out->frame, &out->pool, &out->heap, &out->scratch};
    for (uint32_t i = 0; i < sum->paths; i++) {
        fa_tag_stats *t = &tags[i];
        fa_kind_stats *tk[FA__KIND_COUNT] = {&t->frame, &t->pool, &t->heap, &t->scratch};
        for (int k = 0; k < FA__KIND_COUNT; k++) {
            uint64_t s[5];
            memcpy(s, sum->path[i].kind[k], sizeof s);
            if (k == FA__KIND_POOL)
                add_fast_counts(s, &sum->path[i]);
            kind_fill(tk[k], s, k, &peaks->tag[i][k]);
            kind_add(kinds[k], tk[k]);
        }
    }
    for (int k = 0; k < FA__KIND_COUNT; k++) {
        int64_t seen = (int64_t)kinds[k]->live_bytes;
        kinds[k]->peak_bytes = k == FA__KIND_FRAME ? sum->frame_peak : raise_shared(&live->peak[k], seen);
        kind_add(&out->total, kinds[k]);
    }
    out->total.peak_bytes = raise_shared(&live->total_peak, (int64_t)out->total.live_bytes);
    classes_fill(out, sum);
}
