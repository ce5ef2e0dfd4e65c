/* SPDX-License-Identifier: MIT */
/* The Windows forms of os.h, for mingw-w64 and MSVC alike: Win32 calls
 * only, no pthreads, no C runtime extensions beyond _aligned_malloc.
 * Floor: ground (docs/internals.md); it includes nothing of the library but
 * os.h. */
#include "os.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- thread exit: a fiber-local slot's callback -------------------------- */

/* Windows runs a fiber-local slot's callback on a thread that exits with a
 * value in the slot, before the thread's thread-local data (and mingw's
 * emulated TLS) goes, which a TLS index cannot offer. */
static struct {
    DWORD slot;
    void (*fn)(void);
} exit_hook;

static void WINAPI on_fls_exit(void *armed) {
    if (armed != NULL)
        exit_hook.fn();
}

int fa__exit_hook_set(void (*fn)(void)) {
    exit_hook.fn = fn;
    exit_hook.slot = FlsAlloc(on_fls_exit);
    return exit_hook.slot != FLS_OUT_OF_INDEXES;
}

int fa__exit_hook_arm(void) {
    return FlsSetValue(exit_hook.slot, &exit_hook) != 0; /* any non-NULL value arms it */
}

/* ---- aligned blocks ------------------------------------------------------ */

/* malloc's blocks are aligned to MEMORY_ALLOCATION_ALIGNMENT; a larger
 * alignment takes _aligned_malloc, whose blocks only _aligned_free takes. */
void *fa__aligned_alloc(size_t size, size_t align) {
    return align <= MEMORY_ALLOCATION_ALIGNMENT ? malloc(size) : _aligned_malloc(size, align);
}

void fa__aligned_free(void *p, size_t align) {
    if (align <= MEMORY_ALLOCATION_ALIGNMENT)
        free(p);
    else
        _aligned_free(p);
}

/* ---- virtual memory ------------------------------------------------------ */

typedef void *(WINAPI *alloc_numa_fn)(HANDLE, void *, SIZE_T, DWORD, DWORD, DWORD);

/* VirtualAllocExNuma, where kernel32 has it (Vista on); NULL elsewhere. */
static alloc_numa_fn alloc_numa(void) {
    HMODULE kernel = GetModuleHandleA("kernel32.dll");
    /* through void (*)(void): GetProcAddress's type matches no function's */
    return kernel != NULL ? (alloc_numa_fn)(void (*)(void))GetProcAddress(kernel, "VirtualAllocExNuma") : NULL;
}

static size_t round_to(size_t size, size_t page) {
    return (size + page - 1) & ~(page - 1);
}

/* Large pages need SeLockMemoryPrivilege, which an administrator grants to
 * an account ("Lock pages in memory") and a process must then enable. */
static int enable_lock_memory(void) {
    HANDLE token;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_ADJUST_PRIVILEGES | TOKEN_QUERY, &token))
        return 0;
    TOKEN_PRIVILEGES tp = {1, {{{0, 0}, SE_PRIVILEGE_ENABLED}}};
    int ok = LookupPrivilegeValueA(NULL, "SeLockMemoryPrivilege", &tp.Privileges[0].Luid) &&
             AdjustTokenPrivileges(token, FALSE, &tp, 0, NULL, NULL) && GetLastError() == ERROR_SUCCESS;
    CloseHandle(token);
    return ok;
}

/* Large pages cannot be reserved alone: the range is committed whole at
 * once (as Linux's explicit huge pages are reserved whole), and commits and
 * decommits leave it as it is. Without the privilege, or without large
 * pages free, ordinary pages are reserved. */
int fa__vm_reserve(struct fa__vm *vm, size_t size, fa_huge_pages huge) {
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    vm->page = si.dwPageSize;
    vm->huge = FA_HUGE_NONE; /* Windows has no transparent huge pages */
    vm->node = -1;
    size_t large = GetLargePageMinimum();
    if (huge == FA_HUGE_EXPLICIT && large != 0 && enable_lock_memory()) {
        vm->start = VirtualAlloc(NULL, round_to(size, large), MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                                 PAGE_READWRITE);
        if (vm->start != NULL) {
            vm->size = round_to(size, large);
            vm->page = large;
            vm->huge = FA_HUGE_EXPLICIT;
            return 1;
        }
    }
    vm->size = round_to(size, vm->page);
    vm->start = VirtualAlloc(NULL, vm->size, MEM_RESERVE, PAGE_NOACCESS);
    return vm->start != NULL;
}

int fa__vm_commit(const struct fa__vm *vm, void *p, size_t bytes) {
    if (vm->huge == FA_HUGE_EXPLICIT)
        return 1;
    if (vm->node >= 0)
        return alloc_numa()(GetCurrentProcess(), p, bytes, MEM_COMMIT, PAGE_READWRITE, (DWORD)vm->node) != NULL;
    return VirtualAlloc(p, bytes, MEM_COMMIT, PAGE_READWRITE) != NULL;
}

void fa__vm_decommit(const struct fa__vm *vm, void *p, size_t bytes) {
    if (vm->huge != FA_HUGE_EXPLICIT)
        VirtualFree(p, bytes, MEM_DECOMMIT); /* back to the system, and a stray access faults */
}

void fa__vm_release(struct fa__vm *vm) {
    VirtualFree(vm->start, 0, MEM_RELEASE);
}

/* Windows binds memory to a node when it is committed: the range keeps the
 * node for its commits (fa__vm_commit). */
void fa__vm_bind(struct fa__vm *vm, int node) {
    ULONG highest;
    if (alloc_numa() != NULL && GetNumaHighestNodeNumber(&highest) && (ULONG)node <= highest)
        vm->node = node;
}

size_t fa__numa_nodes(void) {
    ULONG highest;
    return GetNumaHighestNodeNumber(&highest) ? (size_t)highest + 1 : 1;
}

int fa__numa_node_now(void) {
    PROCESSOR_NUMBER cpu;
    USHORT node;
    GetCurrentProcessorNumberEx(&cpu);
    return GetNumaProcessorNodeEx(&cpu, &node) ? (int)node : -1;
}

/* ---- backtraces and symbols ---------------------------------------------- */

int fa__backtrace(void **frames, int max) {
    return (int)RtlCaptureStackBackTrace(0, (DWORD)max, frames, NULL);
}

/* Windows keeps symbols out of the binary (in PDBs, read by dbghelp, which
 * the library does not load): the module and the offset into it. */
int fa__site_symbol(const void *site, char *buf, size_t n) {
    HMODULE module;
    char path[MAX_PATH];
    if (site == NULL ||
        !GetModuleHandleExA(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
                            (const char *)site, &module) ||
        GetModuleFileNameA(module, path, sizeof path) == 0)
        return 0;
    const char *name = path;
    for (const char *c = path; *c != '\0'; c++)
        if (*c == '\\' || *c == '/')
            name = c + 1;
    snprintf(buf, n, "%s+0x%tx", name, (const char *)site - (const char *)module);
    return 1;
}
