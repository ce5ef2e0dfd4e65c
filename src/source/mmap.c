/* The mmap source: one reserved range of address space, pages committed as
 * memory is handed out and decommitted as soon as it comes back. The NUMA
 * source is built on it (fa__mmap_create).
 * Floor: memory, in source/ (docs/internals.md). It stands on extents.c and
 * calls nothing above it: no structure, thread, instance, attribution or
 * API file.
 * Invariants:
 * - Every free extent is whole pages, decommitted and PROT_NONE: a range is
 *   made read-write only once taken, and decommitted before it is given
 *   back, so a stray access to free memory faults.
 * - The lock guards the extents only; mprotect and madvise run outside it. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE, MAP_HUGETLB, MADV_* */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "event.h"
#include "extents.h"
#include "source.h"

#define DEFAULT_RESERVE ((size_t)4 << 30)
#define HUGE_PAGE ((size_t)2 << 20)

struct mm {
    struct fa_source  base;
    pthread_mutex_t   lock;
    struct fa_extents free;
    void             *start;
    size_t            size;
    size_t            page; /* every size rounds up to this */
    fa_huge_pages     huge; /* in effect */
    int               node;
};

static size_t round_to(size_t size, size_t page) {
    return (size + page - 1) & ~(page - 1);
}

static fa_backend_result mm_allocate(struct fa_source *s, size_t size, size_t align, void **out) {
    struct mm *m = (struct mm *)s;
    if (size > m->size || align > m->size)
        return FA_BACKEND_FAIL;
    size_t bytes = round_to(size, m->page);
    pthread_mutex_lock(&m->lock);
    uintptr_t at = fa__extents_take(&m->free, bytes, align < m->page ? m->page : align);
    pthread_mutex_unlock(&m->lock);
    if (at == 0)
        return FA_BACKEND_FAIL;
    if (mprotect((void *)at, bytes, PROT_READ | PROT_WRITE) != 0) { /* commit refused */
        pthread_mutex_lock(&m->lock);
        fa__extents_give(&m->free, at, bytes);
        pthread_mutex_unlock(&m->lock);
        return FA_BACKEND_FAIL;
    }
    *out = (void *)at;
    return FA_BACKEND_OK;
}

static void mm_deallocate(struct fa_source *s, void *p, size_t size, size_t align) {
    struct mm *m = (struct mm *)s;
    (void)align;
    size_t bytes = round_to(size, m->page);
    madvise(p, bytes, MADV_DONTNEED); /* the pages go back to the system now */
    mprotect(p, bytes, PROT_NONE);    /* and a stray access faults */
    pthread_mutex_lock(&m->lock);
    fa__extents_give(&m->free, (uintptr_t)p, bytes);
    pthread_mutex_unlock(&m->lock);
}

static void mm_describe(const struct fa_source *s, fa_source_info *info) {
    const struct mm *m = (const struct mm *)s;
    info->capacity = m->size;
    info->huge = m->huge;
    info->numa_node = m->node;
}

static void mm_destroy(struct fa_source *s) {
    struct mm *m = (struct mm *)s;
    munmap(m->start, m->size);
    fa__extents_fini(&m->free);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static const struct fa_source_ops mm_ops = {mm_allocate, mm_deallocate, mm_describe, mm_destroy};

/* Explicit huge pages are reserved whole (no MAP_NORESERVE: touching a huge
 * page the pool cannot supply would be SIGBUS); else the range is reserved
 * without backing. NULL if the system refuses. */
static void *reserve_range(size_t *size, fa_huge_pages *huge, size_t *page) {
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
    if (*huge == FA_HUGE_EXPLICIT) {
        void *p = mmap(NULL, round_to(*size, HUGE_PAGE), PROT_NONE, flags | MAP_HUGETLB, -1, 0);
        if (p != MAP_FAILED) {
            *size = round_to(*size, HUGE_PAGE);
            *page = HUGE_PAGE;
            return p;
        }
        *huge = FA_HUGE_NONE; /* no huge page pool of that size: ordinary pages */
    }
    void *p = mmap(NULL, *size, PROT_NONE, flags | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (*huge == FA_HUGE_TRANSPARENT && madvise(p, *size, MADV_HUGEPAGE) != 0)
        *huge = FA_HUGE_NONE;
    return p;
}

struct fa_source *fa__mmap_create(size_t reserve, fa_huge_pages huge, const char *name) {
    struct mm *m = (struct mm *)calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->page = (size_t)sysconf(_SC_PAGESIZE);
    m->size = round_to(reserve != 0 ? reserve : DEFAULT_RESERVE, m->page);
    m->huge = huge;
    m->node = -1;
    m->start = reserve_range(&m->size, &m->huge, &m->page);
    if (m->start == NULL || !fa__extents_init(&m->free, (uintptr_t)m->start, m->size)) {
        if (m->start != NULL)
            munmap(m->start, m->size);
        free(m);
        return NULL;
    }
    fa__source_init(&m->base, &mm_ops, name);
    pthread_mutex_init(&m->lock, NULL);
    return &m->base;
}

void fa__mmap_range(const struct fa_source *s, void **start, size_t *size) {
    *start = ((const struct mm *)s)->start;
    *size = ((const struct mm *)s)->size;
}

void fa__mmap_set_node(struct fa_source *s, int node) {
    ((struct mm *)s)->node = node;
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
