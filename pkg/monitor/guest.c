/* Guest pointer checks (specs/hostcall-abi.md §3): a pointer a cVM hands the monitor must lie
 * wholly inside that cVM's window, its heap group's shared heap, or a region granted to it;
 * otherwise -EFAULT. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "internal.h"

static bool region_has(uintptr_t lo, uint64_t size, uintptr_t addr, uint64_t len)
{
    return addr >= lo && addr - lo <= size && len <= size - (addr - lo);
}

void *cvm_guest_ptr(struct cvm_vm *vm, uintptr_t addr, uint64_t len)
{
    if (region_has(vm->base, vm->end - vm->base, addr, len))
        return (void *)addr;
    if (vm->heap && region_has(vm->heap->region.addr, vm->heap->region.size, addr, len))
        return (void *)addr;
    size_t n = atomic_load_explicit(&vm->n_grants, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (region_has(vm->grants[i].addr, vm->grants[i].size, addr, len))
            return (void *)addr;
    return NULL;
}

/* Copies a NUL-terminated guest string of at most out_size - 1 bytes; -EFAULT when it leaves
 * the caller's memory, -ENAMETOOLONG when it does not fit. Returns its length. */
long cvm_guest_string(struct cvm_vm *vm, uintptr_t addr, char *out, size_t out_size)
{
    size_t got = 0;
    while (got < out_size) {
        /* Read up to the end of the current page, so a string ending just before an
         * unreadable page is still accepted. */
        uintptr_t at = addr + got;
        if (at < addr)
            return -EFAULT;
        size_t chunk = CVM_PAGE - (at & (CVM_PAGE - 1));
        if (chunk > out_size - got)
            chunk = out_size - got;
        long r = cvm_guest_read(vm, out + got, at, chunk);
        if (r < 0)
            return r;
        char *nul = memchr(out + got, 0, chunk);
        if (nul)
            return (long)(nul - out);
        got += chunk;
    }
    return -ENAMETOOLONG;
}

long cvm_guest_timespec(struct cvm_vm *vm, uintptr_t addr, struct timespec *ts)
{
    long r = cvm_guest_read(vm, ts, addr, sizeof(*ts));
    if (r < 0)
        return r;
    return ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L ? -EINVAL : 0;
}

int cvm_grant(struct cvm_vm *vm, struct cvm_region r)
{
    pthread_mutex_lock(&vm->grant_lock);
    size_t n = atomic_load_explicit(&vm->n_grants, memory_order_relaxed);
    int ret = 0;
    bool have = false;
    for (size_t i = 0; i < n; i++)
        have |= vm->grants[i].addr == r.addr && vm->grants[i].size == r.size;
    if (!have && n == CVM_MAX_GRANTS) {
        ret = -ENOSPC;
    } else if (!have) {
        vm->grants[n] = r;
        atomic_store_explicit(&vm->n_grants, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&vm->grant_lock);
    return ret;
}

/* Guest memory is copied under a fault guard (cvm_copy_guarded), so that a pointer into a guard
 * page, the gate or a read-only segment fails with -EFAULT instead of faulting the monitor.
 * Only cVM threads serve hostcalls, so the calling thread is at hand through %gs. */
static long vm_copy(void *local, uintptr_t remote, size_t len, bool to_guest)
{
    struct cvm_thread *t = cvm_thread_self();
    return to_guest ? cvm_copy_guarded(t, (void *)remote, local, len, NULL)
                    : cvm_copy_guarded(t, local, (const void *)remote, len, NULL);
}

long cvm_guest_read(struct cvm_vm *vm, void *dst, uintptr_t src, size_t len)
{
    if (!cvm_guest_ptr(vm, src, len))
        return -EFAULT;
    return vm_copy(dst, src, len, false);
}

long cvm_guest_write(struct cvm_vm *vm, uintptr_t dst, const void *src, size_t len)
{
    if (!cvm_guest_ptr(vm, dst, len))
        return -EFAULT;
    return vm_copy((void *)src, dst, len, true);
}

/* The fault handler (signals.c) ends a guarded access with a jump back here. The jump buffer
 * saves no signal mask, which costs a syscall; the landing side unblocks the fault's signal. */
static void guard_landed(struct cvm_thread *t, uintptr_t *fault_addr)
{
    t->guard_active = false;
    sigset_t faults;
    sigemptyset(&faults);
    sigaddset(&faults, SIGSEGV);
    sigaddset(&faults, SIGBUS);
    pthread_sigmask(SIG_UNBLOCK, &faults, NULL);
    if (fault_addr)
        *fault_addr = t->guard_fault_addr;
}

long cvm_copy_guarded(struct cvm_thread *t, void *dst, const void *src, size_t len,
                      uintptr_t *fault_addr)
{
    if (sigsetjmp(t->guard_jmp, 0)) {
        guard_landed(t, fault_addr);
        return -EFAULT;
    }
    t->guard_active = true;
    memmove(dst, src, len); /* a CAP_File written from itself overlaps */
    t->guard_active = false;
    return 0;
}

long cvm_xchg_guarded(struct cvm_thread *t, unsigned *word, unsigned value, unsigned *old)
{
    if (sigsetjmp(t->guard_jmp, 0)) {
        guard_landed(t, NULL);
        return -EFAULT;
    }
    t->guard_active = true;
    unsigned was = __atomic_exchange_n(word, value, __ATOMIC_ACQ_REL);
    t->guard_active = false;
    if (old)
        *old = was;
    return 0;
}

long cvm_touch_guarded(struct cvm_thread *t, unsigned *word)
{
    if (sigsetjmp(t->guard_jmp, 0)) {
        guard_landed(t, NULL);
        return -EFAULT;
    }
    t->guard_active = true;
    /* A write access that changes nothing; in assembly, as a compiler may turn an atomic or
     * with 0 into a load, which a read-only page allows. */
#if defined(__x86_64__)
    __asm__ volatile("lock orl $0, %0" : "+m"(*word)::"memory");
#else
    unsigned v = __atomic_load_n(word, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(word, &v, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
#endif
    t->guard_active = false;
    return 0;
}
