/* SPDX-License-Identifier: MIT */
/* The slabs behind the pools: slabs of one size class each, owned by one
 * thread, with that thread's bounded cache of free blocks in front. A block
 * freed on another thread is marked in its slab's remote bitmap (one atomic
 * operation) and collected by the owner. Slabs of exited threads are
 * adopted by others. */
#ifndef FA_SLAB_H
#define FA_SLAB_H

#include "backend.h"

#include <stdatomic.h>

#include "os.h"
#include "slabmap.h"
#include "track.h"

/* A slab's descriptor, out of the slab so that every byte of the slab is
 * blocks and a block's address alone says whether it is one. */
struct fa_slab {
    struct fa__slab_entry *entry; /* its first slab map entry, which the inline free reads */
    const void          *instance;
    uintptr_t            base;
    struct fa_slab      *next;     /* in the owner's class list, or a shared list */
    uint32_t             cls;
    uint32_t             shift;    /* log2 of the block size */
    uint32_t             capacity; /* blocks in the slab */
    uint32_t             pieces;   /* slab map entries it has: its size / FA__SLAB_MIN */
    uint32_t             in_use;   /* blocks out of the slab: cached, allocated, or freed
                                    * remotely and not yet collected (owner only) */
    uint8_t              from_system;
    uint32_t             path;     /* the tag path of the cache that took it from the empty list */
    atomic_int           remote_pending; /* set after a remote bit: the owner need not scan without it */
    uint64_t            *free_bits;   /* owner only */
    _Atomic uint64_t    *remote_bits; /* any thread sets */
    /* both bitmaps follow, sized for the smallest class */
};

/* One thread's pool state for one allocator and one tag path: its blocks
 * are charged to that path, so its slabs hold that path's blocks only. */
struct fa_pool_cache {
    struct fa__pool_rec rec[FA__POOL_CLASSES]; /* its stacks; a fast-path entry points here */
    void              **items; /* the stacks' room, FA__POOL_CLASSES * FA__POOL_CACHE_STRIDE;
                                * NULL before the first pool call */
    struct fa_slab     *slabs[FA__POOL_CLASSES]; /* the slabs it owns */
    uint32_t            path;
    uint32_t            bound; /* bytes a class's stack holds at most; 0: the usual room */
    /* the owning thread's lists of its paths' caches (thread.h) */
    struct fa_pool_cache *next_cached;  /* those with their cache */
    struct fa_pool_cache *next_charged; /* those charged to budgets (attribution) */
    int                   charged;      /* on that list */
};

/* Blocks in a class's stack. */
static inline uint32_t fa__pool_cached(const struct fa__pool_rec *r) {
    return (uint32_t)(r->top - r->base);
}

/* An allocator's shared pool state. */
struct fa_pools {
    fa_backend  backend;
    struct fa_meter *meter; /* the allocator's */
    const void *instance;
    uint64_t    cookie;
    size_t      slab_size;
    size_t      reserve; /* bytes of empty slabs kept by fa_trim */
    int         zero_formatted; /* zero a slab's blocks when it is formatted (debug levels) */

    struct {
        fa__mutex lock; /* never held across a backend call */
        struct fa_slab *abandoned; /* slabs of exited threads with live blocks */
    } cls[FA__POOL_CLASSES];

    fa__mutex empty_lock;
    struct fa_slab *empty; /* slabs with no live block, any class */
    size_t          empty_count;
};

void fa__pools_init(struct fa_pools *pools, const fa_config *cfg, const void *instance,
                    struct fa_meter *meter);
/* Gives every shared slab back; thread caches must have been abandoned. */
void fa__pools_fini(struct fa_pools *pools);

/* Gives a cache its stacks (first pool use); 0 when out of memory. */
int fa__pool_attach(struct fa_pools *pools, struct fa_pool_cache *cache);
/* Refills an empty class stack with half its room, or `most` blocks if
 * fewer; the blocks it took, 0 when no slab could be had. */
uint32_t fa__pool_refill(struct fa_pools *pools, struct fa_pool_cache *cache, unsigned cls, uint32_t most);
/* Makes room in a full class stack, moving half back to the slabs; the
 * blocks it moved. */
uint32_t fa__pool_flush(struct fa_pools *pools, struct fa_pool_cache *cache, unsigned cls);
/* Every cached block back to its slab; the bytes they were. */
uint64_t fa__pool_drain(struct fa_pool_cache *cache);
/* Bounds each class's stack to `bytes` of blocks (at least one), 0: the
 * usual room. The cache must be drained. */
void fa__pool_bound(struct fa_pool_cache *cache, uint32_t bytes);
/* Collects the blocks other threads freed into this thread's slabs. */
void fa__pool_collect(struct fa_pool_cache *cache);
/* Non-zero when a slab's free bitmap and its in-use count add up to its
 * capacity and no bit lies past its last block (FA_ASSERT_LEVEL 3 checks
 * it whenever the owner changes either). */
int fa__slab_check(const struct fa_slab *s);
/* A free by a thread that does not own the slab; FA_ERR_DOUBLE_FREE when the
 * block was already freed that way. */
fa_error fa__pool_free_remote(struct fa_slab *s, void *p, uint64_t cookie);
/* The thread is done (exit or destroy): its cache goes back to the slabs,
 * and the slabs to the shared lists. No backend call, so callable under a
 * lock. */
void fa__pool_abandon(struct fa_pools *pools, struct fa_pool_cache *cache);
/* Takes out the empty slabs beyond the reserve, for fa__pool_release. */
struct fa_slab *fa__pool_excess(struct fa_pools *pools);
/* Gives a list of slabs back to the backend. */
void fa__pool_release(struct fa_pools *pools, struct fa_slab *list);
/* fa_trim's part (cache NULL: a thread that never used the allocator): the
 * caller's cache back to its slabs, its empty slabs and
 * the abandoned ones that emptied to the shared list, and empty slabs beyond
 * the reserve back to the backend. */
void fa__pool_trim(struct fa_pools *pools, struct fa_pool_cache *cache);

/* The slabs of a thread's class: how many, and blocks out of them. */
void fa__pool_census(const struct fa_pool_cache *cache, unsigned cls, uint64_t *slabs, uint64_t *in_use);
/* The same for the shared lists (empty slabs count for no class). */
void fa__pool_shared_census(struct fa_pools *pools, unsigned cls, uint64_t *slabs, uint64_t *in_use);
/* Bytes of the empty slabs kept for reuse. */
size_t fa__pool_empty_bytes(struct fa_pools *pools);

/* A tracked library (track.h): a free block's bytes past its first two
 * words (the marker the double-free check reads, and where a debug level
 * notes its guard) may not be read. */
static inline void fa__pool_track_free(void *p, unsigned cls) {
    size_t keep = cls == 0 ? 8 : 16;
    fa__track_noaccess((char *)p + keep, ((size_t)8 << cls) - keep);
}

/* The slab holding p, or NULL. An atomic load: the entry may be written
 * by the thread that releases another slab there, whose memory reaches
 * this slab only through the backend (no happens-before a sanitizer sees). */
static inline struct fa_slab *fa__slab_at(const void *p) {
    return (struct fa_slab *)FA__LOAD(&fa__slab_of((uintptr_t)p)->slab, ACQUIRE);
}

#endif
