/* SPDX-License-Identifier: MIT */
/* The debug levels (src/debug.c over src/guard.c): one scenario per bug,
 * each asserting the exact code and what its event line names: overflows
 * and underflows of frame, pool and heap blocks, double frees after the
 * block was written, writes after free and after frame, handles on another
 * thread, tags left pushed, leaks at fa_destroy; the levels from the config
 * and from FRAMEALLOC_DEBUG; fa_check and the leak queries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"
#include "track.h" /* a tracked library puts a red zone after each frame block */

struct debug_fixture {
    struct counting c;
    struct events   ev;
    fa_alloc       *a;
};

/* An allocator whose config says level. */
static fa_alloc *create_with(struct debug_fixture *f, fa_debug level) {
    fa_config cfg = test_config(&f->c, &f->ev);
    cfg.debug = level;
    f->a = fa_create(&cfg);
    return f->a;
}

/* An allocator at a level: from the config, or, when the suite runs with
 * FA_TEST_LEVEL_BY_ENV set (a second ctest entry), from FRAMEALLOC_DEBUG
 * over a config that says FA_DEBUG_OFF. */
static fa_alloc *create_at(struct debug_fixture *f, fa_debug level) {
    static const char *const names[] = {"off", "guard", "trace", "malloc"};
    fa_config cfg = test_config(&f->c, &f->ev);
    int by_env = getenv("FA_TEST_LEVEL_BY_ENV") != NULL;
    cfg.debug = by_env ? FA_DEBUG_OFF : level;
    if (by_env)
        setenv("FRAMEALLOC_DEBUG", names[level], 1);
    f->a = fa_create(&cfg);
    if (by_env)
        unsetenv("FRAMEALLOC_DEBUG");
    assert_true(f->a == NULL || fa_debug_level(f->a) == level);
    return f->a;
}

static int guard_setup(void **state) {
    struct debug_fixture *f = (struct debug_fixture *)calloc(1, sizeof *f);
    *state = f;
    return create_at(f, FA_DEBUG_GUARD) == NULL;
}

static int trace_setup(void **state) {
    struct debug_fixture *f = (struct debug_fixture *)calloc(1, sizeof *f);
    *state = f;
    return create_at(f, FA_DEBUG_TRACE) == NULL;
}

static int debug_teardown(void **state) {
    struct debug_fixture *f = (struct debug_fixture *)*state;
    fa_frame_info info;
    if (f->a != NULL && fa_frame_info_get(f->a, &info) == FA_OK && info.in_frame)
        fa_end_frame(f->a);
    fa_destroy(f->a);
    int leaked = f->c.bytes_out != 0;
    free(f);
    return leaked;
}

#define GUARD_TEST(fn) cmocka_unit_test_setup_teardown(fn, guard_setup, debug_teardown)
#define TRACE_TEST(fn) cmocka_unit_test_setup_teardown(fn, trace_setup, debug_teardown)

static struct debug_fixture *fix(void **state) {
    return (struct debug_fixture *)*state;
}

static void message_has(const struct events *ev, const char *part) {
    if (strstr(ev->message, part) == NULL)
        fail_msg("the event \"%s\" does not name \"%s\"", ev->message, part);
}

/* ---- levels -------------------------------------------------------------- */

static void levels_come_from_the_config_and_the_environment(void **state) {
    (void)state;
    struct debug_fixture f;
    assert_non_null(create_with(&f, FA_DEBUG_GUARD));
    assert_int_equal(fa_debug_level(f.a), FA_DEBUG_GUARD);
    fa_destroy(f.a);
    setenv("FRAMEALLOC_DEBUG", "trace", 1);
    assert_non_null(create_with(&f, FA_DEBUG_OFF));
    assert_int_equal(fa_debug_level(f.a), FA_DEBUG_TRACE); /* the environment wins */
    fa_destroy(f.a);
    setenv("FRAMEALLOC_DEBUG", "loud", 1);
    assert_non_null(create_with(&f, FA_DEBUG_GUARD));
    assert_int_equal(fa_debug_level(f.a), FA_DEBUG_GUARD); /* ignored, with a warning */
    assert_int_equal(f.ev.warnings, 1);
    message_has(&f.ev, "FRAMEALLOC_DEBUG=loud");
    fa_destroy(f.a);
    unsetenv("FRAMEALLOC_DEBUG");
    fa_config cfg = test_config(&f.c, &f.ev);
    cfg.debug = (fa_debug)7;
    assert_null(fa_create(&cfg));
    assert_int_equal(f.ev.last, FA_ERR_INVALID);
    assert_int_equal(fa_debug_level(NULL), FA_DEBUG_OFF);
    assert_int_equal(fa_last_error(), FA_ERR_INVALID);
}

