/* Hostcalls for output, exit, identity and time (specs/hostcall-abi.md §4). */
#include <errno.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "hostcalls-impl.h"
#include "internal.h"

long cvm_hc_write(struct cvm_thread *t, const long a[6])
{
    uintptr_t buf = (uintptr_t)a[0];
    size_t len = (size_t)a[1];
    if (!cvm_guest_ptr(t->cur, buf, len))
        return -EFAULT;
    /* The kernel reads the guest buffer, so an unreadable page yields -EFAULT, not a fault. */
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(t->dep->stdout_fd, (const char *)buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return done ? (long)done : -errno;
        done += (size_t)n;
    }
    return (long)done;
}

long cvm_hc_exit(struct cvm_thread *t, const long a[6])
{
    if (t->call_frame)
        cvm_call_leave(t, true, (int)(a[0] & 0xff));
    cvm_thread_leave(t, CVM_END_EXIT, a[0] & 0xff);
}

long cvm_hc_getid(struct cvm_thread *t, const long a[6])
{
    (void)a;
    return (long)t->cur->info.id;
}

long cvm_hc_nanosleep(struct cvm_thread *t, const long a[6])
{
    struct timespec req, rem = {0, 0};
    long r = cvm_guest_timespec(t->cur, (uintptr_t)a[0], &req);
    if (r < 0)
        return r;
    if (a[1] && !cvm_guest_ptr(t->cur, (uintptr_t)a[1], sizeof(rem)))
        return -EFAULT;
    /* Interrupted by the monitor's stop signal: report the rest, as nanosleep(2) does. */
    int e = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
    if (e == 0)
        return 0;
    if (a[1] && (r = cvm_guest_write(t->cur, (uintptr_t)a[1], &rem, sizeof(rem))) < 0)
        return r;
    return -e;
}

long cvm_hc_gettimeofday(struct cvm_thread *t, const long a[6])
{
    if (a[1])
        return -EINVAL;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return cvm_guest_write(t->cur, (uintptr_t)a[0], &tv, sizeof(tv));
}

long cvm_hc_clock_gettime(struct cvm_thread *t, const long a[6])
{
    if (a[0] < 0 || a[0] > CLOCK_BOOTTIME)
        return -EINVAL;
    struct timespec ts;
    if (clock_gettime((clockid_t)a[0], &ts) < 0)
        return -errno;
    return cvm_guest_write(t->cur, (uintptr_t)a[1], &ts, sizeof(ts));
}

long cvm_hc_getrandom(struct cvm_thread *t, const long a[6])
{
    uintptr_t buf = (uintptr_t)a[0];
    size_t len = (size_t)a[1];
    if (len > CVM_GETRANDOM_MAX)
        return -EINVAL;
    if (!cvm_guest_ptr(t->cur, buf, len))
        return -EFAULT;
    /* Straight into the guest buffer: the kernel reports an unwritable page as EFAULT. */
    size_t done = 0;
    while (done < len) {
        ssize_t n = getrandom((char *)buf + done, len - done, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        done += (size_t)n;
    }
    return (long)len;
}

/* Only heap pages: the image, gate and stack slots keep what the monitor gave them. */
long cvm_hc_mprotect(struct cvm_thread *t, const long a[6])
{
    struct cvm_vm *vm = t->cur;
    uintptr_t addr = (uintptr_t)a[0];
    size_t len = (size_t)a[1];
    if (addr % CVM_PAGE || (a[2] & ~(long)(PROT_READ | PROT_WRITE | PROT_EXEC)))
        return -EINVAL;
    len = cvm_page_up(len);
    uintptr_t lo = vm->heap_base, size = vm->heap_size;
    if (addr < lo || addr - lo > size || len > size - (addr - lo))
        return -ENOMEM;
    return mprotect((void *)addr, len, (int)a[2]) < 0 ? -errno : 0;
}

long cvm_hc_get_my_inner(struct cvm_thread *t, const long a[6])
{
    const struct cvm_vm *inner = t->cur->callback_in;
    if (!inner)
        return -ENOENT;
    uintptr_t out = (uintptr_t)a[0];
    if (!cvm_guest_ptr(t->cur, out, sizeof(struct cvm_hc_region)))
        return -EFAULT;
    struct cvm_region w = {.addr = inner->base, .size = inner->end - inner->base};
    int e = cvm_grant(t->cur, w);
    if (e < 0)
        return e;
    struct cvm_hc_region reg = {.addr = w.addr, .size = w.size};
    return cvm_guest_write(t->cur, out, &reg, sizeof(reg));
}
