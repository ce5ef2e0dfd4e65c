/* SPDX-License-Identifier: MIT */
/* Observers: what watches a thread's allocations and frames beside the
 * counts and the history — the profiler hooks of the config, the trace
 * (through the instance's trace_frame), and the hot-site sampler. Every
 * call here is off the inline paths and off the usual frame. */
#ifndef FA_OBSERVE_H
#define FA_OBSERVE_H

#include "instance.h"

/* A thread's first frame: what watches its frames, and its sampler. */
void fa__observe_first(fa_alloc *a, struct fa_thread *th);
/* A frame watched by the frame hook or the trace (FA__OBSERVE_FRAMES)
 * begins, and ends with its figures settled. */
void fa__observe_frames_begin(struct fa_thread *th);
void fa__observe_frames_end(fa_alloc *a, struct fa_thread *th);

/* Hot sites (on: th->charge.sample_left is not 0): a frame allocation of
 * size bytes just bumped by th's slow path, before the settle. If the bytes since the last settle reached the
 * sample point (the inline path stops short of it), it is counted at the
 * caller's site (fa__call_site) and a new point drawn. */
void fa__observe_frame_sample(fa_alloc *a, struct fa_thread *th, size_t size);
/* Whether pool and heap blocks are watched (the sampler or the block
 * hooks): then pool allocations take the out-of-line path, and the slow
 * paths call the two below; else they skip them. */
static inline int fa__observe_blocks(const fa_alloc *a) {
    return a->cfg.site_sample_bytes != 0 || a->cfg.hooks.alloc != NULL || a->cfg.hooks.release != NULL;
}
/* A pool or heap block handed out by a slow path (th may be NULL): the
 * sampler's countdown, and the alloc hook. */
void fa__observe_block(fa_alloc *a, struct fa_thread *th, const void *p, size_t size);
/* A pool or heap block freed: the release hook. */
static inline void fa__observe_release(fa_alloc *a, fa_block_kind kind, const void *p) {
    if (a->cfg.hooks.release != NULL)
        a->cfg.hooks.release(a->cfg.hooks.user, kind, p);
}

/* A thread's frame metrics as its tally last published them. */
void fa__observe_thread_metrics(const struct fa_thread *th, fa_thread_metrics *m);
/* A departing thread's metrics kept in the ledger (called under the
 * registry lock, from the retire hook). */
void fa__observe_departed(fa_alloc *a, const struct fa_thread *th);

#endif
