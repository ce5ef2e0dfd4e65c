/* Long-lived blocks: the out-of-line halves of fa_pool_alloc and
 * fa_pool_free, the heap path, and fa_trim. */
#include "charge.h"

/* The heap path's block alignment for pool requests above the classes. */
#define LARGE_POOL_ALIGN 64

static struct fa_thread *attach(fa_alloc *a, size_t size, const char *fn) {
    struct fa_thread *th = fa__thread_attach(&a->threads);
    if (th == NULL)
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: no memory for this thread's state", fn);
    return th;
}

static void *heap_alloc(fa_alloc *a, size_t size, size_t align, const char *fn) {
    if (!fa__is_pow2(align)) {
        fa__report(&a->sink, FA_ERR_INVALID, size, "%s: alignment %zu is not a power of two", fn, align);
        return NULL;
    }
    if (fa__cannot_be_met(size, align)) {
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: %zu bytes aligned to %zu cannot be met", fn, size,
                   align);
        return NULL;
    }
    struct fa_thread *th = attach(a, size, fn);
    size_t bytes = size != 0 ? size : 1;
    if (th == NULL)
        return NULL;
    fa__charge_refresh(a, th);
    if (fa__charge_block_take(a, th, bytes, size, fn) != FA_OK)
        return NULL;
    void *p = fa__heap_take(&a->heap, bytes, align, th->charge.tag);
    if (p == NULL) {
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: the memory source refused %zu bytes", fn, size);
        return NULL;
    }
    fa__charge_block(a, th, FA_KIND_HEAP, bytes);
    return p;
}

static fa_error heap_free(fa_alloc *a, void *p, const char *fn) {
    size_t size;
    uint32_t tag;
    fa_error e = fa__heap_give(&a->heap, p, &size, &tag);
    if (e == FA_ERR_DOUBLE_FREE)
        return fa__report(&a->sink, e, 0, "%s: %p was already freed", fn, p);
    if (e == FA_ERR_FOREIGN)
        return fa__report(&a->sink, e, 0, "%s: %p is not a block of this allocator", fn, p);
    fa__charge_unblock(a, fa__thread_find(&a->threads), FA_KIND_HEAP, tag, size);
    return e;
}

/* A block of class cls from the thread's current pools, counted by their
 * counters like the inline path's. */
static void *pool_take(fa_alloc *a, struct fa_thread *th, unsigned cls, size_t size) {
    struct fa_pool_cache *pool = &fa__thread_ctx(th)->pool;
    struct fa__thread_tls *t = fa__thread_pool(th);
    if (t->cache == NULL && !fa__thread_pool_attach(&a->pools, th)) {
        fa__report(&a->sink, FA_ERR_NOMEM, size, "fa_pool_alloc: no memory for this thread's cache");
        return NULL;
    }
    if (t->count[cls] == 0) {
        if (!fa__pool_refill(&a->pools, pool, t, cls)) {
            fa__report(&a->sink, FA_ERR_NOMEM, size, "fa_pool_alloc: the memory source refused a slab");
            return NULL;
        }
        fa__thread_publish(th); /* threads that run no frames publish here */
    }
    return fa__pool_pop(t, cls);
}

void *fa__pool_alloc_slow(fa_alloc *a, size_t size) {
    if (a == NULL) {
        fa__null_alloc("fa_pool_alloc");
        return NULL;
    }
    if (size > FA__POOL_MAX)
        return heap_alloc(a, size, LARGE_POOL_ALIGN, "fa_pool_alloc");
    struct fa_thread *th = attach(a, size, "fa_pool_alloc");
    if (th == NULL)
        return NULL;
    unsigned cls = fa__pool_class(size);
    size_t bytes = (size_t)8 << cls;
    fa__charge_refresh(a, th);
    if (!th->counted)
        return pool_take(a, th, cls, size);
    if (fa__charge_block_take(a, th, bytes, size, "fa_pool_alloc") != FA_OK)
        return NULL;
    void *p = pool_take(a, th, cls, size);
    if (p != NULL)
        fa__charge_budget(a, th, bytes);
    return p;
}

