/* The statistics API's one service to the files above it. */
#ifndef FA_STATS_H
#define FA_STATS_H

#include "attribution.h"

/* The live bytes of tag path `tag` and everything below it, as a snapshot
 * sees them now (the calling thread settled first); 0 without memory for
 * the snapshot. */
uint64_t fa__stats_live_under(fa_alloc *a, uint32_t tag);

#endif
