/* SPDX-License-Identifier: MIT */
/* The slab map: which pool slab, if any, holds an address. Process-wide,
 * filled only by the library; the inline fa_pool_free reads it (framealloc.h,
 * fa__slab_of), so a free is checked before any memory at the pointer is
 * read. Leaves are added under one mutex; an entry is written by whoever
 * holds its slab. Readers take no lock. */
#ifndef FA_SLABMAP_H
#define FA_SLABMAP_H

#include "framealloc.h"

/* The map's grain, the smallest slab; a larger one (up to FA__SLAB_MAX,
 * aligned to its size) has one entry per FA__SLAB_MIN piece, all alike. */
#define FA__SLAB_MIN ((size_t)1 << FA__SLAB_SHIFT)
#define FA__SLAB_MAX ((size_t)1 << 20)

/* Called once per allocator created / destroyed: the last one out frees the
 * leaves. The map itself is valid from the library's load on, every entry
 * empty, so that a lookup never needs an allocator. */
void fa__slabmap_acquire(void);
void fa__slabmap_release(void);

/* The `pieces` consecutive entries for the slab at `base` (aligned to its
 * size, so they lie in one leaf), pointing to its descriptor; the pool
 * fills in the rest. NULL when a leaf could not be allocated or the address
 * is beyond the map (then nothing changed). */
struct fa__slab_entry *fa__slabmap_add(uintptr_t base, size_t pieces, void *slab);
/* Clears the entries before the slab's memory goes back to the backend. */
void fa__slabmap_remove(struct fa__slab_entry *e, size_t pieces);

#endif
