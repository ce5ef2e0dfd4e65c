/* The NUMA source: the mmap source with its whole range bound to one node,
 * so every page it commits comes from that node.
 * Floor: memory, in source/ (docs/internals.md). It stands on mmap.c and
 * calls nothing above it: no structure, thread, instance, attribution or
 * API file.
 * Invariant: the node it reports is the one its range is bound to, or -1
 * when it is not bound (built without libnuma, or no such node). */
#include "event.h"
#include "source.h"

#ifdef FA_HAVE_NUMA
#include <numa.h>

/* The node the range is bound to, or -1. */
static int bind_range(struct fa_source *s, int node) {
    void *start;
    size_t size;
    fa__mmap_range(s, &start, &size);
    if (numa_available() < 0 || node > numa_max_node())
        return -1;
    numa_tonode_memory(start, size, node);
    return node;
}
#else
static int bind_range(struct fa_source *s, int node) {
    (void)s, (void)node;
    return -1; /* built without libnuma: the memory comes from wherever the system puts it */
}
#endif

fa_error fa_source_numa(fa_backend *out, int node, size_t reserve) {
    if (out == NULL || node < 0)
        return fa__report(NULL, FA_ERR_INVALID, reserve, "fa_source_numa: NULL output or negative node");
    struct fa_source *s = fa__mmap_create(reserve, FA_HUGE_NONE, "numa");
    if (s == NULL)
        return fa__report(NULL, FA_ERR_NOMEM, reserve, "fa_source_numa: the system refused the reservation");
    fa__mmap_set_node(s, bind_range(s, node));
    *out = fa__source_backend(s);
    return FA_OK;
}
