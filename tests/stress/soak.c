/* SPDX-License-Identifier: MIT */
/* Soak: many frames on three threads, each under its own tag, with a global
 * and a tag budget set (soft and hard, above what the workload can hold),
 * mixing frame, pool and heap memory. Pool blocks live a few frames and
 * some are freed by another thread; heap blocks live a few frames. After a
 * warm-up the backend's bytes out stay flat, and fa_destroy gets every
 * byte back. Sized by FA_SOAK_FRAMES (frames each thread runs).
 *
 * Resident memory is sampled too in a plain build (FA_SOAK_RSS: it means
 * nothing under a sanitizer or valgrind); FA_SOAK_RSS_PERCENT=p asserts
 * that it stays within p % of its value at the end of the warm-up. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "workload.h"

#define THREADS 3
#define POOL_MAX 4096
#define KEEP 8            /* frames a pool block lives */
#define PER_FRAME 4       /* pool blocks a frame allocates; the first is exchanged */
#define POOL_BIG (12 << 10) /* pool sizes above 4096 take the heap path: up to this more */
#define HEAP_KEEP 6       /* frames a heap block lives */
#define HEAP_MAX (64 << 10)
#define PAGE 4096
/* A frame: up to FRAME_ALLOCS blocks of up to FRAME_SMALL bytes, which fit
 * the thread's first chunk, and one of FRAME_BIG, which takes a chunk of
 * its own. So every frame asks the same of the chunk cache. */
#define FRAME_ALLOCS 24
#define FRAME_SMALL 1024
#define FRAME_BIG (96 << 10)
#define SAMPLES 100       /* after the warm-up */

static const char *const thread_tag[THREADS] = {"physics", "render", "audio"};

struct figures {
    long bytes; /* the backend's bytes out */
    long rss;   /* KiB resident, or 0 where not measured */
};

struct soak {
    struct counting c;
    struct events   ev;
    fa_alloc       *a;
    size_t          frames, warmup, every;
    /* Slot k of the exchange holds a block of shared_size[k] bytes left by
     * one thread for another to free. */
    size_t          shared_size[KEEP];
    _Atomic(void *) exchange[KEEP];
    pthread_barrier_t barrier;
    struct figures  warm, low, high, end;
    long            errors;
};

/* One thread's blocks. Each ring slot always gets the same size, so that
 * at every sample (all threads between the same two frames) the live
 * blocks are the same: the backend's bytes can only vary by what the
 * allocator keeps for reuse. */
struct soaker {
    struct soak *s;
    int          id;
    struct rng   rng;
    void        *pool[KEEP][PER_FRAME];
    size_t       pool_size[KEEP][PER_FRAME];
    void        *heap[HEAP_KEEP];
    size_t       heap_size[HEAP_KEEP], heap_align[HEAP_KEEP];
    long         errors;
};

static long rss_kib(void) {
#ifdef FA_SOAK_RSS
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = 0;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kib;
#else
    return 0;
#endif
}

static void sample(struct soak *s, size_t done) {
    struct figures now = {atomic_load(&s->c.bytes_out), rss_kib()};
    if (done == s->warmup)
        s->warm = s->low = s->high = now;
    if (now.bytes > s->high.bytes)
        s->high.bytes = now.bytes;
    if (now.rss > s->high.rss)
        s->high.rss = now.rss;
    if (now.rss < s->low.rss)
        s->low.rss = now.rss;
    if (done == s->frames)
        s->end = now;
}

/* At the end of the warm-up, every `every` frames after it and at the end,
 * the threads meet between frames and the first one samples. */
static void meet(struct soaker *w, size_t done) {
    struct soak *s = w->s;
    if (done < s->warmup || ((done - s->warmup) % s->every != 0 && done != s->frames))
        return;
    pthread_barrier_wait(&s->barrier);
    if (w->id == 0)
        sample(s, done);
    pthread_barrier_wait(&s->barrier);
}

/* Every page of the block written, so that it is resident. */
static void *touched(struct soaker *w, void *p, size_t size) {
    if (p == NULL) {
        w->errors++;
        return NULL;
    }
    for (size_t i = 0; i < size; i += PAGE)
        ((unsigned char *)p)[i] = (unsigned char)w->id;
    if (size != 0)
        ((unsigned char *)p)[size - 1] = (unsigned char)w->id;
    return p;
}

/* n frame blocks of mixed sizes. */
static void frame_blocks(struct soaker *w, size_t n) {
    for (size_t i = 0; i < n; i++) {
        size_t size = 1 + rng_below(&w->rng, FRAME_SMALL);
        touched(w, fa_frame_alloc(w->s->a, size), size);
    }
}

