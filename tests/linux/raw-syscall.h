/* Raw syscalls for the test programs that check the LibOS's answers exactly: the result as the
 * server returns it, a value or -errno, without the C library's errno. */
#ifndef CVM_TEST_RAW_SYSCALL_H
#define CVM_TEST_RAW_SYSCALL_H

static inline long sc6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

#define SC_(n, a, b, c, d, e, f, ...)                                                              \
    sc6((long)(n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define SC(...) SC_(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)

#endif
