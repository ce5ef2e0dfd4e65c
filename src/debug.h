/* SPDX-License-Identifier: MIT */
/* The debug levels' part of the other API files' slow paths: they take raw
 * memory as usual and hand it here to be guarded, checked and reported
 * (docs/debugging.md). At a debug level no inline path serves, so every
 * allocation and free of the allocator comes through them. */
#ifndef FA_DEBUG_H
#define FA_DEBUG_H

#include "instance.h"
#include "platform.h"

/* Frame blocks. Guards raw (front + size + FA__GUARD_TAIL bytes just taken
 * from th's arena, the seq-th allocation of its frame), after checking that
 * nobody wrote to it since its last frame; the caller's pointer. */
void *fa__debug_frame_wrap(fa_alloc *a, struct fa_thread *th, void *raw, size_t front, size_t size,
                           uint64_t seq, const char *fn);
/* Checks and releases a frame's blocks (a thread's, or a frame's in
 * flight) from the seq-th allocation on (a rewind; 0: the frame's release),
 * filling them with FA_FILL_RESET: FA_OK, or FA_ERR_CORRUPT (reported)
 * when a guard broke. */
fa_error fa__debug_frame_release(fa_alloc *a, struct fa_guard_set *s, uint64_t seq, const char *fn);
/* FA_OK when p is a block of th's current frame of exactly size bytes (as
 * a frame realloc's caller vouches); FA_ERR_INVALID, reported, if not. */
fa_error fa__debug_frame_size(fa_alloc *a, const struct fa_thread *th, const void *p, size_t size, const char *fn);
/* The frame end's warnings: a tag path still pushed. */
void fa__debug_frame_end(fa_alloc *a, struct fa_thread *th);

/* Pool and heap blocks. Guards raw (usable bytes, of kind FA__GUARD_POOL
 * or FA__GUARD_HEAP) for a request of size bytes front bytes in, after
 * checking that a reused pool block was not written since it was freed. */
void *fa__debug_block_wrap(fa_alloc *a, struct fa_thread *th, void *raw, size_t front, int kind, size_t size,
                           size_t usable, const char *fn);
/* Before a free of p: finds its raw block, checks its guards and state and
 * retires it. *raw is the block to free (NULL when there is none: then the
 * result is the reported FA_ERR_FOREIGN or FA_ERR_DOUBLE_FREE); the result
 * is FA_ERR_CORRUPT (reported) when a guard broke. heap_only refuses pool
 * blocks, as fa_heap_free does. */
fa_error fa__debug_block_unwrap(fa_alloc *a, struct fa_thread *th, void *p, int heap_only, const char *fn,
                                void **raw);

/* The size a live guarded block was asked for: FA_OK, or what a free of
 * p would report (reported, *size untouched). */
fa_error fa__debug_block_size(fa_alloc *a, struct fa_thread *th, const void *p, const char *fn, size_t *size);

/* A handle used by a thread other than its own: FA_ERR_STATE (reported). */
fa_error fa__debug_handle(fa_alloc *a, const struct fa_thread *th, const char *fn);

/* fa_destroy's report: one warning event per live block, then the text
 * report (to stderr without a callback). */
void fa__debug_destroy(fa_alloc *a);

#endif
