/* SPDX-License-Identifier: MIT */
/* Tags (src/tags.c over src/attribution.c): every allocation charged to the
 * innermost path of its thread, frees crediting the path charged, pools per
 * path, and the disable switches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"

/* Sizes that are multiples of their natural alignment consume exactly
 * their size from a 64-aligned chunk, so the counts below are exact. */
static void frame_memory_goes_to_the_innermost_path(void **state) {
    fa_alloc *a = alloc_of(state);
    assert_int_equal(fa_begin_frame(a), FA_OK);
    assert_non_null(fa_frame_alloc(a, 64));
    assert_int_equal(fa_tag_push(a, "renderer"), FA_OK);
    assert_non_null(fa_frame_alloc(a, 128));
    assert_non_null(fa_frame_alloc(a, 128));
    assert_int_equal(fa_tag_push(a, "shadows"), FA_OK);
    assert_non_null(fa_frame_alloc(a, 256));
    assert_int_equal(fa_tag_pop(a), FA_OK);
    assert_non_null(fa_frame_alloc(a, 64));
    assert_int_equal(fa_tag_pop(a), FA_OK);
    assert_non_null(fa_frame_alloc(a, 32));

    fa_stats *st = stats_of(a);
    assert_non_null(st);
    int renderer = tag_index(st, "renderer"), shadows = tag_index(st, "renderer/shadows");
    assert_true(renderer > 0 && shadows > 0);
    assert_int_equal(st->tags[shadows].parent, renderer);
    assert_int_equal(st->tags[shadows].depth, 2);
    assert_int_equal(st->tags[0].frame.allocations, 2);
    assert_int_equal(st->tags[0].frame.live_bytes, 96);
    assert_int_equal(st->tags[renderer].frame.allocations, 3);
    assert_int_equal(st->tags[renderer].frame.live_bytes, 320);
    assert_int_equal(st->tags[shadows].frame.allocations, 1);
    assert_int_equal(st->tags[shadows].frame.bytes, 256);
    assert_int_equal(st->frame.live_bytes, 672);
    free(st);

    assert_int_equal(fa_end_frame(a), FA_OK);
    st = stats_of(a);
    assert_non_null(st);
    assert_int_equal(st->frame.live_bytes, 0);
    assert_int_equal(st->frame.frees, 6);
    assert_int_equal(st->frame.bytes, 672);
    assert_int_equal(st->frame.peak_bytes, 672);
    assert_int_equal(st->tags[renderer].frame.peak_bytes, 320);
    assert_int_equal(st->tags[renderer].frame.frees, 3);
    free(st);
}

static void blocks_credit_the_path_they_were_charged_to(void **state) {
    fa_alloc *a = alloc_of(state);
    assert_int_equal(fa_tag_push(a, "physics"), FA_OK);
    void *p = fa_pool_alloc(a, 100); /* the 128-byte class */
    void *h = fa_heap_alloc(a, 5000, 64);
    assert_int_equal(fa_tag_pop(a), FA_OK);
    void *q = fa_pool_alloc(a, 64);
    assert_non_null(p);
    assert_non_null(h);
    assert_non_null(q);

    fa_stats *st = stats_of(a);
    int physics = tag_index(st, "physics");
    assert_int_equal(st->tags[physics].pool.allocations, 1);
    assert_int_equal(st->tags[physics].pool.live_bytes, 128);
    assert_int_equal(st->tags[physics].heap.live_bytes, 5000);
    assert_int_equal(st->tags[0].pool.live_bytes, 64);
    assert_int_equal(st->pool.live_bytes, 192);
    free(st);

    /* freed at the root: still credited to physics */
    assert_int_equal(fa_pool_free(a, p), FA_OK);
    assert_int_equal(fa_heap_free(a, h), FA_OK);
    assert_int_equal(fa_pool_free(a, q), FA_OK);
    st = stats_of(a);
    assert_int_equal(st->tags[physics].pool.frees, 1);
    assert_int_equal(st->tags[physics].pool.live_bytes, 0);
    assert_int_equal(st->tags[physics].heap.live_bytes, 0);
    assert_int_equal(st->tags[0].pool.live_bytes, 0);
    assert_int_equal(st->pool.peak_bytes, 192);
    assert_int_equal(st->total.live_bytes, 0);
    free(st);
}

