/* SPDX-License-Identifier: MIT */
/* The slabs behind the pools (slab.h): formatting, bitmaps, thread caches,
 * refills and flushes, remote frees, adoption, trimming.
 * Floor: structures (docs/internals.md). It stands on slabmap.c and
 * backend.c and calls nothing above it: no thread, instance, attribution
 * or API file.
 * Invariants:
 * - Free blocks (free_bits) plus in_use make the capacity, no bit lies past
 *   the last block, and blocks are 8 << cls bytes (fa__slab_check, level
 *   3). in_use counts cached blocks and remote frees not yet collected.
 * - free_bits and in_use are the owner's alone. Other threads only set
 *   remote bits (atomic OR) and remote_pending; the owner collects them by
 *   exchange. A slab on a shared list has no owner: its list's lock stands
 *   in for one.
 * - Every free block's first word holds the allocator's cookie. Where such
 *   a word stops being a block start (a larger class, the slab going back)
 *   the markers are cleared first.
 * - All map entries of a slab say the same: the record of the owning
 *   cache for the slab's class, or NULL while no thread owns it.
 * - A slab holds the blocks of one tag path (s->path): a cache adopts only
 *   slabs of its own path.
 * - No pool lock (a class's, the empty list's) is held across a backend
 *   call. */
#include "slab.h"

#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "invariant.h"
#include "platform.h"

/* The owner of slabs no thread owns. */
#define NOBODY ((struct fa__pool_rec *)NULL)

struct fa__pool_rec fa__no_pool[FA__POOL_CLASSES];

static uint64_t mix64(uint64_t x) { /* the splitmix64 finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

void fa__pools_init(struct fa_pools *pools, const fa_config *cfg, const void *instance,
                    struct fa_meter *meter) {
    pools->meter = meter;
    pools->backend = cfg->backend;
    pools->instance = instance;
    pools->slab_size = cfg->slab_size;
    pools->reserve = cfg->slab_reserve;
    pools->zero_formatted = cfg->debug != FA_DEBUG_OFF;
    /* Unpredictable enough that user data does not match it by accident. */
    pools->cookie = mix64((uintptr_t)instance ^ fa__now_ns()) | 1;
    for (unsigned c = 0; c < FA__POOL_CLASSES; c++) {
        fa__mutex_init(&pools->cls[c].lock);
        pools->cls[c].abandoned = NULL;
    }
    fa__mutex_init(&pools->empty_lock);
    pools->empty = NULL;
    pools->empty_count = 0;
}

static size_t pieces(const struct fa_pools *pools) {
    return pools->slab_size / FA__SLAB_MIN;
}

static void *block_at(const struct fa_slab *s, uint32_t index) {
    return (void *)(s->base + ((uintptr_t)index << s->shift));
}

/* A free block's first word holds the marker. Where such a word stops being
 * a block start (the slab takes a larger class, or goes back to the source)
 * the marker is cleared: a program that copies bytes it never wrote (legal,
 * e.g. a VM copying a nil value's payload) could otherwise move it into a
 * live block's first word, and that block's free would be refused as a
 * double free. Called on slabs whose blocks are all free, or at destroy. */
static void clear_markers(const struct fa_slab *s) {
    for (uint32_t i = 0; i < s->capacity; i++)
        *(uint64_t *)block_at(s, i) = 0;
}

static void release_slab(struct fa_pools *pools, struct fa_slab *s) {
    fa__track_release((void *)s->base, pools->slab_size);
    clear_markers(s);
    fa__slabmap_remove(s->entry, pieces(pools));
    fa__backend_give(&pools->backend, pools->meter, (void *)s->base, pools->slab_size, pools->slab_size,
                     s->from_system);
    free(s);
}

void fa__pool_release(struct fa_pools *pools, struct fa_slab *list) {
    while (list != NULL) {
        struct fa_slab *next = list->next;
        release_slab(pools, list);
        list = next;
    }
}

