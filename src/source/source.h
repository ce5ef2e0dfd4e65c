/* SPDX-License-Identifier: MIT */
/* Ready memory sources, one file each in src/source/ (mmap.c, fixed.c,
 * numa.c, failing.c; system.c is the plain malloc backend they may wrap)
 * behind one table, as SQLite's mem*.c files stand behind
 * sqlite3_mem_methods. Every source's backend table has
 * the same two entry points, which count and dispatch through ops. */
#ifndef FA_SOURCE_H
#define FA_SOURCE_H

#include <stdatomic.h>

#include "framealloc.h"

struct fa_source;

struct fa_source_ops {
    fa_backend_result (*allocate)(struct fa_source *s, size_t size, size_t align, void **out);
    void (*deallocate)(struct fa_source *s, void *p, size_t size, size_t align);
    /* Fills what only this kind knows: capacity, huge pages, NUMA node. */
    void (*describe)(const struct fa_source *s, fa_source_info *info);
    void (*destroy)(struct fa_source *s);
};

/* The first member of every source's state. */
struct fa_source {
    const struct fa_source_ops *ops;
    const char                 *name;
    atomic_uint_fast64_t        requests, failures;
    atomic_size_t               in_use;
};

void fa__source_init(struct fa_source *s, const struct fa_source_ops *ops, const char *name);
/* The backend table for a source. */
fa_backend fa__source_backend(struct fa_source *s);
/* The source behind a backend table, NULL when it is not one of ours. */
struct fa_source *fa__source_of(const fa_backend *b);

/* The mmap source's parts that the NUMA source builds on. */
struct fa_source *fa__mmap_create(size_t reserve, fa_huge_pages huge, const char *name);
/* Binds the range to NUMA node `node` where the system can; the source
 * reports the node, or -1 when it stays unbound. */
void fa__mmap_bind(struct fa_source *s, int node);

#endif
