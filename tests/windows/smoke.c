/* SPDX-License-Identifier: MIT */
/* The Windows smoke test: one self-checking program over the public API,
 * built against the static library and against the DLL (make windows runs
 * both under wine). It prints a line per check, OK or FAIL, and exits
 * non-zero when any check fails. It uses Win32 threads, as a Windows
 * program would: no pthreads.
 *   smoke [JSON_FILE [TRACE_FILE]]   (default smoke.json, smoke-trace.json) */
#include <framealloc.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

static int failures;

static void check(int ok, const char *what) {
    printf("%-4s %s\n", ok ? "OK" : "FAIL", what);
    failures += !ok;
}

static size_t threads_of(fa_alloc *a) {
    fa_stats s;
    memset(&s, 0, sizeof s);
    return fa_stats_get(a, &s) == FA_OK ? (size_t)s.threads_alive : (size_t)-1;
}

static void run_thread(LPTHREAD_START_ROUTINE fn, void *arg) {
    HANDLE t = CreateThread(NULL, 0, fn, arg, 0, NULL);
    if (t == NULL) {
        check(0, "CreateThread");
        return;
    }
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}

/* ---- frames: many chunks in one frame ------------------------------------- */

static void frames(fa_alloc *a) {
    enum { N = 2000, SIZE = 200 };
    static unsigned char *blocks[N];
    int ok = fa_begin_frame(a) == FA_OK;
    for (int i = 0; i < N && ok; i++) {
        blocks[i] = (unsigned char *)fa_frame_alloc(a, SIZE);
        ok = blocks[i] != NULL && ((uintptr_t)blocks[i] & 7) == 0;
        if (ok)
            memset(blocks[i], i & 0xff, SIZE);
    }
    for (int i = 0; i < N && ok; i++)
        ok = blocks[i][0] == (i & 0xff) && blocks[i][SIZE - 1] == (i & 0xff);
    fa_frame_info info;
    ok = ok && fa_frame_info_get(a, &info) == FA_OK && info.allocations == N;
    check(ok, "frame: 2000 blocks of 200 bytes, written and read back");
    check(ok && info.chunks > 1, "frame: the blocks span more than one chunk");
    double *aligned = (double *)fa_frame_alloc_aligned(a, 3 * sizeof(double), 256);
    check(aligned != NULL && ((uintptr_t)aligned & 255) == 0, "frame: 256-byte alignment");
    fa_mark m = fa_frame_mark(a);
    check(fa_frame_array(a, 1024, sizeof(float), 64) != NULL && fa_frame_rewind(a, m) == FA_OK, "frame: mark, array and rewind");
    char *s = fa_frame_printf(a, "frame %zu of %d", (size_t)7, 9);
    check(s != NULL && strcmp(s, "frame 7 of 9") == 0, "frame: fa_frame_printf with %zu");
    fa_arena *ar = fa_arena_get(a);
    check(ar != NULL && fa_arena_alloc(ar, 48) != NULL, "frame: the arena handle allocates inline");
    check(fa_end_frame(a) == FA_OK, "frame: end");
    check(fa_begin_frame(a) == FA_OK && fa_frame_alloc(a, 64) != NULL && fa_end_frame(a) == FA_OK, "frame: the next frame reuses the chunks");
}

/* ---- pools across threads ------------------------------------------------ */

enum { BLOCKS = 512 };

struct exchange {
    fa_alloc *a;
    void     *mine[BLOCKS];   /* the main thread's, freed by the worker */
    void     *theirs[BLOCKS]; /* the worker's, freed by the main thread */
    int       freed_ok, alloc_ok, frame_ok;
};

static DWORD WINAPI pool_worker(void *arg) {
    struct exchange *x = (struct exchange *)arg;
    x->freed_ok = 1;
    for (int i = 0; i < BLOCKS; i++)
        x->freed_ok &= fa_pool_free(x->a, x->mine[i]) == FA_OK;
    x->alloc_ok = 1;
    for (int i = 0; i < BLOCKS; i++) {
        x->theirs[i] = fa_pool_alloc(x->a, 24 + (size_t)i % 200);
        x->alloc_ok &= x->theirs[i] != NULL;
    }
    x->frame_ok = fa_begin_frame(x->a) == FA_OK && fa_frame_alloc(x->a, 100000) != NULL && fa_end_frame(x->a) == FA_OK;
    return 0; /* the thread's state goes back as it exits (the exit hook) */
}

