/* SPDX-License-Identifier: MIT */
/* Hand-offs of frame memory: transfer records that say whether the memory
 * another thread was handed is still alive, and promotion of frame data
 * into a pool or heap block before its frame is released.
 * Floor: helpers (docs/internals.md). It stands on the public API and the
 * thread states' records (their arenas and frames in flight).
 * Invariant: a thread's `released` only grows, and is stored once a
 * frame's memory is given back (by every frame end but the plain one,
 * which a frame with a transfer does not take), so a transfer read as
 * dead is dead; one
 * read as alive stays so only as long as the caller's synchronisation with
 * the owner keeps that frame from ending (docs/threading.md). */
#include <string.h>

#include "instance.h"

/* Non-zero when [p, p + size) lies in one of FA_DEBUG_MALLOC's blocks. */
static int passed_hold(const struct fa_passed_set *s, uintptr_t p, size_t size) {
    for (size_t i = 0; i < s->count; i++)
        if (fa__range_holds((uintptr_t)s->item[i].block, s->item[i].size, p, size))
            return 1;
    return 0;
}

/* Non-zero when [p, p + size) is frame memory th has not released: its
 * current frame's (with `held` also its frames in flight). */
static int frame_memory_of(const struct fa_thread *th, const void *p, size_t size, int held) {
    uintptr_t u = (uintptr_t)p;
    if (p == NULL)
        return 0;
    if (th->in_frame && (fa__arena_holds(&th->arena, th->tls, u, size) || passed_hold(&th->passed, u, size)))
        return 1;
    for (uint32_t i = 0; held && i < th->held_count; i++)
        if (fa__chunk_list_holds(th->held[i].chunks, u, size) || passed_hold(&th->held[i].passed, u, size))
            return 1;
    return 0;
}

fa_transfer fa_transfer_make(fa_alloc *a, const void *p, size_t size) {
    fa_transfer t = {NULL, 0, 0, 0};
    if (a == NULL) {
        fa__null_alloc("fa_transfer_make");
        return t;
    }
    struct fa_thread *th = fa__thread_find(&a->threads);
    if (th == NULL || !th->in_frame) {
        fa__report(&a->sink, FA_ERR_STATE, size, "fa_transfer_make: not in a frame on this thread");
        return t;
    }
    if (!frame_memory_of(th, p, size, 0)) {
        fa__report(&a->sink, FA_ERR_FOREIGN, size,
                   "fa_transfer_make: %p (%zu bytes) is not this thread's memory of its current frame", p, size);
        return t;
    }
    t = (fa_transfer){p, size, th->number, th->frames};
    th->in_frame = FA__IN_OTHER_FRAME; /* its end (not the plain one) records its release */
    return t;
}

struct alive_query {
    uint32_t thread;
    uint64_t frame;
    int      alive;
};

static void ask(struct fa_thread *th, void *ctx) {
    struct alive_query *q = (struct alive_query *)ctx;
    if (th->number == q->thread)
        q->alive = atomic_load_explicit(&th->released, memory_order_acquire) < q->frame;
}

/* Whether t is alive; a thread that exited released everything. */
static int alive(fa_alloc *a, const fa_transfer *t) {
    struct alive_query q = {t->thread, t->frame, 0};
    if (t->ptr != NULL)
        fa__threads_each(&a->threads, ask, &q);
    return q.alive;
}

int fa_transfer_alive(fa_alloc *a, const fa_transfer *t) {
    if (a == NULL) {
        fa__null_alloc("fa_transfer_alive");
        return 0;
    }
    if (t == NULL) {
        fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_transfer_alive: NULL transfer");
        return 0;
    }
    return alive(a, t);
}

void *fa_transfer_get(fa_alloc *a, const fa_transfer *t) {
    if (a == NULL) {
        fa__null_alloc("fa_transfer_get");
        return NULL;
    }
    if (t == NULL) {
        fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_transfer_get: NULL transfer");
        return NULL;
    }
    if (alive(a, t))
        return (void *)(uintptr_t)t->ptr;
    fa__report(&a->sink, FA_ERR_STATE, t->size,
               "fa_transfer_get: the memory of thread %u's frame %llu is released (a dead transfer)",
               t->thread, (unsigned long long)t->frame);
    return NULL;
}

void *fa_frame_promote_aligned(fa_alloc *a, const void *p, size_t size, size_t align) {
    if (a == NULL) {
        fa__null_alloc("fa_frame_promote");
        return NULL;
    }
    if (!fa__is_pow2(align)) {
        fa__report(&a->sink, FA_ERR_INVALID, size, "fa_frame_promote: alignment %zu is not a power of two", align);
        return NULL;
    }
    struct fa_thread *th = fa__thread_find(&a->threads);
    if (th == NULL || !frame_memory_of(th, p, size, 1)) {
        fa__report(&a->sink, FA_ERR_FOREIGN, size,
                   "fa_frame_promote: %p (%zu bytes) is not this thread's live frame memory", p, size);
        return NULL;
    }
    /* Pool blocks are aligned for any object of their size; a larger
     * alignment takes the heap path, which honours any. */
    void *copy = size <= FA__POOL_MAX && align <= fa__natural_align(size) ? fa_pool_alloc(a, size)
                                                                           : fa_heap_alloc(a, size, align);
    if (copy != NULL)
        memcpy(copy, p, size);
    return copy;
}

void *fa_frame_promote(fa_alloc *a, const void *p, size_t size) {
    return fa_frame_promote_aligned(a, p, size, fa__natural_align(size));
}
