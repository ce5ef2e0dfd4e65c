/* SPDX-License-Identifier: MIT */
/* What the stress and soak programs share (beside tests/helpers.h and its
 * seeded generator): sizes from the environment, and fill patterns that tie
 * a block's bytes to its address and size, so that two blocks that overlap,
 * or a block handed out twice, show as a mismatch when it is checked. */
#ifndef FA_STRESS_WORKLOAD_H
#define FA_STRESS_WORKLOAD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* The environment variable `name` as a positive number, else `fallback`. */
static inline size_t env_size(const char *name, size_t fallback) {
    const char *text = getenv(name);
    if (text == NULL)
        return fallback;
    char *end;
    unsigned long long n = strtoull(text, &end, 10);
    return n != 0 && *end == '\0' ? (size_t)n : fallback;
}

/* Word i of a pattern: different in every word, so that a copy shifted by
 * a word does not match either. Written with memcpy: frame blocks may have
 * any alignment. */
static inline uint64_t pattern_word(uint64_t seed, size_t i) {
    return seed + i * 0x9e3779b97f4a7c15u;
}

static inline uint64_t pattern_seed(const void *p, size_t size) {
    return mix64((uintptr_t)p ^ ((uint64_t)size << 40));
}

static inline void pattern_fill(unsigned char *p, size_t size) {
    uint64_t seed = pattern_seed(p, size);
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t w = pattern_word(seed, i);
        memcpy(p + i, &w, 8);
    }
    for (; i < size; i++)
        p[i] = (unsigned char)pattern_word(seed, i);
}

static inline int pattern_ok(const unsigned char *p, size_t size) {
    uint64_t seed = pattern_seed(p, size);
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w != pattern_word(seed, i))
            return 0;
    }
    for (; i < size; i++)
        if (p[i] != (unsigned char)pattern_word(seed, i))
            return 0;
    return 1;
}

#endif
