/* Deployments of real test runtimes: windows, links, hostcalls, threads, faults, timeouts. */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base.h"
#include "loader.h"
#include "monitor.h"
#include "tap.h"

#define MAX_VMS 4

struct fixture {
    struct cvm_vm_spec vms[MAX_VMS];
    unsigned char *bytes[MAX_VMS];
    struct cvm_deploy_spec spec;
    int out; /* a temp file receiving the cVMs' output */
};

static struct cvm_vm_spec *add_vm(struct fixture *f, const char *name, const char *runtime,
                                  uint64_t base, uint64_t size)
{
    size_t i = f->spec.n_vms++;
    char rel[256];
    snprintf(rel, sizeof(rel), "tests/runtimes/%s", runtime);
    size_t len;
    f->bytes[i] = tap_read_build_file(rel, &len);
    f->vms[i] = (struct cvm_vm_spec){.name = name,
                                     .runtime_name = runtime,
                                     .runtime = f->bytes[i],
                                     .runtime_len = len,
                                     .base = base,
                                     .size = size,
                                     .callback_out = CVM_CALLBACK_MONITOR,
                                     .callback_in = CVM_CALLBACK_MONITOR,
                                     .wait_seconds = CVM_WAIT_JOIN,
                                     .clean_room = true};
    f->spec.vms = f->vms;
    return &f->vms[i];
}

static void fixture_init(struct fixture *f)
{
    *f = (struct fixture){0};
    char path[] = "/tmp/cvm-test-XXXXXX";
    f->out = mkstemp(path);
    CHECK(f->out >= 0);
    unlink(path);
    f->spec.stdout_fd = f->out;
}

static const char *output(struct fixture *f)
{
    static char buf[8192];
    ssize_t n = pread(f->out, buf, sizeof(buf) - 1, 0);
    buf[n < 0 ? 0 : n] = 0;
    return buf;
}

static const char *create_error(struct fixture *f)
{
    static char msg[CVM_ERROR_MSG_MAX];
    struct cvm_deployment *d = NULL;
    struct cvm_error *err = NULL;
    if (cvm_deployment_create(&f->spec, &d, &err) == 0) {
        cvm_deployment_free(d);
        return "(created)";
    }
    snprintf(msg, sizeof(msg), "%s", err->message);
    cvm_error_free(err);
    return msg;
}

static struct cvm_deployment *run(struct fixture *f, uint64_t timeout_ms)
{
    struct cvm_deployment *d = NULL;
    struct cvm_error *err = NULL;
    if (cvm_deployment_create(&f->spec, &d, &err) < 0) {
        printf("# create: %s\n", err->message);
        exit(1);
    }
    struct cvm_run_options o = {.timeout_ms = timeout_ms};
    CHECK_INT(cvm_deployment_run(d, &o, &err), 0);
    return d;
}

static void overlapping_windows(void)
{
    struct fixture f;
    fixture_init(&f);
    add_vm(&f, "a", "libargs.so", 0x10000000, 0x10000000);
    add_vm(&f, "b", "libargs.so", 0x18000000, 0x10000000);
    CHECK_STR(create_error(&f), "deploy cVM 'b': window [0x18000000, 0x28000000) of cVM 'b' "
                                "overlaps window [0x10000000, 0x20000000) of cVM 'a'");
}

