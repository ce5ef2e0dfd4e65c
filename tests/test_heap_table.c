/* SPDX-License-Identifier: MIT */
/* The heap table (src/heap_table.c), white-box: blocks taken from the
 * backend and recorded with their size, alignment and path; gives validated
 * against the table (a second free caught by its tombstone, an unknown
 * pointer foreign, neither reaching the backend); thousands of blocks across
 * growing rehashes; churn swept by rebuilds that do not grow the table;
 * refusals and FALLBACK blocks; fini giving every live block back; and
 * racing threads on one table. After every step fa__heap_check must hold,
 * along with the invariants it leaves out, checked here by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "heap_table.h"

/* Under the counting backend, a source that parks what is given back until
 * the test ends, so that no address comes round again: every take is a new
 * key, and every give leaves a tombstone no later take reuses. */
struct parking {
    void  **parked;
    size_t  count, capacity;
};

static fa_backend_result parking_allocate(void *ctx, size_t size, size_t align, void **out) {
    (void)ctx;
    return posix_memalign(out, align < sizeof(void *) ? sizeof(void *) : align, size) == 0 ? FA_BACKEND_OK
                                                                                          : FA_BACKEND_FAIL;
}

static void parking_deallocate(void *ctx, void *ptr, size_t size, size_t align) {
    (void)size, (void)align;
    struct parking *k = (struct parking *)ctx;
    if (k->count == k->capacity) {
        size_t more = k->capacity != 0 ? k->capacity * 2 : 256;
        void **grown = (void **)realloc(k->parked, more * sizeof *grown);
        if (grown == NULL) {
            free(ptr); /* the test's own shortage: the address may come round */
            return;
        }
        k->parked = grown;
        k->capacity = more;
    }
    k->parked[k->count++] = ptr;
}

struct table {
    struct fa_heap   h;
    struct fa_meter  meter;
    struct counting  c;
    struct parking   parking;
};

static struct table *fresh_table(void) {
    struct table *t = (struct table *)calloc(1, sizeof *t);
    assert_non_null(t);
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.backend = counting_backend(&t->c);
    fa__heap_init(&t->h, &cfg, &t->meter);
    return t;
}

/* A table whose backend never hands the same address out twice. */
static struct table *fresh_parking_table(void) {
    struct table *t = fresh_table();
    t->c.inner = (fa_backend){&t->parking, parking_allocate, parking_deallocate};
    return t;
}

/* Fini, then nothing may be left with the backend. */
static void drop_table(struct table *t) {
    fa__heap_fini(&t->h);
    assert_int_equal(t->c.bytes_out, 0);
    assert_int_equal(t->c.allocs, t->c.frees);
    assert_int_equal(t->meter.bytes, 0);
    for (size_t i = 0; i < t->parking.count; i++)
        free(t->parking.parked[i]);
    free(t->parking.parked);
    free(t);
}

static int by_address(const void *a, const void *b) {
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return (x > y) - (x < y);
}

/* The table's own validator, under the lock it asks for. */
static int heap_check(struct fa_heap *h) {
    pthread_mutex_lock(&h->lock);
    int ok = fa__heap_check(h);
    pthread_mutex_unlock(&h->lock);
    return ok;
}

/* fa__heap_check, and more: capacity 0 or a power of two, used at most three
 * quarters of it, live and used the counts of its slots, live blocks aligned
 * as recorded, and no address in two entries. */
