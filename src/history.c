/* The per-frame history: a ring of the creating thread's last frames,
 * written in place and summarised on demand.
 * Floor: structures (docs/internals.md). It calls nothing above it: no
 * thread, instance, attribution or API file.
 * Invariants: count never passes capacity, and the oldest record is count
 * places behind next. The writer holds the lock from fa__history_begin to
 * fa__history_commit, so a reader never sees half a record. Without a ring
 * (statistics off) begin returns NULL and readers find nothing. */
#include "history.h"

#include <stdlib.h>
#include <string.h>

#include "invariant.h"

int fa__history_init(struct fa_history *h, size_t capacity) {
    pthread_mutex_init(&h->lock, NULL);
    h->capacity = capacity;
    h->next = 0;
    h->count = 0;
    h->ring = capacity != 0 ? (fa_frame_record *)calloc(capacity, sizeof *h->ring) : NULL;
    return capacity == 0 || h->ring != NULL;
}

void fa__history_fini(struct fa_history *h) {
    free(h->ring);
    pthread_mutex_destroy(&h->lock);
}

fa_frame_record *fa__history_begin(struct fa_history *h) {
    if (h->ring == NULL)
        return NULL;
    pthread_mutex_lock(&h->lock);
    return &h->ring[h->next];
}

void fa__history_commit(struct fa_history *h) {
    fa__assert_internal(h->next < h->capacity && h->count <= h->capacity);
    h->next = (h->next + 1) % h->capacity;
    if (h->count < h->capacity)
        h->count++;
    pthread_mutex_unlock(&h->lock);
}

/* Lock held: the i-th oldest record. */
static const fa_frame_record *nth(const struct fa_history *h, size_t i) {
    return &h->ring[(h->next + h->capacity - h->count + i) % h->capacity];
}

size_t fa__history_copy(struct fa_history *h, fa_frame_record *out, size_t max) {
    if (h->ring == NULL)
        return 0;
    pthread_mutex_lock(&h->lock);
    size_t skip = h->count > max ? h->count - max : 0; /* the newest max of them */
    size_t n = h->count - skip;
    for (size_t i = 0; i < n; i++)
        out[i] = *nth(h, skip + i);
    pthread_mutex_unlock(&h->lock);
    return n;
}

void fa__history_summarise(struct fa_history *h, fa_history_summary *out) {
    memset(out, 0, sizeof *out);
    if (h->ring == NULL)
        return;
    double ns = 0, allocations = 0, bytes = 0, reserved = 0;
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->count; i++) {
        const fa_frame_record *r = nth(h, i);
        ns += (double)r->duration_ns;
        allocations += (double)r->allocations;
        bytes += (double)r->bytes;
        reserved += (double)r->reserved_bytes;
        if (r->peak_bytes > out->peak_bytes)
            out->peak_bytes = r->peak_bytes;
    }
    out->frames = h->count;
    pthread_mutex_unlock(&h->lock);
    if (out->frames != 0) {
        out->avg_frame_ns = ns / (double)out->frames;
        out->avg_allocations = allocations / (double)out->frames;
        out->avg_bytes = bytes / (double)out->frames;
    }
    out->efficiency = reserved > 0 ? bytes / reserved : 0.0;
}
