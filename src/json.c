/* The statistics snapshot as JSON (docs/statistics.json is its schema).
 * Every object's members come from the header's field lists, so a field
 * added there is written here without an edit.
 * Floor: API, on top (docs/internals.md). It is built on the public API
 * (fa_stats_get, fa_config_get and the history calls); of the instance it
 * uses only the allocator's event sink.
 * Invariants: the text goes to the writer in pieces of PIECE bytes, and
 * once the writer refuses one nothing more is sent (FA_ERR_STATE). The
 * text is JSON whatever the numbers and the locale: no NaN or infinity,
 * '.' as the decimal point, quotes, backslashes and control bytes escaped. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "instance.h"

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

/* Quotes and backslashes escaped, control characters as \u00XX; other bytes,
 * UTF-8 included, as they are. */
static void put_str(struct out *o, const char *s) {
    put(o, "\"", 1);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(o, esc, 2);
        } else if (c < 0x20) {
            put(o, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", c));
        } else {
            put(o, (const char *)&c, 1);
        }
    }
    put(o, "\"", 1);
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
static void record(struct out *o, const fa_frame_record *s, const fa_stats *st, size_t tags) {
    enter(o, NULL, '{');
    FA_RECORD_FIELDS(MEMBER)
    enter(o, "tag_bytes", '{');
    for (size_t i = 0; i < tags; i++)
        if (s->tag_bytes[i] != 0)
            member_u64(o, st->tags[i].path, s->tag_bytes[i]);
    leave(o, '}');
    leave(o, '}');
}

static void history(struct out *o, const fa_history_summary *s, const fa_frame_record *recs, size_t n,
                    const fa_stats *st, size_t tags) {
    enter(o, "history", '{');
    enter(o, "summary", '{');
    FA_SUMMARY_FIELDS(MEMBER)
    leave(o, '}');
    enter(o, "frames", '[');
    for (size_t i = 0; i < n; i++)
        record(o, &recs[i], st, tags);
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

static void snapshot(struct out *o, const fa_stats *s, const fa_config *cfg, const fa_history_summary *sum,
                     const fa_frame_record *recs, size_t n) {
    size_t tags = (size_t)s->tag_count;
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
        tag(o, &s->tags[i]);
    leave(o, ']');
    history(o, sum, recs, n, s, tags);
    leave(o, '}');
    put(o, "\n", 1);
    flush(o);
}

/* ---- the API ------------------------------------------------------------- */

fa_error fa_write_json_to(fa_alloc *a, fa_writer write, void *user) {
    if (a == NULL)
        return fa__null_alloc("fa_write_json_to");
    if (write == NULL)
        return fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_write_json_to: NULL output");
    fa_stats st;
    memset(&st, 0, sizeof st);
    fa_error e = fa_stats_get(a, &st);
    if (e != FA_OK)
        return e;
    fa_history_summary sum;
    e = fa_history_summary_get(a, &sum);
    if (e != FA_OK)
        return e;
    fa_config cfg;
    fa_config_get(a, &cfg);
    /* Frames ended between the two calls are left for the next snapshot. */
    fa_frame_record *recs = NULL;
    size_t n = 0;
    if (sum.frames != 0) {
        recs = (fa_frame_record *)malloc((size_t)sum.frames * sizeof *recs);
        if (recs == NULL)
            return fa__report(&a->sink, FA_ERR_NOMEM, 0, "fa_write_json_to: no memory for the history");
        n = fa_history_get(a, recs, (size_t)sum.frames);
    }
    struct out o = {.write = write, .user = user};
    snapshot(&o, &st, &cfg, &sum, recs, n);
    free(recs);
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
