/* The per-frame history: a ring of the creating thread's last frames. */
#ifndef FA_HISTORY_H
#define FA_HISTORY_H

#include <pthread.h>

#include "framealloc.h"

struct fa_history {
    pthread_mutex_t  lock;     /* the writer is one thread, readers any */
    fa_frame_record *ring;     /* NULL when statistics are off */
    size_t           capacity;
    size_t           next;     /* where the next record goes */
    size_t           count;    /* records held, up to capacity */
};

/* 0 when there is no memory for the ring. */
int fa__history_init(struct fa_history *h, size_t capacity);
void fa__history_fini(struct fa_history *h);
/* The next record, written in place between begin and commit (the lock
 * held); NULL when there is no history. Its tag_bytes past the paths that
 * existed when the slot was last written are zero, as tags only grow. */
fa_frame_record *fa__history_begin(struct fa_history *h);
void fa__history_commit(struct fa_history *h);
size_t fa__history_copy(struct fa_history *h, fa_frame_record *out, size_t max);
void fa__history_summarise(struct fa_history *h, fa_history_summary *out);

#endif
