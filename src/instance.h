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
#include "thread.h"

/* Everything an allocator counts and limits, apart from its threads'. */
struct fa_ledger {
    struct fa_tags    tags;
    struct fa_budgets budgets;
    struct fa_tally   retired;    /* exited threads, and frees by threads without state */
    pthread_mutex_t   peaks_lock; /* snapshots raise the peaks */
    struct fa_peaks   peaks;
    struct fa_history history;
};

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
    struct fa_alloc       *next_live;    /* in the list of live allocators */
    struct fa_guards       guards;       /* a debug level's live pool and heap blocks */
    _Atomic uint64_t       left_open;    /* a debug level: threads that exited inside a frame */
};

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
/* Whether a debug level guards this allocator's blocks (docs/debugging.md). */
static inline int fa__debug_on(const fa_alloc *a) {
    return a->cfg.debug != FA_DEBUG_OFF;
}

#endif
