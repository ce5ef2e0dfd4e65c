/* SPDX-License-Identifier: MIT */
/* The per-frame history: a ring of the creating thread's last frames,
 * written by that thread alone and read by any, without a lock. */
#ifndef FA_HISTORY_H
#define FA_HISTORY_H

#include <stdatomic.h>

#include "framealloc.h"
#include "invariant.h"
#include "platform.h"

struct fa_history {
    fa_frame_record  *ring;     /* NULL when statistics are off */
    _Atomic uint64_t *seq;      /* per slot: twice its writes, odd while one is under way */
    size_t            capacity;
    _Atomic uint64_t  written;  /* records put so far */
    size_t            next_slot; /* the writer's: written % capacity */
};

/* 0 when there is no memory for the ring. */
int fa__history_init(struct fa_history *h, size_t capacity);
void fa__history_fini(struct fa_history *h);
/* The writer (one thread only) fills the next record in place: its fields
 * with FA__RECORD_SET, between fa__history_open (NULL without a ring) and
 * fa__history_close, which adds tag_bytes[0 .. paths) as its bytes per
 * path (the slot's words past them are zero, as paths only grow). */
/* Readers race the writer: every word is stored atomically. */
#define FA__RECORD_SET(r, field, value) FA__STORE(&(r)->field, (value), RELAXED)

static inline fa_frame_record *fa__history_open(struct fa_history *h) {
    if (h->ring == NULL)
        return NULL;
    size_t slot = h->next_slot; /* written % capacity, kept by the writer */
    uint64_t s = atomic_load_explicit(&h->seq[slot], memory_order_relaxed);
    fa__assert_internal(slot == atomic_load(&h->written) % h->capacity &&
                        s == 2 * (atomic_load(&h->written) / h->capacity));
    atomic_store_explicit(&h->seq[slot], s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    return &h->ring[slot];
}

static inline void fa__history_close(struct fa_history *h, const uint64_t *tag_bytes, uint32_t paths) {
    size_t slot = h->next_slot;
    fa_frame_record *r = &h->ring[slot];
    for (uint32_t i = 0; i < paths; i++)
        FA__RECORD_SET(r, tag_bytes[i], tag_bytes[i]);
    uint64_t s = atomic_load_explicit(&h->seq[slot], memory_order_relaxed);
    atomic_store_explicit(&h->seq[slot], s + 1, memory_order_release);
    atomic_store_explicit(&h->written, atomic_load_explicit(&h->written, memory_order_relaxed) + 1,
                          memory_order_release);
    h->next_slot = slot + 1 == h->capacity ? 0 : slot + 1;
}

/* The newest records, up to max, oldest first; a record the writer
 * overwrote while it was read is left out. */
size_t fa__history_copy(struct fa_history *h, fa_frame_record *out, size_t max);
void fa__history_summarise(struct fa_history *h, fa_history_summary *out);

#endif