void fa__pools_fini(struct fa_pools *pools) {
    for (unsigned c = 0; c < FA__POOL_CLASSES; c++) {
        fa__pool_release(pools, pools->cls[c].abandoned);
        fa__mutex_destroy(&pools->cls[c].lock);
    }
    fa__pool_release(pools, pools->empty);
    fa__mutex_destroy(&pools->empty_lock);
}

int fa__pool_attach(struct fa_pools *pools, struct fa_pool_cache *cache) {
    cache->items = (void **)calloc((size_t)FA__POOL_CLASSES * FA__POOL_CACHE_STRIDE, sizeof *cache->items);
    if (cache->items == NULL)
        return 0;
    for (unsigned c = 0; c < FA__POOL_CLASSES; c++) {
        struct fa__pool_rec *r = &cache->rec[c];
        r->base = r->top = cache->items + c * FA__POOL_CACHE_STRIDE;
        r->cookie = pools->cookie;
        r->mask = ((uintptr_t)8 << c) - 1;
    }
    fa__pool_bound(cache, cache->bound);
    return 1;
}

void fa__pool_bound(struct fa_pool_cache *cache, uint32_t bytes) {
    cache->bound = bytes;
    for (unsigned c = 0; cache->items != NULL && c < FA__POOL_CLASSES; c++) {
        struct fa__pool_rec *r = &cache->rec[c];
        uint32_t room = fa__pool_cache_cap(c), fit = bytes >> (c + 3);
        fa__assert_internal(r->top == r->base); /* drained */
        if (bytes != 0 && fit < room)
            room = fit < 1 ? 1 : fit;
        r->end = r->base + room;
    }
}

/* ---- slabs: bitmaps, formatting, census ---------------------------------- */

static uint32_t bitmap_words(const struct fa_slab *s) {
    return (s->capacity + 63) / 64;
}

static uint32_t index_of(const struct fa_slab *s, const void *p) {
    return (uint32_t)(((uintptr_t)p - s->base) >> s->shift);
}

/* Every map entry of the slab says the same. */
static void set_owner(struct fa_slab *s, struct fa__pool_rec *owner) {
    for (uint32_t i = 0; i < s->pieces; i++)
        FA__STORE(&s->entry[i].rec, owner, RELEASE);
}

/* Every block starts free and marked so: a free of a block never handed out
 * is then a double free, like any other. */
static void format(struct fa_pools *pools, struct fa_slab *s, unsigned cls, struct fa__pool_rec *owner) {
    fa__track_release((void *)s->base, s->pieces * FA__SLAB_MIN); /* markers move: all of it writable */
    if (pools->zero_formatted) /* a debug level reads the header of a block it hands out again */
        memset((void *)s->base, 0, s->pieces * FA__SLAB_MIN);
    else if (s->shift < cls + 3) /* some old block starts fall inside the new blocks */
        clear_markers(s);
    s->cls = cls;
    s->shift = cls + 3;
    s->capacity = (uint32_t)((s->pieces * FA__SLAB_MIN) >> s->shift);
    s->in_use = 0;
    for (uint32_t i = 0; i < s->capacity; i++) {
        *(uint64_t *)block_at(s, i) = pools->cookie;
        fa__pool_track_free(block_at(s, i), cls);
    }
    for (uint32_t w = 0; w < bitmap_words(s); w++)
        s->free_bits[w] = s->capacity - w * 64 >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << (s->capacity % 64)) - 1;
    set_owner(s, owner);
    fa__assert_expensive(fa__slab_check(s));
}

static struct fa_slab *new_slab(struct fa_pools *pools) {
    size_t words = pools->slab_size / 8 / 64; /* bits for the smallest class */
    struct fa_slab *s = (struct fa_slab *)calloc(1, sizeof *s + 2 * words * sizeof(uint64_t));
    if (s == NULL)
        return NULL;
    s->free_bits = (uint64_t *)(s + 1);
    s->remote_bits = (_Atomic uint64_t *)(s->free_bits + words);
    s->pieces = (uint32_t)pieces(pools);
    void *mem = fa__backend_take(&pools->backend, pools->meter, pools->slab_size, pools->slab_size, &s->from_system);
    if (mem == NULL) {
        free(s);
        return NULL;
    }
    s->base = (uintptr_t)mem;
    s->instance = pools->instance;
    s->entry = fa__slabmap_add(s->base, s->pieces, s);
    if (s->entry == NULL) {
        fa__backend_give(&pools->backend, pools->meter, mem, pools->slab_size, pools->slab_size, s->from_system);
        free(s);
        return NULL;
    }
    return s;
}

