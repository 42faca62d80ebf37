/* crash: stores to an unmapped address; the monitor reports the fault and exits 139. */
#include "cvm.h"

CVM_EXPORT __attribute__((noinline)) void crash_now(void)
{
    *(volatile long *)0xdead0 = 1;
}

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    printf("about to fault\n");
    crash_now();
    printf("still alive\n");
    return 0;
}
