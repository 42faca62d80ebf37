/* threads: four threads on their own stack slots, joined with their values (40/41/42). */
#include "cvm.h"

static long square(void *arg)
{
    long v = (long)arg;
    if (v == 3)
        cvm_hc(THREAD_EXIT, 1000 + v); /* ends this thread only */
    return v * v;
}

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    long tids[4];
    for (long i = 0; i < 4; i++)
        tids[i] = cvm_thread_create(square, (void *)(i + 1));
    for (int i = 0; i < 4; i++) {
        long value = -1;
        long r = cvm_thread_join(tids[i], &value);
        printf("thread %ld: join %ld, value %ld\n", tids[i], r, value);
    }
    printf("join again: %ld\n", cvm_thread_join(tids[0], 0));
    return 0;
}