void fa__pool_census(const struct fa_pool_cache *cache, unsigned cls, uint64_t *slabs, uint64_t *in_use) {
    *slabs = 0;
    *in_use = 0;
    for (const struct fa_slab *s = cache->slabs[cls]; s != NULL; s = s->next) {
        ++*slabs;
        *in_use += s->in_use;
    }
}

void fa__pool_shared_census(struct fa_pools *pools, unsigned cls, uint64_t *slabs, uint64_t *in_use) {
    struct fa_pool_cache shared;
    memset(&shared, 0, sizeof shared);
    fa__mutex_lock(&pools->cls[cls].lock);
    shared.slabs[cls] = pools->cls[cls].abandoned;
    fa__pool_census(&shared, cls, slabs, in_use);
    fa__mutex_unlock(&pools->cls[cls].lock);
}

size_t fa__pool_empty_bytes(struct fa_pools *pools) {
    fa__mutex_lock(&pools->empty_lock);
    size_t bytes = pools->empty_count * pools->slab_size;
    fa__mutex_unlock(&pools->empty_lock);
    return bytes;
}

/* ---- blocks: the validator, collecting, taking --------------------------- */

int fa__slab_check(const struct fa_slab *s) {
    uint32_t free_blocks = 0, words = bitmap_words(s);
    for (uint32_t w = 0; w < words; w++)
        free_blocks += fa__popcount64(s->free_bits[w]);
    uint32_t tail = s->capacity % 64; /* no bit past the last block */
    int clean_tail = words == 0 || tail == 0 || (s->free_bits[words - 1] >> tail) == 0;
    return clean_tail && free_blocks + s->in_use == s->capacity && s->shift == s->cls + 3;
}

/* Owner only: takes in the blocks other threads freed. The flag is taken
 * with an exchange, so a remote free either shows in this scan or leaves
 * the flag set for the next one. */
static void collect_slab(struct fa_slab *s) {
    if (atomic_load_explicit(&s->remote_pending, memory_order_relaxed) == 0 ||
        atomic_exchange_explicit(&s->remote_pending, 0, memory_order_acq_rel) == 0)
        return; /* a plain load first: most slabs have nothing pending */
    for (uint32_t w = 0; w < bitmap_words(s); w++) {
        if (atomic_load_explicit(&s->remote_bits[w], memory_order_relaxed) == 0)
            continue;
        uint64_t bits = atomic_exchange_explicit(&s->remote_bits[w], 0, memory_order_acquire);
        fa__assert_internal((s->free_bits[w] & bits) == 0); /* a remote free of a free block is refused */
        s->free_bits[w] |= bits;
        s->in_use -= fa__popcount64(bits);
    }
    fa__assert_expensive(fa__slab_check(s));
}

void fa__pool_collect(struct fa_pool_cache *cache) {
    for (unsigned c = 0; c < FA__POOL_CLASSES; c++)
        for (struct fa_slab *s = cache->slabs[c]; s != NULL; s = s->next)
            collect_slab(s);
}

/* Up to want free blocks of s into out. */
static uint32_t take(struct fa_slab *s, void **out, uint32_t want) {
    uint32_t n = 0;
    for (uint32_t w = 0; w < bitmap_words(s) && n < want; w++)
        while (s->free_bits[w] != 0 && n < want) {
            uint32_t bit = (uint32_t)fa__ctz64(s->free_bits[w]);
            s->free_bits[w] &= s->free_bits[w] - 1;
            out[n++] = block_at(s, w * 64 + bit);
        }
    s->in_use += n;
    fa__assert_expensive(fa__slab_check(s));
    return n;
}

/* ---- refill and adoption ------------------------------------------------- */

