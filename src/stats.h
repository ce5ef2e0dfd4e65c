/* SPDX-License-Identifier: MIT */
/* The statistics API's one service to the files above it. */
#ifndef FA_STATS_H
#define FA_STATS_H

#include "attribution.h"

/* The live bytes of tag path `tag` and everything below it, as a snapshot
 * sees them now (the calling thread settled first); 0 without memory for
 * the snapshot. */
uint64_t fa__stats_live_under(fa_alloc *a, uint32_t tag);

/* A snapshot that neither settles the calling thread nor reports: for a
 * frame end in progress and for the trace (which an event would re-enter).
 * FA_ERR_STATE with statistics off, FA_ERR_NOMEM without memory. */
fa_error fa__stats_peek(fa_alloc *a, fa_stats *out);

#endif
