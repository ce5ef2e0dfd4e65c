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
void fa__history_record(struct fa_history *h, const fa_frame_record *r);
size_t fa__history_copy(struct fa_history *h, fa_frame_record *out, size_t max);
void fa__history_summarise(struct fa_history *h, fa_history_summary *out);

#endif
