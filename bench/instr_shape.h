/* SPDX-License-Identifier: MIT */
/* The two shapes every instruction probe measures (docs/performance.md):
 * - local: the allocator (or handle) is a local the compiler may keep in a
 *   register, and hoist any lookup out of the loop;
 * - struct: engine code's shape, the allocator read from a context struct
 *   on every call and each result stored into a `void *` array, a store
 *   the compiler must assume may change the context.
 * A probe's batches are out of line, so that each shape is compiled as it
 * would be in a program, whatever main does around it. */
#ifndef BENCH_INSTR_SHAPE_H
#define BENCH_INSTR_SHAPE_H

#include <string.h>

#define PER_ROUND 1000

#define PROBE_BATCH __attribute__((noinline))

/* "struct" as the last argument picks the struct shape. */
static inline int struct_shape(int argc, char **argv) {
    return argc > 3 && strcmp(argv[3], "struct") == 0;
}

/* Keeps the stores into ptrs. */
#define KEEP(ptrs) __asm__ volatile("" : : "r"(ptrs) : "memory")

#endif
