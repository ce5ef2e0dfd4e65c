/* SPDX-License-Identifier: MIT */
/* Per-thread state: one struct fa_thread per (OS thread, allocator), found
 * through the fast-path slots or a thread key, made on first use, given
 * back at thread exit (os.h's exit hook) or fa_destroy; and the moves of a thread's pool
 * fields between its paths.
 * Floor: threads (docs/internals.md). It calls nothing above it: no
 * instance, attribution or API file. The one call up goes through the hook
 * the allocator sets (fa_threads.retire: attribution's fa__attr_retire).
 * Invariants:
 * - A state is on two lists, its allocator's and its OS thread's, and both
 *   change only under the registry lock. That lock is never held across a
 *   backend call or an event callback: exit takes the excess out under it
 *   and gives it back after, with the allocator's `exiting` count raised.
 * - th->tls is fa__tls[slot], or th->own for an allocator without a slot
 *   (slot 0), so fa__tls[0] is never written and fails every inline check.
 * - The fast-path entry points at the current path's pool records, or at
 *   fa__no_pool, which fails every inline check (a budget over the path
 *   wants every call; before the state is made and after it is gone).
 * - `cached` lists exactly the ctx[i] that have their cache, each once;
 *   ctx[FA__TAG_ROOT] is root_pool, never freed alone.
 * - A state and its per-path rows (tally, ctx, frame bytes: set->paths
 *   each) are one allocation. */
#include "thread.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

FA__TLS struct fa__thread_tls fa__tls[FA__SLOTS + 1];
struct fa__thread_tls fa__no_entry; /* what the NULL handle decodes to: never written */
static _Atomic uint32_t thread_numbers; /* states made so far, for fa_thread.number */
_Static_assert(sizeof(struct fa__thread_tls) == FA__TLS_SIZE, "the inline lookup shifts by the entry size");

/* One lock for what outlives a single allocator or thread: every
 * allocator's state list and every OS thread's list. Taken only when a
 * thread first uses an allocator, when a thread exits, and by create and
 * destroy; the library never calls out (backend, callback) while holding it. */
static struct {
    fa__mutex lock;
    int       exit_hook;    /* 1 once the exit hook is set, which gives an exiting thread's states back */
    int       exit_hook_ok; /* and the system took it */
} registry = {FA__MUTEX_INIT, 0, 0};
static FA__TLS struct fa_node *my_states; /* this OS thread's states */

#define THREAD_OF(node, member) \
    ((struct fa_thread *)(void *)((char *)(node) - offsetof(struct fa_thread, member)))

static void node_push(struct fa_node **head, struct fa_node *n) {
    n->next = *head;
    n->pprev = head;
    if (*head != NULL)
        (*head)->pprev = &n->next;
    *head = n;
}

static void node_unlink(struct fa_node *n) {
    *n->pprev = n->next;
    if (n->next != NULL)
        n->next->pprev = n->pprev;
}

/* ---- lifecycle: detach, thread exit, open, close ------------------------- */

/* Registry lock held. Unlinks a state, gives its slabs to the allocator's
 * shared lists and hands its chunks back through the list *chunks. */
static void detach(struct fa_thread *th, struct fa_chunk **chunks) {
    node_unlink(&th->in_set);
    node_unlink(&th->in_os_thread);
    th->set->retire(th);
    fa__thread_publish(th);
    fa__tally_retire(th->set->retired, &th->tally);
    fa__budget_return_all(th->set->budgets, &th->charge.purse);
    free(th->charge.spans);
    for (uint32_t i = 0; i < FA_FRAMES_IN_FLIGHT_MAX - 1; i++) {
        struct fa_held *h = &th->held[i];
        free(h->spans);
        if (i < th->held_count)
            fa__chunk_list_join(chunks, h->chunks);
    }
    th->tls->pool = 0; /* the entry serves no pool from here on */
    for (uint32_t i = 0; i < th->set->paths; i++) {
        struct fa_pool_cache *ctx = th->ctx[i];
        if (ctx == NULL)
            continue;
        fa__pool_abandon(th->set->pools, ctx);
        if (ctx != &th->root_pool)
            free(ctx);
    }
    fa__chunk_list_join(chunks, fa__arena_take_all(&th->arena, th->tls));
    memset(th->tls, 0, sizeof *th->tls);
    free(th);
}

/* What an exiting thread gives back to one allocator's backend once it has
 * let go of the registry lock. */
struct exit_release {
    struct fa_threads   *set;
    struct fa_chunk     *chunks;
    struct fa_slab      *slabs;
    struct exit_release *next;
};

