/* SPDX-License-Identifier: MIT */
/* The work-stealing deque: a Chase-Lev deque of non-NULL pointers, after
 * Le, Pop, Cohen and Zappa Nardelli, "Correct and Efficient Work-Stealing
 * for Weak Memory Models" (PPoPP 2013), figure 1.
 * Floor: helpers, on top (docs/internals.md). It uses the public API
 * (fa_pool_alloc, fa_pool_free: every byte is counted, charged and
 * budgeted like the caller's own) and event.c / instance.h for its reports.
 * Invariants:
 * - Items live at indices [top, bottom) of the current ring, index i in
 *   slot i & mask. Only the owner moves bottom; top only grows, by a CAS
 *   (a steal, or a pop taking the last item).
 * - The orderings sit on the atomic operations, not on fences (which
 *   ThreadSanitizer does not model), as in the paper's sequentially
 *   consistent variant: pop's store of bottom and load of top, steal's
 *   loads of top and bottom, and the CAS on top are seq_cst; every other
 *   store of bottom is a release, so a thief that reads any bottom also
 *   sees the items below it; the ring pointer is published by a release
 *   and read by an acquire, so a thief sees the copied items.
 * - A ring is never freed while the deque lives: a thief may still read a
 *   slot of a ring the owner has replaced. Rings double, so the retired
 *   ones together hold fewer slots than the current one: retirement costs
 *   less than the deque's own size. Everything goes at fa_deque_destroy.
 * - Calling push or pop from a thread other than the creator is a
 *   precondition violation (framealloc.h), not detected. */
#include <stdatomic.h>
#include <stdint.h>

#include "framealloc.h"
#include "event.h"
#include "instance.h"

#define DEFAULT_CAPACITY ((size_t)64)
/* The largest power of two whose slots take at most half the address
 * space: doubling it, or asking for more, is FA_ERR_NOMEM. */
#define MAX_CAPACITY (((SIZE_MAX >> 1) / sizeof(_Atomic(void *))) + 1)
#define CACHE_LINE 64

/* One circular buffer. Its header and its slots are separate blocks, so
 * that the slots fill their power-of-two pool class exactly. mask and
 * slots never change after publication. */
struct ring {
    size_t           mask; /* capacity - 1 */
    _Atomic(void *) *slots; /* atomic: a thief may read a slot the owner overwrites later */
    struct ring     *older; /* the retired list, newest first */
};

/* top, written by thieves, and bottom, written by the owner, on separate
 * cache lines so that neither side's writes evict the other's end. The
 * pools align a block to its class size (128 here), hence to the lines. */
struct fa_deque {
    _Alignas(CACHE_LINE) _Atomic int64_t top;
    _Alignas(CACHE_LINE) _Atomic int64_t bottom;
    _Atomic(struct ring *) ring; /* beside bottom: thieves read both, the owner writes both */
    int64_t      top_seen;       /* owner only: top as push or pop last read it (see push) */
    fa_alloc    *a;
    struct ring *retired;        /* owner only */
};

_Static_assert(sizeof(struct fa_deque) % CACHE_LINE == 0 && sizeof(struct fa_deque) <= 4096,
               "a pool block, aligned to its class and so to the cache line");

/* ---- rings --------------------------------------------------------------- */

static void *slot_get(const struct ring *r, int64_t i) {
    return atomic_load_explicit(&r->slots[(size_t)i & r->mask], memory_order_relaxed);
}

static void slot_put(struct ring *r, int64_t i, void *item) {
    atomic_store_explicit(&r->slots[(size_t)i & r->mask], item, memory_order_relaxed);
}

static size_t ring_capacity(const struct ring *r) {
    return r->mask + 1;
}

/* A ring of `capacity` slots (a power of two up to MAX_CAPACITY), or NULL
 * with the failing allocation's report made and its last error set. */
