/* SPDX-License-Identifier: MIT */
/* The model-based fuzzer's engine (docs/reliability.md): decodes a byte
 * string into a sequence of framealloc calls, runs each on the library and
 * on a small reference model, and checks after every step that the two
 * agree. Three drivers share it: libFuzzer (fuzz_libfuzzer.c), a seeded
 * random driver and a corpus replay (fuzz_driver.c). */
#ifndef FA_FUZZ_ENGINE_H
#define FA_FUZZ_ENGINE_H

#include <stddef.h>
#include <stdint.h>

/* Operations decoded and divergences found, over every run of the process. */
struct fuzz_totals {
    uint64_t runs;
    uint64_t ops;
    uint64_t divergences;
};

/* Runs one input from a fresh pair of allocators to their destruction.
 * Returns 0 when the library and the model agreed throughout; otherwise 1,
 * after printing the step, the call and what differed to stderr. */
int fuzz_run(const uint8_t *data, size_t size);

/* With a non-zero level, every decoded call is printed (to replay a finding). */
void fuzz_set_trace(int level);

const struct fuzz_totals *fuzz_totals(void);

#endif
