/* SPDX-License-Identifier: MIT */
/* The trace: fa_trace_start and fa_trace_stop, and what writes Chrome
 * trace-event JSON (the format Perfetto UI and chrome://tracing read) as
 * it happens: each thread's frames as complete ("X") slices, the live
 * bytes of every tag path and the bytes its frame took as counters ("C")
 * at each frame end of the creating thread, every event as an instant
 * ("i").
 * Floor: API (docs/internals.md). The attribution floor reaches it through
 * the instance's trace_frame pointer, the event sink through its tap; it
 * uses stats.c for the live bytes.
 * Invariants: the file is written under the trace's lock, through a
 * FILE buffer of BUFFER bytes (the memory a trace holds is bounded, however
 * long it runs); `out` is NULL exactly while no trace runs; the trace
 * object lives from the first start to fa_destroy, so a frame end or an
 * event racing a stop finds it stopped rather than freed. A thread is
 * named in the file before its first slice. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_text.h"
#include "stats.h"
#include "trace.h"

#define BUFFER (64 * 1024)
#define NAMED_THREADS 4096 /* threads numbered beyond are left unnamed */

struct fa_trace {
    fa__mutex lock;
    FILE           *out;     /* NULL while stopped */
    char           *buffer;  /* out's */
    uint64_t        t0_ns;   /* stamps count from the start */
    int             first;   /* no event written yet: no comma before the next */
    unsigned char   named[NAMED_THREADS / 8];
    fa_stats        stats;   /* room for the creating thread's counters */
};

static void emit(void *out, const char *text, size_t n) {
    fwrite(text, 1, n, (FILE *)out);
}

/* The next event's start: a comma after the previous one. */
static void open_event(struct fa_trace *t) {
    fputs(t->first ? "\n" : ",\n", t->out);
    t->first = 0;
}

/* Microseconds since the start, to the nanosecond, printed without the
 * locale's decimal point. */
static void put_us(FILE *out, uint64_t ns) {
    fprintf(out, "%" PRIu64 ".%03u", ns / 1000, (unsigned)(ns % 1000));
}

static uint64_t since(const struct fa_trace *t, uint64_t ns) {
    return ns > t->t0_ns ? ns - t->t0_ns : 0;
}

static void name_thread(struct fa_trace *t, uint32_t thread, int is_creator) {
    if (thread >= NAMED_THREADS || (t->named[thread / 8] & (1u << (thread % 8))))
        return;
    t->named[thread / 8] |= (unsigned char)(1u << (thread % 8));
    open_event(t);
    fprintf(t->out, "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":1,\"tid\":%" PRIu32
                    ",\"args\":{\"name\":\"thread %" PRIu32 "%s\"}}",
            thread, thread, is_creator ? " (creator)" : "");
}

/* A counter event: one series per tag path (tags, n of them), value[i]
 * for path i. */
static void write_counter(struct fa_trace *t, const char *name, uint64_t now, const fa_tag_stats *tags, size_t n,
                          const uint64_t *value) {
    open_event(t);
    fprintf(t->out, "{\"ph\":\"C\",\"cat\":\"memory\",\"name\":\"%s\",\"pid\":1,\"tid\":0,\"ts\":", name);
    put_us(t->out, since(t, now));
    fputs(",\"args\":{", t->out);
    for (size_t i = 0; i < n; i++) {
        if (i != 0)
            fputc(',', t->out);
        fa__json_quote(i == 0 ? "(untagged)" : tags[i].path, emit, t->out);
        fprintf(t->out, ":%" PRIu64, value[i]);
    }
    fputs("}}", t->out);
}

/* The creating thread's frame just ended: the live bytes of each tag path
 * (its own, not its subtree's, so the series stack up to the total) as the
 * threads last published them (the frame's own memory already given back),
 * and the bytes the frame took per path. */
