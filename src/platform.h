/* SPDX-License-Identifier: MIT */
/* Ground floor: compiler hints and the few compiler facts every file may
 * use, in a GCC and Clang form and an MSVC form (clang's MSVC mode takes the
 * latter); framealloc.h has those its inline paths need (FA__LOAD,
 * fa__clz64, FA__TLS), and os.h the operating system's. */
#ifndef FA_PLATFORM_H
#define FA_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "framealloc.h"

#if defined(__GNUC__) || defined(__clang__)
#define FA__COLD __attribute__((cold, noinline))
#define FA__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define FA__COLD __declspec(noinline)
#define FA__UNLIKELY(x) (x)
#endif
#define FA__PRINTF_LIKE(f, a) FA__PRINTF(f, a)

/* Stores to words that other threads load (FA__LOAD), bit scans (x != 0)
 * and counts, and the caller's address. */
#ifdef _MSC_VER
#include <stdatomic.h>
/* A volatile store of an aligned word is one move, and a release on x64
 * (/volatile:ms, its default there); sequential consistency adds the fence. */
#define FA__STORE(p, v, order) ((void)(*FA__VOLATILE(p) = (v)), FA__FENCE_##order)
#define FA__FENCE_RELAXED ((void)0)
#define FA__FENCE_RELEASE ((void)0)
#define FA__FENCE_SEQ_CST atomic_thread_fence(memory_order_seq_cst)
#define FA__RETURN_ADDRESS() _ReturnAddress()
static inline unsigned fa__ctz64(uint64_t x) {
    unsigned long i;
    _BitScanForward64(&i, x);
    return (unsigned)i;
}
static inline unsigned fa__ctz32(uint32_t x) {
    unsigned long i;
    _BitScanForward(&i, x);
    return (unsigned)i;
}
static inline uint32_t fa__popcount64(uint64_t x) { /* __popcnt64 would need the POPCNT instruction */
    x -= (x >> 1) & 0x5555555555555555u;
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return (uint32_t)((x * 0x0101010101010101u) >> 56);
}
#else
#define FA__STORE(p, v, order) __atomic_store_n((p), (v), __ATOMIC_##order)
#define FA__RETURN_ADDRESS() __builtin_return_address(0)
static inline unsigned fa__ctz64(uint64_t x) {
    return (unsigned)__builtin_ctzll(x);
}
static inline unsigned fa__ctz32(uint32_t x) {
    return (unsigned)__builtin_ctz(x);
}
static inline uint32_t fa__popcount64(uint64_t x) {
    return (uint32_t)__builtin_popcountll(x);
}
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

#endif
