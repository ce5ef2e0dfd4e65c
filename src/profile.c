/* SPDX-License-Identifier: MIT */
/* Profiling queries: each thread's and each tag path's frame metrics, the
 * hot sites, and the bandwidth counters (docs/profiling.md).
 * Floor: API (docs/internals.md). It reads the thread states under the
 * registry lock, the history (records and the paths past FA_TAG_MAX) and the site table.
 * Invariants: every query copies what it reads and sorts or sums the copy,
 * holding no lock while it reports. */
#include <stdlib.h>
#include <string.h>

#include "attribution.h"
#include "observe.h"

/* Room to fill, and statistics on: FA_OK, else reported for fn. */
static fa_error metrics_usable(fa_alloc *a, const void *out, size_t max, const char *fn) {
    fa_error e = fa__query_usable(a, out, max, fn);
    if (e != FA_OK)
        return e;
    if (!fa__stats_on(a))
        return fa__report(&a->sink, FA_ERR_STATE, 0, "%s: statistics are off in this allocator's config", fn);
    return FA_OK;
}

/* ---- per thread ---------------------------------------------------------- */

struct thread_walk {
    fa_thread_metrics *out;
    size_t             max, count;
    struct fa_ledger  *ledger;
};

static void thread_metrics(struct fa_thread *th, void *arg) {
    struct thread_walk *w = (struct thread_walk *)arg;
    if (w->count < w->max)
        fa__observe_thread_metrics(th, &w->out[w->count]);
    w->count++;
}

/* The threads that exited, oldest first, after the live ones: under the
 * registry lock with them (which also guards the departed ring), so that a
 * thread exiting meanwhile is in one list or the other. */
static void departed_metrics(void *arg) {
    struct thread_walk *w = (struct thread_walk *)arg;
    const struct fa_ledger *l = w->ledger;
    uint64_t n = l->departed.count < FA_DEPARTED_MAX ? l->departed.count : FA_DEPARTED_MAX;
    for (uint64_t k = l->departed.count - n; k < l->departed.count; k++) {
        if (w->count < w->max)
            w->out[w->count] = l->departed.ring[k % FA_DEPARTED_MAX];
        w->count++;
    }
}

size_t fa_thread_metrics_get(fa_alloc *a, fa_thread_metrics *out, size_t max) {
    if (metrics_usable(a, out, max, "fa_thread_metrics_get") != FA_OK)
        return 0;
    struct fa_thread *self = fa__thread_find(&a->threads);
    if (self != NULL)
        fa__attr_frame_settle(a, self); /* the caller's own figures exact */
    struct thread_walk w = {out, max, 0, a->ledger};
    fa__threads_each_then(&a->threads, thread_metrics, departed_metrics, &w);
    return w.count;
}

/* ---- per tag path, over the history ------------------------------------- */

size_t fa_tag_metrics_get(fa_alloc *a, fa_tag_metrics *out, size_t max) {
    if (metrics_usable(a, out, max, "fa_tag_metrics_get") != FA_OK)
        return 0;
    const struct fa_tags *tags = &a->ledger->tags;
    struct fa_history *h = &a->ledger->history;
    uint32_t paths = fa__tag_count(tags);
    if (max == 0) /* the count alone: no history to read */
        return paths;
    struct fa_history_frames f;
    if (!fa__history_take(h, h->capacity, &f)) {
        fa__history_frames_free(&f);
        fa__report(&a->sink, FA_ERR_NOMEM, h->capacity * (sizeof *f.recs + h->more_paths * sizeof *f.more),
                   "fa_tag_metrics_get: no memory for the history");
        return 0;
    }
    uint64_t all = 0;
    for (size_t k = 0; k < f.count; k++)
        for (uint32_t i = 0; i < paths; i++)
            all += fa__history_frame_bytes(&f, k, i);
    for (uint32_t i = 0; i < paths && i < max; i++) {
        uint64_t sum = 0, peak = 0;
        for (size_t k = 0; k < f.count; k++) {
            uint64_t bytes = fa__history_frame_bytes(&f, k, i);
            sum += bytes;
            peak = bytes > peak ? bytes : peak;
        }
        out[i].path = fa__tag(tags, i)->path;
        out[i].avg_bytes = f.count != 0 ? (double)sum / (double)f.count : 0.0;
        out[i].peak_bytes = peak;
        out[i].share = all != 0 ? (double)sum / (double)all : 0.0;
    }
    fa__history_frames_free(&f);
    return paths;
}

/* ---- hot sites ----------------------------------------------------------- */

static int more_bytes_first(const void *x, const void *y) {
    const struct fa_site_entry *p = (const struct fa_site_entry *)x, *q = (const struct fa_site_entry *)y;
    return p->bytes != q->bytes ? (p->bytes < q->bytes ? 1 : -1) : (p->samples < q->samples) - (p->samples > q->samples);
}

