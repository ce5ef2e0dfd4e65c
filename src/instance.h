/* SPDX-License-Identifier: MIT */
/* The allocator instance: struct fa_alloc and its ledger, and which of its
 * features its config turns on. Read by the attribution layer and every API
 * file above it (docs/internals.md). */
#ifndef FA_INSTANCE_H
#define FA_INSTANCE_H

#include <stdatomic.h>
#include <stddef.h>

#include "event.h"
#include "guard.h"
#include "heap_table.h"
#include "history.h"
#include "site_table.h"
#include "thread.h"

struct fa_scratch;
struct fa_trace;

/* Everything an allocator counts and limits, apart from its threads'. */
struct fa_ledger {
    struct fa_tags    tags;
    struct fa_budgets budgets;
    struct fa_tally   retired;    /* exited threads, and frees by threads without state */
    fa__mutex   peaks_lock; /* snapshots raise the paths' peaks */
    struct fa_peaks   peaks;
    struct fa_live    live;       /* long-lived memory and its peaks, raised where threads publish */
    struct fa_history history;
    struct fa_site_table sites;   /* hot sites (its slots NULL when they are off) */
    _Atomic uint64_t  read_bytes; /* bandwidth recorded (fa_bandwidth_record) */
    _Atomic uint64_t  written_bytes;
    struct {                      /* threads that exited, their metrics as they left; written
                                   * and read under the registry lock (thread.c) */
        fa_thread_metrics ring[FA_DEPARTED_MAX];
        uint64_t          count;  /* ever; the newest at (count - 1) % FA_DEPARTED_MAX */
    } departed;
};

/* What watches a thread's frame ends (struct fa_charge's `observes`). */
#define FA__OBSERVE_HISTORY 1u /* the history records them (the creating thread's) */
#define FA__OBSERVE_FRAMES 2u  /* the frame hook or the trace is told of them */
#define FA__OBSERVE_SAMPLES 4u /* the hot-site sampler's point folds into the limit */
/* Who wants every thread's frames (fa_alloc's `observing`). */
#define FA__OBSERVER_HOOK 1u
#define FA__OBSERVER_TRACE 2u

struct fa_alloc {
    fa_config              cfg; /* resolved: every default filled in */
    struct fa_sink         sink;
    struct fa_chunk_cache  chunks;
    struct fa_pools        pools;
    struct fa_heap         heap;
    struct fa_threads      threads;
    struct fa_meter        meter;  /* all backend traffic */
    struct fa_ledger      *ledger;
    _Atomic uint64_t       frames_begun; /* on the creating thread */
    _Atomic uint64_t       clock;        /* FA_FRAMES_SHARED: the frame number times 2, plus 1
                                          * while it is open */
    struct fa_alloc       *next_live;    /* in the list of live allocators */
    struct fa_guards       guards;       /* a debug level's live pool and heap blocks */
    _Atomic uint64_t       left_open;    /* a debug level: threads that exited inside a frame */
    struct {
        fa__mutex    lock;
        struct fa_scratch *list;         /* scratch arenas alive (scratch.c) */
    } scratch;
    struct fa_passed_set   orphans;      /* FA_DEBUG_MALLOC: frame blocks of threads that exited
                                          * inside a frame, given back at fa_destroy (guards.lock) */
    _Atomic uint32_t       observing;    /* FA__OBSERVER_*: who wants every thread's frames */
    struct fa_trace       *trace;        /* made by the first fa_trace_start, kept to fa_destroy */
    /* The trace's part of a frame end (trace.c, above the attribution floor
     * that calls it): the frame, and its bytes per tag path. */
    void                 (*trace_frame)(fa_alloc *a, const fa_frame_event *f, const uint64_t *tag_bytes);
};

/* A departing thread's FA_DEBUG_MALLOC frame blocks go to the allocator,
 * which gives them back at fa_destroy; the thread's set is emptied. */
static inline void fa__passed_orphan(fa_alloc *a, struct fa_passed_set *s) {
    fa__mutex_lock(&a->guards.lock);
    for (size_t i = 0; i < s->count; i++) {
        struct fa_passed_set *o = &a->orphans;
        void *items = o->item;
        if (o->count == o->room && !fa__grow(&items, &o->room, sizeof *o->item))
            break; /* no memory for the list: those blocks are not given back before exit */
        o->item = (struct fa_passed *)items;
        o->item[o->count++] = s->item[i];
    }
    fa__mutex_unlock(&a->guards.lock);
    free(s->item);
    s->item = NULL;
    s->count = s->room = 0;
}

/* A query's arguments: a live allocator, and room for its results (out
 * NULL only with max 0, which asks the count): FA_OK, else reported for fn. */
static inline fa_error fa__query_usable(fa_alloc *a, const void *out, size_t max, const char *fn) {
    if (a == NULL)
        return fa__null_alloc(fn);
    if (out == NULL && max != 0)
        return fa__report(&a->sink, FA_ERR_INVALID, 0, "%s: NULL output", fn);
    return FA_OK;
}

/* The allocator a thread state belongs to. */
static inline fa_alloc *fa__alloc_of(const struct fa_thread *th) {
    return (fa_alloc *)(void *)((char *)th->set - offsetof(fa_alloc, threads));
}

/* The calling thread's state, made on first use; NULL, reported as
 * FA_ERR_NOMEM for fn, when there is no memory for it. */
static inline struct fa_thread *fa__attach(fa_alloc *a, size_t size, const char *fn) {
    struct fa_thread *th = fa__thread_attach(&a->threads);
    if (th == NULL)
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: no memory for this thread's state", fn);
    return th;
}

/* Whether this allocator keeps statistics, charges tags and enforces
 * budgets (its config's `disable` bits; all three off in a minimal build). */
static inline int fa__stats_on(const fa_alloc *a) {
    return (a->cfg.disable & FA_DISABLE_STATS) == 0;
}
static inline int fa__tags_on(const fa_alloc *a) {
    return (a->cfg.disable & FA_DISABLE_TAGS) == 0;
}
static inline int fa__budgets_on(const fa_alloc *a) {
    return (a->cfg.disable & FA_DISABLE_BUDGETS) == 0;
}
/* Whether the creating thread begins and ends every thread's frames. */
static inline int fa__shared(const fa_alloc *a) {
    return a->cfg.frame_mode == FA_FRAMES_SHARED;
}
/* Whether a debug level is on (docs/debugging.md): no inline path serves,
 * handles are checked for their thread. */
static inline int fa__debug_on(const fa_alloc *a) {
    return a->cfg.debug != FA_DEBUG_OFF;
}
/* Whether it guards every block (FA_DEBUG_GUARD, FA_DEBUG_TRACE). */
static inline int fa__guarded(const fa_alloc *a) {
    return a->cfg.debug == FA_DEBUG_GUARD || a->cfg.debug == FA_DEBUG_TRACE;
}
/* Whether every allocation is a block of its own from the memory source
 * (FA_DEBUG_MALLOC). */
static inline int fa__passed_through(const fa_alloc *a) {
    return a->cfg.debug == FA_DEBUG_MALLOC;
}

#endif
