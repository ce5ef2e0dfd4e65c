/* SPDX-License-Identifier: MIT */
/* The NUMA allocator set: one allocator per node, each over its own NUMA
 * source, and the pick of the calling thread's node.
 * Floor: API, on top (docs/internals.md). It uses the public API only
 * (fa_create, the sources), event.c for its reports and os.h for the
 * machine's nodes.
 * Invariants: a set is whole or not at all: allocs[i] runs over
 * sources[i] for every i below count, and a failed create destroys what it
 * made. An allocator is destroyed before its source. */
#include <stdlib.h>

#include "framealloc.h"
#include "event.h"
#include "os.h"
#include "os.h"

struct fa_numa_set {
    size_t      count;
    fa_alloc  **allocs;
    fa_backend *sources;
};

static size_t node_of_this_thread(size_t count) {
    int node = fa__numa_node_now();
    return node >= 0 && (size_t)node < count ? (size_t)node : 0;
}

void fa_numa_set_destroy(fa_numa_set *set) {
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->count; i++) {
        fa_destroy(set->allocs[i]);
        fa_source_destroy(&set->sources[i]);
    }
    free(set->allocs);
    free(set->sources);
    free(set);
}

fa_numa_set *fa_numa_set_create(const fa_config *cfg, size_t reserve) {
    fa_numa_set *set = (fa_numa_set *)calloc(1, sizeof *set);
    size_t count = fa__numa_nodes();
    if (set != NULL) {
        set->allocs = (fa_alloc **)calloc(count, sizeof *set->allocs);
        set->sources = (fa_backend *)calloc(count, sizeof *set->sources);
    }
    if (set == NULL || set->allocs == NULL || set->sources == NULL) {
        fa_numa_set_destroy(set);
        fa__report(NULL, FA_ERR_NOMEM, 0, "fa_numa_set_create: no memory for the set");
        return NULL;
    }
    fa_config node_cfg;
    fa_config_init(&node_cfg);
    if (cfg != NULL)
        node_cfg = *cfg;
    for (; set->count < count; set->count++) {
        size_t i = set->count;
        if (fa_source_numa(&set->sources[i], (int)i, reserve) != FA_OK)
            break;
        node_cfg.backend = set->sources[i];
        set->allocs[i] = fa_create(&node_cfg);
        if (set->allocs[i] == NULL) {
            fa_source_destroy(&set->sources[i]);
            break;
        }
    }
    if (set->count < count) { /* the source or fa_create reported why */
        fa_numa_set_destroy(set);
        return NULL;
    }
    return set;
}

size_t fa_numa_set_count(const fa_numa_set *set) {
    if (set == NULL) {
        fa__report(NULL, FA_ERR_INVALID, 0, "fa_numa_set_count: NULL set");
        return 0;
    }
    return set->count;
}

fa_alloc *fa_numa_set_at(const fa_numa_set *set, size_t node) {
    if (set == NULL || node >= set->count) {
        fa__report(NULL, FA_ERR_INVALID, node, "fa_numa_set_at: NULL set, or node %zu past its end", node);
        return NULL;
    }
    return set->allocs[node];
}

fa_alloc *fa_numa_set_local(const fa_numa_set *set) {
    if (set == NULL) {
        fa__report(NULL, FA_ERR_INVALID, 0, "fa_numa_set_local: NULL set");
        return NULL;
    }
    return set->allocs[node_of_this_thread(set->count)];
}
