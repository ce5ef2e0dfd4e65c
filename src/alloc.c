/* SPDX-License-Identifier: MIT */
/* The allocator's lifecycle: fa_create and fa_destroy, the fast-path slot
 * table, and the list of live allocators that lets fa_destroy refuse a
 * pointer that is not one.
 * Floor: API (docs/internals.md). It calls no other API file: it builds the
 * instance from the floors below (config, threads, structures) and gives
 * the threads attribution's retire hook.
 * Invariants:
 * - Slot k (1 .. FA__SLOTS) of the slot block holds an allocator exactly
 *   while slot_used[k] is set: the inline path finds slot k from the
 *   pointer alone. An allocator past the 16 slots has slot 0 and an address
 *   aligned to FA__SLOT_SPAN, which the inline path reads as slot 0.
 * - Every live allocator is on the live list. fa_destroy unlinks it before
 *   anything is freed, so a second destroy finds nothing and is refused.
 * - Teardown comes after fa__threads_close: no thread state is left to use
 *   what it frees. */
#include <stdlib.h>
#include <string.h>

#include "attribution.h"
#include "config.h"
#include "debug.h"
#include "observe.h"
#include "scratch.h"
#include "trace.h"

/* Slot k's allocator lives at k * FA__ALLOC_SIZE in a block aligned to
 * FA__SLOT_SPAN, every other one at an address aligned to it, so that the
 * inline fast path finds its thread entry from the pointer (framealloc.h,
 * fa__tls_of). */
_Static_assert(sizeof(struct fa_alloc) <= FA__ALLOC_SIZE, "fa_alloc outgrew its slot");
_Static_assert((FA__SLOTS + 1) * FA__ALLOC_SIZE <= FA__SLOT_SPAN, "the slots outgrew their span");

/* Which slots are taken and which allocators are live, under one lock. The
 * slot block exists while a slot is taken. */
static struct {
    fa__mutex lock;
    unsigned char   slot_used[FA__SLOTS + 1]; /* [0] unused: slot 0 means none */
    unsigned        slots_used;
    unsigned char  *block;
    fa_alloc       *live; /* the newest first, through next_live */
} registry = {FA__MUTEX_INIT, {0}, 0, NULL, NULL};

/* Lock held. A free slot, 1 .. FA__SLOTS, or 0. */
static uint32_t take_slot(void) {
    if (registry.block == NULL)
        registry.block = (unsigned char *)fa__aligned_alloc((FA__SLOTS + 1) * FA__ALLOC_SIZE, FA__SLOT_SPAN);
    if (registry.block == NULL)
        return 0;
    uint32_t k = 1;
    while (k <= FA__SLOTS && registry.slot_used[k])
        k++;
    if (k > FA__SLOTS)
        return 0;
    registry.slot_used[k] = 1;
    registry.slots_used++;
    return k;
}

/* A zeroed allocator: in a free slot if there is one, else on its own. */
static fa_alloc *place(uint32_t *slot) {
    fa__mutex_lock(&registry.lock);
    uint32_t k = take_slot();
    fa_alloc *a = k != 0 ? (fa_alloc *)(void *)(registry.block + (size_t)k * FA__ALLOC_SIZE) : NULL;
    fa__mutex_unlock(&registry.lock);
    *slot = k;
    if (k == 0)
        a = (fa_alloc *)fa__aligned_alloc(sizeof(fa_alloc), FA__SLOT_SPAN);
    if (a != NULL)
        memset(a, 0, sizeof *a);
    return a;
}

static void unplace(fa_alloc *a, uint32_t slot) {
    if (slot == 0) {
        fa__aligned_free(a, FA__SLOT_SPAN);
        return;
    }
    fa__mutex_lock(&registry.lock);
    registry.slot_used[slot] = 0;
    if (--registry.slots_used == 0) {
        fa__aligned_free(registry.block, FA__SLOT_SPAN);
        registry.block = NULL;
    }
    fa__mutex_unlock(&registry.lock);
}

static void ledger_free(struct fa_ledger *l);

static struct fa_ledger *ledger_new(const fa_config *cfg) {
    uint32_t paths = (cfg->disable & FA_DISABLE_TAGS) ? 1 : cfg->max_tags; /* tags off: the root alone */
    struct fa_ledger *l = (struct fa_ledger *)calloc(1, sizeof *l);
    struct fa_path_tally *retired = (struct fa_path_tally *)calloc(paths, sizeof *retired);
    uint64_t(*peaks)[FA__KIND_COUNT] = (uint64_t(*)[FA__KIND_COUNT])calloc(paths, sizeof *peaks);
    if (l == NULL || retired == NULL || peaks == NULL ||
        !fa__history_init(&l->history, (cfg->disable & FA_DISABLE_STATS) ? 0 : cfg->history_frames, paths) ||
        !fa__tags_init(&l->tags, paths, cfg->max_tag_depth)) { /* each undoes itself */
        if (l != NULL)
            fa__history_fini(&l->history);
        free(retired);
        free(peaks);
        free(l);
        return NULL;
    }
    l->peaks.tag = peaks;
    fa__budgets_init(&l->budgets, cfg);
    fa__tally_init(&l->retired, retired, paths);
    fa__live_init(&l->live);
    fa__mutex_init(&l->peaks_lock);
    if (cfg->site_sample_bytes != 0 && !fa__site_table_init(&l->sites)) {
        ledger_free(l);
        return NULL;
    }
    return l;
}

