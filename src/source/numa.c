/* SPDX-License-Identifier: MIT */
/* The NUMA source: the mmap source with its whole range bound to one node,
 * so every page it commits comes from that node; and the kernel's answers
 * about nodes (node.h) that the binding and the NUMA set use.
 * Floor: memory, in source/ (docs/internals.md). It stands on mmap.c and
 * calls nothing above it: no structure, thread, instance, attribution or
 * API file.
 * Invariant: the node it reports is the one its range is bound to, or -1
 * when it is not bound (no NUMA support in the kernel, or no such node).
 *
 * Why system calls and not libnuma: linked, libnuma would be a dependency
 * of every program built against framealloc; opened with dlopen, it leaves
 * loader and thread-local memory that valgrind reports at exit in every
 * program that binds a range. The three things used here (mbind, getcpu,
 * the node list in sysfs) are what libnuma itself asks. */
#define _GNU_SOURCE /* syscall */
#include <dirent.h>
#include <linux/mempolicy.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "event.h"
#include "node.h"
#include "source.h"

/* Linux allows at most 1 << 10 nodes (CONFIG_NODES_SHIFT). */
enum { MAX_NODES = 1024, BITS_PER_WORD = 8 * sizeof(unsigned long) };

size_t fa__numa_node_count(void) {
    DIR *dir = opendir("/sys/devices/system/node");
    size_t count = 0;
    if (dir != NULL) {
        for (struct dirent *e; (e = readdir(dir)) != NULL;)
            count += strncmp(e->d_name, "node", 4) == 0 && e->d_name[4] >= '0' && e->d_name[4] <= '9';
        closedir(dir);
    }
    return count > 0 ? count : 1;
}

int fa__numa_node_of_this_thread(void) {
    unsigned node;
    return syscall(SYS_getcpu, NULL, &node, NULL) == 0 ? (int)node : -1;
}

/* The node the range is bound to, or -1: where the kernel refuses (no NUMA
 * support, no such node) the memory comes from wherever the system puts it.
 * MPOL_BIND, as libnuma's numa_tonode_memory binds. */
static int bind_range(struct fa_source *s, int node) {
    if (node >= MAX_NODES)
        return -1;
    unsigned long mask[MAX_NODES / BITS_PER_WORD] = {0};
    mask[node / BITS_PER_WORD] = 1ul << (node % BITS_PER_WORD);
    void *start;
    size_t size;
    fa__mmap_range(s, &start, &size);
    /* the kernel reads one bit less than it is told, hence the + 1 */
    return syscall(SYS_mbind, start, size, MPOL_BIND, mask, MAX_NODES + 1, 0) == 0 ? node : -1;
}

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
