/* SPDX-License-Identifier: MIT */
/* The work-stealing deque against a mutex-protected ring deque with the
 * same interface, in the same run:
 * - "owner + 1 thief": the owner pushes N items, popping one after every
 *   second push, while one thief steals continuously (it takes about half
 *   of them); the owner pops what is left at the end;
 * - "owner alone": N push + pop pairs on one thread.
 * An operation is a push or an item taken (by a pop or a steal): each item
 * is two. The median of R rounds (default 5 of 2M items), the two deques
 * interleaved.
 *   bench_deque [--items N] [--rounds R]
 * Prints Mops/s for each deque and their ratio. A benchmark, not a test:
 * it asserts nothing. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "figures.h"
#include "framealloc.h"

#define MAX_ROUNDS 101

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the mutex deque: a growable ring under one lock --------------------- */

struct mutex_deque {
    pthread_mutex_t lock;
    void          **slots;
    size_t          mask;
    size_t          top, bottom; /* items at [top, bottom), index i in slot i & mask */
};

static void *mutex_create(fa_alloc *a) {
    (void)a;
    struct mutex_deque *d = (struct mutex_deque *)calloc(1, sizeof *d);
    pthread_mutex_init(&d->lock, NULL);
    d->mask = 63;
    d->slots = (void **)malloc((d->mask + 1) * sizeof *d->slots);
    return d;
}

/* Doubles the ring, keeping each index's item; under the lock. */
static void mutex_grow(struct mutex_deque *d) {
    size_t capacity = (d->mask + 1) * 2;
    void **slots = (void **)malloc(capacity * sizeof *slots);
    for (size_t i = d->top; i < d->bottom; i++)
        slots[i & (capacity - 1)] = d->slots[i & d->mask];
    free(d->slots);
    d->slots = slots;
    d->mask = capacity - 1;
}

static void mutex_push(void *deque, void *item) {
    struct mutex_deque *d = (struct mutex_deque *)deque;
    pthread_mutex_lock(&d->lock);
    if (d->bottom - d->top > d->mask)
        mutex_grow(d);
    d->slots[d->bottom++ & d->mask] = item;
    pthread_mutex_unlock(&d->lock);
}

/* The owner's end (bottom) or the thieves' (top); NULL when empty. */
static void *mutex_take(struct mutex_deque *d, int from_bottom) {
    void *item = NULL;
    pthread_mutex_lock(&d->lock);
    if (d->top != d->bottom)
        item = from_bottom ? d->slots[--d->bottom & d->mask] : d->slots[d->top++ & d->mask];
    pthread_mutex_unlock(&d->lock);
    return item;
}

static void *mutex_pop(void *deque) {
    return mutex_take((struct mutex_deque *)deque, 1);
}

static void *mutex_steal(void *deque) {
    return mutex_take((struct mutex_deque *)deque, 0);
}

static void mutex_destroy(void *deque) {
    struct mutex_deque *d = (struct mutex_deque *)deque;
    pthread_mutex_destroy(&d->lock);
    free(d->slots);
    free(d);
}

/* ---- both behind one table -------------------------------------------- */

static void *chase_lev_create(fa_alloc *a) {
    return fa_deque_create(a, 0);
}

static void chase_lev_push(void *d, void *item) {
    fa_deque_push((fa_deque *)d, item);
}

static void *chase_lev_pop(void *d) {
    return fa_deque_pop((fa_deque *)d);
}

static void *chase_lev_steal(void *d) {
    return fa_deque_steal((fa_deque *)d);
}

static void chase_lev_destroy(void *d) {
    fa_deque_destroy((fa_deque *)d);
}

struct deque_ops {
    void *(*create)(fa_alloc *a);
    void (*push)(void *d, void *item);
    void *(*pop)(void *d);
    void *(*steal)(void *d);
    void (*destroy)(void *d);
};

