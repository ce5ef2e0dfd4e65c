/* The per-frame history: a ring of the creating thread's last frames,
 * written by that thread alone and read by any, without a lock. */
#ifndef FA_HISTORY_H
#define FA_HISTORY_H

#include <stdatomic.h>

#include "framealloc.h"

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
/* Appends a record: head's fields, and tag_bytes[0 .. paths) as its bytes
 * per path (the slot's words past them are zero, as paths only grow). One
 * writer only; no effect without a ring. */
void fa__history_put(struct fa_history *h, const fa_frame_record *head, const uint64_t *tag_bytes,
                     uint32_t paths);
/* The newest records, up to max, oldest first; a record the writer
 * overwrote while it was read is left out. */
size_t fa__history_copy(struct fa_history *h, fa_frame_record *out, size_t max);
void fa__history_summarise(struct fa_history *h, fa_history_summary *out);

#endif
