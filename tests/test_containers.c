/* SPDX-License-Identifier: MIT */
/* Frame containers and layout helpers (src/containers.c): the vector's
 * growth (in place, by copy, across chunks), its typed forms and checked
 * indices; the map's insert, update, lookup and removal against a model,
 * a full map and capacity 0; the structure-of-arrays alignment; batches
 * and their scratch; and every call's error rows (docs/errors.md). The
 * growth, map and batch cases run again at FA_DEBUG_GUARD. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "track.h" /* a tracked library moves every growing frame block */

/* ---- fixtures ------------------------------------------------------------ */

/* Whether the running test's allocator is at a debug level (set by the
 * setups below). */
static int at_debug_level;

static int off_setup(void **state) {
    at_debug_level = 0;
    return fixture_setup_in_frame(state);
}

/* The helpers' fixture in a frame, at a debug level. */
static int guard_setup(void **state) {
    at_debug_level = 1;
    struct fixture *f = (struct fixture *)calloc(1, sizeof *f);
    fa_config cfg = test_config(&f->c, &f->ev);
    cfg.debug = FA_DEBUG_GUARD;
    f->a = fa_create(&cfg);
    *state = f;
    return f->a == NULL || fa_begin_frame(f->a) != FA_OK;
}

#define OFF_TEST(fn) cmocka_unit_test_setup_teardown(fn, off_setup, fixture_teardown)
#define GUARD_TEST(fn) cmocka_unit_test_setup_teardown(fn, guard_setup, fixture_teardown)

static fa_arena *arena_of(void **state) {
    fa_arena *ar = fa_arena_get(alloc_of(state));
    assert_non_null(ar);
    return ar;
}

/* Whether the last frame block grows in place here: not at a debug level
 * nor in a tracked build, where every frame allocation takes the slow path
 * and a growing block moves. */
static int debug_level_by_env(void) {
    const char *env = getenv("FRAMEALLOC_DEBUG");
    return env != NULL && strcmp(env, "off") != 0;
}

static int grows_in_place(void) {
    return !FA__TRACKED && !at_debug_level && !debug_level_by_env();
}

/* Expects the last call to have failed with e, after n more events. */
static void expect_failure(struct fixture *f, fa_error e, int *events, int n) {
    assert_int_equal(fa_last_error(), e);
    assert_int_equal(f->ev.count, *events + n);
    *events = f->ev.count;
}

/* Sets a last error other than FA_ERR_INVALID, so that the next check sees
 * its own call's error, and counts the events so far into *events. */
static void set_other_error(struct fixture *f, fa_arena *ar, int *events) {
    fa_vec v;
    assert_int_equal(fa_vec_init(&v, ar, 1, 1), FA_OK);
    assert_int_equal(fa_vec_reserve(&v, SIZE_MAX), FA_ERR_NOMEM);
    *events = f->ev.count;
}

static size_t frame_chunks(fa_alloc *a) {
    fa_frame_info info;
    assert_int_equal(fa_frame_info_get(a, &info), FA_OK);
    return info.chunks;
}

static size_t frame_bytes(fa_alloc *a) {
    fa_frame_info info;
    assert_int_equal(fa_frame_info_get(a, &info), FA_OK);
    return info.bytes;
}

/* ---- the vector ---------------------------------------------------------- */

/* 200000 eight-byte elements (1.6 MB, far past the 64 KiB first chunk):
 * every one is intact after growth into new chunks. */
static void vec_grows_across_chunks(void **state) {
    enum { N = 200000 };
    fa_vec v;
    assert_int_equal(fa_vec_init_of(&v, arena_of(state), uint64_t), FA_OK);
    size_t chunks = frame_chunks(alloc_of(state));
    for (uint64_t n = 0; n < N; n++)
        assert_int_equal(fa_vec_push_value(&v, uint64_t, mix64(n)), FA_OK);
    assert_int_equal(v.count, N);
    assert_true(v.capacity >= N);
    assert_true(frame_chunks(alloc_of(state)) > chunks);
    assert_int_equal((uintptr_t)v.data % FA_ALIGNOF(uint64_t), 0);
    for (uint64_t n = 0; n < N; n++)
        assert_true(*fa_vec_at_of(&v, uint64_t, n) == mix64(n));
}

