/* SPDX-License-Identifier: MIT */
/* Scratch arenas: bump arenas outside the frame cycle (docs/threading.md's
 * neighbour, docs/getting-started.md). The inline fa_arena_alloc bumps a
 * scratch arena's entry exactly as a thread's; its slow path comes here
 * through frame.c, which tells the two apart by the entry's owner word.
 * Floor: attribution (docs/internals.md): it stands on the arena, the chunk
 * cache and attribution's charging, and calls no API file.
 * Invariants:
 * - `charged` and `chunks` are the bytes and number of the chunks it
 *   holds: charged to the budgets over its path and counted in the
 *   statistics (the `scratch` kind) when taken, given back when released.
 * - The entry's limit is the bump chunk's end, or sooner where the
 *   capacity ends: the inline path never hands out a byte past the cap.
 * - A mark carries the reset count: a reset makes older marks stale. */
#include "scratch.h"

#include <stdlib.h>
#include <string.h>

#include "invariant.h"

/* The entry's limit after any change: the chunk's end, or the cap (0 in a
 * tracked library, whose slow path makes each block addressable). */
static void clamp(struct fa_scratch *s) {
    uintptr_t end = FA__TRACKED ? 0 : fa__arena_end_of_bump(&s->arena);
    if (s->capacity != 0 && end != 0) {
        size_t used = fa__scratch_used(s), room = used < s->capacity ? s->capacity - used : 0;
        if (room < end - s->entry.cur)
            end = s->entry.cur + room;
    }
    fa__limit_set(&s->entry, end);
}

struct fa_scratch *fa__scratch_create(fa_alloc *a, struct fa_thread *th, const char *name, size_t capacity) {
    struct fa_scratch *s = (struct fa_scratch *)calloc(1, sizeof *s);
    if (s == NULL) {
        fa__report(&a->sink, FA_ERR_NOMEM, sizeof *s, "fa_arena_create: no memory for the arena");
        return NULL;
    }
    static _Atomic uint64_t arenas_made;
    s->a = a;
    s->capacity = capacity;
    s->tag = th->charge.tag;
    /* Generations count from a number no other arena had, so that a mark of
     * a destroyed arena is stale on a new one made at the same address. */
    s->resets = (atomic_fetch_add(&arenas_made, 1) + 1) << 32;
    snprintf(s->name, sizeof s->name, "%s", name != NULL ? name : "");
    s->entry.thread = (void *)((uintptr_t)s | 1);
    fa__mutex_lock(&a->scratch.lock);
    s->next = a->scratch.list;
    if (s->next != NULL)
        s->next->pprev = &s->next;
    s->pprev = &a->scratch.list;
    a->scratch.list = s;
    fa__mutex_unlock(&a->scratch.lock);
    return s;
}

/* Chunk bytes held. */
static size_t held(const struct fa_scratch *s) {
    size_t chunks, bytes;
    fa__arena_holdings(&s->arena, &chunks, &bytes);
    return bytes;
}

/* After chunks were taken or released: the count and the charge follow
 * (th counts; a release gives the bytes back to the budgets). */
static void recount(struct fa_scratch *s, struct fa_thread *th) {
    size_t chunks, bytes;
    fa__arena_holdings(&s->arena, &chunks, &bytes);
    if (bytes > s->charged)
        fa__attr_scratch_count(th, s->tag, chunks - s->chunks, bytes - s->charged, 0);
    if (bytes < s->charged) {
        fa__attr_scratch_count(th, s->tag, s->chunks - chunks, s->charged - bytes, 1);
        fa__attr_scratch_give(s->a, s->tag, s->charged - bytes);
    }
    s->charged = bytes;
    s->chunks = chunks;
}

