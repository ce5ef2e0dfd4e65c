/* SPDX-License-Identifier: MIT */
/* The frame API: fa_begin_frame and fa_end_frame, marks and rewinds, frame
 * info, and the out-of-line parts of frame allocation (the slow path and
 * the helpers built on fa_frame_alloc).
 * Floor: API (docs/internals.md). It calls no other API file; below it,
 * attribution charges what the arena (structures) hands out.
 * Invariants:
 * - th->in_frame is set from fa_begin_frame to fa_end_frame only. Outside
 *   a frame the fast path's limit is 0, so every inline allocation comes
 *   to the slow path, which reports FA_ERR_STATE.
 * - The slow path asks attribution before the arena (a budget may refuse,
 *   and then nothing is taken) and settles after it.
 * - A rewind is checked whole before anything changes. Attribution rewinds
 *   before the arena does: it settles from the arena's position first. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "frame.h"

#include "attribution.h"
#include "debug.h"
#include "invariant.h"
#include "observe.h"
#include "platform.h"
#include "scratch.h"

/* Opens th's next frame: its spans, arena and limit (the caller numbers
 * it). FA_OK, or FA_ERR_NOMEM with nothing changed. */
static fa_error open_frame(fa_alloc *a, struct fa_thread *th) {
    if (fa__attr_begin(a, th) != FA_OK)
        return FA_ERR_NOMEM;
    th->tls->allocs = 0;
    fa__thread_pool_collect(th); /* blocks other threads freed since the last frame */
    return FA_OK;
}

static fa_error sync_shared(fa_alloc *a, struct fa_thread *th);

/* FA_FRAMES_SHARED: the creating thread opens the instance's next frame
 * (and its own part of it, so that the history records every frame). */
static fa_error begin_shared(fa_alloc *a, struct fa_thread *th) {
    if (!th->is_creator)
        return fa__report(&a->sink, FA_ERR_STATE, 0,
                          "fa_begin_frame: frames are shared (FA_FRAMES_SHARED): only the creating thread "
                          "begins them");
    sync_shared(a, th); /* its last frame, should a barrier have ended it */
    uint64_t clock = atomic_load_explicit(&a->clock, memory_order_seq_cst);
    if (clock & 1)
        return fa__report(&a->sink, FA_ERR_STATE, 0, "fa_begin_frame: already in a frame (frames do not nest)");
    uint64_t frame = (clock >> 1) + 1;
    atomic_store_explicit(&a->clock, frame << 1 | 1, memory_order_seq_cst);
    if (open_frame(a, th) != FA_OK) {
        atomic_store_explicit(&a->clock, clock, memory_order_seq_cst);
        return fa__report(&a->sink, FA_ERR_NOMEM, 0, "fa_begin_frame: no memory for this thread's tag spans");
    }
    th->frames = frame;
    th->in_frame = FA__IN_OTHER_FRAME;
    fa__attr_frame_settle(a, th); /* its limit published against a barrier's end */
    atomic_fetch_add_explicit(&a->frames_begun, 1, memory_order_relaxed);
    return FA_OK;
}

/* A thread's own frame (per-thread frames). */
static inline fa_error begin_own(fa_alloc *a, struct fa_thread *th) {
    if (th->in_frame)
        return fa__report(&a->sink, FA_ERR_STATE, 0,
                          "fa_begin_frame: already in a frame (frames do not nest; use fa_frame_mark)");
    if (open_frame(a, th) != FA_OK)
        return fa__report(&a->sink, FA_ERR_NOMEM, 0, "fa_begin_frame: no memory for this thread's tag spans");
    th->frames++;
    if (th->is_creator)
        atomic_fetch_add_explicit(&a->frames_begun, 1, memory_order_relaxed);
    return FA_OK;
}

/* A frame whose end is not the plain one from the start. */
static FA__COLD fa_error begin_other(fa_alloc *a, struct fa_thread *th) {
    if (fa__shared(a))
        return begin_shared(a, th);
    fa_error e = begin_own(a, th);
    if (e == FA_OK)
        th->in_frame = FA__IN_OTHER_FRAME;
    return e;
}

fa_error fa_begin_frame(fa_alloc *a) {
    if (a == NULL)
        return fa__null_alloc("fa_begin_frame");
    struct fa_thread *th = fa__thread_attach(&a->threads);
    if (th == NULL)
        return fa__report(&a->sink, FA_ERR_NOMEM, 0, "fa_begin_frame: no memory for this thread's state");
    if (th->opens != FA__IN_FRAME) /* shared frames, frames kept in flight, or aging the cache */
        return begin_other(a, th);
    return begin_own(a, th);
}

