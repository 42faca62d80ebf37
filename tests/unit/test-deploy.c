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
    CHECK_INT(cvm_elf_parse(f.bytes[0], f.vms[0].runtime_len, "a", CVM_ELF_RUNTIME, &img, &err), 0);
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

static const struct cvm_heap_spec heap_g[] = {{.name = "g", .base = 0x40000000, .size = 0x100000}};

/* Two members pass a message through their heap; an outsider cannot reach it. */
static void shared_heap(void)
{
    struct fixture f;
    fixture_init(&f);
    static const char *const w[] = {"sharedheap", "write"};
    static const char *const r[] = {"sharedheap", "read"};
    static const char *const o[] = {"sharedheap", "outside", "0x40000000"};
    struct cvm_vm_spec *v = add_vm(&f, "writer", "libsharedheap.so", 0x10000000, 0x10000000);
    v->argv = w, v->argc = 2, v->clean_room = false, v->heap_group = "g";
    v = add_vm(&f, "reader", "libsharedheap.so", 0x20000000, 0x10000000);
    v->argv = r, v->argc = 2, v->clean_room = false, v->heap_group = "g";
    v = add_vm(&f, "outsider", "libsharedheap.so", 0x30000000, 0x10000000);
    v->argv = o, v->argc = 3;
    f.spec.heaps = heap_g, f.spec.n_heaps = 1;
    struct cvm_deployment *d = run(&f, 0);
    CHECK_STR(output(&f), "writer: heap 0x40000000+0x100000\n"
                          "zero-filled: 1\n"
                          "reader: heap 0x40000000+0x100000\n"
                          "last byte: !\n"
                          "a message through the shared heap\n"
                          "write from the shared heap: 34\n"
                          "gettimeofday into the shared heap: 0\n"
                          "write across its end: -14\n"
                          "write past its end: -14\n"
                          "write before its start: -14\n"
                          "outsider: heap inside its window\n"
                          "outsider's write from the shared heap: -14\n"
                          "outsider's gettimeofday into it: -14\n");
    const struct cvm_vm_info *i = cvm_deployment_vm_info(d, 1);
    CHECK_INT(i->heap_base, 0x40000000);
    CHECK_INT(i->heap_size, 0x100000);
    CHECK_STR(i->heap_group, "g");
    CHECK(cvm_deployment_vm_info(d, 2)->heap_group == NULL);
    for (size_t k = 0; k < 3; k++)
        CHECK_INT(cvm_deployment_vm_result(d, k)->exit_code, 0);
    cvm_deployment_free(d);
    /* Released with the deployment: the same one deploys again. */
    CHECK_STR(create_error(&f), "(created)");
}

static struct fixture *heap_fixture(struct fixture *f)
{
    fixture_init(f);
    add_vm(f, "a", "libargs.so", 0x10000000, 0x10000000)->heap_group = "g";
    f->vms[0].clean_room = false;
    add_vm(f, "b", "libargs.so", 0x20000000, 0x10000000)->heap_group = "g";
    f->vms[1].clean_room = false;
    f->spec.heaps = heap_g, f->spec.n_heaps = 1;
    return f;
}

