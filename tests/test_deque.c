/* SPDX-License-Identifier: MIT */
/* The work-stealing deque (src/deque.c): its order at each end, growth,
 * errors, its memory in the statistics and under a budget, and one owner
 * against three thieves, every item taken exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"

/* Items that are never dereferenced: 1, 2, 3, ... as pointers. */
static void *item_of(uintptr_t n) {
    return (void *)n;
}

/* Something that sets a last error other than FA_ERR_INVALID (a capacity
 * that cannot be met), so that the next check sees its own call's error. */
static void set_other_error(fa_alloc *a) {
    assert_null(fa_deque_create(a, SIZE_MAX));
    assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
}

static void pop_is_lifo_and_steal_is_fifo(void **state) {
    fa_deque *d = fa_deque_create(alloc_of(state), 8);
    assert_non_null(d);
    for (uintptr_t n = 1; n <= 6; n++)
        assert_int_equal(fa_deque_push(d, item_of(n)), FA_OK);
    assert_int_equal(fa_deque_count(d), 6);
    assert_ptr_equal(fa_deque_pop(d), item_of(6));
    assert_ptr_equal(fa_deque_steal(d), item_of(1));
    assert_ptr_equal(fa_deque_pop(d), item_of(5));
    assert_ptr_equal(fa_deque_steal(d), item_of(2));
    assert_int_equal(fa_deque_count(d), 2);
    assert_ptr_equal(fa_deque_steal(d), item_of(3));
    assert_ptr_equal(fa_deque_steal(d), item_of(4));
    assert_int_equal(fa_deque_count(d), 0);
    fa_deque_destroy(d);
}

static void an_empty_deque_gives_null_without_error(void **state) {
    struct fixture *f = fixture_of(state);
    fa_deque *d = fa_deque_create(f->a, 0);
    assert_non_null(d);
    for (int round = 0; round < 3; round++) { /* empty at first, and emptied by each end */
        assert_null(fa_deque_pop(d));
        assert_null(fa_deque_steal(d));
        assert_int_equal(fa_deque_count(d), 0);
        assert_int_equal(fa_deque_push(d, item_of(7)), FA_OK);
        assert_ptr_equal(round % 2 ? fa_deque_steal(d) : fa_deque_pop(d), item_of(7));
    }
    assert_int_equal(f->ev.count, 0);
    fa_deque_destroy(d);
}

/* From 2 slots to 32768, with steals along the way so that the items wrap
 * round the ring when it grows: every item is there, in order. */
static void growth_from_two_keeps_every_item(void **state) {
    enum { N = 20000 };
    fa_deque *d = fa_deque_create(alloc_of(state), 2);
    assert_non_null(d);
    uintptr_t next_stolen = 1;
    for (uintptr_t n = 1; n <= N; n++) {
        assert_int_equal(fa_deque_push(d, item_of(n)), FA_OK);
        if (n % 3 == 0)
            assert_ptr_equal(fa_deque_steal(d), item_of(next_stolen++));
    }
    assert_int_equal(fa_deque_count(d), N - (next_stolen - 1));
    for (uintptr_t n = N; n >= next_stolen; n--)
        assert_ptr_equal(fa_deque_pop(d), item_of(n));
    assert_null(fa_deque_pop(d));
    fa_deque_destroy(d);
}

static void any_capacity_is_served(void **state) {
    const size_t capacities[] = {0, 1, 3, 64, 100, 5000};
    for (size_t k = 0; k < sizeof capacities / sizeof capacities[0]; k++) {
        fa_deque *d = fa_deque_create(alloc_of(state), capacities[k]);
        assert_non_null(d);
        for (uintptr_t n = 1; n <= 200; n++)
            assert_int_equal(fa_deque_push(d, item_of(n)), FA_OK);
        for (uintptr_t n = 200; n >= 1; n--)
            assert_ptr_equal(fa_deque_pop(d), item_of(n));
        fa_deque_destroy(d);
    }
}

static void null_arguments_are_invalid(void **state) {
    struct fixture *f = fixture_of(state);
    set_other_error(f->a);
    assert_null(fa_deque_create(NULL, 8));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    set_other_error(f->a);
    assert_int_equal(fa_deque_push(NULL, item_of(1)), FA_ERR_INVALID);
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    set_other_error(f->a);
    assert_null(fa_deque_pop(NULL));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    set_other_error(f->a);
    assert_null(fa_deque_steal(NULL));
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    set_other_error(f->a);
    assert_int_equal(fa_deque_count(NULL), 0);
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    fa_deque_destroy(NULL); /* a no-op */
}

/* NULL means empty, so it cannot be an item: refused with an event, and
 * the deque is unchanged. */