static void assert_table_holds(struct fa_heap *h) {
    assert_true(heap_check(h));
    assert_true(h->capacity == 0 || (h->capacity & (h->capacity - 1)) == 0);
    assert_true(h->used * 4 <= h->capacity * 3);
    assert_true(h->live <= h->used);
    size_t live = 0, used = 0;
    uintptr_t *addrs = (uintptr_t *)malloc((h->capacity + 1) * sizeof *addrs);
    assert_non_null(addrs);
    for (size_t i = 0; i < h->capacity; i++) {
        const struct fa_heap_entry *e = &h->table[i];
        assert_true(e->state == FA__HEAP_EMPTY || e->state == FA__HEAP_LIVE || e->state == FA__HEAP_FREED);
        if (e->state == FA__HEAP_EMPTY)
            continue;
        used++;
        live += e->state == FA__HEAP_LIVE;
        if (e->state == FA__HEAP_LIVE) {
            assert_true(e->align >= _Alignof(max_align_t));
            assert_int_equal(e->addr & (e->align - 1), 0);
        }
        addrs[used - 1] = e->addr;
    }
    qsort(addrs, used, sizeof *addrs, by_address);
    for (size_t i = 1; i < used; i++)
        assert_int_not_equal(addrs[i - 1], addrs[i]);
    free(addrs);
    assert_int_equal(live, h->live);
    assert_int_equal(used, h->used);
}

/* The entry recorded for p, or NULL. */
static const struct fa_heap_entry *entry_of(const struct fa_heap *h, const void *p) {
    for (size_t i = 0; i < h->capacity; i++)
        if (h->table[i].state != FA__HEAP_EMPTY && h->table[i].addr == (uintptr_t)p)
            return &h->table[i];
    return NULL;
}

static void a_given_block_returns_the_size_and_tag_it_was_taken_with(void **state) {
    (void)state;
    struct table *t = fresh_table();
    assert_int_equal(t->h.capacity, 0); /* nothing allocated before the first take */
    void *p = fa__heap_take(&t->h, 100000, 0, 7);
    assert_non_null(p);
    memset(p, 0xab, 100000); /* all of it is usable */
    assert_table_holds(&t->h);
    assert_int_equal(t->h.live, 1);
    assert_int_equal(t->h.capacity, 64);
    assert_int_equal(t->c.bytes_out, 100000);
    assert_int_equal(t->meter.bytes, 100000);
    const struct fa_heap_entry *e = entry_of(&t->h, p);
    assert_non_null(e);
    assert_int_equal(e->state, FA__HEAP_LIVE);
    assert_int_equal(e->size, 100000);
    assert_int_equal(e->tag, 7);
    assert_int_equal(e->from_system, 0);
    size_t size = 0;
    uint32_t tag = 0;
    assert_int_equal(fa__heap_give(&t->h, p, &size, &tag), FA_OK);
    assert_int_equal(size, 100000);
    assert_int_equal(tag, 7);
    assert_int_equal(t->h.live, 0);
    assert_int_equal(t->c.bytes_out, 0);
    assert_int_equal(t->meter.bytes, 0);
    assert_int_equal(t->meter.calls, 2); /* one take, one give */
    assert_table_holds(&t->h);
    void *q = fa__heap_take(&t->h, 1, 0, FA_TAG_MAX - 1); /* the highest path */
    assert_non_null(q);
    assert_int_equal(fa__heap_give(&t->h, q, &size, &tag), FA_OK);
    assert_int_equal(size, 1);
    assert_int_equal(tag, FA_TAG_MAX - 1);
    drop_table(t);
}

static void blocks_are_aligned_as_asked(void **state) {
    (void)state;
    struct table *t = fresh_table();
    enum { ALIGNS = 17 }; /* 1 B to 64 KB */
    void *p[ALIGNS];
    for (size_t k = 0; k < ALIGNS; k++) {
        size_t align = (size_t)1 << k;
        size_t want = align < _Alignof(max_align_t) ? _Alignof(max_align_t) : align;
        p[k] = fa__heap_take(&t->h, 3000 + k, align, (uint32_t)k);
        assert_non_null(p[k]);
        assert_int_equal((uintptr_t)p[k] & (want - 1), 0);
        const struct fa_heap_entry *e = entry_of(&t->h, p[k]);
        assert_non_null(e);
        assert_int_equal(e->align, want); /* asked of the backend, and given back with it */
        assert_int_equal(t->c.max_align, (long)want); /* the largest asked so far */
        assert_table_holds(&t->h);
    }
    for (size_t k = 0; k < ALIGNS; k++) {
        size_t size;
        uint32_t tag;
        assert_int_equal(fa__heap_give(&t->h, p[k], &size, &tag), FA_OK);
        assert_int_equal(size, 3000 + k);
        assert_int_equal(tag, k);
    }
    assert_int_equal(t->c.bytes_out, 0);
    drop_table(t);
}