static void pools(fa_alloc *a) {
    static struct exchange x;
    x.a = a;
    int ok = 1;
    for (int i = 0; i < BLOCKS; i++) {
        x.mine[i] = fa_pool_alloc(a, 8u << (i % 10));
        ok &= x.mine[i] != NULL;
        if (x.mine[i] != NULL)
            memset(x.mine[i], 0x5a, 8u << (i % 10));
    }
    check(ok, "pool: 512 blocks of 8 .. 4096 bytes");
    size_t before = threads_of(a);
    run_thread(pool_worker, &x);
    check(x.freed_ok, "pool: another thread frees them");
    check(x.alloc_ok && x.frame_ok, "pool: another thread allocates, and runs a frame");
    ok = 1;
    for (int i = 0; i < BLOCKS; i++)
        ok &= fa_pool_free(a, x.theirs[i]) == FA_OK;
    check(ok, "pool: this thread frees the other thread's blocks");
    check(threads_of(a) == before, "threads: an exited thread's state is reclaimed");

    fa_cache *c = fa_cache_get(a);
    void *p = c != NULL ? fa_cache_alloc(c, 40) : NULL;
    check(p != NULL && fa_cache_free(c, p) == FA_OK, "pool: the cache handle allocates and frees inline");
    void *q = fa_pool_alloc(a, 100);
    q = fa_pool_realloc(a, q, 3000);
    check(q != NULL && fa_usable_size(a, q) >= 3000 && fa_pool_free(a, q) == FA_OK, "pool: realloc and usable size");
}

/* ---- heap, tags, budgets ------------------------------------------------- */

static void heap(fa_alloc *a) {
    void *p = fa_heap_alloc(a, (size_t)3 << 20, 4096);
    check(p != NULL && ((uintptr_t)p & 4095) == 0, "heap: 3 MiB aligned to 4096");
    if (p != NULL)
        memset(p, 1, (size_t)3 << 20);
    check(fa_heap_free(a, p) == FA_OK, "heap: free");
    void *big = fa_pool_alloc(a, 100000);
    check(big != NULL && fa_pool_free(a, big) == FA_OK, "heap: fa_pool_alloc beyond the classes takes the heap path");
}

static void tags_and_budgets(fa_alloc *a) {
    check(fa_tag_push(a, "render") == FA_OK && fa_tag_push(a, "shadows") == FA_OK, "tags: push render/shadows");
    void *p = fa_pool_alloc(a, 64);
    check(fa_tag_pop(a) == FA_OK && fa_tag_pop(a) == FA_OK, "tags: pop both");
    fa_stats s;
    memset(&s, 0, sizeof s);
    int found = 0;
    if (fa_stats_get(a, &s) == FA_OK)
        for (uint64_t i = 0; i < s.tag_count; i++)
            found |= strcmp(s.tags[i].path, "render/shadows") == 0;
    check(found, "tags: render/shadows is in the statistics");
    fa_pool_free(a, p);

    check(fa_budget_set(a, "capped", 0, 64 * 1024) == FA_OK, "budget: a hard limit of 64 KiB on \"capped\"");
    fa_tag_push(a, "capped");
    void *blocks[64];
    int n = 0;
    while (n < 64 && (blocks[n] = fa_pool_alloc(a, 4096)) != NULL)
        n++;
    check(n > 0 && n < 64 && fa_last_error() == FA_ERR_BUDGET, "budget: the hard limit refuses with FA_ERR_BUDGET");
    for (int i = 0; i < n; i++)
        fa_pool_free(a, blocks[i]);
    check(fa_pool_alloc(a, 4096) != NULL, "budget: frees give the budget back");
    fa_tag_pop(a);
    memset(&s, 0, sizeof s);
    int capped = 0;
    if (fa_stats_get(a, &s) == FA_OK)
        for (uint64_t i = 0; i < s.tag_count; i++)
            capped |= strcmp(s.tags[i].path, "capped") == 0;
    check(capped && s.total.allocations > 0 && s.pool.allocations > 0 && s.backend_bytes > 0,
          "stats: totals, pool counts and backend bytes");
}