/* The last allocation grows in place; once something follows it, growth
 * copies, the elements intact. */
static void vec_grows_in_place_then_by_copy(void **state) {
    fa_arena *ar = arena_of(state);
    fa_vec v;
    assert_int_equal(fa_vec_init(&v, ar, sizeof(int), FA_ALIGNOF(int)), FA_OK);
    assert_null(v.data);
    for (int n = 0; n < 8; n++)
        assert_int_equal(fa_vec_push_value(&v, int, n), FA_OK);
    void *first = v.data;
    assert_int_equal(v.capacity, 8);
    assert_int_equal(fa_vec_push_value(&v, int, 8), FA_OK);
    assert_int_equal(v.capacity, 16);
    if (grows_in_place())
        assert_ptr_equal(v.data, first);
    assert_non_null(fa_arena_alloc(ar, 1)); /* the vector's block is no longer the last */
    for (int n = 9; n < 17; n++)
        assert_int_equal(fa_vec_push_value(&v, int, n), FA_OK);
    assert_int_equal(v.capacity, 32);
    assert_ptr_not_equal(v.data, first);
    for (int n = 0; n < 17; n++)
        assert_int_equal(*fa_vec_at_of(&v, int, (size_t)n), n);
}

static void vec_reserve_gives_exactly_what_is_asked(void **state) {
    fa_vec v;
    assert_int_equal(fa_vec_init(&v, arena_of(state), 24, 8), FA_OK);
    assert_int_equal(fa_vec_reserve(&v, 100), FA_OK);
    assert_int_equal(v.capacity, 100);
    void *data = v.data;
    assert_int_equal(fa_vec_reserve(&v, 50), FA_OK); /* less than it has: nothing */
    assert_int_equal(v.capacity, 100);
    assert_ptr_equal(v.data, data);
    for (size_t n = 0; n < 100; n++)
        assert_non_null(fa_vec_push(&v));
    assert_ptr_equal(v.data, data); /* no growth within the reserve */
    assert_int_equal(v.count, 100);
}

static void vec_pop_is_lifo_and_clear_keeps_capacity(void **state) {
    struct fixture *f = fixture_of(state);
    fa_vec v;
    assert_int_equal(fa_vec_init_of(&v, arena_of(state), short), FA_OK);
    for (short n = 1; n <= 5; n++)
        assert_int_equal(fa_vec_push_value(&v, short, n), FA_OK);
    assert_int_equal(*fa_vec_pop_of(&v, short), 5);
    assert_int_equal(*(short *)fa_vec_pop(&v), 4);
    assert_int_equal(v.count, 3);
    size_t capacity = v.capacity;
    assert_int_equal(fa_vec_clear(&v), FA_OK);
    assert_int_equal(v.count, 0);
    assert_int_equal(v.capacity, capacity);
    assert_null(fa_vec_pop(&v)); /* empty: NULL, no error */
    assert_int_equal(f->ev.count, 0);
}

struct particle {
    float x, y, z;
    int   id;
};

/* Struct elements through the typed macros; a type of another size is
 * refused by each of them. */