/* The first abandoned slab of the class whose blocks are charged to `path`. */
static struct fa_slab *adopt(struct fa_pools *pools, unsigned cls, uint32_t path) {
    fa__mutex_lock(&pools->cls[cls].lock);
    struct fa_slab **at = &pools->cls[cls].abandoned;
    while (*at != NULL && (*at)->path != path)
        at = &(*at)->next;
    struct fa_slab *s = *at;
    if (s != NULL)
        *at = s->next;
    fa__mutex_unlock(&pools->cls[cls].lock);
    return s;
}

/* A slab for the class: one an exited thread left with the cache's path
 * (adopted), else an empty one, else a new one from the backend. */
static struct fa_slab *acquire(struct fa_pools *pools, struct fa_pool_cache *cache, unsigned cls) {
    struct fa_slab *s = adopt(pools, cls, cache->path);
    if (s != NULL) {
        set_owner(s, &cache->rec[cls]);
        collect_slab(s);
        return s;
    }
    fa__mutex_lock(&pools->empty_lock);
    s = pools->empty;
    if (s != NULL) {
        pools->empty = s->next;
        pools->empty_count--;
    }
    fa__mutex_unlock(&pools->empty_lock);
    if (s == NULL)
        s = new_slab(pools);
    if (s != NULL) {
        s->path = cache->path;
        format(pools, s, cls, &cache->rec[cls]);
    }
    return s;
}

uint32_t fa__pool_refill(struct fa_pools *pools, struct fa_pool_cache *cache, unsigned cls, uint32_t most) {
    void **items = cache->rec[cls].base;
    uint32_t want = (uint32_t)(cache->rec[cls].end - items + 1) / 2, got = 0;
    if (want > most)
        want = most;
    fa__assert_internal(cache->rec[cls].top == items); /* refilled only when empty */
    for (struct fa_slab *s = cache->slabs[cls]; s != NULL && got < want; s = s->next) {
        collect_slab(s);
        got += take(s, items + got, want - got);
    }
    while (got == 0) { /* an adopted slab may have no free block yet: keep it, go on */
        struct fa_slab *s = acquire(pools, cache, cls);
        if (s == NULL)
            return 0;
        s->next = cache->slabs[cls];
        cache->slabs[cls] = s;
        got = take(s, items, want);
    }
    cache->rec[cls].top = items + got;
    return got;
}

/* ---- flushes and remote frees -------------------------------------------- */

/* Owner only: a cached block goes back to its slab. */
static void return_block(void *p) {
    struct fa_slab *s = fa__slab_at(p);
    uint32_t i = index_of(s, p);
    fa__assert_internal((s->free_bits[i / 64] & (uint64_t)1 << (i % 64)) == 0 && s->in_use > 0);
    s->free_bits[i / 64] |= (uint64_t)1 << (i % 64);
    s->in_use--;
}

struct fa_slab *fa__pool_excess(struct fa_pools *pools) {
    struct fa_slab *excess = NULL;
    fa__mutex_lock(&pools->empty_lock);
    while (pools->empty_count * pools->slab_size > pools->reserve) {
        struct fa_slab *e = pools->empty;
        pools->empty = e->next;
        pools->empty_count--;
        e->next = excess;
        excess = e;
    }
    fa__mutex_unlock(&pools->empty_lock);
    return excess;
}

/* Puts a slab with no live block on the shared empty list; what is beyond
 * the reserve goes back to the backend (outside the lock). */
static void give_empty(struct fa_pools *pools, struct fa_slab *s) {
    set_owner(s, NOBODY);
    fa__mutex_lock(&pools->empty_lock);
    s->next = pools->empty;
    pools->empty = s;
    pools->empty_count++;
    fa__mutex_unlock(&pools->empty_lock);
    fa__pool_release(pools, fa__pool_excess(pools));
}

/* Gives the class's empty slabs to the shared list, keeping `keep` of them. */
static void shed_empty(struct fa_pools *pools, struct fa_pool_cache *cache, unsigned cls, int keep) {
    struct fa_slab **at = &cache->slabs[cls];
    while (*at != NULL) {
        struct fa_slab *s = *at;
        if (s->in_use == 0 && keep-- <= 0) {
            *at = s->next;
            give_empty(pools, s);
        } else {
            at = &s->next;
        }
    }
}

