/* SPDX-License-Identifier: MIT */
/*
 * framealloc — frame-based memory allocation for real-time programs.
 *
 * One header: the public API, and the frame fast path as static inline code
 * over a small private layout (marked below). C11 and C++17.
 *
 * Allocate by intent: memory for this frame comes from a per-thread chunked
 * bump arena and is released all at once by fa_end_frame. See docs/ for the
 * guides and docs/internals.md for how it works inside.
 */
#ifndef FRAMEALLOC_H
#define FRAMEALLOC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FA_VERSION_MAJOR 0
#define FA_VERSION_MINOR 1
#define FA_VERSION_PATCH 0
/* One number to compare in a preprocessor test: FA_VERSION >= 100 is 0.1.0 or later. */
#define FA_VERSION (FA_VERSION_MAJOR * 10000 + FA_VERSION_MINOR * 100 + FA_VERSION_PATCH)

/* ---- portability ------------------------------------------------------- */

/* The compiler facts of the inline paths, in their private FA__ and fa__
 * names: a GCC and Clang form, and an MSVC form (which clang's MSVC mode,
 * defining _MSC_VER, also takes). The library's other ones are in its
 * src/platform.h; docs/platforms.md says which platforms are tested. */
#ifdef _MSC_VER
#include <intrin.h> /* _BitScanReverse64 */
#ifdef __cplusplus
#include <type_traits> /* FA__VOLATILE */
#endif
#endif