/* Small blocks, a mark, the big block and more small ones; the rewind
 * gives the big one's chunk back to the cache. In the first frame the
 * threads hold their big blocks all at once: the warm-up reaches the peak
 * demand on the cache, and later frames take their chunks from it. */
static void frame_work(struct soaker *w, size_t f) {
    size_t n = rng_below(&w->rng, FRAME_ALLOCS + 1);
    frame_blocks(w, n / 2);
    fa_mark m = fa_frame_mark(w->s->a);
    touched(w, fa_frame_alloc(w->s->a, FRAME_BIG), FRAME_BIG);
    if (f == 0)
        pthread_barrier_wait(&w->s->barrier);
    frame_blocks(w, n - n / 2);
    w->errors += fa_frame_rewind(w->s->a, m) != FA_OK;
}

/* Ring slot k: its first block goes to the exchange (and what another
 * thread left there is freed here), the others are freed; then new ones. */
static void pool_turn(struct soaker *w, size_t k) {
    fa_alloc *a = w->s->a;
    w->errors += fa_pool_free(a, atomic_exchange(&w->s->exchange[k], w->pool[k][0])) != FA_OK;
    for (size_t j = 1; j < PER_FRAME; j++)
        w->errors += fa_pool_free(a, w->pool[k][j]) != FA_OK;
    for (size_t j = 0; j < PER_FRAME; j++)
        w->pool[k][j] = touched(w, fa_pool_alloc(a, w->pool_size[k][j]), w->pool_size[k][j]);
}

/* Heap blocks go back through either free: fa_pool_free takes them too. */
static void heap_turn(struct soaker *w, size_t h) {
    fa_alloc *a = w->s->a;
    fa_error e = h % 2 ? fa_heap_free(a, w->heap[h]) : fa_pool_free(a, w->heap[h]);
    w->errors += e != FA_OK;
    w->heap[h] = touched(w, fa_heap_alloc(a, w->heap_size[h], w->heap_align[h]), w->heap_size[h]);
}

static void frame(struct soaker *w, size_t f) {
    fa_alloc *a = w->s->a;
    int nested = w->id == 1 && f % 2 == 0; /* "render/shadows", every other frame */
    w->errors += fa_begin_frame(a) != FA_OK;
    w->errors += fa_tag_push(a, thread_tag[w->id]) != FA_OK;
    frame_work(w, f);
    if (nested)
        w->errors += fa_tag_push(a, "shadows") != FA_OK;
    pool_turn(w, f % KEEP);
    heap_turn(w, f % HEAP_KEEP);
    if (nested)
        w->errors += fa_tag_pop(a) != FA_OK;
    w->errors += fa_tag_pop(a) != FA_OK;
    w->errors += fa_end_frame(a) != FA_OK;
}

/* Sizes drawn once: pool sizes of every class, some above 4096; the
 * exchanged ones the same for every thread. */
static void draw_sizes(struct soaker *w) {
    for (size_t k = 0; k < KEEP; k++) {
        w->pool_size[k][0] = w->s->shared_size[k];
        for (size_t j = 1; j < PER_FRAME; j++)
            w->pool_size[k][j] = rng_below(&w->rng, POOL_MAX + 1);
        if (k % 2 == 0)
            w->pool_size[k][PER_FRAME - 1] = POOL_MAX + 1 + rng_below(&w->rng, POOL_BIG);
    }
    for (size_t h = 0; h < HEAP_KEEP; h++) {
        w->heap_size[h] = 1 + rng_below(&w->rng, HEAP_MAX);
        w->heap_align[h] = (size_t)1 << rng_below(&w->rng, 13);
    }
}

/* Its blocks freed, the thread exits (the exchange is drained later). */
static void *soak_thread(void *arg) {
    struct soaker *w = (struct soaker *)arg;
    fa_alloc *a = w->s->a;
    draw_sizes(w);
    for (size_t f = 0; f < w->s->frames; f++) {
        frame(w, f);
        meet(w, f + 1);
    }
    for (size_t k = 0; k < KEEP; k++)
        for (size_t j = 0; j < PER_FRAME; j++)
            w->errors += fa_pool_free(a, w->pool[k][j]) != FA_OK;
    for (size_t h = 0; h < HEAP_KEEP; h++)
        w->errors += fa_heap_free(a, w->heap[h]) != FA_OK;
    return NULL;
}