struct worker {
    fa_alloc   *a;
    const char *tag;
    size_t      frame_bytes;
    void       *block; /* a pool block to free on this thread, or NULL */
    void       *kept;  /* a pool block it allocates and leaves live */
};

static void *work(void *arg) {
    struct worker *w = (struct worker *)arg;
    fa_tag_push(w->a, w->tag);
    fa_begin_frame(w->a);
    for (size_t i = 0; i < w->frame_bytes / 64; i++)
        fa_frame_alloc(w->a, 64);
    fa_end_frame(w->a);
    w->kept = fa_pool_alloc(w->a, 48);
    if (w->block != NULL)
        fa_pool_free(w->a, w->block);
    fa_tag_pop(w->a);
    return NULL;
}

static void attribution_is_per_thread_and_survives_exit(void **state) {
    fa_alloc *a = alloc_of(state);
    assert_int_equal(fa_tag_push(a, "ai"), FA_OK);
    void *block = fa_pool_alloc(a, 200); /* 256-byte class, freed by the audio thread */
    assert_int_equal(fa_tag_pop(a), FA_OK);
    struct worker w[2] = {{a, "ai", 64 * 10, NULL, NULL}, {a, "audio", 64 * 30, block, NULL}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);

    fa_stats *st = stats_of(a);
    int ai = tag_index(st, "ai"), audio = tag_index(st, "audio");
    assert_true(ai > 0 && audio > 0);
    assert_int_equal(st->tags[ai].frame.bytes, 640);
    assert_int_equal(st->tags[audio].frame.bytes, 1920);
    assert_int_equal(st->tags[ai].frame.peak_bytes, 640);
    assert_int_equal(st->tags[ai].pool.allocations, 2);     /* main's 256 and the thread's 64 */
    assert_int_equal(st->tags[ai].pool.live_bytes, 64);      /* main's block freed by audio */
    assert_int_equal(st->tags[audio].pool.live_bytes, 64);
    assert_int_equal(st->frame.peak_bytes, 1920);
    free(st);
    assert_int_equal(fa_pool_free(a, w[0].kept), FA_OK);
    assert_int_equal(fa_pool_free(a, w[1].kept), FA_OK);
    st = stats_of(a);
    assert_int_equal(st->pool.live_bytes, 0);
    assert_int_equal(st->threads_alive, 1);
    free(st);
}

struct leaver {
    fa_alloc *a;
    void     *blocks[8];
};

static void *allocate_under_ai_and_exit(void *arg) {
    struct leaver *l = (struct leaver *)arg;
    fa_tag_push(l->a, "ai");
    for (int i = 0; i < 8; i++)
        l->blocks[i] = fa_pool_alloc(l->a, 512);
    fa_tag_pop(l->a);
    return NULL;
}

/* Each path has its own pools: a slab left by an exited thread is adopted
 * only under its path, so blocks allocated later stay charged right. */
static void each_path_has_pools_of_its_own(void **state) {
    fa_alloc *a = alloc_of(state);
    struct leaver l = {a, {NULL}};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, allocate_under_ai_and_exit, &l), 0);
    pthread_join(t, NULL);
    fa_tag_push(a, "audio");
    void *audio = fa_pool_alloc(a, 512);
    fa_tag_pop(a);
    fa_stats *st = stats_of(a);
    assert_int_equal(st->classes[6].slabs, 2); /* audio did not adopt the ai slab */
    free(st);
    fa_tag_push(a, "ai");
    void *ai = fa_pool_alloc(a, 512);
    fa_tag_pop(a);
    st = stats_of(a);
    assert_int_equal(st->classes[6].slabs, 2); /* ai did */
    assert_int_equal(st->classes[6].blocks_in_use, 10);
    int ai_tag = tag_index(st, "ai"), audio_tag = tag_index(st, "audio");
    assert_int_equal(st->tags[ai_tag].pool.live_bytes, 9 * 512);
    assert_int_equal(st->tags[audio_tag].pool.live_bytes, 512);
    assert_int_equal(st->tags[0].pool.live_bytes, 0);
    free(st);
    for (int i = 0; i < 8; i++) /* the exited thread's blocks, freed at the root */
        assert_int_equal(fa_pool_free(a, l.blocks[i]), FA_OK);
    assert_int_equal(fa_pool_free(a, ai), FA_OK);
    assert_int_equal(fa_pool_free(a, audio), FA_OK);
    st = stats_of(a);
    assert_int_equal(st->pool.live_bytes, 0);
    assert_int_equal(st->tags[ai_tag].pool.frees, 9);
    free(st);
}

