/* Entry of a baremetal cVM (specs/hostcall-abi.md §2): keep the boot block, run main,
 * exit with its result. */
#include "cvm.h"

/* Set by the monitor at deploy time (specs/hostcall-abi.md §2), so a syscall_handler called
 * before _start can already make hostcalls. */
CVM_EXPORT const struct cvm_boot *cvm_boot_block;

int main(int argc, char **argv, char **envp);

CVM_EXPORT long _start(const struct cvm_boot *boot)
{
    cvm_boot_block = boot;
    cvm_exit(main((int)boot->argc, boot->argv, boot->envp));
}

long cvm_hostcall(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
    return cvm_boot_block->hostcall(nr, a0, a1, a2, a3, a4, a5);
}

long cvm_write(const void *buf, size_t len)
{
    return cvm_hc(WRITE, buf, len);
}

_Noreturn void cvm_exit(int status)
{
    cvm_hc(EXIT, status);
    __builtin_trap(); /* exit does not return; a monitor that did is a bug worth a fault */
}

long cvm_thread_create(long (*fn)(void *), void *arg)
{
    return cvm_hc(THREAD_CREATE, fn, arg);
}

long cvm_thread_join(long tid, long *value)
{
    return cvm_hc(THREAD_JOIN, tid, value);
}

long cvm_sleep_ns(long ns)
{
    struct {
        long sec, nsec;
    } req = {ns / 1000000000L, ns % 1000000000L};
    return cvm_hc(NANOSLEEP, &req, 0);
}