/* The most one thread holds at once: its pool ring and what it left in
 * the exchange, its heap ring, its largest frame (padding at most doubles
 * a block). */
static size_t thread_bound(void) {
    return KEEP * (PER_FRAME + 1) * (POOL_MAX + POOL_BIG) + HEAP_KEEP * HEAP_MAX +
           2 * (FRAME_ALLOCS * FRAME_SMALL + FRAME_BIG);
}

/* Soft at twice the bound and hard at four times: the workload always
 * fits, so that no event at all is expected. */
static void set_budgets(struct soak *s) {
    size_t all = THREADS * thread_bound(), render = thread_bound();
    if (FA_MINIMAL)
        return;
    assert_int_equal(fa_budget_set(s->a, NULL, 2 * all, 4 * all), FA_OK);
    assert_int_equal(fa_budget_set(s->a, "render", 2 * render, 4 * render), FA_OK);
}

static void check_statistics(struct soak *s) {
    fa_stats *st = stats_of(s->a);
    assert_non_null(st);
    int render = tag_index(st, "render");
    assert_true(render > 0);
    assert_int_equal(st->global_budget.reserved, 0);
    assert_int_equal(st->tags[render].budget.reserved, 0);
    assert_int_equal(st->total.live_bytes, 0);
    free(st);
}

static void run_threads(struct soak *s) {
    struct soaker w[THREADS];
    pthread_t t[THREADS];
    assert_int_equal(pthread_barrier_init(&s->barrier, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct soaker){.s = s, .id = i, .rng = rng_seeded((uint64_t)i + 1)};
        assert_int_equal(pthread_create(&t[i], NULL, soak_thread, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        s->errors += w[i].errors;
    }
    pthread_barrier_destroy(&s->barrier);
    for (size_t k = 0; k < KEEP; k++)
        s->errors += fa_pool_free(s->a, atomic_exchange(&s->exchange[k], NULL)) != FA_OK;
}

/* The warm-up: 1 % of the frames, at least 1000, at most half (and at
 * least one frame). */
static void size_run(struct soak *s) {
    s->frames = env_size("FA_SOAK_FRAMES", 20000);
    s->warmup = s->frames / 100 > 1000 ? s->frames / 100 : 1000;
    if (s->warmup > s->frames / 2)
        s->warmup = s->frames > 1 ? s->frames / 2 : 1;
    s->every = (s->frames - s->warmup) / SAMPLES > 0 ? (s->frames - s->warmup) / SAMPLES : 1;
    struct rng g = rng_seeded(0);
    for (size_t k = 0; k < KEEP; k++)
        s->shared_size[k] = rng_below(&g, POOL_MAX + 1);
}

static double drift_percent(const struct soak *s) {
    long up = s->high.rss - s->warm.rss, down = s->warm.rss - s->low.rss;
    return s->warm.rss == 0 ? 0 : 100.0 * (double)(up > down ? up : down) / (double)s->warm.rss;
}

static void report(const struct soak *s) {
    printf("soak: %d threads x %zu frames (warm-up %zu); backend bytes warm-up %ld / max %ld / end %ld / "
           "after destroy %ld\n",
           THREADS, s->frames, s->warmup, s->warm.bytes, s->high.bytes, s->end.bytes, (long)s->c.bytes_out);
    if (s->warm.rss != 0)
        printf("soak: RSS KiB warm-up %ld / min %ld / max %ld / end %ld, drift %.2f %%\n", s->warm.rss,
               s->low.rss, s->high.rss, s->end.rss, drift_percent(s));
    else
        printf("soak: RSS not measured in this build\n");
}

static void soak(void **state) {
    (void)state;
    struct soak *s = (struct soak *)calloc(1, sizeof *s);
    assert_non_null(s);
    size_run(s);
    fa_config cfg = test_config(&s->c, &s->ev);
    s->a = fa_create(&cfg);
    assert_non_null(s->a);
    set_budgets(s);
    run_threads(s);
    if (!FA_MINIMAL)
        check_statistics(s);
    fa_destroy(s->a);
    report(s);

    assert_int_equal(s->errors, 0);
    assert_int_equal(s->ev.count, 0); /* no refusal, no soft crossing, no error */
    assert_int_equal(s->high.bytes, s->warm.bytes);
    assert_int_equal(s->c.bytes_out, 0);
    size_t percent = env_size("FA_SOAK_RSS_PERCENT", 0);
    if (percent != 0 && s->warm.rss != 0)
        assert_true(drift_percent(s) <= (double)percent);
    free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(soak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
