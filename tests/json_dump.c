/* SPDX-License-Identifier: MIT */
/* The JSON snapshot (src/json.c) against the structs it is written from.
 *
 *     json_dump OUT.json OUT.flat
 *
 * runs a short scripted workload, writes the snapshot with fa_write_json to
 * OUT.json, and the same snapshot read through fa_stats_get, fa_history_get
 * and fa_history_summary_get to OUT.flat, one `path<TAB>value` line per value
 * (path as in the JSON: dots and array indices, e.g. classes.3.occupancy).
 * tests/validate_json.py then checks the one against the schema and the
 * other. It also checks here that fa_write_json_to sends the same bytes,
 * stops at a writer's refusal and refuses NULL arguments. Exit 0 when all
 * holds. */
#include <dlfcn.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framealloc.h"

#define LIVE_MAX 64 /* more blocks than the script keeps */
#define PREFIX 256

static void need(int ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "json_dump: %s (last error: %s)\n", what, fa_strerror(fa_last_error()));
        exit(1);
    }
}

/* Blocks kept live through the snapshot, so that live bytes show in it. */
struct live {
    void  *pool[LIVE_MAX];
    void  *heap[LIVE_MAX];
    size_t pools, heaps;
};

static void frame_allocs(fa_alloc *a, const size_t *sizes, size_t n) {
    for (size_t i = 0; i < n; i++)
        need(fa_frame_alloc(a, sizes[i]) != NULL, "fa_frame_alloc");
}

/* Pool blocks of each size; every other one is freed at once. */
static void pool_allocs(fa_alloc *a, struct live *l, const size_t *sizes, size_t n) {
    for (size_t i = 0; i < n; i++) {
        void *p = fa_pool_alloc(a, sizes[i]);
        need(p != NULL, "fa_pool_alloc");
        if (i % 2 == 0)
            need(fa_pool_free(a, p) == FA_OK, "fa_pool_free");
        else
            l->pool[l->pools++] = p;
    }
}

static void push(fa_alloc *a, const char *name) {
    need(fa_tag_push(a, name) == FA_OK, "fa_tag_push");
}

static void pop(fa_alloc *a) {
    need(fa_tag_pop(a) == FA_OK, "fa_tag_pop");
}

/* One frame: the renderer and its shadows allocate frame memory, physics
 * pool and heap memory; frame 1 also allocates under a name that needs
 * escaping in JSON. */
static void frame(fa_alloc *a, struct live *l, int n) {
    static const size_t root[] = {48}, renderer[] = {24, 4000}, shadows[] = {16, 100, 3000, 70000};
    static const size_t physics[] = {8, 24, 200, 4096, 5000, 64};
    need(fa_begin_frame(a) == FA_OK, "fa_begin_frame");
    frame_allocs(a, root, sizeof root / sizeof *root);
    push(a, "renderer");
    push(a, "shadows");
    frame_allocs(a, shadows, sizeof shadows / sizeof *shadows);
    need(fa_frame_alloc_aligned(a, 256, 64) != NULL, "fa_frame_alloc_aligned");
    pop(a);
    frame_allocs(a, renderer, (size_t)n % 2 + 1);
    pop(a);
    push(a, "physics");
    pool_allocs(a, l, physics, sizeof physics / sizeof *physics - (size_t)n);
    void *big = fa_heap_alloc(a, 100000, 64);
    need(big != NULL, "fa_heap_alloc");
    l->heap[l->heaps++] = big;
    pop(a);
    if (n == 1) {
        push(a, "we\"ird\\name");
        frame_allocs(a, renderer, 2);
        pool_allocs(a, l, physics, 2);
        pop(a);
    }
    need(fa_end_frame(a) == FA_OK, "fa_end_frame");
}

/* ---- the flat dump ---------------------------------------------------- */

