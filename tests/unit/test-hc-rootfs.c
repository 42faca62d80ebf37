/* Hostcalls 900/901: a cVM reads the deployment's root.cpio, lists it, and every hostile
 * read gets its documented -errno (tests/runtimes/rootfs.c prints what it saw). */
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#include "base.h"
#include "monitor.h"
#include "tap.h"

struct fixture {
    struct cvm_vm_spec vm;
    unsigned char *runtime;
    struct cvm_deploy_spec spec;
    int out; /* a temp file receiving the cVM's output */
};

static void fixture_init(struct fixture *f)
{
    *f = (struct fixture){0};
    size_t len;
    f->runtime = tap_read_build_file("tests/runtimes/librootfs.so", &len);
    f->vm = (struct cvm_vm_spec){.name = "r",
                                 .runtime_name = "librootfs.so",
                                 .runtime = f->runtime,
                                 .runtime_len = len,
                                 .base = 0x10000000,
                                 .size = 0x10000000,
                                 .callback_out = CVM_CALLBACK_MONITOR,
                                 .callback_in = CVM_CALLBACK_MONITOR,
                                 .wait_seconds = CVM_WAIT_JOIN,
                                 .clean_room = true};
    f->spec.vms = &f->vm;
    f->spec.n_vms = 1;
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

static struct cvm_deployment *create(struct fixture *f)
{
    struct cvm_deployment *d = NULL;
    struct cvm_error *err = NULL;
    if (cvm_deployment_create(&f->spec, &d, &err) < 0) {
        printf("# create: %s\n", err->message);
        exit(1);
    }
    return d;
}

/* Runs d and returns the cVM's exit code; it must exit, not fault or hang. */
static int run(struct cvm_deployment *d)
{
    struct cvm_error *err = NULL;
    struct cvm_run_options o = {.timeout_ms = 20000};
    CHECK_INT(cvm_deployment_run(d, &o, &err), 0);
    const struct cvm_vm_result *r = cvm_deployment_vm_result(d, 0);
    CHECK_INT(r->outcome, CVM_VM_EXITED);
    return r->exit_code;
}

/* A newc archive (specs/image-format.md §4) written by hand, so the test owns every byte. */
struct archive {
    unsigned char data[16384];
    size_t len;
    unsigned ino;
};

static void put(struct archive *a, const void *p, size_t n)
{
    CHECK(n <= sizeof(a->data) - a->len);
    if (n) /* entries without data pass NULL */
        memcpy(a->data + a->len, p, n);
    a->len += n;
}

static void pad4(struct archive *a)
{
    static const unsigned char zero[4];
    put(a, zero, (4 - a->len % 4) % 4);
}

static void entry(struct archive *a, const char *name, unsigned mode, const void *data, size_t size)
{
    char h[128];
    bool trailer = strcmp(name, "TRAILER!!!") == 0;
    int n = snprintf(h, sizeof(h), "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X",
                     trailer ? 0 : ++a->ino, mode, 0, 0, (mode & 0170000) == 0040000 ? 2 : !trailer,
                     0, size, 0, 0, 0, 0, strlen(name) + 1, 0);
    CHECK_INT(n, 110);
    put(a, h, 110);
    put(a, name, strlen(name) + 1);
    pad4(a);
    put(a, data, size);
    pad4(a);
}

static unsigned fnv1a(const unsigned char *p, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static const char hello[] = "hello, cVM\n";
static unsigned char big[5000];

static void make_archive(struct archive *a)
{
    *a = (struct archive){.len = 0};
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (unsigned char)(i * 7 + 3);
    entry(a, "dir", 0040755, NULL, 0);
    entry(a, "dir/big.bin", 0100644, big, sizeof(big));
    entry(a, "dir/hello.txt", 0100644, hello, strlen(hello));
    entry(a, "link", 0120777, "dir/hello.txt", 13);
    entry(a, "TRAILER!!!", 0, NULL, 0);
}

/* What the runtime prints for the archive above, then for its hostile reads. */
static const char *expected(const struct archive *a)
{
    static char want[4096];
    snprintf(want, sizeof(want),
             "rootfs size: %zu\n"
             "read %zu bytes, fnv1a %08x\n"
             "dir dir size 0 fnv1a 811c9dc5\n"
             "file dir/big.bin size 5000 fnv1a %08x\n"
             "file dir/hello.txt size 11 fnv1a %08x\n"
             "symlink link size 13 fnv1a %08x\n"
             "entries: 4\n"
             "buffer outside window: -14\n"
             "buffer across window end: -14\n"
             "buffer in guard page: -14\n"
             "buffer in boot block: -14\n"
             "buffer in code: -14\n"
             "null buffer, len 0: -14\n"
             "len past end: -22\n"
             "offset+len past end: -22\n"
             "offset past end: -22\n"
             "negative len: -22\n"
             "negative offset: -22\n"
             "offset+len wraps: -22\n"
             "bad range and bad buffer: -22\n"
             "len 0 at end: 0\n"
             "last byte: 1\n"
             "byte at offset 1: 1\n"
             "it is '7'\n",
             a->len, a->len, fnv1a(a->data, a->len), fnv1a(big, sizeof(big)),
             fnv1a((const unsigned char *)hello, strlen(hello)),
             fnv1a((const unsigned char *)"dir/hello.txt", 13));
    return want;
}

static void reads_archive(void)
{
    static struct archive a;
    make_archive(&a);
    CHECK_INT(a.len, 5632);
    struct fixture f;
    fixture_init(&f);
    f.spec.rootfs = a.data;
    f.spec.rootfs_len = a.len;
    struct cvm_deployment *d = create(&f);
    CHECK_INT(run(d), 0);
    CHECK_STR(output(&f), expected(&a));
    cvm_deployment_free(d);
}

/* The deployment keeps its own copy: the caller's bytes may change or go once it exists. */
static void copy_taken_at_create(void)
{
    struct archive *a = malloc(sizeof(*a));
    CHECK(a);
    make_archive(a);
    struct fixture f;
    fixture_init(&f);
    f.spec.rootfs = a->data;
    f.spec.rootfs_len = a->len;
    struct cvm_deployment *d = create(&f);
    static struct archive keep;
    keep = *a;
    memset(a->data, 'x', a->len);
    free(a);
    CHECK_INT(run(d), 0);
    CHECK_STR(output(&f), expected(&keep));
    cvm_deployment_free(d);
}

static void no_rootfs(void)
{
    struct fixture f;
    fixture_init(&f);
    struct cvm_deployment *d = create(&f);
    CHECK_INT(run(d), 0);
    CHECK_STR(output(&f), "rootfs size: -2\n"
                          "read without rootfs: -2\n"
                          "bad buffer without rootfs: -2\n"
                          "bad range without rootfs: -2\n");
    cvm_deployment_free(d);
}

/* A present but empty archive is size 0, not -ENOENT; the runtime then finds no entries. */
static void empty_rootfs(void)
{
    static const uint8_t none[1];
    struct fixture f;
    fixture_init(&f);
    f.spec.rootfs = none;
    f.spec.rootfs_len = 0;
    struct cvm_deployment *d = create(&f);
    CHECK_INT(run(d), 1);
    CHECK_STR(output(&f), "rootfs size: 0\n"
                          "read 0 bytes, fnv1a 811c9dc5\n"
                          "not a newc archive\n");
    cvm_deployment_free(d);
}

static void rootfs_too_large(void)
{
    static const uint8_t byte[1];
    struct fixture f;
    fixture_init(&f);
    f.spec.rootfs = byte; /* refused on its length, before a byte is read */
    f.spec.rootfs_len = (size_t)(UINT64_C(4) << 30) + 1;
    struct cvm_deployment *d = NULL;
    struct cvm_error *err = NULL;
    CHECK_INT(cvm_deployment_create(&f.spec, &d, &err), -CVM_E_LIMIT);
    CHECK_STR(tap_take_error(&err), "rootfs archive is 4294967297 bytes, at most 4294967296 "
                                    "allowed");
    CHECK(!d);
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(reads_archive), TAP_TEST(copy_taken_at_create), TAP_TEST(no_rootfs),
        TAP_TEST(empty_rootfs),  TAP_TEST(rootfs_too_large),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
