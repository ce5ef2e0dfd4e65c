/* SPDX-License-Identifier: MIT */
/* The frame arena: one thread's chunked bump allocation for one allocator,
 * with marks and rewinds. The bump position itself (cur, limit) is in the
 * thread's fast-path entry, which the inline fast path reads and writes.
 * Floor: structures (docs/internals.md). It stands on chunk.c and calls
 * nothing above it: no thread, instance, attribution or API file.
 * Invariants (fa__arena_check tests these four at level 3):
 * - Chunk seqs fall down the list (newest first), all below next_seq.
 * - `normal` counts the normal chunks held: the index on the growth curve.
 *   A dedicated chunk neither advances it nor becomes the bump chunk.
 * - `closed` is the used bytes of every chunk but the bump one. The bump
 *   chunk's own `used` is stale while it is bumped: t->cur is the truth.
 * - The bump chunk is held and normal; while limit is set (in a frame), cur
 *   lies inside it.
 * And by construction: the bump chunk is the newest normal one; a seq is
 * never reused within a frame, so a stale mark cannot name a chunk that
 * went back to the cache and came out again; outside a frame limit is 0,
 * and the frame end keeps the oldest normal chunk only, as seq 0. */
#include "arena.h"

#include "invariant.h"
#include "platform.h"

/* Chunk bases are FA__CHUNK_BASE_ALIGN-aligned, so only larger alignments pad. */
static size_t padding_bound(size_t align) {
    return align > FA__CHUNK_BASE_ALIGN ? align - FA__CHUNK_BASE_ALIGN : 0;
}

static void hold(struct fa_frame_arena *ar, struct fa_chunk *c, uint8_t dedicated) {
    c->dedicated = dedicated;
    c->seq = ar->next_seq++;
    c->next = ar->chunks;
    ar->chunks = c;
}

static void *alloc_dedicated(struct fa_frame_arena *ar, struct fa_chunk_cache *cache, size_t size,
                             size_t align, size_t need) {
    struct fa_chunk *c = fa__chunk_take(cache, fa__align_up(need + FA__CHUNK_HEADER, FA__CHUNK_BASE_ALIGN));
    if (c == NULL)
        return NULL;
    hold(ar, c, 1);
    uintptr_t p = fa__align_up(fa__chunk_base(c), align);
    c->used = p + size - fa__chunk_base(c);
    ar->closed += c->used;
    return (void *)p;
}

/* Where the request goes in the chunk being bumped; 0 if it does not fit. */
static uintptr_t fit(const struct fa_frame_arena *ar, const struct fa__thread_tls *t, size_t size, size_t align) {
    if (ar->bump == NULL)
        return 0;
    uintptr_t p = fa__align_up(t->cur, align), end = fa__chunk_end(ar->bump);
    return p <= end && size <= end - p ? p : 0;
}

size_t fa__arena_need(const struct fa_frame_arena *ar, const struct fa__thread_tls *t, size_t size, size_t align) {
    uintptr_t p = fit(ar, t, size, align);
    return p != 0 ? p + size - t->cur : size + padding_bound(align);
}

size_t fa__arena_chunk_bytes(const struct fa_frame_arena *ar, const struct fa__thread_tls *t,
                             const struct fa_chunk_cache *cache, size_t size, size_t align) {
    if (fit(ar, t, size, align) != 0)
        return 0;
    size_t need = size + padding_bound(align);
    size_t normal = fa__chunk_normal_size(cache, ar->normal);
    return need > normal - FA__CHUNK_HEADER ? fa__align_up(need + FA__CHUNK_HEADER, FA__CHUNK_BASE_ALIGN) : normal;
}