static void a_second_give_is_a_double_free_and_reaches_no_backend(void **state) {
    (void)state;
    struct table *t = fresh_table();
    void *keep = fa__heap_take(&t->h, 4096, 0, 1);
    void *p = fa__heap_take(&t->h, 8192, 64, 2);
    assert_non_null(keep);
    assert_non_null(p);
    size_t size;
    uint32_t tag;
    assert_int_equal(fa__heap_give(&t->h, p, &size, &tag), FA_OK);
    const struct fa_heap_entry *e = entry_of(&t->h, p);
    assert_non_null(e);
    assert_int_equal(e->state, FA__HEAP_FREED); /* the tombstone */
    assert_int_equal(t->h.used, 2);
    assert_int_equal(t->h.live, 1);
    size = 99;
    tag = 99;
    assert_int_equal(fa__heap_give(&t->h, p, &size, &tag), FA_ERR_DOUBLE_FREE);
    assert_int_equal(size, 0); /* nothing reported as freed */
    assert_int_equal(tag, 0);
    assert_int_equal(fa__heap_give(&t->h, p, &size, &tag), FA_ERR_DOUBLE_FREE); /* and again */
    assert_int_equal(t->c.frees, 1);
    assert_int_equal(t->c.bytes_out, 4096);
    assert_int_equal(t->meter.bytes, 4096);
    assert_int_equal(t->h.live, 1);
    assert_table_holds(&t->h);
    assert_int_equal(fa__heap_give(&t->h, keep, &size, &tag), FA_OK); /* the other one is untouched */
    assert_int_equal(size, 4096);
    assert_int_equal(tag, 1);
    drop_table(t);
}

static void an_unknown_pointer_is_foreign_and_reaches_no_backend(void **state) {
    (void)state;
    struct table *t = fresh_table();
    int local;
    size_t size = 99;
    uint32_t tag = 99;
    assert_int_equal(fa__heap_give(&t->h, &local, &size, &tag), FA_ERR_FOREIGN); /* an empty table */
    assert_int_equal(size, 0);
    assert_int_equal(tag, 0);
    assert_int_equal(t->h.capacity, 0);
    char *p = (char *)fa__heap_take(&t->h, 5000, 0, 3);
    assert_non_null(p);
    assert_int_equal(fa__heap_give(&t->h, &local, &size, &tag), FA_ERR_FOREIGN);
    assert_int_equal(fa__heap_give(&t->h, p + 16, &size, &tag), FA_ERR_FOREIGN); /* inside a block */
    assert_int_equal(fa__heap_give(&t->h, NULL, &size, &tag), FA_ERR_FOREIGN);
    assert_int_equal(t->c.frees, 0);
    assert_int_equal(t->h.live, 1);
    assert_int_equal(t->h.used, 1); /* no entry made for a foreign pointer */
    assert_table_holds(&t->h);
    assert_int_equal(fa__heap_give(&t->h, p, &size, &tag), FA_OK);
    assert_int_equal(size, 5000);
    drop_table(t);
}

