/* The allocator's lifecycle: fa_create and fa_destroy, the fast-path slot
 * table, and the list of live allocators that lets fa_destroy refuse a
 * pointer that is not one.
 * Floor: API (docs/internals.md). It calls no other API file: it builds the
 * instance from the floors below (config, threads, structures) and gives
 * the threads attribution's retire hook.
 * Invariants:
 * - Entry i of fa__alloc_table holds an allocator exactly while
 *   slot_used[i] is set: the inline path finds slot i from the pointer
 *   alone. An allocator past the 16 entries is on the heap, with slot
 *   FA__SLOTS.
 * - Every live allocator is on the live list. fa_destroy unlinks it before
 *   anything is freed, so a second destroy finds nothing and is refused.
 * - Teardown comes after fa__threads_close: no thread state is left to use
 *   what it frees. */
#include <stdlib.h>
#include <string.h>

#include "attribution.h"
#include "config.h"

/* Slot i's allocator lives in entry i, so the inline fast path finds its
 * thread entry from the pointer (framealloc.h, fa__tls_of). */
struct fa__alloc_table {
    union {
        struct fa_alloc alloc;
        unsigned char   room[FA__ALLOC_SIZE];
    } entry[FA__SLOTS];
};
_Static_assert(sizeof(struct fa_alloc) <= FA__ALLOC_SIZE, "fa_alloc outgrew its slot");

FA_API _Alignas(64) struct fa__alloc_table fa__alloc_table;

/* Which slots are taken and which allocators are live, under one lock. */
static struct {
    pthread_mutex_t lock;
    unsigned char   slot_used[FA__SLOTS];
    fa_alloc       *live; /* the newest first, through next_live */
} registry = {PTHREAD_MUTEX_INITIALIZER, {0}, NULL};

/* A zeroed allocator: a free table entry if there is one, else the heap. */
static fa_alloc *place(uint32_t *slot) {
    pthread_mutex_lock(&registry.lock);
    uint32_t i = 0;
    while (i < FA__SLOTS && registry.slot_used[i])
        i++;
    if (i < FA__SLOTS)
        registry.slot_used[i] = 1;
    pthread_mutex_unlock(&registry.lock);
    *slot = i;
    if (i == FA__SLOTS)
        return (fa_alloc *)calloc(1, sizeof(fa_alloc));
    fa_alloc *a = &fa__alloc_table.entry[i].alloc;
    memset(a, 0, sizeof *a);
    return a;
}

static void unplace(fa_alloc *a, uint32_t slot) {
    if (slot == FA__SLOTS) {
        free(a);
        return;
    }
    pthread_mutex_lock(&registry.lock);
    registry.slot_used[slot] = 0;
    pthread_mutex_unlock(&registry.lock);
}

static struct fa_ledger *ledger_new(const fa_config *cfg) {
    struct fa_ledger *l = (struct fa_ledger *)calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    if (!fa__history_init(&l->history, (cfg->disable & FA_DISABLE_STATS) ? 0 : cfg->history_frames)) {
        free(l);
        return NULL;
    }
    fa__tags_init(&l->tags);
    fa__budgets_init(&l->budgets, cfg);
    fa__tally_init(&l->retired);
    pthread_mutex_init(&l->peaks_lock, NULL);
    return l;
}

static void ledger_free(struct fa_ledger *l) {
    fa__history_fini(&l->history);
    pthread_mutex_destroy(&l->peaks_lock);
    fa__budgets_fini(&l->budgets);
    fa__tags_fini(&l->tags);
    free(l);
}

/* Everything but the thread states, which fa__threads_close detached. */
static void teardown(fa_alloc *a) {
    ledger_free(a->ledger);
    fa__heap_fini(&a->heap);
    fa__pools_fini(&a->pools);
    fa__slabmap_release();
    fa__chunks_fini(&a->chunks);
    unplace(a, a->threads.slot);
}

fa_alloc *fa_create(const fa_config *cfg) {
    fa_config resolved;
    char why[160];
    fa_error e = fa__config_resolve(cfg, &resolved, why, sizeof why);
    /* on a size or version mismatch resolved holds no callback of the caller's */
    struct fa_sink sink = {resolved.on_event, resolved.event_user, resolved.abort_on_error};
    if (e != FA_OK) {
        fa__report(&sink, e, 0, "%s", why);
        return NULL;
    }
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
    pthread_mutex_lock(&registry.lock);
    a->next_live = registry.live;
    registry.live = a;
    pthread_mutex_unlock(&registry.lock);
    return a;
}

static int unlink_live(fa_alloc *a) {
    pthread_mutex_lock(&registry.lock);
    fa_alloc **at = &registry.live;
    while (*at != NULL && *at != a)
        at = &(*at)->next_live;
    int found = *at != NULL;
    if (found)
        *at = a->next_live;
    pthread_mutex_unlock(&registry.lock);
    return found;
}

void fa_destroy(fa_alloc *a) {
    if (a == NULL)
        return;
    if (!unlink_live(a)) {
        fa__report(NULL, FA_ERR_INVALID, 0, "fa_destroy: not a live allocator (destroyed twice?)");
        return;
    }
    fa__chunk_free_list(&a->chunks, fa__threads_close(&a->threads));
    teardown(a);
}
