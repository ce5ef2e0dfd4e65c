/* SPDX-License-Identifier: MIT */
/* Per-thread state: one per (OS thread, allocator), found through the
 * thread's fast-path entry, created on first use, reclaimed when the thread
 * exits or the allocator is destroyed. */
#ifndef FA_THREAD_H
#define FA_THREAD_H

#include <stdatomic.h>

#include "arena.h"
#include "guard.h"
#include "budget_table.h"
#include "os.h"
#include "slab.h"
#include "tally.h"

/* A link in an intrusive list whose head is a plain pointer. */
struct fa_node {
    struct fa_node  *next;
    struct fa_node **pprev;
};

struct fa_thread;

/* FA_DEBUG_MALLOC's frame blocks: each straight from the memory source. */
struct fa_passed {
    void    *block;
    size_t   size, align;
    uint64_t seq; /* the thread's allocation count before it */
    uint8_t  from_system;
};
struct fa_passed_set {
    struct fa_passed *item;
    size_t            count, room;
};

/* th->in_frame: a plain frame, whose end takes the short path; or one
 * whose end takes the other (a debug level's frame that allocated, a
 * frame kept in flight, a shared frame). */
#define FA__IN_FRAME 1
#define FA__IN_OTHER_FRAME 2

/* The threads of one allocator. */
struct fa_threads {
    uint32_t                slot;    /* fast-path slot 1 .. FA__SLOTS, 0 when none was free */
    fa__key                 key;     /* finds the state when there is no slot */
    fa__thread_id           creator; /* whose frames fa_frame_number counts */
    struct fa_node         *list;    /* the states, under the registry lock */
    struct fa_chunk_cache  *chunks;  /* where a thread's chunks go when it exits */
    struct fa_pools        *pools;   /* and its slabs */
    struct fa_budgets      *budgets; /* and its headroom */
    struct fa_tally        *retired; /* and its counts */
    struct fa_live         *live;    /* where publishing adds its pools' live bytes; NULL with
                                      * statistics off */
    uint32_t                paths;   /* tag paths the allocator can hold: a state's per-path
                                      * rows (retired->paths) */
    _Atomic uint64_t        seen;    /* states ever made: threads that used the allocator */
    /* Settles what a departing thread's frame held (its budgets, counts and
     * history) before its state goes; set by the layer that keeps them.
     * Called under the registry lock. */
    void                  (*retire)(struct fa_thread *th);
    atomic_int              exiting; /* threads giving memory back after their exit */
    int                     slow_only; /* a debug level: no inline path serves */
    int                     pools_slow; /* no pool inline path serves (slow_only, hot sites, the
                                         * block hooks) */
    int                     opens;     /* the in_frame a frame begins with: FA__IN_FRAME, or
                                        * FA__IN_OTHER_FRAME where frames are kept in flight
                                        * or shared */
};

/* From `used` bytes and `allocs` allocations into the frame on, frame
 * memory is charged to path `tag` (until the next span). */
struct fa_span {
    uint32_t tag;
    size_t   used;
    uint64_t allocs;
};

/* A frame that ended but is still in flight (cfg.frames_in_flight > 1):
 * its memory is kept, and its bytes stay charged, until the end of the
 * frame that releases it. Each slot owns a span array between uses (the
 * frames trade arrays), so keeping a frame allocates nothing. */
struct fa_held {
    uint64_t             frame;  /* its number (the instance's, for shared frames) */
    struct fa_chunk     *chunks; /* its chunks, each one's `used` exact */
    struct fa_span      *spans;  /* its charges, oldest first */
    size_t               span_count, span_room;
    size_t               used;   /* the bytes and allocations they cover */
    uint64_t             allocs;
    struct fa_guard_set  guarded; /* a debug level's blocks */
    struct fa_passed_set passed;  /* FA_DEBUG_MALLOC's blocks */
};

