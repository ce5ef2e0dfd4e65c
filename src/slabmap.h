/* The slab map: which pool slab, if any, holds an address. Process-wide,
 * filled only by the library; the inline fa_pool_free reads it (framealloc.h,
 * fa__slab_of), so a free is checked before any memory at the pointer is
 * read. Entries are written under one mutex; readers take none. */
#ifndef FA_SLABMAP_H
#define FA_SLABMAP_H

#include "framealloc.h"

#define FA__SLAB_SIZE ((size_t)1 << FA__SLAB_SHIFT)

/* Called once per allocator created / destroyed: the map exists while any
 * allocator does (the last one out frees its leaves). */
void fa__slabmap_acquire(void);
void fa__slabmap_release(void);

/* Points the slab at `base` (FA__SLAB_SIZE-aligned) to head; NULL removes it.
 * Returns 0 when a leaf could not be allocated (then nothing changed). */
int fa__slabmap_set(uintptr_t base, struct fa__slab_head *head);

#endif
