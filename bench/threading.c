/* SPDX-License-Identifier: MIT */
/* Threading: what frames in flight, shared frames and many threads cost.
 *   bench_threading [--quick]
 * Three tables (markdown), each figure the median of 5 runs:
 * (a) frames in flight: one thread, a game-like frame (2000 frame
 *     allocations of mixed sizes 16-512 B, every cache line touched) at
 *     N = 1, 2, 3 frames in flight: ns per frame, and the ratio to N = 1;
 *     and the same for a control frame of 16-128 B, whose N frames all
 *     fit a core's L2 cache (N frames of the game-like one may not: N
 *     frames' memory is live at once, whatever the allocator);
 * (b) a frame's end with a barrier: W workers (1, 2, 4) each making 16
 *     frame allocations a frame, every frame begun, filled and closed by
 *     two barriers (a start and an fa_barrier at the end): per-thread
 *     frames (each worker begins and ends its own) against one shared
 *     frame (worker 0, the creating thread, begins it; the fa_barrier's
 *     last arrival ends it and each worker resets its part as it leaves);
 *     ns per frame, which every worker spends (they run in lockstep);
 * (c) frame allocation throughput: 64 B allocations through the arena
 *     handle, per-thread frames of 4096 allocations, at 1 .. nproc threads
 *     and 2 x nproc (at most 16): allocations per second, all threads
 *     together and per thread.
 * --quick: a tiny run (a smoke test of the program, not figures).
 * A benchmark, not a test: it asserts nothing. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "figures.h"
#include "framealloc.h"

#define RUNS 5
#define MAX_THREADS 64

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int by_value(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, by_value);
    return v[n / 2];
}

static uint64_t hash64(uint64_t x) { /* the splitmix64 finaliser */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9u;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static fa_alloc *create(uint32_t in_flight, fa_frame_mode mode) {
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.frames_in_flight = in_flight;
    cfg.frame_mode = mode;
    fa_alloc *a = fa_create(&cfg);
    if (a == NULL) {
        fprintf(stderr, "bench_threading: fa_create: %s\n", fa_strerror(fa_last_error()));
        exit(1);
    }
    return a;
}

static _Atomic uintptr_t sink; /* keeps the loops' results alive */

static void keep(uintptr_t acc) {
    atomic_store_explicit(&sink, acc, memory_order_relaxed);
}

/* ---- (a) frames in flight ------------------------------------------------ */

#define GAME_ALLOCS 2000
/* The game-like frame's sizes (16-512 B), and a control frame's (16-128 B)
 * small enough that three frames of it fit a core's L2 cache: what N costs
 * beyond the cache footprint of N frames' memory. */
static const size_t size_ranges[2] = {512, 128};
static size_t game_sizes[2][GAME_ALLOCS];

/* One game-like frame; every cache line of every block written. */
static uintptr_t game_frame(fa_alloc *a, const size_t *sizes) {
    uintptr_t acc = 0;
    fa_begin_frame(a);
    for (int i = 0; i < GAME_ALLOCS; i++) {
        size_t size = sizes[i];
        char *p = (char *)fa_frame_alloc(a, size);
        for (size_t at = 0; at < size; at += 64)
            p[at] = (char)i;
        p[size - 1] = (char)i;
        acc += (uintptr_t)p;
    }
    fa_end_frame(a);
    return acc;
}

/* ns per frame at N frames in flight. */
static double in_flight_run(uint32_t n, const size_t *sizes, long frames) {
    fa_alloc *a = create(n, FA_FRAMES_PER_THREAD);
    uintptr_t acc = 0;
    for (int i = 0; i < 20; i++) /* warm: chunks in the cache, pages touched */
        acc += game_frame(a, sizes);
    double t0 = now_ns();
    for (long f = 0; f < frames; f++)
        acc += game_frame(a, sizes);
    double ns = (now_ns() - t0) / (double)frames;
    keep(acc);
    fa_destroy(a);
    return ns;
}

