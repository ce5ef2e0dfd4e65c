/* SPDX-License-Identifier: MIT */
/* fa_stats_print: the snapshot as a human-readable table, for a log or a
 * terminal (the JSON snapshot, json.c, is for programs).
 * Floor: API, on top: it stands on the public API (fa_history_summary_get,
 * the metrics and sites), stats.c's snapshot of every tag path and the
 * instance's event sink, as json.c does.
 * Invariant: it prints only what the snapshot holds, in fixed units
 * (KiB, microseconds), one line per kind, path and class in use. */
#include <inttypes.h>
#include <stdlib.h>

#include "os.h"
#include "stats.h"

#define KIB 1024.0

static double kib(uint64_t bytes) {
    return (double)bytes / KIB;
}

static void print_kind(FILE *out, const char *name, const fa_kind_stats *k) {
    fprintf(out, "  %-8s %12" PRIu64 " %12" PRIu64 " %12.1f %12.1f %12.1f\n", name, k->allocations, k->frees,
            kib(k->bytes), kib(k->live_bytes), kib(k->peak_bytes));
}

static void print_kinds(FILE *out, const fa_stats *st) {
    fprintf(out, "  %-8s %12s %12s %12s %12s %12s\n", "kind", "allocations", "frees", "KiB", "live KiB",
            "peak KiB");
#define FA__PRINT_KIND(name) print_kind(out, #name, &st->name);
    FA_KINDS(FA__PRINT_KIND)
#undef FA__PRINT_KIND
}

static void print_frames(FILE *out, const fa_history_summary *h) {
    if (h->frames == 0)
        return;
    fprintf(out, "frames: the last %" PRIu64 " of the creating thread\n", h->frames);
    fprintf(out, "  time       %.0f us on average; p50 %.0f, p95 %.0f, p99 %.0f, max %.0f us\n", h->avg_frame_ns / 1e3,
            (double)h->p50_frame_ns / 1e3, (double)h->p95_frame_ns / 1e3, (double)h->p99_frame_ns / 1e3,
            (double)h->max_frame_ns / 1e3);
    fprintf(out, "  per frame  %.0f allocations, %.1f KiB on average; peak %.1f KiB; %.0f%% of its chunks used\n",
            h->avg_allocations, h->avg_bytes / KIB, kib(h->peak_bytes), 100 * h->efficiency);
    if (h->read_mbps + h->write_mbps > 0)
        fprintf(out, "  bandwidth  %.1f MB/s read, %.1f MB/s written (as recorded)\n", h->read_mbps, h->write_mbps);
}

/* Each live thread's frames, and each path's share of the history's. */
static void print_metrics(FILE *out, fa_alloc *a) {
    fa_thread_metrics m[16];
    size_t n = fa_thread_metrics_get(a, m, 16);
    fprintf(out, "threads (frame memory over each one's life)\n");
    fprintf(out, "  %-10s %8s %14s %14s %12s\n", "thread", "frames", "allocs/frame", "KiB/frame", "peak KiB");
    for (size_t i = 0; i < n && i < 16; i++)
        fprintf(out, "  %-3" PRIu64 "%-7s %8" PRIu64 " %14.1f %14.1f %12.1f%s\n", m[i].thread,
                m[i].is_creator ? " (main)" : "", m[i].frames, m[i].avg_allocations, m[i].avg_bytes / KIB,
                kib(m[i].peak_frame_bytes), m[i].alive ? "" : "  (exited)");
    if (n > 16)
        fprintf(out, "  ... and %zu more\n", n - 16);
}

/* The hot sites, when they are counted: the five with the most bytes. */
static void print_sites(FILE *out, fa_alloc *a) {
    fa_site s[5];
    if (a->cfg.site_sample_bytes == 0)
        return;
    size_t n = fa_sites_get(a, s, 5, 0.0);
    fprintf(out, "hot sites (1 sample per %zu bytes)\n", a->cfg.site_sample_bytes);
    for (size_t i = 0; i < n && i < 5; i++) {
        char symbol[96] = "";
        fa__site_symbol(s[i].site, symbol, sizeof symbol);
        fprintf(out, "  %-18p %-32s %10" PRIu64 " allocations %10.1f KiB %5.1f%%\n", s[i].site, symbol, s[i].count,
                kib(s[i].bytes), 100 * s[i].share);
    }
}

