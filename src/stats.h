/* SPDX-License-Identifier: MIT */
/* The statistics API's one service to the files above it. */
#ifndef FA_STATS_H
#define FA_STATS_H

#include "attribution.h"

/* The live bytes charged to a path itself, every kind together. */
static inline uint64_t fa__tag_live_bytes(const fa_tag_stats *t) {
    return t->frame.live_bytes + t->pool.live_bytes + t->heap.live_bytes + t->scratch.live_bytes;
}

/* The live bytes of tag path `tag` and everything below it, as a snapshot
 * sees them now (the calling thread settled first); 0 without memory for
 * the snapshot. */
uint64_t fa__stats_live_under(fa_alloc *a, uint32_t tag);

/* fa_stats_get's snapshot, reporting for fn, and every tag path's figures
 * (those past FA_TAG_MAX too) in a new array into *all, out->tag_paths
 * long, for the caller to free. */
fa_error fa__stats_all(fa_alloc *a, fa_stats *out, fa_tag_stats **all, const char *fn);

/* The same, but it neither settles the calling thread nor reports (*all
 * may be NULL: not wanted): for a frame end in progress and for the trace
 * (which an event would re-enter). FA_ERR_STATE with statistics off,
 * FA_ERR_NOMEM without memory. */
fa_error fa__stats_peek(fa_alloc *a, fa_stats *out, fa_tag_stats **all);

#endif
