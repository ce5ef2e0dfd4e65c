/* SPDX-License-Identifier: MIT */
/* The statistics API: fa_stats_get, fa_tag_stats_get, and the history's
 * fa_history_get and fa_history_summary_get.
 * Floor: API (docs/internals.md). Of the other API files it calls frame.c
 * (fa_frame_number) only; budgets.c stands on it (stats.h).
 * Invariants: a snapshot sums what each thread last published, the
 * caller's own state settled first. A path's peaks are raised under the
 * ledger's peaks lock, the kinds' and the total's in the live figures
 * (tally.h), so snapshots never lower them. A caller built against an
 * older fa_stats gets that layout and nothing past it. A path's subtree sums
 * in one backward pass because a child's id is above its parent's
 * (tag_table.c). */
#include <stdlib.h>
#include <string.h>

#include "stats.h"

static void add_thread(struct fa_thread *th, void *arg) {
    struct fa_sum *sum = (struct fa_sum *)arg;
    fa__tally_add(sum, &th->tally);
    sum->threads++;
}

/* Everything counted for the paths of a fresh (zero) sum, as the threads
 * last published it (with `settle`, the caller's own state settled first). */
static void gather(fa_alloc *a, struct fa_sum *sum, int settle) {
    struct fa_thread *th = settle ? fa__thread_find(&a->threads) : NULL;
    if (th != NULL) {
        fa__attr_frame_settle(a, th);
        fa__thread_publish(th);
    }
    fa__threads_each(&a->threads, add_thread, sum);
    fa__tally_add(sum, &a->ledger->retired);
    for (unsigned c = 0; c < FA__POOL_CLASSES; c++) {
        uint64_t slabs, in_use; /* in_use waits for the owners' collections: blocks in use are counted */
        fa__pool_shared_census(&a->pools, c, &slabs, &in_use);
        sum->slabs[c] += slabs;
        sum->slab_blocks[c] = sum->slabs[c] * (a->cfg.slab_size >> (c + 3));
    }
}

static void budget_fill(fa_budget_stats *out, const struct fa_budget *b, uint64_t usage) {
    out->soft = atomic_load(&b->soft);
    out->hard = atomic_load(&b->hard);
    out->usage = usage;
    out->reserved = fa__budget_reserved(b);
    out->soft_crossings = atomic_load(&b->crossings);
    out->refusals = atomic_load(&b->refusals);
}

/* The live bytes of each of the n paths with everything below it.
 * Children are interned after their parents, so one backward pass adds
 * every subtree up. */
static void subtree_live(const fa_tag_stats *tags, uint32_t n, uint64_t *subtree) {
    for (uint32_t i = 0; i < n; i++)
        subtree[i] = fa__tag_live_bytes(&tags[i]);
    for (uint32_t i = n; i-- > 1;)
        subtree[tags[i].parent] += subtree[i];
}

/* The n tag paths and their budgets; a budget counts its whole subtree
 * (subtree: room for n). */
static void tags_fill(fa_alloc *a, fa_stats *out, fa_tag_stats *tags, uint32_t n, uint64_t *subtree) {
    const struct fa_ledger *l = a->ledger;
    for (uint32_t i = 0; i < n; i++) {
        const struct fa_tag *t = fa__tag(&l->tags, i);
        tags[i].path = t->path;
        tags[i].parent = t->parent;
        tags[i].depth = t->depth;
    }
    subtree_live(tags, n, subtree);
    for (uint32_t i = 1; i < n; i++) {
        uint32_t slot = atomic_load(&fa__tag(&l->tags, i)->budget);
        if (slot != 0)
            budget_fill(&tags[i].budget, &l->budgets.slot[slot], subtree[i]);
    }
    budget_fill(&out->global_budget, &l->budgets.slot[FA__BUDGET_GLOBAL], subtree[FA__TAG_ROOT]);
}

