/* SPDX-License-Identifier: MIT */
/* The pool API: the out-of-line halves of fa_pool_alloc and fa_pool_free
 * (framealloc.h holds the inline ones), and fa_trim.
 * Floor: API, above the heap API, whose path serves requests above the
 * classes (docs/internals.md). It calls no other API file.
 * Invariants:
 * - A free checks the block (its allocator, a block start, no marker)
 *   before it writes to it.
 * - A block is charged to the path its slab records (s->path), not to the
 *   path current at the free: the free gives its bytes back there.
 * - Only the thread that owns the slab puts a freed block in its cache; any
 *   other thread's free is one remote bit (slab.c).
 * - Under a budget a path's cache is charged (attribution.c): a refill
 *   takes headroom before it takes blocks and charges them after; blocks
 *   leaving the cache for their slabs give their bytes back. */
#include <string.h>

#include "debug.h"
#include "heap.h"
#include "observe.h"

/* The heap path's block alignment for pool requests above the classes. */
#define LARGE_POOL_ALIGN 64

/* Refills class cls of the thread's current pools; a charged cache's
 * blocks are charged to the budgets over its path as they come in. */
static int refill(fa_alloc *a, struct fa_thread *th, struct fa_pool_cache *pool, unsigned cls, size_t size,
                  const char *fn) {
    size_t block = (size_t)8 << cls;
    int charging = fa__attr_cache_charged(th);
    uint32_t most = charging ? fa__attr_pool_admit(a, th, block, size, fn) : UINT32_MAX;
    if (most == 0)
        return 0;
    uint32_t got = fa__pool_refill(&a->pools, pool, cls, most);
    if (got == 0) {
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: the memory source refused a slab", fn);
        return 0;
    }
    if (charging)
        fa__attr_budget(a, th, (size_t)got * block);
    fa__thread_publish(th); /* threads that run no frames publish here */
    return 1;
}

/* A pool allocation by th, with events naming fn; sizes above the classes
 * take the heap path. */
static void *alloc_raw(fa_alloc *a, struct fa_thread *th, size_t size, const char *fn) {
    if (size > FA__POOL_MAX)
        return fa__heap_alloc(a, size, LARGE_POOL_ALIGN, fn);
    unsigned cls = fa__pool_class(size);
    fa__attr_refresh(a, th);
    struct fa_pool_cache *pool = fa__thread_ctx(th);
    if (pool->items == NULL && !fa__thread_pool_attach(&a->pools, th)) {
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: no memory for this thread's cache", fn);
        return NULL;
    }
    struct fa__pool_rec *r = &pool->rec[cls];
    if (r->top == r->base && !refill(a, th, pool, cls, size, fn))
        return NULL;
    void *p = fa__pool_pop(r);
    fa__track_undefined((char *)p + 8, size > 8 ? size - 8 : 0); /* the marker word is always readable */
    return p;
}

/* What a pool block of size bytes is aligned to: its class size, or the
 * heap path's alignment above the classes. */
static size_t class_align(size_t size) {
    return size <= FA__POOL_MAX ? (size_t)8 << fa__pool_class(size) : LARGE_POOL_ALIGN;
}

/* A debug level's block: guarded, aligned as the unguarded one would be
 * (to its class size), in the class (or on the heap path) its guards take
 * it to. */
static void *alloc_guarded(fa_alloc *a, struct fa_thread *th, size_t size, const char *fn) {
    size_t align = class_align(size), front = fa__guard_front(align);
    if (fa__cannot_be_met(size, front))
        return alloc_raw(a, th, size, fn); /* which reports it */
    size_t bytes = fa__guard_raw_size(size, align);
    void *raw = bytes <= FA__POOL_MAX ? alloc_raw(a, th, bytes, fn) : fa__heap_alloc(a, bytes, align, fn);
    if (raw == NULL)
        return NULL;
    size_t usable = bytes <= FA__POOL_MAX ? (size_t)8 << fa__pool_class(bytes) : bytes;
    fa__track_release(raw, usable); /* the guards read and check all of it */
    int kind = size <= FA__POOL_MAX ? FA__GUARD_POOL : FA__GUARD_HEAP; /* what it is in the default build */
    return fa__debug_block_wrap(a, th, raw, front, kind, size, usable, fn);
}

/* FA_DEBUG_MALLOC's pool block: on the heap path, aligned as its class
 * would be, and marked a pool block (which fa_heap_free refuses) when it
 * would be a slab's in the default build. */
static void *alloc_passed(fa_alloc *a, size_t size, const char *fn) {
    void *p = fa__heap_alloc(a, size, class_align(size), fn);
    if (p != NULL && size <= FA__POOL_MAX)
        fa__heap_mark_pooled(&a->heap, p);
    return p;
}