/* A limit of 0 is none: "no limit", not "0 KiB". */
static void print_limit(FILE *out, const char *name, uint64_t bytes) {
    if (bytes == 0)
        fprintf(out, "%s no limit", name);
    else
        fprintf(out, "%s %.0f KiB", name, kib(bytes));
}

static void print_budget(FILE *out, const fa_budget_stats *b) {
    if ((b->soft | b->hard) == 0) {
        fprintf(out, "\n");
        return;
    }
    print_limit(out, "  soft", b->soft);
    print_limit(out, " / hard", b->hard);
    fprintf(out, ", usage %.1f KiB, %" PRIu64 " warning%s, %" PRIu64 " refused\n", kib(b->usage), b->soft_crossings,
            b->soft_crossings == 1 ? "" : "s", b->refusals);
}

static void print_tags(FILE *out, const fa_stats *st, const fa_tag_stats *paths) {
    fprintf(out, "tag paths (live KiB; frame: all of its frames, and the largest; the root's budget is the global one)\n");
    fprintf(out, "  %-24s %10s %10s %8s %8s %8s  %s\n", "path", "frame KiB", "peak KiB", "pool", "heap", "scratch",
            "budget");
    for (uint64_t i = 0; i < st->tag_paths; i++) {
        const fa_tag_stats *t = &paths[i];
        fprintf(out, "  %-24s %10.1f %10.1f %8.1f %8.1f %8.1f", i == 0 ? "(root)" : t->path, kib(t->frame.bytes),
                kib(t->frame.peak_bytes), kib(t->pool.live_bytes), kib(t->heap.live_bytes), kib(t->scratch.live_bytes));
        print_budget(out, i == 0 ? &st->global_budget : &t->budget); /* the root's: the global one */
    }
    if ((st->frame_budget.soft | st->frame_budget.hard) != 0) {
        fprintf(out, "  %-24s %10s %10s %8s %8s %8s", "(each frame)", "", "", "", "", "");
        print_budget(out, &st->frame_budget);
    }
}

static void print_classes(FILE *out, const fa_stats *st) {
    fprintf(out, "pool classes in use\n");
    for (int c = 0; c < FA_POOL_CLASS_COUNT; c++) {
        const fa_class_stats *k = &st->classes[c];
        if (k->slabs != 0)
            fprintf(out, "  %4" PRIu64 " B: %" PRIu64 " slabs, %" PRIu64 " blocks in use, %" PRIu64 " free (%.0f%%)\n",
                    k->block_size, k->slabs, k->blocks_in_use, k->blocks_free, 100 * k->occupancy);
    }
}

fa_error fa_stats_print(fa_alloc *a, FILE *out) {
    if (a == NULL)
        return fa__null_alloc("fa_stats_print");
    fa_stats *st = (fa_stats *)malloc(sizeof *st);
    if (st == NULL)
        return FA_ERR_NOMEM;
    fa_history_summary h;
    fa_tag_stats *paths = NULL;
    fa_error e = fa__stats_all(a, st, &paths, "fa_stats_print"); /* reports statistics off */
    if (e == FA_OK && out == NULL)
        e = fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_stats_print: NULL stream");
    if (e == FA_OK)
        e = fa_history_summary_get(a, &h);
    if (e == FA_OK) {
        fprintf(out, "framealloc: frame %" PRIu64 ", %" PRIu64 " threads (%" PRIu64 " seen), %" PRIu64
                " backend calls, %.1f KiB held (chunk cache %.1f, empty slabs %.1f)\n",
                st->frame_number, st->threads_alive, st->threads_seen, st->backend_calls,
                kib(st->backend_bytes), kib(st->chunk_cache_bytes), kib(st->empty_slab_bytes));
        print_kinds(out, st);
        print_frames(out, &h);
        print_metrics(out, a);
        print_tags(out, st, paths);
        print_classes(out, st);
        print_sites(out, a);
        if (ferror(out))
            e = FA_ERR_STATE;
    }
    free(paths);
    free(st);
    return e;
}
