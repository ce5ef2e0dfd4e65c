/* SPDX-License-Identifier: MIT */
/* The benchmark: framealloc and its peers on the same workloads.
 *
 *   bench --list                 the peers and workloads of this binary
 *   bench --peer NAME [--scale S]
 *
 * One process measures one peer, and the ideal bump pointer next to it on
 * every workload, so each ratio to the ideal is same-process; bench/run.py
 * runs the processes interleaved, repeats them, and makes the tables.
 * Allocators that replace malloc process-wide (jemalloc, tcmalloc) are this
 * same file built into binaries of their own (BENCH_MALLOC_NAME).
 *
 * Output, one line per measurement, tab-separated:
 *   peer  workload  ns-per-op  waste (-1: not measurable)  ideal-ns (-1: none)
 * then the process's peak resident memory (bench/rss.h):
 *   peak-rss-kib  KIB
 * A benchmark, not a test: it asserts nothing. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* malloc_usable_size */
#endif
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "framealloc.h"
#include "ideal.h"
#include "rss.h"

#ifndef BENCH_MALLOC_NAME
#define BENCH_FULL 1
#define BENCH_MALLOC_NAME "glibc malloc"
/* This binary links mimalloc, whose library replaces malloc process-wide:
 * glibc is reached through libc.h, for its peer and for framealloc's
 * memory source alike (as in a program that does not link mimalloc). */
#include "libc.h"
#define SYS_MALLOC libc.malloc
#define SYS_FREE libc.free
#define SYS_USABLE libc.usable
#include <apr_pools.h>
#include <mimalloc.h>
#include <obstack.h>
#include <talloc.h>
#endif

#define CHURN_LIVE 10000
#define MAX_THREADS 64
#define ARENA_BYTES ((size_t)64 << 20)

