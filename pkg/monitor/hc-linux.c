/* Hostcalls 950-953: what a LibOS needs from the monitor to serve an unmodified Linux program
 * whose syscalls the monitor traps (specs/hostcall-abi.md §7). Each acts on the application
 * thread whose trapped syscall the caller is serving; outside one they fail with -EINVAL. */
#include <errno.h>
#include <stdbool.h>
#include <linux/sched.h>
#include <string.h>
#include <ucontext.h>

#include "hostcalls-impl.h"
#include "internal.h"

/* What a pthread_create asks for; a clone without the first three would be a new process. */
#define CLONE_NEEDED (CLONE_VM | CLONE_SIGHAND | CLONE_THREAD)
#define CLONE_KNOWN                                                                                \
    (CLONE_NEEDED | CLONE_FS | CLONE_FILES | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |  \
     CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | CLONE_DETACHED)

static bool serving_trap(const struct cvm_thread *t)
{
    return t->linux_abi && t->trap;
}

long cvm_hc_linux_set_tp(struct cvm_thread *t, const long a[6])
{
    if (!serving_trap(t))
        return -EINVAL;
    t->guest_fs = (uintptr_t)a[0];
    return 0;
}

static long write_tid(struct cvm_thread *t, long at, long tid)
{
    int v = (int)tid;
    if (at % 4)
        return -EFAULT;
    return cvm_guest_write(t->home, (uintptr_t)at, &v, sizeof(v));
}

long cvm_hc_linux_clone(struct cvm_thread *t, const long a[6])
{
    if (!serving_trap(t))
        return -EINVAL;
    unsigned long flags = (unsigned long)a[0];
    uintptr_t stack = (uintptr_t)a[1];
    if ((flags & CLONE_NEEDED) != CLONE_NEEDED)
        return -ENOSYS; /* processes are not supported, only threads */
    if (flags & ~(unsigned long)CLONE_KNOWN)
        return -EINVAL;
    if (!stack || stack % 8 || !cvm_guest_ptr(t->home, stack - 8, 8))
        return -EFAULT;
    const ucontext_t *uc = t->trap;
    unsigned long regs[17];
    for (int i = 0; i < 17; i++)
        regs[i] = (unsigned long)uc->uc_mcontext.gregs[i];
    regs[REG_RAX] = 0;
    regs[REG_RSP] = stack;
    uintptr_t fs = (flags & CLONE_SETTLS) ? (uintptr_t)a[4] : t->guest_fs;

    struct cvm_vm *vm = t->home;
    struct cvm_deployment *d = t->dep;
    pthread_mutex_lock(&d->lock);
    long r;
    struct cvm_thread *child = cvm_linux_thread_new_locked(vm, regs, fs, &r);
    if (child) {
        /* The tids are written before the child runs, as Linux does. */
        r = 0;
        if (flags & CLONE_PARENT_SETTID)
            r = write_tid(t, a[2], child->tid);
        if (r == 0 && (flags & CLONE_CHILD_SETTID))
            r = write_tid(t, a[3], child->tid);
        if (flags & CLONE_CHILD_CLEARTID)
            child->clear_tid = (uintptr_t)a[3];
        if (r == 0)
            r = cvm_linux_thread_start_locked(vm, child);
        else
            cvm_linux_thread_discard_locked(vm, child);
    }
    pthread_mutex_unlock(&d->lock);
    return r;
}

long cvm_hc_linux_set_tid_address(struct cvm_thread *t, const long a[6])
{
    if (!serving_trap(t))
        return -EINVAL;
    t->clear_tid = (uintptr_t)a[0];
    return t->tid;
}

long cvm_hc_linux_gettid(struct cvm_thread *t, const long a[6])
{
    (void)a;
    if (!serving_trap(t))
        return -EINVAL;
    return t->tid;
}

#define LINUX_WAIT_SLEEP 1
#define LINUX_WAIT_RESTART 2

long cvm_hc_linux_wait(struct cvm_thread *t, const long a[6])
{
    if (!serving_trap(t) || (a[3] != 0 && a[3] != LINUX_WAIT_SLEEP && a[3] != LINUX_WAIT_RESTART))
        return -EINVAL;
    bool sleep = a[3] & LINUX_WAIT_SLEEP;
    uintptr_t addr = (uintptr_t)a[0];
    if (!sleep && addr % 4)
        return -EINVAL;
    if (!sleep && !cvm_guest_ptr(t->cur, addr, 4))
        return -EFAULT;
    if (sleep && !a[2])
        return -EINVAL;
    struct timespec ts = {0, 0};
    if (a[2]) {
        long r = cvm_guest_timespec(t->cur, (uintptr_t)a[2], &ts);
        if (r < 0)
            return r;
    }
    t->linux_wait.pending = true;
    t->linux_wait.sleep = sleep;
    t->linux_wait.restart = a[3] == LINUX_WAIT_RESTART;
    t->linux_wait.addr = addr;
    t->linux_wait.val = (unsigned)a[1];
    t->linux_wait.has_timeout = a[2] != 0;
    t->linux_wait.timeout = ts;
    return 0;
}
