/* Pool benchmarks, same run, same workload for every allocator:
 *   churn    10,000 live objects, random free + alloc, sizes 16..1024 B
 *   prodcons one thread allocates, another frees, 1 M blocks of 64 B;
 *            peak resident memory is what matters there
 * Prints the median of REPS runs in ns per operation (churn) and the ratio to
 * mimalloc. A benchmark, not a test: it asserts nothing about speed. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <mimalloc.h>

#include "framealloc.h"

#define LIVE 10000
#ifndef OPS
#define OPS 4000000
#endif
#ifndef REPS
#define REPS 7
#endif

struct peer {
    const char *name;
    void *(*alloc)(size_t);
    void (*free)(void *);
};

static fa_alloc *fa;
static void *fa_alloc_fn(size_t n) { return fa_pool_alloc(fa, n); }
static void fa_free_fn(void *p) { fa_pool_free(fa, p); }

static const struct peer peers[] = {
    {"framealloc pool", fa_alloc_fn, fa_free_fn},
    {"mimalloc", mi_malloc, mi_free},
    {"glibc malloc", malloc, free},
};
#define PEERS (sizeof peers / sizeof *peers)

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The same random sequence for every peer: sizes and victims drawn up front. */
static uint32_t *sizes, *victims; /* drawn for churn only */

static double churn(const struct peer *p) {
    static void *live[LIVE];
    for (int i = 0; i < LIVE; i++)
        live[i] = p->alloc(sizes[i]);
    double start = now_ns();
    for (int i = 0; i < OPS; i++) {
        uint32_t v = victims[i];
        p->free(live[v]);
        live[v] = p->alloc(sizes[i]);
        *(volatile char *)live[v] = 1; /* touch it, as a program would */
    }
    double ns = (now_ns() - start) / (2.0 * OPS);
    for (int i = 0; i < LIVE; i++)
        p->free(live[i]);
    return ns;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- producer / consumer ----------------------------------------------- */

#define BLOCKS 1000000
#define RING 4096

struct ring {
    void *slot[RING];
    _Atomic unsigned long head, tail;
    const struct peer *peer;
};

static void *consume(void *arg) {
    struct ring *r = (struct ring *)arg;
    for (unsigned long done = 0; done < BLOCKS;) {
        unsigned long head = atomic_load_explicit(&r->head, memory_order_acquire);
        while (done < head)
            r->peer->free(r->slot[done++ % RING]);
        atomic_store_explicit(&r->tail, done, memory_order_release);
    }
    return NULL;
}

static void prodcons(const struct peer *p) {
    static struct ring r;
    memset(&r, 0, sizeof r);
    r.peer = p;
    pthread_t t;
    pthread_create(&t, NULL, consume, &r);
    for (unsigned long i = 0; i < BLOCKS; i++) {
        while (i - atomic_load_explicit(&r.tail, memory_order_acquire) >= RING)
            ;
        r.slot[i % RING] = p->alloc(64);
        atomic_store_explicit(&r.head, i + 1, memory_order_release);
    }
    pthread_join(t, NULL);
}

int main(int argc, char **argv) {
    fa = fa_create(NULL);
    if (argc > 2 && strcmp(argv[1], "prodcons") == 0) { /* one peer per process, for its peak RSS */
        for (size_t i = 0; i < PEERS; i++)
            if (strcmp(peers[i].name, argv[2]) == 0) {
                prodcons(&peers[i]);
                struct rusage ru;
                getrusage(RUSAGE_SELF, &ru);
                printf("%-16s producer/consumer of %d blocks: peak RSS %ld KiB\n", argv[2], BLOCKS,
                       ru.ru_maxrss);
            }
        fa_destroy(fa);
        return 0;
    }
    sizes = (uint32_t *)malloc(OPS * sizeof *sizes);
    victims = (uint32_t *)malloc(OPS * sizeof *victims);
    for (int i = 0; i < OPS; i++) {
        sizes[i] = 16 + (uint32_t)(rng() % (1024 - 16 + 1));
        victims[i] = (uint32_t)(rng() % LIVE);
    }
    double results[PEERS][REPS];
    for (int rep = 0; rep < REPS; rep++) /* interleaved, so drift hits every peer alike */
        for (size_t i = 0; i < PEERS; i++)
            results[i][rep] = churn(&peers[i]);
    double mi_median = 0;
    for (size_t i = 0; i < PEERS; i++) {
        qsort(results[i], REPS, sizeof(double), compare);
        if (strcmp(peers[i].name, "mimalloc") == 0)
            mi_median = results[i][REPS / 2];
    }
    printf("churn: %d live objects, %d x (free + alloc), 16..1024 B, median of %d\n", LIVE, OPS, REPS);
    for (size_t i = 0; i < PEERS; i++)
        printf("  %-16s %6.2f ns/op  (min %.2f, max %.2f)  %.2fx mimalloc\n", peers[i].name,
               results[i][REPS / 2], results[i][0], results[i][REPS - 1], results[i][REPS / 2] / mi_median);
    free(sizes);
    free(victims);
    fa_destroy(fa);
    return 0;
}