/* th if it is in a frame; reports FA_ERR_STATE for fn if not. Under
 * shared frames th first catches up with the instance's frame. */
static struct fa_thread *frame_of(fa_alloc *a, struct fa_thread *th, const char *fn, size_t size) {
    if (th != NULL && fa__shared(a))
        sync_shared(a, th);
    if (th != NULL && th->in_frame)
        return th;
    if (fa__shared(a))
        fa__report(&a->sink, FA_ERR_STATE, size, "%s: no shared frame is open (the creating thread calls "
                   "fa_begin_frame)", fn);
    else
        fa__report(&a->sink, FA_ERR_STATE, size, "%s: not in a frame on this thread (call fa_begin_frame)", fn);
    return NULL;
}

/* The calling thread's state if it is in a frame; reports FA_ERR_STATE if
 * not. Under shared frames a thread's first frame call makes its state. */
static struct fa_thread *in_frame(fa_alloc *a, const char *fn, size_t size) {
    struct fa_thread *th = fa__shared(a) ? fa__attach(a, size, fn) : fa__thread_find(&a->threads);
    if (th == NULL && fa__shared(a))
        return NULL; /* reported */
    return frame_of(a, th, fn, size);
}

/* FA_DEBUG_MALLOC's frame block: a block of its own from the memory
 * source, so that any memory tool sees it (not in the heap table: a free
 * of it is refused as of any frame memory), given back at the frame's end
 * or a rewind over it. */
static void *take_passed(fa_alloc *a, struct fa_thread *th, const char *fn, size_t size, size_t align) {
    struct fa_passed_set *s = &th->passed;
    if (s->count == s->room) {
        void *items = s->item;
        if (!fa__grow(&items, &s->room, sizeof *s->item)) {
            fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: no memory to keep a frame block", fn);
            return NULL;
        }
        s->item = (struct fa_passed *)items;
    }
    struct fa_passed b = {NULL, size != 0 ? size : 1, align > 16 ? align : 16, th->tls->allocs, 0};
    b.block = fa__backend_take(&a->chunks.backend, a->chunks.meter, b.size, b.align, &b.from_system);
    if (b.block == NULL) {
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: the memory source refused %zu bytes", fn, size);
        return NULL;
    }
    s->item[s->count++] = b;
    th->tls->allocs++;
    th->in_frame = FA__IN_OTHER_FRAME; /* its end gives the blocks back */
    return b.block;
}

/* Gives back a set's passed-through blocks from the seq-th allocation on. */
static void give_passed(fa_alloc *a, struct fa_passed_set *s, uint64_t seq) {
    while (s->count != 0 && s->item[s->count - 1].seq >= seq) {
        const struct fa_passed *b = &s->item[--s->count];
        fa__backend_give(&a->chunks.backend, a->chunks.meter, b->block, b->size, b->align, b->from_system);
    }
}

/* A frame end that gave chunks to the cache: the thread's next
 * chunk_cache_frames frame ends take the other end, which ticks the
 * cache's clock, so that chunks nobody takes again go back (the usual end
 * pays nothing for it). */
static FA__COLD void end_chunks(fa_alloc *a, struct fa_thread *th) {
    fa__arena_end_chunks(&th->arena, th->tls, &a->chunks);
    th->aging = a->cfg.chunk_cache_frames;
    th->opens = FA__IN_OTHER_FRAME;
}

static inline void end_frame(fa_alloc *a, struct fa_thread *th) {
    fa__attr_end(a, th);
    th->last_allocs = th->tls->allocs;
    th->last_bytes = fa__arena_used(&th->arena, th->tls);
    if (!fa__arena_end_kept(&th->arena, th->tls))
        end_chunks(a, th);
    fa__assert(fa__limit(th->tls) == 0); /* outside a frame every inline allocation comes to the slow path */
    th->in_frame = 0;
}

/* ---- the end of a frame that is not plain -------------------------------- */

/* Releases th's frame now: a debug level's blocks checked and reset (or
 * given back), then the arena's chunks. A debug level's next frame starts
 * with no bump chunk (its limit 0: the begin needs no test of the level,
 * and an empty frame ends as any other). */
static fa_error release_frame(fa_alloc *a, struct fa_thread *th) {
    fa_error e = fa__debug_frame_release(a, &th->guarded, 0, "fa_end_frame");
    give_passed(a, &th->passed, 0);
    end_frame(a, th);
    if (fa__debug_on(a))
        fa__chunk_give(&a->chunks, fa__arena_take_all(&th->arena, th->tls));
    atomic_store_explicit(&th->released, th->frames, memory_order_release); /* transfers of it die */
    return e;
}

