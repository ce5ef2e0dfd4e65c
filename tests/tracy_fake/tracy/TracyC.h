/* SPDX-License-Identifier: MIT */
/* A stand-in for Tracy's C API (Tracy is not packaged by Debian): the
 * macros framealloc_tracy.h uses, with Tracy's names and arguments,
 * recording each call so that test_tracy can check what was forwarded. */
#ifndef FAKE_TRACY_C_H
#define FAKE_TRACY_C_H

#include <stddef.h>

struct fake_tracy {
    int         allocs, frees, frame_marks, plots;
    const void *last_ptr;
    size_t      last_size;
    const char *last_pool; /* the name's address, as Tracy keys it */
    const char *last_plot;
    double      last_value;
};
extern struct fake_tracy fake_tracy;

#define TracyCAllocN(ptr, size, name)                                                                      \
    (fake_tracy.allocs++, fake_tracy.last_ptr = (ptr), fake_tracy.last_size = (size), fake_tracy.last_pool = (name))
#define TracyCFreeN(ptr, name) (fake_tracy.frees++, fake_tracy.last_ptr = (ptr), fake_tracy.last_pool = (name))
#define TracyCPlot(name, value) (fake_tracy.plots++, fake_tracy.last_plot = (name), fake_tracy.last_value = (value))
#define TracyCFrameMark (void)fake_tracy.frame_marks++;

#endif