/* ---- guards -------------------------------------------------------------- */

static void frame_overflows_are_found_at_the_frame_end(void **state) {
    struct debug_fixture *f = fix(state);
    for (size_t past = 0; past < 8; past += 7) { /* by 1, and the guard's last byte */
        assert_int_equal(fa_begin_frame(f->a), FA_OK);
        char *p = (char *)fa_frame_alloc(f->a, 24);
        assert_non_null(p);
        p[24 + past] = 'x';
        assert_int_equal(fa_end_frame(f->a), FA_ERR_CORRUPT);
        assert_int_equal(f->ev.last, FA_ERR_CORRUPT);
        message_has(&f->ev, "fa_end_frame: the guard after a frame block of 24 bytes");
        message_has(&f->ev, past == 0 ? "at byte 24 " : "at byte 31 ");
        message_has(&f->ev, "allocated at 0x");
    }
    assert_int_equal(fa_begin_frame(f->a), FA_OK); /* still usable */
    assert_non_null(fa_frame_alloc(f->a, 24));
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

static void an_underflow_names_the_side_and_offset(void **state) {
    struct debug_fixture *f = fix(state);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    fa_mark m = fa_frame_mark(f->a);
    char *p = (char *)fa_frame_alloc(f->a, 40);
    p[-1] = 'x';
    assert_int_equal(fa_frame_rewind(f->a, m), FA_ERR_CORRUPT); /* a rewind checks what it releases */
    message_has(&f->ev, "the guard before a frame block of 40 bytes");
    message_has(&f->ev, "at byte -1 ");
    assert_int_equal(fa_end_frame(f->a), FA_OK); /* the block went with the rewind */
}

static void pool_and_heap_overflows_are_found_at_the_free(void **state) {
    struct debug_fixture *f = fix(state);
    char *p = (char *)fa_pool_alloc(f->a, 64);
    p[64] = 1;
    assert_int_equal(fa_pool_free(f->a, p), FA_ERR_CORRUPT);
    message_has(&f->ev, "fa_pool_free: the guard after a pool block of 64 bytes");
    message_has(&f->ev, "at byte 64 ");
    char *h = (char *)fa_heap_alloc(f->a, 5000, 16);
    memset(h + 5000, 0, 8);
    assert_int_equal(fa_heap_free(f->a, h), FA_ERR_CORRUPT);
    message_has(&f->ev, "fa_heap_free: the guard after a heap block of 5000 bytes");
    assert_int_equal(fa_check(f->a), FA_OK); /* both went back all the same */
}

static void guarded_blocks_keep_their_alignment(void **state) {
    struct debug_fixture *f = fix(state);
    for (size_t size = 8; size <= 4096; size *= 2) { /* pool blocks: to their class size */
        void *p = fa_pool_alloc(f->a, size - 1);
        assert_int_equal((uintptr_t)p % size, 0);
        assert_int_equal(fa_pool_free(f->a, p), FA_OK);
    }
    void *h = fa_heap_alloc(f->a, 100, 4096);
    assert_non_null(h);
    assert_int_equal((uintptr_t)h % 4096, 0);
    assert_int_equal(fa_heap_free(f->a, h), FA_OK);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    void *a = fa_frame_alloc_aligned(f->a, 10, 256), *b = fa_frame_alloc(f->a, 16);
    assert_int_equal((uintptr_t)a % 256, 0);
    assert_int_equal((uintptr_t)b % 16, 0);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

static void fa_check_finds_a_broken_guard_of_a_live_block(void **state) {
    struct debug_fixture *f = fix(state);
    char *p = (char *)fa_pool_alloc(f->a, 100);
    assert_int_equal(fa_check(f->a), FA_OK);
    p[100] = 0x55;
    assert_int_equal(fa_check(f->a), FA_ERR_CORRUPT);
    message_has(&f->ev, "fa_check: the guard after a pool block of 100 bytes");
    p[100] = 0; /* the canary's first byte is its zero */
    assert_int_equal(fa_check(f->a), FA_OK);
    assert_int_equal(fa_pool_free(f->a, p), FA_OK);
}

/* An overflow that runs over the next block's header: the checks keep
 * their own records of every block, so they report it rather than follow
 * what the program wrote. */
static void an_overflow_over_the_next_header_is_reported(void **state) {
    if (FA__TRACKED)
        skip(); /* the overflow itself is what a tracked library makes the checker report */
    struct debug_fixture *f = fix(state);
    char *p = (char *)fa_pool_alloc(f->a, 64), *q = (char *)fa_pool_alloc(f->a, 64);
    char *low = p < q ? p : q, *high = p < q ? q : p;
    memset(low, 0x41, (size_t)(high - low) - 8); /* everything up to the next block's front guard */
    assert_int_equal(fa_check(f->a), FA_ERR_CORRUPT);
    message_has(&f->ev, "the guard after a pool block of 64 bytes");
    assert_int_equal(fa_pool_free(f->a, high), FA_OK); /* its own guards hold */
    assert_int_equal(fa_pool_free(f->a, low), FA_ERR_CORRUPT);
    assert_int_equal(fa_check(f->a), FA_OK);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    char *a = (char *)fa_frame_alloc(f->a, 64), *b = (char *)fa_frame_alloc(f->a, 64);
    memset(a, 0x41, (size_t)(b - a) - 8);
    assert_int_equal(fa_end_frame(f->a), FA_ERR_CORRUPT);
    message_has(&f->ev, "the guard after a frame block of 64 bytes");
}

/* ---- lifetimes ----------------------------------------------------------- */

static void fills_mark_each_lifetime(void **state) {
    struct debug_fixture *f = fix(state);
    unsigned char *p = (unsigned char *)fa_pool_alloc(f->a, 32);
    for (int i = 0; i < 32; i++)
        assert_int_equal(p[i], FA_FILL_FRESH);
    assert_int_equal(fa_pool_free(f->a, p), FA_OK);
    for (int i = 0; FA__TRACKED == 0 && i < 32; i++) /* the block is cached, still mapped (a tracked
                                                        * library forbids the read) */
        assert_int_equal(p[i], FA_FILL_FREED);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    unsigned char *q = (unsigned char *)fa_frame_alloc(f->a, 16);
    assert_int_equal(q[0], FA_FILL_FRESH);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
    if (!FA__TRACKED)
        assert_int_equal(q[0], FA_FILL_RESET); /* its chunk waits in the allocator's cache */
}

static void a_double_free_after_a_write_is_still_found(void **state) {
    if (FA__TRACKED)
        skip(); /* the write itself is what a tracked library makes the checker report */
    struct debug_fixture *f = fix(state);
    void *p = fa_pool_alloc(f->a, 64);
    assert_int_equal(fa_pool_free(f->a, p), FA_OK);
    memset(p, 0, 64); /* the default build's marker would be gone */
    assert_int_equal(fa_pool_free(f->a, p), FA_ERR_DOUBLE_FREE);
    message_has(&f->ev, "was already freed");
    void *h = fa_heap_alloc(f->a, 10000, 16);
    assert_int_equal(fa_heap_free(f->a, h), FA_OK);
    assert_int_equal(fa_heap_free(f->a, h), FA_ERR_DOUBLE_FREE);
}

static void a_write_after_free_shows_when_the_block_comes_back(void **state) {
    if (FA__TRACKED)
        skip(); /* the write itself is what a tracked library makes the checker report */
    struct debug_fixture *f = fix(state);
    char *p = (char *)fa_pool_alloc(f->a, 48);
    assert_int_equal(fa_pool_free(f->a, p), FA_OK);
    p[5] = 'x';
    char *q = (char *)fa_pool_alloc(f->a, 48); /* the same block, from the top of the cache */
    assert_ptr_equal(q, p);
    assert_int_equal(f->ev.last, FA_ERR_CORRUPT);
    message_has(&f->ev, "was written after it was freed (byte 5 of its 48");
    assert_int_equal(fa_pool_free(f->a, q), FA_OK);
}

static void a_write_after_the_frame_shows_when_the_memory_comes_back(void **state) {
    if (FA__TRACKED)
        skip(); /* the write itself is what a tracked library makes the checker report */
    struct debug_fixture *f = fix(state);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    char *p = (char *)fa_frame_alloc(f->a, 64);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
    p[10] = 'x'; /* a use after frame */
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    assert_non_null(fa_frame_alloc(f->a, 64));
    assert_int_equal(f->ev.last, FA_ERR_CORRUPT);
    message_has(&f->ev, "was written after its frame ended or was rewound");
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

static void a_pool_free_of_frame_memory_names_it(void **state) {
    struct debug_fixture *f = fix(state);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    void *p = fa_frame_alloc(f->a, 300);
    assert_int_equal(fa_pool_free(f->a, p), FA_ERR_FOREIGN);
    message_has(&f->ev, "is frame memory of this thread");
    char *mine = (char *)malloc(256);
    assert_int_equal(fa_pool_free(f->a, mine + 128), FA_ERR_FOREIGN);
    message_has(&f->ev, "is not a block of this allocator");
    free(mine);
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

/* ---- threads and tags ---------------------------------------------------- */

struct borrowed {
    fa_arena *arena;
    fa_cache *cache;
    void     *block;
    void     *got;
    fa_error  alloc_error, free_error;
};

static void *use_handles_of_another(void *arg) {
    struct borrowed *b = (struct borrowed *)arg;
    b->got = fa_arena_alloc(b->arena, 16);
    b->alloc_error = fa_last_error();
    b->free_error = fa_cache_free(b->cache, b->block);
    return NULL;
}

static void a_handle_used_on_another_thread_is_refused(void **state) {
    struct debug_fixture *f = fix(state);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    struct borrowed b = {fa_arena_get(f->a), fa_cache_get(f->a), NULL, NULL, FA_OK, FA_OK};
    b.block = fa_cache_alloc(b.cache, 64);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, use_handles_of_another, &b), 0);
    pthread_join(t, NULL);
    assert_null(b.got);
    assert_int_equal(b.alloc_error, FA_ERR_STATE);
    assert_int_equal(b.free_error, FA_ERR_STATE);
    message_has(&f->ev, "used on another thread");
    assert_int_equal(fa_cache_free(b.cache, b.block), FA_OK); /* on its own thread */
    assert_int_equal(fa_end_frame(f->a), FA_OK);
}

#if !FA_MINIMAL
static void a_tag_left_pushed_at_the_frame_end_is_a_warning(void **state) {
    struct debug_fixture *f = fix(state);
    assert_int_equal(fa_begin_frame(f->a), FA_OK);
    assert_int_equal(fa_tag_push(f->a, "audio"), FA_OK);
    assert_non_null(fa_frame_alloc(f->a, 8));
    assert_int_equal(fa_end_frame(f->a), FA_OK);
    assert_int_equal(f->ev.warnings, 1);
    message_has(&f->ev, "tag path \"audio\" is still pushed");
    assert_int_equal(fa_tag_pop(f->a), FA_OK);
}
#endif

static void *exit_inside_a_frame(void *arg) {
    fa_alloc *a = (fa_alloc *)arg;
    fa_begin_frame(a);
    fa_frame_alloc(a, 100);
    return NULL;
}

static void a_thread_leaving_inside_a_frame_is_reported(void **state) {
    struct debug_fixture *f = fix(state);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, exit_inside_a_frame, f->a), 0);
    pthread_join(t, NULL);
    assert_int_equal(fa_check(f->a), FA_OK);
    assert_int_equal(f->ev.warnings, 1);
    message_has(&f->ev, "1 thread exited inside a frame");
    assert_int_equal(fa_begin_frame(f->a), FA_OK); /* its chunks, reused, hold the reset fill */
    for (int i = 0; i < 8; i++)
        assert_non_null(fa_frame_alloc(f->a, 100));
    assert_int_equal(fa_end_frame(f->a), FA_OK);
    assert_int_equal(f->ev.count, 1); /* no false report of a write after the frame */
}

