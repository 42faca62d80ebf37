/* badhandler: a syscall_handler that faults while serving another cVM's hostcall. */
#include "cvm.h"

CVM_EXPORT __attribute__((noinline)) long syscall_handler(long nr, long a0, long a1, long a2,
                                                          long a3, long a4, long a5)
{
    (void)nr, (void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
    return *(volatile long *)0xbad0;
}

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    return 0;
}
