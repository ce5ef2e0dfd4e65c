/* SPDX-License-Identifier: MIT */
/* Ground floor: the operating system's facts the library uses, one form per
 * system: locks, thread keys and the thread exit hook, thread identity, a
 * monotonic clock (fa__now_ns, in nanoseconds), aligned blocks, virtual
 * memory, NUMA, backtraces and symbols. The small ones are inline here; the
 * rest are os_posix.c (Linux) or os_windows.c (Windows: mingw-w64 and MSVC;
 * no pthreads), one of which a build compiles. Compiler facts (atomics on
 * plain words, bit scans) are platform.h's. */
#ifndef FA_OS_H
#define FA_OS_H

#include <stddef.h>
#include <stdint.h>

#include "framealloc.h"

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

/* Slim reader/writer locks taken exclusively: the size of a pointer, no
 * destruction, and a static initializer, like a default pthread mutex. */
typedef SRWLOCK fa__mutex;
#define FA__MUTEX_INIT SRWLOCK_INIT
typedef CONDITION_VARIABLE fa__cond;
/* TLS indices (1,088 a process, where FLS has 128): the per-allocator keys
 * need no exit callback, the one exit hook has its own (os_windows.c). */
typedef DWORD fa__key;
typedef DWORD fa__thread_id;

static inline int fa__mutex_init(fa__mutex *m) {
    InitializeSRWLock(m);
    return 0;
}
static inline void fa__mutex_destroy(fa__mutex *m) {
    (void)m;
}
static inline void fa__mutex_lock(fa__mutex *m) {
    AcquireSRWLockExclusive(m);
}
static inline void fa__mutex_unlock(fa__mutex *m) {
    ReleaseSRWLockExclusive(m);
}
static inline int fa__cond_init(fa__cond *c) {
    InitializeConditionVariable(c);
    return 0;
}
static inline void fa__cond_destroy(fa__cond *c) {
    (void)c;
}
static inline void fa__cond_wait(fa__cond *c, fa__mutex *m) {
    SleepConditionVariableSRW(c, m, INFINITE, 0);
}
static inline void fa__cond_broadcast(fa__cond *c) {
    WakeAllConditionVariable(c);
}
static inline int fa__key_create(fa__key *k) {
    *k = TlsAlloc();
    return *k != TLS_OUT_OF_INDEXES ? 0 : -1;
}
static inline void fa__key_delete(fa__key k) {
    TlsFree(k);
}
static inline void *fa__key_get(fa__key k) {
    return TlsGetValue(k);
}
static inline int fa__key_set(fa__key k, void *value) {
    return TlsSetValue(k, value) ? 0 : -1;
}
static inline fa__thread_id fa__thread_self(void) {
    return GetCurrentThreadId();
}
static inline int fa__thread_same(fa__thread_id a, fa__thread_id b) {
    return a == b;
}
static inline void fa__thread_yield(void) {
    SwitchToThread();
}
/* A monotonic clock in nanoseconds (inline: the frame end reads it). */
static inline uint64_t fa__now_ns(void) {
    LARGE_INTEGER count, freq;
    QueryPerformanceCounter(&count);
    QueryPerformanceFrequency(&freq);
    uint64_t c = (uint64_t)count.QuadPart, f = (uint64_t)freq.QuadPart;
    return c / f * 1000000000u + c % f * 1000000000u / f; /* whole seconds first: no overflow */
}
#else
#include <pthread.h>
#include <sched.h>
#include <time.h>

typedef pthread_mutex_t fa__mutex;
#define FA__MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
typedef pthread_cond_t fa__cond;
typedef pthread_key_t fa__key;
typedef pthread_t fa__thread_id;

