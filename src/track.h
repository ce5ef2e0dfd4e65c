/* SPDX-License-Identifier: MIT */
/* Ground floor: what the library tells a memory checker about its own
 * memory, decided by how the library itself is built (docs/debugging.md):
 * built with AddressSanitizer, it poisons and unpoisons through ASan's
 * interface; built with FA_VALGRIND=1 (the FA_VALGRIND CMake option), it
 * marks memory for memcheck with client requests; otherwise every call here
 * is nothing. A tracked library sends every frame and pool allocation
 * through its slow paths (the inline paths' code is the same: their limit
 * and pool entry say "slow"), which add a red zone after each frame block. */
#ifndef FA_TRACK_H
#define FA_TRACK_H

#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FA__TRACK_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(FA__TRACK_ASAN)
#define FA__TRACK_ASAN 1
#endif

#if defined(FA__TRACK_ASAN)
#include <sanitizer/asan_interface.h>
#define FA__TRACKED 1
/* No access: freed, reset, or between blocks. */
#define fa__track_noaccess(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
/* Handed out, not yet written. */
#define fa__track_undefined(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
/* Going back to the memory source: as the source gave it. */
#define fa__track_release(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#elif defined(FA_VALGRIND) && FA_VALGRIND
#include <valgrind/memcheck.h>
#define FA__TRACKED 1
#define fa__track_noaccess(p, n) ((void)VALGRIND_MAKE_MEM_NOACCESS((p), (n)))
#define fa__track_undefined(p, n) ((void)VALGRIND_MAKE_MEM_UNDEFINED((p), (n)))
#define fa__track_release(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#else
#define FA__TRACKED 0
#define fa__track_noaccess(p, n) ((void)(p), (void)(n))
#define fa__track_undefined(p, n) ((void)(p), (void)(n))
#define fa__track_release(p, n) ((void)(p), (void)(n))
#endif

/* The red zone after every frame block of a tracked library: poisoned, and
 * not counted as frame memory (fa__arena_used leaves it out). */
#define FA__REDZONE ((size_t)(FA__TRACKED ? 16 : 0))

#endif