struct racer {
    fa_alloc         *a;
    void             *block;
    pthread_barrier_t *go;
    fa_error          result;
};

static void *free_at_once(void *arg) {
    struct racer *r = (struct racer *)arg;
    pthread_barrier_wait(r->go);
    r->result = fa_pool_free(r->a, r->block);
    return NULL;
}

/* Two threads freeing one block at the same time: one free takes it, the
 * other is a double free, and the allocator goes on. */
static void racing_frees_of_one_block_find_one_double_free(void **state) {
#if defined(__SANITIZE_THREAD__)
    skip(); /* the program's race is the scenario: TSan reports it, rightly */
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
    skip();
#endif
#endif
    struct debug_fixture *f = fix(state);
    for (int round = 0; round < 200; round++) {
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 2);
        void *p = fa_pool_alloc(f->a, 32);
        struct racer r[2] = {{f->a, p, &go, FA_OK}, {f->a, p, &go, FA_OK}};
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&t[i], NULL, free_at_once, &r[i]), 0);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&go);
        assert_true((r[0].result == FA_OK) != (r[1].result == FA_OK));
        assert_int_equal(r[0].result == FA_OK ? r[1].result : r[0].result, FA_ERR_DOUBLE_FREE);
    }
    assert_int_equal(fa_leak_find(f->a, 0, 0, NULL, 0), 0);
    assert_int_equal(fa_check(f->a), FA_OK);
}