static void frame_budget_fill(fa_alloc *a, fa_stats *out) {
    const struct fa_budgets *b = &a->ledger->budgets;
    out->frame_budget.soft = atomic_load(&b->frame_soft);
    out->frame_budget.hard = atomic_load(&b->frame_hard);
    out->frame_budget.usage = out->frame.peak_bytes;
    out->frame_budget.soft_crossings = atomic_load(&b->frame_crossings);
    out->frame_budget.refusals = atomic_load(&b->frame_refusals);
}

/* fa_stats as versions 2 and 3 had it: the struct up to its tags, and up
 * to tag_paths. */
#define STATS_V2_SIZE offsetof(fa_stats, threads_seen)
#define STATS_V3_SIZE offsetof(fa_stats, tag_paths)

/* The layouts the library serves: [version] = its size. */
static const size_t stats_sizes[FA_STATS_VERSION + 1] = {[2] = STATS_V2_SIZE, [3] = STATS_V3_SIZE,
                                                         [FA_STATS_VERSION] = sizeof(fa_stats)};

/* The version of fa_stats the caller compiled, or 0 for a size and version
 * the library does not know. A zero size is the size of the caller's
 * version; a zero version is the one its size names, or this header's
 * when both are 0. */
static uint32_t caller_version(const fa_stats *out) {
    if (out->version == 0) {
        for (uint32_t v = FA_STATS_VERSION; v >= 2; v--)
            if (out->size == 0 || out->size == stats_sizes[v])
                return v;
        return 0;
    }
    if (out->version < 2 || out->version > FA_STATS_VERSION)
        return 0;
    return out->size == 0 || out->size == stats_sizes[out->version] ? out->version : 0;
}

/* Checks the caller's struct and whether statistics are on. */
static fa_error stats_usable(fa_alloc *a, const fa_stats *out, const char *fn) {
    if (out == NULL)
        return fa__report(&a->sink, FA_ERR_INVALID, 0, "%s: NULL output", fn);
    if (caller_version(out) == 0)
        return fa__report(&a->sink, FA_ERR_INVALID, 0, "%s: fa_stats size or version does not match", fn);
    if (!fa__stats_on(a))
        return fa__report(&a->sink, FA_ERR_STATE, 0, "%s: statistics are off in this allocator's config", fn);
    return FA_OK;
}

/* The whole snapshot into *out, this header's layout, and every path's
 * figures into a new array (*all, out->tag_paths long, the caller's to
 * free; NULL: not wanted); with `settle`, the calling thread's own state
 * settled first. FA_ERR_NOMEM, reporting nothing, without memory. */
static fa_error take(fa_alloc *a, fa_stats *out, fa_tag_stats **all, int settle) {
    uint32_t n = fa__tag_count(&a->ledger->tags);
    struct fa_sum *sum = fa__sum_new(n);
    fa_tag_stats *tags = (fa_tag_stats *)calloc(n, sizeof *tags);
    uint64_t *subtree = (uint64_t *)malloc(n * sizeof *subtree);
    if (sum == NULL || tags == NULL || subtree == NULL) {
        free(sum);
        free(tags);
        free(subtree);
        return FA_ERR_NOMEM;
    }
    gather(a, sum, settle);
    memset(out, 0, sizeof *out);
    out->size = sizeof *out;
    out->version = FA_STATS_VERSION;
    fa__mutex_lock(&a->ledger->peaks_lock);
    fa__stats_fill(out, tags, sum, &a->ledger->peaks, &a->ledger->live);
    fa__mutex_unlock(&a->ledger->peaks_lock);
    out->frame_number = fa_frame_number(a);
    out->threads_alive = sum->threads;
    out->threads_seen = atomic_load(&a->threads.seen);
    out->backend_calls = atomic_load(&a->meter.calls);
    out->backend_bytes = atomic_load(&a->meter.bytes);
    out->chunk_cache_bytes = fa__chunk_cached_bytes(&a->chunks);
    out->empty_slab_bytes = fa__pool_empty_bytes(&a->pools);
    tags_fill(a, out, tags, n, subtree);
    frame_budget_fill(a, out);
    out->tag_paths = n;
    out->tag_count = n < FA_TAG_MAX ? n : FA_TAG_MAX;
    memcpy(out->tags, tags, out->tag_count * sizeof *tags);
    free(sum);
    free(subtree);
    if (all != NULL)
        *all = tags;
    else
        free(tags);
    return FA_OK;
}

