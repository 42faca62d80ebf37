/* fullchurn: with 63 threads alive (main and 62 blocked), one more thread is joined and
 * created again 500 times: each create must find the record the join freed. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int release;

static void *block(void *arg)
{
    pthread_mutex_lock(&lock);
    while (!release)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    return arg;
}

static void *nothing(void *arg)
{
    return arg;
}

int main(void)
{
    pthread_t blocked[62], th;
    for (int i = 0; i < 62; i++)
        if (pthread_create(&blocked[i], NULL, block, NULL) != 0)
            return 1;
    int again = 0;
    for (int i = 0; i < 500; i++) {
        int e = pthread_create(&th, NULL, nothing, NULL);
        if (e == EAGAIN) {
            again++;
            continue;
        }
        if (e != 0)
            return 1;
        pthread_join(th, NULL);
    }
    pthread_mutex_lock(&lock);
    release = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < 62; i++)
        pthread_join(blocked[i], NULL);
    printf("EAGAIN right after a join: %d of 500\n", again);
    return 0;
}
