/* SPDX-License-Identifier: MIT */
/* The statistics snapshot as JSON (docs/statistics.json is its schema).
 * Every object's members come from the header's field lists, so a field
 * added there is written here without an edit.
 * Floor: API, on top (docs/internals.md). It is built on the public API
 * (fa_config_get, the history summary, the metrics and sites) and on
 * stats.c's snapshot of every tag path; of the instance it uses the
 * allocator's event sink and its history's copy (for the paths past
 * FA_TAG_MAX, which the public record does not hold).
 * Invariants: the text goes to the writer in pieces of PIECE bytes, and
 * once the writer refuses one nothing more is sent (FA_ERR_STATE). The
 * text is JSON whatever the numbers and the locale: no NaN or infinity,
 * '.' as the decimal point, quotes, backslashes and control bytes escaped. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "debug.h"
#include "json_text.h"
#include "stats.h"

static size_t least(size_t x, size_t y) {
    return x < y ? x : y;
}

/* The text goes out in pieces of this size: a few writer calls per snapshot,
 * not one per token. */
#define PIECE 4096

struct out {
    fa_writer write;
    void     *user;
    int       failed; /* the writer refused a piece: nothing more is sent */
    int       first;  /* no member written yet in the innermost object or array */
    int       depth;
    size_t    len;
    char      buf[PIECE];
};

static void flush(struct out *o) {
    if (!o->failed && o->len != 0 && o->write(o->user, o->buf, o->len) != 0)
        o->failed = 1;
    o->len = 0;
}

static void put(struct out *o, const char *text, size_t n) {
    while (n != 0 && !o->failed) {
        if (o->len == PIECE)
            flush(o);
        size_t room = PIECE - o->len, take = n < room ? n : room;
        memcpy(o->buf + o->len, text, take);
        o->len += take;
        text += take;
        n -= take;
    }
}

static void put_u64(struct out *o, uint64_t v) {
    char num[24];
    put(o, num, (size_t)snprintf(num, sizeof num, "%" PRIu64, v));
}

/* JSON has no NaN or infinity, and its decimal point is '.' whatever the
 * program's locale prints: the bytes that are not digits, sign or exponent
 * are that locale's decimal point. */
static void put_f64(struct out *o, double v) {
    char num[40], json[40];
    size_t n = 0;
    snprintf(num, sizeof num, "%.17g", isfinite(v) ? v : 0.0);
    for (const char *c = num; *c != '\0'; c++) {
        if (strchr("0123456789+-e", *c) != NULL)
            json[n++] = *c;
        else if (n == 0 || json[n - 1] != '.')
            json[n++] = '.';
    }
    put(o, json, n);
}

static void put_piece(void *o, const char *text, size_t n) {
    put((struct out *)o, text, n);
}

static void put_str(struct out *o, const char *s) {
    fa__json_quote(s, put_piece, o);
}

/* ---- layout: members, objects, arrays ------------------------------------ */

/* A new line, indented two spaces per level. */
static void newline(struct out *o) {
    put(o, "\n", 1);
    for (int i = 0; i < o->depth; i++)
        put(o, "  ", 2);
}

/* Starts the next member or element: a comma after the previous one. */
static void next(struct out *o) {
    if (!o->first)
        put(o, ",", 1);
    o->first = 0;
    newline(o);
}

/* A member's name, or nothing for an array element (key NULL). */
static void key(struct out *o, const char *name) {
    next(o);
    if (name != NULL) {
        put_str(o, name);
        put(o, ": ", 2);
    }
}

static void enter(struct out *o, const char *name, char bracket) {
    key(o, name);
    put(o, &bracket, 1);
    o->depth++;
    o->first = 1;
}

static void leave(struct out *o, char bracket) {
    o->depth--;
    if (!o->first) /* an empty object or array stays on one line */
        newline(o);
    put(o, &bracket, 1);
    o->first = 0;
}

static void member_u64(struct out *o, const char *name, uint64_t v) {
    key(o, name);
    put_u64(o, v);
}

static void member_f64(struct out *o, const char *name, double v) {
    key(o, name);
    put_f64(o, v);
}

static void member_str(struct out *o, const char *name, const char *v) {
    key(o, name);
    put_str(o, v);
}

/* ---- the snapshot's objects ---------------------------------------------- */

/* One member per entry of a field list, read from `s`, the struct it describes. */
#define MEMBER(type, name) member_##type(o, #name, s->name);
/* One object per kind of memory, read from the kind members of `s`. */
#define KIND(name) kind(o, #name, &s->name);

static void kind(struct out *o, const char *name, const fa_kind_stats *s) {
    enter(o, name, '{');
    FA_KIND_FIELDS(MEMBER)
    leave(o, '}');
}

static void budget(struct out *o, const char *name, const fa_budget_stats *s) {
    enter(o, name, '{');
    FA_BUDGET_FIELDS(MEMBER)
    leave(o, '}');
}