/* The n oldest blocks of a class's stack back to their slabs. */
static void return_cached(struct fa__pool_rec *r, uint32_t n) {
    uint32_t held = fa__pool_cached(r);
    for (uint32_t i = 0; i < n; i++)
        return_block(r->base[i]);
    memmove(r->base, r->base + n, (held - n) * sizeof *r->base);
    r->top = r->base + (held - n);
}

uint32_t fa__pool_flush(struct fa_pools *pools, struct fa_pool_cache *cache, unsigned cls) {
    uint32_t half = (fa__pool_cached(&cache->rec[cls]) + 1) / 2;
    return_cached(&cache->rec[cls], half); /* the oldest half; the hot ones stay */
    shed_empty(pools, cache, cls, 1);
    return half;
}

uint64_t fa__pool_drain(struct fa_pool_cache *cache) {
    uint64_t bytes = 0;
    for (unsigned c = 0; cache->items != NULL && c < FA__POOL_CLASSES; c++) {
        uint32_t n = fa__pool_cached(&cache->rec[c]);
        return_cached(&cache->rec[c], n);
        bytes += (uint64_t)n << (c + 3);
    }
    return bytes;
}

fa_error fa__pool_free_remote(struct fa_slab *s, void *p, uint64_t cookie) {
    uint32_t i = index_of(s, p);
    uint64_t bit = (uint64_t)1 << (i % 64);
    *(uint64_t *)p = cookie;
    fa__pool_track_free(p, s->cls);
    uint64_t old = atomic_fetch_or_explicit(&s->remote_bits[i / 64], bit, memory_order_release);
    atomic_store_explicit(&s->remote_pending, 1, memory_order_release);
    return (old & bit) != 0 ? FA_ERR_DOUBLE_FREE : FA_OK;
}

/* ---- thread exit and trim ------------------------------------------------ */

void fa__pool_abandon(struct fa_pools *pools, struct fa_pool_cache *cache) {
    if (cache->items == NULL)
        return;
    fa__pool_drain(cache);
    for (unsigned c = 0; c < FA__POOL_CLASSES; c++) {
        while (cache->slabs[c] != NULL) {
            struct fa_slab *s = cache->slabs[c];
            cache->slabs[c] = s->next;
            set_owner(s, NOBODY);
            collect_slab(s);
            int empty = s->in_use == 0;
            fa__mutex *lock = empty ? &pools->empty_lock : &pools->cls[c].lock;
            fa__mutex_lock(lock);
            struct fa_slab **list = empty ? &pools->empty : &pools->cls[c].abandoned;
            s->next = *list;
            *list = s;
            if (empty)
                pools->empty_count++;
            fa__mutex_unlock(lock);
        }
    }
    free(cache->items);
    cache->items = NULL;
    memset(cache->rec, 0, sizeof cache->rec); /* every stack empty and full: no inline call serves */
}

void fa__pool_trim(struct fa_pools *pools, struct fa_pool_cache *cache) {
    if (cache != NULL)
        fa__pool_drain(cache);
    for (unsigned c = 0; cache != NULL && cache->items != NULL && c < FA__POOL_CLASSES; c++) {
        for (struct fa_slab *s = cache->slabs[c]; s != NULL; s = s->next)
            collect_slab(s);
        shed_empty(pools, cache, c, 0);
    }
    struct fa_slab *emptied = NULL;
    for (unsigned c = 0; c < FA__POOL_CLASSES; c++) {
        fa__mutex_lock(&pools->cls[c].lock);
        for (struct fa_slab **at = &pools->cls[c].abandoned; *at != NULL;) {
            struct fa_slab *s = *at;
            collect_slab(s);
            if (s->in_use == 0) {
                *at = s->next;
                s->next = emptied;
                emptied = s;
            } else {
                at = &s->next;
            }
        }
        fa__mutex_unlock(&pools->cls[c].lock);
    }
    while (emptied != NULL) {
        struct fa_slab *next = emptied->next;
        give_empty(pools, emptied);
        emptied = next;
    }
}
