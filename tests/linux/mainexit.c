/* mainexit: the main thread leaves with pthread_exit while a worker still runs; as in a Linux
 * process, the program ends only when the worker does, with status 0 (musl's last thread
 * calls exit(0)). */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

static void *worker(void *arg)
{
    (void)arg;
    struct timespec t = {0, 50 * 1000000L};
    nanosleep(&t, NULL);
    printf("worker done\n");
    fflush(stdout);
    return NULL;
}

int main(void)
{
    pthread_t th;
    if (pthread_create(&th, NULL, worker, NULL) != 0)
        return 1;
    printf("main leaves\n");
    fflush(stdout);
    pthread_exit(NULL);
}
