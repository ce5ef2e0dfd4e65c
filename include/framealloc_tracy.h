/* SPDX-License-Identifier: MIT */
/* framealloc -> Tracy: the allocator's hooks (fa_hooks) forwarded to
 * Tracy's C API, so that pool and heap blocks appear in Tracy's memory
 * view and each frame of the creating thread as a frame mark, with the
 * frame memory of every thread as plots (docs/profiling.md).
 *
 * Compiled in the program, not the library (which links nothing of
 * Tracy's): in one C or C++ file built with TRACY_ENABLE,
 *
 *     #include <tracy/TracyC.h>
 *     #include <framealloc_tracy.h>
 *     ...
 *     fa_config cfg;
 *     fa_config_init(&cfg);
 *     fa_tracy_hooks(&cfg);
 *     fa_alloc *a = fa_create(&cfg);
 *
 * Frame memory is not reported block by block: a frame's blocks die
 * together, which Tracy's memory view (one free per allocation) cannot
 * show; the plots give each frame's bytes and allocations instead. Pool
 * and heap allocations take the library's out-of-line path while the
 * hooks are set (about 20 instructions more per allocation and free). */
#ifndef FRAMEALLOC_TRACY_H
#define FRAMEALLOC_TRACY_H

#include "framealloc.h"

#ifndef TracyCAllocN
#error "include <tracy/TracyC.h> before <framealloc_tracy.h>"
#endif

/* Tracy keys pools and plots by the name's address: one literal each. */
#define FA_TRACY_POOL "framealloc pool"
#define FA_TRACY_HEAP "framealloc heap"

static inline const char *fa_tracy_pool_name(fa_block_kind kind) {
    return kind == FA_BLOCK_POOL ? FA_TRACY_POOL : FA_TRACY_HEAP;
}

static inline void fa_tracy_alloc(void *user, fa_block_kind kind, const void *p, size_t size) {
    (void)user;
    TracyCAllocN(p, size, fa_tracy_pool_name(kind));
}

static inline void fa_tracy_release(void *user, fa_block_kind kind, const void *p) {
    (void)user;
    TracyCFreeN(p, fa_tracy_pool_name(kind));
}

static inline void fa_tracy_frame(void *user, const fa_frame_event *f) {
    (void)user;
    TracyCPlot("framealloc frame bytes", (double)f->bytes);
    TracyCPlot("framealloc frame allocations", (double)f->allocations);
    if (f->is_creator)
        TracyCFrameMark;
}

/* Sets cfg's hooks to the functions above. */
static inline void fa_tracy_hooks(fa_config *cfg) {
    cfg->hooks.user = NULL;
    cfg->hooks.alloc = fa_tracy_alloc;
    cfg->hooks.release = fa_tracy_release;
    cfg->hooks.frame = fa_tracy_frame;
}

#endif