/* The slow path of a pool allocation by th, shown to the observers. */
static void *alloc_slow(fa_alloc *a, struct fa_thread *th, size_t size, const char *fn) {
    void *p;
    if (fa__passed_through(a)) /* a block of its own, aligned as its class would be */
        p = alloc_passed(a, size, fn);
    else
        p = fa__guarded(a) ? alloc_guarded(a, th, size, fn) : alloc_raw(a, th, size, fn);
    if (p != NULL && fa__observe_blocks(a))
        fa__observe_block(a, th, p, size);
    return p;
}

void *fa__pool_alloc_slow(fa_alloc *a, size_t size) {
    FA__SITE();
    if (a == NULL) {
        fa__null_alloc("fa_pool_alloc");
        return NULL;
    }
    struct fa_thread *th = fa__attach(a, size, "fa_pool_alloc");
    return th != NULL ? alloc_slow(a, th, size, "fa_pool_alloc") : NULL;
}

/* The calling thread's pools that own slab s, or NULL: those of the slab's
 * path, if the slab's map entry points at their record. */
static struct fa_pool_cache *owning_ctx(struct fa_thread *th, const struct fa__slab_entry *e,
                                      const struct fa_slab *s) {
    struct fa_pool_cache *ctx = th != NULL ? th->ctx[s->path] : NULL;
    struct fa__pool_rec *owner = FA__LOAD(&e->rec, RELAXED);
    return ctx != NULL && ctx->items != NULL && owner == &ctx->rec[s->cls] ? ctx : NULL;
}

/* A free on the thread that owns the slab, into the pools of its path,
 * counted by their counters; the budgets over the path learn what stopped
 * being charged. */
static void pool_free_local(fa_alloc *a, struct fa_thread *th, struct fa_pool_cache *ctx,
                            const struct fa_slab *s, void *p) {
    struct fa__pool_rec *r = &ctx->rec[s->cls];
    FA__TALLY(r->back++);
    uint32_t flushed = r->top == r->end ? fa__pool_flush(&a->pools, ctx, s->cls) : 0;
    fa__pool_push(r, p);
    fa__pool_track_free(p, s->cls);
    fa__attr_cached(a, th, s->path, (size_t)8 << s->cls, flushed);
}

/* Whether p is a live block of slab s, checked before anything of the
 * block but its marker word is read: FA_OK, or FA_ERR_FOREIGN /
 * FA_ERR_DOUBLE_FREE, reported for fn. */
static fa_error slab_block(fa_alloc *a, const struct fa_slab *s, const void *p, const char *fn) {
    if (s->instance != a)
        return fa__report(&a->sink, FA_ERR_FOREIGN, 0, "%s: %p is a block of another allocator", fn, p);
    if (((uintptr_t)p & (((uintptr_t)1 << s->shift) - 1)) != 0) /* slabs are aligned to their size */
        return fa__report(&a->sink, FA_ERR_FOREIGN, 0, "%s: %p points inside a block", fn, p);
    fa__track_release((void *)(uintptr_t)p, 8); /* the marker word is read whatever the program left in it */
    if (*(const uint64_t *)p == a->pools.cookie)
        return fa__report(&a->sink, FA_ERR_DOUBLE_FREE, 0, "%s: %p was already freed", fn, p);
    return FA_OK;
}

/* A free by th (NULL: a thread without state), with events naming fn. A
 * block's slab says its path, whose budgets get its bytes back (at once,
 * or as it leaves a charged cache: attribution.c). */
static fa_error free_raw(fa_alloc *a, struct fa_thread *th, void *p, const char *fn) {
    const struct fa__slab_entry *e = fa__slab_of((uintptr_t)p);
    struct fa_slab *s = (struct fa_slab *)FA__LOAD(&e->slab, ACQUIRE); /* as fa__slab_at */
    if (s == NULL)
        return fa__heap_free(a, p, fn);
    fa_error checked = slab_block(a, s, p, fn);
    if (checked != FA_OK)
        return checked;
    uint32_t path = s->path; /* read while the block is still the caller's */
    size_t bytes = (size_t)8 << s->cls;
    if (th != NULL)
        fa__attr_refresh(a, th); /* a changed budget drops the charged caches first */
    struct fa_pool_cache *ctx = owning_ctx(th, e, s);
    if (ctx != NULL) {
        pool_free_local(a, th, ctx, s, p);
    } else if (fa__pool_free_remote(s, p, a->pools.cookie) == FA_OK) {
        fa__attr_block_freed(a, th, FA__KIND_POOL, path, bytes);
    } else {
        return fa__report(&a->sink, FA_ERR_DOUBLE_FREE, 0, "%s: %p was already freed", fn, p);
    }
    return FA_OK;
}

