/* SPDX-License-Identifier: MIT */
/* The slab map: which pool slab, if any, holds an address. The inline
 * fa_pool_free reads it (framealloc.h, fa__slab_of) before it touches the
 * block. Process-wide: one map for every allocator.
 * Floor: structures (docs/internals.md). It calls nothing above it: no
 * thread, instance, attribution or API file.
 * Invariants:
 * - Every top entry points to a leaf, from the library's load on: the
 *   shared empty leaf where there is no slab, so a lookup has no NULL test.
 *   The empty leaf is never written.
 * - Leaves are added under the map's mutex and freed only when the last
 *   allocator is released.
 * - A slab's entries point to its descriptor from fa__slabmap_add to
 *   fa__slabmap_remove, which its holder calls (without the mutex) before
 *   the memory goes back. The rest of an entry is the slab's (slab.c). */
#include "slabmap.h"

#include <stdlib.h>

#include "invariant.h"
#include "os.h"
#include "platform.h"

#define TOP_SIZE ((size_t)1 << FA__MAP_TOP_BITS)
#define LEAF_SIZE ((size_t)1 << FA__MAP_LEAF_BITS)

FA_API struct fa__slab_entry *fa__slab_map[TOP_SIZE];
FA_API const struct fa__slab_entry fa__no_slab;

/* The map's own state, besides the table the inline free reads. */
static struct {
    fa__mutex lock;  /* adding leaves and entries; counting users */
    size_t          users; /* live allocators */
    /* Every top entry without slabs points here, so a lookup needs no NULL test. */
    struct fa__slab_entry empty_leaf[LEAF_SIZE];
} map = {FA__MUTEX_INIT, 0, {{NULL, NULL}}};

/* Filled when the library is loaded, not at the first fa_create: the inline
 * fa_pool_free reads the map whatever allocator it is given, NULL included,
 * and may run before any allocator exists. */
__attribute__((constructor)) static void point_to_empty_leaf(void) {
    for (size_t i = 0; i < TOP_SIZE; i++)
        FA__STORE(&fa__slab_map[i], map.empty_leaf, RELEASE);
}

void fa__slabmap_acquire(void) {
    fa__mutex_lock(&map.lock);
    map.users++;
    fa__mutex_unlock(&map.lock);
}

void fa__slabmap_release(void) {
    fa__mutex_lock(&map.lock);
    if (--map.users == 0)
        for (size_t i = 0; i < TOP_SIZE; i++) {
            struct fa__slab_entry *leaf = fa__slab_map[i];
            if (leaf != map.empty_leaf)
                free(leaf);
            FA__STORE(&fa__slab_map[i], map.empty_leaf, RELEASE);
        }
    fa__mutex_unlock(&map.lock);
}

struct fa__slab_entry *fa__slabmap_add(uintptr_t base, size_t pieces, void *slab) {
    fa__assert((base & (((uintptr_t)1 << FA__SLAB_SHIFT) - 1)) == 0 && pieces != 0);
    uintptr_t top = base >> (FA__SLAB_SHIFT + FA__MAP_LEAF_BITS);
    if (top >= TOP_SIZE)
        return NULL; /* outside the 47-bit user space: the map cannot hold it */
    fa__mutex_lock(&map.lock);
    struct fa__slab_entry *leaf = fa__slab_map[top];
    if (leaf == map.empty_leaf) {
        leaf = (struct fa__slab_entry *)calloc(LEAF_SIZE, sizeof *leaf);
        if (leaf != NULL)
            FA__STORE(&fa__slab_map[top], leaf, RELEASE);
    }
    struct fa__slab_entry *e = leaf != NULL ? &leaf[(base >> FA__SLAB_SHIFT) & (LEAF_SIZE - 1)] : NULL;
    for (size_t i = 0; e != NULL && i < pieces; i++)
        FA__STORE(&e[i].slab, slab, RELEASE);
    fa__mutex_unlock(&map.lock);
    return e;
}

void fa__slabmap_remove(struct fa__slab_entry *e, size_t pieces) {
    for (size_t i = 0; i < pieces; i++) {
        FA__STORE(&e[i].rec, NULL, RELEASE);
        FA__STORE(&e[i].slab, NULL, RELEASE);
    }
}