static void occupied_window(void)
{
    void *p = mmap((void *)0x10004000, 4096, PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(p == (void *)0x10004000);
    struct fixture f;
    fixture_init(&f);
    add_vm(&f, "a", "libargs.so", 0x10000000, 0x10000000);
    CHECK_STR(create_error(&f), "deploy cVM 'a': window [0x10000000, 0x20000000) of cVM 'a' "
                                "overlaps mapping [0x10004000, 0x10005000) of this process");
}

static void window_too_small(void)
{
    struct fixture f;
    fixture_init(&f);
    add_vm(&f, "a", "libargs.so", 0x10000000, 0x100000);
    /* image pages + 16 stack slots of 256 KiB + 16 KiB gate + 64 KiB minimum heap */
    struct cvm_elf_image img;
    struct cvm_error *err = NULL;
    CHECK_INT(cvm_elf_parse(f.bytes[0], f.vms[0].runtime_len, "a", &img, &err), 0);
    char want[256];
    snprintf(
        want, sizeof(want),
        "deploy cVM 'a': window of cVM 'a' is 0x100000 bytes; runtime "
        "'libargs.so' needs at least 0x%llx",
        (unsigned long long)(((img.span + 4095) & ~4095ULL) + 16 * 256 * 1024 + 16384 + 65536));
    CHECK_STR(create_error(&f), want);
}

static void foreign_architecture(void)
{
    struct fixture f;
    fixture_init(&f);
    add_vm(&f, "a", "libargs.so", 0x10000000, 0x10000000);
    f.bytes[0][18] = 183; /* e_machine = EM_AARCH64 */
    CHECK_STR(create_error(&f), "deploy cVM 'a': 'libargs.so' is built for aarch64; this "
                                "monitor runs x86-64 runtimes");
}

static void shared_heap_refused(void)
{
    struct fixture f;
    fixture_init(&f);
    add_vm(&f, "a", "libargs.so", 0x10000000, 0x10000000)->clean_room = false;
    CHECK_STR(create_error(&f), "cVM 'a': shared heaps (clean_room: false) are not supported by "
                                "the inproc backend");
}

static void callback_links(void)
{
    struct fixture f;
    fixture_init(&f);
    add_vm(&f, "a", "libargs.so", 0x10000000, 0x10000000)->callback_out = 1;
    add_vm(&f, "b", "libargs.so", 0x20000000, 0x10000000);
    CHECK_STR(create_error(&f), "cVM 'a' sends its hostcalls to 'b', whose runtime 'libargs.so' "
                                "exports no syscall_handler");
    f.vms[1].callback_out = 0;
    CHECK_STR(create_error(&f), "callback_out of cVM 'a' leads into a cycle");
}

static void boot_block(void)
{
    struct fixture f;
    fixture_init(&f);
    static const char *const argv[] = {"args", "one", "two"};
    static const char *const envp[] = {"A=1"};
    struct cvm_vm_spec *v = add_vm(&f, "first", "libargs.so", 0x10000000, 0x10000000);
    v->argv = argv, v->argc = 3, v->envp = envp, v->envc = 1;
    struct cvm_deployment *d = run(&f, 0);
    CHECK_STR(output(&f), "argv[0]=args\nargv[1]=one\nargv[2]=two\nenv[0]=A=1\n"
                          "id=1 name=first heap-inside=1\nheap[1]=0\n");
    CHECK_INT(cvm_deployment_vm_result(d, 0)->outcome, CVM_VM_EXITED);
    CHECK_INT(cvm_deployment_vm_result(d, 0)->exit_code, 3);
    cvm_deployment_free(d);

    static char big[20000];
    memset(big, 'x', sizeof(big) - 1);
    const char *bigv[] = {big};
    fixture_init(&f);
    v = add_vm(&f, "big", "libargs.so", 0x10000000, 0x10000000);
    v->argv = bigv, v->argc = 1;
    CHECK_STR(create_error(&f), "deploy cVM 'big': arguments and environment of cVM 'big' "
                                "exceed the 16384-byte boot block");
}

static void hostile_hostcalls(void)
{
    struct fixture f;
    fixture_init(&f);
    add_vm(&f, "bad", "libbadcalls.so", 0x10000000, 0x10000000);
    struct cvm_deployment *d = run(&f, 0);
    CHECK_STR(output(&f), "write outside window: -14\n"
                          "write across window end: -14\n"
                          "write length overflow: -14\n"
                          "write from guard page: -14\n"
                          "gettimeofday into boot block: -14\n"
                          "gettimeofday with tz: -22\n"
                          "probe unknown capfile: -2\n"
                          "probe name outside window: -14\n"
                          "inner without callback_in: -2\n"
                          "unknown hostcall 999: -38\n"
                          "negative hostcall: -38\n"
                          "huge hostcall: -38\n"
                          "nanosleep bad nsec: -22\n"
                          "join unknown thread: -3\n"
                          "join itself: -35\n"
                          "advertise outside window: -14\n"
                          "advertise own buffer: 0\n"
                          "advertise same name: -17\n"
                          "monitor survived\n");
    CHECK_INT(cvm_deployment_vm_result(d, 0)->exit_code, 3);
    cvm_deployment_free(d);
}

static void threads(void)
{
    struct fixture f;
    fixture_init(&f);
    add_vm(&f, "t", "libthreads.so", 0x10000000, 0x10000000);
    struct cvm_deployment *d = run(&f, 0);
    CHECK_STR(output(&f), "thread 2: join 0, value 1\nthread 3: join 0, value 4\n"
                          "thread 4: join 0, value 1003\nthread 5: join 0, value 16\n"
                          "join again: -22\n");
    CHECK_INT(cvm_deployment_vm_result(d, 0)->exit_code, 0);
    cvm_deployment_free(d);
}

static void exit_codes(void)
{
    struct fixture f;
    fixture_init(&f);
    static const char *const from_thread[] = {"exitcode", "42", "thread"};
    add_vm(&f, "a", "libexitcode.so", 0x10000000, 0x10000000);
    add_vm(&f, "b", "libexitcode.so", 0x20000000, 0x10000000)->argv = from_thread;
    f.vms[1].argc = 3;
    f.vms[0].argc = 0;
    struct cvm_deployment *d = run(&f, 0);
    CHECK_INT(cvm_deployment_vm_result(d, 0)->exit_code, 7);
    CHECK_INT(cvm_deployment_vm_result(d, 1)->outcome, CVM_VM_EXITED);
    CHECK_INT(cvm_deployment_vm_result(d, 1)->exit_code, 42);
    cvm_deployment_free(d);
}

static void fault(void)
{
    struct fixture f;
    fixture_init(&f);
    add_vm(&f, "boom", "libcrash.so", 0x10000000, 0x10000000);
    add_vm(&f, "never", "libargs.so", 0x20000000, 0x10000000);
    struct cvm_deployment *d = run(&f, 0);
    const struct cvm_vm_result *r = cvm_deployment_vm_result(d, 0);
    CHECK_INT(r->outcome, CVM_VM_FAULTED);
    CHECK_INT(r->signal, SIGSEGV);
    CHECK_INT(r->fault_addr, 0xdead0);
    CHECK(r->fault_ip >= 0x10000000 && r->fault_ip < 0x10010000);
    CHECK_STR(r->fault_cvm, "boom");
    CHECK_INT(cvm_deployment_vm_result(d, 1)->outcome, CVM_VM_NOT_STARTED);
    CHECK_STR(output(&f), "about to fault\n");
    cvm_deployment_free(d);
}

static void timeout(void)
{
    struct fixture f;
    fixture_init(&f);
    add_vm(&f, "spin", "libspin.so", 0x10000000, 0x10000000)->wait_seconds = 0;
    struct cvm_deployment *d = run(&f, 200);
    CHECK(cvm_deployment_timed_out(d));
    CHECK_INT(cvm_deployment_vm_result(d, 0)->outcome, CVM_VM_STOPPED);
    CHECK_STR(output(&f), "spinning\n");
    cvm_deployment_free(d);
}

static void redeploy_same_windows(void)
{
    /* Windows are released on free: the same deployment can be made again at once. */
    for (int i = 0; i < 3; i++) {
        struct fixture f;
        fixture_init(&f);
        add_vm(&f, "a", "libargs.so", 0x10000000, 0x10000000);
        CHECK_STR(create_error(&f), "(created)");
    }
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(overlapping_windows),
        TAP_TEST(occupied_window),
        TAP_TEST(window_too_small),
        TAP_TEST(foreign_architecture),
        TAP_TEST(callback_links),
        TAP_TEST(shared_heap_refused),
        TAP_TEST(boot_block),
        TAP_TEST(hostile_hostcalls),
        TAP_TEST(threads),
        TAP_TEST(exit_codes),
        TAP_TEST(fault),
        TAP_TEST(timeout),
        TAP_TEST(redeploy_same_windows),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