/* Keeps th's frame in flight: its chunks, its charges and a debug level's
 * records go to the next held slot (whose empty ones th takes). */
static void hold_frame(fa_alloc *a, struct fa_thread *th) {
    fa__assert(th->held_count + 1 < a->cfg.frames_in_flight);
    struct fa_held *h = &th->held[th->held_count++];
    h->frame = th->frames;
    fa__attr_end_held(a, th, h);
    th->last_allocs = th->tls->allocs;
    th->last_bytes = fa__arena_used(&th->arena, th->tls);
    h->chunks = fa__arena_take_all(&th->arena, th->tls);
    struct fa_guard_set guarded = h->guarded;
    h->guarded = th->guarded;
    th->guarded = guarded;
    struct fa_passed_set passed = h->passed;
    h->passed = th->passed;
    th->passed = passed;
    th->in_frame = 0;
}

/* Releases th's frames in flight up to frame `through`, oldest first: their
 * bytes to the budgets and counts, a debug level's blocks checked, their
 * chunks onto *freed. */
static fa_error release_held(fa_alloc *a, struct fa_thread *th, uint64_t through, struct fa_chunk **freed) {
    fa_error e = FA_OK;
    while (th->held_count != 0 && th->held[0].frame <= through) {
        struct fa_held h = th->held[0];
        fa__attr_release_held(a, th, &h);
        if (fa__debug_frame_release(a, &h.guarded, 0, "fa_end_frame") != FA_OK)
            e = FA_ERR_CORRUPT;
        give_passed(a, &h.passed, 0);
        fa__chunk_list_join(freed, h.chunks);
        h.chunks = NULL;
        atomic_store_explicit(&th->released, h.frame, memory_order_release);
        memmove(&th->held[0], &th->held[1], (th->held_count - 1) * sizeof h);
        th->held[--th->held_count] = h; /* the slot keeps its arrays for the next frame kept */
    }
    return e;
}

/* A frame end of th reaches the chunk cache: the cache's clock ticks
 * (before this end gives chunks, which count from the next tick). Once its
 * last chunks have had their frames, th's frames are plain again. */
static void age_chunks(fa_alloc *a, struct fa_thread *th) {
    fa__chunk_tick(&a->chunks);
    if (th->aging != 0 && --th->aging == 0)
        th->opens = a->threads.opens;
}

/* Th's part once frame `ended` has ended (per-thread frames: its own
 * number): the frames in flight that end releases are released, then its
 * open frame (if any) is released or kept in flight; chunks released go to
 * the arena (one kept to bump next) and the cache. */
static fa_error close_frame(fa_alloc *a, struct fa_thread *th, uint64_t ended) {
    uint32_t n = a->cfg.frames_in_flight;
    struct fa_chunk *freed = NULL;
    age_chunks(a, th);
    fa_error e = ended + 1 >= n ? release_held(a, th, ended + 1 - n, &freed) : FA_OK;
    if (th->in_frame) {
        if (fa__debug_on(a))
            fa__debug_frame_end(a, th);
        if (th->frames + n - 1 > ended)
            hold_frame(a, th);
        else if (release_frame(a, th) != FA_OK)
            e = FA_ERR_CORRUPT;
    }
    if (freed == NULL)
        return e;
    if (th->arena.chunks == NULL && !fa__debug_on(a))
        fa__arena_adopt(&th->arena, th->tls, &a->chunks, freed);
    else
        fa__chunk_give(&a->chunks, freed);
    return e;
}

/* FA_FRAMES_SHARED: brings th up to the instance's frame. Once the frame
 * th allocated in has ended, its part is closed (kept in flight or
 * released) and its frames in flight are released as the frames pass; a
 * thread other than the driving one opens its part of an open frame here,
 * on its first frame call in it. */
static fa_error sync_shared(fa_alloc *a, struct fa_thread *th) {
    uint64_t clock = atomic_load_explicit(&a->clock, memory_order_seq_cst);
    uint64_t frame = clock >> 1, ended = frame - (clock & 1);
    fa_error e = FA_OK;
    if ((th->in_frame && th->frames <= ended) ||
        (th->held_count != 0 && th->held[0].frame + a->cfg.frames_in_flight - 1 <= ended))
        e = close_frame(a, th, ended);
    if (!(clock & 1) || th->in_frame || th->is_creator)
        return e;
    if (open_frame(a, th) != FA_OK)
        return fa__report(&a->sink, FA_ERR_NOMEM, 0, "no memory for this thread's tag spans");
    th->frames = frame;
    th->in_frame = FA__IN_OTHER_FRAME;
    fa__attr_frame_settle(a, th); /* its limit published against the frame's end */
    return e;
}