static void vec_typed_forms_check_the_type(void **state) {
    struct fixture *f = fixture_of(state);
    fa_vec v;
    assert_int_equal(fa_vec_init_of(&v, arena_of(state), struct particle), FA_OK);
    for (int n = 0; n < 40; n++) {
        struct particle p = {(float)n, 0, 0, n};
        assert_int_equal(fa_vec_push_value(&v, struct particle, p), FA_OK);
    }
    assert_int_equal(fa_vec_at_of(&v, struct particle, 39)->id, 39);
    assert_int_equal(((struct particle *)v.data)[12].id, 12);
    int events = f->ev.count;
    assert_int_equal(fa_vec_push_value(&v, int, 1), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 1);
    assert_null(fa_vec_at_of(&v, double, 0));
    expect_failure(f, FA_ERR_INVALID, &events, 1);
    assert_null(fa_vec_pop_of(&v, char));
    expect_failure(f, FA_ERR_INVALID, &events, 1);
    assert_int_equal(v.count, 40); /* nothing pushed or popped */
}

/* FA_DEBUG_OFF does not check an index (a precondition): the address is
 * computed, never read here. A debug level refuses it. */
static void vec_at_is_unchecked_at_debug_off(void **state) {
    if (debug_level_by_env())
        skip();
    fa_vec v;
    assert_int_equal(fa_vec_init_of(&v, arena_of(state), int), FA_OK);
    assert_int_equal(fa_vec_push_value(&v, int, 7), FA_OK);
    assert_ptr_equal(fa_vec_at(&v, 0), v.data);
    assert_ptr_equal(fa_vec_at(&v, 1), (int *)v.data + 1);
}

static void vec_at_is_checked_at_a_debug_level(void **state) {
    struct fixture *f = fixture_of(state);
    fa_vec v;
    assert_int_equal(fa_vec_init_of(&v, arena_of(state), int), FA_OK);
    int events = f->ev.count;
    assert_null(fa_vec_at(&v, 0));
    expect_failure(f, FA_ERR_INVALID, &events, 1);
    assert_int_equal(fa_vec_push_value(&v, int, 7), FA_OK);
    assert_int_equal(*fa_vec_at_of(&v, int, 0), 7);
    assert_null(fa_vec_at_of(&v, int, 1));
    expect_failure(f, FA_ERR_INVALID, &events, 1);
    assert_null(fa_vec_at(&v, SIZE_MAX));
    expect_failure(f, FA_ERR_INVALID, &events, 1);
}

/* NULL arguments, bad element layouts, an uninitialised vector. */
static void vec_argument_errors(void **state) {
    struct fixture *f = fixture_of(state);
    fa_arena *ar = arena_of(state);
    int events = f->ev.count;
    fa_vec v;
    assert_int_equal(fa_vec_init(NULL, ar, 4, 4), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 1);
    const size_t layouts[][2] = {{0, 1}, {4, 0}, {4, 3}, {4, 8}, {12, 8}};
    for (size_t k = 0; k < sizeof layouts / sizeof layouts[0]; k++) {
        assert_int_equal(fa_vec_init(&v, ar, layouts[k][0], layouts[k][1]), FA_ERR_INVALID);
        expect_failure(f, FA_ERR_INVALID, &events, 1);
    }
    /* v, refused above, is uninitialised: every call says so (no allocator: no event) */
    set_other_error(f, ar, &events);
    assert_null(fa_vec_push(&v));
    expect_failure(f, FA_ERR_INVALID, &events, 0);
    set_other_error(f, ar, &events);
    assert_null(fa_vec_at(&v, 0));
    expect_failure(f, FA_ERR_INVALID, &events, 0);
    assert_int_equal(fa_vec_reserve(&v, 1), FA_ERR_INVALID);
    assert_null(fa_vec_pop(&v));
    assert_int_equal(fa_vec_clear(&v), FA_ERR_INVALID);
    assert_int_equal(f->ev.count, events);
}

