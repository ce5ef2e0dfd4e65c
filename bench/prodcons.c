/* SPDX-License-Identifier: MIT */
/* Producer/consumer: one thread allocates 1 M blocks of 64 B, another frees
 * them, handed over through a ring. What matters is the peak resident memory
 * (no migration leak), so each peer runs in a process of its own:
 *   prodcons "framealloc pool" | mimalloc | "glibc malloc"
 * A benchmark, not a test: it asserts nothing. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <mimalloc.h>
#include <stdlib.h>

#include "figures.h"
#include "framealloc.h"
#include "rss.h"
#include "libc.h" /* mimalloc replaces malloc in this binary: glibc's own, for its peer and framealloc's source */

#define BLOCKS 1000000
#define RING 4096

struct peer {
    const char *name;
    const char *key; /* in the FIGURE line's key */
    void *(*alloc)(size_t);
    void (*free)(void *);
};

static fa_alloc *fa;
static void *fa_alloc_fn(size_t n) { return fa_pool_alloc(fa, n); }
static void fa_free_fn(void *p) { fa_pool_free(fa, p); }
static void *glibc_alloc(size_t n) { return libc.malloc(n); }
static void glibc_free(void *p) { libc.free(p); }

static const struct peer peers[] = {
    {"framealloc pool", "framealloc_pool", fa_alloc_fn, fa_free_fn},
    {"mimalloc", "mimalloc", mi_malloc, mi_free},
    {"glibc malloc", "glibc_malloc", glibc_alloc, glibc_free},
};

struct ring {
    void                *slot[RING];
    atomic_ulong         head, tail;
    const struct peer   *peer;
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

static void produce(const struct peer *p) {
    static struct ring r;
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
    for (size_t i = 0; argc > 1 && i < sizeof peers / sizeof *peers; i++) {
        if (strcmp(peers[i].name, argv[1]) != 0)
            continue;
        fa = fa_create_on_libc("prodcons");
        if (fa == NULL)
            return 1;
        produce(&peers[i]);
        long kib = peak_rss_kib();
        printf("%-16s producer/consumer of %d blocks: peak RSS %ld KiB\n", argv[1], BLOCKS, kib);
        bench_figure((double)kib / 1024, "prodcons.%s.peak_mib", peers[i].key);
        fa_destroy(fa);
        return 0;
    }
    fprintf(stderr, "usage: %s \"framealloc pool\" | mimalloc | \"glibc malloc\"\n", argv[0]);
    return 2;
}
