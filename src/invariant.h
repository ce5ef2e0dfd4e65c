/* SPDX-License-Identifier: MIT */
/* Ground floor: the library's own invariants as code. FA_ASSERT_LEVEL, a
 * build option (0, the default, compiles every check out), picks how much
 * is checked:
 *   1  fa__assert: cheap facts at the boundaries between files;
 *   2  fa__assert_internal: invariants inside a structure's operations;
 *   3  fa__assert_expensive: whole-structure validators that walk lists
 *      and bitmaps (fa__arena_check, fa__slab_check, fa__chunk_cache_check,
 *      fa__heap_check, fa__extents_check).
 * These catch the library's own bugs, not a program's misuse (that is the
 * error model's, docs/errors.md, and the run-time debug levels'): a failed
 * check prints its condition and place and aborts. `make assert` runs every
 * suite at level 3. Compiled out, a condition is still type-checked, so a
 * variable used only in checks never warns. */
#ifndef FA_INVARIANT_H
#define FA_INVARIANT_H

#ifndef FA_ASSERT_LEVEL
#define FA_ASSERT_LEVEL 0
#endif

_Noreturn void fa__assert_fail(const char *condition, const char *file, int line, const char *fn);

#define FA__CHECKED(c) ((c) ? (void)0 : fa__assert_fail(#c, __FILE__, __LINE__, __func__))
#define FA__UNCHECKED(c) ((void)sizeof((c) ? 1 : 0))

#if FA_ASSERT_LEVEL >= 1
#define fa__assert(c) FA__CHECKED(c)
#else
#define fa__assert(c) FA__UNCHECKED(c)
#endif
#if FA_ASSERT_LEVEL >= 2
#define fa__assert_internal(c) FA__CHECKED(c)
#else
#define fa__assert_internal(c) FA__UNCHECKED(c)
#endif
#if FA_ASSERT_LEVEL >= 3
#define fa__assert_expensive(c) FA__CHECKED(c)
#else
#define fa__assert_expensive(c) FA__UNCHECKED(c)
#endif

#endif