static void write_counters(fa_alloc *a, struct fa_trace *t, uint64_t now, const uint64_t *tag_bytes) {
    fa_tag_stats *tags = NULL;
    if (fa__stats_peek(a, &t->stats, &tags) != FA_OK)
        return;
    size_t n = (size_t)t->stats.tag_paths;
    uint64_t *live = (uint64_t *)malloc(n * sizeof *live);
    if (live != NULL) {
        for (size_t i = 0; i < n; i++)
            live[i] = fa__tag_live_bytes(&tags[i]);
        write_counter(t, "live bytes", now, tags, n, live);
        write_counter(t, "frame bytes", now, tags, n, tag_bytes);
    }
    free(live);
    free(tags);
}

static void trace_frame(fa_alloc *a, const fa_frame_event *f, const uint64_t *tag_bytes) {
    struct fa_trace *t = a->trace;
    fa__mutex_lock(&t->lock);
    if (t->out != NULL) {
        name_thread(t, f->thread, f->is_creator);
        open_event(t);
        fprintf(t->out, "{\"ph\":\"X\",\"cat\":\"frame\",\"name\":\"frame\",\"pid\":1,\"tid\":%" PRIu32 ",\"ts\":",
                f->thread);
        put_us(t->out, since(t, f->began_ns));
        fputs(",\"dur\":", t->out);
        put_us(t->out, since(t, f->ended_ns) - since(t, f->began_ns));
        fprintf(t->out,
                ",\"args\":{\"frame\":%" PRIu64 ",\"allocations\":%" PRIu64 ",\"bytes\":%" PRIu64
                ",\"peak_bytes\":%" PRIu64 "}}",
                f->frame, f->allocations, f->bytes, f->peak_bytes);
        if (f->is_creator)
            write_counters(a, t, f->ended_ns, tag_bytes);
    }
    fa__mutex_unlock(&t->lock);
}

static const char *error_name(fa_error e) {
    static const char *const names[] = {"FA_OK",    "FA_ERR_NOMEM",   "FA_ERR_BUDGET",      "FA_ERR_INVALID",
                                        "FA_ERR_STATE", "FA_ERR_FOREIGN", "FA_ERR_DOUBLE_FREE", "FA_ERR_CORRUPT"};
    return (unsigned)e < sizeof names / sizeof *names ? names[e] : "unknown";
}

/* Budget crossings and refusals, other warnings, and errors. */
static const char *category_of(const fa_event *ev) {
    if (ev->error == FA_ERR_BUDGET || (ev->error == FA_OK && strstr(ev->message, "budget") != NULL))
        return "budget";
    return ev->error == FA_OK ? "warning" : "error";
}

/* The sink's tap: called on the thread concerned, holding no library lock. */
static void trace_event(void *ctx, const fa_event *ev) {
    fa_alloc *a = (fa_alloc *)ctx;
    struct fa_trace *t = a->trace;
    const struct fa_thread *th = fa__thread_find(&a->threads);
    uint32_t thread = th != NULL ? th->number : 0;
    uint64_t now = fa__now_ns();
    fa__mutex_lock(&t->lock);
    if (t->out != NULL) {
        open_event(t);
        fprintf(t->out, "{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"%s\",\"name\":", category_of(ev));
        fa__json_quote(ev->message, emit, t->out);
        fprintf(t->out, ",\"pid\":1,\"tid\":%" PRIu32 ",\"ts\":", thread);
        put_us(t->out, since(t, now));
        fprintf(t->out, ",\"args\":{\"error\":\"%s\",\"tag\":", error_name(ev->error));
        if (ev->tag != NULL)
            fa__json_quote(ev->tag, emit, t->out);
        else
            fputs("null", t->out);
        fprintf(t->out, ",\"size\":%zu}}", ev->size);
    }
    fa__mutex_unlock(&t->lock);
}

/* The trace object, made at the first start (two racing starts make one). */
static struct fa_trace *trace_of(fa_alloc *a) {
    static fa__mutex making = FA__MUTEX_INIT;
    fa__mutex_lock(&making);
    if (a->trace == NULL) {
        struct fa_trace *t = (struct fa_trace *)calloc(1, sizeof *t);
        if (t != NULL) {
            fa__mutex_init(&t->lock);
            a->trace_frame = trace_frame;
            a->sink.tap = trace_event;
            a->sink.tap_ctx = a;
            a->trace = t;
        }
    }
    fa__mutex_unlock(&making);
    return a->trace;
}

