/* SPDX-License-Identifier: MIT */
/* The libFuzzer driver of the fuzz engine (engine.h): built by `make fuzz`
 * with clang's -fsanitize=fuzzer. A divergence aborts, so libFuzzer keeps
 * the input as a crash file; add it to tests/fuzz/corpus/ once fixed. */
#include <stdio.h>
#include <stdlib.h>

#include "engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void print_totals(void) {
    const struct fuzz_totals *t = fuzz_totals();
    fprintf(stderr, "fuzz: %llu inputs, %llu operations, %llu divergences\n", (unsigned long long)t->runs,
            (unsigned long long)t->ops, (unsigned long long)t->divergences);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fuzz_totals()->runs == 0)
        atexit(print_totals); /* the figures of the whole run, for docs/reliability.md */
    if (fuzz_run(data, size) != 0)
        abort();
    if (fuzz_totals()->runs % 20000 == 0)
        print_totals();
    return 0;
}
