/* SPDX-License-Identifier: MIT */
/* The NUMA source: the mmap source with its whole range bound to one node,
 * so every page it commits comes from that node (the binding is the
 * system's: os.h).
 * Floor: memory, in source/ (docs/internals.md). It stands on mmap.c and
 * calls nothing above it: no structure, thread, instance, attribution or
 * API file.
 * Invariant: the node it reports is the one its range is bound to, or -1
 * when it is not bound (no NUMA support in the kernel, Windows without
 * VirtualAllocExNuma, or no such node). */
#include "event.h"
#include "source.h"

fa_error fa_source_numa(fa_backend *out, int node, size_t reserve) {
    if (out == NULL || node < 0)
        return fa__report(NULL, FA_ERR_INVALID, reserve, "fa_source_numa: NULL output or negative node");
    struct fa_source *s = fa__mmap_create(reserve, FA_HUGE_NONE, "numa");
    if (s == NULL)
        return fa__report(NULL, FA_ERR_NOMEM, reserve, "fa_source_numa: the system refused the reservation");
    fa__mmap_bind(s, node);
    *out = fa__source_backend(s);
    return FA_OK;
}
