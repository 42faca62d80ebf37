/* outer: prints a greeting, then serves the inner cVM's hostcalls as its syscall handler. */
#include "cvm.h"

#define EFAULT 14

/* Called on the inner cVM's thread for each of its hostcalls. Writes are intercepted: the
 * message is copied out of the inner's window, which hostcall 700 grants, and reported;
 * every other call goes on to the monitor. */
CVM_EXPORT long syscall_handler(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
    if (nr != CVM_HC_WRITE)
        return cvm_hostcall(nr, a0, a1, a2, a3, a4, a5);
    struct cvm_hc_region inner;
    long r = cvm_hc(GET_MY_INNER, &inner);
    if (r < 0)
        return r;
    unsigned long addr = (unsigned long)a0, len = (unsigned long)a1;
    if (addr < inner.addr || len > inner.size || addr - inner.addr > inner.size - len)
        return -EFAULT;
    char msg[256];
    size_t n = len < sizeof(msg) - 1 ? len : sizeof(msg) - 1;
    memcpy(msg, (const void *)addr, n);
    while (n && msg[n - 1] == '\n')
        n--;
    msg[n] = 0;
    printf("Outer: intercepting message '%s'\n", msg);
    return (long)len;
}

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    printf("hello outer layer\n");
    return 0;
}