/* The calling thread's pools that own slab s, or NULL: those of the slab's
 * path, if the slab's owner tag is theirs. */
static struct fa_pool_ctx *owning_ctx(struct fa_thread *th, const struct fa__slab_entry *e,
                                      const struct fa_slab *s) {
    struct fa_pool_ctx *ctx = th != NULL ? th->ctx[s->path] : NULL;
    uintptr_t owner = __atomic_load_n(&e->owner, __ATOMIC_RELAXED);
    return ctx != NULL && ctx->pool.items != NULL && owner == fa__owner_tag(ctx->pool.items) ? ctx : NULL;
}

/* A free on the thread that owns the slab, into the pools of its path,
 * counted by their counters. */
static void pool_free_local(fa_alloc *a, struct fa_thread *th, struct fa_pool_ctx *ctx,
                            const struct fa__slab_entry *e, void *p) {
    struct fa__thread_tls *t = fa__thread_pool_state(th, ctx);
    FA__TALLY(fa__pool_tally(t->cache)[FA__POOL_CLASSES + e->cls]++);
    if (t->count[e->cls] == e->cap)
        fa__pool_flush(&a->pools, &ctx->pool, t, e->cls);
    fa__pool_push(t, e, p);
}

/* A block's slab says its path; the free gives its bytes back to that
 * path's budgets (a free on the inline path only ever happens where no
 * budget is over the path). */
fa_error fa__pool_free_slow(fa_alloc *a, void *p) {
    if (a == NULL)
        return fa__null_alloc("fa_pool_free");
    if (p == NULL)
        return FA_OK;
    const struct fa__slab_entry *e = fa__slab_of((uintptr_t)p);
    struct fa_slab *s = (struct fa_slab *)e->slab;
    if (s == NULL)
        return heap_free(a, p, "fa_pool_free");
    if (s->instance != a)
        return fa__report(&a->sink, FA_ERR_FOREIGN, 0, "fa_pool_free: %p is a block of another allocator", p);
    if (((uintptr_t)p & e->mask) != 0)
        return fa__report(&a->sink, FA_ERR_FOREIGN, 0, "fa_pool_free: %p points inside a block", p);
    if (*(uint64_t *)p == a->pools.cookie)
        return fa__report(&a->sink, FA_ERR_DOUBLE_FREE, 0, "fa_pool_free: %p was already freed", p);
    struct fa_thread *th = fa__thread_find(&a->threads);
    uint32_t path = s->path; /* read while the block is still the caller's */
    size_t bytes = (size_t)8 << e->cls;
    struct fa_pool_ctx *ctx = owning_ctx(th, e, s);
    if (ctx != NULL) {
        pool_free_local(a, th, ctx, e, p);
        fa__charge_refund(a, th, path, bytes);
    } else if (fa__pool_free_remote(s, p, a->pools.cookie) == FA_OK) {
        fa__charge_unblock(a, th, FA_KIND_POOL, path, bytes);
    } else {
        return fa__report(&a->sink, FA_ERR_DOUBLE_FREE, 0, "fa_pool_free: %p was already freed", p);
    }
    return FA_OK;
}

void *fa_heap_alloc(fa_alloc *a, size_t size, size_t align) {
    if (a == NULL) {
        fa__null_alloc("fa_heap_alloc");
        return NULL;
    }
    return heap_alloc(a, size, align, "fa_heap_alloc");
}

fa_error fa_heap_free(fa_alloc *a, void *p) {
    if (a == NULL)
        return fa__null_alloc("fa_heap_free");
    if (p == NULL)
        return FA_OK;
    const struct fa_slab *s = fa__slab_at(p);
    if (s != NULL && s->instance == a)
        return fa__report(&a->sink, FA_ERR_FOREIGN, 0, "fa_heap_free: %p is a pool block (use fa_pool_free)", p);
    return heap_free(a, p, "fa_heap_free");
}

fa_error fa_trim(fa_alloc *a) {
    if (a == NULL)
        return fa__null_alloc("fa_trim");
    fa__thread_pool_trim(&a->pools, fa__thread_find(&a->threads));
    fa__chunk_trim(&a->chunks);
    return FA_OK;
}