static void tag_misuse_is_reported(void **state) {
    struct fixture *f = fixture_of(state);
    fa_alloc *a = f->a;
    assert_int_equal(fa_tag_pop(a), FA_ERR_STATE);
    assert_int_equal(fa_tag_push(a, NULL), FA_ERR_INVALID);
    assert_int_equal(fa_tag_push(a, ""), FA_ERR_INVALID);
    assert_int_equal(fa_tag_push(a, "a/b"), FA_ERR_INVALID);
    assert_int_equal(fa_budget_set(a, "a/", 0, 1), FA_ERR_INVALID); /* an empty last name */
    assert_int_equal(fa_tag_push(a, "tab\there"), FA_ERR_INVALID);
    char name[80];
    memset(name, 'n', sizeof name);
    name[FA_TAG_NAME_MAX + 1] = '\0';
    assert_int_equal(fa_tag_push(a, name), FA_ERR_INVALID);
    name[FA_TAG_NAME_MAX] = '\0';
    assert_int_equal(fa_tag_push(a, name), FA_OK);
    assert_int_equal(fa_tag_pop(a), FA_OK);
    assert_int_equal(fa_tag_push(NULL, "x"), FA_ERR_INVALID);
    assert_int_equal(fa_tag_pop(NULL), FA_ERR_INVALID);

    for (int i = 0; i < FA_TAG_DEPTH; i++)
        assert_int_equal(fa_tag_push(a, "deep"), FA_OK);
    assert_int_equal(fa_tag_push(a, "deeper"), FA_ERR_STATE);
    assert_int_equal(f->ev.last, FA_ERR_STATE);
    assert_int_equal(strncmp(f->ev.tag, "deep/deep/", 10), 0); /* the event names the path */
    for (int i = 0; i < FA_TAG_DEPTH; i++)
        assert_int_equal(fa_tag_pop(a), FA_OK);

    /* the table holds FA_TAG_MAX paths: the root, the long name, 16 "deep" */
    int made = 2 + FA_TAG_DEPTH;
    for (int i = 0; made < FA_TAG_MAX; i++, made++) {
        snprintf(name, sizeof name, "t%d", i);
        assert_int_equal(fa_tag_push(a, name), FA_OK);
        assert_int_equal(fa_tag_pop(a), FA_OK);
    }
    assert_int_equal(fa_tag_push(a, "one-too-many"), FA_ERR_NOMEM);
    assert_int_equal(fa_tag_push(a, "t0"), FA_OK); /* known paths still push */
    assert_non_null(fa_pool_alloc(a, 8));
    assert_int_equal(fa_tag_pop(a), FA_OK);
    fa_stats *st = stats_of(a);
    assert_int_equal(st->tag_count, FA_TAG_MAX);
    int t0 = tag_index(st, "t0");
    assert_int_equal(st->tags[t0].pool.live_bytes, 8);
    free(st);
}

/* The tables are the config's size: smaller ones fill sooner, larger
 * budget and depth limits hold more (issue 19). */