/* fa_stats_get, reporting for fn, with every path into *all as take. */
static fa_error stats_get(fa_alloc *a, fa_stats *out, fa_tag_stats **all, const char *fn) {
    fa_error e = stats_usable(a, out, fn);
    if (e != FA_OK)
        return e;
    uint32_t version = caller_version(out);
    size_t size = stats_sizes[version];
    fa_stats *full = size == sizeof *out ? out : (fa_stats *)malloc(sizeof *full); /* an older layout: copied */
    if (full == NULL || take(a, full, all, 1) != FA_OK) {
        if (full != out)
            free(full);
        return fa__report(&a->sink, FA_ERR_NOMEM, 0, "%s: no memory for the sums", fn);
    }
    if (full != out) {
        memcpy(out, full, size);
        out->size = (uint32_t)size;
        out->version = version;
        free(full);
    }
    return FA_OK;
}

fa_error fa_stats_get(fa_alloc *a, fa_stats *out) {
    if (a == NULL)
        return fa__null_alloc("fa_stats_get");
    return stats_get(a, out, NULL, "fa_stats_get");
}

fa_error fa__stats_all(fa_alloc *a, fa_stats *out, fa_tag_stats **all, const char *fn) {
    out->size = 0;
    out->version = 0;
    return stats_get(a, out, all, fn);
}

size_t fa_tag_stats_get(fa_alloc *a, fa_tag_stats *out, size_t max) {
    if (fa__query_usable(a, out, max, "fa_tag_stats_get") != FA_OK)
        return 0;
    fa_stats *st = (fa_stats *)malloc(sizeof *st);
    if (st == NULL) {
        fa__report(&a->sink, FA_ERR_NOMEM, sizeof *st, "fa_tag_stats_get: no memory for the snapshot");
        return 0;
    }
    fa_tag_stats *all = NULL;
    size_t n = 0;
    if (fa__stats_all(a, st, &all, "fa_tag_stats_get") == FA_OK) { /* which reports statistics off */
        n = (size_t)st->tag_paths;
        if (out != NULL)
            memcpy(out, all, (n < max ? n : max) * sizeof *out);
        free(all);
    }
    free(st);
    return n;
}

/* The live bytes of a path and everything below it, for a new budget. */
uint64_t fa__stats_live_under(fa_alloc *a, uint32_t tag) {
    fa_stats *st = (fa_stats *)malloc(sizeof *st);
    fa_tag_stats *all = NULL;
    uint64_t live = 0;
    if (st != NULL && fa__stats_all(a, st, &all, "fa_budget_set") == FA_OK) {
        uint32_t n = (uint32_t)st->tag_paths;
        uint64_t *subtree = (uint64_t *)malloc(n * sizeof *subtree);
        if (subtree != NULL && tag < n) {
            subtree_live(all, n, subtree);
            live = subtree[tag];
        }
        free(subtree);
        free(all);
    }
    free(st);
    return live;
}

fa_error fa__stats_peek(fa_alloc *a, fa_stats *out, fa_tag_stats **all) {
    if (!fa__stats_on(a))
        return FA_ERR_STATE;
    return take(a, out, all, 0);
}

/* ---- history ------------------------------------------------------------- */

size_t fa_history_get(fa_alloc *a, fa_frame_record *out, size_t max) {
    if (fa__query_usable(a, out, max, "fa_history_get") != FA_OK)
        return 0;
    return fa__history_copy(&a->ledger->history, out, NULL, max);
}

fa_error fa_history_summary_get(fa_alloc *a, fa_history_summary *out) {
    if (a == NULL)
        return fa__null_alloc("fa_history_summary_get");
    if (out == NULL)
        return fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_history_summary_get: NULL output");
    fa__history_summarise(&a->ledger->history, out);
    return FA_OK;
}
