/* Time, sleeps, identity, uname, randomness and the signal calls that are accepted but do
 * nothing (specs/libos.md §3). */
#include "libos.h"

#define NSEC 1000000000L
#define TIMER_ABSTIME 1
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_BOOTTIME 7

#define GRND_ALL 0x7 /* GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE: all served alike */
#define GETRANDOM_MAX (1L << 20)

#define SIGKILL 9
#define SIGSTOP 19
#define NSIG 64
#define SIG_SETMASK 2
#define SS_DISABLE 2

bool libos_timespec_valid(const struct libos_timespec *ts)
{
    return ts->sec >= 0 && ts->nsec >= 0 && ts->nsec < NSEC;
}

long libos_time_until(long clock, const struct libos_timespec *abs, struct libos_timespec *rel)
{
    struct libos_timespec now;
    long r = cvm_hc(CLOCK_GETTIME, clock, &now);
    if (r < 0)
        return r;
    long sec = abs->sec - now.sec, nsec = abs->nsec - now.nsec;
    if (nsec < 0) {
        nsec += NSEC;
        sec--;
    }
    if (sec < 0 || (sec == 0 && nsec == 0))
        return -ETIMEDOUT;
    *rel = (struct libos_timespec){sec, nsec};
    return 0;
}

long libos_sys_clock_gettime(const long a[6])
{
    struct libos_timespec ts;
    long r = cvm_hc(CLOCK_GETTIME, a[0], &ts);
    if (r < 0)
        return r;
    return libos_copy_out((uintptr_t)a[1], &ts, sizeof(ts));
}

/* The time zone is not known here: tz is left as it is. */
long libos_sys_gettimeofday(const long a[6])
{
    if (!a[0])
        return 0;
    struct {
        long sec, usec;
    } tv;
    long r = cvm_hc(GETTIMEOFDAY, &tv, 0);
    if (r < 0)
        return r;
    return libos_copy_out((uintptr_t)a[0], &tv, sizeof(tv));
}

/* A relative sleep, made by the monitor once this handler has returned (hostcall 954), so
 * that a sleeping thread holds none of the LibOS's stack slots. Only the deployment's stop cuts
 * it short, and that ends the thread: urem is never written. */
static long sleep_for(const struct libos_timespec *req, uintptr_t urem)
{
    (void)urem;
    return cvm_hc(LINUX_WAIT, 0, 0, req, LIBOS_WAIT_SLEEP);
}

long libos_sys_nanosleep(const long a[6])
{
    struct libos_timespec req;
    long r = libos_copy_in(&req, (uintptr_t)a[0], sizeof(req));
    if (r < 0)
        return r;
    if (!libos_timespec_valid(&req))
        return -EINVAL;
    return sleep_for(&req, (uintptr_t)a[1]);
}

long libos_sys_clock_nanosleep(const long a[6])
{
    long clock = a[0], flags = a[1];
    if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC && clock != CLOCK_BOOTTIME)
        return -EINVAL;
    if (flags & ~(long)TIMER_ABSTIME)
        return -EINVAL;
    struct libos_timespec req;
    long r = libos_copy_in(&req, (uintptr_t)a[2], sizeof(req));
    if (r < 0)
        return r;
    if (!libos_timespec_valid(&req))
        return -EINVAL;
    if (!(flags & TIMER_ABSTIME))
        return sleep_for(&req, (uintptr_t)a[3]);
    /* An absolute sleep is made relative: a deadline already past returns at once, and the
     * time left is not reported (Linux does not for TIMER_ABSTIME either). */
    struct libos_timespec rel;
    r = libos_time_until(clock, &req, &rel);
    if (r == -ETIMEDOUT)
        return 0;
    if (r < 0)
        return r;
    return sleep_for(&rel, 0);
}

/* One process, run by root. */
long libos_sys_getpid(const long a[6])
{
    (void)a;
    return 1;
}

long libos_sys_getppid(const long a[6])
{
    (void)a;
    return 0;
}

long libos_sys_getuid(const long a[6])
{
    (void)a;
    return 0;
}

long libos_sys_geteuid(const long a[6])
{
    (void)a;
    return 0;
}

long libos_sys_getgid(const long a[6])
{
    (void)a;
    return 0;
}

long libos_sys_getegid(const long a[6])
{
    (void)a;
    return 0;
}

long libos_sys_uname(const long a[6])
{
    static const char fields[6][65] = {
        "Linux", "cvm", "6.1.0-cvm", "#1 cvmctl LibOS", "x86_64", "(none)",
    };
    return libos_copy_out((uintptr_t)a[0], fields, sizeof(fields));
}

/* Straight into the application's buffer, checked and filled under the lock so that the
 * pages cannot change hands in between. */
long libos_sys_getrandom(const long a[6])
{
    if (a[2] & ~(long)GRND_ALL)
        return -EINVAL;
    size_t n = (size_t)a[1] > GETRANDOM_MAX ? GETRANDOM_MAX : (size_t)a[1];
    if (n == 0)
        return 0;
    long r = libos_lock();
    if (r < 0)
        return r;
    r = libos_user_ok((uintptr_t)a[0], n, true) ? cvm_hc(GETRANDOM, a[0], n) : -EFAULT;
    libos_unlock();
    return r;
}

/* Signals are never delivered to the application: handlers, masks and alternate stacks are
 * accepted and forgotten. Old values read back as the defaults: no handler, an empty mask,
 * no alternate stack. */
long libos_sys_rt_sigaction(const long a[6])
{
    static const long none[4];
    long sig = a[0];
    if (a[3] != 8 || sig < 1 || sig > NSIG)
        return -EINVAL;
    if (a[1] && (sig == SIGKILL || sig == SIGSTOP))
        return -EINVAL;
    long r = a[1] ? libos_user_check((uintptr_t)a[1], sizeof(none), false) : 0;
    if (r == 0 && a[2])
        r = libos_copy_out((uintptr_t)a[2], none, sizeof(none));
    return r;
}

long libos_sys_rt_sigprocmask(const long a[6])
{
    static const unsigned long empty;
    if (a[3] != 8)
        return -EINVAL;
    if (a[1] && (a[0] < 0 || a[0] > SIG_SETMASK))
        return -EINVAL;
    long r = a[1] ? libos_user_check((uintptr_t)a[1], sizeof(empty), false) : 0;
    if (r == 0 && a[2])
        r = libos_copy_out((uintptr_t)a[2], &empty, sizeof(empty));
    return r;
}

long libos_sys_sigaltstack(const long a[6])
{
    static const struct {
        long sp;
        int flags;
        long size;
    } disabled = {0, SS_DISABLE, 0};
    long r = a[0] ? libos_user_check((uintptr_t)a[0], sizeof(disabled), false) : 0;
    if (r == 0 && a[1])
        r = libos_copy_out((uintptr_t)a[1], &disabled, sizeof(disabled));
    return r;
}
