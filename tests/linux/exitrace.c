/* exitrace: 40 threads loop on a syscall the LibOS answers alone while the main thread ends
 * the program with exit(3): the monitor stops each looping thread wherever the stop signal
 * finds it, in the program, in its trap, or switching %fs. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void *loop(void *arg)
{
    for (;;)
        syscall(SYS_getpid);
    return arg;
}

int main(void)
{
    for (int i = 0; i < 40; i++) {
        pthread_t th;
        if (pthread_create(&th, NULL, loop, NULL) != 0)
            return 1;
    }
    struct timespec t = {0, 20 * 1000000L};
    nanosleep(&t, NULL);
    exit(3);
}
