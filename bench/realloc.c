/* SPDX-License-Identifier: MIT */
/* Realloc and usable size against mimalloc and glibc, in the same run:
 *   bench_realloc [--quick]
 * Four tables (markdown), each figure ns per operation, the median of 5
 * rounds, the peers interleaved within each round (every peer, then every
 * peer again); the ratios divide the medians by mimalloc's (below 1:
 * faster than mimalloc):
 * (1) in place within a class: 1024 live blocks, each grown one byte at a
 *     time from 33 to 64 B and shrunk back to 33 B (62 reallocs, the byte
 *     at the new end written on the way up): fa_pool_realloc against
 *     mi_realloc and realloc;
 * (2) a growing buffer (a string builder, a JSON printer): 16 B doubled
 *     by realloc to 4 KiB and to 1 MiB, every new byte written, then
 *     freed; framealloc as fa_frame_realloc in a frame of its own (the
 *     buffer is the last allocation: in place while its chunk has room;
 *     the begin and end of the frame are in the time) and as
 *     fa_pool_realloc, against mi_realloc and realloc; an operation is
 *     one realloc (its share of the writing included);
 * (3) usable size: fa_usable_size, mi_usable_size and malloc_usable_size
 *     over 4096 live blocks of 8 B .. 16 KiB (log-uniform), in order;
 * (4) Vulkan-shaped aligned realloc (pfnReallocation): 1024 live blocks
 *     aligned to 64 or 256; each operation reallocs one at random to a
 *     random size of 16 B .. 16 KiB (log-uniform), or drifts it, times
 *     or divided by 1 .. 1.5 (within 16 B .. 16 KiB), first and last bytes
 *     written: fa_realloc_aligned against mi_realloc_aligned, and glibc
 *     as a program has to do it (in place while the new size fits the
 *     malloc_usable_size and is over half of it, else posix_memalign, copy
 *     and free).
 * glibc is called through dlsym on libc.so.6: Debian's libmimalloc.so
 * exports malloc, realloc, free, posix_memalign and malloc_usable_size and
 * so replaces them process-wide in any program linked to it, this one
 * included. framealloc gets the same real glibc as its memory source (its
 * system source, posix_memalign and free, as in a program that does not
 * link mimalloc).
 * Every table also says how often each peer moved the block. Moved blocks
 * are checked to keep their first byte, results their alignment and usable
 * sizes to cover the request: a failure is printed to stderr (and the exit
 * status is 1), never a time.
 * --quick: a tiny run (a smoke test of the program, not figures).
 * A benchmark, not a test: it asserts nothing about time. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <malloc.h>
#include <mimalloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "figures.h"
#include "framealloc.h"
#include "libc.h"

#define RUNS 5

#if defined(__GNUC__) || defined(__clang__)
#define INLINE static inline __attribute__((always_inline))
#define NOINLINE static __attribute__((noinline))
#else
#define INLINE static inline
#define NOINLINE static
#endif

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int by_value(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(const double *v, int n) {
    double s[RUNS];
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, by_value);
    return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static uint64_t rng_next(uint64_t *state) { /* splitmix64 */
    uint64_t x = (*state += 0x9e3779b97f4a7c15u);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* 8 B .. 16 KiB, log-uniform (a power of two 8 .. 8192, then up to twice it). */
static size_t mixed_size(uint64_t *state) {
    uint64_t r = rng_next(state);
    size_t base = (size_t)8 << (r % 11);
    return base + (size_t)((r >> 8) % (base + 1));
}

static unsigned long failures; /* library misbehaviour seen (never a time) */

static void failed(const char *what, const char *peer, size_t size) {
    if (failures++ < 10)
        fprintf(stderr, "bench_realloc: %s: %s (size %zu)\n", peer, what, size);
}

/* ---- the peers: constant-folded into each workload's copy --------------- */

enum peer { FA, MI, LIBC, PEERS };
static const char *const peer_name[PEERS] = {"framealloc", "mimalloc", "glibc"};

static fa_alloc *fa; /* the framealloc peer's allocator, default configuration but its source */


INLINE void *p_alloc(enum peer w, size_t size) {
    return w == FA ? fa_pool_alloc(fa, size) : w == MI ? mi_malloc(size) : libc.malloc(size);
}

INLINE void p_free(enum peer w, void *p) {
    if (w == FA) {
        if (fa_pool_free(fa, p) != FA_OK)
            failed("fa_pool_free refused a live block", peer_name[w], 0);
    } else if (w == MI) {
        mi_free(p);
    } else {
        libc.free(p);
    }
}