static void vec_null_errors(void **state) {
    struct fixture *f = fixture_of(state);
    fa_arena *ar = arena_of(state);
    fa_vec v;
    int events;
    set_other_error(f, ar, &events);
    assert_int_equal(fa_vec_init(&v, NULL, 4, 4), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 0);
    assert_null(v.fa__arena);
    set_other_error(f, ar, &events);
    assert_null(fa_vec_push(NULL));
    expect_failure(f, FA_ERR_INVALID, &events, 0);
    set_other_error(f, ar, &events);
    assert_null(fa_vec_at(NULL, 0));
    expect_failure(f, FA_ERR_INVALID, &events, 0);
    set_other_error(f, ar, &events);
    assert_null(fa_vec_pop(NULL));
    expect_failure(f, FA_ERR_INVALID, &events, 0);
    set_other_error(f, ar, &events);
    assert_int_equal(fa_vec_reserve(NULL, 4), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 0);
    set_other_error(f, ar, &events);
    assert_int_equal(fa_vec_clear(NULL), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 0);
    fa_vec zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    assert_int_equal(fa_vec_reserve(&zeroed, 4), FA_ERR_INVALID);
    assert_null(fa_vec_push(&zeroed));
}

/* Growth that cannot be met leaves the vector as it was: a size past the
 * largest request, the memory source refusing, outside a frame. */
static void vec_failed_growth_changes_nothing(void **state) {
    struct fixture *f = fixture_of(state);
    fa_vec v;
    assert_int_equal(fa_vec_init_of(&v, arena_of(state), uint32_t), FA_OK);
    for (uint32_t n = 0; n < 8; n++)
        assert_int_equal(fa_vec_push_value(&v, uint32_t, n), FA_OK);
    fa_vec before = v;
    int events = f->ev.count;
    assert_int_equal(fa_vec_reserve(&v, SIZE_MAX / 2), FA_ERR_NOMEM);
    expect_failure(f, FA_ERR_NOMEM, &events, 1);
    assert_memory_equal(&v, &before, sizeof v);
    atomic_store(&f->c.mode, ANSWER_FAIL); /* 64 KiB of elements need a new chunk */
    assert_int_equal(fa_vec_reserve(&v, 16384), FA_ERR_NOMEM);
    expect_failure(f, FA_ERR_NOMEM, &events, 1);
    assert_memory_equal(&v, &before, sizeof v);
    atomic_store(&f->c.mode, ANSWER_OK);
    assert_int_equal(fa_end_frame(f->a), FA_OK); /* growth is refused before the stale block is read */
    assert_int_equal(fa_vec_push_value(&v, uint32_t, 8), FA_ERR_STATE);
    expect_failure(f, FA_ERR_STATE, &events, 1);
    assert_int_equal(v.count, 8);
}

/* ---- the map ------------------------------------------------------------- */

static void *value_of(uint64_t n) {
    return (void *)(uintptr_t)(n * 2 + 1);
}

static void map_puts_updates_and_gets(void **state) {
    fa_map m;
    assert_int_equal(fa_map_init(&m, arena_of(state), 1000), FA_OK);
    assert_int_equal(m.capacity, 1000);
    for (uint64_t k = 0; k < 1000; k++) /* consecutive ids, and 0 is a key like any other */
        assert_int_equal(fa_map_put(&m, k << 20, value_of(k)), FA_OK);
    assert_int_equal(m.count, 1000);
    void *value = NULL;
    for (uint64_t k = 0; k < 1000; k++) {
        assert_true(fa_map_get(&m, k << 20, &value));
        assert_ptr_equal(value, value_of(k));
    }
    assert_false(fa_map_get(&m, 1, &value));
    assert_int_equal(fa_map_put(&m, 0, NULL), FA_OK); /* an update, to a NULL value */
    assert_true(fa_map_get(&m, 0, &value));
    assert_null(value);
    assert_true(fa_map_get(&m, 0, NULL));
    assert_int_equal(m.count, 1000);
    assert_int_equal((uintptr_t)m.fa__slots % FA_CACHE_LINE, 0);
}

/* A full map refuses a new key, and only a new key: updates, lookups and
 * removals go on, and a removal makes room again. */
