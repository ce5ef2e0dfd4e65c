/* SPDX-License-Identifier: MIT */
/* Observers (observe.h): the frame and block hooks, the trace's frame
 * slices and the hot-site sampler.
 * Floor: attribution (docs/internals.md), beside attribution.c, which calls
 * it at frame begin and end; the API files call the block parts. The trace
 * (API floor) is reached only through the instance's trace_frame pointer.
 * Invariants: a sample point is never 0 bytes away while sites are on (0
 * means off); the frame path's limit never passes it (attribution.c
 * limit_of), so the allocation that reaches it comes here. Hooks run with
 * no library lock held. */
#include "observe.h"

#include <string.h>

#include "arena.h"
#include "slab.h"

/* The thread's sampler, at its first frame or first pool or heap block,
 * whichever comes first: its first point one mean away. */
static void sampler_start(fa_alloc *a, struct fa_charge *c, const struct fa_thread *th) {
    if (c->sample_seed != 0)
        return;
    c->sample_seed = ((uint64_t)th->number << 32 ^ (uint64_t)(uintptr_t)th) | 1; /* xorshift: never 0 */
    c->sample_left = a->cfg.site_sample_bytes;
}

void fa__observe_first(fa_alloc *a, struct fa_thread *th) {
    struct fa_charge *c = &th->charge;
    uint32_t bits = th->is_creator && a->ledger->history.ring != NULL ? FA__OBSERVE_HISTORY : 0;
    if (atomic_load(&a->observing) != 0)
        bits |= FA__OBSERVE_FRAMES;
    if (a->cfg.site_sample_bytes != 0) {
        bits |= FA__OBSERVE_SAMPLES;
        sampler_start(a, c, th);
    }
    atomic_fetch_or(&c->observes, bits); /* a trace starting meanwhile may set FRAMES too */
}

void fa__observe_frames_begin(struct fa_thread *th) {
    th->charge.began_ns = fa__now_ns();
}

void fa__observe_frames_end(fa_alloc *a, struct fa_thread *th) {
    const struct fa_charge *c = &th->charge;
    fa_frame_event f = {th->frames, th->number,       th->is_creator, c->began_ns,
                        fa__now_ns(), c->settled_allocs, c->settled_used, c->frame_high};
    if (a->cfg.hooks.frame != NULL)
        a->cfg.hooks.frame(a->cfg.hooks.user, &f);
    if (atomic_load_explicit(&a->observing, memory_order_acquire) & FA__OBSERVER_TRACE)
        a->trace_frame(a, &f, c->frame_tag_bytes);
}

/* ---- hot sites ------------------------------------------------------------ */

/* The distance to the next sample point: uniform over [mean/2, 3*mean/2),
 * so that a program allocating with a period of its own does not alias
 * with the sampler (mean 1: every byte, so every allocation). */
static size_t next_point(struct fa_charge *c, size_t mean) {
    if (mean <= 1)
        return 1;
    uint64_t x = c->sample_seed; /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c->sample_seed = x;
    return mean / 2 + (size_t)(x % mean);
}

/* One sample of size bytes at the caller's site, standing for at least the
 * mean's worth of bytes. */
static void sample(fa_alloc *a, struct fa_charge *c, size_t size) {
    size_t mean = a->cfg.site_sample_bytes;
    fa__site_count(&a->ledger->sites, fa__call_site, size, size > mean ? size : mean,
                   a->cfg.debug == FA_DEBUG_TRACE);
    c->sample_left = next_point(c, mean);
}

void fa__observe_frame_sample(fa_alloc *a, struct fa_thread *th, size_t size) {
    struct fa_charge *c = &th->charge;
    size_t bytes_since = fa__arena_used(&th->arena, th->tls) - c->settled_used;
    if (bytes_since < c->sample_left)
        return;
    sample(a, c, size);
    c->sample_left += bytes_since; /* the settle that follows takes bytes_since off */
}

void fa__observe_block(fa_alloc *a, struct fa_thread *th, const void *p, size_t size) {
    if (th != NULL && a->cfg.site_sample_bytes != 0) {
        struct fa_charge *c = &th->charge;
        sampler_start(a, c, th);
        if (size >= c->sample_left)
            sample(a, c, size);
        else
            c->sample_left -= size;
    }
    if (a->cfg.hooks.alloc != NULL)
        a->cfg.hooks.alloc(a->cfg.hooks.user, fa__slab_at(p) != NULL ? FA_BLOCK_POOL : FA_BLOCK_HEAP, p, size);
}

/* ---- thread metrics -------------------------------------------------------- */

void fa__observe_thread_metrics(const struct fa_thread *th, fa_thread_metrics *m) {
    const struct fa_tally *t = &th->tally;
    memset(m, 0, sizeof *m);
    m->thread = th->number;
    m->is_creator = th->is_creator != 0;
    m->alive = 1;
    m->frames = atomic_load_explicit(&t->frames, memory_order_relaxed);
    for (uint32_t i = 0; i < t->paths; i++) {
        m->allocations += atomic_load_explicit(&t->path[i].kind[FA__KIND_FRAME].allocs, memory_order_relaxed);
        m->bytes += atomic_load_explicit(&t->path[i].kind[FA__KIND_FRAME].bytes, memory_order_relaxed);
    }
    m->avg_allocations = m->frames != 0 ? (double)m->allocations / (double)m->frames : 0.0;
    m->avg_bytes = m->frames != 0 ? (double)m->bytes / (double)m->frames : 0.0;
    m->peak_frame_bytes = atomic_load_explicit(&t->frame_peak, memory_order_relaxed);
}

void fa__observe_departed(fa_alloc *a, const struct fa_thread *th) {
    struct fa_ledger *l = a->ledger;
    fa_thread_metrics m;
    fa__observe_thread_metrics(th, &m);
    m.alive = 0;
    l->departed.ring[l->departed.count++ % FA_DEPARTED_MAX] = m;
}
