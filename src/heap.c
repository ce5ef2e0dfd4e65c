/* SPDX-License-Identifier: MIT */
/* The heap API: fa_heap_alloc and fa_heap_free, and the heap path they
 * share with fa_pool_alloc (requests above the classes) and fa_pool_free.
 * Floor: API, below the pool API (docs/internals.md). It calls no other API
 * file.
 * Invariants: an allocation takes budget headroom before it asks the
 * backend, and charges the block once it holds it. A free is checked by the
 * heap table before anything is given back or counted, and is counted for
 * the path the table recorded. fa_heap_free refuses this allocator's pool
 * blocks. */
#include "heap.h"

#include "debug.h"
#include "observe.h"

void *fa__heap_alloc(fa_alloc *a, size_t size, size_t align, const char *fn) {
    if (!fa__is_pow2(align)) {
        fa__report(&a->sink, FA_ERR_INVALID, size, "%s: alignment %zu is not a power of two", fn, align);
        return NULL;
    }
    if (fa__cannot_be_met(size, align)) {
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: %zu bytes aligned to %zu cannot be met", fn, size,
                   align);
        return NULL;
    }
    struct fa_thread *th = fa__attach(a, size, fn);
    size_t bytes = size != 0 ? size : 1;
    if (th == NULL)
        return NULL;
    fa__attr_refresh(a, th);
    if (fa__attr_block_admit(a, th, bytes, size, fn) != FA_OK)
        return NULL;
    void *p = fa__heap_take(&a->heap, bytes, align, th->charge.tag);
    if (p == NULL) {
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: the memory source refused %zu bytes", fn, size);
        return NULL;
    }
    fa__attr_block_taken(a, th, FA__KIND_HEAP, bytes);
    return p;
}

fa_error fa__heap_free(fa_alloc *a, void *p, const char *fn) {
    size_t size;
    uint32_t tag;
    fa_error e = fa__heap_give(&a->heap, p, &size, &tag);
    if (e == FA_ERR_DOUBLE_FREE)
        return fa__report(&a->sink, e, 0, "%s: %p was already freed", fn, p);
    if (e == FA_ERR_FOREIGN)
        return fa__report(&a->sink, e, 0, "%s: %p is not a block of this allocator", fn, p);
    fa__attr_block_freed(a, fa__thread_find(&a->threads), FA__KIND_HEAP, tag, size);
    return e;
}

void *fa__heap_alloc_guarded(fa_alloc *a, size_t size, size_t align, const char *fn) {
    if (!fa__guarded(a) || !fa__is_pow2(align) || fa__cannot_be_met(size, fa__guard_front(align)))
        return fa__heap_alloc(a, size, align, fn); /* what it cannot meet, it reports */
    size_t bytes = fa__guard_raw_size(size, align);
    void *raw = fa__heap_alloc(a, bytes, align, fn);
    if (raw == NULL)
        return NULL;
    return fa__debug_block_wrap(a, fa__thread_find(&a->threads), raw, fa__guard_front(align), FA__GUARD_HEAP, size,
                                bytes, fn);
}

fa_error fa__heap_size(fa_alloc *a, const void *p, const char *fn, size_t *size) {
    size_t align;
    int state = fa__heap_state(&a->heap, p, size, &align);
    if (state == FA__HEAP_FREED)
        return fa__report(&a->sink, FA_ERR_DOUBLE_FREE, 0, "%s: %p was already freed", fn, p);
    if (state != FA__HEAP_LIVE)
        return fa__report(&a->sink, FA_ERR_FOREIGN, 0, "%s: %p is not a block of this allocator", fn, p);
    return FA_OK;
}

void *fa_heap_alloc(fa_alloc *a, size_t size, size_t align) {
    FA__SITE();
    if (a == NULL) {
        fa__null_alloc("fa_heap_alloc");
        return NULL;
    }
    void *p = fa__heap_alloc_guarded(a, size, align, "fa_heap_alloc");
    if (p != NULL && fa__observe_blocks(a))
        fa__observe_block(a, fa__thread_find(&a->threads), p, size);
    return p;
}

fa_error fa_heap_free(fa_alloc *a, void *p) {
    if (a == NULL)
        return fa__null_alloc("fa_heap_free");
    if (p == NULL)
        return FA_OK;
    if (fa__guarded(a)) {
        void *raw;
        fa_error e = fa__debug_block_unwrap(a, fa__thread_find(&a->threads), p, 1, "fa_heap_free", &raw);
        if (raw == NULL)
            return e;
        fa_error f = fa__heap_free(a, raw, "fa_heap_free");
        if (e == FA_OK && f == FA_OK)
            fa__observe_release(a, FA_BLOCK_HEAP, p);
        return e != FA_OK ? e : f;
    }
    struct fa_thread *th = fa__thread_find(&a->threads);
    if (fa__passed_through(a) && th != NULL && fa__thread_passed(th, p))
        return fa__report(&a->sink, FA_ERR_FOREIGN, 0, "fa_heap_free: %p is frame memory of this thread", p);
    const struct fa_slab *s = fa__slab_at(p);
    if ((s != NULL && s->instance == a) || (fa__passed_through(a) && fa__heap_pooled(&a->heap, p)))
        return fa__report(&a->sink, FA_ERR_FOREIGN, 0, "fa_heap_free: %p is a pool block (use fa_pool_free)", p);
    fa_error e = fa__heap_free(a, p, "fa_heap_free");
    if (e == FA_OK)
        fa__observe_release(a, FA_BLOCK_HEAP, p);
    return e;
}