static void table_in_flight(long frames) {
    double kib[2] = {0, 0};
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < GAME_ALLOCS; i++) {
            game_sizes[k][i] = 16 + (size_t)(hash64((uint64_t)i + 1) % (size_ranges[k] - 15));
            kib[k] += (double)game_sizes[k][i] / 1024.0;
        }
    double runs[2][3][RUNS];
    for (int r = 0; r < RUNS; r++) /* interleaved: drift hits every N alike */
        for (int k = 0; k < 2; k++)
            for (uint32_t n = 1; n <= 3; n++)
                runs[k][n - 1][r] = in_flight_run(n, game_sizes[k], frames);
    printf("### (a) Frames in flight: one thread, %d frame allocations a frame, every cache line touched\n\n",
           GAME_ALLOCS);
    printf("| frames in flight | 16-512 B (%.0f KiB a frame): ns per frame | vs N = 1 | control, 16-128 B (%.0f KiB): "
           "ns per frame | vs N = 1 |\n|---:|---:|---:|---:|---:|\n", kib[0], kib[1]);
    double base[2] = {median(runs[0][0], RUNS), median(runs[1][0], RUNS)};
    for (uint32_t n = 1; n <= 3; n++) {
        double game = n == 1 ? base[0] : median(runs[0][n - 1], RUNS);
        double control = n == 1 ? base[1] : median(runs[1][n - 1], RUNS);
        printf("| %u | %.0f | %.3f | %.0f | %.3f |\n", n, game, game / base[0], control, control / base[1]);
        if (n > 1) { /* N = 1 is the base, 1 by definition */
            bench_figure(game / base[0], "threading.in_flight.n%u.ratio", n);
            bench_figure(control / base[1], "threading.in_flight.n%u.control_ratio", n);
        }
    }
    printf("\n");
}

/* ---- (b) a frame's end with a barrier ------------------------------------ */

#define BARRIER_ALLOCS 16

struct lockstep {
    fa_alloc         *a;
    int               shared;
    long              frames, warm;
    pthread_barrier_t start;
    fa_barrier       *end;
    double            began, ended; /* worker 0's clock */
};

struct lockstep_worker {
    struct lockstep *ls;
    int              index;
};

static void lockstep_frame(struct lockstep *ls, fa_arena *ar, int index, uintptr_t *acc) {
    if (!ls->shared || index == 0)
        fa_begin_frame(ls->a); /* shared: worker 0, the creating thread, opens the frame for all */
    pthread_barrier_wait(&ls->start);
    for (int i = 0; i < BARRIER_ALLOCS; i++) {
        char *p = (char *)fa_arena_alloc(ar, 64);
        p[0] = (char)i;
        *acc += (uintptr_t)p;
    }
    if (!ls->shared)
        fa_end_frame(ls->a);
    fa_barrier_wait(ls->end); /* shared: the last one in ends the frame; each resets its part */
}

static void *lockstep_main(void *arg) {
    struct lockstep_worker *w = (struct lockstep_worker *)arg;
    struct lockstep *ls = w->ls;
    fa_arena *ar = fa_arena_get(ls->a);
    uintptr_t acc = 0;
    for (long f = 0; f < ls->warm; f++)
        lockstep_frame(ls, ar, w->index, &acc);
    if (w->index == 0)
        ls->began = now_ns();
    for (long f = 0; f < ls->frames; f++)
        lockstep_frame(ls, ar, w->index, &acc);
    if (w->index == 0)
        ls->ended = now_ns(); /* after the last barrier: every worker is done */
    keep(acc);
    return NULL;
}

/* ns per frame with `workers` threads; the calling thread is worker 0 (it
 * created the allocator: under shared frames, the one that begins them). */
