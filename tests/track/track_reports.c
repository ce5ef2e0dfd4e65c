/* SPDX-License-Identifier: MIT */
/* What a tracked library (src/track.h: built with ASan, or with
 * FA_VALGRIND=ON) makes the memory checker report: each mode does one bad
 * access, which the checker must catch. Run by ctest only in such builds,
 * passing when the checker's report appears. The malloc- modes run at
 * FA_DEBUG_MALLOC, where every block is the memory source's own.
 *   track_reports [malloc-]after-frame | after-rewind | after-free | overflow */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framealloc.h"

static volatile char sink;

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (strncmp(mode, "malloc-", 7) == 0) {
        setenv("FRAMEALLOC_DEBUG", "malloc", 1);
        mode += 7;
    }
    fa_alloc *a = fa_create(NULL);
    fa_begin_frame(a);
    char *p = (char *)fa_frame_alloc(a, 64);
    memset(p, 1, 64);
    if (strcmp(mode, "after-frame") == 0) {
        fa_end_frame(a);
        sink = p[10]; /* frame memory after its frame */
    } else if (strcmp(mode, "after-rewind") == 0) {
        fa_mark m = fa_frame_mark(a);
        char *q = (char *)fa_frame_alloc(a, 64);
        fa_frame_rewind(a, m);
        sink = q[0];
    } else if (strcmp(mode, "after-free") == 0) {
        char *b = (char *)fa_pool_alloc(a, 64);
        fa_pool_free(a, b);
        sink = b[20]; /* a freed pool block */
    } else if (strcmp(mode, "overflow") == 0) {
        char *next = (char *)fa_frame_alloc(a, 64);
        (void)next;
        sink = p[64]; /* one past the block: its red zone */
    }
    printf("track_reports %s: no report (the library is not tracked?)\n", mode);
    return 0;
}