static void *alloc_slow(struct fa_frame_arena *ar, struct fa__thread_tls *t, struct fa_chunk_cache *cache,
                        size_t size, size_t align) {
    uintptr_t at = fit(ar, t, size, align); /* the fast path's guard or a budget may send one here */
    if (at != 0) {
        t->cur = at + size;
        return (void *)at;
    }
    size_t need = size + padding_bound(align);
    size_t normal = fa__chunk_normal_size(cache, ar->normal);
    if (need > normal - FA__CHUNK_HEADER) /* too large: its own chunk, the curve unchanged */
        return alloc_dedicated(ar, cache, size, align, need);

    struct fa_chunk *c = fa__chunk_take(cache, normal);
    if (c == NULL)
        return NULL;
    if (ar->bump != NULL) {
        ar->bump->used = t->cur - fa__chunk_base(ar->bump);
        ar->closed += ar->bump->used;
    }
    hold(ar, c, 0);
    ar->bump = c;
    ar->normal++;
    uintptr_t p = fa__align_up(fa__chunk_base(c), align);
    t->cur = p + size;
    fa__limit_set(t, fa__chunk_end(c));
    return (void *)p;
}

void *fa__arena_alloc(struct fa_frame_arena *ar, struct fa__thread_tls *t, struct fa_chunk_cache *cache,
                      size_t size, size_t align) {
    fa__assert((align & (align - 1)) == 0 && align != 0);
    void *p = alloc_slow(ar, t, cache, size, align);
    fa__assert_expensive(fa__arena_check(ar, t));
    return p;
}

struct fa_chunk *fa__arena_chunk_of(const struct fa_frame_arena *ar, uintptr_t p) {
    for (struct fa_chunk *c = ar->chunks; c != NULL; c = c->next)
        if (p >= fa__chunk_base(c) && p < fa__chunk_end(c))
            return c;
    return NULL;
}

/* ---- the validator ------------------------------------------------------- */

int fa__arena_check(const struct fa_frame_arena *ar, const struct fa__thread_tls *t) {
    uint32_t normal = 0, seq = ar->next_seq;
    size_t closed = 0;
    int bump_held = ar->bump == NULL;
    for (const struct fa_chunk *c = ar->chunks; c != NULL; c = c->next) {
        if (c->seq >= seq) /* newest first: seqs fall, all below next_seq */
            return 0;
        seq = c->seq;
        normal += !c->dedicated;
        closed += c != ar->bump ? c->used : 0;
        bump_held |= c == ar->bump;
    }
    if (normal != ar->normal || closed != ar->closed || !bump_held || (ar->bump != NULL && ar->bump->dedicated))
        return 0;
    return fa__limit(t) == 0 || ar->bump == NULL ||
           (t->cur >= fa__chunk_base(ar->bump) && t->cur <= fa__chunk_end(ar->bump)); /* in a frame */
}

/* ---- releasing chunks ---------------------------------------------------- */

/* Unlinks every chunk taken at or after seq `from` into a list. */
static struct fa_chunk *unlink_from(struct fa_frame_arena *ar, uint32_t from) {
    struct fa_chunk *released = NULL;
    struct fa_chunk **at = &ar->chunks;
    while (*at != NULL) {
        struct fa_chunk *c = *at;
        if (c->seq >= from) {
            *at = c->next;
            c->next = released;
            released = c;
        } else {
            at = &c->next;
        }
    }
    return released;
}

/* After a rewind: the growth index and the closed bytes, from the list. */
static void recount(struct fa_frame_arena *ar) {
    ar->normal = 0;
    ar->closed = 0;
    for (const struct fa_chunk *c = ar->chunks; c != NULL; c = c->next) {
        ar->normal += !c->dedicated;
        ar->closed += c != ar->bump ? c->used : 0;
    }
}

