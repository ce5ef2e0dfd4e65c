/* SPDX-License-Identifier: MIT */
/* The system source: the C runtime's aligned blocks (posix_memalign and
 * free; on Windows malloc, or _aligned_malloc where the alignment demands:
 * os.h). It is the default backend, and the one a FALLBACK answer turns to.
 * Floor: memory, in source/ (docs/internals.md). It calls nothing above it:
 * no structure, thread, instance, attribution or API file.
 * It has no state. */
#include "backend.h"
#include "os.h"

fa_backend_result fa__system_allocate(void *ctx, size_t size, size_t align, void **out) {
    (void)ctx;
    *out = fa__aligned_alloc(size, align);
    return *out != NULL ? FA_BACKEND_OK : FA_BACKEND_FAIL;
}

void fa__system_deallocate(void *ctx, void *ptr, size_t size, size_t align) {
    (void)ctx, (void)size;
    fa__aligned_free(ptr, align);
}

fa_backend fa_backend_system(void) {
    fa_backend b = {NULL, fa__system_allocate, fa__system_deallocate};
    return b;
}
