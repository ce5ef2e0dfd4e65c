/* SPDX-License-Identifier: MIT */
/* The slabs behind the pools (src/slab.c), white-box: pools driven below
 * the API, with one or two thread caches of our own. A refill formats a
 * fresh slab and fills the cache; taking and giving blocks back (local
 * frees, flushes) keeps every slab's bitmap, in-use count and census
 * exact; a remote free reaches the owner only when it collects, and a
 * second one of the same block is a double free; an abandoned slab is
 * adopted by the next cache of its path with its blocks intact; trims, the
 * reserve and fa__pool_excess / fa__pool_release give empty slabs back,
 * and fa__pools_fini leaves the backend with nothing out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "backend.h"
#include "slab.h"

#define SLAB ((size_t)64 * 1024) /* fa_config_init's slab_size */
#define BIG 9u                   /* 4096-byte blocks: 16 a slab, a cache of 16, refills of 8 */

/* The pools of one allocator that does not exist: a counting backend, the
 * allocator's meter, and the caches and fast-path entries of two threads
 * (the owner's and another's). */
struct slab_fixture {
    struct counting       c;
    struct fa_meter       meter;
    struct fa_pools       pools;
    struct fa_pool_cache  cache;
    struct fa_pool_cache  other;
    int                   finished; /* the test ran fa__pools_fini itself */
};

static int slab_setup(void **state) {
    struct slab_fixture *f = (struct slab_fixture *)calloc(1, sizeof *f);
    if (f == NULL)
        return 1;
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.backend = counting_backend(&f->c);
    cfg.slab_reserve = 1; /* keep no empty slab: what is empty goes back */
    fa__slabmap_acquire();    /* what fa_create does */
    fa__pools_init(&f->pools, &cfg, f, &f->meter);
    *state = f;
    return !fa__pool_attach(&f->pools, &f->cache);
}

/* What a thread's exit does, then fa_destroy's part; fails on a leak. */
static int slab_teardown(void **state) {
    struct slab_fixture *f = (struct slab_fixture *)*state;
    if (!f->finished) {
        fa__pool_abandon(&f->pools, &f->cache);
        fa__pool_abandon(&f->pools, &f->other);
        fa__pools_fini(&f->pools);
    }
    fa__slabmap_release();
    int leaked = atomic_load(&f->c.bytes_out) != 0 || atomic_load(&f->meter.bytes) != 0;
    free(f);
    return leaked;
}

/* A block of class cls, the way pool.c's pool_take gets one. */
static void *take_block(struct slab_fixture *f, struct fa_pool_cache *cache, unsigned cls) {
    if (fa__pool_cached(&cache->rec[cls]) == 0)
        assert_true(fa__pool_refill(&f->pools, cache, cls, UINT32_MAX));
    void *p = fa__pool_pop(&cache->rec[cls]);
    assert_int_equal(*(uint64_t *)p, 0); /* the marker is cleared on the way out */
    fa__track_undefined((char *)p + 8, ((size_t)8 << cls) - 8); /* as pool.c hands it out (track.h) */
    return p;
}

/* A free on the owning thread, the way pool.c's pool_free_local does one. */
static void free_local(struct slab_fixture *f, struct fa_pool_cache *cache, void *p) {
    const struct fa__slab_entry *e = fa__slab_of((uintptr_t)p);
    unsigned cls = fa__slab_at(p)->cls;
    struct fa__pool_rec *r = &cache->rec[cls];
    assert_ptr_equal(e->rec, r);
    assert_int_equal((uintptr_t)p & r->mask, 0);
    assert_int_not_equal(*(uint64_t *)p, r->cookie);
    if (r->top == r->end)
        fa__pool_flush(&f->pools, cache, cls);
    fa__pool_push(r, p);
}

/* Every slab of a class list is valid, of the class, found by its blocks'
 * addresses; returns how many of them are empty. */
static unsigned check_class(const struct fa_pool_cache *cache, unsigned cls) {
    unsigned empty = 0;
    for (const struct fa_slab *s = cache->slabs[cls]; s != NULL; s = s->next) {
        assert_true(fa__slab_check(s));
        assert_int_equal(s->cls, cls);
        assert_int_equal(s->capacity, SLAB >> (cls + 3));
        assert_ptr_equal(fa__slab_at((void *)s->base), s);
        assert_ptr_equal(fa__slab_at((void *)(s->base + SLAB - 1)), s);
        assert_ptr_equal(s->entry->rec, &cache->rec[cls]);
        empty += s->in_use == 0;
    }
    return empty;
}

