/* Ground floor: compiler hints and the few platform facts every file may use. */
#ifndef FA_PLATFORM_H
#define FA_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#if defined(__GNUC__) || defined(__clang__)
#define FA__COLD __attribute__((cold, noinline))
#define FA__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define FA__PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define FA__COLD
#define FA__UNLIKELY(x) (x)
#define FA__PRINTF_LIKE(f, a)
#endif

/* x rounded up to a multiple of the power of two a; callers rule out overflow. */
static inline uintptr_t fa__align_up(uintptr_t x, size_t a) {
    return (x + (a - 1)) & ~(uintptr_t)(a - 1);
}

static inline int fa__is_pow2(size_t x) {
    return x != 0 && (x & (x - 1)) == 0;
}

/* The largest size, and alignment, a request may ask for: 2^55 bytes (32
 * PiB) is beyond every 64-bit address space in use, and keeps size plus
 * alignment plus a header from wrapping, and within the 56 bits a budget
 * counts in (budget_table.h). */
#if SIZE_MAX > 0xffffffffu
#define FA__REQUEST_MAX ((size_t)1 << 55)
#else
#define FA__REQUEST_MAX (SIZE_MAX / 4)
#endif

/* A request no allocation can meet. */
static inline int fa__cannot_be_met(size_t size, size_t align) {
    return size > FA__REQUEST_MAX || align > FA__REQUEST_MAX;
}

/* Non-zero when [p, p + size) lies within [base, base + length). */
static inline int fa__range_holds(uintptr_t base, size_t length, uintptr_t p, size_t size) {
    return p >= base && p - base <= length && size <= length - (p - base);
}

/* Doubles the room of a realloc'd array (16 elements the first time);
 * 0 when out of memory, the array unchanged. */
static inline int fa__grow(void **items, size_t *room, size_t element) {
    size_t more = *room != 0 ? *room * 2 : 16;
    void *grown = realloc(*items, more * element);
    if (grown == NULL)
        return 0;
    *items = grown;
    *room = more;
    return 1;
}

/* The monotonic clock in nanoseconds: frame times, ages, trace stamps. */
static inline uint64_t fa__now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
