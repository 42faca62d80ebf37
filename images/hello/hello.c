/* hello: reads the deployment's CAP_File 'test1' and prints it. */
#include "cvm.h"

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    printf("hello world, let's read cap 'test1'\n");
    struct cvm_hc_region cap;
    long r = cvm_hc(CAPFILE_PROBE, "test1", &cap);
    if (r < 0) {
        printf("cannot probe cap 'test1': error %ld\n", -r);
        return 1;
    }
    const char *data = (const char *)cap.addr;
    cvm_write(data, strnlen(data, cap.size));
    return 0;
}