static void watch_frames(struct fa_thread *th, void *bits) {
    atomic_fetch_or(&th->charge.observes, *(uint32_t *)bits);
}

static void unwatch_frames(struct fa_thread *th, void *bits) {
    atomic_fetch_and(&th->charge.observes, ~*(uint32_t *)bits);
}

/* Starts (or stops) telling the trace of every thread's frames and events. */
static void observe(fa_alloc *a, int on) {
    uint32_t frames = FA__OBSERVE_FRAMES;
    if (on) {
        atomic_fetch_or(&a->observing, FA__OBSERVER_TRACE);
        fa__threads_each(&a->threads, watch_frames, &frames);
    } else if ((atomic_fetch_and(&a->observing, ~FA__OBSERVER_TRACE) & ~FA__OBSERVER_TRACE) == 0) {
        fa__threads_each(&a->threads, unwatch_frames, &frames); /* no frame hook either */
    }
    atomic_store_explicit(&a->sink.tap_on, on, memory_order_release);
}

fa_error fa_trace_start(fa_alloc *a, const char *path) {
    if (a == NULL)
        return fa__null_alloc("fa_trace_start");
    if (path == NULL)
        return fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_trace_start: NULL path");
    struct fa_trace *t = trace_of(a);
    if (t == NULL)
        return fa__report(&a->sink, FA_ERR_NOMEM, sizeof *t, "fa_trace_start: no memory for the trace");
    fa__mutex_lock(&t->lock);
    int running = t->out != NULL;
    FILE *out = running ? NULL : fopen(path, "w");
    char *buffer = out != NULL ? (char *)malloc(BUFFER) : NULL;
    if (out != NULL) {
        if (buffer != NULL)
            setvbuf(out, buffer, _IOFBF, BUFFER);
        t->out = out;
        t->buffer = buffer;
        t->t0_ns = fa__now_ns();
        t->first = 1;
        memset(t->named, 0, sizeof t->named);
        fprintf(out, "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\":\"framealloc %d.%d.%d\"},"
                     "\"traceEvents\":[",
                FA_VERSION_MAJOR, FA_VERSION_MINOR, FA_VERSION_PATCH);
        open_event(t);
        fputs("{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":1,\"tid\":0,\"args\":{\"name\":\"framealloc\"}}",
              out);
        observe(a, 1);
    }
    fa__mutex_unlock(&t->lock);
    if (running)
        return fa__report(&a->sink, FA_ERR_STATE, 0, "fa_trace_start: a trace is already running");
    if (out == NULL)
        return fa__report(&a->sink, FA_ERR_INVALID, 0, "fa_trace_start: cannot open %s for writing", path);
    return FA_OK;
}

/* Finishes the file: FA_OK, or FA_ERR_STATE when writing it failed. */
static fa_error finish(struct fa_trace *t) {
    fputs("\n]}\n", t->out);
    int failed = ferror(t->out) != 0;
    failed |= fclose(t->out) != 0;
    free(t->buffer);
    t->out = NULL;
    t->buffer = NULL;
    return failed ? FA_ERR_STATE : FA_OK;
}

fa_error fa_trace_stop(fa_alloc *a) {
    if (a == NULL)
        return fa__null_alloc("fa_trace_stop");
    struct fa_trace *t = a->trace;
    int running = 0;
    fa_error e = FA_OK;
    if (t != NULL) {
        fa__mutex_lock(&t->lock);
        running = t->out != NULL;
        if (running) {
            observe(a, 0);
            e = finish(t);
        }
        fa__mutex_unlock(&t->lock);
    }
    if (!running)
        return fa__report(&a->sink, FA_ERR_STATE, 0, "fa_trace_stop: no trace is running");
    if (e != FA_OK)
        return fa__report(&a->sink, e, 0, "fa_trace_stop: writing the trace failed");
    return FA_OK;
}

void fa__trace_destroy(fa_alloc *a) {
    struct fa_trace *t = a->trace;
    if (t == NULL)
        return;
    atomic_store(&a->sink.tap_on, 0); /* the events of the rest of fa_destroy are not the trace's */
    if (t->out != NULL)
        finish(t);
    fa__mutex_destroy(&t->lock);
    free(t);
    a->trace = NULL;
}