/* ---- pass-through -------------------------------------------------------- */

/* FA_DEBUG_MALLOC: every allocation is a block of its own from the memory
 * source, frame blocks given back at the frame's end or a rewind; the
 * checks of the default build still hold. */
static void malloc_mode_gives_every_allocation_its_own_block(void **state) {
    (void)state;
    struct debug_fixture f;
    assert_non_null(create_at(&f, FA_DEBUG_MALLOC));
    assert_int_equal(fa_begin_frame(f.a), FA_OK);
    long before = f.c.allocs;
    char *x = (char *)fa_frame_alloc(f.a, 40), *y = (char *)fa_frame_alloc_aligned(f.a, 8, 256);
    fa_mark m = fa_frame_mark(f.a);
    assert_non_null(fa_frame_alloc(f.a, 100));
    assert_non_null(fa_frame_alloc(f.a, 100));
    assert_int_equal(f.c.allocs - before, 4); /* one request each */
    assert_int_equal((uintptr_t)x % 8, 0);
    assert_int_equal((uintptr_t)y % 256, 0);
    long frees = f.c.frees;
    assert_int_equal(fa_frame_rewind(f.a, m), FA_OK);
    assert_int_equal(f.c.frees - frees, 2);
    assert_int_equal(fa_end_frame(f.a), FA_OK);
    assert_int_equal(f.c.frees - frees, 4);
    void *p = fa_pool_alloc(f.a, 100);
    assert_int_equal((uintptr_t)p % 128, 0); /* aligned as its class */
    assert_int_equal(fa_pool_free(f.a, p), FA_OK);
    assert_int_equal(fa_pool_free(f.a, p), FA_ERR_DOUBLE_FREE);
    char *mine = (char *)malloc(64);
    assert_int_equal(fa_pool_free(f.a, mine), FA_ERR_FOREIGN);
    free(mine);
    fa_destroy(f.a);
    assert_int_equal(f.c.bytes_out, 0);
}

