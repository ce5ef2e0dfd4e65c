/* SPDX-License-Identifier: MIT */
/* The heap table: large blocks straight from the backend, each recorded (size,
 * alignment, source) in the allocator's table, so that a free is validated
 * against the table before anything else happens. */
#ifndef FA_HEAP_TABLE_H
#define FA_HEAP_TABLE_H

#include "backend.h"

#include "framealloc.h"
#include "os.h"

enum { FA__HEAP_EMPTY, FA__HEAP_LIVE, FA__HEAP_FREED }; /* an entry's state */

struct fa_heap_entry {
    uintptr_t addr;
    size_t    size;
    size_t    align;
    uint8_t   state; /* FREED: a tombstone that catches a second free */
    uint8_t   from_system;
    uint16_t  tag;   /* the path it is charged to (FA_TAG_PATHS_MAX fits) */
    uint8_t   pooled; /* FA_DEBUG_MALLOC: a pool request's block, which fa_heap_free refuses */
};

struct fa_heap {
    fa_backend            backend;
    struct fa_meter *meter; /* the allocator's */
    fa__mutex       lock; /* the table only: never held across a backend call */
    struct fa_heap_entry *table;
    size_t                capacity; /* a power of two, or 0 */
    size_t                live, used; /* used: live + tombstones */
};

void fa__heap_init(struct fa_heap *h, const fa_config *cfg, struct fa_meter *meter);
/* Gives every live block back. */
void fa__heap_fini(struct fa_heap *h);

/* Non-zero when the live and used counts match the table and an empty
 * slot is left to end every probe (FA_ASSERT_LEVEL 3; lock held). */
int fa__heap_check(const struct fa_heap *h);

/* A block of size bytes aligned to align (a power of two, at least
 * alignof(max_align_t) is applied); NULL when the backend refuses or the
 * table cannot grow. */
void *fa__heap_take(struct fa_heap *h, size_t size, size_t align, uint32_t tag);
/* What the table says of address p: FA__HEAP_LIVE, FA__HEAP_FREED (a
 * tombstone) or FA__HEAP_EMPTY (not a block of the table); *size and
 * *align the block's (0 for none). */
int fa__heap_state(struct fa_heap *h, const void *p, size_t *size, size_t *align);
/* Marks live block p as a pool request's (FA_DEBUG_MALLOC), or asks
 * whether it is one. */
void fa__heap_mark_pooled(struct fa_heap *h, const void *p);
int fa__heap_pooled(struct fa_heap *h, const void *p);
/* FA_OK with the block's size and path, FA_ERR_DOUBLE_FREE for a block freed
 * before (while its tombstone is kept), FA_ERR_FOREIGN for anything else not
 * in the table. */
fa_error fa__heap_give(struct fa_heap *h, void *p, size_t *size, uint32_t *tag);

#endif
