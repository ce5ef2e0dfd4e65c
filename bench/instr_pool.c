/* SPDX-License-Identifier: MIT */
/* Instruction-count probe for the pool fast paths (run under callgrind):
 * ROUNDS rounds of 1000 x 64 B fa_pool_alloc, then the 1000 fa_pool_free,
 * on one thread. The per-pair cost is (Ir(550) - Ir(50)) / 500000.
 *   instr_pool ROUNDS [SETTING] [local|struct]
 * SETTING: "-" (the default configuration), "tagged" (under a pushed tag),
 * "budgeted" (under a tag with a budget of its own: a charged cache) or
 * "cache" (fa_cache_alloc / fa_cache_free through the thread's handle).
 * The last argument picks the shape (bench/instr_shape.h). */
#include <stdlib.h>
#include <string.h>

#include "framealloc.h"
#include "instr_shape.h"

struct ctx {
    fa_alloc *fa;
    fa_cache *cache;
};

PROBE_BATCH static void batch_local(fa_alloc *a, void **ptrs) {
    for (int i = 0; i < PER_ROUND; i++)
        ptrs[i] = fa_pool_alloc(a, 64);
    KEEP(ptrs);
    for (int i = 0; i < PER_ROUND; i++)
        fa_pool_free(a, ptrs[i]);
}

PROBE_BATCH static void batch_struct(const struct ctx *c, void **ptrs) {
    for (int i = 0; i < PER_ROUND; i++)
        ptrs[i] = fa_pool_alloc(c->fa, 64);
    KEEP(ptrs);
    for (int i = 0; i < PER_ROUND; i++)
        fa_pool_free(c->fa, ptrs[i]);
}

PROBE_BATCH static void cache_local(fa_cache *k, void **ptrs) {
    for (int i = 0; i < PER_ROUND; i++)
        ptrs[i] = fa_cache_alloc(k, 64);
    KEEP(ptrs);
    for (int i = 0; i < PER_ROUND; i++)
        fa_cache_free(k, ptrs[i]);
}

PROBE_BATCH static void cache_struct(const struct ctx *c, void **ptrs) {
    for (int i = 0; i < PER_ROUND; i++)
        ptrs[i] = fa_cache_alloc(c->cache, 64);
    KEEP(ptrs);
    for (int i = 0; i < PER_ROUND; i++)
        fa_cache_free(c->cache, ptrs[i]);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 550;
    const char *mode = argc > 2 ? argv[2] : "-";
    static void *ptrs[PER_ROUND];
    fa_config cfg;
    fa_config_init(&cfg);
    if (strcmp(mode, "sites") == 0) /* hot sites at 1 in 64 of these 64 B allocations */
        cfg.site_sample_bytes = 64 * 64;
    else if (strcmp(mode, "sites-all") == 0)
        cfg.site_sample_bytes = 1;
    struct ctx c = {fa_create(&cfg), NULL};
    if (c.fa == NULL)
        return 1;
    c.cache = fa_cache_get(c.fa);
    if (strcmp(mode, "budgeted") == 0)
        fa_budget_set(c.fa, "probe", 0, (size_t)1 << 30);
    if (strcmp(mode, "tagged") == 0 || strcmp(mode, "budgeted") == 0)
        fa_tag_push(c.fa, "probe");
    int in_struct = struct_shape(argc, argv), cache = strcmp(mode, "cache") == 0;
    for (int r = 0; r < rounds; r++) {
        if (cache && in_struct)
            cache_struct(&c, ptrs);
        else if (cache)
            cache_local(c.cache, ptrs);
        else if (in_struct)
            batch_struct(&c, ptrs);
        else
            batch_local(c.fa, ptrs);
    }
    fa_destroy(c.fa);
    return 0;
}