/* ---- shared helpers ----------------------------------------------------- */

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t next_random(uint64_t *state) { /* splitmix64 */
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

struct request {
    uint32_t size;
};

struct workload {
    const char     *name;
    enum { FRAME, EMPTY, CHURN, THREADS } kind;
    struct request *requests; /* one frame's allocations, in order */
    uint32_t        allocs;
    int             threads; /* THREADS: how many workers */
};

struct result {
    double ns_per_op;
    double waste; /* share of the consumed bytes that no request asked for; -1 unknown */
};

struct tally {
    size_t requested, usable, consumed;
};

static double waste_of(const struct tally *t) {
    size_t taken = t->consumed != 0 ? t->consumed : t->usable;
    return taken != 0 ? 1.0 - (double)t->requested / (double)taken : -1;
}

struct peer {
    const char *name;
    int         is_arena;
    void (*frames)(const struct workload *w, long frames, struct result *out);
    void (*empty)(const struct workload *w, long frames, struct result *out);
    void (*churn)(const struct workload *w, long ops, struct result *out);
    double (*threads)(const struct workload *w, long frames, int threads);
};

/* ---- the ideal references (ideal.h) ------------------------------------- */

enum { ideal_is_arena = 1 };
static void *ideal_create(void) {
    struct ideal_bump *s = (struct ideal_bump *)aligned_alloc(64, 64); /* a line of its own */
    ideal_bump_init(s, ARENA_BYTES);
    return s;
}
static void ideal_destroy(void *st) {
    free(((struct ideal_bump *)st)->base);
    free(st);
}
static void ideal_begin(void *st) {
    ((struct ideal_bump *)st)->cur = (uintptr_t)((struct ideal_bump *)st)->base;
}
static inline void *ideal_alloc(void *st, size_t size) {
    return ideal_bump_alloc((struct ideal_bump *)st, size);
}
static void ideal_free(void *st, void *p, size_t size) {
    (void)st, (void)p, (void)size;
}
static void ideal_end(void *st) {
    (void)st;
}
static size_t ideal_consumed(void *st) {
    return ((struct ideal_bump *)st)->cur - (uintptr_t)((struct ideal_bump *)st)->base;
}
static size_t ideal_usable(void *p, size_t size) {
    (void)p, (void)size;
    return 0;
}
#define PEER ideal
#define PEER_NAME "ideal bump"
#include "peer_template.h"

enum { ipool_is_arena = 0 };
static void *ipool_create(void) {
    struct ideal_pool *s = (struct ideal_pool *)aligned_alloc(64, 128);
    ideal_pool_init(s, ARENA_BYTES);
    return s;
}
static void ipool_destroy(void *st) {
    free(((struct ideal_pool *)st)->base);
    free(st);
}
#define ipool_begin ideal_end
#define ipool_end ideal_end
static inline void *ipool_alloc(void *st, size_t size) {
    return ideal_pool_alloc((struct ideal_pool *)st, size);
}
static inline void ipool_free(void *st, void *p, size_t size) {
    ideal_pool_free((struct ideal_pool *)st, p, size);
}
static size_t ipool_consumed(void *st) {
    (void)st;
    return 0;
}
static size_t ipool_usable(void *p, size_t size) {
    (void)p;
    return size <= 4096 ? (size_t)8 << ideal_pool_class(size) : size;
}
#define PEER ipool
#define PEER_NAME "ideal pool"
#include "peer_template.h"

/* ---- framealloc --------------------------------------------------------- */

static fa_alloc *fa_shared; /* one allocator; each thread its own frames and caches */

enum { faf_is_arena = 1 };
static void *faf_create(void) {
    return fa_shared;
}
static void faf_destroy(void *st) {
    (void)st;
}
static void faf_begin(void *st) {
    fa_begin_frame((fa_alloc *)st);
}
static inline void *faf_alloc(void *st, size_t size) {
    return fa_frame_alloc((fa_alloc *)st, size);
}
static void faf_free(void *st, void *p, size_t size) {
    (void)st, (void)p, (void)size;
}
static void faf_end(void *st) {
    fa_end_frame((fa_alloc *)st);
}
static size_t faf_consumed(void *st) {
    fa_frame_info info;
    fa_frame_info_get((fa_alloc *)st, &info);
    return info.bytes;
}
#define faf_usable ideal_usable
#define PEER faf
#define PEER_NAME "framealloc frame"
#include "peer_template.h"

/* The handle form: each thread keeps its arena handle in its own state, as
 * an engine system keeps it in its struct. */
struct faa_state {
    fa_alloc *a;
    fa_arena *arena;
};
enum { faa_is_arena = 1 };
static void *faa_create(void) {
    struct faa_state *s = (struct faa_state *)malloc(sizeof *s);
    s->a = fa_shared;
    s->arena = fa_arena_get(fa_shared);
    return s;
}
static void faa_destroy(void *st) {
    free(st);
}
static void faa_begin(void *st) {
    fa_begin_frame(((struct faa_state *)st)->a);
}
static inline void *faa_alloc(void *st, size_t size) {
    return fa_arena_alloc(((struct faa_state *)st)->arena, size);
}
#define faa_free faf_free
static void faa_end(void *st) {
    fa_end_frame(((struct faa_state *)st)->a);
}
static size_t faa_consumed(void *st) {
    return faf_consumed(((struct faa_state *)st)->a);
}
#define faa_usable ideal_usable
#define PEER faa
#define PEER_NAME "framealloc arena handle"
#include "peer_template.h"

enum { fap_is_arena = 0 };
#define fap_create faf_create
#define fap_destroy faf_destroy
static void fap_begin(void *st) {
    (void)st;
}
static inline void *fap_alloc(void *st, size_t size) {
    return fa_pool_alloc((fa_alloc *)st, size);
}
static inline void fap_free(void *st, void *p, size_t size) {
    (void)size;
    fa_pool_free((fa_alloc *)st, p);
}
#define fap_end fap_begin
static size_t fap_consumed(void *st) {
    (void)st;
    return 0;
}
#define fap_usable ipool_usable
#define PEER fap
#define PEER_NAME "framealloc pool"
#include "peer_template.h"

/* ---- malloc: glibc here, jemalloc or tcmalloc in their own binaries ------ */

#ifndef SYS_MALLOC /* a binary of its own: malloc is the replacement it links */
#define SYS_MALLOC malloc
#define SYS_FREE free
#define SYS_USABLE malloc_usable_size
#endif

enum { sys_is_arena = 0 };
static void *sys_create(void) {
    return NULL;
}
static void sys_destroy(void *st) {
    (void)st;
}
#define sys_begin sys_destroy
#define sys_end sys_destroy
static inline void *sys_alloc(void *st, size_t size) {
    (void)st;
    return SYS_MALLOC(size);
}
static inline void sys_free(void *st, void *p, size_t size) {
    (void)st, (void)size;
    SYS_FREE(p);
}
#define sys_consumed fap_consumed
static size_t sys_usable(void *p, size_t size) {
    (void)size;
    return SYS_USABLE(p);
}
#define PEER sys
#define PEER_NAME BENCH_MALLOC_NAME
#include "peer_template.h"

#ifdef BENCH_FULL

/* ---- mimalloc: malloc/free, and a first-class heap as a frame arena.
 *      Heaps have no reset, so each frame creates and destroys one. ------- */

enum { mim_is_arena = 0 };
#define mim_create sys_create
#define mim_destroy sys_destroy
#define mim_begin sys_destroy
#define mim_end sys_destroy
static inline void *mim_alloc(void *st, size_t size) {
    (void)st;
    return mi_malloc(size);
}
static inline void mim_free(void *st, void *p, size_t size) {
    (void)st, (void)size;
    mi_free(p);
}
#define mim_consumed fap_consumed
static size_t mim_usable(void *p, size_t size) {
    (void)size;
    return mi_usable_size(p);
}
#define PEER mim
#define PEER_NAME "mimalloc"
#include "peer_template.h"

struct miheap {
    mi_heap_t *heap;
};
enum { mih_is_arena = 1 };
static void *mih_create(void) {
    return calloc(1, sizeof(struct miheap));
}
static void mih_destroy(void *st) {
    free(st);
}
static void mih_begin(void *st) {
    ((struct miheap *)st)->heap = mi_heap_new();
}
static inline void *mih_alloc(void *st, size_t size) {
    return mi_heap_malloc(((struct miheap *)st)->heap, size);
}
#define mih_free ideal_free
static void mih_end(void *st) {
    mi_heap_destroy(((struct miheap *)st)->heap);
}
#define mih_consumed fap_consumed
#define mih_usable mim_usable
#define PEER mih
#define PEER_NAME "mimalloc heap"
#include "peer_template.h"

/* ---- glibc obstack: reset by freeing back to a first object ------------- */

#define obstack_chunk_alloc malloc
#define obstack_chunk_free free
struct ob {
    struct obstack stack;
    void          *first;
};
enum { ob_is_arena = 1 };
static void *ob_create(void) {
    struct ob *s = (struct ob *)malloc(sizeof *s);
    obstack_init(&s->stack);
    s->first = obstack_alloc(&s->stack, 1);
    return s;
}
static void ob_destroy(void *st) {
    obstack_free(&((struct ob *)st)->stack, NULL);
    free(st);
}
#define ob_begin ideal_end
static inline void *ob_alloc(void *st, size_t size) {
    return obstack_alloc(&((struct ob *)st)->stack, size);
}
#define ob_free ideal_free
static void ob_end(void *st) {
    struct ob *s = (struct ob *)st;
    obstack_free(&s->stack, s->first);
    s->first = obstack_alloc(&s->stack, 1);
}
#define ob_consumed fap_consumed
#define ob_usable ideal_usable
#define PEER ob
#define PEER_NAME "obstack"
#include "peer_template.h"

/* ---- APR pools: cleared and reused ------------------------------------- */

enum { apr_is_arena = 1 };
static void *apr_create(void) {
    apr_pool_t *pool;
    apr_pool_create(&pool, NULL);
    return pool;
}
static void apr_destroy(void *st) {
    apr_pool_destroy((apr_pool_t *)st);
}
#define apr_begin ideal_end
static inline void *apr_alloc(void *st, size_t size) {
    return apr_palloc((apr_pool_t *)st, size);
}
#define apr_free ideal_free
static void apr_end(void *st) {
    apr_pool_clear((apr_pool_t *)st);
}
#define apr_consumed fap_consumed
#define apr_usable ideal_usable
#define PEER apr
#define PEER_NAME "APR pool"
#include "peer_template.h"

/* ---- talloc: a context whose children are freed at frame end; plain, and
 *      as a talloc pool (one block the children are carved from) ---------- */

enum { tal_is_arena = 1 };
static void *tal_create(void) {
    return talloc_new(NULL);
}
static void tal_destroy(void *st) {
    talloc_free(st);
}
#define tal_begin ideal_end
static inline void *tal_alloc(void *st, size_t size) {
    return talloc_size(st, size);
}
#define tal_free ideal_free
static void tal_end(void *st) {
    talloc_free_children(st);
}
#define tal_consumed fap_consumed
#define tal_usable ideal_usable
#define PEER tal
#define PEER_NAME "talloc"
#include "peer_template.h"

enum { talp_is_arena = 1 };
static void *talp_create(void) {
    return talloc_pool(NULL, ARENA_BYTES);
}
#define talp_destroy tal_destroy
#define talp_begin tal_begin
#define talp_alloc tal_alloc
#define talp_free tal_free
#define talp_end tal_end
#define talp_consumed tal_consumed
#define talp_usable tal_usable
#define PEER talp
#define PEER_NAME "talloc pool"
#include "peer_template.h"

#endif /* BENCH_FULL */

static const struct peer *const peers[] = {
    &ideal_peer, &ipool_peer, &faf_peer, &faa_peer, &fap_peer, &sys_peer,
#ifdef BENCH_FULL
    &mim_peer,   &mih_peer, &ob_peer,  &apr_peer, &tal_peer, &talp_peer,
#endif
};
#define PEER_COUNT (sizeof peers / sizeof *peers)

/* ---- workloads ----------------------------------------------------------- */

struct spec {
    const char *name;
    int         kind;
    int         threads;
    uint32_t    counts[3], sizes[3]; /* up to three groups of count x size */
    int         cycle;               /* interleave the groups' sizes */
};

static const struct spec specs[] = {
    {"single 64 B", FRAME, 0, {1}, {64}, 0},
    {"single 256 B", FRAME, 0, {1}, {256}, 0},
    {"single 1 KiB", FRAME, 0, {1}, {1024}, 0},
    {"single 4 KiB", FRAME, 0, {1}, {4096}, 0},
    {"single 64 KiB", FRAME, 0, {1}, {65536}, 0},
    {"1000 x 64 B", FRAME, 0, {1000}, {64}, 0},
    {"physics", FRAME, 0, {500, 100, 200}, {96, 256, 64}, 0},
    {"particles", FRAME, 0, {10000}, {64}, 0},
    {"render", FRAME, 0, {2000, 5000, 500}, {24, 32, 32}, 0},
    {"UI", FRAME, 0, {150, 50}, {128, 256}, 0},
    {"alignment 7/31/63 B", FRAME, 0, {1000, 1000, 1000}, {7, 31, 63}, 1},
    {"empty frame", EMPTY, 0, {0}, {0}, 0},
    {"pool churn", CHURN, 0, {0}, {0}, 0},
    {"threads", THREADS, 0, {1000}, {64}, 0}, /* run with 1 .. nproc workers */
};
#define WORKLOAD_COUNT (sizeof specs / sizeof *specs)

static struct workload make_workload(const struct spec *s) {
    struct workload w = {s->name, (int)s->kind, NULL, 0, s->threads};
    for (int g = 0; g < 3; g++)
        w.allocs += s->counts[g];
    w.requests = (struct request *)calloc(w.allocs + 1, sizeof *w.requests);
    uint32_t n = 0;
    if (s->cycle) {
        for (uint32_t i = 0; i < s->counts[0]; i++)
            for (int g = 0; g < 3; g++)
                w.requests[n++].size = s->sizes[g];
    } else {
        for (int g = 0; g < 3; g++)
            for (uint32_t i = 0; i < s->counts[g]; i++)
                w.requests[n++].size = s->sizes[g];
    }
    return w;
}

/* Enough repetitions for about 2 million operations per measurement. */
static long repetitions(const struct workload *w, double scale) {
    double ops = 2e6 * scale;
    long n = (long)(ops / (w->allocs != 0 ? w->allocs : 1));
    return n < 20 ? 20 : n;
}

static void emit(const struct peer *p, const struct workload *w, struct result r, double ideal_ns) {
    printf("%s\t%s\t%.4f\t%.4f\t%.4f\n", p->name, w->name, r.ns_per_op, r.waste, ideal_ns);
    fflush(stdout);
}

static void measure(const struct peer *p, const struct workload *w, double scale) {
    long n = repetitions(w, scale);
    struct result r = {0, -1}, ideal = {-1, -1};
    switch (w->kind) {
    case FRAME:
        ideal_peer.frames(w, n, &ideal);
        p->frames(w, n, &r);
        break;
    case EMPTY:
        if (!p->is_arena)
            return; /* nothing to begin or end */
        ideal_peer.empty(w, n, &ideal);
        p->empty(w, n, &r);
        break;
    case CHURN:
        if (p->is_arena)
            return; /* arenas free nothing one by one */
        p->churn(w, (long)(2e6 * scale), &r);
        break;
    case THREADS:
        ideal.ns_per_op = ideal_peer.threads(w, n, w->threads);
        r.ns_per_op = p->threads(w, n, w->threads);
        break;
    }
    emit(p, w, r, ideal.ns_per_op);
}

int main(int argc, char **argv) {
    const char *only = NULL;
    double scale = 1.0;
    int list = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--peer") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc)
            scale = atof(argv[++i]);
        else if (strcmp(argv[i], "--list") == 0)
            list = 1;
        else {
            fprintf(stderr, "usage: %s --list | --peer NAME [--scale S]\n", argv[0]);
            return 2;
        }
    }
    if (list) {
        for (size_t i = 0; i < PEER_COUNT; i++)
            printf("%s\n", peers[i]->name);
        return 0;
    }
#ifdef BENCH_FULL
    apr_initialize();
    fa_shared = fa_create_on_libc("bench");
    if (fa_shared == NULL)
        return 1;
#else
    fa_shared = fa_create(NULL);
#endif
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int workers = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
    for (size_t i = 0; i < PEER_COUNT; i++) {
        if (only != NULL && strcmp(only, peers[i]->name) != 0)
            continue;
        for (size_t k = 0; k < WORKLOAD_COUNT; k++) {
            struct workload w = make_workload(&specs[k]);
            if (w.kind != THREADS)
                measure(peers[i], &w, scale);
            for (int n = 1; w.kind == THREADS && n <= workers; n++) {
                char name[32];
                snprintf(name, sizeof name, "%d thread%s", n, n > 1 ? "s" : "");
                w.name = name;
                w.threads = n;
                measure(peers[i], &w, scale);
            }
            free(w.requests);
        }
    }
    fa_destroy(fa_shared);
#ifdef BENCH_FULL
    apr_terminate();
#endif
    printf("peak-rss-kib\t%ld\n", peak_rss_kib());
    return 0;
}