INLINE void *p_realloc(enum peer w, void *p, size_t size) {
    return w == FA ? fa_pool_realloc(fa, p, size) : w == MI ? mi_realloc(p, size) : libc.realloc(p, size);
}

INLINE size_t p_usable(enum peer w, const void *p) {
    return w == FA ? fa_usable_size(fa, p) : w == MI ? mi_usable_size(p) : libc.usable((void *)(uintptr_t)p);
}

/* glibc has no aligned realloc: what a Vulkan callback table over it does. */
static void *libc_realloc_aligned(void *p, size_t size, size_t align) {
    size_t usable = p != NULL ? libc.usable(p) : 0;
    if (p != NULL && size <= usable && size > usable / 2 && ((uintptr_t)p & (align - 1)) == 0)
        return p;
    void *q;
    if (libc.memalign(&q, align, size) != 0)
        return NULL;
    if (p != NULL) {
        memcpy(q, p, usable < size ? usable : size);
        libc.free(p);
    }
    return q;
}

INLINE void *p_realloc_aligned(enum peer w, void *p, size_t size, size_t align) {
    return w == FA   ? fa_realloc_aligned(fa, p, size, align)
           : w == MI ? mi_realloc_aligned(p, size, align)
                     : libc_realloc_aligned(p, size, align);
}

/* ---- (1) in place within a class ---------------------------------------- */

#define SMALL_BLOCKS 1024
#define GROW_FROM 33
#define GROW_TO 64
#define SMALL_OPS (2 * (GROW_TO - GROW_FROM)) /* reallocs per block and cycle */

struct result {
    double ns;    /* per operation */
    double moves; /* per unit the table names */
};

INLINE struct result in_place(enum peer w, long cycles) {
    static char *blocks[SMALL_BLOCKS];
    for (int i = 0; i < SMALL_BLOCKS; i++) {
        blocks[i] = (char *)p_alloc(w, GROW_FROM);
        memset(blocks[i], (char)i, GROW_FROM);
    }
    unsigned long moves = 0;
    double t0 = now_ns();
    for (long c = 0; c < cycles; c++) {
        for (int i = 0; i < SMALL_BLOCKS; i++) {
            char *p = blocks[i];
            for (size_t s = GROW_FROM + 1; s <= GROW_TO; s++) {
                uintptr_t old = (uintptr_t)p;
                p = (char *)p_realloc(w, p, s);
                moves += (uintptr_t)p != old;
                p[s - 1] = (char)s;
            }
            for (size_t s = GROW_TO - 1; s >= GROW_FROM; s--) {
                uintptr_t old = (uintptr_t)p;
                p = (char *)p_realloc(w, p, s);
                moves += (uintptr_t)p != old;
            }
            blocks[i] = p;
        }
    }
    double t1 = now_ns();
    for (int i = 0; i < SMALL_BLOCKS; i++) {
        if (blocks[i][0] != (char)i || blocks[i][GROW_FROM - 1] != (char)i)
            failed("a block lost its bytes in realloc", peer_name[w], GROW_FROM);
        p_free(w, blocks[i]);
    }
    double ops = (double)cycles * SMALL_BLOCKS * SMALL_OPS;
    return (struct result){(t1 - t0) / ops, (double)moves / ((double)cycles * SMALL_BLOCKS)};
}

NOINLINE struct result in_place_fa(long n) { return in_place(FA, n); }
NOINLINE struct result in_place_mi(long n) { return in_place(MI, n); }
NOINLINE struct result in_place_libc(long n) { return in_place(LIBC, n); }

/* ---- (2) a growing buffer ----------------------------------------------- */

#define GROW_START 16

static unsigned reallocs_to(size_t top) {
    unsigned n = 0;
    for (size_t s = GROW_START; s < top; s *= 2)
        n++;
    return n;
}

INLINE struct result growing(enum peer w, long buffers, size_t top) {
    unsigned long moves = 0;
    unsigned sink = 0;
    double t0 = now_ns();
    for (long b = 0; b < buffers; b++) {
        char *p = (char *)p_alloc(w, GROW_START);
        memset(p, 'a', GROW_START);
        for (size_t size = GROW_START; size < top; size *= 2) {
            uintptr_t old = (uintptr_t)p;
            p = (char *)p_realloc(w, p, 2 * size);
            moves += (uintptr_t)p != old;
            memset(p + size, 'a' + (int)(size & 7), size);
        }
        sink += (unsigned char)p[0] + (unsigned char)p[top - 1];
        p_free(w, p);
    }
    double t1 = now_ns();
    if (sink != (unsigned)buffers * ('a' + 'a' + (unsigned)((top / 2) & 7)))
        failed("a growing buffer lost its bytes", peer_name[w], top);
    return (struct result){(t1 - t0) / ((double)buffers * reallocs_to(top)), (double)moves / (double)buffers};
}