static uint64_t census_in_use(const struct fa_pool_cache *cache, unsigned cls) {
    uint64_t slabs, in_use;
    fa__pool_census(cache, cls, &slabs, &in_use);
    return in_use;
}

static uint64_t census_slabs(const struct fa_pool_cache *cache, unsigned cls) {
    uint64_t slabs, in_use;
    fa__pool_census(cache, cls, &slabs, &in_use);
    return slabs;
}

static void a_refill_formats_a_fresh_slab_and_fills_half_the_cache(void **state) {
    struct slab_fixture *f = (struct slab_fixture *)*state;
    const unsigned cls = 3; /* 64-byte blocks: 1,024 a slab, a cache of 1,024 */
    assert_non_null(f->cache.items);
    assert_int_equal(f->cache.rec[cls].cookie, f->pools.cookie);
    assert_true(fa__pool_refill(&f->pools, &f->cache, cls, UINT32_MAX));
    assert_int_equal(fa__pool_cached(&f->cache.rec[cls]), fa__pool_cache_cap(cls) / 2);

    struct fa_slab *s = f->cache.slabs[cls];
    assert_non_null(s);
    assert_null(s->next);
    assert_int_equal(s->shift, 6);
    assert_int_equal(s->capacity, 1024);
    assert_int_equal(s->in_use, 512);
    assert_int_equal(s->path, 0);
    assert_ptr_equal(s->instance, f);
    assert_int_equal(s->base % SLAB, 0); /* aligned to its size */
    assert_int_equal(check_class(&f->cache, cls), 0);
    const struct fa__slab_entry *e = fa__slab_of(s->base);
    assert_ptr_equal(e->rec, &f->cache.rec[cls]);
    assert_int_equal(e->rec->mask, 63);
    assert_int_equal(e->rec->end - e->rec->base, fa__pool_cache_cap(cls));

    void **items = f->cache.rec[cls].base;
    for (unsigned i = 0; i < fa__pool_cached(&f->cache.rec[cls]); i++) {
        assert_ptr_equal(fa__slab_at(items[i]), s);
        assert_int_equal((uintptr_t)items[i] % 64, 0);
        assert_int_equal(*(uint64_t *)items[i], f->pools.cookie); /* free blocks carry the marker */
        if (i > 0)
            assert_true(items[i] != items[i - 1]);
    }
    int local;
    assert_null(fa__slab_at(&local)); /* not a slab: the map says so without reading it */

    uint64_t slabs, in_use;
    fa__pool_census(&f->cache, cls, &slabs, &in_use);
    assert_int_equal(slabs, 1);
    assert_int_equal(in_use, 512);
    assert_int_equal(census_slabs(&f->cache, cls + 1), 0);
    assert_int_equal(atomic_load(&f->c.allocs), 1);
    assert_int_equal(atomic_load(&f->c.bytes_out), SLAB);
    assert_int_equal(atomic_load(&f->meter.bytes), SLAB);
}

/* A seeded run of takes and local frees over four classes: after every
 * step each slab is valid, the census counts the cached blocks plus those
 * the test holds, flushes keep at most one empty slab a class, and the
 * backend holds exactly the slabs the census counts. */