static void map_full_refuses_only_new_keys(void **state) {
    struct fixture *f = fixture_of(state);
    fa_map m;
    assert_int_equal(fa_map_init(&m, arena_of(state), 6), FA_OK);
    for (uint64_t k = 1; k <= 6; k++)
        assert_int_equal(fa_map_put(&m, k, value_of(k)), FA_OK);
    int events = f->ev.count;
    assert_int_equal(fa_map_put(&m, 7, value_of(7)), FA_ERR_NOMEM);
    expect_failure(f, FA_ERR_NOMEM, &events, 1);
    assert_int_equal(m.count, 6);
    assert_false(fa_map_get(&m, 7, NULL));
    for (uint64_t k = 1; k <= 6; k++) /* past the Rust crate's 75 % */
        assert_int_equal(fa_map_put(&m, k, value_of(k + 100)), FA_OK);
    void *value;
    for (uint64_t k = 1; k <= 6; k++) {
        assert_true(fa_map_get(&m, k, &value));
        assert_ptr_equal(value, value_of(k + 100));
    }
    assert_true(fa_map_remove(&m, 3));
    assert_int_equal(fa_map_put(&m, 7, value_of(7)), FA_OK);
    assert_int_equal(m.count, 6);
    assert_int_equal(f->ev.count, events);
}

/* Capacity 0: a valid map that takes no memory, holds nothing and refuses
 * a key cleanly (no division by zero, no probe of a missing table). */
static void map_capacity_zero_holds_nothing(void **state) {
    struct fixture *f = fixture_of(state);
    size_t bytes = frame_bytes(f->a);
    fa_map m;
    assert_int_equal(fa_map_init(&m, arena_of(state), 0), FA_OK);
    assert_int_equal(frame_bytes(f->a), bytes);
    assert_false(fa_map_get(&m, 0, NULL));
    assert_false(fa_map_get(&m, 42, NULL));
    assert_false(fa_map_remove(&m, 42));
    int events = f->ev.count;
    assert_int_equal(fa_map_put(&m, 42, NULL), FA_ERR_NOMEM);
    expect_failure(f, FA_ERR_NOMEM, &events, 1);
    assert_int_equal(fa_map_clear(&m), FA_OK);
    assert_int_equal(m.count, 0);
}

/* Many rounds of puts and removals of keys that crowd a small table,
 * against a plain array: backward-shift removal keeps every key findable,
 * and with no tombstones the table never fills up with dead slots. */
static void map_matches_a_model(void **state) {
    enum { KEYS = 96, CAPACITY = 64, ROUNDS = 30000 };
    fa_map m;
    assert_int_equal(fa_map_init(&m, arena_of(state), CAPACITY), FA_OK);
    void *model[KEYS] = {0};
    int held[KEYS] = {0};
    size_t count = 0;
    struct rng r = rng_seeded(16);
    for (int round = 0; round < ROUNDS; round++) {
        size_t k = rng_below(&r, KEYS);
        uint64_t key = (uint64_t)k * 0x100000000u; /* only high bits differ */
        if (rng_below(&r, 2) == 0) {
            void *value = value_of((uint64_t)round);
            fa_error e = fa_map_put(&m, key, value);
            assert_int_equal(e, held[k] || count < CAPACITY ? FA_OK : FA_ERR_NOMEM);
            if (e == FA_OK) {
                count += !held[k];
                held[k] = 1;
                model[k] = value;
            }
        } else {
            assert_int_equal(fa_map_remove(&m, key), held[k]);
            count -= held[k];
            held[k] = 0;
        }
        assert_int_equal(m.count, count);
        if (round % 97 == 0 || round == ROUNDS - 1)
            for (size_t j = 0; j < KEYS; j++) {
                void *value = NULL;
                assert_int_equal(fa_map_get(&m, (uint64_t)j * 0x100000000u, &value), held[j]);
                if (held[j])
                    assert_ptr_equal(value, model[j]);
            }
    }
    assert_int_equal(fa_map_clear(&m), FA_OK);
    for (size_t j = 0; j < KEYS; j++)
        assert_false(fa_map_get(&m, (uint64_t)j * 0x100000000u, NULL));
}