static void tables_are_sized_by_the_config(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    cfg.max_tags = 3;
    cfg.max_budgets = FA_BUDGET_MAX;
    cfg.max_tag_depth = 40;
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    assert_int_equal(fa_tag_push(a, "a"), FA_OK);
    assert_int_equal(fa_tag_push(a, "b"), FA_OK); /* a/b: the third path */
    assert_int_equal(fa_tag_push(a, "c"), FA_ERR_NOMEM);
    assert_string_equal(fa_last_error_detail(),
                        "fa_tag_push: the tag table is full: no room for path a/b/c (3 paths at most: cfg.max_tags)");
    assert_int_equal(fa_tag_pop(a), FA_OK);
    assert_int_equal(fa_tag_push(a, "b"), FA_OK); /* known paths still push */
    assert_int_equal(fa_tag_push(a, "b"), FA_ERR_NOMEM); /* a/b/b is new */
    fa_destroy(a);

    cfg = test_config(&c, &ev);
    cfg.max_budgets = FA_BUDGET_MAX;
    cfg.max_tag_depth = 40;
    a = fa_create(&cfg);
    char path[16];
    for (int i = 1; i <= FA_BUDGET_MAX; i++) { /* a budget on every path the table holds */
        snprintf(path, sizeof path, "b%d", i);
        assert_int_equal(fa_budget_set(a, path, 0, 1 << 20), FA_OK);
    }
    assert_int_equal(fa_budget_set(a, "one-more", 0, 1 << 20), FA_ERR_NOMEM);
    fa_destroy(a);

    a = fa_create(&cfg);
    static const char deepest[] = "d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d";
    char level[sizeof deepest];
    for (int n = 1; n <= 40; n++) { /* d, d/d, ...: a budget at every level, 40 of them */
        snprintf(level, (size_t)(2 * n), "%s", deepest);
        assert_int_equal(fa_budget_set(a, level, 0, ((size_t)1 << 20) + (size_t)n), FA_OK);
    }
    for (int i = 0; i < 40; i++)
        assert_int_equal(fa_tag_push(a, "d"), FA_OK);
    assert_int_equal(fa_tag_push(a, "d"), FA_ERR_STATE);
    assert_string_equal(fa_last_error_detail(), "fa_tag_push: 40 tags are pushed already (cfg.max_tag_depth; "
                                                "pop some first)");
    void *p = fa_pool_alloc(a, 64); /* charged to the 41 budgets over d/d/...: the longest chain */
    assert_non_null(p);
    assert_int_equal(fa_pool_free(a, p), FA_OK);
    fa_destroy(a);
    assert_int_equal(c.bytes_out, 0);
}

/* More paths than fa_stats.tags holds (cfg.max_tags past FA_TAG_MAX). */
enum { MANY = 300, HEAP_BYTES = 5000 };

struct remote_frees {
    fa_alloc *a;
    void    **blocks; /* [1, MANY): pool blocks of path "p<i - 1>" */
};

/* Frees another thread's pool blocks, allocates and frees on a path past
 * FA_TAG_MAX itself, and exits. */
static void *free_them_and_exit(void *arg) {
    struct remote_frees *r = (struct remote_frees *)arg;
    for (int i = 1; i < MANY; i++)
        if (fa_pool_free(r->a, r->blocks[i]) != FA_OK)
            return arg;
    if (fa_tag_push(r->a, "p200") != FA_OK)
        return arg;
    void *p = fa_heap_alloc(r->a, HEAP_BYTES, 16);
    if (p == NULL || fa_heap_free(r->a, p) != FA_OK || fa_tag_pop(r->a) != FA_OK)
        return arg;
    return NULL;
}

struct text {
    char  *bytes;
    size_t length;
};

static int append(void *user, const char *piece, size_t length) {
    struct text *t = (struct text *)user;
    char *grown = (char *)realloc(t->bytes, t->length + length + 1);
    if (grown == NULL)
        return 1;
    memcpy(grown + t->length, piece, length);
    t->length += length;
    grown[t->length] = '\0';
    t->bytes = grown;
    return 0;
}

static size_t occurrences(const char *text, const char *what) {
    size_t n = 0;
    for (const char *at = strstr(text, what); at != NULL; at = strstr(at + 1, what))
        n++;
    return n;
}

/* Every path is counted, charged and reported: fa_stats lists the first
 * FA_TAG_MAX and says how many there are; fa_tag_stats_get, the metrics,
 * the JSON snapshot and the printed table have them all; budgets, remote
 * frees and an exiting thread's counts work past FA_TAG_MAX (issue 19). */