/* ---- leaks --------------------------------------------------------------- */

static void leaks_are_reported_at_destroy(void **state) {
    (void)state;
    struct debug_fixture f;
    assert_non_null(create_at(&f, FA_DEBUG_GUARD));
    assert_int_equal(fa_tag_push(f.a, "ui"), FA_OK);
    for (int i = 0; i < 2; i++)
        assert_non_null(fa_pool_alloc(f.a, 24));
    assert_int_equal(fa_tag_pop(f.a), FA_OK);
    assert_non_null(fa_heap_alloc(f.a, 6000, 16));
    fa_destroy(f.a);
    assert_int_equal(f.ev.warnings, 3); /* one line per leak */
    assert_int_equal(f.c.bytes_out, 0);
    message_has(&f.ev, "fa_destroy: leak: a");
    message_has(&f.ev, "allocated at 0x");
}

static void leak_queries_find_old_blocks(void **state) {
    struct debug_fixture *f = fix(state);
    void *old = fa_pool_alloc(f->a, 200);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fa_begin_frame(f->a), FA_OK);
        assert_int_equal(fa_end_frame(f->a), FA_OK);
    }
    void *young = fa_heap_alloc(f->a, 9000, 16);
    fa_leak found[4];
    assert_int_equal(fa_leak_find(f->a, 0, 0, found, 4), 2);
    assert_ptr_equal(found[0].ptr, old); /* oldest first */
    assert_int_equal(fa_leak_find(f->a, 2, 0, found, 4), 1);
    assert_ptr_equal(found[0].ptr, old);
    assert_int_equal(found[0].size, 200);
    assert_string_equal(found[0].kind, "pool");
    assert_string_equal(found[0].tag, "");
    assert_int_equal(found[0].age_frames, 3);
    assert_non_null(found[0].site);
    assert_true(found[0].thread != 0);
    assert_true(found[0].depth > 0); /* FA_DEBUG_TRACE keeps a backtrace, from the site out */
    assert_ptr_equal(found[0].backtrace[0], found[0].site);
    assert_true(found[0].age_ns > 0);
    assert_int_equal(fa_leak_find(f->a, 10, 0, found, 4), 0);
    assert_int_equal(fa_leak_find(f->a, 0, 0, NULL, 0), 2); /* a count alone */
    char buf[4096] = {0};
    FILE *out = fmemopen(buf, sizeof buf - 1, "w");
    assert_int_equal(fa_leak_report(f->a, out), FA_OK);
    fclose(out);
    assert_non_null(strstr(buf, "2 live pool and heap blocks"));
    assert_non_null(strstr(buf, "heap block, path \"\""));
    assert_non_null(strstr(buf, "#0 0x"));
    fa_pool_free(f->a, old);
    fa_heap_free(f->a, young);
    assert_int_equal(fa_leak_find(f->a, 0, 0, NULL, 0), 0);
}

