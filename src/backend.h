/* SPDX-License-Identifier: MIT */
/* The backend's one door (backend.c): every chunk, slab and heap block
 * passes through here, so that a counting or failing backend sees all of
 * it. */
#ifndef FA_BACKEND_H
#define FA_BACKEND_H

#include <stdatomic.h>

#include "framealloc.h"

/* The system source, also serving FA_BACKEND_FALLBACK answers. */
fa_backend_result fa__system_allocate(void *ctx, size_t size, size_t align, void **out);
void fa__system_deallocate(void *ctx, void *ptr, size_t size, size_t align);

/* What an allocator's calls to its backend add up to. */
struct fa_meter {
    _Atomic uint64_t calls; /* allocate and deallocate calls */
    _Atomic uint64_t bytes; /* held now */
};

/* Memory from the backend, or NULL when it refuses (FAIL, OK with NULL, or OK
 * with a pointer not aligned as asked, which is given straight back).
 * *from_system says that a FALLBACK answer made the system serve it. */
void *fa__backend_take(const fa_backend *b, struct fa_meter *m, size_t size, size_t align, uint8_t *from_system);
/* Gives memory back to whichever source served it. */
void fa__backend_give(const fa_backend *b, struct fa_meter *m, void *p, size_t size, size_t align, uint8_t from_system);

#endif
