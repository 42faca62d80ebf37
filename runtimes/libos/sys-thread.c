/* Threads of the application: creation, exit, thread pointer and futexes, passed on to the
 * monitor's hostcalls 13, 42, 407, 408 and 950-953 (specs/libos.md §3). */
#include "libos.h"

#define ARCH_SET_FS 0x1002

#define CLONE_PARENT_SETTID 0x00100000
#define CLONE_CHILD_CLEARTID 0x00200000
#define CLONE_CHILD_SETTID 0x01000000

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_BITSET_ANY 0xffffffffu
#define FUTEX_WAKE_ALL 0x7fffffffL

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1

/* The monitor checks the flags and writes the tids; the words it writes are checked here, so
 * that no application pointer reaches a hostcall unchecked. */
long libos_sys_clone(const long a[6])
{
    unsigned long flags = (unsigned long)a[0];
    long r = 0;
    if (flags & CLONE_PARENT_SETTID)
        r = libos_user_check((uintptr_t)a[2], sizeof(int), true);
    if (r == 0 && (flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID)))
        r = libos_user_check((uintptr_t)a[3], sizeof(int), true);
    if (r < 0)
        return r;
    return cvm_hc(LINUX_CLONE, a[0], a[1], a[2], a[3], a[4]);
}

/* The thread's clear-child-tid word is the monitor's to clear and wake (hostcall 952). */
long libos_sys_exit(const long a[6])
{
    return cvm_hc(THREAD_EXIT, a[0]);
}

long libos_sys_exit_group(const long a[6])
{
    return cvm_hc(EXIT, a[0] & 0xff);
}

long libos_sys_set_tid_address(const long a[6])
{
    if (a[0]) {
        long r = libos_user_check((uintptr_t)a[0], sizeof(int), true);
        if (r < 0)
            return r;
    }
    return cvm_hc(LINUX_SET_TID_ADDRESS, a[0]);
}

long libos_sys_gettid(const long a[6])
{
    (void)a;
    return cvm_hc(LINUX_GETTID);
}

long libos_sys_arch_prctl(const long a[6])
{
    if (a[0] != ARCH_SET_FS)
        return -EINVAL;
    return cvm_hc(LINUX_SET_TP, a[1]);
}

/* Robust futex lists matter only when a thread dies holding a lock; nothing here walks them. */
long libos_sys_set_robust_list(const long a[6])
{
    return a[1] == 3 * sizeof(long) ? 0 : -EINVAL;
}

long libos_sys_sched_yield(const long a[6])
{
    (void)a;
    return 0;
}

/* A wait through hostcall 407 (relative timeouts only): absolute ones (WAIT_BITSET) are made
 * relative on their clock first. The lock is not held while sleeping. */
static long futex_wait(uintptr_t uaddr, unsigned val, uintptr_t utime, bool absolute, long clock)
{
    long r = libos_user_check(uaddr, sizeof(unsigned), false);
    if (r < 0)
        return r;
    struct libos_timespec ts, rel;
    if (utime) {
        r = libos_copy_in(&ts, utime, sizeof(ts));
        if (r < 0)
            return r;
        if (!libos_timespec_valid(&ts))
            return -EINVAL;
        rel = ts;
        if (absolute && (r = libos_time_until(clock, &ts, &rel)) < 0)
            return r;
    }
    /* Made by the monitor once this handler has returned (hostcall 954): a waiting thread
     * holds none of the LibOS's stack slots, so waiters cannot starve the wakers of them. */
    return cvm_hc(LINUX_WAIT, uaddr, val, utime ? &rel : 0, 0);
}

static long futex_wake(uintptr_t uaddr, long count)
{
    long r = libos_user_check(uaddr, sizeof(unsigned), false);
    if (r < 0)
        return r;
    return cvm_hc(FUTEX_WAKE, uaddr, count);
}

/* Waking more waiters than asked is always allowed (a waiter checks its condition again), so
 * requeues wake everyone and a wake with a partial bitset wakes every waiter. */
long libos_sys_futex(const long a[6])
{
    uintptr_t uaddr = (uintptr_t)a[0];
    int op = (int)a[1];
    unsigned val = (unsigned)a[2], val3 = (unsigned)a[5];
    int cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    long clock = (op & FUTEX_CLOCK_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC;
    if ((op & FUTEX_CLOCK_REALTIME) && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET)
        return -ENOSYS;
    if (cmd != FUTEX_WAIT && cmd != FUTEX_WAKE && cmd != FUTEX_REQUEUE &&
        cmd != FUTEX_CMP_REQUEUE && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAKE_BITSET)
        return -ENOSYS;
    if (uaddr % sizeof(unsigned))
        return -EINVAL;
    switch (cmd) {
    case FUTEX_WAIT: return futex_wait(uaddr, val, (uintptr_t)a[3], false, clock);
    case FUTEX_WAKE: return futex_wake(uaddr, (int)val);
    case FUTEX_WAIT_BITSET:
        if (val3 == 0)
            return -EINVAL;
        return futex_wait(uaddr, val, (uintptr_t)a[3], true, clock);
    case FUTEX_WAKE_BITSET:
        if (val3 == 0)
            return -EINVAL;
        return futex_wake(uaddr, val3 == FUTEX_BITSET_ANY ? (int)val : FUTEX_WAKE_ALL);
    case FUTEX_CMP_REQUEUE: {
        unsigned cur;
        long r = libos_copy_in(&cur, uaddr, sizeof(cur));
        if (r < 0)
            return r;
        if (cur != val3)
            return -EAGAIN;
        return futex_wake(uaddr, FUTEX_WAKE_ALL);
    }
    default: return futex_wake(uaddr, FUTEX_WAKE_ALL); /* FUTEX_REQUEUE */
    }
}
