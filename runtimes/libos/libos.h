/* The LibOS runtime's state, lock, application pointer checks and syscall handlers, shared by
 * libos.c and the sys-*.c files (specs/libos.md). */
#ifndef CVM_LIBOS_H
#define CVM_LIBOS_H

#include <stdbool.h>
#include <stdint.h>

#include "cvm.h"
#include "mm.h"
#include "ramfs.h"

/* Linux x86-64 values: the LibOS sees no libc header. */
#define EPERM 1
#define ENOENT 2
#define EINTR 4
#define EIO 5
#define EBADF 9
#define EAGAIN 11
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EINVAL 22
#define ENOSYS 38
#define ETIMEDOUT 110

#define LIBOS_PAGE 4096u
#define LIBOS_WAIT_SLEEP 1   /* hostcall 954: sleep rather than wait on a futex */
#define LIBOS_WAIT_RESTART 2 /* hostcall 954: a futex wait that serves the syscall again */

/* A struct timespec of the application (and of hostcalls 200, 407, 801). */
struct libos_timespec {
    long sec, nsec;
};

struct libos {
    struct mm mm;             /* the shared heap region: under the lock */
    struct ramfs *fs;         /* the files: under the lock */
    struct cvm_hc_region app; /* the application's window (hostcall 700) */
    uintptr_t self_base;      /* the LibOS's own window: never an application pointer */
    size_t self_size;
    bool debug; /* LIBOS_DEBUG=1: report unimplemented syscalls */
};

extern struct libos libos;

/* The entry the monitor calls for each syscall of the program (hostcall-abi.md §5, §7). */
CVM_EXPORT long syscall_handler(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

/* The one LibOS-wide lock, around every use of libos.mm and libos.fs. Never held across a
 * call that may sleep (futex waits, nanosleep, exit). libos_lock returns 0, or -EINTR when the
 * wait for it was interrupted (the deployment is being stopped): the syscall then fails. */
long libos_lock(void);
void libos_unlock(void);

/* Whether the application may have the LibOS read (or write) [p, p + n): inside its window (but
 * for its guard pages, and its gate when writing) or on heap pages that are its own, never in
 * the LibOS's window. n == 0 is always fine. The lock must be held. */
bool libos_user_ok(uintptr_t p, size_t n, bool write);

/* The same check taking the lock itself (0, -EFAULT or -EINTR), for pointers handed on to a
 * hostcall; and copies between the application and the LibOS, checked and made under the lock. */
long libos_user_check(uintptr_t p, size_t n, bool write);
long libos_copy_in(void *dst, uintptr_t src, size_t n);
long libos_copy_out(uintptr_t dst, const void *src, size_t n);

/* The syscalls served outside the ramfs, by Linux x86-64 number; libos.c dispatches them and
 * hands every other number to ramfs_syscall. */
#define LIBOS_SYSCALLS(X)                                                                          \
    X(9, mmap)                                                                                     \
    X(10, mprotect)                                                                                \
    X(11, munmap)                                                                                  \
    X(12, brk)                                                                                     \
    X(13, rt_sigaction)                                                                            \
    X(14, rt_sigprocmask)                                                                          \
    X(24, sched_yield)                                                                             \
    X(25, mremap)                                                                                  \
    X(28, madvise)                                                                                 \
    X(35, nanosleep)                                                                               \
    X(39, getpid)                                                                                  \
    X(56, clone)                                                                                   \
    X(60, exit)                                                                                    \
    X(63, uname)                                                                                   \
    X(96, gettimeofday)                                                                            \
    X(102, getuid)                                                                                 \
    X(104, getgid)                                                                                 \
    X(107, geteuid)                                                                                \
    X(108, getegid)                                                                                \
    X(110, getppid)                                                                                \
    X(131, sigaltstack)                                                                            \
    X(158, arch_prctl)                                                                             \
    X(186, gettid)                                                                                 \
    X(202, futex)                                                                                  \
    X(218, set_tid_address)                                                                        \
    X(228, clock_gettime)                                                                          \
    X(230, clock_nanosleep)                                                                        \
    X(231, exit_group)                                                                             \
    X(273, set_robust_list)                                                                        \
    X(318, getrandom)

#define LIBOS_DECLARE_SYSCALL(nr, name) long libos_sys_##name(const long a[6]);
LIBOS_SYSCALLS(LIBOS_DECLARE_SYSCALL)
#undef LIBOS_DECLARE_SYSCALL

/* The /cap devices (sys-cap.c, specs/libos.md §8). libos_cap_syscall serves read, write, lseek,
 * ioctl, pread64, pwrite64, readv and writev on a /cap descriptor: true and *ret; false for
 * anything else. libos_cap_unmapping, under the lock right before munmap (11)
 * or brk (12) with their arguments, withdraws what is published on the pages they will free.
 * libos_cap_close is the ramfs's cap_close. */
bool libos_cap_syscall(long nr, const long a[6], long *ret);
void libos_cap_unmapping(long nr, const long a[6]);
void libos_cap_close(void *ctx, void *priv);

/* Time helpers shared by the sleeps and futex (sys-misc.c). */
bool libos_timespec_valid(const struct libos_timespec *ts);
/* abs minus the time of `clock` now, in *rel: 0, -ETIMEDOUT when abs has passed, or the
 * hostcall's error. */
long libos_time_until(long clock, const struct libos_timespec *abs, struct libos_timespec *rel);

#endif