NOINLINE struct result growing_fa(long n, size_t top) { return growing(FA, n, top); }
NOINLINE struct result growing_mi(long n, size_t top) { return growing(MI, n, top); }
NOINLINE struct result growing_libc(long n, size_t top) { return growing(LIBC, n, top); }

/* The same in frame memory: one frame per buffer. */
NOINLINE struct result growing_frame(long buffers, size_t top) {
    unsigned long moves = 0;
    unsigned sink = 0;
    double t0 = now_ns();
    for (long b = 0; b < buffers; b++) {
        fa_begin_frame(fa);
        char *p = (char *)fa_frame_alloc(fa, GROW_START);
        memset(p, 'a', GROW_START);
        for (size_t size = GROW_START; size < top; size *= 2) {
            uintptr_t old = (uintptr_t)p;
            p = (char *)fa_frame_realloc(fa, p, size, 2 * size);
            moves += (uintptr_t)p != old;
            memset(p + size, 'a' + (int)(size & 7), size);
        }
        sink += (unsigned char)p[0] + (unsigned char)p[top - 1];
        fa_end_frame(fa);
    }
    double t1 = now_ns();
    if (sink != (unsigned)buffers * ('a' + 'a' + (unsigned)((top / 2) & 7)))
        failed("a growing frame buffer lost its bytes", "framealloc frame", top);
    return (struct result){(t1 - t0) / ((double)buffers * reallocs_to(top)), (double)moves / (double)buffers};
}

/* ---- (3) usable size ---------------------------------------------------- */

#define SIZED_BLOCKS 4096

INLINE struct result usable(enum peer w, long passes) {
    static void *blocks[SIZED_BLOCKS];
    static size_t asked[SIZED_BLOCKS];
    uint64_t rng = 16;
    for (int i = 0; i < SIZED_BLOCKS; i++) {
        asked[i] = mixed_size(&rng);
        blocks[i] = p_alloc(w, asked[i]);
        memset(blocks[i], 1, asked[i]);
    }
    size_t sum = 0;
    double t0 = now_ns();
    for (long k = 0; k < passes; k++)
        for (int i = 0; i < SIZED_BLOCKS; i++)
            sum += p_usable(w, blocks[i]);
    double t1 = now_ns();
    size_t want = 0, each = 0;
    for (int i = 0; i < SIZED_BLOCKS; i++) {
        size_t u = p_usable(w, blocks[i]);
        if (u < asked[i])
            failed("usable size below the size asked for", peer_name[w], asked[i]);
        want += asked[i];
        each += u;
        p_free(w, blocks[i]);
    }
    if (sum != each * (size_t)passes)
        failed("usable sizes changed between passes", peer_name[w], 0);
    /* moves: here the usable bytes over the bytes asked for */
    return (struct result){(t1 - t0) / ((double)passes * SIZED_BLOCKS), (double)each / (double)want};
}

NOINLINE struct result usable_fa(long n) { return usable(FA, n); }
NOINLINE struct result usable_mi(long n) { return usable(MI, n); }
NOINLINE struct result usable_libc(long n) { return usable(LIBC, n); }

/* ---- (4) Vulkan-shaped aligned realloc ---------------------------------- */

#define VK_BLOCKS 1024
#define VK_MIN 16
#define VK_MAX 16384

INLINE size_t vk_size(uint64_t *rng, size_t old, int drift) {
    if (!drift) {
        size_t s = mixed_size(rng);
        return s < VK_MIN ? VK_MIN : s > VK_MAX ? VK_MAX : s;
    }
    uint64_t r = rng_next(rng); /* x or / 1 .. 1.5: a random walk, even in log space */
    size_t f = 64 + (size_t)(r % 33);
    size_t s = (r >> 32) & 1 ? old * f / 64 : old * 64 / f;
    return s < VK_MIN ? VK_MIN : s > VK_MAX ? VK_MAX : s;
}