#ifdef __cplusplus
#define FA_ALIGNOF(T) alignof(T)
#define FA__MAX_ALIGN alignof(std::max_align_t)
#include <cstddef>
extern "C" {
#else
#define FA_ALIGNOF(T) _Alignof(T)
#define FA__MAX_ALIGN _Alignof(max_align_t)
#endif

#if defined(_MSC_VER)
#define FA__TLS __declspec(thread)
#elif defined(__cplusplus)
#define FA__TLS __thread /* no C++ dynamic-init wrapper: the variable is plain data */
#else
#define FA__TLS _Thread_local
#endif

/* FA_MINIMAL=1 (set by the FA_MINIMAL build option, and recorded in the
 * installed pkg-config and CMake flags) leaves the counting out of the
 * inline fast paths. A program built the other way round than its library
 * still works; it only loses or wastes those counts. */
#ifndef FA_MINIMAL
#define FA_MINIMAL 0
#endif
#if FA_MINIMAL
#define FA__TALLY(x) ((void)0)
#else
#define FA__TALLY(x) ((void)(x))
#endif

#if defined(__GNUC__) || defined(__clang__)
#define FA__LIKELY(x) __builtin_expect(!!(x), 1)
#define FA__MALLOC __attribute__((malloc, warn_unused_result))
#define FA__SLOW __attribute__((cold)) /* the inline paths' way out: laid out of their way */
#else
#define FA__LIKELY(x) (x)
#define FA__MALLOC
#define FA__SLOW
#endif
#if defined(__MINGW32__)
/* the library formats with mingw-w64's C99 printf (__USE_MINGW_ANSI_STDIO), not msvcrt's */
#define FA__PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#elif defined(__GNUC__) || defined(__clang__)
#define FA__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FA__PRINTF(f, a)
#endif

/* Windows: FA_DLL says the program uses framealloc as a DLL. The DLL's
 * package sets it (its CMake target's usage requirements, its .pc file's
 * Cflags), so that a program cannot mismatch its library; the static
 * library leaves it unset. A DLL's thread-local data is its own: the
 * fa_alloc * fast paths are then the DLL's functions (below). */
#if defined(_WIN32) && defined(FA_DLL)
#ifdef FA__DLL_EXPORT /* building the DLL */
#define FA_API __declspec(dllexport)
#else
#define FA_API __declspec(dllimport)
#endif
#elif defined(_WIN32)
#define FA_API
#elif defined(__GNUC__) || defined(__clang__)
#define FA_API __attribute__((visibility("default")))
#else
#define FA_API
#endif

/* The thread-local entries of the inline paths (fa__tls below): read in
 * place, with the cheapest model an executable or a library loaded at start
 * allows, except by a program of the Windows DLL, which cannot reach them:
 * there fa_frame_alloc, fa_frame_alloc_aligned, fa_frame_array,
 * fa_pool_alloc and fa_pool_free are FA__TLS_PATH functions of the DLL,
 * which keeps their inline bodies under FA__TLS_NAME's names. The handle
 * paths read no thread-local data and stay inline everywhere. */
#if defined(_WIN32) && defined(FA_DLL)
#define FA__TLS_PATH FA_API
#define FA__TLS_NAME(name) fa__inline_##name
#ifdef FA__DLL_EXPORT
#define FA__TLS_READ 1
#else
#define FA__TLS_READ 0
#endif
#else
#define FA__TLS_PATH static inline
#define FA__TLS_NAME(name) name
#define FA__TLS_READ 1
#endif
#if defined(_WIN32)
#define FA__TLS_API /* a DLL neither exports nor imports thread-local data */
#define FA__TLS_MODEL
#elif defined(__GNUC__) || defined(__clang__)
#define FA__TLS_API FA_API
#define FA__TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define FA__TLS_API FA_API
#define FA__TLS_MODEL
#endif

/* Loads of words that other threads store to: atomic, without making them
 * _Atomic for the code that owns them. MSVC has no __atomic builtins: a
 * volatile read of an aligned word is one load, and an acquire on x64
 * (/volatile:ms, its default there). */
#ifdef _MSC_VER
#ifdef __cplusplus
#define FA__VOLATILE(p) ((volatile std::remove_reference<decltype(*(p))>::type *)(p))
#else
#define FA__VOLATILE(p) ((volatile __typeof__(*(p)) *)(p))
#endif
#define FA__LOAD(p, order) (*FA__VOLATILE(p))
static inline int fa__clz64(unsigned long long x) { /* x != 0 */
    unsigned long i;
    _BitScanReverse64(&i, x);
    return 63 - (int)i;
}
#else
#define FA__LOAD(p, order) __atomic_load_n((p), __ATOMIC_##order)
static inline int fa__clz64(unsigned long long x) { /* x != 0 */
    return __builtin_clzll(x);
}
#endif

/* ---- errors and events ------------------------------------------------- */

typedef enum fa_error {
    FA_OK = 0,
    FA_ERR_NOMEM,       /* a size that cannot be met, the memory source refused, or a table is full */
    FA_ERR_BUDGET,      /* a hard budget would be exceeded */
    FA_ERR_INVALID,     /* a bad argument: NULL allocator, bad alignment, bad config */
    FA_ERR_STATE,       /* a call the allocator's state refuses: out of order (no frame, nested
                         * frame, stale mark), a feature off in the config, a tag stack full */
    FA_ERR_FOREIGN,     /* a pointer this allocator does not own */
    FA_ERR_DOUBLE_FREE, /* a block freed twice */
    FA_ERR_CORRUPT      /* the allocator's own records were found damaged */
} fa_error;

/* What the event callback receives on every error and warning. The strings
 * are only valid during the call. */
typedef struct fa_event {
    fa_error    error;   /* FA_OK for a warning */
    const char *message; /* one line, human readable, no trailing newline */
    const char *tag;     /* innermost tag path, or NULL */
    size_t      size;    /* the request concerned, or 0 */
} fa_event;

/* The calling thread's last error. Like errno it is set on failure and not
 * cleared by a success. */
FA_API fa_error fa_last_error(void);
/* A static, one-line description of every code (and of unknown values). */
FA_API const char *fa_strerror(fa_error e);
/* The calling thread's last error event line (the message the callback
 * gets, e.g. "fa_tag_push: the tag table is full: 64 paths at most
 * (cfg.max_tags)"), so that a program without a callback still sees the
 * cause. "" before the thread's first error; warnings leave it. Valid until
 * the thread's next failing call. */
FA_API const char *fa_last_error_detail(void);
/* The library's version, "major.minor.patch": that of the library linked,
 * which may differ from the header's FA_VERSION. */
FA_API const char *fa_version(void);

/* ---- the allocator ----------------------------------------------------- */

/* Where the allocator's memory comes from: cfg.backend, a table of two
 * functions (the memory sources further down are ready-made ones). */
typedef enum fa_backend_result {
    FA_BACKEND_OK,       /* *out holds memory of at least size bytes, aligned to align */
    FA_BACKEND_FALLBACK, /* not this one: let the system serve it (and take it back) */
    FA_BACKEND_FAIL      /* no memory: the allocation fails with FA_ERR_NOMEM */
} fa_backend_result;

/* Where every byte of frame chunks, pool slabs and large blocks comes from.
 * Called from any thread, never while the library holds a lock; deallocate
 * receives exactly the size and alignment that allocate was asked for. An
 * all-zero table is the system. */
typedef struct fa_backend {
    void *ctx;
    fa_backend_result (*allocate)(void *ctx, size_t size, size_t align, void **out);
    void (*deallocate)(void *ctx, void *ptr, size_t size, size_t align);
} fa_backend;

/* The system memory source (the malloc family), e.g. to wrap it. */
FA_API fa_backend fa_backend_system(void);

/* The allocator. */
typedef struct fa_alloc fa_alloc;

/* What a hook is told about a pool or heap block. */
typedef enum fa_block_kind { FA_BLOCK_POOL, FA_BLOCK_HEAP } fa_block_kind;

/* A thread's frame as it ended, for the frame hook and the trace. */
typedef struct fa_frame_event {
    uint64_t frame;       /* the thread's frame number (the instance's under shared frames) */
    uint32_t thread;      /* the thread's number (as in events and leak reports) */
    int      is_creator;  /* the thread whose frames fa_frame_number counts */
    uint64_t began_ns;    /* CLOCK_MONOTONIC when it began, and when it ended */
    uint64_t ended_ns;
    uint64_t allocations; /* frame allocations in it, and the bytes they consumed */
    uint64_t bytes;
    uint64_t peak_bytes;  /* its high-water mark (rewinds lower bytes, not this) */
} fa_frame_event;

/* Hooks for an outside profiler (Tracy: docs/profiling.md has the adapter),
 * called on the thread concerned, never while the library holds a lock. An
 * all-NULL table is none. With `alloc` or `release` set, every pool and
 * heap allocation and free takes the library's out-of-line path (the
 * inline ones cannot call out); frame allocations are not reported one by
 * one (they die together: the frame hook reports each frame's totals). */
typedef struct fa_hooks {
    void *user;
    void (*alloc)(void *user, fa_block_kind kind, const void *p, size_t size);
    void (*release)(void *user, fa_block_kind kind, const void *p);
    void (*frame)(void *user, const fa_frame_event *f); /* every thread's frame end */
} fa_hooks;

#define FA_CONFIG_VERSION 2

/* Zero in any field means its default, so `fa_config c = {0};` is valid. */
/* Debug levels (docs/debugging.md). Each level sends every allocation and
 * free through the library's slow paths, so the default build's inline
 * paths carry no debug branch. */
typedef enum fa_debug {
    FA_DEBUG_OFF,   /* the default build's checks */
    FA_DEBUG_GUARD, /* + fill bytes, canaries around every block, every double free,
                     * use after frame and after free, handles on the wrong thread */
    FA_DEBUG_TRACE, /* + each block's site, thread, time and backtrace; leak reports */
    FA_DEBUG_MALLOC /* pass-through: every allocation a block of its own from the memory
                     * source (malloc by default), for memory tools to see; no guards */
} fa_debug;

/* Who begins and ends frames (docs/threading.md). */
typedef enum fa_frame_mode {
    FA_FRAMES_PER_THREAD, /* every thread calls fa_begin_frame/fa_end_frame for itself */
    FA_FRAMES_SHARED      /* the creating thread begins and ends the frames of all threads;
                           * any thread allocates frame memory while one is open */
} fa_frame_mode;

/* The most frames a thread's memory can be kept in flight. */
#define FA_FRAMES_IN_FLIGHT_MAX 8

typedef struct fa_config {
    uint32_t size;    /* sizeof(fa_config) as the caller compiled it; 0: this header's */
    uint32_t version; /* FA_CONFIG_VERSION as the caller compiled it; 0: this header's */

    /* Frame arena growth: the first chunk of a thread's frame has
     * frame_chunk_first bytes, each next one frame_chunk_growth times the
     * last, up to frame_chunk_max; then every chunk has frame_chunk_max
     * bytes. A request too large for that gets a chunk of its own. */
    size_t   frame_chunk_first;  /* default 64 KiB, at least 4 KiB */
    size_t   frame_chunk_max;    /* default 1 MiB, at least frame_chunk_first */
    uint32_t frame_chunk_growth; /* default 2; 1 keeps every chunk the first size */
    size_t   frame_chunk_align;  /* alignment of chunks from the backend: default 64,
                                  * a power of two; 4096 for pages, 2 MiB for huge pages */

    /* Never aborts unless this is non-zero: then every error event is
     * followed by abort() once the callback has returned. */
    int abort_on_error;

    /* Bytes of frame chunks kept in the allocator's shared cache after frames
     * end, so that steady-state frames never call the backend. Default 32 MiB;
     * 1 keeps none. Each thread also keeps its first chunk between frames.
     * chunk_cache_frames (below) bounds how long they are kept. */
    size_t chunk_cache_limit;

    /* Pool slabs: slab_size bytes each, aligned to their size (a power of two
     * from 64 KiB to 1 MiB, default 64 KiB), and slab_reserve bytes of empty
     * ones kept for reuse rather than given back (default 1 MiB; 1 keeps none). */
    size_t slab_size;
    size_t slab_reserve;

    fa_backend backend; /* all-zero: the system allocator */

    /* Called on every error and warning, from the thread concerned, never
     * while the library holds a lock. */
    void (*on_event)(void *user, const fa_event *ev);
    void *event_user;

    /* What to leave out (FA_DISABLE_*, or'ed; 0: everything on). Building
     * with -DFA_MINIMAL=1 (the FA_MINIMAL CMake option) also takes the
     * counting out of the inline fast paths; docs/budgets-and-tags.md has
     * the measured cost of each. */
    uint32_t disable;
    /* Frames of the creating thread kept in the history (default 120). */
    uint32_t history_frames;
    /* The per-thread-frame budget every thread starts with: bytes one
     * frame of one thread may consume (0: none). fa_frame_budget_set
     * changes it later. */
    size_t frame_budget_soft;
    size_t frame_budget_hard;
    /* The debug level (default FA_DEBUG_OFF). The environment variable
     * FRAMEALLOC_DEBUG=off|guard|trace|malloc, read by fa_create, overrides
     * it, so that a shipped program can be debugged without a rebuild. */
    fa_debug debug;
    /* Frames in flight, N (0 or 1: 1; at most FA_FRAMES_IN_FLIGHT_MAX):
     * memory a thread allocates in its frame k stays valid until the end of
     * its frame k + N - 1, so that frame k can be read (by a GPU, a render
     * thread) while frame k + 1 is built. */
    uint32_t frames_in_flight;
    fa_frame_mode frame_mode; /* default FA_FRAMES_PER_THREAD */

    /* ---- version 2 (a version 1 caller's struct ends above) ---- */

    /* A cached chunk no frame has taken for this many frame ends goes back
     * to the backend (default 60; the frame ends counted are those that
     * reach the cache: see docs/memory-sources.md, "Held memory"), so that
     * one large frame does not pin its memory for the life of the process. */
    uint32_t chunk_cache_frames;
    /* The tables' sizes (0: the default; docs/budgets-and-tags.md): tag
     * paths the allocator holds, the root included (default FA_TAG_MAX,
     * the size of fa_stats.tags, at most FA_TAG_PATHS_MAX; beyond
     * FA_TAG_MAX, fa_tag_stats_get and the JSON snapshot have every path,
     * and each path costs every thread ~400 bytes); paths with a budget of their
     * own (default 31, at most FA_BUDGET_MAX); tags one thread can have
     * pushed at once, which is also the deepest path (default FA_TAG_DEPTH,
     * at most FA_TAG_DEPTH_MAX). */
    uint32_t max_tags;
    uint32_t max_budgets;
    uint32_t max_tag_depth;
    /* Hot allocation sites (fa_sites_get): 0 (the default) counts none;
     * else about one allocation per site_sample_bytes bytes allocated is
     * sampled and counted at its call site (1: every allocation, exactly).
     * Frame allocations keep their inline path, whose limit stops at the
     * next sample point; pool allocations take the out-of-line path. */
    size_t site_sample_bytes;
    fa_hooks hooks; /* all-NULL: none */
} fa_config;

/* The configuration fields with a number in them, as the JSON snapshot's
 * "config" object lists them (enums and flags as their values). */
#define FA_CONFIG_FIELDS(X)                                                          \
    X(u64, frame_chunk_first) X(u64, frame_chunk_max) X(u64, frame_chunk_growth)      \
    X(u64, frame_chunk_align) X(u64, abort_on_error) X(u64, chunk_cache_limit)        \
    X(u64, chunk_cache_frames) X(u64, slab_size) X(u64, slab_reserve) X(u64, disable) \
    X(u64, history_frames) X(u64, frame_budget_soft) X(u64, frame_budget_hard)        \
    X(u64, debug) X(u64, frames_in_flight) X(u64, frame_mode) X(u64, max_tags)         \
    X(u64, max_budgets) X(u64, max_tag_depth) X(u64, site_sample_bytes)

#define FA_DISABLE_STATS 1u   /* no counting, no history: fa_stats_get is FA_ERR_STATE */
#define FA_DISABLE_TAGS 2u    /* pushes and pops are checked, everything is charged to the root */
#define FA_DISABLE_BUDGETS 4u /* fa_budget_set and fa_frame_budget_set are FA_ERR_STATE */
#define FA_DISABLE_ALL 7u

/* Fills the defaults (size, version and every documented default). */
FA_API void fa_config_init(fa_config *cfg);
/* NULL cfg: defaults. Returns NULL with FA_ERR_INVALID for a config it cannot
 * honour, FA_ERR_NOMEM when memory for the allocator itself is missing. */
FA_API fa_alloc *fa_create(const fa_config *cfg);
/* The configuration in effect: every default filled in, the debug level
 * FRAMEALLOC_DEBUG chose. FA_ERR_INVALID for a NULL allocator or output. */
FA_API fa_error fa_config_get(const fa_alloc *a, fa_config *out);
/* Reclaims everything, including the state of live threads that used it
 * (they must not use it again). NULL is a no-op; a pointer that is not a
 * live allocator (e.g. destroyed twice) is FA_ERR_INVALID and untouched. */
FA_API void fa_destroy(fa_alloc *a);

/* ---- frames ------------------------------------------------------------ */

/* Frames are per thread: begin/end act on the calling thread's arena, and
 * frame memory stays valid until that thread's next fa_end_frame (or a rewind
 * past it; with N frames in flight, until the end of its frame k + N - 1).
 * A nested begin or an end without begin is FA_ERR_STATE. Under
 * FA_FRAMES_SHARED only the creating thread begins and ends frames, for all
 * threads (docs/threading.md). */
FA_API fa_error fa_begin_frame(fa_alloc *a);
FA_API fa_error fa_end_frame(fa_alloc *a);
/* Frames begun so far on the thread that created the allocator (0 before the
 * first; 1 during the first). */
FA_API uint64_t fa_frame_number(const fa_alloc *a);

/* Allocation. NULL on failure, with the thread's last error and an event:
 * FA_ERR_STATE outside a frame, FA_ERR_NOMEM for a size that cannot be met,
 * FA_ERR_INVALID for an alignment that is 0 or not a power of two. Size 0
 * gives a unique pointer. `a` must be a live allocator (not checked inline). */

/* Aligned for any object of that size: to the largest power of two dividing
 * size, at most alignof(max_align_t). */
FA__TLS_PATH void *fa_frame_alloc(fa_alloc *a, size_t size);
/* Aligned to align (any power of two: 64, 4096, 65536 all work). */
FA__TLS_PATH void *fa_frame_alloc_aligned(fa_alloc *a, size_t size, size_t align);
/* count elements of size bytes, aligned to align, in one allocation. */
FA__TLS_PATH void *fa_frame_array(fa_alloc *a, size_t count, size_t size, size_t align);
/* count * size bytes, zeroed, overflow-checked. */
FA_API void *fa_frame_calloc(fa_alloc *a, size_t count, size_t size) FA__MALLOC;
FA_API char *fa_frame_strdup(fa_alloc *a, const char *s) FA__MALLOC;
FA_API char *fa_frame_printf(fa_alloc *a, const char *fmt, ...) FA__PRINTF(2, 3) FA__MALLOC;
FA_API char *fa_frame_vprintf(fa_alloc *a, const char *fmt, va_list ap) FA__PRINTF(2, 0) FA__MALLOC;

#define fa_frame_new(a, T) ((T *)fa_frame_alloc_aligned((a), sizeof(T), FA_ALIGNOF(T)))
#define fa_frame_new_array(a, T, n) ((T *)fa_frame_array((a), (n), sizeof(T), FA_ALIGNOF(T)))

/* A position in the calling thread's frame, to rewind to: everything
 * allocated after it is released at once (chunks taken since go back to the
 * cache). Marks nest like a stack and stay valid across chunk boundaries.
 * Taken by value; the fields are private. */
typedef struct fa_mark {
    const void *fa__thread;
    uint64_t    fa__frame;
    const void *fa__chunk;
    uintptr_t   fa__pos;
    uint32_t    fa__seq;
    uint32_t    fa__top;
    size_t      fa__used;   /* frame bytes consumed at the mark */
    uint64_t    fa__allocs; /* frame allocations made before it */
} fa_mark;

/* Outside a frame: FA_ERR_STATE and an empty mark that no rewind accepts. */
FA_API fa_mark fa_frame_mark(fa_alloc *a);
/* A mark of another thread, allocator or frame, or one past the current
 * position, is FA_ERR_STATE with no effect. */
FA_API fa_error fa_frame_rewind(fa_alloc *a, fa_mark m);

/* Frame memory that grows: in place when p is the thread's last frame
 * allocation and its chunk has room (growing or shrinking), else a new
 * block (aligned as fa_frame_alloc aligns new_size) holding the first
 * min(old_size, new_size) bytes. The caller vouches for old_size (the debug
 * levels check it). p NULL allocates; on failure NULL, p untouched. */
FA_API void *fa_frame_realloc(fa_alloc *a, void *p, size_t old_size, size_t new_size);

/* The calling thread's frame figures for this allocator: the current frame,
 * or after fa_end_frame the one just ended. */
typedef struct fa_frame_info {
    uint64_t frame;       /* frames begun on this thread for this allocator */
    int      in_frame;    /* non-zero between begin and end */
    uint64_t allocations; /* frame allocations in that frame */
    size_t   bytes;       /* bytes consumed by them, alignment padding included */
    size_t   chunks;      /* chunks the thread's arena holds now (frames in flight included) */
    size_t   reserved;    /* their capacity in bytes */
} fa_frame_info;

FA_API fa_error fa_frame_info_get(fa_alloc *a, fa_frame_info *out);

/* The arena handle: the hot-loop form. fa_arena_get fetches once what the
 * calls above look up from `a` on every call, the calling thread's frame
 * arena in `a`; keep it in an engine system's struct, or in a local before
 * a hot loop, and the inline calls cost the bare bump plus one allocation
 * count. A handle (this one or the pool cache's below) belongs to the
 * thread that got it and is valid until that thread exits or the
 * allocator is destroyed. Every call through it follows the rules of the
 * call it mirrors (outside a frame: NULL and FA_ERR_STATE); a NULL handle
 * is FA_ERR_INVALID, in the inline calls too. */
typedef struct fa_arena fa_arena;

/* The calling thread's frame arena in `a` (its state made on first use).
 * NULL with FA_ERR_INVALID for a NULL allocator, FA_ERR_NOMEM when there is
 * no memory for the thread's state. */
FA_API fa_arena *fa_arena_get(fa_alloc *a);
/* fa_frame_alloc, fa_frame_alloc_aligned and fa_frame_array through it. */
static inline void *fa_arena_alloc(fa_arena *ar, size_t size);
static inline void *fa_arena_alloc_aligned(fa_arena *ar, size_t size, size_t align);
static inline void *fa_arena_array(fa_arena *ar, size_t count, size_t size, size_t align);
#define fa_arena_new(ar, T) ((T *)fa_arena_alloc_aligned((ar), sizeof(T), FA_ALIGNOF(T)))
#define fa_arena_new_array(ar, T, n) ((T *)fa_arena_array((ar), (n), sizeof(T), FA_ALIGNOF(T)))
/* fa_frame_realloc through the handle, the new block aligned to align. */
FA_API void *fa_arena_realloc(fa_arena *ar, void *p, size_t old_size, size_t new_size, size_t align);
/* fa_frame_mark and fa_frame_rewind through a handle. */
FA_API fa_mark fa_arena_mark(fa_arena *ar);
FA_API fa_error fa_arena_rewind(fa_arena *ar, fa_mark m);

/* Scratch arenas: bump arenas outside the frame cycle, for data that lives
 * for a level or a task, reset or destroyed explicitly; the same inline
 * fa_arena_alloc serves them, and fa_arena_realloc, _mark and _rewind work
 * on them. One thread at a time uses one (any thread, in turn). Its chunks
 * are what it costs: charged to the tag path current on the creating
 * thread (a hard budget refuses a chunk with FA_ERR_BUDGET) and counted as
 * the `scratch` kind of the statistics as they are taken. name (at most FA_TAG_NAME_MAX
 * bytes) may be NULL; capacity 0 grows by chunks without a cap, else a
 * hard cap on the bytes it hands out (beyond it NULL with FA_ERR_NOMEM). */
FA_API fa_arena *fa_arena_create(fa_alloc *a, const char *name, size_t capacity);
/* Releases everything allocated from it (its first chunk kept, as a frame
 * end keeps one); marks taken before are stale. A thread's frame arena
 * (from fa_arena_get) is FA_ERR_INVALID here. */
FA_API fa_error fa_arena_reset(fa_arena *ar);
/* Gives back all its memory. NULL is a no-op; a thread's frame arena is
 * refused with FA_ERR_INVALID. Arenas left at fa_destroy go with it. */
FA_API void fa_arena_destroy(fa_arena *ar);


/* ---- pools and the heap path ------------------------------------------ */

#define FA_POOL_CLASS_COUNT 10 /* pool size classes: 8, 16, ... 4096 bytes */

/* Memory that lives until freed, from any thread. Pools serve 0..4096 bytes
 * from ten power-of-two size classes (8, 16, ... 4096), each block aligned to
 * its class size; larger sizes fall back to the heap path, and such blocks
 * are still freed with fa_pool_free. Allocation and a free on the thread that
 * allocated take no lock and no atomic; a free on another thread takes no
 * lock (one atomic operation on the slab, two more on the statistics' live
 * figures when statistics are on). Does not need a frame. */
FA__TLS_PATH void *fa_pool_alloc(fa_alloc *a, size_t size);
/* Any thread. NULL is a no-op. A pointer this allocator does not own
 * (malloc'd, on the stack, a frame pointer, another allocator's block) is
 * FA_ERR_FOREIGN, a block freed twice FA_ERR_DOUBLE_FREE: nothing changes,
 * and no memory at the pointer is read before ownership is established. */
FA__TLS_PATH fa_error fa_pool_free(fa_alloc *a, void *p);

/* The cache handle: the calling thread's pool cache in `a`, for hot loops
 * as the arena handle above is (same lifetime, same errors). A block may
 * be freed through fa_pool_free or any thread's cache handle. */
typedef struct fa_cache fa_cache;

FA_API fa_cache *fa_cache_get(fa_alloc *a);
/* fa_pool_alloc and fa_pool_free through it. */
static inline void *fa_cache_alloc(fa_cache *c, size_t size);
static inline fa_error fa_cache_free(fa_cache *c, void *p);

/* Large blocks of any size, aligned to align (a power of two, up to 64 KiB
 * and beyond), straight from the memory source, recorded so that frees are
 * validated. NULL-free is a no-op; pool blocks are FA_ERR_FOREIGN here. */
FA_API void *fa_heap_alloc(fa_alloc *a, size_t size, size_t align) FA__MALLOC;
FA_API fa_error fa_heap_free(fa_alloc *a, void *p);

/* Growing, shrinking and sizing long-lived blocks. fa_pool_free frees every
 * block these return, so C callback tables (Vulkan's VkAllocationCallbacks,
 * SDL's or Dear ImGui's memory functions) map one to one.
 * fa_pool_realloc: p NULL allocates; size 0 frees p and returns a unique
 * zero-size block; in place while the new size stays in the block's size
 * class (a heap block: while it shrinks by less than half); else a new
 * block with the old bytes, the old one freed. On failure NULL, and p is
 * untouched. A pointer the allocator does not own is NULL with
 * FA_ERR_FOREIGN (a freed one FA_ERR_DOUBLE_FREE), nothing touched. */
FA_API void *fa_pool_realloc(fa_alloc *a, void *p, size_t size);
/* The same, the block aligned to align (a power of two): Vulkan's
 * pfnReallocation. */
FA_API void *fa_realloc_aligned(fa_alloc *a, void *p, size_t size, size_t align);
/* A pool or heap block's usable size: its size class, or a heap block's
 * size (at a debug level, the size asked for). 0 for NULL; 0 with
 * FA_ERR_FOREIGN (FA_ERR_DOUBLE_FREE) for a pointer that is not a live
 * block of the allocator, checked before the memory is read. */
FA_API size_t fa_usable_size(fa_alloc *a, const void *p);
/* count * size bytes from the pools, zeroed, overflow-checked. */
FA_API void *fa_pool_calloc(fa_alloc *a, size_t count, size_t size) FA__MALLOC;
/* A T from the pools, aligned for it. */
#define fa_pool_new(a, T)                                                                                  \
    ((T *)(sizeof(T) <= FA__POOL_MAX || FA_ALIGNOF(T) <= 64 ? fa_pool_alloc((a), sizeof(T))               \
                                                            : fa_realloc_aligned((a), NULL, sizeof(T), FA_ALIGNOF(T))))

/* Gives memory back to the source: the calling thread's cached pool blocks
 * return to their slabs, and empty slabs beyond cfg.slab_reserve and the
 * frame chunk cache go back to the backend. Also done at thread exit for the
 * exiting thread's caches. */
FA_API fa_error fa_trim(fa_alloc *a);

/* ---- tags and budgets ------------------------------------------------- */
/* docs/budgets-and-tags.md and docs/statistics.md are the guides. */

#define FA_TAG_MAX 64          /* tag paths an allocator holds by default, the root included, and
                                * the first paths fa_stats.tags and fa_frame_record.tag_bytes hold */
#define FA_TAG_PATHS_MAX 4096  /* cfg.max_tags at most */
#define FA_TAG_DEPTH 16        /* tags one thread can have pushed at once, by default */
#define FA_TAG_DEPTH_MAX 63    /* cfg.max_tag_depth at most */
#define FA_BUDGET_MAX 63       /* cfg.max_budgets at most */
#define FA_TAG_NAME_MAX 63 /* bytes in one name; names hold no '/' */

/* Pushes a tag on the calling thread's stack for this allocator: until the
 * matching pop, every frame, pool and heap allocation of this thread is
 * charged to the path of the stack ("renderer/shadows"), and a free credits
 * the path charged. The root path, "", holds what no tag covers. A new path
 * is interned once; pushing a known one takes no lock. Pool blocks come from
 * the thread's pools for the path, made at the path's first push on the
 * thread (FA_ERR_NOMEM without memory for them). */
FA_API fa_error fa_tag_push(fa_alloc *a, const char *name);
/* FA_ERR_STATE when this thread has nothing pushed. */
FA_API fa_error fa_tag_pop(fa_alloc *a);
/* Limits on the bytes consumed (rounding and padding included) by a tag
 * path and everything below it, or by all memory (tag NULL). Soft: one event
 * (FA_OK) per crossing. Hard: allocations that would exceed it fail with
 * FA_ERR_BUDGET, even between racing threads. 0 means no limit; frees, frame
 * ends and rewinds give bytes back. Set budgets before the allocations they
 * govern: a new budget starts from the live bytes of its path as the
 * statistics last saw them. Other threads see a change at their next frame
 * begin or end, tag push or pop, or slow path (a refill, a full cache, a
 * free of another path's or thread's block). Pool blocks a thread caches
 * under a budget stay charged to it (at most 1/64 of the smallest limit
 * per size class); a refusal first gives the thread's own back. */
FA_API fa_error fa_budget_set(fa_alloc *a, const char *tag, size_t soft, size_t hard);
/* The same for each thread's frame (frame memory only), from each thread's
 * next frame on. */
FA_API fa_error fa_frame_budget_set(fa_alloc *a, size_t soft, size_t hard);

/* ---- frame containers and layout helpers ------------------------------- */
/* docs/getting-started.md ("Frame containers and layout helpers") is the
 * guide. Everything here takes its memory from an arena handle (a thread's
 * frame arena from fa_arena_get, or a scratch arena) and lives as long as
 * that memory: until the frame ends, or a rewind to a mark taken before it.
 * Nothing here is freed, and only the thread that uses the arena uses them.
 * Failures follow the rest of the API: FA_ERR_INVALID for a NULL argument,
 * and an allocation's own error (FA_ERR_STATE outside a frame,
 * FA_ERR_NOMEM, FA_ERR_BUDGET) with the container unchanged. */

/* The cache line the layout helpers align to: 64 bytes on x86-64 and on
 * most ARM cores (Apple's M-series cores fetch lines in pairs of these). */
#define FA_CACHE_LINE 64
/* n bytes rounded up to whole cache lines. */
#define FA_CACHE_ROUND(n) (((size_t)(n) + (FA_CACHE_LINE - 1)) & ~(size_t)(FA_CACHE_LINE - 1))
/* Starts a variable or struct member on a cache line, so that data two
 * threads write (counters, queue ends) does not share one. */
#ifdef __cplusplus
#define FA_CACHE_ALIGNED alignas(FA_CACHE_LINE)
#else
#define FA_CACHE_ALIGNED _Alignas(FA_CACHE_LINE)
#endif

/* A growable array: one untyped core over elements of one size and
 * alignment, given at init; the typed macros below check their type's size
 * against it. It grows by doubling through fa_arena_realloc: in place
 * while its block is the arena's last allocation, else by a copy (the old
 * block stays in the arena until the frame ends). Read data, count and
 * capacity freely (and write the elements); the fa__ fields are private. */
typedef struct fa_vec {
    void     *data;        /* the elements; NULL until the first growth, moves at each growth */
    size_t    count;       /* elements in it */
    size_t    capacity;    /* elements it holds before it grows */
    fa_arena *fa__arena;   /* NULL: not initialised */
    size_t    fa__size;    /* element size */
    size_t    fa__align;   /* element alignment */
    int       fa__checked; /* indices go through the checked path (a debug level) */
} fa_vec;

/* An empty vector over ar for elements of elem_size bytes (not 0, a
 * multiple of elem_align) aligned to elem_align (a power of two). It takes
 * no memory yet. It reads the allocator's debug level once: at a debug
 * level fa_vec_at checks its index. FA_ERR_INVALID for a NULL v or ar, or
 * such a size or alignment; v is then marked uninitialised, and every call
 * on it is FA_ERR_INVALID. */
FA_API fa_error fa_vec_init(fa_vec *v, fa_arena *ar, size_t elem_size, size_t elem_align);
/* Room for at least capacity elements (exactly that many when it grows
 * here). On failure v is unchanged; a capacity that cannot be met is
 * FA_ERR_NOMEM. */
FA_API fa_error fa_vec_reserve(fa_vec *v, size_t capacity);
/* A new last element, uninitialised: its address, valid until the vector
 * grows again. NULL on failure (the errors of fa_vec_reserve), v unchanged. */
static inline void *fa_vec_push(fa_vec *v);
/* Element i's address. At FA_DEBUG_OFF an index past count is not checked
 * (a precondition); at a debug level it is NULL with FA_ERR_INVALID. */
static inline void *fa_vec_at(const fa_vec *v, size_t i);
/* Removes the last element and returns its address (its bytes stay until
 * the next push), or NULL when v is empty (no error). */
FA_API void *fa_vec_pop(fa_vec *v);
/* Removes every element; the capacity stays. */
FA_API fa_error fa_vec_clear(fa_vec *v);

/* The typed forms: T's size must be the vector's element size, else
 * FA_ERR_INVALID (NULL). fa_vec_push_value evaluates v more than once and
 * returns an fa_error. */
#define fa_vec_init_of(v, ar, T) fa_vec_init((v), (ar), sizeof(T), FA_ALIGNOF(T))
#define fa_vec_push_value(v, T, value)                                                                     \
    (fa__vec_push_as((v), sizeof(T)) != NULL ? (((T *)(v)->data)[(v)->count - 1] = (value), FA_OK)           \
                                             : fa_last_error())
#define fa_vec_at_of(v, T, i) ((T *)fa__vec_at_as((v), (i), sizeof(T)))
#define fa_vec_pop_of(v, T) ((T *)fa__vec_pop_as((v), sizeof(T)))

/* A hash map from uint64_t keys (any value: ids, handles, a string's hash
 * whose string the value lets the caller compare) to void * values (NULL
 * included), with a fixed capacity set at init: open addressing with
 * linear probing, at most 3/4 full at capacity, and backward-shift removal
 * (no tombstones: removals never lengthen lookups nor use up room). Read
 * count and capacity freely; the fa__ fields are private. */
typedef struct fa_map {
    size_t               count;     /* keys in it */
    size_t               capacity;  /* keys it can hold */
    fa_arena            *fa__arena; /* NULL: not initialised */
    struct fa__map_slot *fa__slots; /* NULL for capacity 0 */
    unsigned char       *fa__used;  /* one byte per slot: non-zero when it holds a key */
    size_t               fa__mask;  /* slots - 1 */
} fa_map;

/* An empty map over ar for up to capacity keys; its table (at most 46
 * bytes a key, cache-line aligned) is taken from ar now. Capacity 0 is a
 * valid map that takes no memory and holds nothing. FA_ERR_INVALID for a
 * NULL m or ar (m then uninitialised: every call on it is FA_ERR_INVALID);
 * on an allocation's failure, or FA_ERR_NOMEM for a capacity that cannot
 * be met, m is a valid map of capacity 0. */
FA_API fa_error fa_map_init(fa_map *m, fa_arena *ar, size_t capacity);
/* Inserts key with value, or updates the value of a key it holds. An
 * update never fails; a new key when count == capacity is FA_ERR_NOMEM,
 * the map unchanged (a full map does not grow: its table never moves). */
FA_API fa_error fa_map_put(fa_map *m, uint64_t key, void *value);
/* Non-zero when m holds key; its value then goes to *value (value may be
 * NULL). 0 with FA_ERR_INVALID for a NULL map. */
FA_API int fa_map_get(const fa_map *m, uint64_t key, void **value);
/* Non-zero when m held key, now removed. 0 with FA_ERR_INVALID for a NULL
 * map. */
FA_API int fa_map_remove(fa_map *m, uint64_t key);
/* Removes every key; the capacity stays. */
FA_API fa_error fa_map_clear(fa_map *m);

/* Structure of arrays: n_arrays arrays of count elements each in one
 * allocation from ar, array k of sizes[k]-byte elements aligned to
 * aligns[k] (a power of two), each array starting on a cache line of its
 * own (or at aligns[k] when larger); out[k] receives array k. n_arrays 0
 * does nothing. FA_ERR_INVALID for a NULL ar, sizes, aligns or out, or an
 * alignment that is not a power of two; FA_ERR_NOMEM for a layout that
 * cannot be met; on failure out is untouched. */
FA_API fa_error fa_soa_alloc(fa_arena *ar, size_t count, size_t n_arrays, const size_t sizes[],
                             const size_t aligns[], void *out[]);

/* One batch for fa_batch_run: n items at items, the whole run's items
 * first .. first + n - 1. What it allocates from ar is released when it
 * returns, so it must not grow containers made before the run; results go
 * into the items or into ctx. A result other than FA_OK ends the run. */
typedef fa_error (*fa_batch_fn)(void *ctx, fa_arena *ar, void *items, size_t first, size_t n);
/* Calls fn on count items of item_size bytes at items, batch items at a
 * time (the last batch may be shorter), and after each batch rewinds ar to
 * a mark taken before the first, so every batch gets the same scratch
 * memory. FA_OK, or fn's first error (no batch after it; its scratch still
 * released), or the rewind's; FA_ERR_INVALID for a NULL ar or fn, NULL
 * items with count > 0, or batch 0; FA_ERR_STATE outside a frame. */
FA_API fa_error fa_batch_run(fa_arena *ar, void *items, size_t count, size_t item_size, size_t batch,
                             fa_batch_fn fn, void *ctx);

/* The vector's private fast paths: a push within the capacity, an index at
 * FA_DEBUG_OFF into a vector that holds memory, each of the vector's own
 * element size. Everything else (a NULL or uninitialised vector, growth, a
 * debug level, another type) goes
 * to the slow halves in src/containers.c, which check and report. */
FA_API void *fa__vec_push_slow(fa_vec *v, size_t elem_size) FA__SLOW;
FA_API void *fa__vec_at_slow(const fa_vec *v, size_t i, size_t elem_size) FA__SLOW;
FA_API void *fa__vec_pop_as(fa_vec *v, size_t elem_size);

static inline void *fa__vec_push_as(fa_vec *v, size_t elem_size) {
    if (FA__LIKELY(v != NULL && v->count < v->capacity && v->fa__size == elem_size))
        return (char *)v->data + elem_size * v->count++;
    return fa__vec_push_slow(v, elem_size);
}

static inline void *fa__vec_at_as(const fa_vec *v, size_t i, size_t elem_size) {
    if (FA__LIKELY(v != NULL && v->data != NULL && !v->fa__checked && v->fa__size == elem_size))
        return (char *)v->data + elem_size * i;
    return fa__vec_at_slow(v, i, elem_size);
}

static inline void *fa_vec_push(fa_vec *v) {
    return fa__vec_push_as(v, v != NULL ? v->fa__size : 0);
}

static inline void *fa_vec_at(const fa_vec *v, size_t i) {
    return fa__vec_at_as(v, i, v != NULL ? v->fa__size : 0);
}
/* ---- end of frame containers and layout helpers ------------------------ */

/* ---- threads: shared frames, hand-offs, deques, barriers ---------------- */
/* docs/threading.md is the guide. */

/* A hand-off of frame memory to another thread: what it points at, whose
 * frame it is, and which. Made by the owning thread; any thread may ask
 * whether it is still alive (the owner has not released that frame's
 * memory yet: with N frames in flight, until the owner's end of frame
 * frame + N - 1). By value; an empty one (ptr NULL) is never alive. */
typedef struct fa_transfer {
    const void *ptr;
    size_t      size;
    uint32_t    thread; /* the owning thread's number (as in events and leak reports) */
    uint64_t    frame;  /* its frame the memory belongs to */
} fa_transfer;

/* [p, p + size) must lie in the calling thread's frame memory of its
 * current frame: else FA_ERR_FOREIGN (FA_ERR_STATE outside a frame) and an
 * empty transfer. */
FA_API fa_transfer fa_transfer_make(fa_alloc *a, const void *p, size_t size);
/* Non-zero while the transfer's memory is valid. The answer holds as long
 * as the caller's own synchronisation with the owner keeps the owner from
 * ending the frame that releases it. */
FA_API int fa_transfer_alive(fa_alloc *a, const fa_transfer *t);
/* The transfer's pointer while it is alive; NULL with FA_ERR_STATE (an
 * event naming the thread and frame) once it is dead. */
FA_API void *fa_transfer_get(fa_alloc *a, const fa_transfer *t);

/* Promotion: a copy of frame data that must outlive its frame, made before
 * the frame is released, in a pool block (or a heap block beyond 4096 B)
 * that fa_pool_free frees, charged to the calling thread's current tag.
 * [p, p + size) must be the calling thread's live frame memory (its
 * current frame or one still in flight): else NULL with FA_ERR_FOREIGN.
 * The copy is aligned as fa_frame_alloc (or to align) would be. */
FA_API void *fa_frame_promote(fa_alloc *a, const void *p, size_t size) FA__MALLOC;
FA_API void *fa_frame_promote_aligned(fa_alloc *a, const void *p, size_t size, size_t align) FA__MALLOC;

/* A work-stealing deque of non-NULL pointers (Chase-Lev, lock-free): the
 * thread that created it pushes and pops at one end, any thread steals
 * from the other. It grows as needed; its memory comes from `a`'s pools
 * and heap, charged to the creating thread's current tag. */
typedef struct fa_deque fa_deque;

/* initial_capacity 0: a default; rounded up to a power of two. NULL with
 * FA_ERR_INVALID for a NULL allocator, FA_ERR_NOMEM without memory. */
FA_API fa_deque *fa_deque_create(fa_alloc *a, size_t initial_capacity);
/* Owner only. NULL item: FA_ERR_INVALID. FA_ERR_NOMEM or FA_ERR_BUDGET when
 * it cannot grow (nothing changes). */
FA_API fa_error fa_deque_push(fa_deque *d, void *item);
/* Owner only: the item pushed last, or NULL when empty. */
FA_API void *fa_deque_pop(fa_deque *d);
/* Any thread: the item pushed first, or NULL when empty or when another
 * thread won the race for it (retry). */
FA_API void *fa_deque_steal(fa_deque *d);
/* Items in it now (a snapshot: others may push or take meanwhile). */
FA_API size_t fa_deque_count(const fa_deque *d);
/* No thread may use it any more. NULL is a no-op. */
FA_API void fa_deque_destroy(fa_deque *d);

/* A reusable barrier for `parties` threads, with the frame's end in it:
 * under FA_FRAMES_SHARED the last thread to arrive ends the shared frame
 * (as the creating thread's fa_end_frame would), and every thread resets
 * its own frame memory as it leaves; under per-thread frames it only
 * waits. */
typedef struct fa_barrier fa_barrier;

/* parties >= 1. NULL with FA_ERR_INVALID or FA_ERR_NOMEM. */
FA_API fa_barrier *fa_barrier_create(fa_alloc *a, unsigned parties);
/* Blocks until `parties` threads have called it for this round. */
FA_API fa_error fa_barrier_wait(fa_barrier *b);
/* No thread may wait on it any more. NULL is a no-op. */
FA_API void fa_barrier_destroy(fa_barrier *b);

/* ---- statistics, history and the JSON snapshot -------------------------- */

/* Statistics. Every structure below is generated from one field list, which
 * the JSON writer walks too (docs/statistics.json is its schema). Types:
 * u64 is uint64_t, f64 is double, str is const char *. */
#define FA_STATS_VERSION 4

/* Per kind of memory (frame, pool, heap), per tag or in total. */
#define FA_KIND_FIELDS(X)                                                            \
    X(u64, allocations) /* allocation calls served */                                \
    X(u64, frees)       /* blocks freed, or released by a frame end or rewind */     \
    X(u64, bytes)       /* bytes consumed by all of them, padding included */        \
    X(u64, live_bytes)  /* of which not given back yet */                            \
    X(u64, peak_bytes)  /* frame: largest single frame; pool, heap, scratch, total:  \
                         * highest live bytes at any publish point (below) */
/* scratch: the chunks scratch arenas (fa_arena_create) hold, an allocation
 * per chunk, charged to the path current at each arena's creation. */
#define FA_KINDS(X) X(frame) X(pool) X(heap) X(scratch)

/* A budget: all zero when none is set. */
#define FA_BUDGET_FIELDS(X)                                                          \
    X(u64, soft)           /* limits; 0: none */                                     \
    X(u64, hard)                                                                     \
    X(u64, usage)          /* bytes it counts now (the frame budget: largest frame) */ \
    X(u64, reserved)       /* usage, plus headroom and pool blocks threads hold */    \
    X(u64, soft_crossings) /* warnings sent */                                       \
    X(u64, refusals)       /* allocations refused with FA_ERR_BUDGET */

/* Pool fragmentation per size class, as the owning threads last published. */
#define FA_CLASS_FIELDS(X)                                                           \
    X(u64, block_size)                                                               \
    X(u64, slabs)         /* slabs of this class held, by threads and shared lists */ \
    X(u64, blocks_in_use) /* handed out and not freed, as published (below) */      \
    X(u64, blocks_free)   /* in slabs and caches */                                  \
    X(f64, occupancy)     /* blocks_in_use / all blocks; 0 without slabs */

/* One tag path. */
#define FA_TAG_FIELDS(X)                                                             \
    X(str, path)   /* "" for the root; valid until fa_destroy */                     \
    X(u64, parent) /* index of the parent path; the root is its own parent */        \
    X(u64, depth)  /* 0 for the root */

/* The allocator as a whole. */
#define FA_TOTAL_FIELDS(X)                                                           \
    X(u64, frame_number)   /* fa_frame_number */                                     \
    X(u64, threads_alive)  /* threads with state in this allocator now (version 2:   \
                            * `threads`) */                                          \
    X(u64, backend_calls)  /* allocate and deallocate calls made */                  \
    X(u64, backend_bytes)  /* bytes held from the backend now */                     \
    X(u64, tag_count)      /* entries of tags[] in use: the first paths, FA_TAG_MAX    \
                            * at most (tag_paths says how many there are in all) */
/* The allocator as a whole, from version 3 on: after tags[], so that a
 * version 2 caller's struct is the start of this one. */
#define FA_HELD_FIELDS(X)                                                            \
    X(u64, threads_seen)      /* threads that ever had state in it, exited included */ \
    X(u64, chunk_cache_bytes) /* of backend_bytes: frame chunks the chunk cache keeps \
                               * for later frames (cfg.chunk_cache_limit, _frames) */ \
    X(u64, empty_slab_bytes)  /* of backend_bytes: empty pool slabs kept for reuse    \
                               * (cfg.slab_reserve) */                                \
    X(u64, tag_paths)         /* version 4: tag paths the allocator holds, tags[]'s   \
                               * and any past FA_TAG_MAX (fa_tag_stats_get) */

#define FA__T_u64 uint64_t
#define FA__T_f64 double
#define FA__T_str const char *
#define FA__FIELD(type, name) FA__T_##type name;
#define FA__KIND_MEMBER(name) fa_kind_stats name;

typedef struct fa_kind_stats { FA_KIND_FIELDS(FA__FIELD) } fa_kind_stats;
typedef struct fa_budget_stats { FA_BUDGET_FIELDS(FA__FIELD) } fa_budget_stats;
typedef struct fa_class_stats { FA_CLASS_FIELDS(FA__FIELD) } fa_class_stats;

typedef struct fa_tag_stats {
    FA_TAG_FIELDS(FA__FIELD)
    FA_KINDS(FA__KIND_MEMBER) /* what was charged to this path itself */
    fa_budget_stats budget;   /* covers the path and everything below it */
} fa_tag_stats;

typedef struct fa_stats {
    uint32_t size;    /* sizeof(fa_stats) as the caller compiled it; 0: the version's */
    uint32_t version; /* FA_STATS_VERSION as the caller compiled it; 0: the size's (both 0:
                       * the library's own) */
    FA_TOTAL_FIELDS(FA__FIELD)
    fa_kind_stats   total;
    FA_KINDS(FA__KIND_MEMBER)
    fa_class_stats  classes[FA_POOL_CLASS_COUNT]; /* 8, 16, ... 4096 bytes */
    fa_budget_stats global_budget;
    fa_budget_stats frame_budget;
    fa_tag_stats    tags[FA_TAG_MAX];
    FA_HELD_FIELDS(FA__FIELD) /* version 3, and tag_paths version 4 */
} fa_stats;

/* Fills *out (whose size and version say what the caller compiled; zero
 * them, or memset the struct, for the library's own layout; either alone
 * names a layout: a caller built against version 2 or 3 gets that one,
 * version 2 the struct up to tags[]; a program that may meet a newer shared
 * library sets size = sizeof(fa_stats)).
 * Every figure covers every tag path; tags[] lists the first FA_TAG_MAX
 * (fa_tag_stats_get lists them all). Counts of other
 * threads are as they last published them: at their frame begin and end,
 * tag push and pop, and the slow paths (pool refills, heap blocks, remote
 * frees); the calling thread's are exact. The peaks of long-lived memory
 * are the highest live bytes at any such publish point or snapshot. */
FA_API fa_error fa_stats_get(fa_alloc *a, fa_stats *out);
/* Every tag path's figures, as fa_stats_get's tags[] has them, those past
 * FA_TAG_MAX included: up to max into out (root first, a path after its
 * parent); returns how many paths
 * there are in all, so that a caller whose array was too short learns the
 * size it needs. 0 with FA_ERR_INVALID for a NULL allocator or a NULL out
 * with max > 0, FA_ERR_STATE with statistics off. */
FA_API size_t fa_tag_stats_get(fa_alloc *a, fa_tag_stats *out, size_t max);

/* The per-frame history: one record per frame of the creating thread (the
 * thread whose frames fa_frame_number counts), the newest last. */
#define FA_RECORD_FIELDS(X)                                                          \
    X(u64, frame)          /* its fa_frame_number */                                 \
    X(u64, duration_ns)    /* the frame period: from the last frame's end to its   \
                            * end (the first frame: from its begin) */              \
    X(u64, allocations)    /* frame allocations in it */                             \
    X(u64, bytes)          /* bytes they consumed */                                 \
    X(u64, peak_bytes)     /* the frame's high-water mark (rewinds lower bytes) */   \
    X(u64, chunks)         /* chunks the arena held at its end */                    \
    X(u64, reserved_bytes) /* their capacity */                                      \
    X(u64, backend_calls)  /* backend calls of the whole allocator during it */  \
    X(u64, read_bytes)     /* bytes fa_bandwidth_record counted during it, read */  \
    X(u64, write_bytes)    /* and written */

typedef struct fa_frame_record {
    FA_RECORD_FIELDS(FA__FIELD)
    uint64_t tag_bytes[FA_TAG_MAX]; /* bytes of the frame charged to each path */
} fa_frame_record;

/* Copies the newest records, up to max, into out, oldest first; returns how
 * many. */
FA_API size_t fa_history_get(fa_alloc *a, fa_frame_record *out, size_t max);

/* The history summed up (the seed's generate_report). */
#define FA_SUMMARY_FIELDS(X)                                                         \
    X(u64, frames)            /* records summed */                                   \
    X(f64, avg_frame_ns)                                                             \
    X(f64, avg_allocations)                                                          \
    X(f64, avg_bytes)                                                                \
    X(u64, peak_bytes)        /* the largest peak_bytes */                           \
    X(f64, efficiency)        /* bytes / reserved_bytes over the records: how much   \
                               * of the chunks held frames really used */            \
    X(u64, p50_frame_ns)      /* frame time percentiles (nearest rank) and maximum   \
                               * over the records */                                 \
    X(u64, p95_frame_ns)                                                             \
    X(u64, p99_frame_ns)                                                             \
    X(u64, max_frame_ns)                                                             \
    X(f64, read_mbps)         /* bandwidth recorded over the records' time, in MB/s  \
                               * (10^6 bytes per second) */                          \
    X(f64, write_mbps)

typedef struct fa_history_summary { FA_SUMMARY_FIELDS(FA__FIELD) } fa_history_summary;
FA_API fa_error fa_history_summary_get(fa_alloc *a, fa_history_summary *out);

/* The snapshot as a human-readable table: the totals and kinds, the frames
 * of the history (averages, percentiles, efficiency), each tag path with
 * its budget, the pool classes in use. FA_ERR_STATE with statistics off,
 * FA_ERR_INVALID for a NULL stream. */
FA_API fa_error fa_stats_print(fa_alloc *a, FILE *out);

/* The snapshot as JSON (docs/statistics.md): totals, kinds, classes, tags,
 * budgets and the history, with "version". The writer variant sends the text
 * in pieces to write(), which returns 0 on success; a failed write stops the
 * snapshot with FA_ERR_STATE, as does a FILE error. */
typedef int (*fa_writer)(void *user, const char *text, size_t length);
FA_API fa_error fa_write_json(fa_alloc *a, FILE *out);
FA_API fa_error fa_write_json_to(fa_alloc *a, fa_writer write, void *user);

/* ---- profiling: per-thread and per-tag metrics, hot sites, bandwidth, trace
 * docs/profiling.md is the guide. */

/* One thread's frames since it first used the allocator (the history keeps
 * the creating thread's last frames; these figures are every thread's,
 * over its whole life). A thread that exited keeps its figures as they were
 * when it left: the last FA_DEPARTED_MAX such threads are kept. */
#define FA_DEPARTED_MAX 64
#define FA_THREAD_METRIC_FIELDS(X)                                                   \
    X(u64, thread)           /* its number (as in events and leak reports) */        \
    X(u64, is_creator)       /* 1 for the thread whose frames fa_frame_number counts */ \
    X(u64, frames)           /* frames it ended */                                   \
    X(u64, allocations)      /* frame allocations, and their bytes, in them */       \
    X(u64, bytes)                                                                    \
    X(f64, avg_allocations)  /* per frame */                                         \
    X(f64, avg_bytes)                                                                \
    X(u64, peak_frame_bytes) /* its largest frame */                               \
    X(u64, alive)            /* 0: it exited (its figures as they were then) */
typedef struct fa_thread_metrics { FA_THREAD_METRIC_FIELDS(FA__FIELD) } fa_thread_metrics;

/* Fills out with up to max threads' metrics, the live ones first (as each
 * last published them: at its frame ends), then those that exited, oldest
 * first (one exiting during the call may be in both); returns how many
 * there are. 0 with
 * FA_ERR_STATE when statistics are off, FA_ERR_INVALID for a NULL
 * allocator or a NULL out with max > 0. */
FA_API size_t fa_thread_metrics_get(fa_alloc *a, fa_thread_metrics *out, size_t max);

/* One tag path's frame memory over the history's frames. */
#define FA_TAG_METRIC_FIELDS(X)                                                      \
    X(str, path)       /* as in fa_tag_stats: "" for the root */                     \
    X(f64, avg_bytes)  /* frame bytes charged to the path itself, per frame */       \
    X(u64, peak_bytes) /* its most in one frame */                                   \
    X(f64, share)      /* of all the frames' bytes */
typedef struct fa_tag_metrics { FA_TAG_METRIC_FIELDS(FA__FIELD) } fa_tag_metrics;

/* Fills out with up to max paths (every path, in fa_tag_stats order) and
 * returns how many there are; errors as fa_thread_metrics_get. */
FA_API size_t fa_tag_metrics_get(fa_alloc *a, fa_tag_metrics *out, size_t max);

/* A call site of pool, heap and frame allocations, as cfg.site_sample_bytes
 * sampled them. Each sample stands for max(size, site_sample_bytes) bytes
 * (so count and bytes are estimates, exact at site_sample_bytes 1). */
typedef struct fa_site {
    const void  *site;       /* the return address into the caller; NULL gathers
                              * the sites that found the table full */
    uint64_t     samples;    /* allocations sampled there */
    uint64_t     count;      /* allocations estimated */
    uint64_t     bytes;      /* bytes estimated */
    double       average;    /* bytes per allocation */
    double       share;      /* of all sites' bytes */
    void *const *backtrace;  /* at FA_DEBUG_TRACE: the first sample's, depth
                              * return addresses (valid until fa_sites_reset
                              * or fa_destroy); else NULL */
    uint32_t     depth;
} fa_site;

/* The sites whose share is at least min_share (0: all), the largest bytes
 * first: fills out with up to max and returns how many there are. 0 with
 * FA_ERR_STATE when sites are off (cfg.site_sample_bytes 0). */
FA_API size_t fa_sites_get(fa_alloc *a, fa_site *out, size_t max, double min_share);
/* Forgets every site (e.g. between two phases to compare). */
FA_API fa_error fa_sites_reset(fa_alloc *a);

/* Bandwidth: bytes a program read and wrote, recorded by any thread with
 * no lock (relaxed atomic adds); the history gives each frame its share
 * and the summary MB/s. */
FA_API fa_error fa_bandwidth_record(fa_alloc *a, uint64_t read_bytes, uint64_t write_bytes);
/* Copies n bytes (memcpy), records n read and n written, and returns the
 * nanoseconds the copy took (0 for a NULL allocator, which copies nothing). */
FA_API uint64_t fa_bandwidth_copy(fa_alloc *a, void *dst, const void *src, size_t n);
/* Reads every byte of [p, p + n), records n read, and returns the
 * nanoseconds the scan took. */
FA_API uint64_t fa_bandwidth_scan(fa_alloc *a, const void *p, size_t n);
/* Bytes recorded so far, read and written. */
FA_API fa_error fa_bandwidth_get(fa_alloc *a, uint64_t *read_bytes, uint64_t *write_bytes);

/* The trace: Chrome trace-event JSON (Perfetto UI, chrome://tracing) written
 * to path as it happens, through a bounded buffer: each thread's frames as
 * slices, the live bytes of each tag path as counter tracks at every frame
 * end of the creating thread, and every event (budget crossings, errors) as
 * an instant. fa_trace_stop (or fa_destroy) finishes the file. A second
 * start while one runs is FA_ERR_STATE; a path that cannot be opened is
 * FA_ERR_INVALID; a stop with none running is FA_ERR_STATE. */
FA_API fa_error fa_trace_start(fa_alloc *a, const char *path);
FA_API fa_error fa_trace_stop(fa_alloc *a);

/* ---- debugging --------------------------------------------------------- */

/* The level in effect (the config's, or FRAMEALLOC_DEBUG's). */
FA_API fa_debug fa_debug_level(const fa_alloc *a);

/* The bytes the debug levels fill memory with, one per lifetime, so that a
 * crash dump says which one broke. */
#define FA_FILL_FRESH 0xCD  /* handed out and not yet written */
#define FA_FILL_RESET 0xDD  /* frame memory after its frame ended or was rewound */
#define FA_FILL_FREED 0xDF  /* a freed pool or heap block */
#define FA_FILL_CANARY 0xCA /* the guard words before and after every block (one byte 0) */
#define FA_FILL_PAD 0xAB    /* a pool block's slack past its guard */

/* Verifies the guards of every live pool and heap block and of the calling
 * thread's frame blocks: FA_ERR_CORRUPT (an event per broken guard) or
 * FA_OK. At FA_DEBUG_OFF there are no guards: FA_OK. */
FA_API fa_error fa_check(fa_alloc *a);

/* A live pool or heap block, as the leak queries report it. site, thread,
 * age_ns and the backtrace are known at FA_DEBUG_TRACE only (site at
 * FA_DEBUG_GUARD too). */
typedef struct fa_leak {
    const void        *ptr;
    size_t             size;
    const char        *kind;      /* "pool" or "heap" */
    const char        *tag;       /* its path ("" the root) */
    const void        *site;      /* where it was allocated (a return address), or NULL */
    uint32_t           thread;    /* a small number per thread, 0 when unknown */
    uint64_t           age_frames;
    uint64_t           age_ns;
    void *const       *backtrace; /* depth return addresses, or NULL */
    uint32_t           depth;
} fa_leak;

/* Live pool and heap blocks at least min_frames frames and min_ns
 * nanoseconds old (FA_DEBUG_GUARD and up): up to max into out, oldest
 * first; returns how many there are in all. Their pointers stay valid
 * until the block is freed. */
FA_API size_t fa_leak_find(fa_alloc *a, uint64_t min_frames, uint64_t min_ns, fa_leak *out, size_t max);
/* A text report of the live pool and heap blocks: at FA_DEBUG_GUARD and up
 * each one, grouped by site with counts (backtraces at FA_DEBUG_TRACE); at
 * FA_DEBUG_OFF the live bytes per size class and tag. fa_destroy at a
 * debug level sends one warning event per leak, then this report (to
 * stderr when there is no on_event callback). */
FA_API fa_error fa_leak_report(fa_alloc *a, FILE *out);

/* ---- memory sources ---------------------------------------------------- */

/* Ready memory sources (docs/memory-sources.md). Each fills *out with a
 * backend whose state the library made: put it in fa_config.backend, and
 * fa_source_destroy it once every allocator using it is destroyed. All are
 * thread-safe; a source that runs out answers FA_BACKEND_FAIL. */
typedef enum fa_huge_pages {
    FA_HUGE_NONE = 0,
    FA_HUGE_TRANSPARENT, /* madvise(MADV_HUGEPAGE) on the reserved range */
    FA_HUGE_EXPLICIT     /* MAP_HUGETLB: sizes round up to 2 MiB (Windows: large pages, docs/platforms.md) */
} fa_huge_pages;

/* Reserves `reserve` bytes of address space once (0: 4 GiB), commits pages
 * as memory is handed out and gives them back to the system (decommitted,
 * no longer resident) as soon as memory is returned. Huge pages fall back to
 * what the system offers; fa_source_info_get says what is in effect. */
FA_API fa_error fa_source_mmap(fa_backend *out, size_t reserve, fa_huge_pages huge);
/* The mmap source, with its range bound to NUMA node `node` (mbind; where
 * the kernel has no NUMA support or no such node, unbound, and info says
 * so). */
FA_API fa_error fa_source_numa(fa_backend *out, int node, size_t reserve);
/* All memory from one caller-supplied buffer, which must outlive the source. */
FA_API fa_error fa_source_fixed(fa_backend *out, void *buffer, size_t size);

/* Fault injection: wraps `inner` and answers FA_BACKEND_FAIL by rule. */
typedef enum fa_fail_mode {
    FA_FAIL_NEVER = 0,
    FA_FAIL_EVERY_NTH,   /* requests n, 2n, 3n, ... fail */
    FA_FAIL_NTH_ONCE,    /* request n fails, no other */
    FA_FAIL_AFTER_BYTES, /* any request that would take the bytes handed out past n */
    FA_FAIL_FROM_NTH     /* request n and every later one fail, until the rule changes
                          * (n 0 or 1: every request): memory that has run out */
} fa_fail_mode;
FA_API fa_error fa_source_failing(fa_backend *out, fa_backend inner, fa_fail_mode mode, size_t n);
/* Changes the rule (and restarts its count) of a failing source. */
FA_API fa_error fa_source_failing_set(const fa_backend *b, fa_fail_mode mode, size_t n);

typedef struct fa_source_info {
    const char   *name;      /* "system", "mmap", "numa", "fixed", "failing" */
    size_t        capacity;  /* the most it can hand out; 0: no limit of its own */
    size_t        in_use;    /* bytes handed out and not given back */
    uint64_t      requests;  /* allocate calls */
    uint64_t      failures;  /* of which answered FA_BACKEND_FAIL */
    fa_huge_pages huge;      /* huge pages in effect */
    int           numa_node; /* node its memory is bound to; -1: not bound */
} fa_source_info;

/* For a source made above or the system backend; FA_ERR_INVALID for a
 * backend of the caller's own. */
FA_API fa_error fa_source_info_get(const fa_backend *b, fa_source_info *out);
/* Releases a source made above (all-zero *b afterwards); others: no-op. */
FA_API void fa_source_destroy(fa_backend *b);

/* ---- NUMA: one allocator per node ------------------------------------- */

/* One allocator per NUMA node, each on a NUMA source bound to its node, and
 * each thread handed the one of the node it runs on. On a machine with one
 * node, or a kernel without NUMA support, the set has one allocator. */
typedef struct fa_numa_set fa_numa_set;

/* cfg as for fa_create (NULL: defaults; its backend is replaced per node);
 * reserve: address space each node's source reserves (0: 4 GiB). */
FA_API fa_numa_set *fa_numa_set_create(const fa_config *cfg, size_t reserve);
FA_API size_t fa_numa_set_count(const fa_numa_set *set);
/* The allocator of node `node` (0 .. count - 1), NULL past the end. */
FA_API fa_alloc *fa_numa_set_at(const fa_numa_set *set, size_t node);
/* The allocator of the node the calling thread runs on now (threads that
 * move between nodes should pin themselves, or keep the one they got). */
FA_API fa_alloc *fa_numa_set_local(const fa_numa_set *set);
/* Destroys every allocator of the set, then their sources. */
FA_API void fa_numa_set_destroy(fa_numa_set *set);

/* ======================================================================== *
 * PRIVATE: the layout the inline fast paths read. Not part of the API; it
 * changes between versions without notice. Do not use fa__ names directly.
 * ======================================================================== */

/* Instances beyond this many live at once still work, through the slow
 * path (or a handle). */
#define FA__SLOTS 16
/* The size of a fast-path entry: a power of two, so that the lookup below
 * is a shift. */
#define FA__TLS_SIZE 64
/* Requests above this take the slow path, so `cur + size` cannot wrap. */
#define FA__FAST_MAX ((size_t)1 << 24)

/* Pool size classes: 8 << c bytes for c in 0 .. FA__POOL_CLASSES - 1. */
#define FA__POOL_CLASSES FA_POOL_CLASS_COUNT
#define FA__POOL_MAX ((size_t)4096)
/* A thread caches up to 64 KiB of free blocks per class, at most 1024 blocks,
 * so that a working set of a thousand small objects stays in the cache;
 * refills and flushes move half a cache. Class c's cache is the slice
 * [c * FA__POOL_CACHE_STRIDE, + fa__pool_cache_cap(c)) of one array. */
#define FA__POOL_CACHE_STRIDE 1024

static inline unsigned fa__pool_cache_cap(unsigned cls) {
    return cls <= 3 ? 1024u : 8192u >> cls;
}

/* One size class of a thread's pool cache (for one allocator and tag
 * path): a stack of free blocks, [base, top) of room up to end, what a
 * free checks, and the two counters the inline paths bump (the owning
 * thread folds them into its statistics). A slab's map entries point at
 * the record of the cache that owns it, so that one range test settles
 * ownership and the class. */
struct fa__pool_rec {
    void    **top, **base, **end;
    uint64_t  cookie; /* the allocator's: word 0 of every free block */
    uintptr_t mask;   /* block size - 1: an address with any of these set is mid-block */
    uint64_t  out;    /* blocks handed out from this cache */
    uint64_t  back;   /* blocks taken back into it */
    uint64_t  fa__pad;
};

/* The records of no cache, all empty: an entry with no pools points here,
 * and fails every inline pool check. */
FA_API extern struct fa__pool_rec fa__no_pool[FA__POOL_CLASSES];

/* The calling thread's fast-path state for one allocator slot. Zero (its
 * initial value) fails every fast-path check, so a new thread needs no NULL
 * test: limit 0 sends frame allocations, count 0 pool allocations and a NULL
 * cache pool frees to the slow path. */
struct fa__thread_tls {
    uintptr_t cur;    /* next free byte in the chunk being bumped */
    uintptr_t limit;  /* end of that chunk; 0 outside a frame */
    uint64_t  allocs; /* allocations in the current frame */
    void     *thread; /* the slow path's per-thread state, NULL before first use */
    uintptr_t pool;   /* the current pool records' distance from fa__no_pool: 0 (none) before
                       * first use, and while a budget over the path is past its hard limit */
    unsigned char fa__pad[FA__TLS_SIZE - 5 * 8];
};

FA_API void *fa__frame_alloc_slow(fa_alloc *a, size_t size, size_t align) FA__SLOW;

/* The inline paths find an allocator's fast-path entry from its address
 * alone: no load, so the compiler hoists the lookup out of a loop where the
 * allocator is a local, and it costs two instructions where it is not.
 * Allocators with a slot (1 .. FA__SLOTS) live in one block aligned to
 * FA__SLOT_SPAN, slot k at k * FA__ALLOC_SIZE; every other allocator sits
 * at an address aligned to FA__SLOT_SPAN. The address's low bits are then
 * the slot times FA__ALLOC_SIZE, and 0 for an allocator without a slot and
 * for NULL, whose entry fa__tls[0] is never written and fails every inline
 * check. */
#define FA__ALLOC_SIZE 2048
#define FA__SLOT_SPAN ((uintptr_t)32 * FA__ALLOC_SIZE)

#if FA__TLS_READ
FA__TLS_API extern FA__TLS struct fa__thread_tls fa__tls[FA__SLOTS + 1] FA__TLS_MODEL;

static inline struct fa__thread_tls *fa__tls_of(const fa_alloc *a) {
    uint16_t low = (uint16_t)(uintptr_t)a; /* the span is 64 KiB: one zero-extending move */
    return (struct fa__thread_tls *)(void *)((char *)fa__tls + low / (FA__ALLOC_SIZE / FA__TLS_SIZE));
}
#endif

static inline size_t fa__natural_align(size_t size) {
    size_t m = size | FA__MAX_ALIGN;
    return m & (~m + 1);
}

/* A handle is its entry's distance from fa__no_entry, a zero entry that is
 * never written: the NULL handle decodes to it and fails every inline
 * check, so the inline paths need no NULL test (the address is a base
 * register; the distance, an index). */
FA_API extern struct fa__thread_tls fa__no_entry;
FA_API void *fa__arena_alloc_slow(fa_arena *ar, size_t size, size_t align) FA__SLOW;

static inline struct fa__thread_tls *fa__entry_of(const void *handle) {
    return (struct fa__thread_tls *)(void *)((uintptr_t)&fa__no_entry + (uintptr_t)handle);
}

/* The limit as the inline path reads it. Under FA_FRAMES_SHARED the thread
 * that ends a frame lowers every other thread's limit to 0 (an atomic
 * store), so that each one's next frame allocation comes to the slow path
 * and sees the new frame. A plain read sees that store at the thread's next
 * call (a compiler may keep the limit in a register through one inlined
 * loop, never across a call it cannot see into): it costs no instruction,
 * where a relaxed atomic load would cost a reload per allocation. ThreadSanitizer,
 * which would call the plain read a race, gets the relaxed load it stands for. */
#if defined(__SANITIZE_THREAD__)
#define FA__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FA__TSAN 1
#endif
#endif
#ifdef FA__TSAN
#define FA__LIMIT(t) FA__LOAD(&(t)->limit, RELAXED)
#else
#define FA__LIMIT(t) ((t)->limit)
#endif

/* align must be a power of two. One compare against the chunk limit, and
 * one guard: `guarded` (size - 1, or'ed with align - 1 where the alignment is
 * the caller's) below FA__FAST_MAX keeps `cur + size` from wrapping and sends
 * size 0 and alignment 0 to the slow path; it folds away for constants.
 * 0 when the slow path must serve. */
static inline int fa__bump_try(struct fa__thread_tls *t, size_t size, size_t align, size_t guarded, void **out) {
    uintptr_t p = (t->cur + (align - 1)) & ~(uintptr_t)(align - 1);
    uintptr_t end = p + size;
    if (FA__LIKELY(guarded < FA__FAST_MAX && end <= FA__LIMIT(t))) {
        t->cur = end;
        FA__TALLY(t->allocs++);
        *out = (void *)p;
        return 1;
    }
    return 0;
}

static inline void *fa__arena_bump(fa_arena *ar, size_t size, size_t align, size_t guarded) {
    void *p;
    if (FA__LIKELY(fa__bump_try(fa__entry_of(ar), size, align, guarded, &p)))
        return p;
    return fa__arena_alloc_slow(ar, size, align);
}

#if FA__TLS_READ
static inline void *fa__frame_bump(fa_alloc *a, size_t size, size_t align, size_t guarded) {
    void *p;
    if (FA__LIKELY(fa__bump_try(fa__tls_of(a), size, align, guarded, &p)))
        return p;
    return fa__frame_alloc_slow(a, size, align);
}

static inline void *FA__TLS_NAME(fa_frame_alloc)(fa_alloc *a, size_t size) {
    return fa__frame_bump(a, size, fa__natural_align(size), size - 1); /* that align is <= 16 */
}

static inline void *FA__TLS_NAME(fa_frame_alloc_aligned)(fa_alloc *a, size_t size, size_t align) {
    if (FA__LIKELY((align & (align - 1)) == 0))
        return fa__frame_bump(a, size, align, (size - 1) | (align - 1)); /* align 0 fails the guard */
    return fa__frame_alloc_slow(a, size, align);
}

static inline void *FA__TLS_NAME(fa_frame_array)(fa_alloc *a, size_t count, size_t size, size_t align) {
    if (size != 0 && count > SIZE_MAX / size)
        return fa__frame_alloc_slow(a, SIZE_MAX, align); /* reported as too large */
    return FA__TLS_NAME(fa_frame_alloc_aligned)(a, count * size, align);
}
#endif

static inline void *fa_arena_alloc(fa_arena *ar, size_t size) {
    return fa__arena_bump(ar, size, fa__natural_align(size), size - 1);
}

static inline void *fa_arena_alloc_aligned(fa_arena *ar, size_t size, size_t align) {
    if (FA__LIKELY((align & (align - 1)) == 0))
        return fa__arena_bump(ar, size, align, (size - 1) | (align - 1));
    return fa__arena_alloc_slow(ar, size, align);
}

static inline void *fa_arena_array(fa_arena *ar, size_t count, size_t size, size_t align) {
    if (size != 0 && count > SIZE_MAX / size)
        return fa__arena_alloc_slow(ar, SIZE_MAX, align);
    return fa_arena_alloc_aligned(ar, count * size, align);
}

/* Pool slabs are 64 KiB or larger, aligned to their size. A two-level map,
 * filled only by the library, answers "which slab holds this address"
 * without touching the address (one entry per 64 KiB): the top level covers the 47-bit user address space in 4 GiB
 * steps (empty steps share one all-NULL leaf), a leaf covers one step. */
#define FA__SLAB_SHIFT 16
#define FA__MAP_LEAF_BITS 16
#define FA__MAP_TOP_BITS 15

/* One entry per 64 KiB of address space: what the inline free needs of the
 * slab there, without touching the address. */
struct fa__slab_entry {
    struct fa__pool_rec *rec;  /* the owning cache's record of the slab's class; NULL: no slab, or no owner */
    void                *slab; /* the slab's descriptor, for the slow paths; NULL: no slab */
};

FA_API extern struct fa__slab_entry *fa__slab_map[(size_t)1 << FA__MAP_TOP_BITS];
FA_API extern const struct fa__slab_entry fa__no_slab;
FA_API void *fa__pool_alloc_slow(fa_alloc *a, size_t size) FA__SLOW;
FA_API fa_error fa__pool_free_slow(fa_alloc *a, void *p) FA__SLOW;

static inline const struct fa__slab_entry *fa__slab_of(uintptr_t u) {
    uintptr_t top = u >> (FA__SLAB_SHIFT + FA__MAP_LEAF_BITS);
    if (top >= ((uintptr_t)1 << FA__MAP_TOP_BITS))
        return &fa__no_slab;
    struct fa__slab_entry *leaf = FA__LOAD(&fa__slab_map[top], ACQUIRE);
    return &leaf[(u >> FA__SLAB_SHIFT) & (((uintptr_t)1 << FA__MAP_LEAF_BITS) - 1)];
}

static inline unsigned fa__pool_class(size_t size) {
    return size <= 8 ? 0 : (unsigned)(64 - fa__clz64((unsigned long long)size - 1)) - 3;
}

/* The records an entry's inline pool paths use. */
static inline struct fa__pool_rec *fa__pool_recs(const struct fa__thread_tls *t) {
    return (struct fa__pool_rec *)(void *)((uintptr_t)fa__no_pool + t->pool);
}

/* The cache is a stack per class; the free marker is set on the way in and
 * cleared on the way out. Callers check for a block (room) first. */
static inline void *fa__pool_pop(struct fa__pool_rec *r) {
    void *p = *--r->top;
    FA__TALLY(r->out++);
    *(uint64_t *)p = 0;
    return p;
}

static inline void fa__pool_push(struct fa__pool_rec *r, void *p) {
    *(uint64_t *)p = r->cookie;
    *r->top++ = p;
}

FA_API void *fa__cache_alloc_slow(fa_cache *c, size_t size) FA__SLOW;
FA_API fa_error fa__cache_free_slow(fa_cache *c, void *p) FA__SLOW;

/* 0 when the slow path must serve. */
static inline int fa__pool_take(struct fa__thread_tls *t, size_t size, void **out) {
    if (FA__LIKELY(size <= FA__POOL_MAX)) {
        struct fa__pool_rec *r = &fa__pool_recs(t)[fa__pool_class(size)];
        if (FA__LIKELY(r->top != r->base)) {
            *out = fa__pool_pop(r);
            return 1;
        }
    }
    return 0;
}

/* Ownership (the map says: a slab of this thread's) is settled before the
 * block is read for the free marker. 0 when the slow path must serve. */
static inline int fa__pool_give(struct fa__thread_tls *t, void *p) {
    uintptr_t u = (uintptr_t)p;
    struct fa__pool_rec *r = FA__LOAD(&fa__slab_of(u)->rec, RELAXED);
    uintptr_t mine = (uintptr_t)r - (uintptr_t)fa__pool_recs(t); /* a record of this thread's cache */
    if (FA__LIKELY(mine < sizeof(struct fa__pool_rec) * FA__POOL_CLASSES && (u & r->mask) == 0 &&
                   *(uint64_t *)p != r->cookie && r->top != r->end)) {
        fa__pool_push(r, p);
        FA__TALLY(r->back++);
        return 1;
    }
    return 0;
}

#if FA__TLS_READ
static inline void *FA__TLS_NAME(fa_pool_alloc)(fa_alloc *a, size_t size) {
    void *p;
    if (FA__LIKELY(fa__pool_take(fa__tls_of(a), size, &p)))
        return p;
    return fa__pool_alloc_slow(a, size);
}

static inline fa_error FA__TLS_NAME(fa_pool_free)(fa_alloc *a, void *p) {
    if (FA__LIKELY(fa__pool_give(fa__tls_of(a), p)))
        return FA_OK;
    return fa__pool_free_slow(a, p);
}
#endif

static inline void *fa_cache_alloc(fa_cache *c, size_t size) {
    void *p;
    if (FA__LIKELY(fa__pool_take(fa__entry_of(c), size, &p)))
        return p;
    return fa__cache_alloc_slow(c, size);
}

static inline fa_error fa_cache_free(fa_cache *c, void *p) {
    if (FA__LIKELY(fa__pool_give(fa__entry_of(c), p)))
        return FA_OK;
    return fa__cache_free_slow(c, p);
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FRAMEALLOC_H */
