/* SPDX-License-Identifier: MIT */
/* The one table every ready source stands behind (struct fa_source and its
 * ops), and the public calls on it: fa_source_info_get, fa_source_destroy.
 * Floor: memory, in source/ (docs/internals.md). It calls nothing above it:
 * no structure, thread, instance, attribution or API file.
 * Invariants: a backend table is one of ours exactly when its allocate is
 * source_allocate, and then its ctx is the source. in_use counts the bytes
 * of OK answers not yet given back (a FALLBACK's block is the system's),
 * failures the FAIL answers. */
#include "source.h"

#include <string.h>

#include "backend.h"
#include "event.h"

static fa_backend_result source_allocate(void *ctx, size_t size, size_t align, void **out) {
    struct fa_source *s = (struct fa_source *)ctx;
    atomic_fetch_add_explicit(&s->requests, 1, memory_order_relaxed);
    fa_backend_result r = s->ops->allocate(s, size, align, out);
    if (r == FA_BACKEND_FAIL)
        atomic_fetch_add_explicit(&s->failures, 1, memory_order_relaxed);
    else if (r == FA_BACKEND_OK)
        atomic_fetch_add_explicit(&s->in_use, size, memory_order_relaxed);
    return r;
}

static void source_deallocate(void *ctx, void *p, size_t size, size_t align) {
    struct fa_source *s = (struct fa_source *)ctx;
    s->ops->deallocate(s, p, size, align);
    atomic_fetch_sub_explicit(&s->in_use, size, memory_order_relaxed);
}

void fa__source_init(struct fa_source *s, const struct fa_source_ops *ops, const char *name) {
    s->ops = ops;
    s->name = name;
    atomic_init(&s->requests, 0);
    atomic_init(&s->failures, 0);
    atomic_init(&s->in_use, 0);
}

fa_backend fa__source_backend(struct fa_source *s) {
    fa_backend b = {s, source_allocate, source_deallocate};
    return b;
}

struct fa_source *fa__source_of(const fa_backend *b) {
    return b != NULL && b->allocate == source_allocate ? (struct fa_source *)b->ctx : NULL;
}

fa_error fa_source_info_get(const fa_backend *b, fa_source_info *out) {
    if (b == NULL || out == NULL)
        return fa__report(NULL, FA_ERR_INVALID, 0, "fa_source_info_get: NULL argument");
    memset(out, 0, sizeof *out);
    out->numa_node = -1;
    if (b->allocate == NULL || b->allocate == fa__system_allocate) {
        out->name = "system";
        return FA_OK;
    }
    const struct fa_source *s = fa__source_of(b);
    if (s == NULL)
        return fa__report(NULL, FA_ERR_INVALID, 0, "fa_source_info_get: not a framealloc source");
    out->name = s->name;
    out->in_use = atomic_load_explicit(&s->in_use, memory_order_relaxed);
    out->requests = atomic_load_explicit(&s->requests, memory_order_relaxed);
    out->failures = atomic_load_explicit(&s->failures, memory_order_relaxed);
    s->ops->describe(s, out);
    return FA_OK;
}

void fa_source_destroy(fa_backend *b) {
    struct fa_source *s = fa__source_of(b);
    if (s == NULL)
        return;
    s->ops->destroy(s);
    memset(b, 0, sizeof *b);
}