static inline int fa__mutex_init(fa__mutex *m) {
    return pthread_mutex_init(m, NULL);
}
static inline void fa__mutex_destroy(fa__mutex *m) {
    pthread_mutex_destroy(m);
}
static inline void fa__mutex_lock(fa__mutex *m) {
    pthread_mutex_lock(m);
}
static inline void fa__mutex_unlock(fa__mutex *m) {
    pthread_mutex_unlock(m);
}
static inline int fa__cond_init(fa__cond *c) {
    return pthread_cond_init(c, NULL);
}
static inline void fa__cond_destroy(fa__cond *c) {
    pthread_cond_destroy(c);
}
static inline void fa__cond_wait(fa__cond *c, fa__mutex *m) {
    pthread_cond_wait(c, m);
}
static inline void fa__cond_broadcast(fa__cond *c) {
    pthread_cond_broadcast(c);
}
static inline int fa__key_create(fa__key *k) {
    return pthread_key_create(k, NULL);
}
static inline void fa__key_delete(fa__key k) {
    pthread_key_delete(k);
}
static inline void *fa__key_get(fa__key k) {
    return pthread_getspecific(k);
}
static inline int fa__key_set(fa__key k, void *value) {
    return pthread_setspecific(k, value);
}
static inline fa__thread_id fa__thread_self(void) {
    return pthread_self();
}
static inline int fa__thread_same(fa__thread_id a, fa__thread_id b) {
    return pthread_equal(a, b);
}
static inline void fa__thread_yield(void) {
    sched_yield();
}
static inline uint64_t fa__now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

/* ---- in os_posix.c or os_windows.c --------------------------------------- */

/* The thread exit hook: fn runs on every thread that armed it, as that
 * thread exits (a pthread key's destructor; on Windows a fiber-local slot's
 * callback, which runs before the thread's thread-local data goes). Set
 * once per process, by one thread (the caller's lock); 0 when the system
 * refuses. */
int fa__exit_hook_set(void (*fn)(void));
/* Arms the set hook for the calling thread; 0 when the system refuses. */
int fa__exit_hook_arm(void);

/* A block of size bytes aligned to align (a power of two), and its release,
 * which must be given the same alignment (Windows takes blocks aligned
 * beyond malloc's from _aligned_malloc, which free cannot release). */
void *fa__aligned_alloc(size_t size, size_t align);
void fa__aligned_free(void *p, size_t align);

/* One reserved range of address space (the mmap source's). */
struct fa__vm {
    void         *start;
    size_t        size;
    size_t        page; /* commits round to this */
    fa_huge_pages huge; /* in effect */
    int           node; /* committed memory comes from this NUMA node; -1: any */
};
/* Reserves size bytes (rounded up to the page) with huge pages as asked
 * where the system gives them, else ordinary pages (vm->huge says which);
 * nothing is committed. 0 when the system refuses. */
int fa__vm_reserve(struct fa__vm *vm, size_t size, fa_huge_pages huge);
/* Commits [p, p + bytes), whole pages of the range; 0 when refused. */
int fa__vm_commit(const struct fa__vm *vm, void *p, size_t bytes);
/* Gives the pages back to the system and makes them fault when touched. */
void fa__vm_decommit(const struct fa__vm *vm, void *p, size_t bytes);
void fa__vm_release(struct fa__vm *vm);
/* Binds the range's memory to NUMA node `node` where the system can
 * (vm->node becomes node), else leaves it unbound (-1). */
void fa__vm_bind(struct fa__vm *vm, int node);

/* The NUMA nodes of the machine (1 when the system lists none), and the
 * node of the CPU the calling thread runs on now, or -1 when unknown. */
size_t fa__numa_nodes(void);
int fa__numa_node_now(void);

/* Up to max return addresses of the calling thread's stack, innermost
 * first; how many. */
int fa__backtrace(void **frames, int max);
/* "symbol+0x…" for a code address the dynamic linker can name (a symbol
 * in the dynamic table), else "file+0x…" (the offset in its executable or
 * library, for addr2line; on Windows always "module+0x…"): 1; 0 and buf
 * untouched when it knows neither. */
int fa__site_symbol(const void *site, char *buf, size_t n);

#endif