static void ledger_free(struct fa_ledger *l) {
    fa__site_table_fini(&l->sites);
    fa__history_fini(&l->history);
    fa__mutex_destroy(&l->peaks_lock);
    fa__budgets_fini(&l->budgets);
    fa__tags_fini(&l->tags);
    free(l->retired.path);
    free(l->peaks.tag);
    free(l);
}

/* Everything but the thread states, which fa__threads_close detached. */
static void teardown(fa_alloc *a) {
    fa__mutex_destroy(&a->scratch.lock);
    fa__guards_fini(&a->guards); /* its blocks' backtraces, while the blocks are there */
    ledger_free(a->ledger);
    fa__heap_fini(&a->heap);
    fa__pools_fini(&a->pools);
    fa__slabmap_release();
    fa__chunks_fini(&a->chunks);
    unplace(a, a->threads.slot);
}

/* FRAMEALLOC_DEBUG over the config's level; *bad gets a value it ignored. */
static void debug_from_env(fa_config *cfg, const char **bad) {
    const char *env = getenv("FRAMEALLOC_DEBUG");
    *bad = env != NULL && !fa__debug_from_env(env, &cfg->debug) ? env : NULL;
}

fa_alloc *fa_create(const fa_config *cfg) {
    fa_config resolved;
    char why[160];
    fa_error e = fa__config_resolve(cfg, &resolved, why, sizeof why);
    /* on a size or version mismatch resolved holds no callback of the caller's */
    struct fa_sink sink = {
        .on_event = resolved.on_event, .user = resolved.event_user, .abort_on_error = resolved.abort_on_error};
    if (e != FA_OK) {
        fa__report(&sink, e, 0, "%s", why);
        return NULL;
    }
    const char *bad_env;
    debug_from_env(&resolved, &bad_env);
    uint32_t slot;
    fa_alloc *a = place(&slot);
    if (a == NULL) {
        fa__report(&sink, FA_ERR_NOMEM, sizeof *a, "fa_create: no memory for the allocator");
        return NULL;
    }
    a->cfg = resolved;
    a->sink = sink;
    a->ledger = ledger_new(&a->cfg);
    if (a->ledger == NULL) {
        unplace(a, slot);
        fa__report(&sink, FA_ERR_NOMEM, sizeof *a->ledger, "fa_create: no memory for the allocator");
        return NULL;
    }
    fa__guards_init(&a->guards);
    fa__mutex_init(&a->scratch.lock);
    fa__chunks_init(&a->chunks, &a->cfg, &a->meter);
    fa__pools_init(&a->pools, &a->cfg, a, &a->meter);
    fa__heap_init(&a->heap, &a->cfg, &a->meter);
    fa__slabmap_acquire();
    if (fa__threads_open(&a->threads, slot, &a->chunks, &a->pools, &a->ledger->budgets,
                         &a->ledger->retired) != FA_OK) {
        teardown(a);
        fa__report(&sink, FA_ERR_NOMEM, 0, "fa_create: no thread key left for another allocator");
        return NULL;
    }
    a->threads.retire = fa__attr_retire;
    a->threads.live = fa__stats_on(a) ? &a->ledger->live : NULL;
    a->threads.slow_only = fa__debug_on(a) || FA__TRACKED; /* track.h */
    a->threads.pools_slow = a->threads.slow_only || fa__observe_blocks(a);
    if (a->cfg.hooks.frame != NULL)
        atomic_store(&a->observing, FA__OBSERVER_HOOK);
    a->threads.opens = a->cfg.frames_in_flight > 1 || fa__shared(a) ? FA__IN_OTHER_FRAME : FA__IN_FRAME;
    fa__mutex_lock(&registry.lock);
    a->next_live = registry.live;
    registry.live = a;
    fa__mutex_unlock(&registry.lock);
    if (bad_env != NULL)
        fa__report(&a->sink, FA_OK, 0, "fa_create: FRAMEALLOC_DEBUG=%s is not off, guard, trace or malloc: ignored", bad_env);
    return a;
}

fa_error fa_config_get(const fa_alloc *a, fa_config *out) {
    if (a == NULL)
        return fa__null_alloc("fa_config_get");
    if (out == NULL)
        return fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_config_get: NULL output");
    *out = a->cfg;
    return FA_OK;
}

static int unlink_live(fa_alloc *a) {
    fa__mutex_lock(&registry.lock);
    fa_alloc **at = &registry.live;
    while (*at != NULL && *at != a)
        at = &(*at)->next_live;
    int found = *at != NULL;
    if (found)
        *at = a->next_live;
    fa__mutex_unlock(&registry.lock);
    return found;
}

void fa_destroy(fa_alloc *a) {
    if (a == NULL)
        return;
    if (!unlink_live(a)) {
        fa__report(NULL, FA_ERR_INVALID, 0, "fa_destroy: not a live allocator (destroyed twice?)");
        return;
    }
    if (fa__debug_on(a))
        fa__debug_destroy(a); /* the leaks, while the threads' states still say where */
    fa__trace_destroy(a); /* a trace still running is finished, the leaks in it */
    fa__chunk_free_list(&a->chunks, fa__threads_close(&a->threads));
    fa__chunk_free_list(&a->chunks, fa__scratch_drop_all(a)); /* the scratch arenas left */
    for (size_t i = 0; i < a->orphans.count; i++) { /* FA_DEBUG_MALLOC: frames their threads left open */
        const struct fa_passed *b = &a->orphans.item[i];
        fa__backend_give(&a->chunks.backend, a->chunks.meter, b->block, b->size, b->align, b->from_system);
    }
    free(a->orphans.item);
    teardown(a);
}
