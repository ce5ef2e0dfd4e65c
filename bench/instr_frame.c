/* Instruction-count probe for the frame fast path (run under callgrind):
 * FRAMES frames of 1000 x 64 B fa_frame_alloc, each pointer stored. The
 * per-allocation cost is (Ir(550) - Ir(50)) / 500000, so start-up cancels. */
#include <stdio.h>
#include <stdlib.h>

#include "framealloc.h"

#define PER_FRAME 1000

int main(int argc, char **argv) {
    int frames = argc > 1 ? atoi(argv[1]) : 550;
    static void *ptrs[PER_FRAME];
    fa_alloc *a = fa_create(NULL);
    if (a == NULL)
        return 1;
    for (int f = 0; f < frames; f++) {
        fa_begin_frame(a);
        for (int i = 0; i < PER_FRAME; i++)
            ptrs[i] = fa_frame_alloc(a, 64);
        __asm__ volatile("" : : "r"(ptrs) : "memory"); /* keep the stores */
        fa_end_frame(a);
    }
    fa_destroy(a);
    return 0;
}
