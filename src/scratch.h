/* SPDX-License-Identifier: MIT */
/* Scratch arenas: bump arenas outside the frame cycle (fa_arena_create).
 * Each is an entry the inline fast path bumps, as it bumps a thread's (a
 * handle is the entry's distance from fa__no_entry), over a frame arena of
 * chunks from the allocator's cache. Its chunks are what it costs: each is
 * charged to the budgets over the tag path current when it was made, and
 * counted there as the `scratch` kind (an allocation per chunk), when it
 * is taken, and given back when it is released. */
#ifndef FA_SCRATCH_H
#define FA_SCRATCH_H

#include "attribution.h"

struct fa_scratch {
    struct fa__thread_tls  entry;    /* first; entry.thread is the arena itself, marked (owner_of) */
    fa_alloc              *a;
    struct fa_frame_arena  arena;
    size_t                 capacity; /* bytes it may hand out; 0: no cap */
    size_t                 charged;  /* chunk bytes charged to its path and counted */
    size_t                 chunks;   /* chunks counted */
    uint64_t               resets;   /* its generation: a mark of another is stale (the high
                                      * 32 bits number the arena in the process) */
    uint32_t               tag;
    char                   name[FA_TAG_NAME_MAX + 1];
    struct fa_scratch     *next, **pprev; /* the allocator's list, under its lock */
};

/* A handle's entry names a scratch arena by its address with the low bit
 * set; a thread's names its state (fa__thread_of_handle). */
static inline struct fa_scratch *fa__scratch_of_handle(const void *handle) {
    uintptr_t owner = (uintptr_t)fa__entry_of(handle)->thread;
    return (owner & 1) != 0 ? (struct fa_scratch *)(owner - 1) : NULL;
}
static inline void *fa__scratch_handle(struct fa_scratch *s) {
    return (void *)((uintptr_t)&s->entry - (uintptr_t)&fa__no_entry);
}

/* Made for thread th (its current path charged): NULL, reported, without
 * memory. */
struct fa_scratch *fa__scratch_create(fa_alloc *a, struct fa_thread *th, const char *name, size_t capacity);
/* The slow path of an allocation from it by th: a new chunk (charged), or
 * NULL (reported: past its capacity, a budget, the source). */
void *fa__scratch_alloc(struct fa_scratch *s, struct fa_thread *th, size_t size, size_t align, const char *fn);
/* Releases everything allocated (its first chunk kept, as a frame's end
 * keeps one), counted as freed by th. */
void fa__scratch_reset(struct fa_scratch *s, struct fa_thread *th);
/* Gives back every chunk and the arena. */
void fa__scratch_destroy(struct fa_scratch *s, struct fa_thread *th);
/* A mark of it, and a rewind to one (FA_ERR_STATE, reported, for a mark
 * of another arena, an earlier reset or past the position). */
fa_mark fa__scratch_mark(const struct fa_scratch *s);
fa_error fa__scratch_rewind(struct fa_scratch *s, struct fa_thread *th, fa_mark m, const char *fn);
/* fa_destroy's part: every scratch arena left, freed; their chunks as one
 * list for the caller to give back. */
struct fa_chunk *fa__scratch_drop_all(fa_alloc *a);

/* Bytes handed out now, alignment padding included (no red zones: a
 * tracked library serves a scratch arena without them). */
static inline size_t fa__scratch_used(const struct fa_scratch *s) {
    const struct fa_frame_arena *ar = &s->arena;
    return ar->closed + (ar->bump != NULL ? s->entry.cur - fa__chunk_base(ar->bump) : 0);
}

#endif