void *fa__scratch_alloc(struct fa_scratch *s, struct fa_thread *th, size_t size, size_t align, const char *fn) {
    fa_alloc *a = s->a;
    size_t used = fa__scratch_used(s);
    size_t need = fa__arena_need(&s->arena, &s->entry, size != 0 ? size : 1, align);
    if (s->capacity != 0 && (used > s->capacity || need > s->capacity - used)) {
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: scratch arena \"%s\" would pass its capacity of %zu bytes",
                   fn, s->name, s->capacity);
        return NULL;
    }
    struct fa_arena_pos before = fa__arena_mark(&s->arena, &s->entry);
    void *p = fa__arena_alloc(&s->arena, &s->entry, &a->chunks, size != 0 ? size : 1, align);
    size_t grown = p != NULL ? held(s) - s->charged : 0; /* a new chunk's bytes; 0: it fitted */
    if (p == NULL) {
        fa__report(&a->sink, FA_ERR_NOMEM, size, "%s: the memory source refused a chunk for %zu bytes", fn, size);
    } else if (grown != 0 && fa__attr_scratch_take(a, th, s->tag, grown, size, fn) != FA_OK) {
        fa__arena_rewind(&s->arena, &s->entry, &a->chunks, before); /* the chunk goes back uncharged */
        p = NULL;
    } else if (grown != 0) { /* the new chunk, first in the list, will hold the program's bytes: not a debug
                              * level's poisoned chunk once it goes back to the cache */
        s->arena.chunks->poisoned = 0;
    }
    recount(s, th);
    if (p != NULL) {
        s->entry.allocs++;
        fa__track_undefined(p, size);
    }
    clamp(s);
    return p;
}

/* Gives back the chunks beyond the first (or all of them) with their
 * charge. */
static void release(struct fa_scratch *s, struct fa_thread *th, int all) {
    s->entry.allocs = 0;
    if (all)
        fa__chunk_give(&s->a->chunks, fa__arena_take_all(&s->arena, &s->entry));
    else
        fa__arena_end(&s->arena, &s->entry, &s->a->chunks);
    recount(s, th);
    s->resets++;
    fa__arena_begin(&s->arena, &s->entry);
    clamp(s);
}

void fa__scratch_reset(struct fa_scratch *s, struct fa_thread *th) {
    release(s, th, 0);
}

void fa__scratch_destroy(struct fa_scratch *s, struct fa_thread *th) {
    release(s, th, 1);
    fa__mutex_lock(&s->a->scratch.lock);
    *s->pprev = s->next;
    if (s->next != NULL)
        s->next->pprev = s->pprev;
    fa__mutex_unlock(&s->a->scratch.lock);
    free(s);
}

fa_mark fa__scratch_mark(const struct fa_scratch *s) {
    return fa__arena_mark_of(&s->arena, &s->entry, s, s->resets, fa__scratch_used(s));
}

fa_error fa__scratch_rewind(struct fa_scratch *s, struct fa_thread *th, fa_mark m, const char *fn) {
    struct fa_arena_pos pos = fa__arena_pos_of(m);
    if (m.fa__thread != s || m.fa__frame != s->resets)
        return fa__report(&s->a->sink, FA_ERR_STATE, 0, "%s: mark of another arena, or from before a reset", fn);
    if (m.fa__allocs > s->entry.allocs || m.fa__used > fa__scratch_used(s) ||
        !fa__arena_can_rewind(&s->arena, &s->entry, pos))
        return fa__report(&s->a->sink, FA_ERR_STATE, 0, "%s: mark is past the current position", fn);
    s->entry.allocs = m.fa__allocs;
    fa__arena_rewind(&s->arena, &s->entry, &s->a->chunks, pos);
    recount(s, th);
    clamp(s);
    return FA_OK;
}

struct fa_chunk *fa__scratch_drop_all(fa_alloc *a) {
    struct fa_chunk *chunks = NULL;
    fa__mutex_lock(&a->scratch.lock);
    while (a->scratch.list != NULL) {
        struct fa_scratch *s = a->scratch.list;
        a->scratch.list = s->next;
        fa__chunk_list_join(&chunks, fa__arena_take_all(&s->arena, &s->entry));
        free(s);
    }
    fa__mutex_unlock(&a->scratch.lock);
    return chunks;
}