static void more_paths_than_fa_stats_holds(void **state) {
    (void)state;
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    cfg.max_tags = MANY;
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    void *pool[MANY] = {NULL};
    void *heap[MANY] = {NULL};
    char name[16];
    assert_int_equal(fa_begin_frame(a), FA_OK);
    for (int i = 1; i < MANY; i++) { /* p0 .. p298: paths 1 .. MANY - 1 */
        snprintf(name, sizeof name, "p%d", i - 1);
        assert_int_equal(fa_tag_push(a, name), FA_OK);
        assert_non_null(fa_frame_alloc(a, 64));
        pool[i] = fa_pool_alloc(a, 32);
        heap[i] = fa_heap_alloc(a, HEAP_BYTES, 16);
        assert_non_null(pool[i]);
        assert_non_null(heap[i]);
        assert_int_equal(fa_tag_pop(a), FA_OK);
    }
    assert_int_equal(fa_end_frame(a), FA_OK);
    assert_int_equal(fa_tag_push(a, "one-too-many"), FA_ERR_NOMEM);

    fa_stats *st = stats_of(a);
    assert_non_null(st);
    assert_int_equal(st->tag_count, FA_TAG_MAX);
    assert_int_equal(st->tag_paths, MANY);
    assert_int_equal(st->pool.live_bytes, (MANY - 1) * 32);
    assert_int_equal(st->heap.live_bytes, (MANY - 1) * HEAP_BYTES);
    assert_int_equal(st->frame.bytes, (MANY - 1) * 64);
    assert_int_equal(fa_tag_stats_get(a, NULL, 0), MANY);
    fa_tag_stats *all = (fa_tag_stats *)calloc(MANY, sizeof *all);
    assert_non_null(all);
    assert_int_equal(fa_tag_stats_get(a, all, MANY), MANY);
    for (int i = 1; i < MANY; i++) {
        snprintf(name, sizeof name, "p%d", i - 1);
        assert_string_equal(all[i].path, name);
        assert_int_equal(all[i].frame.bytes, 64);
        assert_int_equal(all[i].pool.live_bytes, 32);
        assert_int_equal(all[i].heap.live_bytes, HEAP_BYTES);
        if (i < FA_TAG_MAX)
            assert_int_equal(st->tags[i].heap.live_bytes, HEAP_BYTES);
    }
    free(st);

    /* a budget on a path past FA_TAG_MAX: counts its live bytes, refuses */
    assert_int_equal(fa_budget_set(a, "p250", 0, 32 + HEAP_BYTES + 100), FA_OK);
    assert_int_equal(fa_tag_push(a, "p250"), FA_OK);
    assert_null(fa_heap_alloc(a, HEAP_BYTES, 16));
    assert_int_equal(ev.last, FA_ERR_BUDGET);
    assert_int_equal(fa_tag_pop(a), FA_OK);
    assert_int_equal(fa_tag_stats_get(a, all, MANY), MANY);
    assert_int_equal(all[251].budget.usage, 32 + HEAP_BYTES);
    assert_int_equal(all[251].budget.refusals, 1);

    /* the frame's bytes per path, over the history */
    fa_tag_metrics *m = (fa_tag_metrics *)calloc(MANY, sizeof *m);
    assert_non_null(m);
    assert_int_equal(fa_tag_metrics_get(a, m, MANY), MANY);
    assert_string_equal(m[MANY - 1].path, "p298");
    assert_int_equal(m[MANY - 1].peak_bytes, 64);
    assert_int_equal(m[FA_TAG_MAX].peak_bytes, 64);
    free(m);

    /* the JSON snapshot and the printed table list every path */
    struct text json = {NULL, 0};
    assert_int_equal(fa_write_json_to(a, append, &json), FA_OK);
    assert_non_null(strstr(json.bytes, "\"tag_count\": 300"));
    assert_int_equal(occurrences(json.bytes, "\"depth\":"), MANY);
    assert_non_null(strstr(json.bytes, "\"p298\": 64")); /* its frame bytes in the history */
    free(json.bytes);
    FILE *printed = tmpfile();
    assert_non_null(printed);
    assert_int_equal(fa_stats_print(a, printed), FA_OK);
    char line[256];
    int found = 0;
    rewind(printed);
    while (fgets(line, sizeof line, printed) != NULL)
        found |= strstr(line, "p298") != NULL;
    fclose(printed);
    assert_true(found);

    /* another thread frees every pool block and exits */
    struct remote_frees r = {a, pool};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, free_them_and_exit, &r), 0);
    void *failed = &r;
    assert_int_equal(pthread_join(t, &failed), 0);
    assert_null(failed);
    assert_int_equal(fa_tag_stats_get(a, all, MANY), MANY);
    assert_int_equal(all[MANY - 1].pool.live_bytes, 0);
    assert_int_equal(all[201].heap.allocations, 2); /* ours and the exited thread's */
    assert_int_equal(all[201].heap.live_bytes, HEAP_BYTES);
    st = stats_of(a);
    assert_non_null(st);
    assert_int_equal(st->pool.live_bytes, 0);
    assert_int_equal(st->classes[2].blocks_in_use, 0);
    assert_int_equal(st->threads_seen, 2);
    free(st);
    for (int i = 1; i < MANY; i++)
        assert_int_equal(fa_heap_free(a, heap[i]), FA_OK);
    free(all);
    fa_destroy(a);
    assert_int_equal(c.bytes_out, 0);
}