static void shared_heap_errors(void)
{
    struct fixture f;
    struct cvm_heap_spec h[CVM_MAX_HEAPS + 1];
    heap_fixture(&f);
    CHECK_STR(create_error(&f), "(created)");
    f.vms[1].heap_group = "nosuch";
    CHECK_STR(create_error(&f), "cVM 'b': heap_group 'nosuch' names no shared heap");
    f.vms[1].heap_group = "g";
    f.vms[1].clean_room = true;
    CHECK_STR(create_error(&f), "cVM 'b': heap_group 'g' needs clean_room: false");
    f.vms[1].heap_group = NULL;
    f.vms[1].clean_room = false;
    CHECK_STR(create_error(&f), "cVM 'b': clean_room: false needs a heap_group");
    f.vms[1].clean_room = true;
    CHECK_STR(create_error(&f), "(created)"); /* a group of one cVM */
    f.vms[0].clean_room = true;
    f.vms[0].heap_group = NULL;
    CHECK_STR(create_error(&f), "shared heap 'g' has no member cVM");

    heap_fixture(&f);
    h[0] = heap_g[0];
    f.spec.heaps = h;
    h[0].size = 0x1800;
    CHECK_STR(create_error(&f), "shared heap 'g': size 0x1800 must be a multiple of 4 KiB, from "
                                "4 KiB to 64 GiB");
    h[0].size = 0;
    CHECK_STR(create_error(&f), "shared heap 'g': size 0x0 must be a multiple of 4 KiB, from "
                                "4 KiB to 64 GiB");
    h[0].size = CVM_HEAP_MAX_SIZE + 4096;
    CHECK_STR(create_error(&f), "shared heap 'g': size 0x1000001000 must be a multiple of 4 KiB, "
                                "from 4 KiB to 64 GiB");
    h[0].size = 0x100000;
    h[0].base = 0x40000800;
    CHECK_STR(create_error(&f), "shared heap 'g': base 0x40000800 must be 4 KiB-aligned");
    h[0].base = 0xfffffffffff00000;
    CHECK_STR(create_error(&f), "shared heap 'g': base 0xfffffffffff00000 + size 0x100000 wraps "
                                "around");
    h[0].base = 0x1ff00000;
    CHECK_STR(create_error(&f), "shared heap 'g' [0x1ff00000, 0x20000000) overlaps the window "
                                "[0x10000000, 0x20000000) of 'a'");
    h[0].base = 0x40000000;
    h[1] = (struct cvm_heap_spec){.name = "h", .base = 0x400ff000, .size = 0x1000};
    f.spec.n_heaps = 2;
    f.vms[1].heap_group = "h";
    CHECK_STR(create_error(&f), "shared heap 'h' [0x400ff000, 0x40100000) overlaps shared heap "
                                "[0x40000000, 0x40100000) of 'g'");
    h[1].name = "g";
    CHECK_STR(create_error(&f), "two shared heaps are named 'g'");
    h[1].name = "-h";
    CHECK_STR(create_error(&f), "shared heap 2 needs a name of 1 to 63 letters, digits, '.', '_' "
                                "or '-', starting with a letter or digit");
    f.spec.n_heaps = CVM_MAX_HEAPS + 1;
    CHECK_STR(create_error(&f), "deployment declares 17 shared heaps, at most 16 allowed");

    void *p = mmap((void *)0x40080000, 4096, PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(p == (void *)0x40080000);
    heap_fixture(&f);
    CHECK_STR(create_error(&f), "shared heap 'g' [0x40000000, 0x40100000) overlaps mapping "
                                "[0x40080000, 0x40081000) of this process");
    munmap(p, 4096);
}

/* cvmctl run --heap: clean-room drops every group; shared adds one to a spec of none. */
static void heap_mode(void)
{
    struct fixture f;
    heap_fixture(&f);
    CHECK(!cvm_deploy_spec_set_heap_mode(&f.spec, CVM_HEAP_SHARED));
    CHECK(cvm_deploy_spec_set_heap_mode(&f.spec, CVM_HEAP_CLEAN_ROOM));
    struct cvm_deployment *d = run(&f, 0);
    CHECK_STR(output(&f), "id=1 name=a heap-inside=1\nheap[1]=0\n"
                          "id=2 name=b heap-inside=1\nheap[1]=0\n");
    CHECK(cvm_deployment_vm_info(d, 0)->heap_group == NULL);
    cvm_deployment_free(d);

    fixture_init(&f);
    add_vm(&f, "a", "libargs.so", 0x20000000, 0x10000000);
    add_vm(&f, "b", "libargs.so", 0x10000000, 0x10000000);
    CHECK(!cvm_deploy_spec_set_heap_mode(&f.spec, CVM_HEAP_CLEAN_ROOM));
    CHECK(cvm_deploy_spec_set_heap_mode(&f.spec, CVM_HEAP_SHARED));
    d = run(&f, 0);
    /* b reads what a wrote: heap[0] = 'x' */
    CHECK_STR(output(&f), "id=1 name=a heap-inside=0\nheap[1]=0\n"
                          "id=2 name=b heap-inside=0\nheap[1]=0\n");
    const struct cvm_vm_info *i = cvm_deployment_vm_info(d, 1);
    CHECK_INT(i->heap_base, 0x30000000);
    CHECK_INT(i->heap_size, CVM_HEAP_SHARED_SIZE);
    CHECK_STR(i->heap_group, CVM_HEAP_SHARED_NAME);
    CHECK_INT(*(volatile char *)0x30000000, 'x');
    cvm_deployment_free(d);
    f.spec.heap_mode = 7;
    CHECK_STR(create_error(&f), "unknown heap mode 7");
}

/* The log line names group, base and size; deploy measures what build expects. */
static void shared_heap_measurement(void)
{
    struct fixture f;
    heap_fixture(&f);
    struct cvm_heap_spec h = {.name = "g", .size = 0x200000}; /* placed above every window */
    f.spec.heaps = &h;
    uint8_t rt[CVM_SHA256_LEN] = {0};
    struct cvm_buf log;
    cvm_buf_init(&log, 1 << 20);
    struct cvm_error *err = NULL;
    CHECK_INT(cvm_measure_vm_log(&f.spec, 1, rt, NULL, NULL, &log, &err), 0);
    CHECK_INT(cvm_buf_append(&log, "", 1, &err), 0);
    CHECK(strstr((const char *)log.data, "\nheap shared 1:g 0x30000000 0x200000\n") != NULL);
    cvm_buf_release(&log);

    struct cvm_measurement want, got;
    CHECK_INT(cvm_measure_spec(&f.spec, &want, &err), 0);
    struct cvm_deployment *d = NULL;
    CHECK_INT(cvm_deployment_create(&f.spec, &d, &err), 0);
    CHECK_INT(cvm_deployment_vm_info(d, 0)->heap_base, 0x30000000);
    CHECK_INT(cvm_deployment_measure(d, &f.spec, &got, &err), 0);
    CHECK(memcmp(want.deployment, got.deployment, CVM_SHA256_LEN) == 0);
    CHECK(memcmp(want.cvm[1], got.cvm[1], CVM_SHA256_LEN) == 0);
    /* The group's size is measured: another size, another value. */
    h.size = 0x300000;
    struct cvm_measurement other;
    CHECK_INT(cvm_measure_spec(&f.spec, &other, &err), 0);
    CHECK(memcmp(want.cvm[1], other.cvm[1], CVM_SHA256_LEN) != 0);
    cvm_measurement_release(&want);
    cvm_measurement_release(&got);
    cvm_measurement_release(&other);
    cvm_deployment_free(d);
    /* Errors reach the measurement too, so a build refuses what deploy would. */
    f.vms[1].heap_group = "nosuch";
    CHECK_INT(cvm_measure_spec(&f.spec, &want, &err), -CVM_E_NOTFOUND);
    CHECK_STR(err->message, "cVM 'b': heap_group 'nosuch' names no shared heap");
    cvm_error_free(err);
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
                          "advertise own buffer: 1\n"
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
        TAP_TEST(shared_heap),
        TAP_TEST(shared_heap_errors),
        TAP_TEST(heap_mode),
        TAP_TEST(shared_heap_measurement),
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