void fa__arena_end_chunks(struct fa_frame_arena *ar, struct fa__thread_tls *t, struct fa_chunk_cache *cache) {
    t->cur = 0;
    fa__limit_set(t, 0);
    struct fa_chunk *keep = NULL;
    for (struct fa_chunk *c = ar->chunks; c != NULL; c = c->next)
        if (!c->dedicated)
            keep = c; /* newest first, so the last normal one is the oldest */
    struct fa_chunk *released = NULL;
    for (struct fa_chunk *c = ar->chunks, *next; c != NULL; c = next) {
        next = c->next;
        if (c != keep) {
            c->next = released;
            released = c;
        }
    }
    if (keep != NULL) {
        keep->next = NULL;
        keep->seq = 0;
        if (FA__TRACKED)
            fa__track_chunk_dead(keep);
    }
    ar->chunks = keep;
    ar->bump = keep;
    ar->next_seq = keep != NULL;
    ar->normal = keep != NULL;
    ar->closed = 0;
    if (released != NULL)
        fa__chunk_give(cache, released);
    fa__assert_expensive(fa__arena_check(ar, t));
}

struct fa_chunk *fa__arena_take_all(struct fa_frame_arena *ar, struct fa__thread_tls *t) {
    struct fa_chunk *all = ar->chunks;
    if (ar->bump != NULL)
        ar->bump->used = t->cur - fa__chunk_base(ar->bump);
    ar->chunks = NULL;
    ar->bump = NULL;
    ar->next_seq = 0;
    ar->normal = 0;
    ar->closed = 0;
    t->cur = 0;
    fa__limit_set(t, 0);
    return all;
}

void fa__arena_adopt(struct fa_frame_arena *ar, struct fa__thread_tls *t, struct fa_chunk_cache *cache,
                     struct fa_chunk *chunks) {
    fa__assert(ar->chunks == NULL && fa__limit(t) == 0);
    ar->chunks = chunks;
    fa__arena_end_chunks(ar, t, cache);
}

int fa__arena_holds(const struct fa_frame_arena *ar, const struct fa__thread_tls *t, uintptr_t p, size_t size) {
    for (const struct fa_chunk *c = ar->chunks; c != NULL; c = c->next)
        if (fa__range_holds(fa__chunk_base(c), c == ar->bump ? t->cur - fa__chunk_base(c) : c->used, p, size))
            return 1;
    return 0;
}

/* ---- marks --------------------------------------------------------------- */

struct fa_arena_pos fa__arena_mark(const struct fa_frame_arena *ar, const struct fa__thread_tls *t) {
    struct fa_arena_pos pos = {ar->bump, ar->bump != NULL ? ar->bump->seq : 0, ar->next_seq,
                               ar->bump != NULL ? t->cur : 0};
    return pos;
}

int fa__arena_can_rewind(const struct fa_frame_arena *ar, const struct fa__thread_tls *t,
                         struct fa_arena_pos pos) {
    if (pos.top > ar->next_seq)
        return 0;
    if (pos.chunk == NULL) /* marked before the frame's first normal chunk */
        return 1;
    const struct fa_chunk *c = ar->chunks;
    while (c != NULL && c != pos.chunk)
        c = c->next;
    if (c == NULL || c->seq != pos.seq || c->dedicated || pos.seq >= pos.top ||
        pos.cur < fa__chunk_base(c) || pos.cur > fa__chunk_end(c))
        return 0;
    return c != ar->bump || pos.cur <= t->cur; /* an older chunk is behind the bump one */
}

void fa__arena_rewind(struct fa_frame_arena *ar, struct fa__thread_tls *t, struct fa_chunk_cache *cache,
                      struct fa_arena_pos pos) {
    struct fa_chunk *released = unlink_from(ar, pos.top);
    ar->bump = (struct fa_chunk *)pos.chunk;
    t->cur = pos.cur;
    fa__limit_set(t, fa__arena_end_of_bump(ar));
    if (FA__TRACKED && ar->bump != NULL) /* what the rewind released */
        fa__track_noaccess((void *)t->cur, fa__chunk_end(ar->bump) - t->cur);
    recount(ar);
    if (released != NULL)
        fa__chunk_give(cache, released);
    fa__assert_expensive(fa__arena_check(ar, t));
}