fa_error fa__frame_sync(fa_alloc *a) {
    struct fa_thread *th = fa__thread_find(&a->threads);
    return th != NULL && fa__shared(a) ? sync_shared(a, th) : FA_OK;
}

/* Every thread's limit to 0, so that its next frame allocation comes to
 * the slow path and sees the frame's end (framealloc.h, FA__LIMIT). */
static void revoke(struct fa_thread *th, void *unused) {
    (void)unused;
    FA__STORE(&th->tls->limit, 0, SEQ_CST);
}

fa_error fa__frame_shared_end(fa_alloc *a) {
    uint64_t clock = atomic_load_explicit(&a->clock, memory_order_seq_cst);
    if (!(clock & 1) || !atomic_compare_exchange_strong(&a->clock, &clock, clock & ~(uint64_t)1))
        return FA_ERR_STATE;
    fa__threads_each(&a->threads, revoke, NULL);
    return FA_OK;
}

/* FA_FRAMES_SHARED: the creating thread ends the instance's frame, and
 * its own part of it. */
static FA__COLD fa_error end_shared(fa_alloc *a, struct fa_thread *th) {
    if (th == NULL || !th->is_creator)
        return fa__report(&a->sink, FA_ERR_STATE, 0,
                          "fa_end_frame: frames are shared (FA_FRAMES_SHARED): only the creating thread "
                          "ends them");
    if (fa__frame_shared_end(a) != FA_OK)
        return fa__report(&a->sink, FA_ERR_STATE, 0, "fa_end_frame: no frame is open");
    return sync_shared(a, th);
}

/* The end of a frame that is not plain: none (FA_ERR_STATE), a debug
 * level's frame that allocated, a frame kept in flight, a shared one. */
static FA__COLD fa_error end_other_frame(fa_alloc *a, struct fa_thread *th) {
    if (fa__shared(a))
        return end_shared(a, th);
    if (frame_of(a, th, "fa_end_frame", 0) == NULL)
        return FA_ERR_STATE;
    return close_frame(a, th, th->frames);
}

fa_error fa_end_frame(fa_alloc *a) {
    if (a == NULL)
        return fa__null_alloc("fa_end_frame");
    struct fa_thread *th = fa__thread_find(&a->threads);
    if (th == NULL || th->in_frame != FA__IN_FRAME) /* no frame, or one that is not plain */
        return end_other_frame(a, th);
    end_frame(a, th);
    return FA_OK;
}

uint64_t fa_frame_number(const fa_alloc *a) {
    if (a == NULL) {
        fa__null_alloc("fa_frame_number");
        return 0;
    }
    return atomic_load_explicit(&a->frames_begun, memory_order_relaxed);
}

/* ---- allocation: the slow path and its helpers --------------------------- */

/* bytes (size's, or a guarded block's) from th's arena, charged and
 * counted; NULL reported as a refusal of size bytes. A tracked library
 * (track.h) takes a red zone after them, which nothing charges or counts,
 * and leaves it poisoned. */
static void *take(fa_alloc *a, struct fa_thread *th, const char *fn, size_t size, size_t bytes, size_t align) {
    size_t need = fa__arena_need(&th->arena, th->tls, bytes + FA__REDZONE, align) - FA__REDZONE;
    if (fa__attr_frame_take(a, th, need, size, fn) != FA_OK)
        return NULL;
    void *p = fa__arena_alloc(&th->arena, th->tls, &a->chunks, bytes + FA__REDZONE, align);
    if (p != NULL) {
        th->tls->allocs++;
        fa__track_undefined(p, bytes);
        if (th->charge.sample_left != 0) /* hot sites are on */
            fa__observe_frame_sample(a, th, size);
    }
    fa__attr_frame_settle(a, th);
    if (p == NULL)
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: the memory source refused a chunk for %zu bytes", fn, size);
    return p;
}

