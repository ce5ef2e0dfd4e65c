/* SPDX-License-Identifier: MIT */
/* The machine's NUMA nodes, asked of the kernel (numa.c) rather than of
 * libnuma, so that neither the library nor a program built against it
 * needs more than libc and pthreads. Where the kernel has no NUMA support,
 * every answer is that of a one-node machine.
 * Floor: memory, in source/ (docs/internals.md). */
#ifndef FA_NODE_H
#define FA_NODE_H

#include <stddef.h>

/* The number of nodes the kernel lists: 1 when it lists none. */
size_t fa__numa_node_count(void);
/* The node of the CPU the calling thread runs on, or -1 when unknown. */
int fa__numa_node_of_this_thread(void);

#endif
