/* SPDX-License-Identifier: MIT */
/* Errors and events: the thread's last error, fa_strerror, and the report
 * path every floor uses (fa__report), which formats one line and hands it
 * to the allocator's callback.
 * Floor: ground (docs/internals.md). It calls nothing above it: no memory,
 * structure, thread, instance, attribution or API file.
 * Invariants: last_error and last_detail are per thread, set together and
 * by errors only (an FA_OK event, a warning, leaves them). With
 * abort_on_error an error aborts once the callback has returned. No caller reports holding a lock (event.h):
 * the callback is the program's code. */
#include "event.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FA__TLS fa_error last_error = FA_OK;
FA__TLS const void *fa__call_site;
/* The line of the thread's last error event, formatted whether or not the
 * allocator has a callback (fa_last_error_detail). */
static FA__TLS char last_detail[FA__EVENT_LINE];

fa_error fa_last_error(void) {
    return last_error;
}

const char *fa_last_error_detail(void) {
    return last_detail;
}

#define STRINGIFY(x) #x
#define VERSION_STRING(major, minor, patch) STRINGIFY(major) "." STRINGIFY(minor) "." STRINGIFY(patch)

const char *fa_version(void) {
    return VERSION_STRING(FA_VERSION_MAJOR, FA_VERSION_MINOR, FA_VERSION_PATCH);
}

const char *fa_strerror(fa_error e) {
    switch (e) {
    case FA_OK: return "no error";
    case FA_ERR_NOMEM: return "out of memory: a size that cannot be met, a memory source that refused, or a full table";
    case FA_ERR_BUDGET: return "a hard budget would be exceeded";
    case FA_ERR_INVALID: return "invalid argument";
    case FA_ERR_STATE: return "call refused in the allocator's present state (fa_last_error_detail names the cause)";
    case FA_ERR_FOREIGN: return "pointer not owned by this allocator";
    case FA_ERR_DOUBLE_FREE: return "block freed twice";
    case FA_ERR_CORRUPT: return "allocator records found corrupted";
    }
    return "unknown fa_error value";
}

fa_error fa__null_alloc(const char *fn) {
    return fa__report(NULL, FA_ERR_INVALID, 0, "%s: NULL allocator", fn);
}

/* The line is formatted into a local first: the callback may fail a call
 * of its own, which rewrites the thread's detail while it reads the line. */
static fa_error vreport(const struct fa_sink *sink, const char *tag, fa_error e, size_t size,
                        const char *fmt, va_list ap) {
    char line[FA__EVENT_LINE];
    vsnprintf(line, sizeof line, fmt, ap);
    if (e != FA_OK) {
        last_error = e;
        memcpy(last_detail, line, sizeof line);
    }
    if (sink == NULL)
        return e;
    int tapped = atomic_load_explicit(&sink->tap_on, memory_order_acquire);
    if (sink->on_event != NULL || tapped) {
        fa_event ev = {e, line, tag, size};
        if (sink->on_event != NULL)
            sink->on_event(sink->user, &ev);
        if (tapped)
            sink->tap(sink->tap_ctx, &ev);
    }
    if (e != FA_OK && sink->abort_on_error)
        abort();
    return e;
}

fa_error fa__report(const struct fa_sink *sink, fa_error e, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vreport(sink, NULL, e, size, fmt, ap);
    va_end(ap);
    return e;
}

fa_error fa__report_at(const struct fa_sink *sink, const char *tag, fa_error e, size_t size,
                       const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vreport(sink, tag, e, size, fmt, ap);
    va_end(ap);
    return e;
}