size_t fa_sites_get(fa_alloc *a, fa_site *out, size_t max, double min_share) {
    if (fa__query_usable(a, out, max, "fa_sites_get") != FA_OK)
        return 0;
    if (a->ledger->sites.slot == NULL) {
        fa__report(&a->sink, FA_ERR_STATE, 0, "fa_sites_get: sites are off (cfg.site_sample_bytes is 0)");
        return 0;
    }
    struct fa_site_entry *all = (struct fa_site_entry *)malloc((FA__SITE_SLOTS + 1) * sizeof *all);
    if (all == NULL) {
        fa__report(&a->sink, FA_ERR_NOMEM, 0, "fa_sites_get: no memory for the copy");
        return 0;
    }
    size_t n = fa__site_copy(&a->ledger->sites, all), kept = 0;
    qsort(all, n, sizeof *all, more_bytes_first);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += all[i].bytes;
    for (size_t i = 0; i < n; i++) {
        double share = total != 0 ? (double)all[i].bytes / (double)total : 0.0;
        if (share < min_share)
            break; /* the rest have less */
        if (kept < max)
            out[kept] = (fa_site){all[i].site,
                                  all[i].samples,
                                  all[i].count,
                                  all[i].bytes,
                                  all[i].count != 0 ? (double)all[i].bytes / (double)all[i].count : 0.0,
                                  share,
                                  (void *const *)all[i].backtrace,
                                  all[i].depth};
        kept++;
    }
    free(all);
    return kept;
}

fa_error fa_sites_reset(fa_alloc *a) {
    if (a == NULL)
        return fa__null_alloc("fa_sites_reset");
    if (a->ledger->sites.slot == NULL)
        return fa__report(&a->sink, FA_ERR_STATE, 0, "fa_sites_reset: sites are off (cfg.site_sample_bytes is 0)");
    fa__site_table_clear(&a->ledger->sites);
    return FA_OK;
}

/* ---- bandwidth ----------------------------------------------------------- */

fa_error fa_bandwidth_record(fa_alloc *a, uint64_t read_bytes, uint64_t write_bytes) {
    if (a == NULL)
        return fa__null_alloc("fa_bandwidth_record");
    atomic_fetch_add_explicit(&a->ledger->read_bytes, read_bytes, memory_order_relaxed);
    atomic_fetch_add_explicit(&a->ledger->written_bytes, write_bytes, memory_order_relaxed);
    return FA_OK;
}

uint64_t fa_bandwidth_copy(fa_alloc *a, void *dst, const void *src, size_t n) {
    if (a == NULL) {
        fa__null_alloc("fa_bandwidth_copy");
        return 0;
    }
    if ((dst == NULL || src == NULL) && n != 0) {
        fa__report(&a->sink, FA_ERR_INVALID, n, "fa_bandwidth_copy: NULL buffer");
        return 0;
    }
    uint64_t began = fa__now_ns();
    if (n != 0)
        memcpy(dst, src, n);
    uint64_t took = fa__now_ns() - began;
    fa_bandwidth_record(a, n, n);
    return took;
}

uint64_t fa_bandwidth_scan(fa_alloc *a, const void *p, size_t n) {
    if (a == NULL) {
        fa__null_alloc("fa_bandwidth_scan");
        return 0;
    }
    if (p == NULL && n != 0) {
        fa__report(&a->sink, FA_ERR_INVALID, n, "fa_bandwidth_scan: NULL buffer");
        return 0;
    }
    uint64_t began = fa__now_ns();
    const unsigned char *b = (const unsigned char *)p;
    uint64_t sum = 0;
    size_t i = 0;
    for (; i + sizeof(uint64_t) <= n; i += sizeof(uint64_t)) { /* a word at a time, as a real scan reads */
        uint64_t w;
        memcpy(&w, b + i, sizeof w);
        sum += w;
    }
    for (; i < n; i++)
        sum += b[i];
    volatile uint64_t keep = sum; /* the reads are the point: not optimised away */
    (void)keep;
    uint64_t took = fa__now_ns() - began;
    fa_bandwidth_record(a, n, 0);
    return took;
}

fa_error fa_bandwidth_get(fa_alloc *a, uint64_t *read_bytes, uint64_t *write_bytes) {
    if (a == NULL)
        return fa__null_alloc("fa_bandwidth_get");
    if (read_bytes == NULL || write_bytes == NULL)
        return fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_bandwidth_get: NULL output");
    *read_bytes = atomic_load_explicit(&a->ledger->read_bytes, memory_order_relaxed);
    *write_bytes = atomic_load_explicit(&a->ledger->written_bytes, memory_order_relaxed);
    return FA_OK;
}