static void flat_u64(FILE *f, const char *prefix, const char *name, uint64_t v) {
    fprintf(f, "%s%s\t%" PRIu64 "\n", prefix, name, v);
}

static void flat_f64(FILE *f, const char *prefix, const char *name, double v) {
    fprintf(f, "%s%s\t%.17g\n", prefix, name, v);
}

static void flat_str(FILE *f, const char *prefix, const char *name, const char *v) {
    fprintf(f, "%s%s\t%s\n", prefix, name, v);
}

/* The prefix of an object's members: its path and a dot. */
static const char *at(char *buf, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, PREFIX, fmt, ap);
    va_end(ap);
    return buf;
}

/* One line per entry of a field list, read from `s`, the struct it describes. */
#define FLAT(type, name) flat_##type(f, prefix, #name, s->name);
/* The kinds of `s`, under prefix. */
#define FLAT_KIND(name) flat_kind(f, at(sub, "%s" #name ".", prefix), &s->name);

static void flat_kind(FILE *f, const char *prefix, const fa_kind_stats *s) {
    FA_KIND_FIELDS(FLAT)
}

static void flat_budget(FILE *f, const char *prefix, const fa_budget_stats *s) {
    FA_BUDGET_FIELDS(FLAT)
}

static void flat_class(FILE *f, const char *prefix, const fa_class_stats *s) {
    FA_CLASS_FIELDS(FLAT)
}

static void flat_tag(FILE *f, const char *prefix, const fa_tag_stats *s) {
    char sub[PREFIX];
    FA_TAG_FIELDS(FLAT)
    FA_KINDS(FLAT_KIND)
    flat_budget(f, at(sub, "%sbudget.", prefix), &s->budget);
}

static void flat_config(FILE *f, const fa_config *s) {
    const char *prefix = "config.";
    FA_CONFIG_FIELDS(FLAT)
}

static void flat_stats(FILE *f, const fa_stats *s) {
    char sub[PREFIX];
    const char *prefix = "totals."; /* what FLAT and FLAT_KIND put before each name */
    fprintf(f, "version\t%d\n", FA_STATS_VERSION);
    FA_TOTAL_FIELDS(FLAT)
    FA_HELD_FIELDS(FLAT)
    flat_kind(f, "total.", &s->total);
    prefix = "kinds.";
    FA_KINDS(FLAT_KIND)
    for (size_t i = 0; i < sizeof s->classes / sizeof s->classes[0]; i++)
        flat_class(f, at(sub, "classes.%zu.", i), &s->classes[i]);
    flat_budget(f, "budgets.global.", &s->global_budget);
    flat_budget(f, "budgets.frame.", &s->frame_budget);
    for (size_t i = 0; i < s->tag_count; i++)
        flat_tag(f, at(sub, "tags.%zu.", i), &s->tags[i]);
}

/* A frame's bytes per tag path, keyed by the path as in the JSON. */
static void flat_record(FILE *f, const char *prefix, const fa_frame_record *s, const fa_stats *st) {
    FA_RECORD_FIELDS(FLAT)
    for (size_t i = 0; i < st->tag_count; i++)
        if (s->tag_bytes[i] != 0)
            fprintf(f, "%stag_bytes.%s\t%" PRIu64 "\n", prefix, st->tags[i].path, s->tag_bytes[i]);
}

static void flat_history(FILE *f, const fa_history_summary *s, const fa_frame_record *recs, size_t n,
                         const fa_stats *st) {
    char sub[PREFIX];
    const char *prefix = "history.summary.";
    FA_SUMMARY_FIELDS(FLAT)
    for (size_t i = 0; i < n; i++)
        flat_record(f, at(sub, "history.frames.%zu.", i), &recs[i], st);
}

