/* hcloop: a benchmark body; argv[1] names the loop, argv[2] the iteration count. Reports
 * nothing itself: the monitor-side benchmark times the whole cVM. */
#include "cvm.h"

static long __attribute__((noinline)) local_call(long x)
{
    return x + 1;
}

static long (*volatile local_ptr)(long) = local_call;

int main(int argc, char **argv, char **envp)
{
    (void)envp;
    if (argc < 3)
        return 2;
    long n = 0;
    for (const char *c = argv[2]; *c; c++)
        n = n * 10 + (*c - '0');
    long sum = 0;
    if (strcmp(argv[1], "hostcall") == 0) {
        for (long i = 0; i < n; i++)
            sum += cvm_hc(GETID);
    } else if (strcmp(argv[1], "call") == 0) {
        for (long i = 0; i < n; i++)
            sum += local_ptr(i);
    }
    return sum == 0 && n ? 1 : 0;
}
