/* SPDX-License-Identifier: MIT */
/* The per-frame history: a ring of the creating thread's last frames,
 * summarised on demand. The creating thread is its only writer; readers
 * take no lock: each slot has a sequence count, odd while the writer is in
 * it, and a reader keeps a record only if the count was even and unchanged
 * across its copy and is the one the record's place in the ring expects.
 * Every word is read and written with a relaxed atomic access, so a read
 * racing a write is defined, and simply left out.
 * Floor: structures (docs/internals.md). It calls nothing above it: no
 * thread, instance, attribution or API file.
 * Invariants: record k (counting from 0) goes to slot k % capacity, whose
 * count is then 2 * (k / capacity + 1). Without a ring (statistics off)
 * put does nothing and readers find nothing. */
#include "history.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "invariant.h"

/* A record is words: the fields, then the per-path bytes; readers copy it
 * word by word. */
#define RECORD_WORDS (sizeof(fa_frame_record) / sizeof(uint64_t))
_Static_assert(offsetof(fa_frame_record, tag_bytes) % sizeof(uint64_t) == 0, "a record is whole words");

int fa__history_init(struct fa_history *h, size_t capacity, uint32_t paths) {
    h->capacity = capacity;
    h->next_slot = 0;
    atomic_init(&h->written, 0);
    h->ring = NULL;
    h->more = NULL;
    h->more_paths = paths > FA_TAG_MAX ? paths - FA_TAG_MAX : 0;
    h->seq = NULL;
    if (capacity == 0)
        return 1;
    h->ring = (fa_frame_record *)calloc(capacity, sizeof *h->ring);
    h->more = (uint64_t *)calloc(capacity * h->more_paths + 1, sizeof *h->more); /* +1: NULL is no memory */
    h->seq = (_Atomic uint64_t *)calloc(capacity, sizeof *h->seq);
    if (h->ring == NULL || h->more == NULL || h->seq == NULL) {
        fa__history_fini(h);
        return 0;
    }
    return 1;
}

void fa__history_fini(struct fa_history *h) {
    free(h->ring);
    free(h->more);
    free((void *)h->seq);
    h->ring = NULL;
    h->more = NULL;
    h->seq = NULL;
}

/* n words from a slot the writer may be in, each read atomically. */
static void copy_words(uint64_t *to, const uint64_t *from, size_t n) {
    for (size_t i = 0; i < n; i++)
        to[i] = FA__LOAD(&from[i], RELAXED);
}

/* Record k into *out, and its more words into more unless NULL; 0 when
 * the writer has overwritten it or is in it. */
static int read_record(struct fa_history *h, uint64_t k, fa_frame_record *out, uint64_t *more) {
    size_t slot = (size_t)(k % h->capacity);
    uint64_t expected = 2 * (k / h->capacity + 1);
    if (atomic_load_explicit(&h->seq[slot], memory_order_acquire) != expected)
        return 0;
    copy_words((uint64_t *)(void *)out, (const uint64_t *)(const void *)&h->ring[slot], RECORD_WORDS);
    if (more != NULL)
        copy_words(more, h->more + slot * h->more_paths, h->more_paths);
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&h->seq[slot], memory_order_relaxed) == expected;
}

/* The first record of the newest `max` still in the ring, and the end. */
static uint64_t oldest(struct fa_history *h, size_t max, uint64_t *end) {
    *end = atomic_load_explicit(&h->written, memory_order_acquire);
    uint64_t held = *end < h->capacity ? *end : h->capacity;
    return *end - (held < max ? held : max);
}

size_t fa__history_copy(struct fa_history *h, fa_frame_record *out, uint64_t *more, size_t max) {
    if (h->ring == NULL)
        return 0;
    uint64_t end, k = oldest(h, max, &end);
    size_t n = 0;
    for (; k < end; k++)
        n += (size_t)read_record(h, k, &out[n], more != NULL ? more + n * h->more_paths : NULL);
    return n;
}

int fa__history_take(struct fa_history *h, size_t max, struct fa_history_frames *f) {
    f->more_paths = h->more_paths;
    f->recs = (fa_frame_record *)malloc((max + 1) * sizeof *f->recs); /* +1: NULL is no memory */
    f->more = (uint64_t *)malloc((max * h->more_paths + 1) * sizeof *f->more);
    int room = f->recs != NULL && f->more != NULL;
    f->count = room ? fa__history_copy(h, f->recs, f->more, max) : 0;
    return room;
}

void fa__history_frames_free(struct fa_history_frames *f) {
    free(f->recs);
    free(f->more);
}

static int by_value(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return (a > b) - (a < b);
}

/* The nearest-rank percentiles of n frame times (sorted here). */
static void percentiles(uint64_t *ns, size_t n, fa_history_summary *out) {
    if (n == 0)
        return;
    qsort(ns, n, sizeof *ns, by_value);
    out->p50_frame_ns = ns[(n * 50 + 99) / 100 - 1];
    out->p95_frame_ns = ns[(n * 95 + 99) / 100 - 1];
    out->p99_frame_ns = ns[(n * 99 + 99) / 100 - 1];
    out->max_frame_ns = ns[n - 1];
}

void fa__history_summarise(struct fa_history *h, fa_history_summary *out) {
    memset(out, 0, sizeof *out);
    if (h->ring == NULL)
        return;
    double ns = 0, allocations = 0, bytes = 0, reserved = 0, read = 0, written = 0;
    uint64_t end, k = oldest(h, h->capacity, &end);
    uint64_t *times = (uint64_t *)malloc(h->capacity * sizeof *times); /* no memory: no percentiles */
    fa_frame_record r;
    for (; k < end; k++) {
        if (!read_record(h, k, &r, NULL))
            continue;
        if (times != NULL)
            times[out->frames] = r.duration_ns;
        out->frames++;
        ns += (double)r.duration_ns;
        allocations += (double)r.allocations;
        bytes += (double)r.bytes;
        reserved += (double)r.reserved_bytes;
        read += (double)r.read_bytes;
        written += (double)r.write_bytes;
        if (r.peak_bytes > out->peak_bytes)
            out->peak_bytes = r.peak_bytes;
    }
    if (out->frames != 0) {
        out->avg_frame_ns = ns / (double)out->frames;
        out->avg_allocations = allocations / (double)out->frames;
        out->avg_bytes = bytes / (double)out->frames;
    }
    out->efficiency = reserved > 0 ? bytes / reserved : 0.0;
    out->read_mbps = ns > 0 ? read / ns * 1e3 : 0.0; /* bytes per ns is GB/s: 1e3 MB/s */
    out->write_mbps = ns > 0 ? written / ns * 1e3 : 0.0;
    if (times != NULL)
        percentiles(times, (size_t)out->frames, out);
    free(times);
}
