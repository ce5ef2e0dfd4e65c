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

#include "attribution.h"
#include "debug.h"
#include "invariant.h"

fa_error fa_begin_frame(fa_alloc *a) {
    if (a == NULL)
        return fa__null_alloc("fa_begin_frame");
    struct fa_thread *th = fa__thread_attach(&a->threads);
    if (th == NULL)
        return fa__report(&a->sink, FA_ERR_NOMEM, 0, "fa_begin_frame: no memory for this thread's state");
    if (th->in_frame)
        return fa__report(&a->sink, FA_ERR_STATE, 0,
                          "fa_begin_frame: already in a frame (frames do not nest; use fa_frame_mark)");
    if (fa__attr_begin(a, th) != FA_OK)
        return fa__report(&a->sink, FA_ERR_NOMEM, 0, "fa_begin_frame: no memory for this thread's tag spans");
    fa__thread_pool_collect(th); /* blocks other threads freed since the last frame */
    th->frames++;
    th->tls->allocs = 0;
    if (th->is_creator)
        atomic_fetch_add_explicit(&a->frames_begun, 1, memory_order_relaxed);
    return FA_OK;
}

/* th if it is in a frame; reports FA_ERR_STATE for fn if not. */
static struct fa_thread *frame_of(fa_alloc *a, struct fa_thread *th, const char *fn, size_t size) {
    if (th != NULL && th->in_frame)
        return th;
    fa__report(&a->sink, FA_ERR_STATE, size, "%s: not in a frame on this thread (call fa_begin_frame)", fn);
    return NULL;
}

/* The calling thread's state if it is in a frame; reports FA_ERR_STATE if not. */
static struct fa_thread *in_frame(fa_alloc *a, const char *fn, size_t size) {
    return frame_of(a, fa__thread_find(&a->threads), fn, size);
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
    th->in_frame = FA__IN_GUARDED_FRAME; /* its end gives the blocks back */
    return b.block;
}

/* Gives back the passed-through blocks from the seq-th allocation on. */
static void give_passed(fa_alloc *a, struct fa_thread *th, uint64_t seq) {
    struct fa_passed_set *s = &th->passed;
    while (s->count != 0 && s->item[s->count - 1].seq >= seq) {
        const struct fa_passed *b = &s->item[--s->count];
        fa__backend_give(&a->chunks.backend, a->chunks.meter, b->block, b->size, b->align, b->from_system);
    }
}

static inline void end_frame(fa_alloc *a, struct fa_thread *th) {
    fa__attr_end(a, th);
    th->last_allocs = th->tls->allocs;
    th->last_bytes = fa__arena_used(&th->arena, th->tls);
    fa__arena_end(&th->arena, th->tls, &a->chunks);
    fa__assert(th->tls->limit == 0); /* outside a frame every inline allocation comes to the slow path */
    th->in_frame = 0;
}

/* The end of a frame that is not plain: none (FA_ERR_STATE), or a debug
 * level's frame that allocated: its blocks checked and reset (or given
 * back) first, and every chunk given back after, so that the next frame
 * starts with no bump chunk (its limit 0: the begin needs no test of the
 * level, and an empty frame ends as any other). */
static FA__COLD fa_error end_other_frame(fa_alloc *a, struct fa_thread *th) {
    if (frame_of(a, th, "fa_end_frame", 0) == NULL)
        return FA_ERR_STATE;
    fa_error e = fa__debug_frame_release(a, th, 0, "fa_end_frame");
    give_passed(a, th, 0);
    fa__debug_frame_end(a, th);
    end_frame(a, th);
    fa__chunk_give(&a->chunks, fa__arena_take_all(&th->arena, th->tls));
    return e;
}