static void thousands_of_blocks_are_all_found_and_given_back(void **state) {
    (void)state;
    struct table *t = fresh_table();
    enum { BLOCKS = 5000 };
    struct block {
        void         *p;
        size_t        size;
        uint32_t      tag;
        unsigned char fill;
    } *b = (struct block *)calloc(BLOCKS, sizeof *b);
    assert_non_null(b);
    struct rng r = rng_seeded(77);
    size_t capacity = 0, grown = 0, bytes = 0;
    for (size_t i = 0; i < BLOCKS; i++) {
        b[i].size = 16 + rng_below(&r, 2048);
        b[i].tag = (uint32_t)rng_below(&r, FA_TAG_MAX);
        b[i].p = fa__heap_take(&t->h, b[i].size, (size_t)1 << rng_below(&r, 8), b[i].tag);
        assert_non_null(b[i].p);
        b[i].fill = (unsigned char)i;
        memset(b[i].p, b[i].fill, b[i].size);
        bytes += b[i].size;
        if (t->h.capacity != capacity) {
            assert_true(t->h.capacity > capacity); /* only live entries: it only grows */
            capacity = t->h.capacity;
            grown++;
            assert_table_holds(&t->h); /* right after each rehash */
        }
    }
    assert_true(grown >= 7); /* 64 to at least 8192 */
    assert_true(t->h.capacity * 3 >= (size_t)BLOCKS * 4);
    assert_int_equal(t->h.live, BLOCKS);
    assert_int_equal(t->c.bytes_out, (long)bytes);
    assert_table_holds(&t->h);
    for (size_t i = 0; i < BLOCKS; i++) { /* each one found where the rehashes put it */
        const struct fa_heap_entry *e = entry_of(&t->h, b[i].p);
        assert_non_null(e);
        assert_int_equal(e->size, b[i].size);
    }
    for (size_t n = BLOCKS; n > 0; n--) { /* given back in random order */
        size_t i = rng_below(&r, n);
        struct block k = b[i];
        b[i] = b[n - 1];
        size_t size;
        uint32_t tag;
        assert_int_equal(((unsigned char *)k.p)[0], k.fill); /* no block overlapped another */
        assert_int_equal(((unsigned char *)k.p)[k.size - 1], k.fill);
        assert_int_equal(fa__heap_give(&t->h, k.p, &size, &tag), FA_OK);
        assert_int_equal(size, k.size);
        assert_int_equal(tag, k.tag);
        bytes -= k.size;
        assert_int_equal(t->c.bytes_out, (long)bytes);
    }
    assert_int_equal(t->h.live, 0);
    assert_int_equal(t->c.bytes_out, 0);
    assert_int_equal(t->c.frees, BLOCKS);
    assert_table_holds(&t->h);
    free(b);
    drop_table(t);
}

static void a_tombstone_lasts_until_a_rebuild_drops_it(void **state) {
    (void)state;
    struct table *t = fresh_parking_table();
    void *p = fa__heap_take(&t->h, 512, 0, 5);
    assert_non_null(p);
    size_t size;
    uint32_t tag;
    assert_int_equal(fa__heap_give(&t->h, p, &size, &tag), FA_OK);
    size_t takes = 0;
    for (;;) { /* take and give new blocks: tombstones pile up to a rebuild */
        assert_int_equal(fa__heap_give(&t->h, p, &size, &tag), FA_ERR_DOUBLE_FREE);
        size_t used = t->h.used;
        void *q = fa__heap_take(&t->h, 512, 0, 6);
        assert_non_null(q);
        takes++;
        if (t->h.used <= used)
            break; /* rebuilt: only q's entry is left */
        assert_int_equal(fa__heap_give(&t->h, q, &size, &tag), FA_OK);
        assert_true(takes < 64);
    }
    assert_int_equal(takes, 48); /* 48 entries fill three quarters of 64 */
    assert_int_equal(t->h.capacity, 64); /* one live block: not grown */
    assert_int_equal(t->h.used, 1);
    assert_int_equal(t->h.live, 1);
    assert_table_holds(&t->h);
    size = 99;
    assert_int_equal(fa__heap_give(&t->h, p, &size, &tag), FA_ERR_FOREIGN); /* forgotten now */
    assert_int_equal(size, 0);
    assert_int_equal(t->c.frees, 48); /* p and the 47 given back before q; none twice */
    drop_table(t);
}

