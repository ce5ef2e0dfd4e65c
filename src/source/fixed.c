/* SPDX-License-Identifier: MIT */
/* The fixed-region source: all memory from one caller-supplied buffer.
 * Floor: memory, in source/ (docs/internals.md). It stands on extents.c and
 * calls nothing above it: no structure, thread, instance, attribution or
 * API file.
 * Invariants: the usable range starts 16-byte aligned and every size rounds
 * up to 16 bytes (GRAIN), so extents stay whole grains. The lock guards the
 * extents only. The buffer's bytes are never written here: the bookkeeping
 * lives outside it. */
#include <stdlib.h>

#include "event.h"
#include "extents.h"
#include "os.h"
#include "source.h"

/* Sizes round up to this, so extents stay whole multiples of it. */
#define GRAIN ((size_t)16)

struct fixed {
    struct fa_source  base;
    fa__mutex   lock;
    struct fa_extents free;
    size_t            size;
};

static size_t grain(size_t size) {
    return (size + GRAIN - 1) & ~(GRAIN - 1);
}

static fa_backend_result fixed_allocate(struct fa_source *s, size_t size, size_t align, void **out) {
    struct fixed *f = (struct fixed *)s;
    if (size > f->size)
        return FA_BACKEND_FAIL;
    fa__mutex_lock(&f->lock);
    uintptr_t at = fa__extents_take(&f->free, grain(size), align < GRAIN ? GRAIN : align);
    fa__mutex_unlock(&f->lock);
    *out = (void *)at;
    return at != 0 ? FA_BACKEND_OK : FA_BACKEND_FAIL;
}

static void fixed_deallocate(struct fa_source *s, void *p, size_t size, size_t align) {
    struct fixed *f = (struct fixed *)s;
    (void)align;
    fa__mutex_lock(&f->lock);
    fa__extents_give(&f->free, (uintptr_t)p, grain(size));
    fa__mutex_unlock(&f->lock);
}

static void fixed_describe(const struct fa_source *s, fa_source_info *info) {
    info->capacity = ((const struct fixed *)s)->size;
}

static void fixed_destroy(struct fa_source *s) {
    struct fixed *f = (struct fixed *)s;
    fa__extents_fini(&f->free);
    fa__mutex_destroy(&f->lock);
    free(f);
}

static const struct fa_source_ops fixed_ops = {fixed_allocate, fixed_deallocate, fixed_describe,
                                               fixed_destroy};

fa_error fa_source_fixed(fa_backend *out, void *buffer, size_t size) {
    if (out == NULL || buffer == NULL || size == 0)
        return fa__report(NULL, FA_ERR_INVALID, size, "fa_source_fixed: NULL output, NULL buffer or size 0");
    uintptr_t start = fa__align_up((uintptr_t)buffer, GRAIN);
    size_t usable = start - (uintptr_t)buffer < size ? (size - (start - (uintptr_t)buffer)) & ~(GRAIN - 1) : 0;
    if (usable == 0) /* not one aligned grain: a source that could never serve */
        return fa__report(NULL, FA_ERR_INVALID, size, "fa_source_fixed: buffer too small (under %zu aligned bytes)",
                          GRAIN);
    size = usable;
    struct fixed *f = (struct fixed *)calloc(1, sizeof *f);
    if (f == NULL || !fa__extents_init(&f->free, start, size)) {
        free(f);
        return fa__report(NULL, FA_ERR_NOMEM, size, "fa_source_fixed: no memory for the source");
    }
    fa__source_init(&f->base, &fixed_ops, "fixed");
    fa__mutex_init(&f->lock);
    f->size = size;
    *out = fa__source_backend(&f->base);
    return FA_OK;
}
