/* badcalls: hostcalls with hostile arguments; each must fail with the documented -errno and
 * leave the monitor running. */
#include "cvm.h"

static void show(const char *what, long r)
{
    printf("%s: %ld\n", what, r);
}

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    const struct cvm_boot *b = cvm_boot_block;
    unsigned long end = b->window_base + b->window_size;
    show("write outside window", cvm_hc(WRITE, 0x1000, 4));
    show("write across window end", cvm_hc(WRITE, end - 2, 4));
    show("write length overflow", cvm_hc(WRITE, b->window_base, -1L));
    show("write from guard page", cvm_hc(WRITE, end - 256 * 1024, 8));
    show("gettimeofday into boot block", cvm_hc(GETTIMEOFDAY, b, 0));
    show("gettimeofday with tz", cvm_hc(GETTIMEOFDAY, b->heap_base, 1));
    show("probe unknown capfile", cvm_hc(CAP_PROBE, "nosuch", b->heap_base));
    show("probe name outside window", cvm_hc(CAP_PROBE, 0x1000, b->heap_base));
    show("inner without callback_in", cvm_hc(GET_MY_INNER, b->heap_base));
    show("unknown hostcall 999", cvm_hostcall(999, 0, 0, 0, 0, 0, 0));
    show("negative hostcall", cvm_hostcall(-5, 0, 0, 0, 0, 0, 0));
    show("huge hostcall", cvm_hostcall(1L << 40, 0, 0, 0, 0, 0, 0));
    struct {
        long sec, nsec;
    } bad = {0, 2000000000L};
    show("nanosleep bad nsec", cvm_hc(NANOSLEEP, &bad, 0));
    show("join unknown thread", cvm_hc(THREAD_JOIN, 42, 0));
    show("join itself", cvm_hc(THREAD_JOIN, 1, 0));
    show("advertise outside window", cvm_hc(CAP_ADVERTISE, 0x1000, 16, "x", CVM_CAP_READ));
    static char buf[64];
    show("advertise own buffer", cvm_hc(CAP_ADVERTISE, buf, sizeof(buf), "mine", CVM_CAP_READ));
    show("advertise same name", cvm_hc(CAP_ADVERTISE, buf, sizeof(buf), "mine", CVM_CAP_READ));
    printf("monitor survived\n");
    return 3;
}
