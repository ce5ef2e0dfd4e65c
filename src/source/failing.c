/* SPDX-License-Identifier: MIT */
/* The failing source: another backend, refusing requests by a rule, for
 * fault-injection tests (the library's and its users').
 * Floor: memory, in source/ (docs/internals.md). It calls nothing above it:
 * no structure, thread, instance, attribution or API file. It calls its
 * inner backend itself: as a source it stands behind backend.c.
 * Invariants: a refused request never reaches the inner backend. Every
 * request counts toward the rule (`counted`, since the rule was last set);
 * `outstanding` is the bytes the inner backend handed out with OK and has
 * not had back. */
#include <stdlib.h>

#include "event.h"
#include "source.h"

struct failing {
    struct fa_source          base;
    fa_backend                inner;
    _Atomic int               mode;
    atomic_size_t             n;
    atomic_uint_fast64_t      counted;     /* requests since the rule was set */
    atomic_size_t             outstanding; /* bytes handed out, not given back */
};

static int refuses(struct failing *f, size_t size) {
    size_t n = atomic_load(&f->n);
    uint64_t k = atomic_fetch_add(&f->counted, 1) + 1;
    switch ((fa_fail_mode)atomic_load(&f->mode)) {
    case FA_FAIL_EVERY_NTH: return n != 0 && k % n == 0;
    case FA_FAIL_NTH_ONCE: return k == n;
    case FA_FAIL_AFTER_BYTES: return atomic_load(&f->outstanding) + size > n;
    case FA_FAIL_FROM_NTH: return k >= n;
    default: return 0;
    }
}

static fa_backend_result failing_allocate(struct fa_source *s, size_t size, size_t align, void **out) {
    struct failing *f = (struct failing *)s;
    if (refuses(f, size))
        return FA_BACKEND_FAIL;
    fa_backend_result r = f->inner.allocate(f->inner.ctx, size, align, out);
    if (r == FA_BACKEND_OK)
        atomic_fetch_add(&f->outstanding, size);
    return r;
}

static void failing_deallocate(struct fa_source *s, void *p, size_t size, size_t align) {
    struct failing *f = (struct failing *)s;
    f->inner.deallocate(f->inner.ctx, p, size, align);
    atomic_fetch_sub(&f->outstanding, size);
}

static void failing_describe(const struct fa_source *s, fa_source_info *info) {
    struct failing *f = (struct failing *)s;
    if (atomic_load(&f->mode) == FA_FAIL_AFTER_BYTES)
        info->capacity = atomic_load(&f->n);
}

static void failing_destroy(struct fa_source *s) {
    free(s);
}

static int known_mode(fa_fail_mode mode) {
    return (unsigned)mode <= FA_FAIL_FROM_NTH;
}

static const struct fa_source_ops failing_ops = {failing_allocate, failing_deallocate, failing_describe,
                                                 failing_destroy};

fa_error fa_source_failing(fa_backend *out, fa_backend inner, fa_fail_mode mode, size_t n) {
    if (out == NULL || !known_mode(mode) || (inner.allocate == NULL) != (inner.deallocate == NULL))
        return fa__report(NULL, FA_ERR_INVALID, 0, "fa_source_failing: NULL output, bad mode or half a backend");
    struct failing *f = (struct failing *)calloc(1, sizeof *f);
    if (f == NULL)
        return fa__report(NULL, FA_ERR_NOMEM, 0, "fa_source_failing: no memory for the source");
    fa__source_init(&f->base, &failing_ops, "failing");
    f->inner = inner.allocate != NULL ? inner : fa_backend_system();
    atomic_init(&f->mode, (int)mode);
    atomic_init(&f->n, n);
    *out = fa__source_backend(&f->base);
    return FA_OK;
}

fa_error fa_source_failing_set(const fa_backend *b, fa_fail_mode mode, size_t n) {
    struct fa_source *s = fa__source_of(b);
    if (s == NULL || s->ops != &failing_ops || !known_mode(mode))
        return fa__report(NULL, FA_ERR_INVALID, 0, "fa_source_failing_set: not a failing source, or bad mode");
    struct failing *f = (struct failing *)s;
    atomic_store(&f->counted, 0);
    atomic_store(&f->n, n);
    atomic_store(&f->mode, (int)mode);
    return FA_OK;
}