static void map_errors(void **state) {
    struct fixture *f = fixture_of(state);
    fa_arena *ar = arena_of(state);
    fa_map m;
    int events = f->ev.count;
    assert_int_equal(fa_map_init(NULL, ar, 4), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 1);
    set_other_error(f, ar, &events);
    assert_int_equal(fa_map_init(&m, NULL, 4), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 0);
    assert_int_equal(fa_map_put(&m, 1, NULL), FA_ERR_INVALID); /* uninitialised */
    fa_map *none = NULL;
    set_other_error(f, ar, &events);
    assert_int_equal(fa_map_put(none, 1, NULL), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 0);
    set_other_error(f, ar, &events);
    assert_false(fa_map_get(none, 1, NULL));
    expect_failure(f, FA_ERR_INVALID, &events, 0);
    set_other_error(f, ar, &events);
    assert_false(fa_map_remove(none, 1));
    expect_failure(f, FA_ERR_INVALID, &events, 0);
    set_other_error(f, ar, &events);
    assert_int_equal(fa_map_clear(none), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 0);
    /* a capacity that cannot be met, the memory source refusing: a map of capacity 0 */
    assert_int_equal(fa_map_init(&m, ar, SIZE_MAX), FA_ERR_NOMEM);
    expect_failure(f, FA_ERR_NOMEM, &events, 1);
    assert_int_equal(m.capacity, 0);
    atomic_store(&f->c.mode, ANSWER_FAIL);
    assert_int_equal(fa_map_init(&m, ar, 100000), FA_ERR_NOMEM);
    expect_failure(f, FA_ERR_NOMEM, &events, 1);
    atomic_store(&f->c.mode, ANSWER_OK);
    assert_int_equal(m.capacity, 0);
    assert_false(fa_map_get(&m, 1, NULL));
    assert_int_equal(fa_end_frame(f->a), FA_OK);
    assert_int_equal(fa_map_init(&m, ar, 4), FA_ERR_STATE);
    expect_failure(f, FA_ERR_STATE, &events, 1);
    assert_int_equal(fa_map_init(&m, ar, 0), FA_OK); /* takes no memory: no frame needed */
}

/* ---- structure of arrays ------------------------------------------------- */

static void soa_arrays_are_cache_line_aligned(void **state) {
    enum { COUNT = 1001, ARRAYS = 5 };
    const size_t sizes[ARRAYS] = {12, 4, 1, 16, 8};
    const size_t aligns[ARRAYS] = {4, 4, 1, 16, 256};
    void *out[ARRAYS];
    assert_int_equal(fa_soa_alloc(arena_of(state), COUNT, ARRAYS, sizes, aligns, out), FA_OK);
    for (size_t k = 0; k < ARRAYS; k++) {
        assert_int_equal((uintptr_t)out[k] % FA_CACHE_LINE, 0);
        assert_int_equal((uintptr_t)out[k] % aligns[k], 0);
        memset(out[k], (int)k + 1, COUNT * sizes[k]); /* each array whole: a checker sees overlaps or overruns */
        if (k > 0)
            assert_true((char *)out[k] >= (char *)out[k - 1] + COUNT * sizes[k - 1]);
    }
    for (size_t k = 0; k < ARRAYS; k++)
        assert_int_equal(((unsigned char *)out[k])[COUNT * sizes[k] - 1], k + 1);
    assert_int_equal(FA_CACHE_ROUND(1), FA_CACHE_LINE);
    assert_int_equal(FA_CACHE_ROUND(128), 128);
}