static void size_class(struct out *o, const fa_class_stats *s) {
    enter(o, NULL, '{');
    FA_CLASS_FIELDS(MEMBER)
    leave(o, '}');
}

static void tag(struct out *o, const fa_tag_stats *s) {
    enter(o, NULL, '{');
    FA_TAG_FIELDS(MEMBER)
    FA_KINDS(KIND)
    budget(o, "budget", &s->budget);
    leave(o, '}');
}

/* A frame's bytes per tag path, by name; paths it charged nothing are left out. */
static void record(struct out *o, const struct fa_history_frames *r, size_t f, const fa_tag_stats *paths,
                   size_t n) {
    const fa_frame_record *s = &r->recs[f];
    enter(o, NULL, '{');
    FA_RECORD_FIELDS(MEMBER)
    enter(o, "tag_bytes", '{');
    for (uint32_t i = 0; i < n; i++) {
        uint64_t bytes = fa__history_frame_bytes(r, f, i);
        if (bytes != 0)
            member_u64(o, paths[i].path, bytes);
    }
    leave(o, '}');
    leave(o, '}');
}

static void history(struct out *o, const fa_history_summary *s, const struct fa_history_frames *r,
                    const fa_tag_stats *paths, size_t n) {
    enter(o, "history", '{');
    enter(o, "summary", '{');
    FA_SUMMARY_FIELDS(MEMBER)
    leave(o, '}');
    enter(o, "frames", '[');
    for (size_t f = 0; f < r->count; f++)
        record(o, r, f, paths, n);
    leave(o, ']');
    leave(o, '}');
}

/* The profiling figures read besides the snapshot (profile.c). */
struct extras {
    fa_thread_metrics *threads;
    size_t             thread_count;
    fa_tag_metrics    *tags;
    size_t             tag_count;
    fa_tag_stats      *paths; /* every tag path's figures (tags[] has the first FA_TAG_MAX) */
    fa_site           *sites; /* NULL when sites are off */
    size_t             site_count;
    size_t             sample_bytes;
};

static void metrics(struct out *o, const struct extras *x) {
    enter(o, "metrics", '{');
    enter(o, "threads", '[');
    for (size_t i = 0; i < x->thread_count; i++) {
        const fa_thread_metrics *s = &x->threads[i];
        enter(o, NULL, '{');
        FA_THREAD_METRIC_FIELDS(MEMBER)
        leave(o, '}');
    }
    leave(o, ']');
    enter(o, "tags", '[');
    for (size_t i = 0; i < x->tag_count; i++) {
        const fa_tag_metrics *s = &x->tags[i];
        enter(o, NULL, '{');
        FA_TAG_METRIC_FIELDS(MEMBER)
        leave(o, '}');
    }
    leave(o, ']');
    leave(o, '}');
}

/* A site as its address and, where the dynamic linker knows it, its symbol. */
static void site(struct out *o, const fa_site *s) {
    char text[160];
    enter(o, NULL, '{');
    snprintf(text, sizeof text, "%p", s->site);
    member_str(o, "site", s->site != NULL ? text : "(table full)");
    key(o, "symbol");
    if (fa__site_symbol(s->site, text, sizeof text))
        put_str(o, text);
    else
        put(o, "null", 4);
    member_u64(o, "samples", s->samples);
    member_u64(o, "count", s->count);
    member_u64(o, "bytes", s->bytes);
    member_f64(o, "average", s->average);
    member_f64(o, "share", s->share);
    leave(o, '}');
}

static void sites(struct out *o, const struct extras *x) {
    uint64_t samples = 0;
    for (size_t i = 0; i < x->site_count; i++)
        samples += x->sites[i].samples;
    enter(o, "sites", '{');
    member_u64(o, "sample_bytes", x->sample_bytes);
    member_u64(o, "samples", samples);
    enter(o, "entries", '[');
    for (size_t i = 0; i < x->site_count; i++)
        site(o, &x->sites[i]);
    leave(o, ']');
    leave(o, '}');
}


/* The configuration in effect, so that a snapshot read later says what
 * produced it. */
static void config(struct out *o, const fa_config *s) {
    enter(o, "config", '{');
    FA_CONFIG_FIELDS(MEMBER)
    leave(o, '}');
}