static void takes_and_local_frees_keep_every_count_exact(void **state) {
    struct slab_fixture *f = (struct slab_fixture *)*state;
    enum { HELD_MAX = 200, STEPS = 4000 };
    static void *held[HELD_MAX];
    uint64_t held_in[FA__POOL_CLASSES] = {0};
    uint64_t taken = 0;
    size_t n = 0;
    struct rng r = rng_seeded(7);
    for (int step = 0; step < STEPS; step++) {
        unsigned cls;
        if (n < HELD_MAX && (n == 0 || rng_below(&r, 100) < 55)) {
            cls = 6 + (unsigned)rng_below(&r, 4);
            void *p = take_block(f, &f->cache, cls);
            ((uint64_t *)p)[0] = ++taken; /* the program's bytes */
            ((uint64_t *)p)[1] = taken;
            held[n++] = p;
            held_in[cls]++;
        } else {
            size_t i = rng_below(&r, n);
            void *p = held[i];
            held[i] = held[--n];
            assert_int_equal(((uint64_t *)p)[0], ((uint64_t *)p)[1]); /* nobody else had it */
            cls = fa__slab_at(p)->cls;
            free_local(f, &f->cache, p);
            held_in[cls]--;
        }
        assert_true(check_class(&f->cache, cls) <= 1);
        assert_int_equal(census_in_use(&f->cache, cls), fa__pool_cached(&f->cache.rec[cls]) + held_in[cls]);
        uint64_t slabs = 0;
        for (unsigned c = 0; c < FA__POOL_CLASSES; c++)
            slabs += census_slabs(&f->cache, c);
        assert_int_equal(atomic_load(&f->c.bytes_out), slabs * SLAB);
    }
    assert_null(f->pools.empty); /* no reserve: every shed slab went back */
    if (!FA_MINIMAL) {
        uint64_t out = 0;
        for (unsigned c = 0; c < FA__POOL_CLASSES; c++)
            out += f->cache.rec[c].out;
        assert_int_equal(out, taken); /* fa__pool_pop counts every block it hands out */
    }
    while (n > 0)
        free_local(f, &f->cache, held[--n]);
    for (unsigned c = 6; c < 10; c++)
        assert_int_equal(census_in_use(&f->cache, c), fa__pool_cached(&f->cache.rec[c]));
}

struct remote_free {
    struct fa_slab *s;
    void           *p;
    uint64_t        cookie;
    fa_error        result;
};

static void *free_remotely(void *arg) {
    struct remote_free *rf = (struct remote_free *)arg;
    rf->result = fa__pool_free_remote(rf->s, rf->p, rf->cookie);
    return NULL;
}

static void a_remote_free_reaches_the_owner_only_when_it_collects(void **state) {
    struct slab_fixture *f = (struct slab_fixture *)*state;
    void *held[8];
    for (int i = 0; i < 8; i++) /* the whole first refill: blocks 7 down to 0 */
        held[i] = take_block(f, &f->cache, BIG);
    struct fa_slab *s = f->cache.slabs[BIG];
    void *first = held[7];
    assert_ptr_equal(first, (void *)s->base);
    assert_int_equal(s->in_use, 8);

    struct remote_free rf = {s, first, f->pools.cookie, FA_ERR_STATE};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, free_remotely, &rf), 0);
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(rf.result, FA_OK);
    assert_int_equal(*(uint64_t *)first, f->pools.cookie); /* marked freed at once */
    assert_int_equal(atomic_load(&s->remote_pending), 1);
    assert_int_equal(s->in_use, 8);            /* the owner has not seen it */
    assert_int_equal(s->free_bits[0] & 1, 0);
    assert_true(fa__slab_check(s));            /* in_use counts uncollected remote frees */
    assert_int_equal(census_in_use(&f->cache, BIG), 8);

    fa__pool_collect(&f->cache);
    assert_int_equal(s->in_use, 7);
    assert_int_equal(s->free_bits[0] & 1, 1);
    assert_int_equal(atomic_load(&s->remote_pending), 0);
    assert_int_equal(atomic_load(&s->remote_bits[0]), 0);
    assert_true(fa__slab_check(s));

    /* The next refill hands the block out again, lowest first. */
    assert_true(fa__pool_refill(&f->pools, &f->cache, BIG, UINT32_MAX));
    assert_int_equal(fa__pool_cached(&f->cache.rec[BIG]), 8);
    assert_ptr_equal(f->cache.rec[BIG].base[0], first);
    assert_int_equal(s->in_use, 15);
    assert_int_equal(census_slabs(&f->cache, BIG), 1);
    for (int i = 0; i < 7; i++)
        free_local(f, &f->cache, held[i]);
    assert_int_equal(census_in_use(&f->cache, BIG), fa__pool_cached(&f->cache.rec[BIG]));
}

static void a_second_remote_free_of_a_block_is_a_double_free(void **state) {
    struct slab_fixture *f = (struct slab_fixture *)*state;
    const unsigned cls = 3;
    void *p = take_block(f, &f->cache, cls);
    struct fa_slab *s = fa__slab_at(p);
    assert_non_null(s);
    uint32_t before = s->in_use;
    assert_int_equal(fa__pool_free_remote(s, p, f->pools.cookie), FA_OK);
    assert_int_equal(fa__pool_free_remote(s, p, f->pools.cookie), FA_ERR_DOUBLE_FREE);
    fa__pool_collect(&f->cache);
    assert_int_equal(s->in_use, before - 1); /* counted once */
    assert_true(fa__slab_check(s));
    assert_int_equal(census_in_use(&f->cache, cls), fa__pool_cached(&f->cache.rec[cls]));
}

