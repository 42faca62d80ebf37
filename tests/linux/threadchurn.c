/* threadchurn: creates and joins threads one after another, more than a cVM may have alive at
 * once (64), as a program with a short-lived worker per task does. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static void *work(void *arg)
{
    return arg;
}

int main(void)
{
    int done = 0;
    for (long i = 0; i < 200; i++) {
        pthread_t th;
        void *ret;
        int e = pthread_create(&th, NULL, work, (void *)i);
        if (e != 0) {
            printf("thread %ld: %s\n", i, strerror(e));
            break;
        }
        pthread_join(th, &ret);
        done += (long)ret == i;
    }
    printf("created and joined %d of 200\n", done);
    return done != 200;
}