/* The thread is exiting: under the lock, its chunks go to each allocator's
 * cache and its slabs to the allocator's shared lists, and what is beyond
 * their limits is taken out; after it, that goes back to the backend. The
 * allocator's `exiting` count keeps fa_destroy from finishing (and the
 * backend from being torn down) in between. */
static void on_thread_exit(void) {
    struct exit_release *releases = NULL;
    fa__mutex_lock(&registry.lock);
    while (my_states != NULL) {
        struct fa_thread *th = THREAD_OF(my_states, in_os_thread);
        struct fa_threads *set = th->set;
        if (set->slot == 0)
            fa__key_set(set->key, NULL);
        struct fa_chunk *chunks = NULL;
        detach(th, &chunks);
        fa__chunk_stash(set->chunks, chunks);
        struct exit_release *r = (struct exit_release *)malloc(sizeof *r);
        if (r == NULL)
            continue; /* the excess stays cached until the next trim */
        *r = (struct exit_release){set, fa__chunk_excess(set->chunks), fa__pool_excess(set->pools), releases};
        atomic_fetch_add_explicit(&set->exiting, 1, memory_order_relaxed);
        releases = r;
    }
    fa__mutex_unlock(&registry.lock);
    while (releases != NULL) {
        struct exit_release *r = releases;
        releases = r->next;
        fa__chunk_free_list(r->set->chunks, r->chunks);
        fa__pool_release(r->set->pools, r->slabs);
        atomic_fetch_sub_explicit(&r->set->exiting, 1, memory_order_release);
        free(r);
    }
}

fa_error fa__threads_open(struct fa_threads *set, uint32_t slot, struct fa_chunk_cache *chunks,
                          struct fa_pools *pools, struct fa_budgets *budgets, struct fa_tally *retired) {
    fa__mutex_lock(&registry.lock);
    if (!registry.exit_hook)
        registry.exit_hook_ok = fa__exit_hook_set(on_thread_exit);
    registry.exit_hook = 1;
    fa__mutex_unlock(&registry.lock);
    set->slot = slot;
    set->creator = fa__thread_self();
    set->list = NULL;
    set->chunks = chunks;
    set->pools = pools;
    set->budgets = budgets;
    set->retired = retired;
    set->paths = retired->paths;
    atomic_init(&set->exiting, 0);
    atomic_init(&set->seen, 0);
    if (slot == 0 && fa__key_create(&set->key) != 0)
        return FA_ERR_NOMEM;
    return FA_OK;
}

struct fa_chunk *fa__threads_close(struct fa_threads *set) {
    struct fa_chunk *chunks = NULL;
    fa__mutex_lock(&registry.lock);
    while (set->list != NULL)
        detach(THREAD_OF(set->list, in_set), &chunks);
    fa__mutex_unlock(&registry.lock);
    while (atomic_load_explicit(&set->exiting, memory_order_acquire) != 0)
        fa__thread_yield(); /* an exiting thread is still giving memory back */
    if (set->slot == 0)
        fa__key_delete(set->key);
    return chunks;
}

void fa__threads_each_then(struct fa_threads *set, void (*fn)(struct fa_thread *th, void *ctx),
                           void (*then)(void *ctx), void *ctx) {
    fa__mutex_lock(&registry.lock);
    for (struct fa_node *n = set->list; n != NULL; n = n->next)
        fn(THREAD_OF(n, in_set), ctx);
    if (then != NULL)
        then(ctx);
    fa__mutex_unlock(&registry.lock);
}

void fa__threads_each(struct fa_threads *set, void (*fn)(struct fa_thread *th, void *ctx), void *ctx) {
    fa__threads_each_then(set, fn, NULL, ctx);
}

/* ---- a thread's pools, one per path -------------------------------------- */

int fa__thread_pool_make(struct fa_thread *th, uint32_t path) {
    if (th->ctx[path] != NULL)
        return 1;
    th->ctx[path] = (struct fa_pool_cache *)calloc(1, sizeof *th->ctx[path]);
    if (th->ctx[path] == NULL)
        return 0;
    th->ctx[path]->path = path;
    return 1;
}

int fa__thread_pool_attach(struct fa_pools *pools, struct fa_thread *th) {
    struct fa_pool_cache *ctx = fa__thread_ctx(th);
    if (!fa__pool_attach(pools, ctx))
        return 0;
    ctx->next_cached = th->cached;
    th->cached = ctx;
    return 1;
}

void fa__thread_pool_use(struct fa_thread *th, uint32_t path, int served) {
    th->pool_path = path;
    th->tls->pool = served ? (uintptr_t)th->ctx[path]->rec - (uintptr_t)fa__no_pool : 0;
}