static void an_abandoned_slab_is_adopted_with_its_blocks_intact(void **state) {
    struct slab_fixture *f = (struct slab_fixture *)*state;
    void *held[11];
    for (int i = 0; i < 11; i++) { /* 8 from the first refill, 3 from the second */
        held[i] = take_block(f, &f->cache, BIG);
        memset((char *)held[i] + 8, 0x40 + i, 4096 - 8);
    }
    struct fa_slab *s = f->cache.slabs[BIG];
    assert_int_equal(fa__pool_cached(&f->cache.rec[BIG]), 5);
    assert_int_equal(s->in_use, 16);

    fa__pool_abandon(&f->pools, &f->cache);
    assert_null(f->cache.items);
    assert_null(f->cache.slabs[BIG]);
    assert_int_equal(fa__pool_cached(&f->cache.rec[BIG]), 0);
    assert_null(s->entry->rec); /* nobody's: every free of it is remote now */
    assert_int_equal(s->in_use, 11);      /* the cached five went back */
    assert_true(fa__slab_check(s));
    uint64_t slabs, in_use;
    fa__pool_shared_census(&f->pools, BIG, &slabs, &in_use);
    assert_int_equal(slabs, 1);
    assert_int_equal(in_use, 11);
    assert_null(f->pools.empty);

    /* A block freed while nobody owns the slab... */
    assert_int_equal(fa__pool_free_remote(s, held[0], f->pools.cookie), FA_OK);

    /* ...is collected by the cache that adopts it, on its first refill. */
    assert_true(fa__pool_attach(&f->pools, &f->other));
    assert_true(fa__pool_refill(&f->pools, &f->other, BIG, UINT32_MAX));
    assert_ptr_equal(f->other.slabs[BIG], s);
    assert_null(s->next);
    assert_ptr_equal(s->entry->rec, &f->other.rec[BIG]);
    assert_int_equal(fa__pool_cached(&f->other.rec[BIG]), 6); /* five returned, one freed remotely */
    assert_int_equal(s->in_use, 16);
    assert_int_equal(check_class(&f->other, BIG), 0);
    fa__pool_shared_census(&f->pools, BIG, &slabs, &in_use);
    assert_int_equal(slabs, 0);
    assert_int_equal(in_use, 0);
    assert_int_equal(atomic_load(&f->c.allocs), 1); /* no new slab */

    void **items = f->other.rec[BIG].base;
    int found = 0;
    for (unsigned k = 0; k < fa__pool_cached(&f->other.rec[BIG]); k++) {
        found += items[k] == held[0];
        for (int i = 1; i < 11; i++)
            assert_ptr_not_equal(items[k], held[i]);
    }
    assert_int_equal(found, 1);
    for (int i = 1; i < 11; i++) {
        const unsigned char *b = (const unsigned char *)held[i];
        for (size_t k = 8; k < 4096; k++)
            assert_int_equal(b[k], 0x40 + i);
        free_local(f, &f->other, held[i]); /* the adopter owns them now */
    }
    assert_int_equal(fa__pool_cached(&f->other.rec[BIG]), 16);
    assert_int_equal(census_in_use(&f->other, BIG), 16);
    fa__pool_trim(&f->pools, &f->other);
    assert_int_equal(atomic_load(&f->c.bytes_out), 0);
}

static void a_cache_adopts_only_slabs_of_its_own_path(void **state) {
    struct slab_fixture *f = (struct slab_fixture *)*state;
    void *p = take_block(f, &f->cache, BIG);
    struct fa_slab *s = fa__slab_at(p);
    fa__pool_abandon(&f->pools, &f->cache);

    f->other.path = 3;
    assert_true(fa__pool_attach(&f->pools, &f->other));
    assert_true(fa__pool_refill(&f->pools, &f->other, BIG, UINT32_MAX));
    struct fa_slab *mine = f->other.slabs[BIG];
    assert_ptr_not_equal(mine, s); /* path 0's slab is not path 3's to take */
    assert_int_equal(mine->path, 3);
    assert_int_equal(atomic_load(&f->c.allocs), 2);
    uint64_t slabs, in_use;
    fa__pool_shared_census(&f->pools, BIG, &slabs, &in_use);
    assert_int_equal(slabs, 1);
    assert_int_equal(in_use, 1);

    struct fa_pool_cache root;
    memset(&root, 0, sizeof root);
    assert_true(fa__pool_attach(&f->pools, &root));
    assert_true(fa__pool_refill(&f->pools, &root, BIG, UINT32_MAX));
    assert_ptr_equal(root.slabs[BIG], s);
    assert_int_equal(atomic_load(&f->c.allocs), 2);
    free_local(f, &root, p);
    assert_int_equal(census_in_use(&root, BIG), fa__pool_cached(&root.rec[BIG]));
    fa__pool_abandon(&f->pools, &root); /* emptied: to the empty list */
    assert_int_equal(f->pools.empty_count, 1);
    assert_ptr_equal(f->pools.empty, s);
}

