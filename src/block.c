/* Long-lived blocks: the out-of-line halves of fa_pool_alloc and
 * fa_pool_free, the heap path, and fa_trim. */
#include "alloc.h"

/* The heap path's block alignment for pool requests above the classes. */
#define LARGE_POOL_ALIGN 64

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
    void *p = fa__heap_take(&a->heap, size != 0 ? size : 1, align);
    if (p == NULL)
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: the memory source refused %zu bytes", fn, size);
    return p;
}

static fa_error heap_free(fa_alloc *a, void *p, const char *fn) {
    fa_error e = fa__heap_give(&a->heap, p);
    if (e == FA_ERR_DOUBLE_FREE)
        return fa__report(&a->sink, e, 0, "%s: %p was already freed", fn, p);
    if (e == FA_ERR_FOREIGN)
        return fa__report(&a->sink, e, 0, "%s: %p is not a block of this allocator", fn, p);
    return e;
}

void *fa__pool_alloc_slow(fa_alloc *a, size_t size) {
    if (a == NULL) {
        fa__null_alloc("fa_pool_alloc");
        return NULL;
    }
    if (size > FA__POOL_MAX)
        return heap_alloc(a, size, LARGE_POOL_ALIGN, "fa_pool_alloc");
    struct fa_thread *th = fa__thread_attach(&a->threads);
    if (th == NULL) {
        fa__report(&a->sink, FA_ERR_NOMEM, size, "fa_pool_alloc: no memory for this thread's state");
        return NULL;
    }
    struct fa__thread_tls *t = th->tls;
    if (t->cache == NULL && !fa__pool_attach(&a->pools, &th->pool, t)) {
        fa__report(&a->sink, FA_ERR_NOMEM, size, "fa_pool_alloc: no memory for this thread's cache");
        return NULL;
    }
    unsigned cls = fa__pool_class(size);
    if (t->count[cls] == 0 && !fa__pool_refill(&a->pools, &th->pool, t, cls)) {
        fa__report(&a->sink, FA_ERR_NOMEM, size, "fa_pool_alloc: the memory source refused a slab");
        return NULL;
    }
    return fa__pool_pop(t, cls);
}

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
    struct fa__thread_tls *t = th != NULL ? th->tls : NULL;
    if (t != NULL && t->cache != NULL &&
        __atomic_load_n(&e->owner, __ATOMIC_RELAXED) == fa__owner_tag(t->cache)) {
        if (t->count[e->cls] == e->cap)
            fa__pool_flush(&a->pools, &th->pool, t, e->cls);
        fa__pool_push(t, e, p);
        return FA_OK;
    }
    if (fa__pool_free_remote(s, p, a->pools.cookie) != FA_OK)
        return fa__report(&a->sink, FA_ERR_DOUBLE_FREE, 0, "fa_pool_free: %p was already freed", p);
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
    struct fa_thread *th = fa__thread_find(&a->threads);
    fa__pool_trim(&a->pools, th != NULL ? &th->pool : NULL, th != NULL ? th->tls : NULL);
    fa__chunk_trim(&a->chunks);
    return FA_OK;
}