/* A caller built against version 3 gets that layout, named by its version
 * or by its size alone: nothing past empty_slab_bytes is written. */
static void a_version_3_caller_gets_its_layout(void **state) {
    fa_alloc *a = alloc_of(state);
    fa_stats *st = (fa_stats *)malloc(sizeof *st);
    assert_non_null(st);
    const uint32_t v3_size = (uint32_t)offsetof(fa_stats, tag_paths);
    const uint32_t asks[][2] = {{0, 3}, {v3_size, 3}, {v3_size, 0}}; /* size, version */
    for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
        memset(st, 0xee, sizeof *st);
        st->size = asks[i][0];
        st->version = asks[i][1];
        assert_int_equal(fa_stats_get(a, st), FA_OK);
        assert_int_equal(st->version, 3);
        assert_int_equal(st->size, v3_size);
        assert_int_equal(st->tag_count, 1);
        assert_int_equal(st->tag_paths, 0xeeeeeeeeeeeeeeeeull); /* untouched */
    }
    free(st);
}

static void switches_turn_parts_off(void **state) {
    struct counting c;
    struct events ev;
    fa_config cfg = test_config(&c, &ev);
    (void)state;
    cfg.disable = FA_DISABLE_STATS | FA_DISABLE_TAGS;
    fa_alloc *a = fa_create(&cfg);
    assert_non_null(a);
    fa_stats *st = (fa_stats *)calloc(1, sizeof *st);
    assert_int_equal(fa_stats_get(a, st), FA_ERR_STATE);
    assert_int_equal(fa_tag_push(a, "x"), FA_OK); /* checked, charged to the root */
    assert_int_equal(fa_budget_set(a, "x", 0, 100), FA_ERR_STATE);
    assert_int_equal(fa_budget_set(a, NULL, 0, 1000), FA_OK);
    void *p = fa_pool_alloc(a, 512);
    assert_non_null(p);
    assert_null(fa_pool_alloc(a, 600)); /* a 1024-byte block: the global budget still holds */
    assert_int_equal(fa_last_error(), FA_ERR_BUDGET);
    assert_int_equal(fa_tag_pop(a), FA_OK);
    assert_int_equal(fa_tag_pop(a), FA_ERR_STATE);
    fa_frame_record r;
    assert_int_equal(fa_history_get(a, &r, 1), 0);
    assert_int_equal(fa_pool_free(a, p), FA_OK);
    fa_destroy(a);
    free(st);

    cfg.disable = 8;
    assert_null(fa_create(&cfg));
    cfg.disable = FA_DISABLE_BUDGETS;
    cfg.frame_budget_hard = 100;
    assert_null(fa_create(&cfg));
    cfg.disable = 0;
    cfg.frame_budget_soft = 200;
    assert_null(fa_create(&cfg));
    assert_int_equal(c.bytes_out, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        FIXTURE_TEST(frame_memory_goes_to_the_innermost_path),
        FIXTURE_TEST(blocks_credit_the_path_they_were_charged_to),
        FIXTURE_TEST(attribution_is_per_thread_and_survives_exit),
        FIXTURE_TEST(each_path_has_pools_of_its_own),
        FIXTURE_TEST(tag_misuse_is_reported),
        cmocka_unit_test(switches_turn_parts_off),
        cmocka_unit_test(tables_are_sized_by_the_config),
        cmocka_unit_test(more_paths_than_fa_stats_holds),
        FIXTURE_TEST(a_version_3_caller_gets_its_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
