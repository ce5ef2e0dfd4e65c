/* SPDX-License-Identifier: MIT */
/* The figures a benchmark gives docs/figures.json: with FA_BENCH_FIGURES set
 * in the environment (tools/figures.py collect sets it), each figure the docs
 * quote is also printed as a line "FIGURE key value", keys as the docs' markers
 * name them; without it the output is the tables alone, as before. */
#ifndef BENCH_FIGURES_H
#define BENCH_FIGURES_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* The key is a printf format, for keys with a thread count or a name in them. */
static void bench_figure(double value, const char *key_format, ...) {
    if (getenv("FA_BENCH_FIGURES") == NULL)
        return;
    char key[128];
    va_list args;
    va_start(args, key_format);
    vsnprintf(key, sizeof key, key_format, args);
    va_end(args);
    printf("FIGURE %s %.6g\n", key, value);
}

#endif
