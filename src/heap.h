/* SPDX-License-Identifier: MIT */
/* The heap API's services to the pool API above it: the heap path that
 * serves pool requests above the classes and frees them. */
#ifndef FA_HEAP_H
#define FA_HEAP_H

#include "attribution.h"

/* A heap block, checked, charged and counted, with events naming fn. */
void *fa__heap_alloc(fa_alloc *a, size_t size, size_t align, const char *fn);
/* The same, guarded at a debug level: a block as fa_heap_alloc makes it. */
void *fa__heap_alloc_guarded(fa_alloc *a, size_t size, size_t align, const char *fn);
/* A live heap block's size: FA_OK, or FA_ERR_FOREIGN / FA_ERR_DOUBLE_FREE
 * (reported) for what the table does not hold live. */
fa_error fa__heap_size(fa_alloc *a, const void *p, const char *fn, size_t *size);
/* Frees a heap block: FA_ERR_FOREIGN or FA_ERR_DOUBLE_FREE (reported) for
 * what the table does not hold live. */
fa_error fa__heap_free(fa_alloc *a, void *p, const char *fn);

#endif
