/* SPDX-License-Identifier: MIT */
/* Tallies: per-thread counts with no atomic read-modify-write on any
 * path (the owner stores, others load), summed on demand. */
#ifndef FA_TALLY_H
#define FA_TALLY_H

#include <stdatomic.h>

#include "framealloc.h"

enum { FA__KIND_FRAME, FA__KIND_POOL, FA__KIND_HEAP, FA__KIND_SCRATCH, FA__KIND_COUNT };

struct fa_counts {
    _Atomic uint64_t allocs, frees, bytes, freed;
    _Atomic uint64_t peak; /* frame: the largest frame; others unused */
};

/* What one thread counted for one tag path. */
struct fa_path_tally {
    struct fa_counts kind[FA__KIND_COUNT];
    /* per class: pool blocks the path's caches handed out and took back
     * (counted by the inline paths), and its slabs, as last published */
    _Atomic uint64_t pool_out[FA__POOL_CLASSES], pool_back[FA__POOL_CLASSES];
    _Atomic uint64_t slabs[FA__POOL_CLASSES];
};

/* What one thread counted for one allocator; the allocator keeps one more
 * for threads that have exited and for frees by threads without state. */
struct fa_tally {
    struct fa_path_tally *path; /* a row per path the allocator can hold (cfg.max_tags) */
    uint32_t              paths;
    /* per class: pool blocks it freed into slabs it did not own (remote
     * frees), counted as they happen; with the two above they make the
     * blocks in use exactly, whichever thread frees */
    _Atomic uint64_t remote[FA__POOL_CLASSES];
    _Atomic uint64_t frame_peak; /* the thread's largest frame */
    _Atomic uint64_t frames;     /* frames it ended (with statistics on) */
};

/* The owner's update: a plain load and store, never torn for readers. */
static inline void fa__bump(_Atomic uint64_t *c, uint64_t n) {
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}
static inline void fa__raise(_Atomic uint64_t *c, uint64_t v) {
    if (v > atomic_load_explicit(c, memory_order_relaxed))
        atomic_store_explicit(c, v, memory_order_relaxed);
}
static inline void fa__set(_Atomic uint64_t *c, uint64_t v) {
    atomic_store_explicit(c, v, memory_order_relaxed);
}

/* An allocation or a free of n bytes, by the owner. */
static inline void fa__count_alloc(struct fa_counts *c, uint64_t count, uint64_t n) {
    fa__bump(&c->allocs, count);
    fa__bump(&c->bytes, n);
}
static inline void fa__count_free(struct fa_counts *c, uint64_t count, uint64_t n) {
    fa__bump(&c->frees, count);
    fa__bump(&c->freed, n);
}
/* The same by a thread that does not own the counts. */
void fa__count_free_shared(struct fa_counts *c, uint64_t count, uint64_t n);
/* A remote free of a pool block of class cls: by the tally's owner, or
 * (shared) into the allocator's tally. */
static inline void fa__count_remote(struct fa_tally *t, unsigned cls, int shared) {
    if (shared)
        atomic_fetch_add_explicit(&t->remote[cls], 1, memory_order_relaxed);
    else
        fa__bump(&t->remote[cls], 1);
}

/* Sums of tallies over their first `paths` paths (those that exist),
 * plus the slabs of the shared lists. */
struct fa_sum_path {
    uint64_t kind[FA__KIND_COUNT][5]; /* allocs, frees, bytes, freed, peak (a max) */
    uint64_t pool_out[FA__POOL_CLASSES], pool_back[FA__POOL_CLASSES];
};
struct fa_sum {
    uint64_t slabs[FA__POOL_CLASSES], remote[FA__POOL_CLASSES];
    uint64_t slab_blocks[FA__POOL_CLASSES];
    uint64_t frame_peak;
    uint64_t threads; /* tallies of live threads summed */
    uint32_t paths;
    struct fa_sum_path path[];
};

/* A tally over `rows` (paths of them, owned by the caller), zeroed. */
void fa__tally_init(struct fa_tally *t, struct fa_path_tally *rows, uint32_t paths);
/* A zero sum of n paths (free it); NULL without memory. */
struct fa_sum *fa__sum_new(uint32_t n);
/* Zeroes a sum, and adds a tally (of n paths at least) to it. */
void fa__sum_clear(struct fa_sum *sum);
void fa__tally_add(struct fa_sum *sum, const struct fa_tally *t);
/* Moves a departing thread's counts into the allocator's (shared) tally. */
void fa__tally_retire(struct fa_tally *into, const struct fa_tally *from);

/* The live bytes of the long-lived kinds (pool, heap, scratch; frame
 * memory's peak is the largest frame), per kind and in all, as the threads
 * publish them, and the highest they reached: a snapshot sums the same
 * counts, so a peak is the most any snapshot would have shown at a
 * publish point. Remote frees, heap blocks and scratch chunks are added as
 * they are counted, the inline pool paths' counts when their thread
 * publishes. Shared: atomic adds, raised with a compare-exchange. */
struct fa_live {
    _Atomic int64_t  bytes[FA__KIND_COUNT]; /* below 0 while a free is published before its allocation */
    _Atomic uint64_t peak[FA__KIND_COUNT];
    _Atomic int64_t  total;
    _Atomic uint64_t total_peak;
};

void fa__live_init(struct fa_live *l);
/* delta live bytes of a long-lived kind (negative for frees). */
void fa__live_add(struct fa_live *l, int kind, int64_t delta);

/* Highest live bytes seen per tag and kind by snapshots: a row per path
 * the allocator can hold, owned by the caller. */
struct fa_peaks {
    uint64_t (*tag)[FA__KIND_COUNT];
};

/* Fills the counting parts of *out, and the kinds of each path into
 * tags[0 .. sum->paths), from a sum, raising the snapshots' peaks and the
 * live figures' with what it shows. */
void fa__stats_fill(fa_stats *out, fa_tag_stats *tags, const struct fa_sum *sum, struct fa_peaks *peaks,
                    struct fa_live *live);

#endif