static void flat_metrics(FILE *f, fa_alloc *a) {
    char sub[PREFIX];
    const char *prefix;
    fa_thread_metrics threads[8];
    fa_tag_metrics tags[FA_TAG_MAX];
    size_t n = fa_thread_metrics_get(a, threads, 8);
    need(n >= 1 && n <= 8, "fa_thread_metrics_get");
    for (size_t i = 0; i < n; i++) {
        const fa_thread_metrics *s = &threads[i];
        prefix = at(sub, "metrics.threads.%zu.", i);
        FA_THREAD_METRIC_FIELDS(FLAT)
    }
    n = fa_tag_metrics_get(a, tags, FA_TAG_MAX);
    need(n >= 1 && n <= FA_TAG_MAX, "fa_tag_metrics_get");
    for (size_t i = 0; i < n; i++) {
        const fa_tag_metrics *s = &tags[i];
        prefix = at(sub, "metrics.tags.%zu.", i);
        FA_TAG_METRIC_FIELDS(FLAT)
    }
}

/* The sites as the JSON names them: the address, and the symbol the
 * dynamic linker gives (null where none). */
static void flat_sites(FILE *f, fa_alloc *a) {
    fa_site sites[64];
    size_t n = fa_sites_get(a, sites, 64, 0.0);
    need(n >= 1 && n <= 64, "fa_sites_get");
    uint64_t samples = 0;
    for (size_t i = 0; i < n; i++) {
        const fa_site *s = &sites[i];
        char sub[PREFIX];
        const char *prefix = at(sub, "sites.entries.%zu.", i);
        Dl_info info;
        fprintf(f, "%ssite\t%p\n", prefix, s->site);
        const char *file = NULL;
        if (dladdr(s->site, &info) != 0 && info.dli_fname != NULL && info.dli_fname[0] != '\0')
            file = strrchr(info.dli_fname, '/') != NULL ? strrchr(info.dli_fname, '/') + 1 : info.dli_fname;
        if (file == NULL)
            fprintf(f, "%ssymbol\tnull\n", prefix);
        else if (info.dli_sname != NULL)
            fprintf(f, "%ssymbol\t%s+0x%tx\n", prefix, info.dli_sname,
                    (const char *)s->site - (const char *)info.dli_saddr);
        else /* a static function: the offset in its file */
            fprintf(f, "%ssymbol\t%s+0x%tx\n", prefix, file, (const char *)s->site - (const char *)info.dli_fbase);
        flat_u64(f, prefix, "samples", s->samples);
        flat_u64(f, prefix, "count", s->count);
        flat_u64(f, prefix, "bytes", s->bytes);
        flat_f64(f, prefix, "average", s->average);
        flat_f64(f, prefix, "share", s->share);
        samples += s->samples;
    }
    flat_u64(f, "sites.", "sample_bytes", 1);
    flat_u64(f, "sites.", "samples", samples);
}

static void write_flat(fa_alloc *a, const char *path) {
    fa_stats st;
    memset(&st, 0, sizeof st);
    fa_history_summary sum;
    need(fa_stats_get(a, &st) == FA_OK, "fa_stats_get");
    need(st.tag_count >= 1 && st.tag_count <= FA_TAG_MAX, "tag_count out of range");
    need(fa_history_summary_get(a, &sum) == FA_OK, "fa_history_summary_get");
    fa_frame_record *recs = malloc(((size_t)sum.frames + 1) * sizeof *recs); /* + 1: never malloc(0) */
    need(recs != NULL, "no memory for the history");
    size_t n = fa_history_get(a, recs, (size_t)sum.frames);
    FILE *f = fopen(path, "w");
    need(f != NULL, "cannot open the flat output");
    fa_config cfg;
    need(fa_config_get(a, &cfg) == FA_OK, "fa_config_get");
    flat_config(f, &cfg);
    flat_stats(f, &st);
    flat_history(f, &sum, recs, n, &st);
    flat_metrics(f, a);
    flat_sites(f, a);
    need(fclose(f) == 0, "cannot write the flat output");
    free(recs);
}

/* ---- writers ---------------------------------------------------------- */