static struct ring *ring_new(fa_alloc *a, size_t capacity) {
    struct ring *r = (struct ring *)fa_pool_alloc(a, sizeof *r);
    if (r == NULL)
        return NULL;
    r->slots = (_Atomic(void *) *)fa_pool_alloc(a, capacity * sizeof *r->slots);
    if (r->slots == NULL) {
        fa_pool_free(a, r);
        return NULL;
    }
    r->mask = capacity - 1;
    r->older = NULL;
    return r;
}

static void ring_free(fa_alloc *a, struct ring *r) {
    fa_pool_free(a, (void *)r->slots);
    fa_pool_free(a, r);
}

/* The power of two at least `wanted` (0: the default), or 0 past
 * MAX_CAPACITY. */
static size_t capacity_for(size_t wanted) {
    if (wanted == 0)
        return DEFAULT_CAPACITY;
    if (wanted > MAX_CAPACITY)
        return 0;
    size_t capacity = 1;
    while (capacity < wanted)
        capacity <<= 1;
    return capacity;
}

/* ---- both ends ----------------------------------------------------------- */

/* Reports a NULL deque given to fn (no allocator: the last error only);
 * non-zero when it was NULL. */
static int is_null(const fa_deque *d, const char *fn) {
    if (d != NULL)
        return 0;
    fa__report(NULL, FA_ERR_INVALID, 0, "%s: NULL deque", fn);
    return 1;
}

/* Takes index top for the caller, unless another thread moved top first. */
static int claim_top(fa_deque *d, int64_t top) {
    return atomic_compare_exchange_strong_explicit(&d->top, &top, top + 1, memory_order_seq_cst,
                                                   memory_order_relaxed);
}

/* ---- the owner's end ----------------------------------------------------- */

fa_deque *fa_deque_create(fa_alloc *a, size_t initial_capacity) {
    if (a == NULL) {
        fa__null_alloc("fa_deque_create");
        return NULL;
    }
    size_t capacity = capacity_for(initial_capacity);
    if (capacity == 0) {
        fa__report(&a->sink, FA_ERR_NOMEM, initial_capacity,
                   "fa_deque_create: a capacity of %zu cannot be met", initial_capacity);
        return NULL;
    }
    fa_deque *d = (fa_deque *)fa_pool_alloc(a, sizeof *d);
    if (d == NULL)
        return NULL;
    struct ring *r = ring_new(a, capacity);
    if (r == NULL) {
        fa_pool_free(a, d);
        return NULL;
    }
    atomic_init(&d->top, 0);
    atomic_init(&d->bottom, 0);
    atomic_init(&d->ring, r);
    d->top_seen = 0;
    d->a = a;
    d->retired = NULL;
    return d;
}

/* Figure 1's resize: a ring twice the size holding [top, bottom), published
 * with a release so that a thief which reads it sees the copies. The old
 * ring is retired, not freed (the invariants). */
static fa_error grow(fa_deque *d, struct ring *old, int64_t top, int64_t bottom) {
    if (ring_capacity(old) >= MAX_CAPACITY)
        return fa__report(&d->a->sink, FA_ERR_NOMEM, 0, "fa_deque_push: the deque cannot grow past %zu items",
                          ring_capacity(old));
    struct ring *bigger = ring_new(d->a, ring_capacity(old) * 2);
    if (bigger == NULL)
        return fa_last_error();
    for (int64_t i = top; i < bottom; i++)
        slot_put(bigger, i, slot_get(old, i));
    atomic_store_explicit(&d->ring, bigger, memory_order_release);
    old->older = d->retired;
    d->retired = old;
    return FA_OK;
}

/* Figure 1's push. top only grows, so the top the owner read last
 * overstates the size: push reads top again only when that value says the
 * ring is full, which spares it the cache line thieves write. The read is
 * an acquire: the thieves that moved top past a slot have read that slot,
 * which push may now overwrite. */