static const struct deque_ops fa_ops = {chase_lev_create, chase_lev_push, chase_lev_pop, chase_lev_steal,
                                        chase_lev_destroy};
static const struct deque_ops mutex_ops = {mutex_create, mutex_push, mutex_pop, mutex_steal, mutex_destroy};

/* ---- the workloads ------------------------------------------------------- */

struct shared {
    const struct deque_ops *ops;
    void                   *d;
    atomic_int              go, done;
};

static void *thief(void *arg) {
    struct shared *s = (struct shared *)arg;
    while (!atomic_load_explicit(&s->go, memory_order_acquire))
        ;
    while (!atomic_load_explicit(&s->done, memory_order_acquire))
        s->ops->steal(s->d);
    return NULL;
}

/* Items are 1, 2, 3, ... as pointers: never dereferenced. */
static void *item_of(size_t n) {
    return (void *)(uintptr_t)n;
}

/* Seconds for the owner's pushes and pops against one thief. */
static double owner_and_thief(fa_alloc *a, const struct deque_ops *ops, size_t items) {
    struct shared s = {ops, ops->create(a), 0, 0};
    pthread_t t;
    pthread_create(&t, NULL, thief, &s);
    double start = now_s();
    atomic_store_explicit(&s.go, 1, memory_order_release);
    for (size_t n = 1; n <= items; n++) {
        ops->push(s.d, item_of(n));
        if (n % 2 == 0)
            ops->pop(s.d);
    }
    while (ops->pop(s.d) != NULL)
        ;
    atomic_store_explicit(&s.done, 1, memory_order_release);
    pthread_join(t, NULL);
    double seconds = now_s() - start;
    ops->destroy(s.d);
    return seconds;
}

/* Seconds for push + pop pairs on one thread. */
static double owner_alone(fa_alloc *a, const struct deque_ops *ops, size_t items) {
    void *d = ops->create(a);
    double start = now_s();
    for (size_t n = 1; n <= items; n++) {
        ops->push(d, item_of(n));
        ops->pop(d);
    }
    double seconds = now_s() - start;
    ops->destroy(d);
    return seconds;
}

static int by_value(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef double (*workload)(fa_alloc *a, const struct deque_ops *ops, size_t items);

/* One table row: both deques, rounds interleaved, median Mops/s. */
static void row(fa_alloc *a, const char *name, const char *key, workload run, size_t items, int rounds) {
    double fa_mops[MAX_ROUNDS], mutex_mops[MAX_ROUNDS];
    double ops = 2.0 * (double)items / 1e6;
    for (int r = 0; r < rounds; r++) {
        fa_mops[r] = ops / run(a, &fa_ops, items);
        mutex_mops[r] = ops / run(a, &mutex_ops, items);
    }
    double fa_median = median(fa_mops, rounds), mutex_median = median(mutex_mops, rounds);
    printf("| %-16s | %16.1f | %11.1f | %5.2fx |\n", name, fa_median, mutex_median, fa_median / mutex_median);
    bench_figure(fa_median / mutex_median, "deque.%s.ratio", key);
}

int main(int argc, char **argv) {
    size_t items = 2000000;
    int rounds = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--items") == 0)
            items = (size_t)strtoull(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0)
            rounds = atoi(argv[i + 1]);
    }
    if (rounds < 1 || rounds > MAX_ROUNDS)
        rounds = 5;
    fa_alloc *a = fa_create(NULL);
    if (a == NULL)
        return 1;
    printf("deque: %zu items per round, median of %d rounds (Mops/s: pushes + items taken)\n\n", items,
           rounds);
    printf("| workload         | framealloc deque | mutex deque | ratio  |\n");
    printf("|------------------|-----------------:|------------:|-------:|\n");
    row(a, "owner + 1 thief", "owner_and_thief", owner_and_thief, items, rounds);
    row(a, "owner alone", "owner_alone", owner_alone, items, rounds);
    fa_destroy(a);
    return 0;
}
