/* The POSIX forms of os.h: Linux, and every system with pthreads and mmap.
 * Floor: ground (docs/internals.md); it includes nothing of the library but
 * os.h. */
#define _GNU_SOURCE /* dladdr, sched_getcpu, MAP_ANONYMOUS, MAP_NORESERVE, MAP_HUGETLB, MADV_* */
#include "os.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#ifdef FA_HAVE_NUMA
#include <numa.h>
#endif

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

#ifdef FA_HAVE_NUMA
void fa__vm_bind(struct fa__vm *vm, int node) {
    if (numa_available() < 0 || node > numa_max_node())
        return;
    numa_tonode_memory(vm->start, vm->size, node);
    vm->node = node;
}

size_t fa__numa_nodes(void) {
    if (numa_available() >= 0 && numa_num_configured_nodes() > 0)
        return (size_t)numa_num_configured_nodes();
    return 1;
}

int fa__numa_node_now(void) {
    int cpu = sched_getcpu();
    return cpu >= 0 && numa_available() >= 0 ? numa_node_of_cpu(cpu) : 0;
}
#else
/* Built without libnuma: the memory comes from wherever the system puts it. */
void fa__vm_bind(struct fa__vm *vm, int node) {
    (void)vm, (void)node;
}

size_t fa__numa_nodes(void) {
    return 1;
}

int fa__numa_node_now(void) {
    return 0;
}
#endif

int fa__backtrace(void **frames, int max) {
    return backtrace(frames, max);
}

void fa__code_address_name(const void *site, char *buf, size_t n) {
    Dl_info info;
    if (dladdr(site, &info) != 0 && info.dli_sname != NULL)
        snprintf(buf, n, "%p (%s+0x%tx)", site, info.dli_sname, (const char *)site - (const char *)info.dli_saddr);
    else
        snprintf(buf, n, "%p", site);
}
