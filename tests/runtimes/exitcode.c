/* exitcode: exits with the number given as its first argument (default 7), from a thread
 * other than main when asked to, which ends the whole cVM. */
#include "cvm.h"

static long exit_from_thread(void *arg)
{
    cvm_exit((int)(long)arg);
}

int main(int argc, char **argv, char **envp)
{
    (void)envp;
    int code = 7;
    if (argc > 1) {
        code = 0;
        for (const char *c = argv[1]; *c; c++)
            code = code * 10 + (*c - '0');
    }
    if (argc > 2) {
        long tid = cvm_thread_create(exit_from_thread, (void *)(long)code);
        cvm_thread_join(tid, 0); /* never returns: the exit ends this thread too */
    }
    return code;
}
