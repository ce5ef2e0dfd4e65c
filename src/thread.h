/* Per-thread state: one per (OS thread, allocator), found through the
 * thread's fast-path entry, created on first use, reclaimed when the thread
 * exits or the allocator is destroyed. */
#ifndef FA_THREAD_H
#define FA_THREAD_H

#include <pthread.h>
#include <stdatomic.h>

#include "arena.h"
#include "pool.h"

/* A link in an intrusive list whose head is a plain pointer. */
struct fa_node {
    struct fa_node  *next;
    struct fa_node **pprev;
};

/* The threads of one allocator. */
struct fa_threads {
    uint32_t                slot;    /* fast-path slot, FA__SLOTS when none was free */
    pthread_key_t           key;     /* finds the state when there is no slot */
    pthread_t               creator; /* whose frames fa_frame_number counts */
    struct fa_node         *list;    /* the states, under the registry lock */
    struct fa_chunk_source *chunks;  /* where a thread's chunks go when it exits */
    struct fa_pools        *pools;   /* and its slabs */
    atomic_int              exiting; /* threads giving memory back after their exit */
};

struct fa_thread {
    struct fa__thread_tls *tls;  /* the fast-path entry: fa__tls[slot], or &own */
    struct fa__thread_tls  own;
    struct fa_threads    *set;
    struct fa_arena       arena;
    struct fa_pool_cache  pool;
    uint64_t              frames;      /* frames begun on this thread */
    uint64_t              last_allocs; /* figures of the last frame ended */
    size_t                last_bytes;
    int                   in_frame;
    int                   is_creator;
    struct fa_node        in_set;       /* in set->list */
    struct fa_node        in_os_thread; /* in the OS thread's own list */
};

/* slot: the allocator's fast-path slot, or FA__SLOTS. FA_OK, or
 * FA_ERR_NOMEM when the system has no key left for an allocator without one. */
fa_error fa__threads_open(struct fa_threads *set, uint32_t slot, struct fa_chunk_source *chunks,
                          struct fa_pools *pools);
/* Detaches every thread's state (zeroing their fast-path entries) and returns
 * all their chunks as one list, for the caller to give back. */
struct fa_chunk *fa__threads_close(struct fa_threads *set);

struct fa_thread *fa__thread_find_keyed(const struct fa_threads *set);

/* The calling thread's state, or NULL before its first use. */
static inline struct fa_thread *fa__thread_find(const struct fa_threads *set) {
    if (set->slot < FA__SLOTS)
        return (struct fa_thread *)fa__tls[set->slot].thread;
    return fa__thread_find_keyed(set);
}
struct fa_thread *fa__thread_create(struct fa_threads *set);

/* The same, created on first use; NULL when out of memory. */
static inline struct fa_thread *fa__thread_attach(struct fa_threads *set) {
    struct fa_thread *th = fa__thread_find(set);
    return th != NULL ? th : fa__thread_create(set);
}

#endif
