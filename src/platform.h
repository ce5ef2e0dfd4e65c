/* Ground floor: compiler hints and the few platform facts every file may use. */
#ifndef FA_PLATFORM_H
#define FA_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

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

/* A request no allocation can meet: size plus alignment plus a header would
 * wrap around the address space. */
static inline int fa__cannot_be_met(size_t size, size_t align) {
    return size > SIZE_MAX / 2 || align > SIZE_MAX / 4;
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

#endif
