/* SPDX-License-Identifier: MIT */
/* The frame arena: one thread's chunked bump allocator for one allocator.
 * The bump position itself lives in the thread's fast-path entry
 * (struct fa__thread_tls), which the inline fast path reads and writes. */
#ifndef FA_ARENA_H
#define FA_ARENA_H

#include "chunk.h"
#include "platform.h"

struct fa_frame_arena {
    struct fa_chunk *chunks;   /* every chunk held, newest first */
    struct fa_chunk *bump;     /* the normal chunk being bumped, or NULL */
    uint32_t         next_seq; /* seq of the next chunk taken; never reused in a frame */
    uint32_t         normal;   /* normal chunks held: the index on the growth curve */
    size_t           closed;   /* bytes used in the chunks other than bump */
};

/* The fast path's limit, as the library writes and reads it. Under shared
 * frames another thread may lower it to 0 (framealloc.h, FA__LIMIT): what
 * the owner writes is then published with a full barrier (attribution's
 * clamp), and plain accesses elsewhere are word-sized moves that a store
 * of 0 cannot tear. ThreadSanitizer gets the relaxed atomics they stand
 * for, as the inline path's read does. */
#ifdef FA__TSAN
static inline void fa__limit_set(struct fa__thread_tls *t, uintptr_t limit) {
    FA__STORE(&t->limit, limit, RELAXED);
}
#else
static inline void fa__limit_set(struct fa__thread_tls *t, uintptr_t limit) {
    t->limit = limit;
}
#endif
static inline uintptr_t fa__limit(const struct fa__thread_tls *t) {
    return FA__LIMIT(t);
}

/* Slow path of a frame allocation (align a power of two, size and align
 * checked by the caller): a new chunk, normal or dedicated. NULL when the
 * source refuses; nothing changes then. */
void *fa__arena_alloc(struct fa_frame_arena *ar, struct fa__thread_tls *t, struct fa_chunk_cache *cache,
                      size_t size, size_t align);

/* The end of the chunk being bumped: the fast path's limit when nothing
 * else lowers it. */
static inline uintptr_t fa__arena_end_of_bump(const struct fa_frame_arena *ar) {
    return ar->bump != NULL ? fa__chunk_end(ar->bump) : 0;
}

/* Points the bump state at the chunk kept from the last frame (if any). */
static inline void fa__arena_begin(struct fa_frame_arena *ar, struct fa__thread_tls *t) {
    t->cur = ar->bump != NULL ? fa__chunk_base(ar->bump) : 0;
    fa__limit_set(t, fa__arena_end_of_bump(ar));
}
void fa__arena_end_chunks(struct fa_frame_arena *ar, struct fa__thread_tls *t, struct fa_chunk_cache *cache);
/* The end of the usual small frame, one chunk kept as it is: done, and
 * non-zero; 0 (nothing done) for any other, which fa__arena_end_chunks
 * ends. Either leaves the bump state failing every fast-path check. */
static inline int fa__arena_end_kept(struct fa_frame_arena *ar, struct fa__thread_tls *t) {
    if (ar->chunks == ar->bump && (ar->bump == NULL || ar->bump->next == NULL)) {
        t->cur = 0;
        fa__limit_set(t, 0);
        ar->closed = 0;
        if (FA__TRACKED && ar->bump != NULL)
            fa__track_chunk_dead(ar->bump);
        return 1;
    }
    return 0;
}
/* Keeps the oldest normal chunk and gives the rest (at least one: a
 * dedicated chunk, or more than one) to the source's cache. */
static inline void fa__arena_end(struct fa_frame_arena *ar, struct fa__thread_tls *t, struct fa_chunk_cache *cache) {
    if (!fa__arena_end_kept(ar, t))
        fa__arena_end_chunks(ar, t, cache);
}
/* Detaches every chunk (for the caller to give back, or to keep in flight:
 * each one's `used` exact) and zeroes the state. */
struct fa_chunk *fa__arena_take_all(struct fa_frame_arena *ar, struct fa__thread_tls *t);

/* Takes chunks of frames released (an empty arena, outside a frame): keeps
 * the oldest normal one to bump next, gives the rest to the cache. */
