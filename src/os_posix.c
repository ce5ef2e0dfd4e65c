/* SPDX-License-Identifier: MIT */
/* The POSIX forms of os.h, for Linux: pthreads, mmap, and the kernel's
 * NUMA calls (other POSIX systems would need those replaced).
 * Floor: ground (docs/internals.md); it includes nothing of the library but
 * os.h. */
#define _GNU_SOURCE /* dladdr, syscall, MAP_ANONYMOUS, MAP_NORESERVE, MAP_HUGETLB, MADV_* */
#include "os.h"

#include <dirent.h>
#include <dlfcn.h>
#include <execinfo.h>
#include <linux/mempolicy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HUGE_PAGE ((size_t)2 << 20)

static struct {
    pthread_key_t key; /* its destructor is the hook */
    void        (*fn)(void);
} exit_hook;

static void on_exit_key(void *armed) {
    (void)armed;
    exit_hook.fn();
}

int fa__exit_hook_set(void (*fn)(void)) {
    exit_hook.fn = fn;
    return pthread_key_create(&exit_hook.key, on_exit_key) == 0;
}

int fa__exit_hook_arm(void) {
    return pthread_setspecific(exit_hook.key, &exit_hook) == 0; /* any non-NULL value arms it */
}

void *fa__aligned_alloc(size_t size, size_t align) {
    void *p;
    if (align < sizeof(void *))
        align = sizeof(void *); /* posix_memalign's floor */
    return posix_memalign(&p, align, size) == 0 ? p : NULL;
}

void fa__aligned_free(void *p, size_t align) {
    (void)align;
    free(p);
}

static size_t round_to(size_t size, size_t page) {
    return (size + page - 1) & ~(page - 1);
}

/* Explicit huge pages are reserved whole (no MAP_NORESERVE: touching a huge
 * page the pool cannot supply would be SIGBUS); else the range is reserved
 * without backing. Free pages are PROT_NONE, so a stray access faults. */
int fa__vm_reserve(struct fa__vm *vm, size_t size, fa_huge_pages huge) {
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
    vm->page = (size_t)sysconf(_SC_PAGESIZE);
    vm->huge = huge;
    vm->node = -1;
    if (huge == FA_HUGE_EXPLICIT) {
        void *p = mmap(NULL, round_to(size, HUGE_PAGE), PROT_NONE, flags | MAP_HUGETLB, -1, 0);
        if (p != MAP_FAILED) {
            vm->start = p;
            vm->size = round_to(size, HUGE_PAGE);
            vm->page = HUGE_PAGE;
            return 1;
        }
        vm->huge = FA_HUGE_NONE; /* no huge page pool of that size: ordinary pages */
    }
    vm->size = round_to(size, vm->page);
    void *p = mmap(NULL, vm->size, PROT_NONE, flags | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    if (huge == FA_HUGE_TRANSPARENT && madvise(p, vm->size, MADV_HUGEPAGE) != 0)
        vm->huge = FA_HUGE_NONE;
    vm->start = p;
    return 1;
}

int fa__vm_commit(const struct fa__vm *vm, void *p, size_t bytes) {
    (void)vm;
    return mprotect(p, bytes, PROT_READ | PROT_WRITE) == 0;
}

void fa__vm_decommit(const struct fa__vm *vm, void *p, size_t bytes) {
    (void)vm;
    madvise(p, bytes, MADV_DONTNEED); /* the pages go back to the system now */
    mprotect(p, bytes, PROT_NONE);    /* and a stray access faults */
}

void fa__vm_release(struct fa__vm *vm) {
    munmap(vm->start, vm->size);
}

/* NUMA through the kernel, not libnuma: linked, libnuma would be a
 * dependency of every program built against framealloc; opened with
 * dlopen, it leaves loader and thread-local memory that valgrind reports at
 * exit in every program that binds a range. The three things used here
 * (mbind, getcpu, the node list in sysfs) are what libnuma itself asks.
 * Linux allows at most 1 << 10 nodes (CONFIG_NODES_SHIFT). */
enum { MAX_NODES = 1024, BITS_PER_WORD = 8 * sizeof(unsigned long) };

/* MPOL_BIND, as libnuma's numa_tonode_memory binds; where the kernel
 * refuses (no NUMA support, no such node) the memory comes from wherever
 * the system puts it. */
void fa__vm_bind(struct fa__vm *vm, int node) {
    if (node >= MAX_NODES)
        return;
    unsigned long mask[MAX_NODES / BITS_PER_WORD] = {0};
    mask[node / BITS_PER_WORD] = 1ul << (node % BITS_PER_WORD);
    /* the kernel reads one bit less than it is told, hence the + 1 */
    if (syscall(SYS_mbind, vm->start, vm->size, MPOL_BIND, mask, MAX_NODES + 1, 0) == 0)
        vm->node = node;
}

size_t fa__numa_nodes(void) {
    DIR *dir = opendir("/sys/devices/system/node");
    size_t count = 0;
    if (dir != NULL) {
        for (struct dirent *e; (e = readdir(dir)) != NULL;)
            count += strncmp(e->d_name, "node", 4) == 0 && e->d_name[4] >= '0' && e->d_name[4] <= '9';
        closedir(dir);
    }
    return count > 0 ? count : 1;
}

int fa__numa_node_now(void) {
    unsigned node;
    return syscall(SYS_getcpu, NULL, &node, NULL) == 0 ? (int)node : -1;
}

int fa__backtrace(void **frames, int max) {
    return backtrace(frames, max);
}

int fa__site_symbol(const void *site, char *buf, size_t n) {
    Dl_info info;
    if (site == NULL || dladdr(site, &info) == 0)
        return 0;
    if (info.dli_sname != NULL) {
        snprintf(buf, n, "%s+0x%tx", info.dli_sname, (const char *)site - (const char *)info.dli_saddr);
    } else if (info.dli_fname != NULL && info.dli_fname[0] != '\0') { /* a static function: the file's offset,
                                                                       * for addr2line -e FILE */
        const char *file = strrchr(info.dli_fname, '/');
        snprintf(buf, n, "%s+0x%tx", file != NULL ? file + 1 : info.dli_fname,
                 (const char *)site - (const char *)info.dli_fbase);
    } else {
        return 0;
    }
    return 1;
}