/* count 0 gives valid, aligned pointers to no elements; no arrays, nothing. */
static void soa_empty_layouts(void **state) {
    const size_t sizes[2] = {4, 8};
    const size_t aligns[2] = {4, 8};
    void *out[2] = {NULL, NULL};
    assert_int_equal(fa_soa_alloc(arena_of(state), 0, 2, sizes, aligns, out), FA_OK);
    assert_non_null(out[0]);
    assert_int_equal((uintptr_t)out[1] % FA_CACHE_LINE, 0);
    assert_int_equal(fa_soa_alloc(arena_of(state), 10, 0, NULL, NULL, NULL), FA_OK);
}

static void soa_errors_leave_out_untouched(void **state) {
    struct fixture *f = fixture_of(state);
    fa_arena *ar = arena_of(state);
    const size_t sizes[2] = {4, 8};
    const size_t aligns[2] = {4, 8};
    const size_t bad_aligns[2] = {4, 12};
    void *out[2] = {NULL, NULL};
    int events;
    set_other_error(f, ar, &events);
    assert_int_equal(fa_soa_alloc(NULL, 10, 2, sizes, aligns, out), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 0);
    assert_int_equal(fa_soa_alloc(ar, 10, 2, NULL, aligns, out), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 1);
    assert_int_equal(fa_soa_alloc(ar, 10, 2, sizes, NULL, out), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 1);
    assert_int_equal(fa_soa_alloc(ar, 10, 2, sizes, aligns, NULL), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 1);
    assert_int_equal(fa_soa_alloc(ar, 10, 2, sizes, bad_aligns, out), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 1);
    assert_int_equal(fa_soa_alloc(ar, SIZE_MAX / 4, 2, sizes, aligns, out), FA_ERR_NOMEM);
    expect_failure(f, FA_ERR_NOMEM, &events, 1);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
    assert_int_equal(fa_soa_alloc(ar, 10, 2, sizes, aligns, out), FA_ERR_STATE);
    expect_failure(f, FA_ERR_STATE, &events, 1);
    assert_null(out[0]);
    assert_null(out[1]);
}

/* ---- batches ------------------------------------------------------------- */

struct batch_log {
    size_t firsts[8], counts[8];
    void  *scratch[8];
    size_t calls;
    size_t stop_at; /* the call that fails (0: none) */
};

/* Doubles each item, in scratch first: the scratch must be the same memory
 * in every batch, as each batch's is released before the next. */
static fa_error double_items(void *ctx, fa_arena *ar, void *items, size_t first, size_t n) {
    struct batch_log *log = (struct batch_log *)ctx;
    int *in = (int *)items;
    int *tmp = fa_arena_new_array(ar, int, 64);
    if (tmp == NULL)
        return fa_last_error();
    for (size_t i = 0; i < n; i++)
        tmp[i] = in[i] * 2;
    memcpy(in, tmp, n * sizeof *in);
    log->firsts[log->calls] = first;
    log->counts[log->calls] = n;
    log->scratch[log->calls] = tmp;
    return ++log->calls == log->stop_at ? FA_ERR_BUDGET : FA_OK;
}

static void batch_runs_every_item_with_rewound_scratch(void **state) {
    int items[10];
    for (int i = 0; i < 10; i++)
        items[i] = i;
    struct batch_log log;
    memset(&log, 0, sizeof log);
    size_t bytes = frame_bytes(alloc_of(state));
    assert_int_equal(fa_batch_run(arena_of(state), items, 10, sizeof(int), 3, double_items, &log), FA_OK);
    assert_int_equal(log.calls, 4);
    const size_t firsts[4] = {0, 3, 6, 9}, counts[4] = {3, 3, 3, 1};
    for (size_t c = 0; c < 4; c++) {
        assert_int_equal(log.firsts[c], firsts[c]);
        assert_int_equal(log.counts[c], counts[c]);
        if (grows_in_place())
            assert_ptr_equal(log.scratch[c], log.scratch[0]);
    }
    for (int i = 0; i < 10; i++)
        assert_int_equal(items[i], 2 * i);
    assert_int_equal(frame_bytes(alloc_of(state)), bytes);
}

