/* Hostcalls 407/408: a futex on guest memory. The word must be 4-byte aligned memory the
 * caller may write; the kernel's futex does the rest, so waiters of different cVMs sharing a
 * heap meet on the same word. A stop request interrupts the wait (-EINTR). */
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hostcalls-impl.h"
#include "internal.h"

#define FUTEX_WAKE_MAX 0x7fffffffL

static bool futex_word_ok(struct cvm_thread *t, uintptr_t addr)
{
    return addr % 4 == 0 && cvm_guest_ptr(t->cur, addr, 4);
}

long cvm_hc_futex_wait(struct cvm_thread *t, const long a[6])
{
    uintptr_t addr = (uintptr_t)a[0];
    if (!futex_word_ok(t, addr))
        return addr % 4 ? -EINVAL : -EFAULT;
    struct timespec ts, *timeout = NULL;
    if (a[2]) {
        long r = cvm_guest_timespec(t->cur, (uintptr_t)a[2], &ts);
        if (r < 0)
            return r;
        timeout = &ts;
    }
    if (cvm_thread_should_stop(t))
        return -EINTR;
    /* The word is read by the kernel: a page the guest cannot read fails with -EFAULT. */
    long r =
        syscall(SYS_futex, (unsigned *)addr, FUTEX_WAIT_PRIVATE, (unsigned)a[1], timeout, NULL, 0);
    return r < 0 ? -errno : 0;
}

long cvm_hc_futex_wake(struct cvm_thread *t, const long a[6])
{
    uintptr_t addr = (uintptr_t)a[0];
    if (!futex_word_ok(t, addr))
        return addr % 4 ? -EINVAL : -EFAULT;
    long n = a[1] < 0 ? 0 : a[1] > FUTEX_WAKE_MAX ? FUTEX_WAKE_MAX : a[1];
    long r = syscall(SYS_futex, (unsigned *)addr, FUTEX_WAKE_PRIVATE, (int)n, NULL, NULL, 0);
    return r < 0 ? -errno : r;
}