/* A debug level's frame block: guarded, its front aligned for align. */
static void *take_guarded(fa_alloc *a, struct fa_thread *th, const char *fn, size_t size, size_t align) {
    size_t front = fa__guard_front(align), raw_align = align > 64 ? align : 64;
    uint64_t seq = th->tls->allocs;
    th->in_frame = FA__IN_OTHER_FRAME; /* its end checks its blocks */
    void *raw = take(a, th, fn, size, fa__guard_raw_size(size, align), raw_align);
    return raw != NULL ? fa__debug_frame_wrap(a, th, raw, front, size, seq, fn) : NULL;
}

/* A debug level's frame allocation. Under shared frames the frame must
 * not end while a thread allocates in it (the block would belong to a
 * frame already over): a frame number that moved meanwhile is reported. */
static void *take_debug(fa_alloc *a, struct fa_thread *th, const char *fn, size_t size, size_t align) {
    void *p = fa__guarded(a) ? take_guarded(a, th, fn, size, align) : take_passed(a, th, fn, size, align);
    uint64_t clock = atomic_load_explicit(&a->clock, memory_order_seq_cst);
    if (fa__shared(a) && clock != (th->frames << 1 | 1))
        fa__report(&a->sink, FA_ERR_STATE, size,
                   "%s: shared frame %llu ended while this thread allocated in it (a race: allocations "
                   "must finish before the frame's end)",
                   fn, (unsigned long long)th->frames);
    return p;
}

/* A request's alignment and size as every frame and scratch slow path
 * checks them (with `guarded`, a debug level's guard counted in): 0,
 * reported for fn, when it cannot be served. */
static int request_ok(fa_alloc *a, const char *fn, size_t size, size_t align, int guarded) {
    if (!fa__is_pow2(align)) {
        fa__report(&a->sink, FA_ERR_INVALID, size, "%s: alignment %zu is not a power of two", fn, align);
        return 0;
    }
    if (fa__cannot_be_met(size, align) || (guarded && fa__cannot_be_met(size + FA__GUARD_HEAD + align, align))) {
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: %zu bytes aligned to %zu cannot be met", fn, size, align);
        return 0;
    }
    return 1;
}

/* The slow path of a frame allocation by th, with events naming fn. */
static void *alloc_slow(fa_alloc *a, struct fa_thread *th, const char *fn, size_t size, size_t align) {
    if (!request_ok(a, fn, size, align, fa__guarded(a)))
        return NULL;
    if (fa__debug_on(a))
        return take_debug(a, th, fn, size, align);
    return take(a, th, fn, size, size != 0 ? size : 1, align);
}

void *fa__frame_alloc_slow(fa_alloc *a, size_t size, size_t align) {
    FA__SITE();
    if (a == NULL) {
        fa__null_alloc("fa_frame_alloc");
        return NULL;
    }
    struct fa_thread *th = in_frame(a, "fa_frame_alloc", size);
    return th != NULL ? alloc_slow(a, th, "fa_frame_alloc", size, align) : NULL;
}

#if defined(_WIN32) && defined(FA_DLL)
/* The DLL's frame fast paths, for its programs, which cannot read its
 * thread-local entries (framealloc.h, FA__TLS_PATH). */
void *fa_frame_alloc(fa_alloc *a, size_t size) {
    return FA__TLS_NAME(fa_frame_alloc)(a, size);
}

void *fa_frame_alloc_aligned(fa_alloc *a, size_t size, size_t align) {
    return FA__TLS_NAME(fa_frame_alloc_aligned)(a, size, align);
}

void *fa_frame_array(fa_alloc *a, size_t count, size_t size, size_t align) {
    return FA__TLS_NAME(fa_frame_array)(a, count, size, align);
}
#endif

/* ---- the arena handle ---------------------------------------------------- */

fa_arena *fa_arena_get(fa_alloc *a) {
    if (a == NULL) {
        fa__null_alloc("fa_arena_get");
        return NULL;
    }
    struct fa_thread *th = fa__attach(a, 0, "fa_arena_get");
    return th != NULL ? (fa_arena *)fa__thread_handle(th) : NULL;
}

/* The thread state of arena handle ar, in a frame, on its own thread (the
 * debug levels check that); NULL, reported for fn, if not. */
static struct fa_thread *handle_in_frame(fa_arena *ar, const char *fn, size_t size) {
    struct fa_thread *th = fa__thread_of_handle(ar);
    if (th == NULL) {
        fa__report(NULL, FA_ERR_INVALID, size, "%s: NULL arena handle", fn);
        return NULL;
    }
    fa_alloc *a = fa__alloc_of(th);
    if (fa__debug_on(a) && fa__debug_handle(a, th, fn) != FA_OK)
        return NULL;
    return frame_of(a, th, fn, size);
}