/* Where a thread's allocations are charged. */
struct fa_charge {
    uint32_t        stack[FA_TAG_DEPTH_MAX]; /* the pushed paths (cfg.max_tag_depth at most) */
    uint32_t        depth;
    uint32_t        tag;   /* the innermost path: what allocations are charged to */
    struct fa_chain chain; /* the budgets over it */
    struct fa_purse purse;
    struct fa_span *spans; /* this frame's, oldest first */
    size_t          span_count, span_room;
    size_t          settled_used;   /* frame bytes counted and charged so far */
    uint64_t        settled_allocs; /* frame allocations counted so far */
    size_t          frame_high;     /* the frame's high-water mark before any rewind */
    uint64_t        since_ns;       /* when the last frame ended, or the first began
                                     * (the creating thread's) */
    uint64_t        began_calls;    /* backend calls by then */
    uint64_t        frame_soft, frame_hard; /* the frame budget, as the frame began */
    int             frame_warned;   /* its soft limit was crossed */
    _Atomic uint32_t observes;      /* FA__OBSERVE_*: what watches this thread's frame ends
                                     * (the trace sets and clears bits from other threads) */
    uint64_t        began_ns;       /* when its frame began (frames watched: FA__OBSERVE_FRAMES) */
    uint64_t        recorded_read, recorded_written; /* bandwidth at the last history record */
    size_t          sample_left;    /* hot sites: bytes before the next sample; 0: sites off */
    uint64_t        sample_seed;    /* the sampler's random state */
    uint64_t       *frame_tag_bytes; /* per path, the frame just ended */
};

struct fa_thread {
    struct fa__thread_tls *tls;  /* the fast-path entry: fa__tls[slot], or &own */
    struct fa__thread_tls  own;
    struct fa_threads    *set;
    struct fa_frame_arena  arena;
    struct fa_pool_cache  root_pool;               /* ctx[FA__TAG_ROOT] */
    struct fa_pool_cache **ctx;                    /* a pool cache per path, made on first use; the
                                                    * entry points at the current one's records */
    struct fa_pool_cache *cached;                  /* those with their cache (next_cached) */
    struct fa_pool_cache *charged;                 /* those whose cached blocks are charged to the
                                                    * budgets over their path (attribution;
                                                    * next_charged) */
    uint32_t              pool_path;               /* the current one */
    int64_t               pool_live;               /* the live bytes its caches' counters added to
                                                    * set->live when it last published */
    uint64_t              frames;      /* frames begun on this thread */
    uint64_t              last_allocs; /* figures of the last frame ended */
    size_t                last_bytes;
    int                   in_frame;     /* FA__IN_FRAME from fa_begin_frame to fa_end_frame;
                                         * FA__IN_OTHER_FRAME for a frame whose end is not
                                         * plain */
    int                   is_creator;
    int                   opens;        /* the in_frame its frames begin with: set->opens, or
                                         * FA__IN_OTHER_FRAME while it ages the chunk cache */
    uint32_t              aging;        /* frames left whose ends tick the chunk cache's clock */
    fa__thread_id         os_thread;    /* the thread it belongs to */
    struct fa_guard_set   guarded;      /* a debug level: this frame's blocks, oldest first */
    struct fa_passed_set  passed;       /* FA_DEBUG_MALLOC: this frame's blocks, each its own */
    struct fa_held        held[FA_FRAMES_IN_FLIGHT_MAX - 1]; /* frames in flight, oldest first */
    uint32_t              held_count;
    _Atomic uint64_t      released;     /* its frames up to this one are released (of those
                                         * with a transfer: their end is not the plain one) */
    uint32_t              number;       /* a small number for it, for reports */
    struct fa_node        in_set;       /* in set->list */
    struct fa_node        in_os_thread; /* in the OS thread's own list */
    struct fa_charge      charge;
    struct fa_tally       tally;
};

/* slot: the allocator's fast-path slot, or 0. FA_OK, or
 * FA_ERR_NOMEM when the system has no key left for an allocator without one. */
fa_error fa__threads_open(struct fa_threads *set, uint32_t slot, struct fa_chunk_cache *chunks,
                          struct fa_pools *pools, struct fa_budgets *budgets, struct fa_tally *retired);