fa_error fa_deque_push(fa_deque *d, void *item) {
    if (is_null(d, "fa_deque_push"))
        return FA_ERR_INVALID;
    if (item == NULL)
        return fa__report(&d->a->sink, FA_ERR_INVALID, 0, "fa_deque_push: NULL item (NULL means empty)");
    int64_t bottom = atomic_load_explicit(&d->bottom, memory_order_relaxed);
    struct ring *r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    if ((uint64_t)(bottom - d->top_seen) >= ring_capacity(r)) {
        d->top_seen = atomic_load_explicit(&d->top, memory_order_acquire);
        if ((uint64_t)(bottom - d->top_seen) >= ring_capacity(r)) {
            fa_error e = grow(d, r, d->top_seen, bottom);
            if (e != FA_OK)
                return e; /* nothing changed: the deque is as it was */
            r = atomic_load_explicit(&d->ring, memory_order_relaxed);
        }
    }
    slot_put(r, bottom, item);
    /* The paper's release fence and relaxed store, as one release store. */
    atomic_store_explicit(&d->bottom, bottom + 1, memory_order_release);
    return FA_OK;
}

/* Figure 1's take. Claiming index bottom - 1 first (a seq_cst store, read
 * back by thieves' seq_cst loads) means that a thief and the owner can
 * only both reach the last item, which the CAS on top then decides. When
 * the top last seen is bottom, the deque is empty (top never passes
 * bottom outside a pop), and the claim's full barrier is spared. */
void *fa_deque_pop(fa_deque *d) {
    if (is_null(d, "fa_deque_pop"))
        return NULL;
    int64_t bottom = atomic_load_explicit(&d->bottom, memory_order_relaxed) - 1;
    if (bottom < d->top_seen)
        return NULL;
    struct ring *r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    atomic_store_explicit(&d->bottom, bottom, memory_order_seq_cst);
    int64_t top = atomic_load_explicit(&d->top, memory_order_seq_cst);
    d->top_seen = top;
    if (top > bottom) { /* empty: undo the claim */
        atomic_store_explicit(&d->bottom, bottom + 1, memory_order_release);
        return NULL;
    }
    void *item = slot_get(r, bottom);
    if (top == bottom) { /* the last item: race the thieves for it */
        if (!claim_top(d, top))
            item = NULL;
        atomic_store_explicit(&d->bottom, bottom + 1, memory_order_release);
    }
    return item;
}

/* ---- the thieves' end ---------------------------------------------------- */

/* Figure 1's steal. top is read before bottom (both seq_cst, in place of
 * the paper's fence between them); the slot is read before the CAS, since
 * once top moves the owner may overwrite it. A lost CAS is a NULL: another
 * thread took that item, and the caller retries. */
void *fa_deque_steal(fa_deque *d) {
    if (is_null(d, "fa_deque_steal"))
        return NULL;
    int64_t top = atomic_load_explicit(&d->top, memory_order_seq_cst);
    int64_t bottom = atomic_load_explicit(&d->bottom, memory_order_seq_cst);
    if (top >= bottom)
        return NULL;
    struct ring *r = atomic_load_explicit(&d->ring, memory_order_acquire);
    void *item = slot_get(r, top);
    return claim_top(d, top) ? item : NULL;
}

size_t fa_deque_count(const fa_deque *d) {
    if (is_null(d, "fa_deque_count"))
        return 0;
    int64_t top = atomic_load_explicit(&d->top, memory_order_acquire);
    int64_t bottom = atomic_load_explicit(&d->bottom, memory_order_acquire);
    return bottom > top ? (size_t)(bottom - top) : 0; /* a pop in flight lowers bottom below top */
}

void fa_deque_destroy(fa_deque *d) {
    if (d == NULL)
        return;
    fa_alloc *a = d->a;
    struct ring *r = atomic_load_explicit(&d->ring, memory_order_relaxed);
    ring_free(a, r);
    while (d->retired != NULL) {
        struct ring *older = d->retired->older;
        ring_free(a, d->retired);
        d->retired = older;
    }
    fa_pool_free(a, d);
}
