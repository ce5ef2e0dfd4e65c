/* SPDX-License-Identifier: MIT */
/* Shared test fixtures: a counting (and optionally misbehaving) backend and an
 * event recorder. Included by every suite; cmocka must be included first. */
#ifndef FA_TEST_HELPERS_H
#define FA_TEST_HELPERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framealloc.h"

/* How the counting backend answers. */
enum counting_mode {
    ANSWER_OK,
    ANSWER_FALLBACK,   /* lets the system serve */
    ANSWER_FAIL,
    ANSWER_OK_NULL,    /* OK with a NULL pointer: counts as a failure */
    ANSWER_MISALIGNED  /* OK with a pointer off by 8: the library must give it back */
};

#define SIZE_LOG 64

struct counting {
    fa_backend inner;               /* where the memory comes from */
    _Atomic enum counting_mode mode;
    atomic_long fail_from;  /* fail every request numbered >= this (0: never) */
    atomic_long allocs;     /* requests answered OK with memory */
    atomic_long frees;
    atomic_long requests;   /* every call to allocate */
    atomic_long bytes_out;  /* live bytes handed out by this backend */
    atomic_long max_align;
    atomic_long sizes[SIZE_LOG]; /* sizes of the first requests, in order */
};

static fa_backend_result counting_allocate(void *ctx, size_t size, size_t align, void **out) {
    struct counting *c = (struct counting *)ctx;
    long n = atomic_fetch_add(&c->requests, 1);
    if (n < SIZE_LOG)
        atomic_store(&c->sizes[n], (long)size);
    if ((long)align > atomic_load(&c->max_align))
        atomic_store(&c->max_align, (long)align);
    long fail_from = atomic_load(&c->fail_from);
    enum counting_mode mode = atomic_load(&c->mode);
    if (fail_from > 0 && n + 1 >= fail_from)
        mode = ANSWER_FAIL;
    switch (mode) {
    case ANSWER_FALLBACK: return FA_BACKEND_FALLBACK;
    case ANSWER_FAIL: return FA_BACKEND_FAIL;
    case ANSWER_OK_NULL: *out = NULL; return FA_BACKEND_OK;
    default: break;
    }
    size_t extra = mode == ANSWER_MISALIGNED ? align : 0;
    void *p;
    if (c->inner.allocate(c->inner.ctx, size + extra, align, &p) != FA_BACKEND_OK)
        return FA_BACKEND_FAIL;
    atomic_fetch_add(&c->allocs, 1);
    atomic_fetch_add(&c->bytes_out, (long)size);
    *out = mode == ANSWER_MISALIGNED ? (char *)p + 8 : p;
    return FA_BACKEND_OK;
}

static void counting_deallocate(void *ctx, void *ptr, size_t size, size_t align) {
    struct counting *c = (struct counting *)ctx;
    size_t extra = 0;
    if (atomic_load(&c->mode) == ANSWER_MISALIGNED) {
        ptr = (char *)ptr - 8;
        extra = align;
    }
    atomic_fetch_add(&c->frees, 1);
    atomic_fetch_sub(&c->bytes_out, (long)size);
    c->inner.deallocate(c->inner.ctx, ptr, size + extra, align);
}

/* The splitmix64 finaliser: spreads a seed or an address over 64 bits. */
static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* xorshift64*: a seeded generator, one per thread, so that no thread waits
 * on another's draws and a seed replays the same run. */
struct rng {
    uint64_t s; /* never 0 */
};

static inline struct rng rng_seeded(uint64_t seed) {
    struct rng r = {mix64(seed) | 1};
    return r;
}

static inline uint64_t rng_next(struct rng *r) {
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545f4914f6cdd1du;
}

static inline size_t rng_below(struct rng *r, size_t n) {
    return (size_t)(rng_next(r) % n);
}

/* The memory source under every test allocator: the system, or the one
 * FA_TEST_SOURCE names (mmap, numa, fixed), so that whole suites run over
 * each source. Made once per process and destroyed at exit. */
static fa_backend test_source_backend;

static void destroy_test_source(void) {
    fa_source_destroy(&test_source_backend);
}

static void *test_fixed_buffer;

static void free_test_fixed_buffer(void) {
    free(test_fixed_buffer);
}