static void trim_gives_every_empty_slab_back_to_the_backend(void **state) {
    struct slab_fixture *f = (struct slab_fixture *)*state;
    long before = atomic_load(&f->c.bytes_out);
    const unsigned classes[3] = {0, 5, BIG};
    void *kept = NULL;
    uintptr_t bases[3];
    for (int k = 0; k < 3; k++) {
        void *p[20];
        for (int i = 0; i < 20; i++)
            p[i] = take_block(f, &f->cache, classes[k]);
        bases[k] = f->cache.slabs[classes[k]]->base;
        for (int i = classes[k] == 5 ? 1 : 0; i < 20; i++)
            free_local(f, &f->cache, p[i]);
        if (classes[k] == 5)
            kept = p[0];
    }
    assert_int_equal(atomic_load(&f->c.bytes_out), before + 4 * (long)SLAB); /* class 9 took two */

    fa__pool_trim(&f->pools, &f->cache);
    for (unsigned c = 0; c < FA__POOL_CLASSES; c++) {
        assert_int_equal(fa__pool_cached(&f->cache.rec[c]), 0);
        assert_int_equal(census_slabs(&f->cache, c), c == 5 ? 1 : 0);
    }
    assert_int_equal(census_in_use(&f->cache, 5), 1); /* a live block keeps its slab */
    assert_int_equal(atomic_load(&f->c.bytes_out), before + (long)SLAB);
    assert_null(fa__slab_at((void *)bases[0])); /* given back: the map forgot it */
    assert_null(fa__slab_at((void *)bases[2]));
    assert_ptr_equal(fa__slab_at(kept), f->cache.slabs[5]);

    free_local(f, &f->cache, kept);
    fa__pool_trim(&f->pools, &f->cache);
    assert_int_equal(census_slabs(&f->cache, 5), 0);
    assert_int_equal(atomic_load(&f->c.bytes_out), before);
    assert_int_equal(atomic_load(&f->meter.bytes), (uint64_t)before);
    assert_int_equal(atomic_load(&f->c.frees), atomic_load(&f->c.allocs));
    assert_non_null(f->cache.items); /* the cache itself stays */
}

static void trim_gives_back_abandoned_slabs_that_remote_frees_emptied(void **state) {
    struct slab_fixture *f = (struct slab_fixture *)*state;
    void *p = take_block(f, &f->cache, BIG);
    struct fa_slab *s = fa__slab_at(p);
    fa__pool_abandon(&f->pools, &f->cache);
    assert_int_equal(fa__pool_free_remote(s, p, f->pools.cookie), FA_OK);
    uint64_t slabs, in_use;
    fa__pool_shared_census(&f->pools, BIG, &slabs, &in_use);
    assert_int_equal(slabs, 1);
    assert_int_equal(in_use, 1); /* not collected yet */
    assert_int_equal(atomic_load(&f->c.bytes_out), SLAB);

    fa__pool_trim(&f->pools, NULL); /* a thread that never used the allocator */
    fa__pool_shared_census(&f->pools, BIG, &slabs, &in_use);
    assert_int_equal(slabs, 0);
    assert_int_equal(in_use, 0);
    assert_int_equal(atomic_load(&f->c.bytes_out), 0);
    assert_null(fa__slab_at(p));
}

