/* SPDX-License-Identifier: MIT */
/* The one door to cfg.backend: every chunk, slab and heap block the library
 * takes or gives back passes here, so that a counting or failing backend
 * sees all of it, with the answers docs/memory-sources.md and
 * docs/errors.md define.
 * Floor: memory (docs/internals.md). It calls nothing above it: no
 * structure, thread, instance, attribution or API file.
 * Invariants: FALLBACK makes the system source serve the request, and the
 * block (from_system) goes back to the system, never to the backend. OK
 * with NULL, or with a pointer not aligned as asked (given straight back),
 * is a refusal. The meter counts a call per take and per give, and the
 * bytes held now. */
#include "backend.h"

static const fa_backend system_backend = {NULL, fa__system_allocate, fa__system_deallocate};

void *fa__backend_take(const fa_backend *b, struct fa_meter *m, size_t size, size_t align, uint8_t *from_system) {
    void *p = NULL;
    atomic_fetch_add_explicit(&m->calls, 1, memory_order_relaxed);
    fa_backend_result r = b->allocate(b->ctx, size, align, &p);
    *from_system = r == FA_BACKEND_FALLBACK;
    if (*from_system) {
        b = &system_backend;
        r = b->allocate(b->ctx, size, align, &p);
    }
    if (r != FA_BACKEND_OK || p == NULL)
        return NULL;
    if (((uintptr_t)p & (align - 1)) != 0) {
        b->deallocate(b->ctx, p, size, align); /* a backend bug: refuse it, leak nothing */
        return NULL;
    }
    atomic_fetch_add_explicit(&m->bytes, size, memory_order_relaxed);
    return p;
}

void fa__backend_give(const fa_backend *b, struct fa_meter *m, void *p, size_t size, size_t align,
                      uint8_t from_system) {
    atomic_fetch_add_explicit(&m->calls, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&m->bytes, size, memory_order_relaxed);
    const fa_backend *to = from_system ? &system_backend : b;
    to->deallocate(to->ctx, p, size, align);
}