/* Calls fn for every thread's state, under the registry lock. */
void fa__threads_each(struct fa_threads *set, void (*fn)(struct fa_thread *th, void *ctx), void *ctx);
/* The same, then then(ctx) under the same hold of the lock: what the
 * retire hook keeps of departing threads is read in one piece with the
 * live ones (a thread is in one or the other, never both). */
void fa__threads_each_then(struct fa_threads *set, void (*fn)(struct fa_thread *th, void *ctx),
                           void (*then)(void *ctx), void *ctx);
/* FA_DEBUG_MALLOC: whether p is one of the thread's frame blocks. */
static inline int fa__thread_passed(const struct fa_thread *th, const void *p) {
    for (size_t i = 0; i < th->passed.count; i++)
        if (th->passed.item[i].block == p)
            return 1;
    return 0;
}
/* Makes sure the thread has pools for path (their cache comes with the
 * first allocation); 0 when out of memory. */
int fa__thread_pool_make(struct fa_thread *th, uint32_t path);
/* Makes path's pools (made) the thread's current ones, served by the
 * inline paths where `served`. */
void fa__thread_pool_use(struct fa_thread *th, uint32_t path, int served);
/* The current pools. */
static inline struct fa_pool_cache *fa__thread_ctx(struct fa_thread *th) {
    return th->ctx[th->pool_path];
}
/* Gives the current pools their cache (first pool use); 0 when out of memory. */
int fa__thread_pool_attach(struct fa_pools *pools, struct fa_thread *th);
void fa__thread_pool_collect_caches(struct fa_thread *th);
/* Collects the blocks other threads freed into the thread's slabs. */
static inline void fa__thread_pool_collect(struct fa_thread *th) {
    if (th->cached != NULL)
        fa__thread_pool_collect_caches(th);
}
/* fa_trim's part for the calling thread (NULL: one without state). */
void fa__thread_pool_trim(struct fa_pools *pools, struct fa_thread *th);
void fa__thread_publish_caches(struct fa_thread *th);
/* Folds the caches' counters and the slab census into the thread's tally,
 * and the live bytes they make into the allocator's live figures (nothing
 * to do for a thread that has used no pool). */
static inline void fa__thread_publish(struct fa_thread *th) {
    if (th->cached != NULL)
        fa__thread_publish_caches(th);
}
/* Detaches every thread's state (zeroing their fast-path entries) and returns
 * all their chunks as one list, for the caller to give back. */
struct fa_chunk *fa__threads_close(struct fa_threads *set);

/* The calling thread's state, or NULL before its first use. */
static inline struct fa_thread *fa__thread_find(const struct fa_threads *set) {
    if (set->slot != 0)
        return (struct fa_thread *)fa__tls[set->slot].thread;
    return (struct fa_thread *)fa__key_get(set->key); /* no slot was free */
}
struct fa_thread *fa__thread_create(struct fa_threads *set);

/* A handle (fa_arena *, fa_cache *) of the thread's state: its entry's
 * distance from fa__no_entry (framealloc.h, fa__entry_of). */
static inline uintptr_t fa__thread_handle(const struct fa_thread *th) {
    return (uintptr_t)th->tls - (uintptr_t)&fa__no_entry;
}
/* The state a handle belongs to; NULL for the NULL handle, for one whose
 * allocator was destroyed with its thread entry in a slot, and for a
 * scratch arena's (whose owner word has its low bit set: scratch.h). */
static inline struct fa_thread *fa__thread_of_handle(const void *handle) {
    uintptr_t owner = (uintptr_t)fa__entry_of(handle)->thread;
    return (owner & 1) == 0 ? (struct fa_thread *)owner : NULL;
}

/* The same, created on first use; NULL when out of memory. */
static inline struct fa_thread *fa__thread_attach(struct fa_threads *set) {
    struct fa_thread *th = fa__thread_find(set);
    return th != NULL ? th : fa__thread_create(set);
}

#endif
