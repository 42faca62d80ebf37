/* linuxhello: an unmodified musl program for the trap path of Linux cVMs.
 *   linuxhello [args...]   prints its arguments, environment, auxiliary vector facts, and what
 *                          a syscall nobody serves returns
 *   linuxhello crash       writes to address 16
 *   linuxhello spin        loops forever
 *   linuxhello exit N      exits with N
 *   linuxhello count N     makes N getpid calls; prints the server's count before and after */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "crash") == 0) {
        fflush(stdout);
        volatile int *volatile bad = (int *)16;
        *bad = 1;
    }
    if (argc > 1 && strcmp(argv[1], "spin") == 0)
        for (volatile int i = 0;; i++)
            ;
    if (argc > 2 && strcmp(argv[1], "exit") == 0)
        return atoi(argv[2]);
    if (argc > 2 && strcmp(argv[1], "count") == 0) {
        long n = atol(argv[2]);
        long before = syscall(1000);
        for (long i = 0; i < n; i++)
            syscall(SYS_getpid);
        long after = syscall(1000);
        printf("getpid %ld, syscalls served %ld\n", syscall(SYS_getpid), after - before);
        return 0;
    }
    printf("argc %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d] %s\n", i, argv[i]);
    for (char **e = environ; *e; e++)
        printf("env %s\n", *e);
    printf("pagesz %lu secure %lu random %s\n", getauxval(AT_PAGESZ), getauxval(AT_SECURE),
           getauxval(AT_RANDOM) ? "yes" : "no");
    printf("pid %d\n", (int)getpid());
    long r = syscall(999);
    printf("syscall 999: %ld, %s\n", r, strerror(errno));
    return 7;
}
