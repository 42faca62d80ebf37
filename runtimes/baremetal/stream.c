/* The receiving side of a stream (specs/hostcall-abi.md §8): waiting for a posted buffer's
 * message without a wake-up when none is needed. */
#include "cvm.h"

#define RECEIVER_SPINS 2000 /* pauses before sleeping: a running sender delivers sooner */

static void cpu_relax(void)
{
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

long cvm_stream_wait(unsigned *done, const void *timeout)
{
    for (int i = 0; i < RECEIVER_SPINS && __atomic_load_n(done, __ATOMIC_ACQUIRE) == 0; i++)
        cpu_relax();
    for (;;) {
        unsigned n = __atomic_load_n(done, __ATOMIC_ACQUIRE);
        if (n == CVM_STREAM_DROPPED)
            return -14; /* EFAULT: the monitor could not write the buffer */
        if (n != 0 && n != CVM_STREAM_WAITING)
            return n;
        /* Tell the monitor a sleeper is here before sleeping: it wakes only those. */
        if (n == 0 && !__atomic_compare_exchange_n(done, &n, CVM_STREAM_WAITING, 0,
                                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            continue;
        long r = cvm_hc(FUTEX_WAIT, done, CVM_STREAM_WAITING, timeout);
        if (r < 0 && r != -11 /* EAGAIN: delivered meanwhile */)
            return r;
    }
}
