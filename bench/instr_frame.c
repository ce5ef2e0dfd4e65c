/* Instruction-count probe for the frame fast path (run under callgrind):
 * FRAMES frames of 1000 x 64 B fa_frame_alloc, each pointer stored. The
 * per-allocation cost is (Ir(550) - Ir(50)) / 500000, so start-up cancels.
 * A second argument measures a setting: "budget" (a global hard budget and
 * a per-thread-frame one), "tagged" (every frame under a pushed tag with a
 * budget of its own) or "off" (statistics, tags and budgets disabled). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framealloc.h"

#define PER_FRAME 1000

int main(int argc, char **argv) {
    int frames = argc > 1 ? atoi(argv[1]) : 550;
    const char *mode = argc > 2 ? argv[2] : "";
    static void *ptrs[PER_FRAME];
    fa_config cfg;
    fa_config_init(&cfg);
    if (strcmp(mode, "off") == 0)
        cfg.disable = FA_DISABLE_ALL;
    fa_alloc *a = fa_create(&cfg);
    if (a == NULL)
        return 1;
    int tagged = strcmp(mode, "tagged") == 0;
    if (strcmp(mode, "budget") == 0) {
        fa_budget_set(a, NULL, 0, (size_t)1 << 30);
        fa_frame_budget_set(a, 0, (size_t)1 << 20);
    }
    if (tagged)
        fa_budget_set(a, "probe", 0, (size_t)1 << 30);
    for (int f = 0; f < frames; f++) {
        fa_begin_frame(a);
        if (tagged)
            fa_tag_push(a, "probe");
        for (int i = 0; i < PER_FRAME; i++)
            ptrs[i] = fa_frame_alloc(a, 64);
        __asm__ volatile("" : : "r"(ptrs) : "memory"); /* keep the stores */
        if (tagged)
            fa_tag_pop(a);
        fa_end_frame(a);
    }
    fa_destroy(a);
    return 0;
}