static void a_null_item_is_refused(void **state) {
    struct fixture *f = fixture_of(state);
    fa_deque *d = fa_deque_create(f->a, 4);
    assert_non_null(d);
    assert_int_equal(fa_deque_push(d, item_of(1)), FA_OK);
    int events = f->ev.count;
    assert_int_equal(fa_deque_push(d, NULL), FA_ERR_INVALID);
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
    assert_int_equal(f->ev.count, events + 1);
    assert_int_equal(f->ev.last, FA_ERR_INVALID);
    assert_string_equal(f->ev.message, "fa_deque_push: NULL item (NULL means empty)");
    assert_int_equal(fa_deque_count(d), 1);
    assert_ptr_equal(fa_deque_pop(d), item_of(1));
    fa_deque_destroy(d);
}

/* A capacity past what can be addressed, or one the pools cannot serve
 * (2^63 bytes of slots with a 64-bit size_t): NULL, FA_ERR_NOMEM, an
 * event, and nothing kept (the teardown checks the backend). */
static void a_capacity_that_cannot_be_met_is_nomem(void **state) {
    struct fixture *f = fixture_of(state);
    const size_t capacities[] = {SIZE_MAX, SIZE_MAX / 16};
    for (size_t k = 0; k < 2; k++) {
        int events = f->ev.count;
        assert_null(fa_deque_create(f->a, capacities[k]));
        assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
        assert_int_equal(f->ev.count, events + 1);
        assert_int_equal(f->ev.last, FA_ERR_NOMEM);
    }
}

/* Pushes 1, 2, ... until a push fails, which it must with `expected` before
 * `limit` items; the refused push changed nothing, and every item pushed
 * comes back, last first. */
static void push_until_refused(fa_deque *d, uintptr_t limit, fa_error expected) {
    uintptr_t pushed = 0;
    fa_error e = FA_OK;
    while (pushed < limit && (e = fa_deque_push(d, item_of(pushed + 1))) == FA_OK)
        pushed++;
    assert_int_equal(e, expected);
    assert_int_equal(fa_last_error(), expected);
    assert_int_equal(fa_deque_count(d), pushed);
    for (uintptr_t n = pushed; n >= 1; n--)
        assert_ptr_equal(fa_deque_pop(d), item_of(n));
    assert_null(fa_deque_pop(d));
}

static void a_refusing_backend_is_nomem_and_keeps_the_items(void **state) {
    struct fixture *f = fixture_of(state);
    atomic_store(&f->c.mode, ANSWER_FAIL);
    assert_null(fa_deque_create(f->a, 16));
    assert_int_equal(fa_last_error(), FA_ERR_NOMEM);
    atomic_store(&f->c.mode, ANSWER_OK);
    fa_deque *d = fa_deque_create(f->a, 2);
    assert_non_null(d);
    atomic_store(&f->c.mode, ANSWER_FAIL); /* growth needs new slabs, then heap blocks */
    push_until_refused(d, (uintptr_t)1 << 22, FA_ERR_NOMEM);
    atomic_store(&f->c.mode, ANSWER_OK);
    fa_deque_destroy(d);
}

static void a_hard_budget_refuses_growth_and_keeps_the_items(void **state) {
    struct fixture *f = fixture_of(state);
    if (FA_MINIMAL) /* no budgets */
        return;
    assert_int_equal(fa_budget_set(f->a, NULL, 0, 64 * 1024), FA_OK);
    fa_deque *d = fa_deque_create(f->a, 2);
    assert_non_null(d);
    push_until_refused(d, (uintptr_t)1 << 20, FA_ERR_BUDGET);
    assert_int_equal(f->ev.last, FA_ERR_BUDGET);
    fa_deque_destroy(d);
    assert_int_equal(fa_budget_set(f->a, NULL, 0, 0), FA_OK);
}

static uint64_t pool_and_heap_live_bytes(fa_alloc *a) {
    fa_stats *st = stats_of(a);
    assert_non_null(st);
    uint64_t live = st->pool.live_bytes + st->heap.live_bytes;
    free(st);
    return live;
}

/* The deque's struct and rings are the allocator's pool and heap blocks:
 * counted while it lives (32768 slots: 256 KiB of heap block at least),
 * all given back by fa_deque_destroy. */
static void its_memory_is_counted_and_given_back(void **state) {
    fa_alloc *a = alloc_of(state);
    if (FA_MINIMAL) /* no statistics */
        return;
    uint64_t before = pool_and_heap_live_bytes(a);
    fa_deque *d = fa_deque_create(a, 2);
    assert_non_null(d);
    assert_true(pool_and_heap_live_bytes(a) > before);
    for (uintptr_t n = 1; n <= 20000; n++)
        assert_int_equal(fa_deque_push(d, item_of(n)), FA_OK);
    assert_true(pool_and_heap_live_bytes(a) >= before + 32768 * sizeof(void *));
    fa_deque_destroy(d);
    assert_int_equal(pool_and_heap_live_bytes(a), before);
}

/* ---- one owner, three thieves ------------------------------------------- */

#define THIEVES 3

/* Items are slots of values[]: the owner writes value i + 1 into slot i
 * just before pushing it, so a thief that read it without the push's
 * ordering would see 0 (and ThreadSanitizer would report the race). */