/* ---- scratch arenas ------------------------------------------------------ */

/* The calling thread's state, for a scratch arena's counts and events;
 * NULL, reported for fn, without memory for it. */
static struct fa_thread *scratch_user(struct fa_scratch *s, const char *fn) {
    return fa__attach(s->a, 0, fn);
}

/* A scratch arena's slow path, with the frame slow path's argument checks. */
static void *scratch_alloc(struct fa_scratch *s, const char *fn, size_t size, size_t align) {
    if (!request_ok(s->a, fn, size, align, 0))
        return NULL;
    struct fa_thread *th = scratch_user(s, fn);
    return th != NULL ? fa__scratch_alloc(s, th, size, align, fn) : NULL;
}

fa_arena *fa_arena_create(fa_alloc *a, const char *name, size_t capacity) {
    if (a == NULL) {
        fa__null_alloc("fa_arena_create");
        return NULL;
    }
    if (name != NULL && strlen(name) > FA_TAG_NAME_MAX) {
        fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_arena_create: name is over %d bytes", FA_TAG_NAME_MAX);
        return NULL;
    }
    struct fa_thread *th = fa__attach(a, 0, "fa_arena_create");
    struct fa_scratch *s = th != NULL ? fa__scratch_create(a, th, name, capacity) : NULL;
    return s != NULL ? (fa_arena *)fa__scratch_handle(s) : NULL;
}

/* The scratch arena of handle ar; NULL, reported for fn, for the NULL
 * handle and a thread's frame arena (which its frames reset). */
static struct fa_scratch *scratch_of(fa_arena *ar, const char *fn) {
    struct fa_scratch *s = fa__scratch_of_handle(ar);
    struct fa_thread *th = fa__thread_of_handle(ar);
    if (s == NULL && th == NULL)
        fa__report(NULL, FA_ERR_INVALID, 0, "%s: NULL arena handle", fn);
    else if (s == NULL)
        fa__report(&fa__alloc_of(th)->sink, FA_ERR_INVALID, 0,
                   "%s: a thread's frame arena (fa_arena_get) is reset by its frames", fn);
    return s;
}

fa_error fa_arena_reset(fa_arena *ar) {
    struct fa_scratch *s = scratch_of(ar, "fa_arena_reset");
    struct fa_thread *th = s != NULL ? scratch_user(s, "fa_arena_reset") : NULL;
    if (th == NULL)
        return fa_last_error();
    fa__scratch_reset(s, th);
    return FA_OK;
}

void fa_arena_destroy(fa_arena *ar) {
    if (ar == NULL)
        return;
    struct fa_scratch *s = scratch_of(ar, "fa_arena_destroy");
    struct fa_thread *th = s != NULL ? scratch_user(s, "fa_arena_destroy") : NULL;
    if (th != NULL)
        fa__scratch_destroy(s, th);
}

void *fa__arena_alloc_slow(fa_arena *ar, size_t size, size_t align) {
    FA__SITE();
    struct fa_scratch *s = fa__scratch_of_handle(ar);
    if (s != NULL)
        return scratch_alloc(s, "fa_arena_alloc", size, align);
    struct fa_thread *th = handle_in_frame(ar, "fa_arena_alloc", size);
    return th != NULL ? alloc_slow(fa__alloc_of(th), th, "fa_arena_alloc", size, align) : NULL;
}

void *fa_frame_calloc(fa_alloc *a, size_t count, size_t size) {
    size_t total = size != 0 && count > SIZE_MAX / size ? SIZE_MAX : count * size;
    void *p = fa_frame_alloc(a, total);
    if (p != NULL)
        memset(p, 0, total);
    return p;
}