/* s->tag_count is s->tag_paths here: the JSON lists every path (x->paths). */
static void snapshot(struct out *o, const fa_stats *s, const fa_config *cfg, const fa_history_summary *sum,
                     const struct fa_history_frames *r, const struct extras *x) {
    size_t tags = (size_t)s->tag_paths;
    o->first = 1;
    put(o, "{", 1);
    o->depth = 1;
    member_u64(o, "version", FA_STATS_VERSION);
    config(o, cfg);
    enter(o, "totals", '{');
    FA_TOTAL_FIELDS(MEMBER)
    FA_HELD_FIELDS(MEMBER)
    leave(o, '}');
    kind(o, "total", &s->total);
    enter(o, "kinds", '{');
    FA_KINDS(KIND)
    leave(o, '}');
    enter(o, "classes", '[');
    for (size_t i = 0; i < sizeof s->classes / sizeof s->classes[0]; i++)
        size_class(o, &s->classes[i]);
    leave(o, ']');
    enter(o, "budgets", '{');
    budget(o, "global", &s->global_budget);
    budget(o, "frame", &s->frame_budget);
    leave(o, '}');
    enter(o, "tags", '[');
    for (size_t i = 0; i < tags; i++)
        tag(o, &x->paths[i]);
    leave(o, ']');
    history(o, sum, r, x->paths, tags);
    metrics(o, x);
    if (x->sites != NULL)
        sites(o, x);
    leave(o, '}');
    put(o, "\n", 1);
    flush(o);
}

/* ---- the API ------------------------------------------------------------- */

/* An array of `count` elements of `size` bytes, 1 when count is 0 (so that
 * NULL means no memory); filled by the caller. */
static void *room_for(size_t count, size_t size) {
    return malloc((count != 0 ? count : 1) * size);
}

static void extras_free(struct extras *x) {
    free(x->paths);
    free(x->threads);
    free(x->tags);
    free(x->sites);
}

/* The metrics and sites into x (emptied, with every path's figures):
 * 0 without memory, with x still to free. A thread or site that appears
 * between the count and the copy waits for the next snapshot. */
static int extras_read(fa_alloc *a, struct extras *x, fa_tag_stats *paths) {
    memset(x, 0, sizeof *x);
    x->paths = paths;
    x->thread_count = fa_thread_metrics_get(a, NULL, 0);
    x->tag_count = fa_tag_metrics_get(a, NULL, 0);
    x->threads = (fa_thread_metrics *)room_for(x->thread_count, sizeof *x->threads);
    x->tags = (fa_tag_metrics *)room_for(x->tag_count, sizeof *x->tags);
    x->sample_bytes = a->cfg.site_sample_bytes;
    if (x->sample_bytes != 0) {
        x->site_count = FA__SITE_SLOTS + 1;
        x->sites = (fa_site *)room_for(x->site_count, sizeof *x->sites);
    }
    if (x->threads == NULL || x->tags == NULL || (x->sample_bytes != 0 && x->sites == NULL))
        return 0;
    x->thread_count = least(x->thread_count, fa_thread_metrics_get(a, x->threads, x->thread_count));
    x->tag_count = least(x->tag_count, fa_tag_metrics_get(a, x->tags, x->tag_count));
    if (x->sites != NULL)
        x->site_count = least(x->site_count, fa_sites_get(a, x->sites, x->site_count, 0.0));
    return 1;
}

fa_error fa_write_json_to(fa_alloc *a, fa_writer write, void *user) {
    if (a == NULL)
        return fa__null_alloc("fa_write_json_to");
    if (write == NULL)
        return fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_write_json_to: NULL output");
    fa_stats st;
    fa_tag_stats *paths = NULL;
    fa_error e = fa__stats_all(a, &st, &paths, "fa_write_json_to");
    if (e != FA_OK)
        return e;
    st.tag_count = st.tag_paths; /* the JSON lists every path */
    fa_history_summary sum;
    fa_history_summary_get(a, &sum); /* a and its output are known good */
    fa_config cfg;
    fa_config_get(a, &cfg);
    /* Frames ended between the calls are left for the next snapshot. */
    struct fa_history_frames r;
    struct extras x;
    int room = fa__history_take(&a->ledger->history, (size_t)sum.frames, &r);
    room = extras_read(a, &x, paths) && room;
    struct out o = {.write = write, .user = user};
    if (room)
        snapshot(&o, &st, &cfg, &sum, &r, &x);
    extras_free(&x);
    fa__history_frames_free(&r);
    if (!room)
        return fa__report(&a->sink, FA_ERR_NOMEM, 0, "fa_write_json_to: no memory for the history and metrics");
    if (o.failed)
        return fa__report(&a->sink, FA_ERR_STATE, 0, "fa_write_json_to: the output refused the snapshot");
    return FA_OK;
}

static int file_write(void *user, const char *text, size_t length) {
    FILE *f = user;
    return fwrite(text, 1, length, f) != length || ferror(f);
}

fa_error fa_write_json(fa_alloc *a, FILE *out) {
    if (a == NULL)
        return fa__null_alloc("fa_write_json");
    if (out == NULL)
        return fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_write_json: NULL output");
    fa_error e = fa_write_json_to(a, file_write, out);
    /* an error can wait in the stream's buffer until it is flushed */
    if (e == FA_OK && fflush(out) != 0)
        return fa__report(&a->sink, FA_ERR_STATE, 0, "fa_write_json: the output refused the snapshot");
    return e;
}
