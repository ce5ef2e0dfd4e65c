/* SPDX-License-Identifier: MIT */
/* Chunks and the allocator's shared chunk cache: the sizes of the growth
 * curve, and the cache that lets steady-state frames run without a backend
 * call.
 * Floor: structures (docs/internals.md), the lowest file there. It stands on
 * backend.c and calls nothing above it: no thread, instance, attribution or
 * API file.
 * Invariants:
 * - held_bytes is the sum of the held chunks' sizes (headers included).
 * - The lock is never held across a backend call: what goes to the
 *   backend is taken out under it and given back after.
 * - A cached chunk serves only a request of more than half its size, so a
 *   thread never keeps a chunk of the next size up, or a dedicated one,
 *   that another request will want next frame.
 * - A held chunk's stamp is the clock when it came in, and `due` is at most
 *   the first tick at which one of them has been held `frames` ticks: a
 *   tick before it has nothing to give back and takes no lock. */
#include "chunk.h"

#include "backend.h"
#include "invariant.h"

void fa__chunks_init(struct fa_chunk_cache *cache, const fa_config *cfg, struct fa_meter *meter) {
    cache->meter = meter;
    cache->backend = cfg->backend;
    cache->first = cfg->frame_chunk_first;
    cache->max = cfg->frame_chunk_max;
    cache->growth = cfg->frame_chunk_growth;
    cache->align = cfg->frame_chunk_align;
    cache->held_limit = cfg->chunk_cache_limit;
    cache->frames = cfg->chunk_cache_frames;
    fa__mutex_init(&cache->lock);
    cache->held = NULL;
    cache->held_bytes = 0;
    atomic_init(&cache->clock, 0);
    atomic_init(&cache->due, UINT64_MAX);
}

void fa__chunks_fini(struct fa_chunk_cache *cache) {
    fa__chunk_trim(cache);
    fa__mutex_destroy(&cache->lock);
}

size_t fa__chunk_normal_size(const struct fa_chunk_cache *cache, uint32_t index) {
    size_t size = cache->first;
    for (uint32_t i = 0; i < index && size < cache->max; i++)
        size = size > cache->max / cache->growth ? cache->max : size * cache->growth;
    return size < cache->max ? size : cache->max;
}

/* A cached chunk serves a request of more than half its size: a request
 * must not take (and a thread then keep) a chunk of the next size up, or a
 * large dedicated one, that another request will want again next frame. */
static int fits(const struct fa_chunk *c, size_t size) {
    return c->size >= size && c->size / 2 < size;
}

static struct fa_chunk *take_cached(struct fa_chunk_cache *cache, size_t size) {
    struct fa_chunk **best = NULL;
    for (struct fa_chunk **at = &cache->held; *at != NULL; at = &(*at)->next)
        if (fits(*at, size) && (best == NULL || (*at)->size < (*best)->size))
            best = at;
    if (best == NULL)
        return NULL;
    struct fa_chunk *c = *best;
    *best = c->next;
    fa__assert_internal(cache->held_bytes >= c->size);
    cache->held_bytes -= c->size;
    fa__assert_expensive(fa__chunk_cache_check(cache));
    return c;
}

struct fa_chunk *fa__chunk_take(struct fa_chunk_cache *cache, size_t size) {
    fa__mutex_lock(&cache->lock);
    struct fa_chunk *c = take_cached(cache, size);
    fa__mutex_unlock(&cache->lock);
    if (c != NULL)
        return c; /* poisoned when it was given back */
    uint8_t from_system;
    c = fa__backend_take(&cache->backend, cache->meter, size, cache->align, &from_system);
    if (c == NULL)
        return NULL;
    fa__assert(((uintptr_t)c & (cache->align - 1)) == 0); /* the backend door refuses misaligned memory */
    c->size = size;
    c->from_system = from_system;
    c->poisoned = 0;
    fa__track_chunk_dead(c);
    return c;
}

/* Caller holds the lock. The chunks are stamped with the clock; the
 * oldest held chunk is due no later than before. */
static void push_list(struct fa_chunk_cache *cache, struct fa_chunk *list) {
    uint64_t now = atomic_load_explicit(&cache->clock, memory_order_relaxed);
    if (list != NULL && atomic_load_explicit(&cache->due, memory_order_relaxed) == UINT64_MAX)
        atomic_store_explicit(&cache->due, now + cache->frames, memory_order_relaxed);
    while (list != NULL) {
        struct fa_chunk *next = list->next;
        list->next = cache->held;
        list->stamp = now;
        cache->held = list;
        cache->held_bytes += list->size;
        list = next;
    }
    fa__assert_expensive(fa__chunk_cache_check(cache));
}

