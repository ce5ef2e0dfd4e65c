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
    uint64_t         *more;     /* per slot: the bytes of the paths past FA_TAG_MAX */
    uint32_t          more_paths; /* those paths (cfg.max_tags - FA_TAG_MAX, or 0) */
    _Atomic uint64_t *seq;      /* per slot: twice its writes, odd while one is under way */
    size_t            capacity;
    _Atomic uint64_t  written;  /* records put so far */
    size_t            next_slot; /* the writer's: written % capacity */
};

/* A ring of `capacity` frames (0: none) of up to `paths` paths each; 0
 * when there is no memory for it. */
int fa__history_init(struct fa_history *h, size_t capacity, uint32_t paths);
void fa__history_fini(struct fa_history *h);
/* The writer (one thread only) fills the next record in place: its fields
 * with FA__RECORD_SET, between fa__history_open (NULL without a ring) and
 * fa__history_close, which adds tag_bytes[0 .. paths) as its bytes per
 * path, those past FA_TAG_MAX to the slot's `more` words (the slot's words
 * past them are zero, as paths only grow). */
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
    uint32_t i = 0;
    for (; i < paths && i < FA_TAG_MAX; i++)
        FA__RECORD_SET(r, tag_bytes[i], tag_bytes[i]);
    for (; i < paths; i++)
        FA__STORE(&h->more[slot * h->more_paths + (i - FA_TAG_MAX)], tag_bytes[i], RELAXED);
    uint64_t s = atomic_load_explicit(&h->seq[slot], memory_order_relaxed);
    atomic_store_explicit(&h->seq[slot], s + 1, memory_order_release);
    atomic_store_explicit(&h->written, atomic_load_explicit(&h->written, memory_order_relaxed) + 1,
                          memory_order_release);
    h->next_slot = slot + 1 == h->capacity ? 0 : slot + 1;
}

/* The newest records, up to max, oldest first, and where more is not NULL
 * each one's more_paths words after them into more[]; a record the writer
 * overwrote while it was read is left out. */
size_t fa__history_copy(struct fa_history *h, fa_frame_record *out, uint64_t *more, size_t max);

/* A copy of the newest records with their words past FA_TAG_MAX, in
 * arrays of its own: what the readers of every path's bytes work on. */
struct fa_history_frames {
    fa_frame_record *recs;
    uint64_t        *more; /* more_paths words a record */
    size_t           count;
    uint32_t         more_paths;
};
/* The newest records, up to max, into *f (free it with
 * fa__history_frames_free, whatever this returns); 0 without memory. */
int fa__history_take(struct fa_history *h, size_t max, struct fa_history_frames *f);
void fa__history_frames_free(struct fa_history_frames *f);
/* Record k's bytes for path i: from the record, or past FA_TAG_MAX from
 * its more words. */
static inline uint64_t fa__history_frame_bytes(const struct fa_history_frames *f, size_t k, uint32_t i) {
    return i < FA_TAG_MAX ? f->recs[k].tag_bytes[i] : f->more[k * f->more_paths + (i - FA_TAG_MAX)];
}
void fa__history_summarise(struct fa_history *h, fa_history_summary *out);

#endif