/* A callback's error ends the run: no batch after it, its scratch gone. */
static void batch_stops_at_the_first_error(void **state) {
    int items[10] = {0};
    struct batch_log log;
    memset(&log, 0, sizeof log);
    log.stop_at = 2;
    size_t bytes = frame_bytes(alloc_of(state));
    assert_int_equal(fa_batch_run(arena_of(state), items, 10, sizeof(int), 4, double_items, &log), FA_ERR_BUDGET);
    assert_int_equal(log.calls, 2);
    assert_int_equal(frame_bytes(alloc_of(state)), bytes);
}

static void batch_errors(void **state) {
    struct fixture *f = fixture_of(state);
    fa_arena *ar = arena_of(state);
    int items[4] = {0};
    struct batch_log log;
    memset(&log, 0, sizeof log);
    int events;
    set_other_error(f, ar, &events);
    assert_int_equal(fa_batch_run(NULL, items, 4, sizeof(int), 2, double_items, &log), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 0);
    assert_int_equal(fa_batch_run(ar, items, 4, sizeof(int), 2, NULL, &log), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 1);
    assert_int_equal(fa_batch_run(ar, items, 4, sizeof(int), 0, double_items, &log), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 1);
    assert_int_equal(fa_batch_run(ar, NULL, 4, sizeof(int), 2, double_items, &log), FA_ERR_INVALID);
    expect_failure(f, FA_ERR_INVALID, &events, 1);
    assert_int_equal(fa_batch_run(ar, NULL, 0, sizeof(int), 2, double_items, &log), FA_OK); /* nothing to do */
    assert_int_equal(fa_end_frame(f->a), FA_OK);
    assert_int_equal(fa_batch_run(ar, items, 4, sizeof(int), 2, double_items, &log), FA_ERR_STATE);
    expect_failure(f, FA_ERR_STATE, &events, 1);
    assert_int_equal(log.calls, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        OFF_TEST(vec_grows_across_chunks),
        OFF_TEST(vec_grows_in_place_then_by_copy),
        OFF_TEST(vec_reserve_gives_exactly_what_is_asked),
        OFF_TEST(vec_pop_is_lifo_and_clear_keeps_capacity),
        OFF_TEST(vec_typed_forms_check_the_type),
        OFF_TEST(vec_at_is_unchecked_at_debug_off),
        OFF_TEST(vec_argument_errors),
        OFF_TEST(vec_null_errors),
        OFF_TEST(vec_failed_growth_changes_nothing),
        OFF_TEST(map_puts_updates_and_gets),
        OFF_TEST(map_full_refuses_only_new_keys),
        OFF_TEST(map_capacity_zero_holds_nothing),
        OFF_TEST(map_matches_a_model),
        OFF_TEST(map_errors),
        OFF_TEST(soa_arrays_are_cache_line_aligned),
        OFF_TEST(soa_empty_layouts),
        OFF_TEST(soa_errors_leave_out_untouched),
        OFF_TEST(batch_runs_every_item_with_rewound_scratch),
        OFF_TEST(batch_stops_at_the_first_error),
        OFF_TEST(batch_errors),
        /* again at a debug level: growth through the checked realloc, checked indices */
        GUARD_TEST(vec_grows_across_chunks),
        GUARD_TEST(vec_grows_in_place_then_by_copy),
        GUARD_TEST(vec_typed_forms_check_the_type),
        GUARD_TEST(vec_at_is_checked_at_a_debug_level),
        GUARD_TEST(vec_failed_growth_changes_nothing),
        GUARD_TEST(map_full_refuses_only_new_keys),
        GUARD_TEST(map_matches_a_model),
        GUARD_TEST(soa_arrays_are_cache_line_aligned),
        GUARD_TEST(batch_runs_every_item_with_rewound_scratch),
        GUARD_TEST(batch_stops_at_the_first_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