/* The slow path of a free by th; at a debug level, of a guarded block. */
static fa_error free_any(fa_alloc *a, struct fa_thread *th, void *p, const char *fn) {
    if (p == NULL)
        return FA_OK;
    if (fa__passed_through(a) && th != NULL && fa__thread_passed(th, p)) /* not the heap table's */
        return fa__report(&a->sink, FA_ERR_FOREIGN, 0, "%s: %p is frame memory of this thread", fn, p);
    if (!fa__guarded(a))
        return free_raw(a, th, p, fn);
    void *raw;
    fa_error e = fa__debug_block_unwrap(a, th, p, 0, fn, &raw);
    if (raw == NULL)
        return e;
    fa_error f = free_raw(a, th, raw, fn);
    return e != FA_OK ? e : f;
}

/* The same, shown to the release hook when there is one. */
static fa_error free_slow(fa_alloc *a, struct fa_thread *th, void *p, const char *fn) {
    if (a->cfg.hooks.release == NULL || p == NULL)
        return free_any(a, th, p, fn);
    fa_block_kind kind = fa__slab_at(p) != NULL ? FA_BLOCK_POOL : FA_BLOCK_HEAP; /* before it goes */
    fa_error e = free_any(a, th, p, fn);
    if (e == FA_OK)
        fa__observe_release(a, kind, p);
    return e;
}

fa_error fa__pool_free_slow(fa_alloc *a, void *p) {
    if (a == NULL)
        return fa__null_alloc("fa_pool_free");
    return free_slow(a, fa__thread_find(&a->threads), p, "fa_pool_free");
}

#if defined(_WIN32) && defined(FA_DLL)
/* The DLL's pool fast paths, for its programs, which cannot read its
 * thread-local entries (framealloc.h, FA__TLS_PATH). */
void *fa_pool_alloc(fa_alloc *a, size_t size) {
    return FA__TLS_NAME(fa_pool_alloc)(a, size);
}

fa_error fa_pool_free(fa_alloc *a, void *p) {
    return FA__TLS_NAME(fa_pool_free)(a, p);
}
#endif

/* ---- realloc and size ---------------------------------------------------- */

/* A live block's usable bytes (a guarded one's: the size asked for), and
 * whether it is a slab's: FA_OK, or the error a free of p would report
 * (reported; the block not read before its ownership is settled). */
static fa_error block_size(fa_alloc *a, struct fa_thread *th, const void *p, const char *fn, size_t *usable,
                           int *pooled) {
    *pooled = 0;
    if (fa__guarded(a))
        return fa__debug_block_size(a, th, p, fn, usable);
    if (fa__passed_through(a) && th != NULL && fa__thread_passed(th, p))
        return fa__report(&a->sink, FA_ERR_FOREIGN, 0, "%s: %p is frame memory of this thread", fn, p);
    const struct fa_slab *s = fa__slab_at(p);
    if (s == NULL)
        return fa__heap_size(a, p, fn, usable);
    fa_error e = slab_block(a, s, p, fn);
    if (e != FA_OK)
        return e;
    *usable = (size_t)8 << s->cls;
    *pooled = 1;
    return FA_OK;
}

size_t fa_usable_size(fa_alloc *a, const void *p) {
    if (a == NULL) {
        fa__null_alloc("fa_usable_size");
        return 0;
    }
    size_t usable;
    int pooled;
    if (p == NULL || block_size(a, fa__thread_find(&a->threads), p, "fa_usable_size", &usable, &pooled) != FA_OK)
        return 0;
    fa__track_release((void *)(uintptr_t)p, usable); /* a tracked library: the class's slack is the caller's now */
    return usable;
}

/* A new block of size bytes aligned to align: from the pools while its
 * class is aligned enough, else on the heap path. */
static void *alloc_aligned(fa_alloc *a, struct fa_thread *th, size_t size, size_t align, const char *fn) {
    if (size <= FA__POOL_MAX && align <= class_align(size))
        return alloc_slow(a, th, size, fn);
    return fa__heap_alloc_guarded(a, size, align, fn);
}

/* Whether a block of `usable` bytes at p serves size bytes aligned to
 * align in place: a pool block while size stays in its class, a heap block
 * while size shrinks by less than half. A debug level always moves the
 * block, so that every stale pointer meets the freed fill. */
