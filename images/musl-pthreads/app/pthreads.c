/* pthreads: five threads increment shared data under a mutex, taking turns in creation order
 * (a condition variable passes the turn), so the output is the same on every run. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define THREADS 5
#define STEPS 3

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static int turn;   /* the thread whose steps come next; guarded by lock */
static long count; /* guarded by lock */

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    long added = 0;
    pthread_mutex_lock(&lock);
    while (turn != id)
        pthread_cond_wait(&turn_changed, &lock);
    for (int step = 1; step <= STEPS; step++) {
        count++;
        added++;
        printf("thread %d: step %d, count = %ld\n", id, step, count);
    }
    turn++;
    pthread_cond_broadcast(&turn_changed);
    pthread_mutex_unlock(&lock);
    return (void *)(intptr_t)added;
}

int main(void)
{
    pthread_t threads[THREADS];
    printf("starting %d threads\n", THREADS);
    for (int i = 0; i < THREADS; i++) {
        int err = pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i);
        if (err) {
            printf("cannot create thread %d: %s\n", i, strerror(err));
            return 1;
        }
    }
    /* Joined in order, reported once all are done: the main thread's lines never fall
     * between the workers'. */
    long added[THREADS];
    for (int i = 0; i < THREADS; i++) {
        void *ret;
        int err = pthread_join(threads[i], &ret);
        if (err) {
            printf("cannot join thread %d: %s\n", i, strerror(err));
            return 1;
        }
        added[i] = (long)(intptr_t)ret;
    }
    for (int i = 0; i < THREADS; i++)
        printf("joined thread %d: it added %ld\n", i, added[i]);
    printf("final count = %ld (want %d)\n", count, THREADS * STEPS);
    return count == THREADS * STEPS ? 0 : 1;
}
