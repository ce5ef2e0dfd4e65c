/* SPDX-License-Identifier: MIT */
/* Chunks: the blocks of memory frame arenas bump through, taken from the
 * backend and kept in a cache shared by the allocator, so that steady-state
 * frames never call the backend. */
#ifndef FA_CHUNK_H
#define FA_CHUNK_H

#include "backend.h"

#include <stdatomic.h>

#include "framealloc.h"
#include "os.h"
#include "platform.h"
#include "track.h"

/* Sits at the start of every chunk; the usable bytes follow FA__CHUNK_HEADER. */
struct fa_chunk {
    struct fa_chunk *next; /* in an arena (newest first) or in the cache */
    size_t   size;         /* bytes taken from the source, header included */
    size_t   used;         /* bytes consumed, for a chunk no longer bumped */
    uint32_t seq;          /* when the arena took it within the frame: marks compare it */
    uint8_t  dedicated;    /* holds one request too large for a normal chunk */
    uint8_t  from_system;  /* a FALLBACK answer: the system served it */
    uint8_t  poisoned;     /* a debug level: every byte outside live frame blocks holds
                            * FA_FILL_RESET */
    uint64_t stamp;        /* in the cache: its clock when the chunk came in */
};

/* Keeps the usable bytes of every chunk cache-line aligned (chunks are
 * aligned to at least this, so their base is too). */
#define FA__CHUNK_HEADER ((size_t)64)
#define FA__CHUNK_BASE_ALIGN ((size_t)64)

static inline uintptr_t fa__chunk_base(const struct fa_chunk *c) {
    return (uintptr_t)c + FA__CHUNK_HEADER;
}
static inline uintptr_t fa__chunk_end(const struct fa_chunk *c) {
    return (uintptr_t)c + c->size;
}

/* A tracked library (track.h): no byte past the header may be read until a
 * frame allocation hands it out. */
static inline void fa__track_chunk_dead(const struct fa_chunk *c) {
    fa__track_noaccess((void *)fa__chunk_base(c), fa__chunk_end(c) - fa__chunk_base(c));
}

/* Non-zero when [p, p + size) lies in the used part of a chunk of list
 * (each one's `used` exact: chunks no arena bumps). */
static inline int fa__chunk_list_holds(const struct fa_chunk *list, uintptr_t p, size_t size) {
    for (const struct fa_chunk *c = list; c != NULL; c = c->next)
        if (fa__range_holds(fa__chunk_base(c), c->used, p, size))
            return 1;
    return 0;
}

/* Puts list, in its order, in front of *to. */
static inline void fa__chunk_list_join(struct fa_chunk **to, struct fa_chunk *list) {
    if (list == NULL)
        return;
    struct fa_chunk *last = list;
    while (last->next != NULL)
        last = last->next;
    last->next = *to;
    *to = list;
}

struct fa_chunk_cache {
    fa_backend backend;
    struct fa_meter *meter; /* the allocator's */
    size_t     first, max; /* the growth curve, header included */
    uint32_t   growth;
    size_t     align; /* of every chunk taken from the backend */
    size_t     held_limit; /* the most bytes kept between frames */
    uint64_t   frames;     /* ticks a chunk is kept untaken (cfg.chunk_cache_frames) */

    fa__mutex  lock; /* guards the held chunks; never held across a backend call */
    struct fa_chunk *held;
    size_t           held_bytes;
    _Atomic uint64_t clock; /* ticks: frame ends that reached the cache */
    _Atomic uint64_t due;   /* no held chunk expires before this tick (UINT64_MAX: none held) */
};

void fa__chunks_init(struct fa_chunk_cache *cache, const fa_config *cfg, struct fa_meter *meter);
/* Gives every cached chunk back to the backend. */
void fa__chunks_fini(struct fa_chunk_cache *cache);

/* Size of the index-th normal chunk of a frame. */
size_t fa__chunk_normal_size(const struct fa_chunk_cache *cache, uint32_t index);
/* The smallest cached chunk of size bytes up to (not including) twice that,
 * else a new one of exactly size bytes from the backend; NULL when the
 * backend refuses. */
struct fa_chunk *fa__chunk_take(struct fa_chunk_cache *cache, size_t size);
/* Puts a list of chunks in the cache; what is over the limit goes back to the
 * backend (outside the lock). */
void fa__chunk_give(struct fa_chunk_cache *cache, struct fa_chunk *list);
/* Puts a list in the cache with no backend call, even over the limit (for
 * callers that hold a lock); fa__chunk_excess takes the excess back out. */
void fa__chunk_stash(struct fa_chunk_cache *cache, struct fa_chunk *list);
/* Takes out the cached chunks beyond the limit, for the caller to free. */
struct fa_chunk *fa__chunk_excess(struct fa_chunk_cache *cache);
/* A frame end reached the cache: the clock moves on, and the chunks that
 * have been held untaken for cache->frames ticks go back to the backend
 * (outside the lock). Lock-free until one is due. */
void fa__chunk_tick(struct fa_chunk_cache *cache);
/* Gives every cached chunk back to the backend. */
/* Non-zero when held_bytes is the sum of the held chunks' sizes, every
 * held chunk is aligned as the cache asks, and none expires before `due`
 * (FA_ASSERT_LEVEL 3; lock held). */
int fa__chunk_cache_check(const struct fa_chunk_cache *cache);
void fa__chunk_trim(struct fa_chunk_cache *cache);
/* Bytes the cache holds now. */
size_t fa__chunk_cached_bytes(struct fa_chunk_cache *cache);
/* Gives a list straight back to the backend. */
void fa__chunk_free_list(const struct fa_chunk_cache *cache, struct fa_chunk *list);

#endif
