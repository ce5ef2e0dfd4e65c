/* SPDX-License-Identifier: MIT */
/* Attribution: which tag path each allocation of a thread is charged to, the
 * budgets it counts against, and the thread's counts. The slow paths and
 * the frame and tag calls come here; the inline paths never do. Frame
 * memory is charged lazily: the bytes bumped since the last settle go to
 * the current path when the thread next settles (a tag change, a slow
 * path, a rewind, the frame end), and the budgets' headroom is folded into
 * the fast path's limit so that it cannot go past them in between. */
#ifndef FA_ATTRIBUTION_H
#define FA_ATTRIBUTION_H

#include "instance.h"

/* The path allocations are charged to now, for events (NULL at the root). */
const char *fa__attr_path(const fa_alloc *a, const struct fa_thread *th);
/* Picks up budgets changed since the thread last looked. */
void fa__attr_refresh(fa_alloc *a, struct fa_thread *th);

/* Tags. Before a push of `tag`: its pools, and room for its frame spans;
 * FA_ERR_NOMEM (nothing changed) without memory for them. Then the
 * thread's innermost path becomes `tag` (a push, or a pop back to it). */
fa_error fa__attr_prepare(struct fa_thread *th, uint32_t tag);
void fa__attr_switch(fa_alloc *a, struct fa_thread *th, uint32_t tag);

/* Frames. */
/* Opens the thread's frame: its spans, its arena and the fast path's
 * limit. FA_OK, or FA_ERR_NOMEM (nothing changed) when there is no memory
 * for the span records. */
fa_error fa__attr_begin(fa_alloc *a, struct fa_thread *th);
void fa__attr_end(fa_alloc *a, struct fa_thread *th);
/* Frames in flight: the frame ends (its figures, its history record) but
 * its bytes stay charged: its spans go to h. */
void fa__attr_end_held(fa_alloc *a, struct fa_thread *th, struct fa_held *h);
/* A frame in flight is released: its bytes go back to its paths' counts
 * and budgets. */
void fa__attr_release_held(fa_alloc *a, struct fa_thread *th, struct fa_held *h);
/* Before the arena serves a slow-path request that will consume `need`
 * bytes: FA_OK, or FA_ERR_BUDGET (reported) when a hard limit refuses. */
fa_error fa__attr_frame_take(fa_alloc *a, struct fa_thread *th, size_t need, size_t size, const char *fn);
/* After it served (or refused): counts, charges and sets the fast path's limit. */
void fa__attr_frame_settle(fa_alloc *a, struct fa_thread *th);
/* A rewind to a mark at `used` bytes and `allocs` allocations. */
void fa__attr_rewind(fa_alloc *a, struct fa_thread *th, size_t used, uint64_t allocs);

/* A thread's state goes (exit or destroy): a frame it had not ended is
 * released, so that its bytes go back to the budgets and counts. */
void fa__attr_retire(struct fa_thread *th);

/* Scratch arenas. A chunk of `bytes` for a request of `size`, charged to
 * the budgets over path `tag` (not the thread's current one): FA_OK, or
 * FA_ERR_BUDGET (reported for fn). A chunk given back: its bytes go back. */
fa_error fa__attr_scratch_take(fa_alloc *a, struct fa_thread *th, uint32_t tag, size_t bytes, size_t size,
                               const char *fn);
void fa__attr_scratch_give(fa_alloc *a, uint32_t tag, size_t bytes);
/* allocs allocations of `bytes` in all counted for path tag in th's tally,
 * as made (or, with freed, as released). */
void fa__attr_scratch_count(struct fa_thread *th, uint32_t tag, uint64_t allocs, size_t bytes, int freed);

/* Pool and heap blocks. */
/* Before a block of `bytes` is taken (the thread refreshed): FA_OK, or
 * FA_ERR_BUDGET (reported). */
fa_error fa__attr_block_admit(fa_alloc *a, struct fa_thread *th, size_t bytes, size_t size, const char *fn);
/* It was taken: its bytes charged to the budgets over the current path, and
 * (fa__attr_block_taken) counted for it. */
void fa__attr_budget(fa_alloc *a, struct fa_thread *th, size_t bytes);
void fa__attr_block_taken(fa_alloc *a, struct fa_thread *th, int kind, size_t bytes);
/* A refill of the current path's charged cache with blocks of `block`
 * bytes (the thread refreshed): how many blocks the budgets over the path
 * have room for (their headroom taken), 0 when they refuse one (reported
 * as FA_ERR_BUDGET, after this thread's charged caches gave theirs back).
 * The caller charges the blocks it took (fa__attr_budget). */
uint32_t fa__attr_pool_admit(fa_alloc *a, struct fa_thread *th, size_t block, size_t size, const char *fn);
/* Non-zero when the current path's cache is charged: a refill takes
 * headroom for its blocks (fa__attr_pool_admit) and charges them. */
int fa__attr_cache_charged(const struct fa_thread *th);
/* A freed block of path's went into the thread's cache for the path, and
 * `flushed` blocks left it for their slabs: the bytes that stopped being
 * charged go back to the budgets over the path. */
void fa__attr_cached(fa_alloc *a, struct fa_thread *th, uint32_t path, size_t block, uint32_t flushed);
/* fa_trim's part: the charged caches' blocks back to their slabs and their
 * bytes to the budgets. */
void fa__attr_pool_trim(fa_alloc *a, struct fa_thread *th);
/* A block of path `tag` was freed by thread th (NULL: one without state):
 * its bytes go back to the budgets over the path, and (fa__attr_block_freed)
 * the free is counted for it; a pool block (kind FA__KIND_POOL) is one
 * freed into a slab of another cache's: a remote free. */
void fa__attr_refund(fa_alloc *a, struct fa_thread *th, uint32_t tag, size_t bytes);
void fa__attr_block_freed(fa_alloc *a, struct fa_thread *th, int kind, uint32_t tag, size_t bytes);


#endif