#if !FA_MINIMAL
static void the_leak_report_at_off_counts_by_class_and_path(void **state) {
    (void)state;
    struct debug_fixture f;
    assert_non_null(create_at(&f, FA_DEBUG_OFF));
    fa_tag_push(f.a, "net");
    void *p = fa_pool_alloc(f.a, 100);
    fa_tag_pop(f.a);
    char buf[2048] = {0};
    FILE *out = fmemopen(buf, sizeof buf - 1, "w");
    assert_int_equal(fa_leak_report(f.a, out), FA_OK);
    fclose(out);
    assert_non_null(strstr(buf, "pool class 128 B: 1 blocks in use"));
    assert_non_null(strstr(buf, "path \"net\": 128 pool bytes"));
    assert_int_equal(fa_leak_report(f.a, NULL), FA_ERR_INVALID);
    assert_int_equal(fa_leak_report(NULL, stdout), FA_ERR_INVALID);
    assert_int_equal(fa_check(f.a), FA_OK);
    assert_int_equal(fa_check(NULL), FA_ERR_INVALID);
    fa_pool_free(f.a, p);
    fa_destroy(f.a);
    assert_int_equal(f.ev.warnings, 0); /* at FA_DEBUG_OFF no leak report at destroy */
}
#endif

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(levels_come_from_the_config_and_the_environment),
        GUARD_TEST(frame_overflows_are_found_at_the_frame_end),
        GUARD_TEST(an_underflow_names_the_side_and_offset),
        GUARD_TEST(pool_and_heap_overflows_are_found_at_the_free),
        GUARD_TEST(guarded_blocks_keep_their_alignment),
        GUARD_TEST(fa_check_finds_a_broken_guard_of_a_live_block),
        GUARD_TEST(an_overflow_over_the_next_header_is_reported),
        GUARD_TEST(fills_mark_each_lifetime),
        GUARD_TEST(a_double_free_after_a_write_is_still_found),
        GUARD_TEST(a_write_after_free_shows_when_the_block_comes_back),
        GUARD_TEST(a_write_after_the_frame_shows_when_the_memory_comes_back),
        GUARD_TEST(a_pool_free_of_frame_memory_names_it),
        GUARD_TEST(a_handle_used_on_another_thread_is_refused),
#if !FA_MINIMAL /* tags name paths, and the report at FA_DEBUG_OFF reads the statistics */
        GUARD_TEST(a_tag_left_pushed_at_the_frame_end_is_a_warning),
#endif
        GUARD_TEST(a_thread_leaving_inside_a_frame_is_reported),
        GUARD_TEST(racing_frees_of_one_block_find_one_double_free),
        cmocka_unit_test(malloc_mode_gives_every_allocation_its_own_block),
        cmocka_unit_test(leaks_are_reported_at_destroy),
        TRACE_TEST(leak_queries_find_old_blocks),
#if !FA_MINIMAL
        cmocka_unit_test(the_leak_report_at_off_counts_by_class_and_path),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
