/* hello: reads the deployment's CAP_File 'test1' through a handle and prints it. */
#include "cvm.h"

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    printf("hello world, let's read cap 'test1'\n");
    struct cvm_hc_cap cap;
    long h = cvm_hc(CAP_PROBE, "test1", &cap);
    if (h < 0) {
        printf("cannot probe cap 'test1': error %ld\n", -h);
        return 1;
    }
    static char data[64];
    unsigned long len = cap.size < sizeof(data) ? cap.size : sizeof(data);
    long r = cvm_hc(CAP_READ, h, data, len, 0);
    if (r < 0) {
        printf("cannot read cap 'test1': error %ld\n", -r);
        return 1;
    }
    cvm_write(data, strnlen(data, len));
    return 0;
}