static double lockstep_run(int workers, int shared, long frames) {
    struct lockstep ls = {.a = create(1, shared ? FA_FRAMES_SHARED : FA_FRAMES_PER_THREAD), .shared = shared,
                          .frames = frames, .warm = frames / 10 + 10};
    pthread_barrier_init(&ls.start, NULL, (unsigned)workers);
    ls.end = fa_barrier_create(ls.a, (unsigned)workers);
    struct lockstep_worker w[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    for (int i = 0; i < workers; i++) {
        w[i] = (struct lockstep_worker){&ls, i};
        if (i > 0)
            pthread_create(&tid[i], NULL, lockstep_main, &w[i]);
    }
    lockstep_main(&w[0]);
    for (int i = 1; i < workers; i++)
        pthread_join(tid[i], NULL);
    fa_barrier_destroy(ls.end);
    pthread_barrier_destroy(&ls.start);
    fa_destroy(ls.a);
    return (ls.ended - ls.began) / (double)frames;
}

static void table_barrier(long frames) {
    static const int workers[] = {1, 2, 4};
    printf("### (b) A frame's end with a barrier: W workers, %d frame allocations of 64 B each a frame, "
           "a start barrier and an fa_barrier a frame\n\n", BARRIER_ALLOCS);
    printf("| workers | per-thread frames, ns per frame | shared frame, ns per frame | shared - per-thread, ns "
           "| shared / per-thread |\n|---:|---:|---:|---:|---:|\n");
    for (size_t k = 0; k < sizeof workers / sizeof *workers; k++) {
        double own[RUNS], shared[RUNS];
        for (int r = 0; r < RUNS; r++) {
            own[r] = lockstep_run(workers[k], 0, frames);
            shared[r] = lockstep_run(workers[k], 1, frames);
        }
        double o = median(own, RUNS), s = median(shared, RUNS);
        printf("| %d | %.0f | %.0f | %+.0f | %.2f |\n", workers[k], o, s, s - o, s / o);
        if (workers[k] == 1) /* the docs' figure: more workers than cores measure the scheduler */
            bench_figure(s - o, "threading.shared_frame.extra_ns");
    }
    printf("\n");
}

/* ---- (c) frame allocation throughput ------------------------------------- */

#define THROUGHPUT_FRAME 4096 /* allocations a frame: 256 KiB */

struct throughput {
    fa_alloc         *a;
    long              frames;
    pthread_barrier_t start;
};

struct throughput_worker {
    struct throughput *t;
    double             began, ended; /* its own clock */
};

static void *throughput_main(void *arg) {
    struct throughput_worker *w = (struct throughput_worker *)arg;
    struct throughput *t = w->t;
    fa_arena *ar = fa_arena_get(t->a);
    uintptr_t acc = 0;
    for (int f = 0; f < 5; f++) { /* warm */
        fa_begin_frame(t->a);
        for (int i = 0; i < THROUGHPUT_FRAME; i++)
            acc += (uintptr_t)fa_arena_alloc(ar, 64);
        fa_end_frame(t->a);
    }
    pthread_barrier_wait(&t->start);
    w->began = now_ns();
    for (long f = 0; f < t->frames; f++) {
        fa_begin_frame(t->a);
        for (int i = 0; i < THROUGHPUT_FRAME; i++) {
            char *p = (char *)fa_arena_alloc(ar, 64);
            p[0] = (char)i;
            acc += (uintptr_t)p;
        }
        fa_end_frame(t->a);
    }
    w->ended = now_ns();
    keep(acc);
    return NULL;
}

/* Allocations per second, all threads together. */
static double throughput_run(int threads, long frames) {
    struct throughput t = {.a = create(1, FA_FRAMES_PER_THREAD), .frames = frames};
    pthread_barrier_init(&t.start, NULL, (unsigned)threads);
    struct throughput_worker w[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    for (int i = 0; i < threads; i++) {
        w[i] = (struct throughput_worker){&t, 0, 0};
        pthread_create(&tid[i], NULL, throughput_main, &w[i]);
    }
    double first = 0, last = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        first = i == 0 || w[i].began < first ? w[i].began : first;
        last = w[i].ended > last ? w[i].ended : last;
    }
    pthread_barrier_destroy(&t.start);
    fa_destroy(t.a);
    return (double)threads * (double)frames * THROUGHPUT_FRAME / ((last - first) * 1e-9);
}

static void table_throughput(long frames) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int nproc = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
    int counts[MAX_THREADS + 1], n = 0;
    for (int i = 1; i <= nproc; i++)
        counts[n++] = i;
    int over = 2 * nproc > 16 ? 16 : 2 * nproc;
    if (over > nproc)
        counts[n++] = over;
    printf("### (c) Frame allocation throughput: 64 B through the arena handle, per-thread frames of %d "
           "allocations (nproc = %d)\n\n", THROUGHPUT_FRAME, nproc);
    printf("| threads | M allocations/s, all threads | M allocations/s per thread | ns per allocation, "
           "per thread |\n|---:|---:|---:|---:|\n");
    for (int k = 0; k < n; k++) {
        double runs[RUNS];
        for (int r = 0; r < RUNS; r++)
            runs[r] = throughput_run(counts[k], frames);
        double all = median(runs, RUNS), each = all / counts[k];
        printf("| %d | %.0f | %.0f | %.2f |\n", counts[k], all / 1e6, each / 1e6, 1e9 / each);
        bench_figure(each / 1e6, "threading.throughput.t%d.mallocs_per_thread", counts[k]);
        fflush(stdout);
    }
    printf("\n");
}

int main(int argc, char **argv) {
    int quick = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else {
            fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
            return 2;
        }
    }
    printf("## bench_threading%s: medians of %d runs\n\n", quick ? " --quick (a smoke run, not figures)" : "",
           RUNS);
    table_in_flight(quick ? 5 : 2000);
    fflush(stdout);
    table_barrier(quick ? 20 : 20000);
    fflush(stdout);
    table_throughput(quick ? 5 : 2000);
    return 0;
}
