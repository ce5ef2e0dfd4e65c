/* SPDX-License-Identifier: MIT */
/* Errors and events: the one place every floor reports through. Low in the
 * house so that any file can report without calling up. */
#ifndef FA_EVENT_H
#define FA_EVENT_H

#include <stdatomic.h>

#include "framealloc.h"
#include "platform.h"

/* The longest event line, its terminating zero included. */
#define FA__EVENT_LINE 256

/* Where an allocator's events go: a copy of the config's callback fields. */
struct fa_sink {
    void (*on_event)(void *user, const fa_event *ev);
    void *user;
    int   abort_on_error;
    /* A second listener (the trace): told of every event while tap_on. */
    void (*tap)(void *ctx, const fa_event *ev);
    void       *tap_ctx;
    _Atomic int tap_on;
};

/* Sets the thread's last error, formats one line and hands it to the sink
 * (which may be NULL: then only the last error is set). Returns e, so that
 * `return fa__report(...)` reads naturally. Never call it holding a lock. */
FA__COLD fa_error fa__report(const struct fa_sink *sink, fa_error e, size_t size,
                             const char *fmt, ...) FA__PRINTF_LIKE(4, 5);

/* The same, naming the innermost tag path of the thread concerned (NULL at
 * the root). */
FA__COLD fa_error fa__report_at(const struct fa_sink *sink, const char *tag, fa_error e, size_t size,
                                const char *fmt, ...) FA__PRINTF_LIKE(5, 6);

/* The caller of the public entry point now running on this thread: the
 * site a debug level records for what it allocates, and the hot-site
 * sampler counts. Each out-of-line entry sets it (FA__SITE), which costs
 * its slow path one store. */
extern FA__TLS const void *fa__call_site;
#define FA__SITE() (fa__call_site = FA__RETURN_ADDRESS())

/* The report for a NULL allocator (no sink to send it to). */
FA__COLD fa_error fa__null_alloc(const char *fn);

#endif
