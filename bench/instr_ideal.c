/* SPDX-License-Identifier: MIT */
/* Instruction-count probe for the references (bench/ideal.h), the same
 * loops as instr_frame.c and instr_pool.c:
 *   instr_ideal ROUNDS bump|pool [local|struct]
 * runs 1000 x 64 B bump allocations per round, or 1000 pool allocations
 * then their 1000 frees, in either shape (bench/instr_shape.h). */
#include <stdlib.h>
#include <string.h>

#include "ideal.h"
#include "instr_shape.h"

struct ctx {
    struct ideal_bump *bump;
    struct ideal_pool *pool;
};

PROBE_BATCH static void bump_local(struct ideal_bump *b, void **ptrs) {
    for (int i = 0; i < PER_ROUND; i++)
        ptrs[i] = ideal_bump_alloc(b, 64);
    KEEP(ptrs);
}

PROBE_BATCH static void bump_struct(const struct ctx *c, void **ptrs) {
    for (int i = 0; i < PER_ROUND; i++)
        ptrs[i] = ideal_bump_alloc(c->bump, 64);
    KEEP(ptrs);
}

PROBE_BATCH static void pool_local(struct ideal_pool *s, void **ptrs) {
    for (int i = 0; i < PER_ROUND; i++)
        ptrs[i] = ideal_pool_alloc(s, 64);
    KEEP(ptrs);
    for (int i = 0; i < PER_ROUND; i++)
        ideal_pool_free(s, ptrs[i], 64);
}

PROBE_BATCH static void pool_struct(const struct ctx *c, void **ptrs) {
    for (int i = 0; i < PER_ROUND; i++)
        ptrs[i] = ideal_pool_alloc(c->pool, 64);
    KEEP(ptrs);
    for (int i = 0; i < PER_ROUND; i++)
        ideal_pool_free(c->pool, ptrs[i], 64);
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 550;
    int pool = argc > 2 && strcmp(argv[2], "pool") == 0, in_struct = struct_shape(argc, argv);
    static void *ptrs[PER_ROUND];
    struct ideal_bump bump;
    struct ideal_pool classes;
    ideal_bump_init(&bump, (size_t)1 << 20);
    ideal_pool_init(&classes, (size_t)1 << 20);
    struct ctx c = {&bump, &classes};
    for (int r = 0; r < rounds; r++) {
        bump.cur = (uintptr_t)bump.base;
        if (pool && in_struct)
            pool_struct(&c, ptrs);
        else if (pool)
            pool_local(&classes, ptrs);
        else if (in_struct)
            bump_struct(&c, ptrs);
        else
            bump_local(&bump, ptrs);
    }
    free(bump.base);
    free(classes.base);
    return 0;
}