/* A growing buffer: collects the writer's pieces, or a file's bytes. */
struct text {
    char  *data;
    size_t len, cap;
};

static int text_write(void *user, const char *piece, size_t length) {
    struct text *t = user;
    if (t->cap - t->len < length) {
        size_t cap = t->cap * 2 + length;
        char *data = realloc(t->data, cap);
        if (data == NULL)
            return 1;
        t->data = data;
        t->cap = cap;
    }
    memcpy(t->data + t->len, piece, length);
    t->len += length;
    return 0;
}

static struct text read_file(const char *path) {
    struct text t = {0};
    FILE *f = fopen(path, "rb");
    need(f != NULL, "cannot read the JSON output back");
    char piece[4096];
    size_t n;
    while ((n = fread(piece, 1, sizeof piece, f)) != 0)
        need(text_write(&t, piece, n) == 0, "no memory for the JSON output");
    need(!ferror(f), "cannot read the JSON output back");
    fclose(f);
    return t;
}

/* Accepts the pieces before the refuse_at'th, refuses that one and any later. */
struct refusing {
    int calls, refuse_at;
};

static int refuse(void *user, const char *piece, size_t length) {
    struct refusing *r = user;
    (void)piece;
    (void)length;
    return ++r->calls >= r->refuse_at;
}

static void check_writers(fa_alloc *a, const char *json_path) {
    struct text file = read_file(json_path), mem = {0};
    need(fa_write_json_to(a, text_write, &mem) == FA_OK, "fa_write_json_to into memory");
    need(mem.len == file.len && memcmp(mem.data, file.data, mem.len) == 0,
         "fa_write_json_to and fa_write_json wrote different text");
    free(mem.data);
    free(file.data);

    /* The snapshot takes more than one piece, so each refusal leaves some
     * unsent: the writer must not be called again. */
    for (int at = 1; at <= 2; at++) {
        struct refusing r = {0, at};
        need(fa_write_json_to(a, refuse, &r) == FA_ERR_STATE, "a refused piece is not FA_ERR_STATE");
        need(fa_last_error() == FA_ERR_STATE, "a refused piece does not set the last error");
        need(r.calls == at, "the writer was called again after it refused");
    }

    need(fa_write_json(NULL, stdout) == FA_ERR_INVALID, "NULL allocator");
    need(fa_write_json(a, NULL) == FA_ERR_INVALID, "NULL FILE");
    need(fa_write_json_to(a, NULL, NULL) == FA_ERR_INVALID, "NULL writer");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: json_dump OUT.json OUT.flat\n");
        return 2;
    }
    fa_config cfg;
    fa_config_init(&cfg);
    cfg.site_sample_bytes = 1; /* every allocation counted at its site: "sites" in the snapshot */
    fa_alloc *a = fa_create(&cfg);
    need(a != NULL, "fa_create");
    need(fa_budget_set(a, "renderer", (size_t)1 << 20, (size_t)1 << 22) == FA_OK, "fa_budget_set renderer");
    need(fa_budget_set(a, NULL, 0, (size_t)1 << 28) == FA_OK, "fa_budget_set global");
    struct live l = {0};
    for (int n = 0; n < 3; n++)
        frame(a, &l, n);

    FILE *json = fopen(argv[1], "w");
    need(json != NULL, "cannot open the JSON output");
    need(fa_write_json(a, json) == FA_OK, "fa_write_json");
    need(fclose(json) == 0, "cannot write the JSON output");
    write_flat(a, argv[2]);
    check_writers(a, argv[1]);

    for (size_t i = 0; i < l.pools; i++)
        need(fa_pool_free(a, l.pool[i]) == FA_OK, "fa_pool_free");
    for (size_t i = 0; i < l.heaps; i++)
        need(fa_heap_free(a, l.heap[i]) == FA_OK, "fa_heap_free");
    fa_destroy(a);
    return 0;
}