INLINE struct result vulkan(enum peer w, long ops, size_t align, int drift) {
    static char *blocks[VK_BLOCKS];
    static size_t sizes[VK_BLOCKS];
    uint64_t rng = 64 + align + (size_t)drift;
    for (int i = 0; i < VK_BLOCKS; i++) {
        sizes[i] = vk_size(&rng, 1024, drift);
        blocks[i] = (char *)p_realloc_aligned(w, NULL, sizes[i], align);
        blocks[i][0] = (char)i;
    }
    unsigned long moves = 0, misaligned = 0, lost = 0;
    for (int i = 0; i < VK_BLOCKS; i++)
        misaligned += ((uintptr_t)blocks[i] & (align - 1)) != 0;
    double t0 = now_ns();
    for (long k = 0; k < ops; k++) {
        uint64_t r = rng_next(&rng);
        int i = (int)(r % VK_BLOCKS);
        size_t size = vk_size(&rng, sizes[i], drift);
        uintptr_t old = (uintptr_t)blocks[i];
        char *q = (char *)p_realloc_aligned(w, blocks[i], size, align);
        moves += (uintptr_t)q != old;
        misaligned += ((uintptr_t)q & (align - 1)) != 0;
        lost += q[0] != (char)i;
        q[size - 1] = (char)size;
        blocks[i] = q;
        sizes[i] = size;
    }
    double t1 = now_ns();
    if (misaligned)
        failed("an aligned realloc returned a misaligned block", peer_name[w], align);
    if (lost)
        failed("an aligned realloc lost the block's first byte", peer_name[w], align);
    for (int i = 0; i < VK_BLOCKS; i++)
        p_free(w, blocks[i]);
    return (struct result){(t1 - t0) / (double)ops, (double)moves / (double)ops};
}

NOINLINE struct result vulkan_fa(long n, size_t align, int drift) { return vulkan(FA, n, align, drift); }
NOINLINE struct result vulkan_mi(long n, size_t align, int drift) { return vulkan(MI, n, align, drift); }
NOINLINE struct result vulkan_libc(long n, size_t align, int drift) { return vulkan(LIBC, n, align, drift); }

/* ---- the tables ---------------------------------------------------------- */

/* The medians of RUNS rounds of a row, per column. */
struct row {
    double ns[RUNS], moves[RUNS];
};

static double med_ns(const struct row *r) { return median(r->ns, RUNS); }
static double med_moves(const struct row *r) { return median(r->moves, RUNS); }

static void put(struct row *r, int round, struct result x) {
    r->ns[round] = x.ns;
    r->moves[round] = x.moves;
}

/* The FIGURE lines of a row: each peer's ns, and framealloc's (FA: which
 * of its calls) and glibc's over mimalloc's. */
static void figures_against_mi(const char *row, const char *fa_call, double fa_ns, double mi_ns, double glibc_ns) {
    bench_figure(fa_ns, "realloc.%s.%s.ns", row, fa_call);
    bench_figure(mi_ns, "realloc.%s.mi.ns", row);
    bench_figure(glibc_ns, "realloc.%s.glibc.ns", row);
    bench_figure(fa_ns / mi_ns, "realloc.%s.%s.x_mi", row, fa_call);
    bench_figure(glibc_ns / mi_ns, "realloc.%s.glibc.x_mi", row);
}

static void table_in_place(long cycles) {
    struct row fa_r, mi_r, libc_r;
    for (int k = 0; k < RUNS; k++) {
        put(&fa_r, k, in_place_fa(cycles));
        put(&mi_r, k, in_place_mi(cycles));
        put(&libc_r, k, in_place_libc(cycles));
    }
    double f = med_ns(&fa_r), m = med_ns(&mi_r), g = med_ns(&libc_r);
    printf("### (1) In place within a class: %d blocks grown 1 B at a time 33 -> 64 B and back (ns per realloc)\n\n",
           SMALL_BLOCKS);
    printf("| peer | ns per realloc | x mimalloc | moves per 62 reallocs |\n");
    printf("|---|---:|---:|---:|\n");
    printf("| framealloc `fa_pool_realloc` | %.2f | %.2f | %.1f |\n", f, f / m, med_moves(&fa_r));
    printf("| mimalloc `mi_realloc` | %.2f | 1.00 | %.1f |\n", m, med_moves(&mi_r));
    printf("| glibc `realloc` | %.2f | %.2f | %.1f |\n\n", g, g / m, med_moves(&libc_r));
    figures_against_mi("in_place", "fa", f, m, g);
    bench_figure(med_moves(&libc_r), "realloc.in_place.glibc.moves");
}