static int fits_in_place(const fa_alloc *a, const void *p, size_t usable, int pooled, size_t size, size_t align) {
    if (fa__debug_on(a) || size > usable || ((uintptr_t)p & (align - 1)) != 0)
        return 0;
    if (pooled)
        return size <= FA__POOL_MAX && fa__pool_class(size) == fa__pool_class(usable);
    return size > FA__POOL_MAX && size > usable / 2;
}

static void *resize(fa_alloc *a, void *p, size_t size, size_t align, const char *fn) {
    struct fa_thread *th = fa__attach(a, size, fn);
    if (th == NULL)
        return NULL;
    if (p == NULL)
        return alloc_aligned(a, th, size, align, fn);
    size_t usable;
    int pooled;
    if (block_size(a, th, p, fn, &usable, &pooled) != FA_OK)
        return NULL;
    if (size != 0 && fits_in_place(a, p, usable, pooled, size, align)) {
        fa__track_release(p, size); /* a tracked library: the block is its new size now ... */
        if (pooled)
            fa__track_noaccess((char *)p + size, usable - size); /* ... and its slack poisoned again */
        return p;
    }
    void *q = alloc_aligned(a, th, size, align, fn);
    if (q == NULL)
        return NULL; /* p untouched */
    fa__track_release(p, usable); /* a tracked library poisons a pool block's slack */
    memcpy(q, p, usable < size ? usable : size);
    free_slow(a, th, p, fn);
    return q;
}

void *fa_realloc_aligned(fa_alloc *a, void *p, size_t size, size_t align) {
    FA__SITE();
    if (a == NULL) {
        fa__null_alloc("fa_realloc_aligned");
        return NULL;
    }
    if (!fa__is_pow2(align)) {
        fa__report(&a->sink, FA_ERR_INVALID, size, "fa_realloc_aligned: alignment %zu is not a power of two", align);
        return NULL;
    }
    return resize(a, p, size, align, "fa_realloc_aligned");
}

void *fa_pool_realloc(fa_alloc *a, void *p, size_t size) {
    FA__SITE();
    if (a == NULL) {
        fa__null_alloc("fa_pool_realloc");
        return NULL;
    }
    return resize(a, p, size, class_align(size), "fa_pool_realloc");
}

void *fa_pool_calloc(fa_alloc *a, size_t count, size_t size) {
    FA__SITE();
    if (a == NULL) {
        fa__null_alloc("fa_pool_calloc");
        return NULL;
    }
    if (size != 0 && count > SIZE_MAX / size) {
        fa__report(&a->sink, FA_ERR_NOMEM, SIZE_MAX, "fa_pool_calloc: %zu x %zu bytes cannot be met", count, size);
        return NULL;
    }
    void *p = fa_pool_alloc(a, count * size);
    if (p != NULL)
        memset(p, 0, count * size);
    return p;
}

/* ---- the cache handle ---------------------------------------------------- */

fa_cache *fa_cache_get(fa_alloc *a) {
    if (a == NULL) {
        fa__null_alloc("fa_cache_get");
        return NULL;
    }
    struct fa_thread *th = fa__attach(a, 0, "fa_cache_get");
    return th != NULL ? (fa_cache *)fa__thread_handle(th) : NULL;
}

void *fa__cache_alloc_slow(fa_cache *c, size_t size) {
    FA__SITE();
    struct fa_thread *th = fa__thread_of_handle(c);
    if (th == NULL) {
        fa__report(NULL, FA_ERR_INVALID, size, "fa_cache_alloc: NULL cache handle");
        return NULL;
    }
    fa_alloc *a = fa__alloc_of(th);
    if (fa__debug_on(a) && fa__debug_handle(a, th, "fa_cache_alloc") != FA_OK)
        return NULL;
    return alloc_slow(a, th, size, "fa_cache_alloc");
}

fa_error fa__cache_free_slow(fa_cache *c, void *p) {
    struct fa_thread *th = fa__thread_of_handle(c);
    if (th == NULL)
        return fa__report(NULL, FA_ERR_INVALID, 0, "fa_cache_free: NULL cache handle");
    fa_alloc *a = fa__alloc_of(th);
    if (fa__debug_on(a) && fa__debug_handle(a, th, "fa_cache_free") != FA_OK)
        return FA_ERR_STATE;
    return free_slow(a, th, p, "fa_cache_free");
}

fa_error fa_trim(fa_alloc *a) {
    if (a == NULL)
        return fa__null_alloc("fa_trim");
    struct fa_thread *th = fa__thread_find(&a->threads);
    if (th != NULL)
        fa__attr_pool_trim(a, th);
    fa__thread_pool_trim(&a->pools, th);
    fa__chunk_trim(&a->chunks);
    return FA_OK;
}
