/* SPDX-License-Identifier: MIT */
/* Instruction-count probe for the frame fast path (run under callgrind):
 * ROUNDS frames of 1000 x 64 B fa_frame_alloc, each pointer stored. The
 * per-allocation cost is (Ir(550) - Ir(50)) / 500000, so start-up cancels.
 *   instr_frame ROUNDS [SETTING] [local|struct]
 * SETTING: "-" (the default configuration), "budget" (a global hard budget
 * and a per-thread-frame one), "tagged" (every frame under a pushed tag
 * with a budget of its own), "off" (statistics, tags and budgets
 * disabled), "arena" (fa_arena_alloc through the thread's handle), or
 * "empty" / "empty-off" (no allocation: fa_begin_frame + fa_end_frame
 * alone, statistics on / off). The last argument picks the shape
 * (bench/instr_shape.h). */
#include <stdlib.h>
#include <string.h>

#include "framealloc.h"
#include "instr_shape.h"

struct ctx {
    fa_alloc *fa;
    fa_arena *arena;
};

PROBE_BATCH static void batch_local(fa_alloc *a, void **ptrs) {
    for (int i = 0; i < PER_ROUND; i++)
        ptrs[i] = fa_frame_alloc(a, 64);
    KEEP(ptrs);
}

PROBE_BATCH static void batch_struct(const struct ctx *c, void **ptrs) {
    for (int i = 0; i < PER_ROUND; i++)
        ptrs[i] = fa_frame_alloc(c->fa, 64);
    KEEP(ptrs);
}

PROBE_BATCH static void arena_local(fa_arena *ar, void **ptrs) {
    for (int i = 0; i < PER_ROUND; i++)
        ptrs[i] = fa_arena_alloc(ar, 64);
    KEEP(ptrs);
}

PROBE_BATCH static void arena_struct(const struct ctx *c, void **ptrs) {
    for (int i = 0; i < PER_ROUND; i++)
        ptrs[i] = fa_arena_alloc(c->arena, 64);
    KEEP(ptrs);
}

int main(int argc, char **argv) {
    int frames = argc > 1 ? atoi(argv[1]) : 550;
    const char *mode = argc > 2 ? argv[2] : "-";
    static void *ptrs[PER_ROUND];
    fa_config cfg;
    fa_config_init(&cfg);
    if (strcmp(mode, "off") == 0 || strcmp(mode, "empty-off") == 0)
        cfg.disable = FA_DISABLE_ALL;
    if (strcmp(mode, "sites") == 0) /* hot sites at 1 in 64 of these 64 B allocations */
        cfg.site_sample_bytes = 64 * 64;
    else if (strcmp(mode, "sites-all") == 0)
        cfg.site_sample_bytes = 1;
    struct ctx c = {fa_create(&cfg), NULL};
    if (c.fa == NULL)
        return 1;
    c.arena = fa_arena_get(c.fa);
    int tagged = strcmp(mode, "tagged") == 0, empty = strncmp(mode, "empty", 5) == 0;
    int arena = strcmp(mode, "arena") == 0 || strncmp(mode, "sites", 5) == 0;
    if (strcmp(mode, "empty-trace") == 0 && fa_trace_start(c.fa, "/dev/null") != FA_OK)
        return 1;
    if (strcmp(mode, "budget") == 0) {
        fa_budget_set(c.fa, NULL, 0, (size_t)1 << 30);
        fa_frame_budget_set(c.fa, 0, (size_t)1 << 20);
    }
    if (tagged)
        fa_budget_set(c.fa, "probe", 0, (size_t)1 << 30);
    int in_struct = struct_shape(argc, argv);
    for (int f = 0; f < frames; f++) {
        fa_begin_frame(c.fa);
        if (tagged)
            fa_tag_push(c.fa, "probe");
        if (empty)
            ;
        else if (arena && in_struct)
            arena_struct(&c, ptrs);
        else if (arena)
            arena_local(c.arena, ptrs);
        else if (in_struct)
            batch_struct(&c, ptrs);
        else
            batch_local(c.fa, ptrs);
        if (tagged)
            fa_tag_pop(c.fa);
        fa_end_frame(c.fa);
    }
    fa_destroy(c.fa);
    return 0;
}
