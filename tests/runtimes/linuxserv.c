/* linuxserv: the smallest server of a Linux cVM's syscalls, for testing the trap path without
 * the LibOS: console writes, exit, the thread pointer, tid address and pid; a trap counter
 * (syscall 1000) and everything else -ENOSYS. It trusts the application's pointers and needs
 * callback_in: <the application>. */
#include "cvm.h"

#define NR_WRITE 1
#define NR_IOCTL 16
#define NR_WRITEV 20
#define NR_GETPID 39
#define NR_EXIT 60
#define NR_ARCH_PRCTL 158
#define NR_SET_TID_ADDRESS 218
#define NR_EXIT_GROUP 231
#define NR_COUNT 1000 /* not Linux: returns how many syscalls this server has seen */
/* Not Linux either: CAP_Calls of tests/runtimes/caps.c's trap-callee while the syscall is
 * served (CALL: the function named by the string a0, with a1 as its first argument), and the
 * message that ends that callee. */
#define NR_CAP_CALL 1001
#define NR_CALLEE_DONE 1002

#define ENOSYS 38
#define ENOTTY 25
#define EBADF 9

struct iovec {
    const void *base;
    unsigned long len;
};

static unsigned long seen;

static long console(long fd, const void *buf, unsigned long len)
{
    return fd == 1 || fd == 2 ? cvm_write(buf, len) : -EBADF;
}

int main(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)argv;
    (void)envp;
    /* The application's window, so that the monitor takes its buffers from this cVM. */
    struct cvm_hc_region app;
    long r = cvm_hc(GET_MY_INNER, &app);
    if (r < 0)
        printf("linuxserv: no callback_in: %ld\n", r);
    return r < 0; /* the rest happens in syscall_handler, once the application runs */
}

static long cap_call(const char *name, long a)
{
    struct cvm_hc_cap info;
    long h = cvm_hc(CAP_PROBE, name, &info);
    return h < 0 ? h : cvm_hc(CAP_CALL, h, a, 2, 3, 4);
}

static long callee_done(void)
{
    struct cvm_hc_cap info;
    long h = cvm_hc(CAP_PROBE, "trap-callee", &info);
    return h < 0 ? h : cvm_hc(CAP_WRITE, h, "done", 5, 0);
}

CVM_EXPORT long syscall_handler(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
    (void)a3;
    (void)a4;
    (void)a5;
    __atomic_fetch_add(&seen, 1, __ATOMIC_RELAXED);
    switch (nr) {
    case NR_WRITE: return console(a0, (const void *)a1, (unsigned long)a2);
    case NR_WRITEV: {
        const struct iovec *iov = (const struct iovec *)a1;
        long total = 0;
        for (long i = 0; i < a2; i++) {
            long r = iov[i].len ? console(a0, iov[i].base, iov[i].len) : 0;
            if (r < 0)
                return total ? total : r;
            total += r;
        }
        return total;
    }
    case NR_IOCTL: return -ENOTTY;
    case NR_GETPID: return cvm_hc(LINUX_GETTID);
    case NR_ARCH_PRCTL: return a0 == 0x1002 ? cvm_hc(LINUX_SET_TP, a1) : -22;
    case NR_SET_TID_ADDRESS: return cvm_hc(LINUX_SET_TID_ADDRESS, a0);
    case NR_EXIT: return cvm_hc(THREAD_EXIT, a0);
    case NR_EXIT_GROUP: return cvm_hc(EXIT, a0);
    case NR_COUNT: return (long)__atomic_load_n(&seen, __ATOMIC_RELAXED);
    case NR_CAP_CALL: return cap_call((const char *)a0, a1);
    case NR_CALLEE_DONE: return callee_done();
    default: return -ENOSYS;
    }
}
