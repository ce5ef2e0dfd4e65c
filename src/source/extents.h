/* SPDX-License-Identifier: MIT */
/* Free extents of one address range, kept in address order and coalesced:
 * the bookkeeping of the sources that carve a range (mmap, fixed). Kept out
 * of the range, since an mmap source's free memory is not even mapped. Not
 * thread-safe: the source holds its lock. */
#ifndef FA_EXTENTS_H
#define FA_EXTENTS_H

#include <stddef.h>
#include <stdint.h>

struct fa_extent {
    uintptr_t start;
    size_t    size;
};

struct fa_extents {
    struct fa_extent *free; /* address order, never touching */
    size_t            count, capacity;
};

/* 0 when out of memory for the bookkeeping. */
int fa__extents_init(struct fa_extents *x, uintptr_t start, size_t size);
void fa__extents_fini(struct fa_extents *x);
/* The lowest start aligned to align with size bytes free, taken; 0 if none
 * (or no memory for the bookkeeping). */
uintptr_t fa__extents_take(struct fa_extents *x, size_t size, size_t align);
/* Non-zero when the extents are in address order, never touching (so
 * coalesced), none empty (FA_ASSERT_LEVEL 3 checks it after each change). */
int fa__extents_check(const struct fa_extents *x);
/* Gives a taken range back. */
void fa__extents_give(struct fa_extents *x, uintptr_t start, size_t size);

#endif
