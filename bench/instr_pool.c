/* Instruction-count probe for the pool fast paths (run under callgrind):
 * ROUNDS rounds of 1000 x 64 B fa_pool_alloc, then the 1000 fa_pool_free,
 * on one thread. The per-pair cost is (Ir(550) - Ir(50)) / 500000. A second
 * argument runs it under a pushed tag ("tagged"), or under a tag with a
 * budget of its own ("budgeted": the counting path). */
#include <stdlib.h>
#include <string.h>

#include "framealloc.h"

#define PER_ROUND 1000

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 550;
    static void *ptrs[PER_ROUND];
    fa_alloc *a = fa_create(NULL);
    if (a == NULL)
        return 1;
    const char *mode = argc > 2 ? argv[2] : "";
    if (strcmp(mode, "budgeted") == 0)
        fa_budget_set(a, "probe", 0, (size_t)1 << 30);
    if (strcmp(mode, "tagged") == 0 || strcmp(mode, "budgeted") == 0)
        fa_tag_push(a, "probe");
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < PER_ROUND; i++)
            ptrs[i] = fa_pool_alloc(a, 64);
        __asm__ volatile("" : : "r"(ptrs) : "memory");
        for (int i = 0; i < PER_ROUND; i++)
            fa_pool_free(a, ptrs[i]);
    }
    fa_destroy(a);
    return 0;
}