static void churn_is_swept_by_rebuilds_that_do_not_grow_the_table(void **state) {
    (void)state;
    struct table *t = fresh_parking_table();
    enum { HELD = 10, ROUNDS = 10000 };
    void *held[HELD] = {0};
    struct rng r = rng_seeded(5);
    size_t sweeps = 0, previous_used = 0;
    for (int round = 0; round < ROUNDS; round++) {
        size_t i = rng_below(&r, HELD);
        size_t size;
        uint32_t tag;
        if (held[i] != NULL) {
            assert_int_equal(fa__heap_give(&t->h, held[i], &size, &tag), FA_OK);
            assert_int_equal(size, 256 + i);
            assert_int_equal(tag, i);
            /* Right after, the tombstone catches a second free (a take may
             * reuse the address later; that one is a new live block). */
            assert_int_equal(fa__heap_give(&t->h, held[i], &size, &tag), FA_ERR_DOUBLE_FREE);
            held[i] = NULL;
        } else {
            held[i] = fa__heap_take(&t->h, 256 + i, 0, (uint32_t)i);
            assert_non_null(held[i]);
            if (t->h.used < previous_used) { /* a rebuild dropped every tombstone */
                sweeps++;
                assert_int_equal(t->h.used, t->h.live);
                assert_table_holds(&t->h);
            }
        }
        previous_used = t->h.used;
        assert_int_equal(t->h.capacity, 64);
        assert_true(t->h.live <= HELD);
    }
    assert_true(sweeps > 0);
    assert_table_holds(&t->h);
    for (size_t i = 0; i < HELD; i++) {
        size_t size;
        uint32_t tag;
        if (held[i] != NULL)
            assert_int_equal(fa__heap_give(&t->h, held[i], &size, &tag), FA_OK);
    }
    drop_table(t);
}

static void a_refused_take_records_nothing(void **state) {
    (void)state;
    struct table *t = fresh_table();
    atomic_store(&t->c.mode, ANSWER_FAIL);
    assert_null(fa__heap_take(&t->h, 4096, 0, 1));
    assert_int_equal(t->h.capacity, 0);
    atomic_store(&t->c.mode, ANSWER_OK_NULL);
    assert_null(fa__heap_take(&t->h, 4096, 0, 1));
    atomic_store(&t->c.mode, ANSWER_OK);
    void *p = fa__heap_take(&t->h, 4096, 0, 1);
    assert_non_null(p);
    atomic_store(&t->c.mode, ANSWER_FAIL);
    assert_null(fa__heap_take(&t->h, 4096, 0, 1));
    assert_int_equal(t->h.live, 1);
    assert_int_equal(t->h.used, 1);
    assert_int_equal(t->meter.bytes, 4096);
    assert_table_holds(&t->h);
    atomic_store(&t->c.mode, ANSWER_OK);
    size_t size;
    uint32_t tag;
    assert_int_equal(fa__heap_give(&t->h, p, &size, &tag), FA_OK);
    drop_table(t);
}

static void a_fallback_block_goes_back_to_the_system(void **state) {
    (void)state;
    struct table *t = fresh_table();
    atomic_store(&t->c.mode, ANSWER_FALLBACK);
    void *p = fa__heap_take(&t->h, 20000, 256, 4);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p & 255, 0);
    const struct fa_heap_entry *e = entry_of(&t->h, p);
    assert_non_null(e);
    assert_int_equal(e->from_system, 1);
    assert_int_equal(t->c.allocs, 0); /* the backend only answered FALLBACK */
    assert_int_equal(t->meter.bytes, 20000);
    atomic_store(&t->c.mode, ANSWER_OK);
    size_t size;
    uint32_t tag;
    assert_int_equal(fa__heap_give(&t->h, p, &size, &tag), FA_OK);
    assert_int_equal(size, 20000);
    assert_int_equal(tag, 4);
    assert_int_equal(t->c.frees, 0); /* freed by the system, not the backend */
    assert_int_equal(t->meter.bytes, 0);
    drop_table(t);
}

