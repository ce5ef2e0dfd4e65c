/* SPDX-License-Identifier: MIT */
/* The mmap source: one reserved range of address space, pages committed as
 * memory is handed out and decommitted as soon as it comes back. The NUMA
 * source is built on it (fa__mmap_create).
 * Floor: memory, in source/ (docs/internals.md). It stands on extents.c and
 * calls nothing above it: no structure, thread, instance, attribution or
 * API file.
 * The range's reserve, commit and decommit are the system's (os.h).
 * Invariants:
 * - Every free extent is whole pages, decommitted: a range is committed
 *   only once taken, and decommitted before it is given back, so a stray
 *   access to free memory faults.
 * - The lock guards the extents only; commits and decommits run outside it. */
#include <stdlib.h>

#include "event.h"
#include "extents.h"
#include "os.h"
#include "source.h"

#define DEFAULT_RESERVE ((size_t)4 << 30)

struct mm {
    struct fa_source  base;
    fa__mutex         lock;
    struct fa_extents free;
    struct fa__vm     vm; /* every size rounds up to its page */
};

static size_t round_to(size_t size, size_t page) {
    return (size + page - 1) & ~(page - 1);
}

static fa_backend_result mm_allocate(struct fa_source *s, size_t size, size_t align, void **out) {
    struct mm *m = (struct mm *)s;
    if (size > m->vm.size || align > m->vm.size)
        return FA_BACKEND_FAIL;
    size_t bytes = round_to(size, m->vm.page);
    fa__mutex_lock(&m->lock);
    uintptr_t at = fa__extents_take(&m->free, bytes, align < m->vm.page ? m->vm.page : align);
    fa__mutex_unlock(&m->lock);
    if (at == 0)
        return FA_BACKEND_FAIL;
    if (!fa__vm_commit(&m->vm, (void *)at, bytes)) {
        fa__mutex_lock(&m->lock);
        fa__extents_give(&m->free, at, bytes);
        fa__mutex_unlock(&m->lock);
        return FA_BACKEND_FAIL;
    }
    *out = (void *)at;
    return FA_BACKEND_OK;
}

static void mm_deallocate(struct fa_source *s, void *p, size_t size, size_t align) {
    struct mm *m = (struct mm *)s;
    (void)align;
    size_t bytes = round_to(size, m->vm.page);
    fa__vm_decommit(&m->vm, p, bytes);
    fa__mutex_lock(&m->lock);
    fa__extents_give(&m->free, (uintptr_t)p, bytes);
    fa__mutex_unlock(&m->lock);
}

static void mm_describe(const struct fa_source *s, fa_source_info *info) {
    const struct mm *m = (const struct mm *)s;
    info->capacity = m->vm.size;
    info->huge = m->vm.huge;
    info->numa_node = m->vm.node;
}

static void mm_destroy(struct fa_source *s) {
    struct mm *m = (struct mm *)s;
    fa__vm_release(&m->vm);
    fa__extents_fini(&m->free);
    fa__mutex_destroy(&m->lock);
    free(m);
}

static const struct fa_source_ops mm_ops = {mm_allocate, mm_deallocate, mm_describe, mm_destroy};

struct fa_source *fa__mmap_create(size_t reserve, fa_huge_pages huge, const char *name) {
    struct mm *m = (struct mm *)calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    if (!fa__vm_reserve(&m->vm, reserve != 0 ? reserve : DEFAULT_RESERVE, huge)) {
        free(m);
        return NULL;
    }
    if (!fa__extents_init(&m->free, (uintptr_t)m->vm.start, m->vm.size)) {
        fa__vm_release(&m->vm);
        free(m);
        return NULL;
    }
    fa__source_init(&m->base, &mm_ops, name);
    fa__mutex_init(&m->lock);
    return &m->base;
}

void fa__mmap_bind(struct fa_source *s, int node) {
    fa__vm_bind(&((struct mm *)s)->vm, node);
}

fa_error fa_source_mmap(fa_backend *out, size_t reserve, fa_huge_pages huge) {
    if (out == NULL || huge > FA_HUGE_EXPLICIT)
        return fa__report(NULL, FA_ERR_INVALID, reserve, "fa_source_mmap: NULL output or unknown huge-page mode");
    struct fa_source *s = fa__mmap_create(reserve, huge, "mmap");
    if (s == NULL)
        return fa__report(NULL, FA_ERR_NOMEM, reserve, "fa_source_mmap: the system refused the reservation");
    *out = fa__source_backend(s);
    return FA_OK;
}
