/* SPDX-License-Identifier: MIT */
/* A benchmark's own peak resident memory. getrusage's ru_maxrss will not do
 * when a driver starts the benchmark: Linux carries the parent's peak across
 * fork and exec into it, so under bench/run.py or tools/figures.py every peer
 * read the Python driver's 15-17 MiB. VmHWM is the peak of this process's own
 * address space. */
#ifndef BENCH_RSS_H
#define BENCH_RSS_H

#include <stdio.h>

/* KiB, or -1 where /proc/self/status has no VmHWM (not Linux). */
static long peak_rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kib = -1;
    while (kib < 0 && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kib) != 1)
            kib = -1;
    fclose(f);
    return kib;
}

#endif