char *fa_frame_strdup(fa_alloc *a, const char *s) {
    if (s == NULL) {
        fa__report(a != NULL ? &a->sink : NULL, FA_ERR_INVALID, 0, "fa_frame_strdup: NULL string");
        return NULL;
    }
    size_t n = strlen(s) + 1;
    char *p = (char *)fa_frame_alloc_aligned(a, n, 1);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

char *fa_frame_vprintf(fa_alloc *a, const char *fmt, va_list ap) {
    if (fmt == NULL) {
        fa__report(a != NULL ? &a->sink : NULL, FA_ERR_INVALID, 0, "fa_frame_printf: NULL format");
        return NULL;
    }
    va_list measure;
    va_copy(measure, ap);
    int n = vsnprintf(NULL, 0, fmt, measure);
    va_end(measure);
    if (n < 0) {
        fa__report(a != NULL ? &a->sink : NULL, FA_ERR_INVALID, 0, "fa_frame_printf: format error");
        return NULL;
    }
    char *p = (char *)fa_frame_alloc_aligned(a, (size_t)n + 1, 1);
    if (p != NULL)
        vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *fa_frame_printf(fa_alloc *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char *p = fa_frame_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

/* ---- marks --------------------------------------------------------------- */

/* A mark of th's frame (an empty one for NULL). */
static fa_mark mark_of(const struct fa_thread *th) {
    fa_mark m;
    memset(&m, 0, sizeof m);
    if (th == NULL)
        return m;
    return fa__arena_mark_of(&th->arena, th->tls, th, th->frames, fa__arena_used(&th->arena, th->tls));
}

fa_mark fa_frame_mark(fa_alloc *a) {
    if (a == NULL) {
        fa__null_alloc("fa_frame_mark");
        return mark_of(NULL);
    }
    return mark_of(in_frame(a, "fa_frame_mark", 0));
}

/* A rewind of th's frame (in a frame) to m. */
static fa_error rewind_to(fa_alloc *a, struct fa_thread *th, fa_mark m) {
    if (m.fa__thread != th)
        return fa__report(&a->sink, FA_ERR_STATE, 0,
                          "fa_frame_rewind: mark of another thread or allocator, or an empty mark");
    if (m.fa__frame != th->frames)
        return fa__report(&a->sink, FA_ERR_STATE, 0, "fa_frame_rewind: mark of an earlier frame");
    struct fa_arena_pos pos = fa__arena_pos_of(m);
    /* A mark with more bytes or allocations behind it than the frame has
     * now was passed, even where its chunk and position survived (one taken
     * after a dedicated chunk that a rewind released). */
    int passed = m.fa__allocs > th->tls->allocs || m.fa__used > fa__arena_used(&th->arena, th->tls);
    if (passed || !fa__arena_can_rewind(&th->arena, th->tls, pos))
        return fa__report(&a->sink, FA_ERR_STATE, 0,
                          "fa_frame_rewind: mark is past the current position (already rewound over)");
    fa_error e = fa__guarded(a) ? fa__debug_frame_release(a, &th->guarded, m.fa__allocs, "fa_frame_rewind") : FA_OK;
    if (fa__passed_through(a))
        give_passed(a, &th->passed, m.fa__allocs);
    fa__attr_rewind(a, th, m.fa__used, m.fa__allocs); /* before the arena forgets what it releases */
    fa__arena_rewind(&th->arena, th->tls, &a->chunks, pos);
    fa__attr_frame_settle(a, th);
    return e;
}

fa_error fa_frame_rewind(fa_alloc *a, fa_mark m) {
    if (a == NULL)
        return fa__null_alloc("fa_frame_rewind");
    struct fa_thread *th = in_frame(a, "fa_frame_rewind", 0);
    return th != NULL ? rewind_to(a, th, m) : FA_ERR_STATE;
}

/* ---- through a handle ---------------------------------------------------- */

fa_mark fa_arena_mark(fa_arena *ar) {
    struct fa_scratch *s = fa__scratch_of_handle(ar);
    return s != NULL ? fa__scratch_mark(s) : mark_of(handle_in_frame(ar, "fa_arena_mark", 0));
}

fa_error fa_arena_rewind(fa_arena *ar, fa_mark m) {
    struct fa_scratch *s = fa__scratch_of_handle(ar);
    if (s != NULL) {
        struct fa_thread *th = scratch_user(s, "fa_arena_rewind");
        return th != NULL ? fa__scratch_rewind(s, th, m, "fa_arena_rewind") : FA_ERR_NOMEM;
    }
    struct fa_thread *th = handle_in_frame(ar, "fa_arena_rewind", 0);
    return th != NULL ? rewind_to(fa__alloc_of(th), th, m) : fa_last_error();
}

/* ---- growing frame memory ------------------------------------------------ */

/* Whether p, th's last frame allocation (of old bytes, the caller vouches),
 * grows to size in place: aligned to align, and room in its chunk under
 * the fast path's limit, which folds in the budgets (0 where the slow path
 * must serve every allocation: then it moves). */
static int grows_in_place(const struct fa_frame_arena *ar, const struct fa__thread_tls *t, uintptr_t p, size_t old,
                          size_t size, size_t align) {
    uintptr_t limit = fa__limit(t);
    return (p & (align - 1)) == 0 && limit != 0 && p + old == t->cur && p >= fa__chunk_base(ar->bump) &&
           size <= limit - p;
}

/* Whether block p of old bytes in the arena bumped through t resizes to
 * size in place: a shrink when p is aligned for it (the bytes stay until
 * the release), a growth of the last allocation (the bump follows it). */
static int resize_in_place(const struct fa_frame_arena *ar, struct fa__thread_tls *t, void *p, size_t old, size_t size,
                           size_t align) {
    uintptr_t u = (uintptr_t)p;
    if (size <= old)
        return (u & (align - 1)) == 0;
    if (!grows_in_place(ar, t, u, old, size, align))
        return 0;
    t->cur = u + size;
    return 1;
}

/* A moved block: q (NULL when the new one was refused) with p's first bytes. */
static void *moved(void *q, const void *p, size_t old, size_t size) {
    if (q != NULL && p != NULL)
        memcpy(q, p, old < size ? old : size);
    return q;
}

/* th's frame block p of old bytes resized to size: in place (a shrink
 * keeps its bytes until the frame's end), or a new block aligned to align
 * holding the first bytes. */
static void *frame_resize(fa_alloc *a, struct fa_thread *th, const char *fn, void *p, size_t old, size_t size,
                          size_t align) {
    if (fa__debug_on(a)) /* checked, and always moved: its limit is 0 */
        return fa__debug_frame_size(a, th, p, old, fn) == FA_OK ? moved(alloc_slow(a, th, fn, size, align), p, old, size)
                                                                : NULL;
    if (resize_in_place(&th->arena, th->tls, p, old, size, align))
        return p;
    return moved(alloc_slow(a, th, fn, size, align), p, old, size);
}

void *fa_frame_realloc(fa_alloc *a, void *p, size_t old_size, size_t new_size) {
    FA__SITE();
    if (a == NULL) {
        fa__null_alloc("fa_frame_realloc");
        return NULL;
    }
    struct fa_thread *th = in_frame(a, "fa_frame_realloc", new_size);
    if (th == NULL)
        return NULL;
    size_t align = fa__natural_align(new_size);
    return p == NULL ? alloc_slow(a, th, "fa_frame_realloc", new_size, align)
                     : frame_resize(a, th, "fa_frame_realloc", p, old_size, new_size, align);
}

/* A scratch arena's block resized: in place as a frame block is, else a
 * new one holding the first bytes. */
void *fa_arena_realloc(fa_arena *ar, void *p, size_t old_size, size_t new_size, size_t align) {
    FA__SITE();
    const char *fn = "fa_arena_realloc";
    struct fa_scratch *s = fa__scratch_of_handle(ar);
    struct fa_thread *th = s == NULL ? handle_in_frame(ar, fn, new_size) : NULL;
    if (s == NULL && th == NULL)
        return NULL;
    fa_alloc *a = s != NULL ? s->a : fa__alloc_of(th);
    if (!fa__is_pow2(align)) {
        fa__report(&a->sink, FA_ERR_INVALID, new_size, "%s: alignment %zu is not a power of two", fn, align);
        return NULL;
    }
    if (s != NULL)
        return p != NULL && resize_in_place(&s->arena, &s->entry, p, old_size, new_size, align)
                   ? p
                   : moved(scratch_alloc(s, fn, new_size, align), p, old_size, new_size);
    return p == NULL ? alloc_slow(a, th, fn, new_size, align) : frame_resize(a, th, fn, p, old_size, new_size, align);
}

/* ---- frame info ---------------------------------------------------------- */

fa_error fa_frame_info_get(fa_alloc *a, fa_frame_info *out) {
    if (a == NULL)
        return fa__null_alloc("fa_frame_info_get");
    if (out == NULL)
        return fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_frame_info_get: NULL output");
    memset(out, 0, sizeof *out);
    struct fa_thread *th = fa__thread_find(&a->threads);
    if (th == NULL)
        return FA_OK;
    if (fa__shared(a))
        sync_shared(a, th);
    out->frame = th->frames;
    out->in_frame = th->in_frame != 0;
    out->allocations = th->in_frame ? th->tls->allocs : th->last_allocs;
    out->bytes = th->in_frame ? fa__arena_used(&th->arena, th->tls) : th->last_bytes;
    fa__arena_holdings(&th->arena, &out->chunks, &out->reserved);
    for (uint32_t i = 0; i < th->held_count; i++) /* frames in flight hold theirs */
        for (const struct fa_chunk *c = th->held[i].chunks; c != NULL; c = c->next) {
            out->chunks++;
            out->reserved += c->size;
        }
    return FA_OK;
}