static inline fa_backend test_source(void) {
    if (test_source_backend.allocate != NULL)
        return test_source_backend;
    const char *name = getenv("FA_TEST_SOURCE");
    if (name != NULL && strcmp(name, "mmap") == 0) {
        fa_source_mmap(&test_source_backend, (size_t)8 << 30, FA_HUGE_NONE);
    } else if (name != NULL && strcmp(name, "numa") == 0) {
        fa_source_numa(&test_source_backend, 0, (size_t)8 << 30);
    } else if (name != NULL && strcmp(name, "fixed") == 0) {
        size_t size = (size_t)512 << 20;
        test_fixed_buffer = malloc(size);
        atexit(free_test_fixed_buffer); /* runs after the source's destroy below */
        fa_source_fixed(&test_source_backend, test_fixed_buffer, size);
    } else {
        test_source_backend = fa_backend_system();
        return test_source_backend;
    }
    atexit(destroy_test_source);
    return test_source_backend;
}

static inline fa_backend counting_backend(struct counting *c) {
    memset(c, 0, sizeof *c);
    c->inner = test_source();
    fa_backend b = {c, counting_allocate, counting_deallocate};
    return b;
}

/* Records every event; thread-safe. */
struct events {
    pthread_mutex_t lock;
    int             count;
    int             warnings;
    fa_error        last;
    size_t          last_size;
    char            message[256];
    char            tag[128]; /* the last event's tag path; "" for none */
    int             detail_differs; /* errors whose fa_last_error_detail, read on the thread
                                     * concerned during the event, was not its message */
};

static void record_event(void *user, const fa_event *ev) {
    struct events *e = (struct events *)user;
    pthread_mutex_lock(&e->lock);
    e->count++;
    e->warnings += ev->error == FA_OK;
    e->last = ev->error;
    e->last_size = ev->size;
    snprintf(e->message, sizeof e->message, "%s", ev->message);
    snprintf(e->tag, sizeof e->tag, "%s", ev->tag != NULL ? ev->tag : "");
    e->detail_differs += ev->error != FA_OK && strcmp(fa_last_error_detail(), ev->message) != 0;
    pthread_mutex_unlock(&e->lock);
}

static inline void events_init(struct events *e) {
    memset(e, 0, sizeof *e);
    pthread_mutex_init(&e->lock, NULL);
}

/* A config with the counting backend and the event recorder. */
static inline fa_config test_config(struct counting *c, struct events *e) {
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.backend = counting_backend(c);
    events_init(e);
    cfg.on_event = record_event;
    cfg.event_user = e;
    return cfg;
}

/* A fixture for suites that test one allocator: counting backend, events. */
struct fixture {
    struct counting c;
    struct events   ev;
    fa_alloc       *a;
};

static inline int fixture_setup(void **state) {
    struct fixture *f = (struct fixture *)calloc(1, sizeof *f);
    fa_config cfg = test_config(&f->c, &f->ev);
    f->a = fa_create(&cfg);
    *state = f;
    return f->a == NULL;
}

/* The same, and every test starts inside a frame. */
static inline int fixture_setup_in_frame(void **state) {
    return fixture_setup(state) || fa_begin_frame(((struct fixture *)*state)->a) != FA_OK;
}

/* Fails the test when the allocator left backend bytes behind. */
static inline int fixture_teardown(void **state) {
    struct fixture *f = (struct fixture *)*state;
    fa_frame_info info;
    if (fa_frame_info_get(f->a, &info) == FA_OK && info.in_frame)
        fa_end_frame(f->a);
    fa_destroy(f->a);
    int leaked = f->c.bytes_out != 0;
    free(f);
    return leaked;
}

/* The fixture a test was set up with, and its allocator. */
static inline struct fixture *fixture_of(void **state) {
    return (struct fixture *)*state;
}
static inline fa_alloc *alloc_of(void **state) {
    return fixture_of(state)->a;
}

/* A test with a fresh fixture, which must leave no backend bytes behind. */
#define FIXTURE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
/* The same, inside a frame from the start. */
#define FRAME_FIXTURE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup_in_frame, fixture_teardown)

/* A snapshot, on the heap (fa_stats is some 13 KB). */
static inline fa_stats *stats_of(fa_alloc *a) {
    fa_stats *st = (fa_stats *)calloc(1, sizeof *st);
    if (st != NULL && fa_stats_get(a, st) != FA_OK) {
        free(st);
        return NULL;
    }
    return st;
}

/* The index of a tag path in a snapshot, or -1. */
static inline int tag_index(const fa_stats *st, const char *path) {
    for (uint64_t i = 0; i < st->tag_count; i++)
        if (strcmp(st->tags[i].path, path) == 0)
            return (int)i;
    return -1;
}

#endif
