/* The system source: the malloc family (posix_memalign and free). It is the
 * default backend, and the one a FALLBACK answer turns to.
 * Floor: memory, in source/ (docs/internals.md). It calls nothing above it:
 * no structure, thread, instance, attribution or API file.
 * It has no state; an alignment below a pointer's is raised to it, as
 * posix_memalign requires. */
#include "backend.h"

#include <stdlib.h>

fa_backend_result fa__system_allocate(void *ctx, size_t size, size_t align, void **out) {
    (void)ctx;
    if (align < sizeof(void *))
        align = sizeof(void *); /* posix_memalign's floor */
    return posix_memalign(out, align, size) == 0 ? FA_BACKEND_OK : FA_BACKEND_FAIL;
}

void fa__system_deallocate(void *ctx, void *ptr, size_t size, size_t align) {
    (void)ctx, (void)size, (void)align;
    free(ptr);
}

fa_backend fa_backend_system(void) {
    fa_backend b = {NULL, fa__system_allocate, fa__system_deallocate};
    return b;
}