static void the_reserve_keeps_empty_slabs_until_excess_is_released(void **state) {
    struct slab_fixture *f = (struct slab_fixture *)*state;
    f->pools.reserve = 2 * SLAB; /* what cfg.slab_reserve = 128 KiB sets */
    enum { N = 64 };             /* four slabs of 4096-byte blocks */
    void *p[N];
    for (int i = 0; i < N; i++)
        p[i] = take_block(f, &f->cache, BIG);
    assert_int_equal(census_slabs(&f->cache, BIG), 4);
    assert_int_equal(census_in_use(&f->cache, BIG), N);
    for (int i = 0; i < N; i++)
        free_local(f, &f->cache, p[i]);
    fa__pool_trim(&f->pools, &f->cache);
    assert_int_equal(census_slabs(&f->cache, BIG), 0);
    assert_int_equal(f->pools.empty_count, 2);
    assert_int_equal(atomic_load(&f->c.bytes_out), 2 * SLAB);
    long allocs = atomic_load(&f->c.allocs);

    /* An empty slab serves any class before the backend is asked. */
    void *q = take_block(f, &f->cache, 0);
    struct fa_slab *s = fa__slab_at(q);
    assert_int_equal(atomic_load(&f->c.allocs), allocs);
    assert_int_equal(f->pools.empty_count, 1);
    assert_int_equal(s->cls, 0);
    assert_int_equal(s->capacity, SLAB / 8);
    assert_int_equal(fa__slab_of((uintptr_t)q)->rec->mask, 7);
    assert_true(fa__slab_check(s));
    free_local(f, &f->cache, q);
    fa__pool_trim(&f->pools, &f->cache);
    assert_int_equal(f->pools.empty_count, 2);

    f->pools.reserve = 0;
    struct fa_slab *excess = fa__pool_excess(&f->pools);
    int listed = 0;
    for (struct fa_slab *e = excess; e != NULL; e = e->next)
        listed++;
    assert_int_equal(listed, 2);
    assert_int_equal(f->pools.empty_count, 0);
    assert_null(f->pools.empty);
    assert_int_equal(atomic_load(&f->c.bytes_out), 2 * SLAB); /* taken out, not yet given back */
    fa__pool_release(&f->pools, excess);
    assert_int_equal(atomic_load(&f->c.bytes_out), 0);
    assert_int_equal(atomic_load(&f->meter.bytes), 0);
}

static void fini_gives_back_every_slab_even_with_blocks_still_out(void **state) {
    struct slab_fixture *f = (struct slab_fixture *)*state;
    for (unsigned c = 0; c < FA__POOL_CLASSES; c++)
        (void)take_block(f, &f->cache, c); /* never freed */
    assert_int_equal(atomic_load(&f->c.bytes_out), FA__POOL_CLASSES * SLAB);
    fa__pool_abandon(&f->pools, &f->cache);
    for (unsigned c = 0; c < FA__POOL_CLASSES; c++) {
        uint64_t slabs, in_use;
        fa__pool_shared_census(&f->pools, c, &slabs, &in_use);
        assert_int_equal(slabs, 1);
        assert_int_equal(in_use, 1);
    }
    fa__pools_fini(&f->pools);
    f->finished = 1;
    assert_int_equal(atomic_load(&f->c.bytes_out), 0);
    assert_int_equal(atomic_load(&f->meter.bytes), 0);
    assert_int_equal(atomic_load(&f->c.frees), FA__POOL_CLASSES);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_refill_formats_a_fresh_slab_and_fills_half_the_cache, slab_setup,
                                        slab_teardown),
        cmocka_unit_test_setup_teardown(takes_and_local_frees_keep_every_count_exact, slab_setup, slab_teardown),
        cmocka_unit_test_setup_teardown(a_remote_free_reaches_the_owner_only_when_it_collects, slab_setup,
                                        slab_teardown),
        cmocka_unit_test_setup_teardown(a_second_remote_free_of_a_block_is_a_double_free, slab_setup,
                                        slab_teardown),
        cmocka_unit_test_setup_teardown(an_abandoned_slab_is_adopted_with_its_blocks_intact, slab_setup,
                                        slab_teardown),
        cmocka_unit_test_setup_teardown(a_cache_adopts_only_slabs_of_its_own_path, slab_setup, slab_teardown),
        cmocka_unit_test_setup_teardown(trim_gives_every_empty_slab_back_to_the_backend, slab_setup,
                                        slab_teardown),
        cmocka_unit_test_setup_teardown(trim_gives_back_abandoned_slabs_that_remote_frees_emptied, slab_setup,
                                        slab_teardown),
        cmocka_unit_test_setup_teardown(the_reserve_keeps_empty_slabs_until_excess_is_released, slab_setup,
                                        slab_teardown),
        cmocka_unit_test_setup_teardown(fini_gives_back_every_slab_even_with_blocks_still_out, slab_setup,
                                        slab_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
