/* SPDX-License-Identifier: MIT */
/* Budgets under threads: a game-like frame (1000 frame allocations of 64 B
 * and 100 pool allocate/free pairs, under a pushed tag) on 1 .. N threads,
 * without budgets and with a global and a tag hard budget, in the same run.
 *   bench_budgets [--threads N] [--frames F]
 * Prints, per thread count: ns per operation per thread, plain and
 * budgeted, and their ratio. A benchmark, not a test: it asserts nothing. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "figures.h"
#include "framealloc.h"

#define FRAME_ALLOCS 1000
#define POOL_PAIRS 100
#define OPS_PER_FRAME (FRAME_ALLOCS + 2 * POOL_PAIRS)

struct worker {
    fa_alloc          *a;
    long               frames;
    pthread_barrier_t *start;
    double             began, ended; /* this worker's own clock: the main thread may not run meanwhile */
};

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void game_frame(fa_alloc *a, fa_arena *ar, fa_cache *c, void **kept) {
    fa_begin_frame(a);
    fa_tag_push(a, "game");
    for (int i = 0; i < FRAME_ALLOCS; i++) {
        char *p = (char *)fa_arena_alloc(ar, 64);
        p[0] = (char)i;
    }
    for (int i = 0; i < POOL_PAIRS; i++)
        kept[i] = fa_cache_alloc(c, 64);
    for (int i = 0; i < POOL_PAIRS; i++)
        fa_cache_free(c, kept[i]);
    fa_tag_pop(a);
    fa_end_frame(a);
}

static void *work(void *arg) {
    struct worker *w = (struct worker *)arg;
    fa_arena *ar = fa_arena_get(w->a);
    fa_cache *c = fa_cache_get(w->a);
    void *kept[POOL_PAIRS];
    for (int i = 0; i < 10; i++) /* warm */
        game_frame(w->a, ar, c, kept);
    pthread_barrier_wait(w->start);
    w->began = now_ns();
    for (long f = 0; f < w->frames; f++)
        game_frame(w->a, ar, c, kept);
    w->ended = now_ns();
    return NULL;
}

/* ns per operation per thread. */
static double run(int threads, long frames, int budgeted) {
    fa_alloc *a = fa_create(NULL);
    if (budgeted) {
        fa_budget_set(a, NULL, 0, (size_t)1 << 34);
        fa_budget_set(a, "game", 0, (size_t)1 << 33);
    }
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads);
    struct worker w[256];
    pthread_t tid[256];
    for (int i = 0; i < threads; i++) {
        w[i] = (struct worker){a, frames, &start, 0, 0};
        pthread_create(&tid[i], NULL, work, &w[i]);
    }
    double first = 0, last = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        first = i == 0 || w[i].began < first ? w[i].began : first;
        last = w[i].ended > last ? w[i].ended : last;
    }
    double ns = (last - first) / ((double)frames * OPS_PER_FRAME);
    pthread_barrier_destroy(&start);
    fa_destroy(a);
    return ns;
}

int main(int argc, char **argv) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int max = cpus < 1 ? 1 : cpus > 256 ? 256 : (int)cpus;
    long frames = 2000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0)
            max = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--frames") == 0)
            frames = atol(argv[i + 1]);
    }
    printf("threads\tplain ns/op\tbudgeted ns/op\tbudgeted/plain\n");
    for (int n = 1; n <= max; n++) {
        double plain = 0, budgeted = 0;
        for (int rep = 0; rep < 3; rep++) { /* interleaved, best of three */
            double p = run(n, frames, 0), b = run(n, frames, 1);
            plain = rep == 0 || p < plain ? p : plain;
            budgeted = rep == 0 || b < budgeted ? b : budgeted;
        }
        printf("%d\t%.3f\t%.3f\t%.2f\n", n, plain, budgeted, budgeted / plain);
        bench_figure(budgeted / plain, "budgets.t%d.ratio", n);
        fflush(stdout);
    }
    return 0;
}