static void json(fa_alloc *a, const char *path) {
    FILE *f = fopen(path, "w");
    check(f != NULL && fa_write_json(a, f) == FA_OK, "json: snapshot written");
    if (f != NULL)
        fclose(f);
    char head[64] = {0};
    f = fopen(path, "r");
    size_t n = f != NULL ? fread(head, 1, sizeof head - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    check(n > 0 && head[0] == '{' && strstr(head, "\"") != NULL, "json: the file holds a JSON object");
}

/* ---- errors -------------------------------------------------------------- */

static void errors(fa_alloc *a) {
    check(fa_frame_alloc(NULL, 8) == NULL && fa_last_error() == FA_ERR_INVALID, "errors: NULL allocator");
    check(fa_frame_alloc(a, 8) == NULL && fa_last_error() == FA_ERR_STATE, "errors: frame allocation outside a frame");
    check(fa_end_frame(a) == FA_ERR_STATE, "errors: end without begin");
    fa_begin_frame(a);
    check(fa_frame_alloc_aligned(a, 8, 3) == NULL && fa_last_error() == FA_ERR_INVALID, "errors: alignment not a power of two");
    check(fa_frame_array(a, SIZE_MAX / 2, 4, 4) == NULL && fa_last_error() == FA_ERR_NOMEM, "errors: count * size overflows");
    fa_end_frame(a);
    void *foreign = malloc(64);
    check(fa_pool_free(a, foreign) == FA_ERR_FOREIGN, "errors: freeing a pointer of malloc's");
    free(foreign);
    void *p = fa_pool_alloc(a, 32);
    check(fa_pool_free(a, p) == FA_OK && fa_pool_free(a, p) == FA_ERR_DOUBLE_FREE, "errors: double free");
    check(fa_heap_alloc(a, SIZE_MAX, 16) == NULL && fa_last_error() == FA_ERR_NOMEM, "errors: a size no one can meet");
    check(fa_tag_pop(a) == FA_ERR_STATE, "errors: pop without push");
}

/* ---- memory sources ------------------------------------------------------ */

/* One allocator over the source: a frame, pool blocks and a heap block. */
static int exercise(fa_backend b) {
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.backend = b;
    fa_alloc *a = fa_create(&cfg);
    if (a == NULL)
        return 0;
    int ok = fa_begin_frame(a) == FA_OK;
    for (int i = 0; i < 300 && ok; i++) {
        char *p = (char *)fa_frame_alloc(a, 1000);
        ok = p != NULL;
        if (ok)
            memset(p, 7, 1000);
    }
    ok = ok && fa_end_frame(a) == FA_OK;
    void *p = fa_pool_alloc(a, 256), *h = fa_heap_alloc(a, 200000, 64);
    ok = ok && p != NULL && h != NULL;
    if (h != NULL)
        memset(h, 3, 200000);
    ok = ok && fa_pool_free(a, p) == FA_OK && fa_heap_free(a, h) == FA_OK && fa_trim(a) == FA_OK;
    fa_destroy(a);
    return ok;
}

static void sources(void) {
    fa_backend b;
    fa_source_info info;
    check(exercise(fa_backend_system()), "source: system (the C runtime, _aligned_malloc beyond 16)");

    int ok = fa_source_mmap(&b, (size_t)256 << 20, FA_HUGE_NONE) == FA_OK;
    ok = ok && fa_source_info_get(&b, &info) == FA_OK && info.capacity >= ((size_t)256 << 20);
    check(ok && exercise(b), "source: mmap (VirtualAlloc reserve, commit, decommit)");
    if (ok)
        fa_source_destroy(&b);

    ok = fa_source_mmap(&b, (size_t)64 << 20, FA_HUGE_EXPLICIT) == FA_OK && fa_source_info_get(&b, &info) == FA_OK;
    printf("     large pages: %s\n", ok && info.huge == FA_HUGE_EXPLICIT ? "in use" : "not granted, ordinary pages");
    check(ok && exercise(b), "source: mmap asking for large pages (or falling back)");
    if (ok)
        fa_source_destroy(&b);

    ok = fa_source_numa(&b, 0, (size_t)64 << 20) == FA_OK && fa_source_info_get(&b, &info) == FA_OK;
    printf("     NUMA node: %d\n", ok ? info.numa_node : -2);
    check(ok && exercise(b), "source: NUMA node 0");
    if (ok)
        fa_source_destroy(&b);

    size_t size = (size_t)16 << 20;
    void *buffer = malloc(size);
    ok = buffer != NULL && fa_source_fixed(&b, buffer, size) == FA_OK;
    check(ok && exercise(b), "source: fixed (a caller's buffer)");
    if (ok)
        fa_source_destroy(&b);
    free(buffer);

    check(fa_source_mmap(NULL, 0, FA_HUGE_NONE) == FA_ERR_INVALID, "source: bad arguments are FA_ERR_INVALID");
}

/* ---- the trace debug level: backtraces ----------------------------------- */

static void trace(void) {
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.debug = FA_DEBUG_TRACE;
    fa_alloc *a = fa_create(&cfg);
    void *p = a != NULL ? fa_pool_alloc(a, 48) : NULL;
    fa_leak leak;
    size_t n = p != NULL ? fa_leak_find(a, 0, 0, &leak, 1) : 0;
    check(n == 1 && leak.ptr == p && leak.site != NULL && leak.depth > 0, "trace: a live block's site and backtrace");
    check(p != NULL && fa_pool_free(a, p) == FA_OK && fa_check(a) == FA_OK, "trace: free and check");
    fa_destroy(a);
}

/* ---- profiling: hot sites and a trace file ------------------------------- */

static void profiling(const char *trace_path) {
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.site_sample_bytes = 1; /* every allocation sampled */
    fa_alloc *a = fa_create(&cfg);
    check(a != NULL && fa_trace_start(a, trace_path) == FA_OK, "trace: started");
    for (int frame = 0; a != NULL && frame < 3; frame++) {
        fa_begin_frame(a);
        fa_pool_free(a, fa_pool_alloc(a, 64));
        fa_frame_alloc(a, 128);
        fa_end_frame(a);
    }
    fa_site sites[4];
    size_t n = a != NULL ? fa_sites_get(a, sites, 4, 0) : 0;
    check(n > 0 && sites[0].site != NULL && sites[0].samples > 0, "sites: the hot allocation sites are sampled");
    check(a != NULL && fa_trace_stop(a) == FA_OK, "trace: stopped");
    fa_destroy(a);
    FILE *f = fopen(trace_path, "r");
    static char head[16384];
    size_t got = f != NULL ? fread(head, 1, sizeof head - 1, f) : 0;
    if (f != NULL)
        fclose(f);
    check(got > 0 && strstr(head, "\"traceEvents\":[") != NULL && strstr(head, "\"cat\":\"frame\"") != NULL,
          "trace: the file holds frame events");
}

int main(int argc, char **argv) {
    const char *json_path = argc > 1 ? argv[1] : "smoke.json";
    const char *trace_path = argc > 2 ? argv[2] : "smoke-trace.json";
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.frame_chunk_first = 4096; /* small chunks: a frame crosses many */
    cfg.frame_chunk_max = 65536;
    fa_alloc *a = fa_create(&cfg);
    check(a != NULL, "create");
    if (a == NULL)
        return 1;
    frames(a);
    pools(a);
    heap(a);
    tags_and_budgets(a);
    json(a, json_path);
    errors(a);
    fa_destroy(a);
    sources();
    trace();
    profiling(trace_path);
    printf("%s: %d failure%s\n", failures == 0 ? "OK" : "FAIL", failures, failures == 1 ? "" : "s");
    return failures == 0 ? 0 : 1;
}