void fa__chunk_stash(struct fa_chunk_cache *cache, struct fa_chunk *list) {
    for (struct fa_chunk *c = list; FA__TRACKED && c != NULL; c = c->next)
        fa__track_chunk_dead(c); /* what the frames wrote there is gone */
    fa__mutex_lock(&cache->lock);
    push_list(cache, list);
    fa__mutex_unlock(&cache->lock);
}

struct fa_chunk *fa__chunk_excess(struct fa_chunk_cache *cache) {
    struct fa_chunk *excess = NULL;
    fa__mutex_lock(&cache->lock);
    while (cache->held_bytes > cache->held_limit) {
        struct fa_chunk *c = cache->held;
        cache->held = c->next;
        cache->held_bytes -= c->size;
        c->next = excess;
        excess = c;
    }
    fa__assert_expensive(fa__chunk_cache_check(cache));
    fa__mutex_unlock(&cache->lock);
    return excess;
}

/* Caller holds the lock: the chunks held `frames` ticks by `now`, taken
 * out; `due` set to the next one's expiry. */
static struct fa_chunk *take_expired(struct fa_chunk_cache *cache, uint64_t now) {
    struct fa_chunk *expired = NULL;
    uint64_t due = UINT64_MAX;
    for (struct fa_chunk **at = &cache->held; *at != NULL;) {
        struct fa_chunk *c = *at;
        if (c->stamp + cache->frames <= now) { /* a chunk stamped after `now` (a racing tick) stays */
            *at = c->next;
            cache->held_bytes -= c->size;
            c->next = expired;
            expired = c;
        } else {
            due = c->stamp + cache->frames < due ? c->stamp + cache->frames : due;
            at = &c->next;
        }
    }
    atomic_store_explicit(&cache->due, due, memory_order_relaxed);
    fa__assert_expensive(fa__chunk_cache_check(cache));
    return expired;
}

void fa__chunk_tick(struct fa_chunk_cache *cache) {
    uint64_t now = atomic_fetch_add_explicit(&cache->clock, 1, memory_order_relaxed) + 1;
    if (now < atomic_load_explicit(&cache->due, memory_order_relaxed))
        return;
    fa__mutex_lock(&cache->lock);
    struct fa_chunk *expired = take_expired(cache, now);
    fa__mutex_unlock(&cache->lock);
    fa__chunk_free_list(cache, expired);
}

void fa__chunk_give(struct fa_chunk_cache *cache, struct fa_chunk *list) {
    fa__chunk_stash(cache, list);
    fa__chunk_free_list(cache, fa__chunk_excess(cache));
}

void fa__chunk_trim(struct fa_chunk_cache *cache) {
    fa__mutex_lock(&cache->lock);
    struct fa_chunk *all = cache->held;
    cache->held = NULL;
    cache->held_bytes = 0;
    atomic_store_explicit(&cache->due, UINT64_MAX, memory_order_relaxed);
    fa__mutex_unlock(&cache->lock);
    fa__chunk_free_list(cache, all);
}

size_t fa__chunk_cached_bytes(struct fa_chunk_cache *cache) {
    fa__mutex_lock(&cache->lock);
    size_t bytes = cache->held_bytes;
    fa__mutex_unlock(&cache->lock);
    return bytes;
}

int fa__chunk_cache_check(const struct fa_chunk_cache *cache) {
    size_t sum = 0;
    uint64_t due = atomic_load_explicit(&cache->due, memory_order_relaxed);
    for (const struct fa_chunk *c = cache->held; c != NULL; c = c->next) {
        if (((uintptr_t)c & (cache->align - 1)) != 0 || c->size <= FA__CHUNK_HEADER)
            return 0;
        if (c->stamp + cache->frames < due) /* it would expire unseen: ticks before `due` look at nothing */
            return 0;
        sum += c->size;
    }
    return sum == cache->held_bytes;
}

void fa__chunk_free_list(const struct fa_chunk_cache *cache, struct fa_chunk *list) {
    while (list != NULL) {
        struct fa_chunk *next = list->next;
        fa__track_release(list, list->size);
        fa__backend_give(&cache->backend, cache->meter, list, list->size, cache->align, list->from_system);
        list = next;
    }
}