fa_error fa_end_frame(fa_alloc *a) {
    if (a == NULL)
        return fa__null_alloc("fa_end_frame");
    struct fa_thread *th = fa__thread_find(&a->threads);
    if (th == NULL || th->in_frame != FA__IN_FRAME) /* no frame, or a guarded one */
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
    if (fa__attr_frame_take(a, th, need, size) != FA_OK)
        return NULL;
    void *p = fa__arena_alloc(&th->arena, th->tls, &a->chunks, bytes + FA__REDZONE, align);
    if (p != NULL) {
        th->tls->allocs++;
        fa__track_undefined(p, bytes);
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
    th->in_frame = FA__IN_GUARDED_FRAME; /* its end checks its blocks */
    void *raw = take(a, th, fn, size, fa__guard_raw_size(size, align), raw_align);
    return raw != NULL ? fa__debug_frame_wrap(a, th, raw, front, size, seq, fn) : NULL;
}

/* The slow path of a frame allocation by th, with events naming fn. */
static void *alloc_slow(fa_alloc *a, struct fa_thread *th, const char *fn, size_t size, size_t align) {
    if (!fa__is_pow2(align)) {
        fa__report(&a->sink, FA_ERR_INVALID, size, "%s: alignment %zu is not a power of two", fn, align);
        return NULL;
    }
    if (fa__cannot_be_met(size, align) || (fa__guarded(a) && fa__cannot_be_met(size + FA__GUARD_HEAD + align, align))) {
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: %zu bytes aligned to %zu cannot be met", fn, size, align);
        return NULL;
    }
    if (fa__guarded(a))
        return take_guarded(a, th, fn, size, align);
    if (fa__passed_through(a))
        return take_passed(a, th, fn, size, align);
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

/* ---- the arena handle ---------------------------------------------------- */

fa_arena *fa_arena_get(fa_alloc *a) {
    if (a == NULL) {
        fa__null_alloc("fa_arena_get");
        return NULL;
    }
    struct fa_thread *th = fa__attach(a, 0, "fa_arena_get");
    return th != NULL ? (fa_arena *)fa__thread_handle(th) : NULL;
}

void *fa__arena_alloc_slow(fa_arena *ar, size_t size, size_t align) {
    FA__SITE();
    struct fa_thread *th = fa__thread_of_handle(ar);
    if (th == NULL) {
        fa__report(NULL, FA_ERR_INVALID, size, "fa_arena_alloc: NULL arena handle");
        return NULL;
    }
    fa_alloc *a = fa__alloc_of(th);
    if (fa__debug_on(a) && fa__debug_handle(a, th, "fa_arena_alloc") != FA_OK)
        return NULL;
    return frame_of(a, th, "fa_arena_alloc", size) != NULL ? alloc_slow(a, th, "fa_arena_alloc", size, align) : NULL;
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

fa_mark fa_frame_mark(fa_alloc *a) {
    fa_mark m;
    memset(&m, 0, sizeof m);
    if (a == NULL) {
        fa__null_alloc("fa_frame_mark");
        return m;
    }
    struct fa_thread *th = in_frame(a, "fa_frame_mark", 0);
    if (th == NULL)
        return m;
    struct fa_arena_pos pos = fa__arena_mark(&th->arena, th->tls);
    m.fa__thread = th;
    m.fa__frame = th->frames;
    m.fa__chunk = pos.chunk;
    m.fa__pos = pos.cur;
    m.fa__seq = pos.seq;
    m.fa__top = pos.top;
    m.fa__used = fa__arena_used(&th->arena, th->tls);
    m.fa__allocs = th->tls->allocs;
    return m;
}

fa_error fa_frame_rewind(fa_alloc *a, fa_mark m) {
    if (a == NULL)
        return fa__null_alloc("fa_frame_rewind");
    struct fa_thread *th = in_frame(a, "fa_frame_rewind", 0);
    if (th == NULL)
        return FA_ERR_STATE;
    if (m.fa__thread != th)
        return fa__report(&a->sink, FA_ERR_STATE, 0,
                          "fa_frame_rewind: mark of another thread or allocator, or an empty mark");
    if (m.fa__frame != th->frames)
        return fa__report(&a->sink, FA_ERR_STATE, 0, "fa_frame_rewind: mark of an earlier frame");
    struct fa_arena_pos pos = {(const struct fa_chunk *)m.fa__chunk, m.fa__seq, m.fa__top, m.fa__pos};
    /* A mark with more bytes or allocations behind it than the frame has
     * now was passed, even where its chunk and position survived (one taken
     * after a dedicated chunk that a rewind released). */
    int passed = m.fa__allocs > th->tls->allocs || m.fa__used > fa__arena_used(&th->arena, th->tls);
    if (passed || !fa__arena_can_rewind(&th->arena, th->tls, pos))
        return fa__report(&a->sink, FA_ERR_STATE, 0,
                          "fa_frame_rewind: mark is past the current position (already rewound over)");
    fa_error e = fa__guarded(a) ? fa__debug_frame_release(a, th, m.fa__allocs, "fa_frame_rewind") : FA_OK;
    if (fa__passed_through(a))
        give_passed(a, th, m.fa__allocs);
    fa__attr_rewind(a, th, m.fa__used, m.fa__allocs); /* before the arena forgets what it releases */
    fa__arena_rewind(&th->arena, th->tls, &a->chunks, pos);
    fa__attr_frame_settle(a, th);
    return e;
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
    out->frame = th->frames;
    out->in_frame = th->in_frame != 0;
    out->allocations = th->in_frame ? th->tls->allocs : th->last_allocs;
    out->bytes = th->in_frame ? fa__arena_used(&th->arena, th->tls) : th->last_bytes;
    fa__arena_holdings(&th->arena, &out->chunks, &out->reserved);
    return FA_OK;
}
