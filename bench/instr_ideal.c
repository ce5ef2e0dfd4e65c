/* Instruction-count probe for the references (bench/ideal.h), the same
 * loops as instr_frame.c and instr_pool.c: `instr_ideal ROUNDS bump` runs
 * 1000 x 64 B bump allocations per round, `instr_ideal ROUNDS pool` 1000
 * pool allocations then their 1000 frees. */
#include <stdlib.h>
#include <string.h>

#include "ideal.h"

#define PER_ROUND 1000

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 550;
    int pool = argc > 2 && strcmp(argv[2], "pool") == 0;
    static void *ptrs[PER_ROUND];
    struct ideal_bump bump;
    struct ideal_pool classes;
    ideal_bump_init(&bump, (size_t)1 << 20);
    ideal_pool_init(&classes, (size_t)1 << 20);
    for (int r = 0; r < rounds; r++) {
        bump.cur = (uintptr_t)bump.base;
        for (int i = 0; i < PER_ROUND; i++)
            ptrs[i] = pool ? ideal_pool_alloc(&classes, 64) : ideal_bump_alloc(&bump, 64);
        __asm__ volatile("" : : "r"(ptrs) : "memory");
        for (int i = 0; pool && i < PER_ROUND; i++)
            ideal_pool_free(&classes, ptrs[i], 64);
    }
    free(bump.base);
    free(classes.base);
    return 0;
}
