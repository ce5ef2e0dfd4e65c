/* SPDX-License-Identifier: MIT */
/* The one place a failed internal check ends up (invariant.h): it prints
 * the condition and its place on stderr, and aborts.
 * Floor: ground (docs/internals.md). It calls nothing above it: no memory,
 * structure, thread, instance, attribution or API file. Not even event.c:
 * a failed check is the library's bug, not a program's error to report. */
#include "invariant.h"

#include <stdio.h>
#include <stdlib.h>

_Noreturn void fa__assert_fail(const char *condition, const char *file, int line, const char *fn) {
    fprintf(stderr, "framealloc: internal check failed: %s (%s:%d, %s)\n", condition, file, line, fn);
    abort();
}
