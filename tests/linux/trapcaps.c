/* trapcaps: a Linux program whose syscall server (tests/runtimes/linuxserv.c) makes CAP_Calls
 * while it serves the trapped syscall: one whose callee faults fails with -ECANCELED and the
 * program goes on; then a clear-child-tid address on a read-only page, which the monitor
 * cannot write when the thread ends. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

#define NR_CAP_CALL 1001
#define NR_CALLEE_DONE 1002

static const int read_only_word = 1;

static long call(long nr, const char *name, long a)
{
    long r = syscall(nr, name, a);
    return r < 0 ? -errno : r;
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0); /* in order with what the callee prints */
    printf("CAP_Call of crash while the syscall is served: %ld\n", call(NR_CAP_CALL, "crash", 7));
    printf("CAP_Call of add after it: %ld\n", call(NR_CAP_CALL, "add", 1));
    printf("CAP_Call of an unknown name: %ld\n", call(NR_CAP_CALL, "nosuch", 0));
    printf("CAP_Call of nest, which calls itself 4 deep: %ld\n", call(NR_CAP_CALL, "nest", 4));
    syscall(SYS_set_tid_address, &read_only_word);
    printf("clear-child-tid on a read-only word, then the end\n");
    return call(NR_CALLEE_DONE, "", 0) == 5 ? 0 : 1;
}