void fa__arena_adopt(struct fa_frame_arena *ar, struct fa__thread_tls *t, struct fa_chunk_cache *cache,
                     struct fa_chunk *chunks);
/* Non-zero when [p, p + size) lies in the used part of one of its chunks. */
int fa__arena_holds(const struct fa_frame_arena *ar, const struct fa__thread_tls *t, uintptr_t p, size_t size);

/* Bytes of the chunk a slow-path request would take: 0 when it fits the
 * chunk being bumped. */
size_t fa__arena_chunk_bytes(const struct fa_frame_arena *ar, const struct fa__thread_tls *t,
                             const struct fa_chunk_cache *cache, size_t size, size_t align);
/* Bytes a request will consume: exact when it fits the chunk being bumped,
 * else the most a new chunk can add. */
size_t fa__arena_need(const struct fa_frame_arena *ar, const struct fa__thread_tls *t, size_t size, size_t align);

/* Bytes consumed in the frame so far, alignment padding included (a
 * tracked library's red zones, one per allocation, left out). */
static inline size_t fa__arena_used(const struct fa_frame_arena *ar, const struct fa__thread_tls *t) {
    size_t used = ar->closed + (ar->bump != NULL ? t->cur - fa__chunk_base(ar->bump) : 0);
    size_t red = FA__REDZONE * t->allocs; /* 0 but in a tracked build */
    return used > red ? used - red : 0;   /* 0: FA_DEBUG_MALLOC's frame blocks are not the arena's */
}
/* Non-zero when the arena's records agree with its chunk list (seqs
 * falling from next_seq, the growth index, the closed bytes, the bump chunk
 * held and normal, the bump position inside it): FA_ASSERT_LEVEL 3 checks it
 * after every slow-path change. */
int fa__arena_check(const struct fa_frame_arena *ar, const struct fa__thread_tls *t);
/* The arena's chunk holding address p, or NULL. */
struct fa_chunk *fa__arena_chunk_of(const struct fa_frame_arena *ar, uintptr_t p);
/* Chunks held and their size. */
static inline void fa__arena_holdings(const struct fa_frame_arena *ar, size_t *chunks, size_t *bytes) {
    *chunks = 0;
    *bytes = 0;
    for (const struct fa_chunk *c = ar->chunks; c != NULL; c = c->next) {
        ++*chunks;
        *bytes += c->size;
    }
}

/* Marks: a position is (bump chunk, its seq, the next seq, cur). */
struct fa_arena_pos {
    const struct fa_chunk *chunk;
    uint32_t               seq, top;
    uintptr_t              cur;
};
struct fa_arena_pos fa__arena_mark(const struct fa_frame_arena *ar, const struct fa__thread_tls *t);
/* A public mark of an arena bumped through t: its position, its owner (a
 * thread's state, a scratch arena) and that owner's generation (a frame,
 * a reset count), and the bytes used and allocations made before it. */
static inline fa_mark fa__arena_mark_of(const struct fa_frame_arena *ar, const struct fa__thread_tls *t,
                                        const void *owner, uint64_t generation, size_t used) {
    struct fa_arena_pos pos = fa__arena_mark(ar, t);
    fa_mark m = {owner, generation, pos.chunk, pos.cur, pos.seq, pos.top, used, t->allocs};
    return m;
}
/* The position a public mark holds. */
static inline struct fa_arena_pos fa__arena_pos_of(fa_mark m) {
    struct fa_arena_pos pos = {(const struct fa_chunk *)m.fa__chunk, m.fa__seq, m.fa__top, m.fa__pos};
    return pos;
}
/* Non-zero when pos is at or before the current position of this frame. */
int fa__arena_can_rewind(const struct fa_frame_arena *ar, const struct fa__thread_tls *t,
                         struct fa_arena_pos pos);
/* Releases what was allocated after pos (which fa__arena_can_rewind accepted). */
void fa__arena_rewind(struct fa_frame_arena *ar, struct fa__thread_tls *t, struct fa_chunk_cache *cache,
                      struct fa_arena_pos pos);

#endif