static void fini_gives_every_live_block_back(void **state) {
    (void)state;
    struct table *t = fresh_table();
    void *p[200];
    for (int i = 0; i < 200; i++) {
        p[i] = fa__heap_take(&t->h, 1000 + (size_t)i, (size_t)16 << (i % 5), (uint32_t)(i % FA_TAG_MAX));
        assert_non_null(p[i]);
    }
    size_t size;
    uint32_t tag;
    for (int i = 0; i < 200; i += 2)
        assert_int_equal(fa__heap_give(&t->h, p[i], &size, &tag), FA_OK);
    atomic_store(&t->c.mode, ANSWER_FALLBACK);
    void *from_system = fa__heap_take(&t->h, 3000, 0, 0); /* goes back to the system at fini */
    assert_non_null(from_system);
    assert_int_equal(t->h.live, 101);
    assert_int_equal(t->c.bytes_out, 100 * 1000 + 100 * 100); /* the odd ones: 1001, 1003, ... 1199 */
    assert_int_equal(t->meter.bytes, 100 * 1000 + 100 * 100 + 3000);
    assert_table_holds(&t->h);
    drop_table(t); /* asserts the backend and the meter are back to 0 */
}

/* Four threads take and give their own blocks in one table at once. */
struct racer {
    struct table *t;
    int           id;
    int           wrong;
};

static void *race(void *arg) {
    struct racer *me = (struct racer *)arg;
    struct rng r = rng_seeded((uint64_t)me->id + 1);
    void *held[32] = {0};
    for (int round = 0; round < 4000; round++) {
        size_t i = rng_below(&r, 32);
        size_t want = 64 + (size_t)me->id * 32 + i;
        if (held[i] == NULL) {
            held[i] = fa__heap_take(&me->t->h, want, 64, (uint32_t)me->id);
            me->wrong += held[i] == NULL || ((uintptr_t)held[i] & 63) != 0;
            if (held[i] != NULL)
                memset(held[i], me->id, want);
        } else {
            size_t size;
            uint32_t tag;
            me->wrong += fa__heap_give(&me->t->h, held[i], &size, &tag) != FA_OK;
            me->wrong += size != want || tag != (uint32_t)me->id;
            held[i] = NULL;
        }
    }
    for (size_t i = 0; i < 32; i++) {
        size_t size;
        uint32_t tag;
        if (held[i] != NULL)
            me->wrong += fa__heap_give(&me->t->h, held[i], &size, &tag) != FA_OK;
    }
    return NULL;
}

static void racing_threads_each_find_their_own_blocks(void **state) {
    (void)state;
    struct table *t = fresh_table();
    enum { THREADS = 4 };
    pthread_t th[THREADS];
    struct racer racers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        racers[i] = (struct racer){t, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, race, &racers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(racers[i].wrong, 0);
    }
    assert_int_equal(t->h.live, 0);
    assert_int_equal(t->c.bytes_out, 0);
    assert_int_equal(t->meter.bytes, 0);
    assert_table_holds(&t->h);
    drop_table(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_given_block_returns_the_size_and_tag_it_was_taken_with),
        cmocka_unit_test(blocks_are_aligned_as_asked),
        cmocka_unit_test(a_second_give_is_a_double_free_and_reaches_no_backend),
        cmocka_unit_test(an_unknown_pointer_is_foreign_and_reaches_no_backend),
        cmocka_unit_test(thousands_of_blocks_are_all_found_and_given_back),
        cmocka_unit_test(a_tombstone_lasts_until_a_rebuild_drops_it),
        cmocka_unit_test(churn_is_swept_by_rebuilds_that_do_not_grow_the_table),
        cmocka_unit_test(a_refused_take_records_nothing),
        cmocka_unit_test(a_fallback_block_goes_back_to_the_system),
        cmocka_unit_test(fini_gives_every_live_block_back),
        cmocka_unit_test(racing_threads_each_find_their_own_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
