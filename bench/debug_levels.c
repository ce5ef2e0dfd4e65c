/* SPDX-License-Identifier: MIT */
/* What each debug level costs: frame allocations (1000 x 64 B per frame)
 * and pool pairs (1000 x 64 B allocated, then freed), timed at
 * FA_DEBUG_OFF, FA_DEBUG_GUARD, FA_DEBUG_TRACE and FA_DEBUG_MALLOC in one
 * run, best of five interleaved rounds.
 *   bench_debug [--rounds N]
 * Prints ns per operation per level and its ratio to FA_DEBUG_OFF. A
 * benchmark, not a test: it asserts nothing. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "figures.h"
#include "framealloc.h"

#define PER_ROUND 1000

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *ptrs[PER_ROUND];

/* ns per frame allocation, or per pool pair. */
static double run(fa_debug level, int pool, long rounds) {
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.debug = level;
    fa_alloc *a = fa_create(&cfg);
    double start = 0;
    for (long r = -10; r < rounds; r++) { /* ten rounds to warm up */
        if (r == 0)
            start = now_ns();
        if (pool) {
            for (int i = 0; i < PER_ROUND; i++)
                ptrs[i] = fa_pool_alloc(a, 64);
            for (int i = 0; i < PER_ROUND; i++)
                fa_pool_free(a, ptrs[i]);
            continue;
        }
        fa_begin_frame(a);
        for (int i = 0; i < PER_ROUND; i++)
            ((char *)(ptrs[i] = fa_frame_alloc(a, 64)))[0] = 1;
        fa_end_frame(a);
    }
    double ns = (now_ns() - start) / ((double)rounds * PER_ROUND);
    fa_destroy(a);
    return ns;
}

int main(int argc, char **argv) {
    long rounds = 300;
    if (argc == 3 && strcmp(argv[1], "--rounds") == 0)
        rounds = atol(argv[2]);
    static const char *const names[] = {"off", "guard", "trace", "malloc"};
    enum { LEVELS = sizeof names / sizeof *names };
    printf("level\tframe ns/alloc\t× off\tpool ns/pair\t× off\n");
    double best[LEVELS][2] = {{0}};
    for (int rep = 0; rep < 5; rep++)
        for (int level = 0; level < LEVELS; level++)
            for (int pool = 0; pool < 2; pool++) {
                double ns = run((fa_debug)level, pool, rounds);
                if (rep == 0 || ns < best[level][pool])
                    best[level][pool] = ns;
            }
    for (int level = 0; level < LEVELS; level++) {
        printf("%s\t%.2f\t%.1f\t%.2f\t%.1f\n", names[level], best[level][0], best[level][0] / best[0][0],
               best[level][1], best[level][1] / best[0][1]);
        bench_figure(best[level][0], "debug.%s.frame_ns", names[level]);
        bench_figure(best[level][0] / best[0][0], "debug.%s.frame_x_off", names[level]);
        bench_figure(best[level][1], "debug.%s.pool_ns", names[level]);
        bench_figure(best[level][1] / best[0][1], "debug.%s.pool_x_off", names[level]);
    }
    return 0;
}