static void table_growing(long small_buffers, long big_buffers) {
    static const size_t tops[2] = {4096, (size_t)1 << 20};
    printf("### (2) Growing buffer: 16 B doubled by realloc, every new byte written (ns per realloc)\n\n");
    printf("| to | frame `fa_frame_realloc` | pool `fa_pool_realloc` | mimalloc | glibc | frame x mi | pool x mi "
           "| glibc x mi | moves: frame / pool / mi / glibc |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (int t = 0; t < 2; t++) {
        long n = t == 0 ? small_buffers : big_buffers;
        struct row fr, fa_r, mi_r, libc_r;
        for (int k = 0; k < RUNS; k++) {
            put(&fr, k, growing_frame(n, tops[t]));
            put(&fa_r, k, growing_fa(n, tops[t]));
            put(&mi_r, k, growing_mi(n, tops[t]));
            put(&libc_r, k, growing_libc(n, tops[t]));
        }
        double e = med_ns(&fr), f = med_ns(&fa_r), m = med_ns(&mi_r), g = med_ns(&libc_r);
        printf("| %s (%u reallocs) | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %.1f / %.1f / %.1f / %.1f |\n",
               t == 0 ? "4 KiB" : "1 MiB", reallocs_to(tops[t]), e, f, m, g, e / m, f / m, g / m, med_moves(&fr),
               med_moves(&fa_r), med_moves(&mi_r), med_moves(&libc_r));
        const char *row = t == 0 ? "growing_4kib" : "growing_1mib";
        figures_against_mi(row, "frame", e, m, g);
        bench_figure(f, "realloc.%s.pool.ns", row);
        bench_figure(f / m, "realloc.%s.pool.x_mi", row);
    }
    printf("\n");
}

static void table_usable(long passes) {
    struct row fa_r, mi_r, libc_r;
    for (int k = 0; k < RUNS; k++) {
        put(&fa_r, k, usable_fa(passes));
        put(&mi_r, k, usable_mi(passes));
        put(&libc_r, k, usable_libc(passes));
    }
    double f = med_ns(&fa_r), m = med_ns(&mi_r), g = med_ns(&libc_r);
    printf("### (3) Usable size: %d live blocks of 8 B .. 16 KiB (ns per call)\n\n", SIZED_BLOCKS);
    printf("| peer | ns per call | x mimalloc | usable / asked bytes |\n");
    printf("|---|---:|---:|---:|\n");
    printf("| framealloc `fa_usable_size` | %.2f | %.2f | %.2f |\n", f, f / m, med_moves(&fa_r));
    printf("| mimalloc `mi_usable_size` | %.2f | 1.00 | %.2f |\n", m, med_moves(&mi_r));
    printf("| glibc `malloc_usable_size` | %.2f | %.2f | %.2f |\n\n", g, g / m, med_moves(&libc_r));
    figures_against_mi("usable", "fa", f, m, g);
}

static void table_vulkan(long ops) {
    printf("### (4) Vulkan-shaped aligned realloc: %d live blocks, one at random resized (ns per realloc)\n\n",
           VK_BLOCKS);
    printf("| align, sizes | `fa_realloc_aligned` | `mi_realloc_aligned` | glibc (memalign, copy) | fa x mi | glibc x mi "
           "| share moved: fa / mi / glibc |\n");
    printf("|---|---:|---:|---:|---:|---:|---|\n");
    for (int drift = 0; drift < 2; drift++) {
        for (size_t align = 64; align <= 256; align *= 4) {
            struct row fa_r, mi_r, libc_r;
            for (int k = 0; k < RUNS; k++) {
                put(&fa_r, k, vulkan_fa(ops, align, drift));
                put(&mi_r, k, vulkan_mi(ops, align, drift));
                put(&libc_r, k, vulkan_libc(ops, align, drift));
            }
            double f = med_ns(&fa_r), m = med_ns(&mi_r), g = med_ns(&libc_r);
            printf("| %zu, %s | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f / %.2f / %.2f |\n", align,
                   drift ? "x or / 1 .. 1.5" : "random 16 B .. 16 KiB", f, m, g, f / m, g / m, med_moves(&fa_r),
                   med_moves(&mi_r), med_moves(&libc_r));
            char row[32];
            snprintf(row, sizeof row, "aligned_%s_a%zu", drift ? "drift" : "random", align);
            figures_against_mi(row, "fa", f, m, g);
        }
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
    fa = fa_create_on_libc("bench_realloc");
    if (fa == NULL)
        return 1;
    printf("## bench_realloc%s: medians of %d rounds, peers interleaved; x mimalloc = ns / mimalloc's ns\n\n",
           quick ? " --quick (a smoke run, not figures)" : "", RUNS);
    table_in_place(quick ? 2 : 100);
    fflush(stdout);
    table_growing(quick ? 20 : 100000, quick ? 2 : 200);
    fflush(stdout);
    table_usable(quick ? 2 : 1000);
    fflush(stdout);
    table_vulkan(quick ? 2000 : 400000);
    fa_destroy(fa);
    if (failures != 0)
        fprintf(stderr, "bench_realloc: %lu failures of the allocators (see above)\n", failures);
    return failures != 0;
}