struct stress {
    fa_deque     *d;
    size_t        n;
    uint64_t     *values;
    atomic_uchar *taken;    /* per item: how many times it was taken */
    atomic_ullong sum;      /* of the values taken */
    atomic_int    done;     /* the owner has pushed everything and emptied the deque */
    atomic_int    wrong;    /* items with a value other than their own */
};

static void stress_init(struct stress *s, fa_alloc *a, size_t n) {
    s->d = fa_deque_create(a, 2); /* so that it grows while thieves steal */
    assert_non_null(s->d);
    s->n = n;
    s->values = (uint64_t *)calloc(n, sizeof *s->values);
    s->taken = (atomic_uchar *)calloc(n, sizeof *s->taken);
    assert_non_null(s->values);
    assert_non_null(s->taken);
    atomic_init(&s->sum, 0);
    atomic_init(&s->done, 0);
    atomic_init(&s->wrong, 0);
}

static void stress_push(struct stress *s, size_t i) {
    s->values[i] = i + 1;
    assert_int_equal(fa_deque_push(s->d, &s->values[i]), FA_OK);
}

/* Records an item taken by any thread; NULL is nothing taken. */
static int stress_take(struct stress *s, void *item) {
    if (item == NULL)
        return 0;
    uint64_t *v = (uint64_t *)item;
    size_t i = (size_t)(v - s->values);
    atomic_fetch_add(&s->wrong, *v != i + 1);
    atomic_fetch_add(&s->taken[i], 1);
    atomic_fetch_add(&s->sum, *v);
    return 1;
}

/* The owner's last act: take what is left, then let the thieves go. */
static void stress_finish(struct stress *s) {
    while (stress_take(s, fa_deque_pop(s->d)))
        ;
    assert_int_equal(fa_deque_count(s->d), 0);
    atomic_store(&s->done, 1);
}

static void *thief(void *arg) {
    struct stress *s = (struct stress *)arg;
    while (!atomic_load(&s->done))
        stress_take(s, fa_deque_steal(s->d));
    return NULL;
}

/* Runs owner(s) on this thread against THIEVES thieves, then checks that
 * each item was taken exactly once and with its own value. */
static void run_stress(fa_alloc *a, size_t n, void (*owner)(struct stress *)) {
    struct stress s;
    stress_init(&s, a, n);
    pthread_t t[THIEVES];
    for (int k = 0; k < THIEVES; k++)
        assert_int_equal(pthread_create(&t[k], NULL, thief, &s), 0);
    owner(&s);
    stress_finish(&s);
    for (int k = 0; k < THIEVES; k++)
        pthread_join(t[k], NULL);
    for (size_t i = 0; i < n; i++)
        if (atomic_load(&s.taken[i]) != 1)
            fail_msg("item %zu taken %d times", i, (int)atomic_load(&s.taken[i]));
    assert_int_equal(atomic_load(&s.wrong), 0);
    assert_true(atomic_load(&s.sum) == (unsigned long long)n * (n + 1) / 2);
    fa_deque_destroy(s.d);
    free(s.values);
    free(s.taken);
}

/* Every push is followed, one time in three, by a pop. */
static void push_with_pops(struct stress *s) {
    struct rng r = rng_seeded(42);
    for (size_t i = 0; i < s->n; i++) {
        stress_push(s, i);
        if (rng_below(&r, 3) == 0)
            stress_take(s, fa_deque_pop(s->d));
    }
}

/* Bursts of up to 2000 pushes, each then popped down to empty. */
static void bursts_popped_to_empty(struct stress *s) {
    struct rng r = rng_seeded(7);
    for (size_t i = 0; i < s->n;) {
        size_t burst = 1 + rng_below(&r, 2000);
        for (size_t end = i + burst < s->n ? i + burst : s->n; i < end; i++)
            stress_push(s, i);
        while (stress_take(s, fa_deque_pop(s->d)))
            ;
    }
}

static void three_thieves_against_pushes_and_pops(void **state) {
    run_stress(alloc_of(state), 100000, push_with_pops);
}

static void three_thieves_against_bursts(void **state) {
    run_stress(alloc_of(state), 100000, bursts_popped_to_empty);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(pop_is_lifo_and_steal_is_fifo),
        FIXTURE_TEST(an_empty_deque_gives_null_without_error),
        FIXTURE_TEST(growth_from_two_keeps_every_item),
        FIXTURE_TEST(any_capacity_is_served),
        FIXTURE_TEST(null_arguments_are_invalid),
        FIXTURE_TEST(a_null_item_is_refused),
        FIXTURE_TEST(a_capacity_that_cannot_be_met_is_nomem),
        FIXTURE_TEST(a_refusing_backend_is_nomem_and_keeps_the_items),
        FIXTURE_TEST(a_hard_budget_refuses_growth_and_keeps_the_items),
        FIXTURE_TEST(its_memory_is_counted_and_given_back),
        FIXTURE_TEST(three_thieves_against_pushes_and_pops),
        FIXTURE_TEST(three_thieves_against_bursts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