void fa__thread_pool_collect_caches(struct fa_thread *th) {
    for (struct fa_pool_cache *ctx = th->cached; ctx != NULL; ctx = ctx->next_cached)
        fa__pool_collect(ctx);
}

void fa__thread_pool_trim(struct fa_pools *pools, struct fa_thread *th) {
    if (th == NULL) {
        fa__pool_trim(pools, NULL);
        return;
    }
    for (struct fa_pool_cache *ctx = th->cached; ctx != NULL; ctx = ctx->next_cached)
        fa__pool_trim(pools, ctx);
}

/* ---- publishing the pools' counts ---------------------------------------- */

/* One path's pools into the tally; the live bytes their counters make
 * (below 0 where the thread freed more of its slabs' blocks than it
 * handed out: an adopted slab's). */
static int64_t publish_ctx(struct fa_thread *th, struct fa_pool_cache *ctx) {
    struct fa_path_tally *row = &th->tally.path[ctx->path];
    int64_t live = 0;
    for (unsigned c = 0; c < FA__POOL_CLASSES; c++) {
        const struct fa__pool_rec *r = &ctx->rec[c];
        uint64_t slabs, in_use;
        fa__pool_census(ctx, c, &slabs, &in_use);
        fa__set(&row->pool_out[c], r->out);
        fa__set(&row->pool_back[c], r->back);
        fa__set(&row->slabs[c], slabs);
        live += (int64_t)((r->out - r->back) << (c + 3));
    }
    return live;
}

void fa__thread_publish_caches(struct fa_thread *th) {
    int64_t live = 0;
    for (struct fa_pool_cache *ctx = th->cached; ctx != NULL; ctx = ctx->next_cached)
        live += publish_ctx(th, ctx);
    if (th->set->live != NULL && live != th->pool_live) /* the counts first: a snapshot sums them */
        fa__live_add(th->set->live, FA__KIND_POOL, live - th->pool_live);
    th->pool_live = live;
}

/* ---- finding and creating a state ---------------------------------------- */

/* A zeroed state with its per-path rows after it: the counts, the frame
 * bytes, then the cache pointers, each aligned because the one before is
 * (the state's size is a multiple of its alignment, at least 8, and the
 * pointers, 4 or 8 bytes, come last). */
static struct fa_thread *state_new(uint32_t paths) {
    _Static_assert(_Alignof(struct fa_thread) % _Alignof(struct fa_path_tally) == 0, "rows follow the state");
    _Static_assert(sizeof(struct fa_path_tally) % _Alignof(uint64_t) == 0, "frame bytes follow the rows");
    size_t row = sizeof(struct fa_path_tally) + sizeof(uint64_t) + sizeof(struct fa_pool_cache *);
    struct fa_thread *th = (struct fa_thread *)calloc(1, sizeof *th + paths * row);
    if (th == NULL)
        return NULL;
    struct fa_path_tally *rows = (struct fa_path_tally *)(void *)(th + 1);
    fa__tally_init(&th->tally, rows, paths);
    th->charge.frame_tag_bytes = (uint64_t *)(void *)(rows + paths);
    th->ctx = (struct fa_pool_cache **)(void *)(th->charge.frame_tag_bytes + paths);
    return th;
}

struct fa_thread *fa__thread_create(struct fa_threads *set) {
    struct fa_thread *th = state_new(set->paths);
    if (th == NULL)
        return NULL;
    th->set = set;
    th->is_creator = fa__thread_same(fa__thread_self(), set->creator);
    th->opens = set->opens;
    th->os_thread = fa__thread_self();
    th->number = atomic_fetch_add_explicit(&thread_numbers, 1, memory_order_relaxed) + 1;
    th->tls = set->slot != 0 ? &fa__tls[set->slot] : &th->own;
    th->ctx[FA__TAG_ROOT] = &th->root_pool;
    if (set->slot == 0 && fa__key_set(set->key, th) != 0) {
        free(th);
        return NULL;
    }
    atomic_fetch_add_explicit(&set->seen, 1, memory_order_relaxed);
    fa__mutex_lock(&registry.lock);
    memset(th->tls, 0, sizeof *th->tls);
    th->tls->thread = th;
    fa__thread_pool_use(th, FA__TAG_ROOT, !set->pools_slow); /* the root path's records, empty until the first pool call */
    node_push(&set->list, &th->in_set);
    node_push(&my_states, &th->in_os_thread);
    int arm = registry.exit_hook_ok;
    fa__mutex_unlock(&registry.lock);
    if (arm)
        fa__exit_hook_arm();
    return th;
}
