/* The LibOS ramfs: archives loaded and refused, every file syscall on success and on each error
 * it returns, and application pointers refused by user_ok (exact results, bytes and fields). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ramfs.h"
#include "tap.h"

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif

/* The kernel's struct stat on x86-64 is glibc's: the field offsets must agree. */
#if defined(__x86_64__)
_Static_assert(sizeof(struct stat) == sizeof(struct ramfs_stat), "stat size");
_Static_assert(offsetof(struct stat, st_mode) == offsetof(struct ramfs_stat, st_mode), "mode");
_Static_assert(offsetof(struct stat, st_rdev) == offsetof(struct ramfs_stat, st_rdev), "rdev");
_Static_assert(offsetof(struct stat, st_size) == offsetof(struct ramfs_stat, st_size), "size");
_Static_assert(offsetof(struct stat, st_mtim) == offsetof(struct ramfs_stat, st_mtime_sec), "mt");
#endif

#define P(x) ((long)(uintptr_t)(x))

/* ---- the environment: a checked allocator, a recorded console, a refused page ---------------- */

struct console_call {
    int fd;
    char bytes[64];
    size_t n;
};

static struct {
    size_t live;       /* allocations not yet freed */
    size_t count;      /* allocations made */
    size_t fail_at;    /* the count at which alloc fails (0: never) */
    long random_calls; /* calls to random */
    struct console_call writes[16];
    size_t n_writes;
    const char *input; /* what console_read returns, then 0 */
    size_t input_pos;
    uint8_t *region; /* three pages: the middle one is refused */
    uint8_t *bad;
    long user_ok_calls;
} E;

static void *env_alloc(void *ctx, size_t n)
{
    (void)ctx;
    E.count++;
    if (E.fail_at && E.count >= E.fail_at)
        return NULL;
    size_t *p = calloc(1, n + 16);
    CHECK(p);
    p[0] = n;
    E.live++;
    return p + 2;
}

static void env_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    size_t *h = (size_t *)p - 2;
    if (h[0] != n) {
        printf("# free of %zu bytes, allocated %zu\n", n, h[0]);
        exit(1);
    }
    CHECK(E.live > 0);
    E.live--;
    free(h);
}

static long env_random(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    E.random_calls++;
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)buf)[i] = (uint8_t)(0xa0 + i);
    return (long)n;
}

static long env_console_write(void *ctx, int fd, const void *buf, size_t n)
{
    (void)ctx;
    CHECK(E.n_writes < 16 && n <= 64);
    struct console_call *c = &E.writes[E.n_writes++];
    c->fd = fd;
    memcpy(c->bytes, buf, n);
    c->n = n;
    return (long)n;
}

static long env_console_read(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    size_t left = E.input ? strlen(E.input) - E.input_pos : 0;
    if (n > left)
        n = left;
    memcpy(buf, E.input + E.input_pos, n);
    E.input_pos += n;
    return (long)n;
}

static bool env_user_ok(void *ctx, const void *p, size_t n, bool write)
{
    (void)ctx;
    (void)write;
    E.user_ok_calls++;
    uintptr_t a = (uintptr_t)p, bad = (uintptr_t)E.bad;
    if (a < 4096 || a + n < a)
        return false;
    return a + n <= bad || a >= bad + 4096;
}

static const struct ramfs_env env = {
    .alloc = env_alloc,
    .free = env_free,
    .random = env_random,
    .console_write = env_console_write,
    .console_read = env_console_read,
    .user_ok = env_user_ok,
};

static void env_setup(void)
{
    E.region = aligned_alloc(4096, 3 * 4096);
    CHECK(E.region);
    memset(E.region, 0x5a, 3 * 4096);
    E.bad = E.region + 4096;
}

/* The refused page is never read or written. */
static void check_bad_page_untouched(void)
{
    for (size_t i = 0; i < 4096; i++)
        CHECK(E.bad[i] == 0x5a);
}

/* ---- archives built by hand ------------------------------------------------------------------ */

struct ar {
    uint8_t *d;
    size_t len, cap;
};

static void ar_put(struct ar *a, const void *p, size_t n)
{
    if (a->len + n > a->cap) {
        a->cap = (a->len + n) * 2 + 256;
        a->d = realloc(a->d, a->cap);
        CHECK(a->d);
    }
    memcpy(a->d + a->len, p, n);
    a->len += n;
}

static void ar_pad(struct ar *a)
{
    while (a->len % 4)
        ar_put(a, "", 1);
}

struct ent {
    const char *name;
    size_t namesize; /* 0: strlen(name) + 1 */
    uint32_t mode, nlink, uid, gid, mtime;
    const void *data;
    size_t size; /* 0 with data: strlen(data) */
    const char *magic;
    bool no_pad; /* leave out the zeros after the data */
};

static void ar_ent(struct ar *a, struct ent e)
{
    size_t namesize = e.namesize ? e.namesize : strlen(e.name) + 1;
    size_t size = e.size ? e.size : e.data ? strlen(e.data) : 0;
    char h[128];
    snprintf(h, sizeof(h), "%s%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X",
             e.magic ? e.magic : "070701", 0u, e.mode, e.uid, e.gid, e.nlink ? e.nlink : 1u,
             e.mtime, size, 0u, 0u, 0u, 0u, namesize, 0u);
    ar_put(a, h, 110);
    size_t have = strlen(e.name) + 1;
    ar_put(a, e.name, have < namesize ? have : namesize);
    for (size_t i = have; i < namesize; i++)
        ar_put(a, "", 1);
    ar_pad(a);
    if (size)
        ar_put(a, e.data, size);
    if (!e.no_pad)
        ar_pad(a);
}

static void ar_file(struct ar *a, const char *name, const char *data)
{
    ar_ent(a, (struct ent){.name = name, .mode = 0100644, .data = data});
}

static void ar_dir(struct ar *a, const char *name)
{
    ar_ent(a, (struct ent){.name = name, .mode = 040755});
}

static void ar_link(struct ar *a, const char *name, const char *target)
{
    ar_ent(a, (struct ent){.name = name, .mode = 0120777, .data = target});
}

static void ar_trailer(struct ar *a)
{
    ar_ent(a, (struct ent){.name = "TRAILER!!!"});
}

/* ---- the file system under test -------------------------------------------------------------- */

static struct ramfs *fs;

static long sc(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
    const long a[6] = {a0, a1, a2, a3, a4, a5};
    return ramfs_syscall(fs, nr, a);
}

#define SC_(nr, a0, a1, a2, a3, a4, a5, ...)                                                       \
    sc(nr, (long)(a0), (long)(a1), (long)(a2), (long)(a3), (long)(a4), (long)(a5))
#define SC(nr, ...) SC_(nr, __VA_ARGS__, 0, 0, 0, 0, 0, 0)

static long load(const struct ar *a)
{
    return ramfs_new(&env, a->d, a->len, &fs);
}

/* The archive most tests use. */
static void start(void)
{
    env_setup();
    struct ar a = {0};
    ar_dir(&a, "tmp");
    ar_dir(&a, "etc");
    ar_ent(&a, (struct ent){.name = "etc/passwd",
                            .mode = 0100600,
                            .uid = 7,
                            .gid = 8,
                            .mtime = 1700000000,
                            .data = "root:x:0:0::/root:/bin/sh\n"});
    ar_ent(&a, (struct ent){.name = "bin/tool", .mode = 0100755, .data = "#!x"});
    ar_link(&a, "lib", "usr/lib");
    ar_dir(&a, "usr/lib");
    ar_file(&a, "usr/lib/libc.so", "ELF");
    ar_link(&a, "usr/lib/abs", "/etc/passwd");
    ar_link(&a, "dangling", "tmp/new");
    ar_link(&a, "loop1", "loop2");
    ar_link(&a, "loop2", "loop1");
    ar_link(&a, "self", "self");
    ar_link(&a, "up", "..");
    ar_trailer(&a);
    CHECK_INT(load(&a), 0);
    free(a.d);
}

/* Frees the fs: nothing may be left allocated, and the refused page was never touched. */
static void finish(void)
{
    ramfs_free(fs);
    fs = NULL;
    CHECK_INT(E.live, 0);
    check_bad_page_untouched();
}

static long xopen(const char *path, long flags, long mode)
{
    return SC(SYS_open, P(path), flags, mode);
}

static long xwrite(long fd, const char *s)
{
    return SC(SYS_write, fd, P(s), strlen(s));
}

static long xclose(long fd)
{
    return SC(SYS_close, fd);
}

/* The whole content of path, read through a fresh descriptor. */
static const char *content(const char *path)
{
    static char buf[4][512];
    static int next;
    char *b = buf[next++ % 4];
    long fd = xopen(path, O_RDONLY, 0);
    if (fd < 0)
        return tap_fmt("(open: %ld)", fd);
    long n = SC(SYS_read, fd, P(b), sizeof(buf[0]) - 1);
    CHECK_INT(xclose(fd), 0);
    if (n < 0)
        return tap_fmt("(read: %ld)", n);
    b[n] = 0;
    return b;
}

static struct ramfs_stat xstat(const char *path)
{
    struct ramfs_stat st;
    memset(&st, 0xee, sizeof(st));
    CHECK_INT(SC(SYS_stat, P(path), P(&st)), 0);
    return st;
}

static long exists(const char *path)
{
    struct ramfs_stat st;
    return SC(SYS_lstat, P(path), P(&st));
}

/* A folder's listing as "name/type name/type ...", read count bytes at a time. */
static const char *listing(const char *path, size_t count)
{
    static char out[4096];
    uint8_t buf[4096];
    CHECK(count <= sizeof(buf));
    long fd = xopen(path, O_RDONLY | O_DIRECTORY, 0);
    CHECK(fd >= 0);
    out[0] = 0;
    for (;;) {
        long n = SC(SYS_getdents64, fd, P(buf), count);
        if (n < 0)
            snprintf(out + strlen(out), sizeof(out) - strlen(out), " (%ld)", n);
        if (n <= 0)
            break;
        for (long off = 0; off < n;) {
            uint16_t reclen;
            memcpy(&reclen, buf + off + 16, 2);
            CHECK(reclen % 8 == 0 && off + reclen <= n);
            snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s/%d", out[0] ? " " : "",
                     (const char *)buf + off + 19, buf[off + 18]);
            off += reclen;
        }
    }
    CHECK_INT(xclose(fd), 0);
    return out;
}

/* ---- the acceptance case --------------------------------------------------------------------- */

static void seed_self_test(void)
{
    start();
    long fd = xopen("/tmp/file", O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK_INT(fd, 3);
    CHECK_INT(xwrite(fd, "hello world\n"), 12);
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_SET), 0);
    char buf[128];
    memset(buf, 'x', sizeof(buf));
    CHECK_INT(SC(SYS_read, fd, P(buf), 128), 12);
    CHECK(memcmp(buf, "hello world\n", 12) == 0 && buf[12] == 'x');
    CHECK_INT(xclose(fd), 0);

    fd = xopen("/dev/zero", O_RDONLY, 0);
    CHECK_INT(fd, 3);
    memset(buf, 0xff, sizeof(buf));
    CHECK_INT(SC(SYS_read, fd, P(buf), 128), 128);
    for (int i = 0; i < 128; i++)
        CHECK_INT(buf[i], 0);
    CHECK_INT(xclose(fd), 0);

    fd = xopen("/dev/random", O_RDONLY, 0);
    CHECK_INT(SC(SYS_read, fd, P(buf), 8), 8);
    CHECK_INT(E.random_calls, 1);
    CHECK(memcmp(buf, "\xa0\xa1\xa2\xa3\xa4\xa5\xa6\xa7", 8) == 0);
    CHECK_INT(xclose(fd), 0);

    fd = xopen("/dev/stdout", O_WRONLY, 0);
    CHECK_INT(fd, 3);
    CHECK_INT(xwrite(fd, "Hello /dev/stdout\n"), 18);
    CHECK_INT(E.n_writes, 1);
    CHECK_INT(E.writes[0].fd, 1);
    CHECK_INT(E.writes[0].n, 18);
    CHECK(memcmp(E.writes[0].bytes, "Hello /dev/stdout\n", 18) == 0);
    CHECK_INT(xclose(fd), 0);
    finish();
}

/* ---- loading --------------------------------------------------------------------------------- */

static void archive_contents(void)
{
    start();
    struct ramfs_stat st = xstat("/etc/passwd");
    CHECK_INT(st.st_mode, 0100600);
    CHECK_INT(st.st_size, 26);
    CHECK_INT(st.st_uid, 7);
    CHECK_INT(st.st_gid, 8);
    CHECK_INT(st.st_nlink, 1);
    CHECK_INT(st.st_mtime_sec, 1700000000);
    CHECK_INT(st.st_atime_sec, 1700000000);
    CHECK_INT(st.st_ctime_sec, 1700000000);
    CHECK_INT(st.st_mtime_nsec, 0);
    CHECK_INT(st.st_blksize, 4096);
    CHECK_INT(st.st_blocks, 1);
    CHECK_INT(st.st_rdev, 0);
    CHECK_INT(st.st_pad0, 0);
    CHECK_STR(content("/etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
    /* "bin" was never an entry: made as a 0755 folder. */
    st = xstat("/bin");
    CHECK_INT(st.st_mode, 040755);
    CHECK_INT(st.st_nlink, 2);
    CHECK_INT(st.st_size, 4096);
    CHECK_INT(xstat("/bin/tool").st_mode, 0100755);
    CHECK_STR(content("/lib/libc.so"), "ELF");
    CHECK_STR(content("/usr/lib/abs"), "root:x:0:0::/root:/bin/sh\n");
    /* The root holds bin dangling dev etc lib loop1 loop2 self tmp up usr: 5 folders. */
    CHECK_INT(xstat("/").st_nlink, 7);
    CHECK_INT(xstat("/").st_ino, xstat("/..").st_ino);
    CHECK(xstat("/etc").st_ino != xstat("/tmp").st_ino);
    CHECK_INT(xstat("/etc").st_dev, xstat("/dev/null").st_dev);
    CHECK_STR(listing("/", 4096), "./4 ../4 dev/4 tmp/4 etc/4 bin/4 lib/10 usr/4 dangling/10 "
                                  "loop1/10 loop2/10 self/10 up/10");
    finish();
}

static void archive_names(void)
{
    env_setup();
    struct ar a = {0};
    ar_ent(&a, (struct ent){.name = ".", .mode = 040700, .mtime = 5});
    ar_file(&a, "./x", "1");
    ar_file(&a, "/y", "2");
    ar_file(&a, "a//b/./c/", "3");
    ar_file(&a, "x", "last wins");
    ar_dir(&a, "a/b");
    ar_ent(&a, (struct ent){.name = "a", .mode = 040711});
    ar_link(&a, "y", "x");
    ar_dir(&a, "dev");
    ar_dir(&a, "dev/shm");
    ar_trailer(&a);
    CHECK_INT(load(&a), 0);
    free(a.d);
    struct ramfs_stat st = xstat("/");
    CHECK_INT(st.st_mode, 040700);
    CHECK_INT(st.st_mtime_sec, 5);
    CHECK_STR(content("/x"), "last wins");
    CHECK_STR(content("/y"), "last wins");
    CHECK_INT(exists("/y"), 0);
    CHECK_STR(content("/a/b/c"), "3");
    /* A folder entry over a folder keeps its children and takes the later mode. */
    CHECK_INT(xstat("/a").st_mode, 040711);
    CHECK_STR(listing("/dev", 4096), "./4 ../4 null/2 zero/2 random/2 urandom/2 stdin/2 stdout/2 "
                                     "stderr/2 shm/4");
    finish();

    /* No archive: an empty root with /dev. */
    CHECK_INT(ramfs_new(&env, NULL, 0, &fs), 0);
    CHECK_STR(listing("/", 4096), "./4 ../4 dev/4");
    finish();
}

static long refused(struct ar *a)
{
    struct ramfs *before = fs = (struct ramfs *)(uintptr_t)1;
    long r = load(a);
    if (r == 0)
        printf("# the archive was accepted\n");
    CHECK(fs == before); /* the output is untouched on failure */
    fs = NULL;
    CHECK_INT(E.live, 0);
    free(a->d);
    *a = (struct ar){0};
    return r;
}

static void archive_malformed(void)
{
    env_setup();
    struct ar a = {0};
    /* Magic, hex, header. */
    ar_ent(&a, (struct ent){.name = "x", .mode = 0100644, .magic = "070707"});
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    ar_ent(&a, (struct ent){.name = "x", .mode = 0100644, .magic = "070702"});
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    ar_file(&a, "x", "");
    ar_trailer(&a);
    a.d[6 + 8] = 'g'; /* c_mode */
    CHECK_INT(refused(&a), -EINVAL);
    ar_put(&a, "070701", 6);
    CHECK_INT(refused(&a), -EINVAL);
    /* Names: namesize 0, running past the end, not NUL-terminated at namesize. */
    ar_ent(&a, (struct ent){.name = "", .namesize = 0x7fffffff, .mode = 0100644});
    CHECK_INT(refused(&a), -EINVAL);
    ar_ent(&a, (struct ent){.name = "x", .mode = 0100644});
    ar_trailer(&a);
    memcpy(a.d + 6 + 11 * 8, "00000000", 8);
    CHECK_INT(refused(&a), -EINVAL);
    ar_file(&a, "abc", "");
    ar_trailer(&a);
    memcpy(a.d + 6 + 11 * 8, "00000009", 8);
    CHECK_INT(refused(&a), -EINVAL);
    ar_ent(&a, (struct ent){.name = "abcd", .namesize = 3, .mode = 0100644});
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    ar_ent(&a, (struct ent){.name = "ab", .namesize = 5, .mode = 0100644});
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    /* Paths that leave the root, and over-long ones. */
    static const char *const dotdot[] = {"..", "../x", "a/../b", "/..", "./a/..", "a/.."};
    for (size_t i = 0; i < sizeof(dotdot) / sizeof(dotdot[0]); i++) {
        ar_file(&a, dotdot[i], "");
        ar_trailer(&a);
        CHECK_INT(refused(&a), -EINVAL);
    }
    char name[RAMFS_PATH_MAX + 2];
    memset(name, 'n', sizeof(name));
    name[256] = 0;
    ar_file(&a, name, "");
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    name[255] = 0;
    ar_file(&a, name, "");
    ar_trailer(&a);
    CHECK_INT(load(&a), 0);
    free(a.d);
    a = (struct ar){0};
    ramfs_free(fs);
    memset(name, 'n', sizeof(name));
    for (int i = 0; i < 17; i++)
        name[i * 240 + 239] = '/';
    name[RAMFS_PATH_MAX] = 0;
    ar_file(&a, name, "");
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    /* Data running past the end, padding missing, no trailer, the trailer's own rules. */
    ar_file(&a, "x", "data");
    ar_trailer(&a);
    memcpy(a.d + 6 + 6 * 8, "00001000", 8);
    CHECK_INT(refused(&a), -EINVAL);
    ar_ent(&a, (struct ent){.name = "x", .mode = 0100644, .data = "abc", .no_pad = true});
    CHECK_INT(refused(&a), -EINVAL);
    ar_file(&a, "x", "abc");
    CHECK_INT(refused(&a), -EINVAL);
    CHECK_INT(ramfs_new(&env, "", 0, &fs), -EINVAL); /* empty */
    CHECK_INT(E.live, 0);
    ar_ent(&a, (struct ent){.name = "TRAILER!!!", .data = "x"});
    CHECK_INT(refused(&a), -EINVAL);
    ar_trailer(&a);
    ar_put(&a, "\0\0\0\0\0\0\0\1", 8);
    CHECK_INT(refused(&a), -EINVAL);
    ar_trailer(&a);
    ar_put(&a, "\0\0\0\0\0\0\0\0", 8);
    CHECK_INT(load(&a), 0);
    free(a.d);
    a = (struct ar){0};
    ramfs_free(fs);
    /* Types and their rules. */
    static const uint32_t bad_modes[] = {
        020644, 060644, 010644, 0140644, 0, 0200644, 0100644 | 1u << 16};
    for (size_t i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++) {
        ar_ent(&a, (struct ent){.name = "x", .mode = bad_modes[i]});
        ar_trailer(&a);
        CHECK_INT(refused(&a), -EINVAL);
    }
    ar_ent(&a, (struct ent){.name = "x", .mode = 0100644, .nlink = 2, .data = "y"});
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    ar_ent(&a, (struct ent){.name = "d", .mode = 040755, .data = "y"});
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    ar_link(&a, "l", "");
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    ar_ent(&a, (struct ent){.name = "l", .mode = 0120777, .data = "a\0b", .size = 3});
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    char target[RAMFS_TARGET_MAX + 2];
    memset(target, 't', sizeof(target));
    target[RAMFS_TARGET_MAX + 1] = 0;
    ar_link(&a, "l", target);
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    target[RAMFS_TARGET_MAX] = 0;
    ar_link(&a, "l", target);
    ar_trailer(&a);
    CHECK_INT(load(&a), 0);
    free(a.d);
    a = (struct ar){0};
    ramfs_free(fs);
    /* Parents that are not folders; entries over folders and devices. */
    ar_file(&a, "f", "");
    ar_file(&a, "f/x", "");
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    ar_dir(&a, "d");
    ar_link(&a, "l", "d");
    ar_file(&a, "l/x", "");
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    ar_dir(&a, "d");
    ar_file(&a, "d", "");
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    ar_file(&a, "dev/null", "");
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    ar_link(&a, "dev", "/tmp");
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    ar_file(&a, ".", "");
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    /* Calls that cannot be served. */
    CHECK_INT(ramfs_new(&env, NULL, 1, &fs), -EINVAL);
    struct ramfs_env no_alloc = env;
    no_alloc.alloc = NULL;
    CHECK_INT(ramfs_new(&no_alloc, NULL, 0, &fs), -EINVAL);
    no_alloc = env;
    no_alloc.user_ok = NULL;
    CHECK_INT(ramfs_new(&no_alloc, NULL, 0, &fs), -EINVAL);
    CHECK_INT(E.live, 0);
}

static void archive_limits(void)
{
    env_setup();
    /* RAMFS_FILES_MAX entries: duplicates are fine, one more entry is refused. */
    struct ar one = {0};
    ar_file(&one, "a", "");
    const size_t each = one.len;
    struct ar a = {0};
    for (size_t i = 0; i < RAMFS_FILES_MAX + 1; i++)
        ar_put(&a, one.d, each);
    free(one.d);
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    for (size_t i = 0; i < RAMFS_FILES_MAX; i++)
        ar_file(&a, "a", "");
    ar_trailer(&a);
    CHECK_INT(load(&a), 0);
    free(a.d);
    a = (struct ar){0};
    ramfs_free(fs);

    /* Nodes: the builtin ones count; the last one fits, then creation fails with -ENOSPC. */
    char name[16];
    for (size_t i = 0; i < RAMFS_FILES_MAX - RAMFS_NODES_BUILTIN; i++) {
        snprintf(name, sizeof(name), "f%zu", i);
        ar_file(&a, name, "");
    }
    struct ar more = {0};
    ar_put(&more, a.d, a.len);
    ar_file(&more, "one-more", "");
    ar_trailer(&more);
    CHECK_INT(refused(&more), -EINVAL);
    ar_trailer(&a);
    CHECK_INT(load(&a), 0);
    free(a.d);
    a = (struct ar){0};
    CHECK_INT(xopen("/new", O_CREAT | O_WRONLY, 0644), -ENOSPC);
    CHECK_INT(SC(SYS_mkdir, P("/new"), 0755), -ENOSPC);
    CHECK_INT(exists("/new"), -ENOENT);
    CHECK_INT(SC(SYS_unlink, P("/f7")), 0);
    CHECK_INT(SC(SYS_mkdir, P("/new"), 0755), 0);
    CHECK_INT(SC(SYS_mkdir, P("/new2"), 0755), -ENOSPC);
    finish();

    /* RAMFS_FILE_MAX bytes in one file: fine; one more is refused. */
    size_t big = RAMFS_FILE_MAX + 1;
    char *data = malloc(big);
    CHECK(data);
    memset(data, 'b', big);
    ar_ent(&a, (struct ent){.name = "big", .mode = 0100644, .data = data, .size = big});
    ar_trailer(&a);
    CHECK_INT(refused(&a), -EINVAL);
    ar_ent(&a, (struct ent){.name = "big", .mode = 0100644, .data = data, .size = big - 1});
    ar_trailer(&a);
    CHECK_INT(load(&a), 0);
    free(a.d);
    free(data);
    CHECK_INT(xstat("/big").st_size, RAMFS_FILE_MAX);
    long fd = xopen("/big", O_WRONLY | O_APPEND, 0);
    CHECK_INT(xwrite(fd, "x"), -EFBIG);
    CHECK_INT(SC(SYS_pwrite64, fd, P("xy"), 2, 0), -EFBIG); /* appends, as on Linux */
    CHECK_INT(xclose(fd), 0);
    fd = xopen("/big", O_WRONLY, 0);
    CHECK_INT(SC(SYS_pwrite64, fd, P("xy"), 2, RAMFS_FILE_MAX - 1), 1);
    CHECK_INT(xclose(fd), 0);
    fd = xopen("/small", O_CREAT | O_RDWR, 0644);
    CHECK_INT(SC(SYS_pwrite64, fd, P("xyz"), 3, RAMFS_FILE_MAX - 2), 2);
    CHECK_INT(SC(SYS_pwrite64, fd, P("xyz"), 3, RAMFS_FILE_MAX), -EFBIG);
    CHECK_INT(SC(SYS_pwrite64, fd, P("xyz"), 3, INT64_MAX), -EFBIG);
    CHECK_INT(xstat("/small").st_size, RAMFS_FILE_MAX);
    char buf[4];
    CHECK_INT(SC(SYS_pread64, fd, P(buf), 4, RAMFS_FILE_MAX - 3), 3);
    CHECK(memcmp(buf, "\0xy", 3) == 0);
    CHECK_INT(xclose(fd), 0);
    finish();
}

/* Every allocation of a load failing in turn: -ENOMEM, and nothing is left allocated. */
static void archive_out_of_memory(void)
{
    env_setup();
    struct ar a = {0};
    ar_file(&a, "a/b/c", "data");
    ar_link(&a, "l", "a");
    ar_dir(&a, "d");
    ar_trailer(&a);
    size_t n;
    for (n = 1;; n++) {
        E.count = 0;
        E.fail_at = n;
        long r = load(&a);
        if (r == 0)
            break;
        CHECK_INT(r, -ENOMEM);
        CHECK_INT(E.live, 0);
    }
    CHECK(n > 20);
    E.fail_at = 0;
    free(a.d);
    finish();
}

/* ---- read, write, lseek, pread, pwrite, readv, writev ---------------------------------------- */

static void read_write(void)
{
    start();
    long fd = xopen("/tmp/f", O_CREAT | O_RDWR, 0644);
    CHECK_INT(fd, 3);
    CHECK_INT(xwrite(fd, "abc"), 3);
    /* A write past the end fills the gap with zeros. */
    CHECK_INT(SC(SYS_lseek, fd, 8, SEEK_SET), 8);
    CHECK_INT(xwrite(fd, "Z"), 1);
    char buf[32];
    CHECK_INT(SC(SYS_pread64, fd, P(buf), sizeof(buf), 0), 9);
    CHECK(memcmp(buf, "abc\0\0\0\0\0Z", 9) == 0);
    CHECK_INT(SC(SYS_pread64, fd, P(buf), sizeof(buf), 9), 0);
    CHECK_INT(SC(SYS_pread64, fd, P(buf), sizeof(buf), 100), 0);
    CHECK_INT(SC(SYS_read, fd, P(buf), sizeof(buf)), 0);
    CHECK_INT(SC(SYS_write, fd, P(buf), 0), 0);
    CHECK_INT(SC(SYS_read, fd, 0, 0), 0);
    /* pread/pwrite leave the offset alone. */
    CHECK_INT(SC(SYS_pwrite64, fd, P("BC"), 2, 1), 2);
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_CUR), 9);
    CHECK_STR(content("/tmp/f"), "aBC");
    CHECK_INT(SC(SYS_lseek, fd, -2, SEEK_END), 7);
    CHECK_INT(SC(SYS_read, fd, P(buf), 1), 1);
    CHECK_INT(buf[0], 0);
    CHECK_INT(SC(SYS_lseek, fd, 100, SEEK_SET), 100);
    CHECK_INT(SC(SYS_lseek, fd, 1, SEEK_DATA), 1);
    CHECK_INT(SC(SYS_lseek, fd, 1, SEEK_HOLE), 9);
    CHECK_INT(SC(SYS_lseek, fd, 9, SEEK_DATA), -ENXIO);
    CHECK_INT(SC(SYS_lseek, fd, -1, SEEK_HOLE), -ENXIO);
    CHECK_INT(SC(SYS_lseek, fd, -1, SEEK_SET), -EINVAL);
    CHECK_INT(SC(SYS_lseek, fd, -10, SEEK_END), -EINVAL);
    CHECK_INT(SC(SYS_lseek, fd, INT64_MAX, SEEK_END), -EINVAL);
    CHECK_INT(SC(SYS_lseek, fd, 0, 5), -EINVAL);
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_CUR), 9); /* unchanged by the failures */
    CHECK_INT(SC(SYS_lseek, 99, 0, SEEK_SET), -EBADF);
    CHECK_INT(SC(SYS_pread64, fd, P(buf), 1, -1), -EINVAL);
    CHECK_INT(SC(SYS_pwrite64, fd, P(buf), 1, -1), -EINVAL);
    CHECK_INT(xclose(fd), 0);

    /* O_APPEND writes at the end whatever the offset; pwrite too, as on Linux. */
    fd = xopen("/tmp/f", O_WRONLY | O_APPEND, 0);
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_SET), 0);
    CHECK_INT(xwrite(fd, "!"), 1);
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_CUR), 10);
    CHECK_INT(SC(SYS_pwrite64, fd, P("?"), 1, 0), 1);
    CHECK_INT(xstat("/tmp/f").st_size, 11);
    /* The wrong direction, a closed or unknown descriptor. */
    CHECK_INT(SC(SYS_read, fd, P(buf), 1), -EBADF);
    CHECK_INT(SC(SYS_pread64, fd, P(buf), 1, 0), -EBADF);
    CHECK_INT(xclose(fd), 0);
    CHECK_INT(xwrite(fd, "x"), -EBADF);
    CHECK_INT(xwrite(-1, "x"), -EBADF);
    CHECK_INT(xwrite(RAMFS_FDS_MAX, "x"), -EBADF);
    fd = xopen("/tmp/f", O_RDONLY, 0);
    CHECK_INT(xwrite(fd, "x"), -EBADF);
    CHECK_INT(SC(SYS_pwrite64, fd, P("x"), 1, 0), -EBADF);
    CHECK_INT(xclose(fd), 0);
    /* O_TRUNC empties; a folder cannot be read as a file. */
    fd = xopen("/tmp/f", O_RDWR | O_TRUNC, 0);
    CHECK_INT(xstat("/tmp/f").st_size, 0);
    CHECK_INT(xstat("/tmp/f").st_blocks, 0);
    CHECK_INT(xclose(fd), 0);
    fd = xopen("/tmp", O_RDONLY, 0);
    CHECK_INT(SC(SYS_read, fd, P(buf), 1), -EISDIR);
    CHECK_INT(SC(SYS_pread64, fd, P(buf), 1, 0), -EISDIR);
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_END), -EINVAL);
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_DATA), -EINVAL);
    CHECK_INT(xclose(fd), 0);
    finish();
}

static void readv_writev(void)
{
    start();
    long fd = xopen("/tmp/v", O_CREAT | O_RDWR, 0600);
    struct iovec w[3] = {{(void *)"ab", 2}, {NULL, 0}, {(void *)"cde", 3}};
    CHECK_INT(SC(SYS_writev, fd, P(w), 3), 5);
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_SET), 0);
    char x[3], y[4];
    struct iovec r[2] = {{x, 3}, {y, 4}};
    CHECK_INT(SC(SYS_readv, fd, P(r), 2), 5);
    CHECK(memcmp(x, "abc", 3) == 0 && memcmp(y, "de", 2) == 0);
    CHECK_INT(SC(SYS_readv, fd, P(r), 2), 0);
    CHECK_INT(SC(SYS_readv, fd, P(r), 0), 0);
    CHECK_INT(SC(SYS_readv, fd, P(r), -1), -EINVAL);
    CHECK_INT(SC(SYS_readv, fd, P(r), RAMFS_IOV_MAX + 1), -EINVAL);
    struct iovec huge[2] = {{x, 1}, {y, (size_t)INT64_MAX + 1}};
    CHECK_INT(SC(SYS_readv, fd, P(huge), 2), -EINVAL);
    CHECK_INT(SC(SYS_readv, 99, P(r), 2), -EBADF);
    long dfd = xopen("/tmp", O_RDONLY, 0);
    CHECK_INT(SC(SYS_readv, dfd, P(r), 2), -EISDIR);
    CHECK_INT(xclose(dfd), 0);
    CHECK_INT(SC(SYS_writev, 0, P(w), 1), -EBADF);
    /* RAMFS_IOV_MAX iovecs are accepted. */
    static struct iovec many[RAMFS_IOV_MAX];
    for (int i = 0; i < RAMFS_IOV_MAX; i++)
        many[i] = (struct iovec){(void *)"m", 1};
    CHECK_INT(SC(SYS_writev, fd, P(many), RAMFS_IOV_MAX), RAMFS_IOV_MAX);
    CHECK_INT(xstat("/tmp/v").st_size, 5 + RAMFS_IOV_MAX);
    /* writev to the console: one call per buffer, on the right stream. */
    struct iovec msg[2] = {{(void *)"out", 3}, {(void *)"put\n", 4}};
    CHECK_INT(SC(SYS_writev, 1, P(msg), 2), 7);
    CHECK_INT(SC(SYS_writev, 2, P(msg), 1), 3);
    CHECK_INT(E.n_writes, 3);
    CHECK_INT(E.writes[1].fd, 1);
    CHECK(E.writes[1].n == 4 && memcmp(E.writes[1].bytes, "put\n", 4) == 0);
    CHECK_INT(E.writes[2].fd, 2);
    CHECK_INT(xclose(fd), 0);
    finish();
}

/* ---- open and close -------------------------------------------------------------------------- */

static void open_close(void)
{
    start();
    CHECK_INT(xopen("/nope", O_RDONLY, 0), -ENOENT);
    CHECK_INT(xopen("/nope/x", O_CREAT | O_WRONLY, 0644), -ENOENT);
    CHECK_INT(xopen("", O_RDONLY, 0), -ENOENT);
    CHECK_INT(xopen("/etc/passwd", O_CREAT | O_EXCL | O_WRONLY, 0644), -EEXIST);
    CHECK_INT(xopen("/lib", O_CREAT | O_EXCL | O_WRONLY, 0644), -EEXIST);
    CHECK_INT(xopen("/tmp", O_WRONLY, 0), -EISDIR);
    CHECK_INT(xopen("/tmp", O_RDWR, 0), -EISDIR);
    CHECK_INT(xopen("/tmp", O_RDONLY | O_TRUNC, 0), -EISDIR);
    CHECK_INT(xopen("/tmp", O_RDONLY | O_CREAT, 0644), -EISDIR);
    CHECK_INT(xopen("/tmp/new/", O_CREAT | O_WRONLY, 0644), -EISDIR);
    CHECK_INT(xopen("/etc/passwd", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
    CHECK_INT(xopen("/etc/passwd/", O_RDONLY, 0), -ENOTDIR);
    CHECK_INT(xopen("/etc/passwd/x", O_RDONLY, 0), -ENOTDIR);
    CHECK_INT(xopen("/lib", O_RDONLY | O_NOFOLLOW, 0), -ELOOP);
    CHECK_INT(xopen("/lib/", O_RDONLY | O_NOFOLLOW | O_DIRECTORY, 0), 3);
    CHECK_INT(xclose(3), 0);
    CHECK_INT(xopen("/etc/passwd", O_ACCMODE, 0), -EINVAL);
    CHECK_INT(xopen("/tmp", O_TMPFILE | O_RDWR, 0600), -EOPNOTSUPP);
    CHECK_INT(xopen("/tmp", O_PATH, 0), -EOPNOTSUPP);
    CHECK_INT(exists("/tmp/new"), -ENOENT);

    /* Creation: the mode less the umask; O_CREAT on an existing file opens it. */
    long fd = xopen("/tmp/new", O_CREAT | O_WRONLY | O_CLOEXEC, 0777);
    CHECK_INT(fd, 3);
    CHECK_INT(SC(SYS_fcntl, fd, F_GETFD), FD_CLOEXEC);
    CHECK_INT(SC(SYS_fcntl, fd, F_GETFL), O_WRONLY);
    CHECK_INT(xstat("/tmp/new").st_mode, 0100755);
    CHECK_INT(xopen("/tmp/new", O_CREAT | O_RDONLY, 0600), 4);
    CHECK_INT(SC(SYS_fcntl, 4, F_GETFD), 0);
    CHECK_INT(xclose(4), 0);
    CHECK_INT(xclose(fd), 0);
    CHECK_INT(xclose(fd), -EBADF);
    CHECK_INT(xclose(-1), -EBADF);
    CHECK_INT(xclose(RAMFS_FDS_MAX), -EBADF);
    /* O_CREAT through a dangling symlink makes its target; O_CREAT|O_NOFOLLOW does not. */
    CHECK_INT(xopen("/dangling", O_CREAT | O_WRONLY | O_NOFOLLOW, 0644), -ELOOP);
    CHECK_INT(exists("/tmp/new"), 0);
    CHECK_INT(SC(SYS_unlink, P("/tmp/new")), 0);
    CHECK_INT(xopen("/dangling", O_RDONLY, 0), -ENOENT);
    fd = xopen("/dangling", O_CREAT | O_WRONLY, 0644);
    CHECK_INT(fd, 3);
    CHECK_INT(xwrite(fd, "via link"), 8);
    CHECK_INT(xclose(fd), 0);
    CHECK_STR(content("/tmp/new"), "via link");

    /* openat: relative to a folder descriptor; absolute paths ignore it. */
    long dfd = xopen("/usr", O_RDONLY | O_DIRECTORY, 0);
    CHECK_INT(dfd, 3);
    fd = SC(SYS_openat, dfd, P("lib/libc.so"), O_RDONLY);
    CHECK_INT(fd, 4);
    CHECK_INT(xclose(fd), 0);
    CHECK_INT(SC(SYS_openat, dfd, P("../etc/passwd"), O_RDONLY), 4);
    CHECK_INT(xclose(4), 0);
    CHECK_INT(SC(SYS_openat, 77, P("/etc/passwd"), O_RDONLY), 4);
    CHECK_INT(xclose(4), 0);
    CHECK_INT(SC(SYS_openat, 77, P("etc/passwd"), O_RDONLY), -EBADF);
    CHECK_INT(SC(SYS_openat, AT_FDCWD, P("etc/passwd"), O_RDONLY), 4);
    CHECK_INT(xclose(4), 0);
    fd = xopen("/etc/passwd", O_RDONLY, 0);
    CHECK_INT(SC(SYS_openat, fd, P("x"), O_RDONLY), -ENOTDIR);
    CHECK_INT(xclose(fd), 0);
    CHECK_INT(xclose(dfd), 0);

    /* Descriptors run out at RAMFS_FDS_MAX; the lowest free number is taken. */
    for (long i = 3; i < RAMFS_FDS_MAX; i++)
        CHECK_INT(xopen("/etc/passwd", O_RDONLY, 0), i);
    CHECK_INT(xopen("/etc/passwd", O_RDONLY, 0), -EMFILE);
    CHECK_INT(xopen("/tmp/x", O_CREAT | O_RDONLY, 0600), -EMFILE);
    CHECK_INT(exists("/tmp/x"), -ENOENT);
    CHECK_INT(xclose(100), 0);
    CHECK_INT(xclose(0), 0);
    CHECK_INT(xopen("/etc/passwd", O_RDONLY, 0), 0);
    CHECK_INT(xopen("/etc/passwd", O_RDONLY, 0), 100);
    finish();
}

/* A description that cannot be allocated: -ENOMEM, and no file made. */
static void open_out_of_memory(void)
{
    start();
    E.fail_at = E.count + 1;
    CHECK_INT(xopen("/tmp/x", O_CREAT | O_RDWR, 0600), -ENOMEM);
    CHECK_INT(SC(SYS_mkdir, P("/tmp/d"), 0700), -ENOSPC);
    E.fail_at = 0;
    CHECK_INT(exists("/tmp/x"), -ENOENT);
    CHECK_INT(exists("/tmp/d"), -ENOENT);
    long fd = xopen("/tmp/x", O_CREAT | O_RDWR, 0600);
    E.fail_at = E.count + 1;
    CHECK_INT(xwrite(fd, "abc"), -ENOSPC);
    E.fail_at = 0;
    CHECK_INT(xstat("/tmp/x").st_size, 0);
    CHECK_INT(xclose(fd), 0);
    /* A rename that cannot make its new name changes nothing. */
    E.fail_at = E.count + 1;
    CHECK_INT(SC(SYS_rename, P("/tmp/x"), P("/etc/passwd")), -ENOSPC);
    E.fail_at = 0;
    CHECK_INT(xstat("/tmp/x").st_size, 0);
    CHECK_STR(content("/etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
    finish();
}

/* ---- stat ------------------------------------------------------------------------------------ */

static void stat_family(void)
{
    start();
    struct ramfs_stat st, lst;
    CHECK_INT(SC(SYS_lstat, P("/lib"), P(&lst)), 0);
    CHECK_INT(lst.st_mode, 0120777);
    CHECK_INT(lst.st_size, 7);
    CHECK_INT(lst.st_blocks, 0);
    CHECK_INT(SC(SYS_stat, P("/lib"), P(&st)), 0);
    CHECK_INT(st.st_mode, 040755);
    CHECK(st.st_ino != lst.st_ino);
    CHECK_INT(SC(SYS_newfstatat, AT_FDCWD, P("lib"), P(&st), AT_SYMLINK_NOFOLLOW), 0);
    CHECK_INT(st.st_ino, lst.st_ino);
    long dfd = xopen("/usr", O_RDONLY, 0);
    CHECK_INT(SC(SYS_newfstatat, dfd, P("lib/libc.so"), P(&st), 0), 0);
    CHECK_INT(st.st_size, 3);
    CHECK_INT(SC(SYS_newfstatat, dfd, P(""), P(&st), AT_EMPTY_PATH), 0);
    CHECK_INT(st.st_mode, 040755);
    CHECK_INT(st.st_nlink, 3);
    CHECK_INT(SC(SYS_newfstatat, AT_FDCWD, P(""), P(&st), AT_EMPTY_PATH), 0);
    CHECK_INT(st.st_ino, xstat("/").st_ino);
    CHECK_INT(SC(SYS_newfstatat, dfd, P(""), P(&st), 0), -ENOENT);
    CHECK_INT(SC(SYS_newfstatat, dfd, P("x"), P(&st), 0x4000), -EINVAL);
    CHECK_INT(SC(SYS_newfstatat, 99, P("x"), P(&st), 0), -EBADF);
    CHECK_INT(SC(SYS_newfstatat, 99, P(""), P(&st), AT_EMPTY_PATH), -EBADF);
    CHECK_INT(SC(SYS_fstat, dfd, P(&st)), 0);
    CHECK_INT(st.st_mode, 040755);
    CHECK_INT(SC(SYS_fstat, 99, P(&st)), -EBADF);
    CHECK_INT(SC(SYS_fstat, dfd, 0), -EFAULT);
    CHECK_INT(xclose(dfd), 0);
    CHECK_INT(SC(SYS_stat, P("/nope"), P(&st)), -ENOENT);
    CHECK_INT(SC(SYS_stat, P("/etc/passwd/x"), P(&st)), -ENOTDIR);
    CHECK_INT(SC(SYS_stat, P("/dangling"), P(&st)), -ENOENT);
    CHECK_INT(SC(SYS_stat, P("/self"), P(&st)), -ELOOP);
    CHECK_INT(SC(SYS_stat, P(""), P(&st)), -ENOENT);
    CHECK_INT(SC(SYS_lstat, P("/dangling"), P(&st)), 0);
    CHECK_INT(SC(SYS_lstat, P("/lib/"), P(&st)), 0); /* a trailing '/' follows */
    CHECK_INT(st.st_mode, 040755);
    /* Devices and the console. */
    st = xstat("/dev/null");
    CHECK_INT(st.st_mode, 020666);
    CHECK_INT(st.st_rdev, 0x103);
    CHECK_INT(st.st_size, 0);
    CHECK_INT(xstat("/dev/zero").st_rdev, 0x105);
    CHECK_INT(xstat("/dev/random").st_rdev, 0x108);
    CHECK_INT(xstat("/dev/urandom").st_rdev, 0x109);
    CHECK_INT(SC(SYS_fstat, 1, P(&st)), 0);
    CHECK_INT(st.st_mode, 020620);
    CHECK_INT(st.st_rdev, 0x501);
    CHECK_INT(st.st_nlink, 1);
    /* An unlinked open file reports no link. */
    long fd = xopen("/tmp/gone", O_CREAT | O_RDWR, 0644);
    CHECK_INT(SC(SYS_unlink, P("/tmp/gone")), 0);
    CHECK_INT(SC(SYS_fstat, fd, P(&st)), 0);
    CHECK_INT(st.st_nlink, 0);
    CHECK_INT(xclose(fd), 0);
    finish();
}

static void access_family(void)
{
    start();
    CHECK_INT(SC(SYS_access, P("/etc/passwd"), F_OK), 0);
    CHECK_INT(SC(SYS_access, P("/etc/passwd"), R_OK | W_OK), 0);
    CHECK_INT(SC(SYS_access, P("/etc/passwd"), X_OK), -EACCES);
    CHECK_INT(SC(SYS_access, P("/bin/tool"), X_OK), 0);
    CHECK_INT(SC(SYS_access, P("/etc"), X_OK), 0);
    CHECK_INT(SC(SYS_access, P("/etc/passwd"), 8), -EINVAL);
    CHECK_INT(SC(SYS_access, P("/nope"), F_OK), -ENOENT);
    CHECK_INT(SC(SYS_access, P("/etc/passwd/"), F_OK), -ENOTDIR);
    CHECK_INT(SC(SYS_access, P("/loop1"), F_OK), -ELOOP);
    long dfd = xopen("/etc", O_RDONLY, 0);
    CHECK_INT(SC(SYS_faccessat, dfd, P("passwd"), R_OK), 0);
    CHECK_INT(SC(SYS_faccessat, dfd, P("nope"), R_OK), -ENOENT);
    CHECK_INT(SC(SYS_faccessat, 99, P("passwd"), R_OK), -EBADF);
    CHECK_INT(SC(SYS_faccessat2, AT_FDCWD, P("/dangling"), F_OK, AT_SYMLINK_NOFOLLOW), 0);
    CHECK_INT(SC(SYS_faccessat2, AT_FDCWD, P("/dangling"), F_OK, 0), -ENOENT);
    CHECK_INT(SC(SYS_faccessat2, dfd, P(""), X_OK, AT_EMPTY_PATH), 0);
    CHECK_INT(SC(SYS_faccessat2, dfd, P("passwd"), R_OK, AT_EACCESS), 0);
    CHECK_INT(SC(SYS_faccessat2, dfd, P("passwd"), R_OK, 0x4000), -EINVAL);
    CHECK_INT(SC(SYS_faccessat2, dfd, P("passwd"), 8, 0), -EINVAL);
    CHECK_INT(xclose(dfd), 0);
    finish();
}

/* ---- descriptors ----------------------------------------------------------------------------- */

static void dup_fcntl(void)
{
    start();
    long fd = xopen("/etc/passwd", O_RDONLY, 0);
    CHECK_INT(fd, 3);
    /* Duplicates share the offset. */
    long d = SC(SYS_dup, fd);
    CHECK_INT(d, 4);
    char buf[5] = {0};
    CHECK_INT(SC(SYS_read, fd, P(buf), 4), 4);
    CHECK_INT(SC(SYS_read, d, P(buf), 4), 4);
    CHECK_STR(buf, ":x:0");
    CHECK_INT(SC(SYS_dup, 99), -EBADF);
    CHECK_INT(SC(SYS_dup2, fd, 10), 10);
    CHECK_INT(SC(SYS_lseek, 10, 0, SEEK_CUR), 8);
    CHECK_INT(SC(SYS_dup2, fd, fd), fd);
    CHECK_INT(SC(SYS_dup2, 99, 99), -EBADF);
    CHECK_INT(SC(SYS_dup2, 99, 5), -EBADF);
    CHECK_INT(SC(SYS_dup2, fd, -1), -EBADF);
    CHECK_INT(SC(SYS_dup2, fd, RAMFS_FDS_MAX), -EBADF);
    /* dup2 over an open descriptor closes it first. */
    long other = xopen("/usr/lib/libc.so", O_RDONLY, 0);
    CHECK_INT(other, 5);
    CHECK_INT(SC(SYS_dup2, fd, other), 5);
    CHECK_INT(SC(SYS_read, 5, P(buf), 4), 4);
    CHECK_STR(buf, ":0::");
    CHECK_INT(SC(SYS_dup3, fd, 6, O_CLOEXEC), 6);
    CHECK_INT(SC(SYS_fcntl, 6, F_GETFD), FD_CLOEXEC);
    CHECK_INT(SC(SYS_dup3, fd, 6, 0), 6);
    CHECK_INT(SC(SYS_fcntl, 6, F_GETFD), 0);
    CHECK_INT(SC(SYS_dup3, fd, fd, 0), -EINVAL);
    CHECK_INT(SC(SYS_dup3, fd, 7, O_RDWR), -EINVAL);
    CHECK_INT(SC(SYS_dup3, 99, 7, 0), -EBADF);
    CHECK_INT(SC(SYS_dup3, fd, RAMFS_FDS_MAX, 0), -EBADF);
    /* fcntl. */
    CHECK_INT(SC(SYS_fcntl, fd, F_DUPFD, 20), 20);
    CHECK_INT(SC(SYS_fcntl, fd, F_GETFD), 0);
    CHECK_INT(SC(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 20), 21);
    CHECK_INT(SC(SYS_fcntl, 21, F_GETFD), FD_CLOEXEC);
    CHECK_INT(SC(SYS_fcntl, 21, F_SETFD, 0), 0);
    CHECK_INT(SC(SYS_fcntl, 21, F_GETFD), 0);
    CHECK_INT(SC(SYS_fcntl, 21, F_SETFD, FD_CLOEXEC), 0);
    CHECK_INT(SC(SYS_fcntl, 21, F_GETFD), FD_CLOEXEC);
    CHECK_INT(SC(SYS_fcntl, fd, F_GETFD), 0); /* descriptor flags are not shared */
    CHECK_INT(SC(SYS_fcntl, fd, F_DUPFD, RAMFS_FDS_MAX), -EINVAL);
    CHECK_INT(SC(SYS_fcntl, fd, F_DUPFD, -1), -EINVAL);
    CHECK_INT(SC(SYS_fcntl, fd, F_DUPFD, RAMFS_FDS_MAX - 1), RAMFS_FDS_MAX - 1);
    CHECK_INT(SC(SYS_fcntl, fd, F_DUPFD, RAMFS_FDS_MAX - 1), -EMFILE);
    CHECK_INT(SC(SYS_fcntl, 99, F_GETFD), -EBADF);
    CHECK_INT(SC(SYS_fcntl, fd, 9999), -EINVAL);
    long w = xopen("/tmp/w", O_CREAT | O_RDWR, 0644);
    CHECK_INT(SC(SYS_fcntl, w, F_GETFL), O_RDWR);
    CHECK_INT(SC(SYS_fcntl, w, F_SETFL, O_APPEND | O_NONBLOCK | O_RDONLY | O_CREAT), 0);
    CHECK_INT(SC(SYS_fcntl, w, F_GETFL), O_RDWR | O_APPEND | O_NONBLOCK);
    long w2 = SC(SYS_dup, w);
    CHECK_INT(SC(SYS_fcntl, w2, F_GETFL), O_RDWR | O_APPEND | O_NONBLOCK); /* shared */
    CHECK_INT(xwrite(w, "12"), 2);
    CHECK_INT(SC(SYS_lseek, w2, 0, SEEK_SET), 0);
    CHECK_INT(xwrite(w2, "3"), 1);
    CHECK_STR(content("/tmp/w"), "123");
    CHECK_INT(SC(SYS_fcntl, w, F_SETFL, 0), 0);
    CHECK_INT(SC(SYS_fcntl, w2, F_GETFL), O_RDWR);
    /* Closing one duplicate leaves the other working. */
    CHECK_INT(xclose(w), 0);
    CHECK_INT(SC(SYS_pread64, w2, P(buf), 3, 0), 3);
    CHECK_INT(xclose(w2), 0);
    /* dup fills the lowest hole and runs out too. */
    CHECK_INT(xclose(4), 0);
    CHECK_INT(SC(SYS_dup, fd), 4);
    for (long i = 0; i < RAMFS_FDS_MAX; i++)
        if (SC(SYS_fcntl, i, F_GETFD) == -EBADF)
            CHECK_INT(SC(SYS_dup, fd), i);
    CHECK_INT(SC(SYS_dup, fd), -EMFILE);
    finish();
}

/* ---- folders: getcwd, chdir, mkdir, rmdir, unlink, rename ------------------------------------ */

static const char *cwd(void)
{
    static char buf[RAMFS_PATH_MAX];
    long n = SC(SYS_getcwd, P(buf), sizeof(buf));
    if (n < 0)
        return tap_fmt("(%ld)", n);
    CHECK_INT(n, strlen(buf) + 1);
    return buf;
}

static void getcwd_chdir(void)
{
    start();
    CHECK_STR(cwd(), "/");
    CHECK_INT(SC(SYS_chdir, P("/usr/lib")), 0);
    CHECK_STR(cwd(), "/usr/lib");
    CHECK_STR(content("libc.so"), "ELF");
    CHECK_STR(content("./abs"), "root:x:0:0::/root:/bin/sh\n");
    CHECK_INT(SC(SYS_chdir, P("..")), 0);
    CHECK_STR(cwd(), "/usr");
    CHECK_INT(SC(SYS_chdir, P("/lib")), 0); /* through a symlink */
    CHECK_STR(cwd(), "/usr/lib");
    CHECK_INT(SC(SYS_chdir, P("/nope")), -ENOENT);
    CHECK_INT(SC(SYS_chdir, P("/etc/passwd")), -ENOTDIR);
    CHECK_INT(SC(SYS_chdir, P("")), -ENOENT);
    CHECK_STR(cwd(), "/usr/lib");
    char small[9];
    CHECK_INT(SC(SYS_getcwd, P(small), 8), -ERANGE);
    CHECK_INT(SC(SYS_getcwd, P(small), 9), 9);
    CHECK_STR(small, "/usr/lib");
    CHECK_INT(SC(SYS_getcwd, P(small), 0), -ERANGE);
    /* A removed working folder: getcwd and relative names fail, absolute ones work. */
    CHECK_INT(SC(SYS_mkdir, P("/tmp/d"), 0755), 0);
    CHECK_INT(SC(SYS_chdir, P("/tmp/d")), 0);
    CHECK_INT(SC(SYS_rmdir, P("/tmp/d")), 0);
    CHECK_STR(cwd(), "(-2)");
    CHECK_INT(exists("x"), -ENOENT);
    CHECK_INT(exists(".."), -ENOENT);
    CHECK_INT(exists("."), 0);
    CHECK_INT(xopen("x", O_CREAT | O_RDWR, 0644), -ENOENT);
    CHECK_INT(SC(SYS_mkdir, P("x"), 0755), -ENOENT);
    long fd = xopen(".", O_RDONLY | O_DIRECTORY, 0);
    uint8_t dents[256];
    CHECK_INT(SC(SYS_getdents64, fd, P(dents), sizeof(dents)), -ENOENT);
    CHECK_INT(xclose(fd), 0);
    CHECK_INT(SC(SYS_chdir, P("/")), 0);
    CHECK_STR(cwd(), "/");
    /* A deep working folder whose path is longer than RAMFS_PATH_MAX. */
    char name[201];
    memset(name, 'd', 200);
    name[200] = 0;
    for (int i = 0; i < 21; i++) {
        CHECK_INT(SC(SYS_mkdir, P(name), 0755), 0);
        CHECK_INT(SC(SYS_chdir, P(name)), 0);
    }
    CHECK_STR(cwd(), "(-36)");
    finish();
}

static void mkdir_rmdir(void)
{
    start();
    CHECK_INT(SC(SYS_mkdir, P("/tmp/a"), 0777), 0);
    struct ramfs_stat st = xstat("/tmp/a");
    CHECK_INT(st.st_mode, 040755);
    CHECK_INT(st.st_nlink, 2);
    CHECK_INT(xstat("/tmp").st_nlink, 3);
    CHECK_INT(SC(SYS_mkdir, P("/tmp/s"), 01777), 0);
    CHECK_INT(xstat("/tmp/s").st_mode, 041755);
    CHECK_INT(SC(SYS_mkdir, P("/tmp/a/b/"), 0700), 0); /* a trailing '/' is fine */
    CHECK_INT(xstat("/tmp/a").st_nlink, 3);
    CHECK_INT(SC(SYS_mkdir, P("/tmp/a"), 0777), -EEXIST);
    CHECK_INT(SC(SYS_mkdir, P("/etc/passwd"), 0777), -EEXIST);
    CHECK_INT(SC(SYS_mkdir, P("/etc/passwd/"), 0777), -EEXIST);
    CHECK_INT(SC(SYS_mkdir, P("/dangling"), 0777), -EEXIST);
    CHECK_INT(SC(SYS_mkdir, P("/"), 0777), -EEXIST);
    CHECK_INT(SC(SYS_mkdir, P("/tmp/."), 0777), -EEXIST);
    CHECK_INT(SC(SYS_mkdir, P("/tmp/x/y"), 0777), -ENOENT);
    CHECK_INT(SC(SYS_mkdir, P("/etc/passwd/y"), 0777), -ENOTDIR);
    CHECK_INT(SC(SYS_mkdir, P(""), 0777), -ENOENT);
    long dfd = xopen("/tmp/a", O_RDONLY, 0);
    CHECK_INT(SC(SYS_mkdirat, dfd, P("c"), 0700), 0);
    CHECK_INT(xstat("/tmp/a/c").st_mode, 040700);
    CHECK_INT(SC(SYS_mkdirat, 99, P("c"), 0700), -EBADF);
    CHECK_INT(SC(SYS_mkdirat, dfd, P("c"), 0700), -EEXIST);
    /* rmdir. */
    CHECK_INT(SC(SYS_rmdir, P("/tmp/a")), -ENOTEMPTY);
    CHECK_INT(SC(SYS_rmdir, P("/tmp/a/c/.")), -EINVAL);
    CHECK_INT(SC(SYS_rmdir, P("/tmp/a/c/..")), -ENOTEMPTY);
    CHECK_INT(SC(SYS_rmdir, P("/")), -EBUSY);
    CHECK_INT(SC(SYS_rmdir, P("/etc/passwd")), -ENOTDIR);
    CHECK_INT(SC(SYS_rmdir, P("/lib")), -ENOTDIR);
    CHECK_INT(SC(SYS_rmdir, P("/lib/")), -ENOTDIR);
    CHECK_INT(SC(SYS_rmdir, P("/nope")), -ENOENT);
    CHECK_INT(SC(SYS_rmdir, P("/tmp/a/c/")), 0);
    CHECK_INT(SC(SYS_unlinkat, dfd, P("b"), AT_REMOVEDIR), 0);
    CHECK_INT(SC(SYS_unlinkat, dfd, P("b"), AT_REMOVEDIR), -ENOENT);
    CHECK_INT(xstat("/tmp/a").st_nlink, 2);
    CHECK_INT(SC(SYS_rmdir, P("/tmp/a")), 0);
    CHECK_INT(xstat("/tmp").st_nlink, 3);
    /* The open folder lives on, empty and dead. */
    uint8_t dents[256];
    CHECK_INT(SC(SYS_getdents64, dfd, P(dents), sizeof(dents)), -ENOENT);
    CHECK_INT(SC(SYS_mkdirat, dfd, P("z"), 0700), -ENOENT);
    CHECK_INT(xclose(dfd), 0);
    finish();
}

static void unlink_files(void)
{
    start();
    long fd = xopen("/tmp/f", O_CREAT | O_RDWR, 0644);
    CHECK_INT(xwrite(fd, "still here"), 10);
    size_t live = E.live;
    /* Unlinked while open: gone from the folder, readable through the descriptor. */
    CHECK_INT(SC(SYS_unlink, P("/tmp/f")), 0);
    CHECK_INT(exists("/tmp/f"), -ENOENT);
    CHECK_STR(listing("/tmp", 4096), "./4 ../4");
    char buf[16] = {0};
    CHECK_INT(SC(SYS_pread64, fd, P(buf), sizeof(buf), 0), 10);
    CHECK_STR(buf, "still here");
    CHECK_INT(xwrite(fd, "!"), 1);
    long d = SC(SYS_dup, fd);
    CHECK_INT(xclose(fd), 0);
    CHECK_INT(E.live, live - 1); /* the folder entry */
    CHECK_INT(SC(SYS_pread64, d, P(buf), sizeof(buf), 0), 11);
    CHECK_INT(xclose(d), 0);
    CHECK_INT(E.live, live - 4); /* the entry, the node, its data, the description */
    CHECK_INT(SC(SYS_unlink, P("/tmp/f")), -ENOENT);
    /* Errors. */
    CHECK_INT(SC(SYS_unlink, P("/tmp")), -EISDIR);
    CHECK_INT(SC(SYS_unlink, P("/tmp/")), -EISDIR);
    CHECK_INT(SC(SYS_unlink, P("/tmp/.")), -EISDIR);
    CHECK_INT(SC(SYS_unlink, P("/")), -EISDIR);
    CHECK_INT(SC(SYS_unlink, P("/etc/passwd/")), -ENOTDIR);
    CHECK_INT(SC(SYS_unlink, P("/etc/passwd/x")), -ENOTDIR);
    CHECK_INT(SC(SYS_unlink, P("")), -ENOENT);
    /* A symlink goes, not its target. */
    CHECK_INT(SC(SYS_unlink, P("/lib")), 0);
    CHECK_INT(exists("/usr/lib/libc.so"), 0);
    CHECK_INT(exists("/lib"), -ENOENT);
    long dfd = xopen("/etc", O_RDONLY, 0);
    CHECK_INT(SC(SYS_unlinkat, dfd, P("passwd"), 0x1), -EINVAL);
    CHECK_INT(SC(SYS_unlinkat, dfd, P("passwd"), AT_REMOVEDIR), -ENOTDIR);
    CHECK_INT(SC(SYS_unlinkat, dfd, P("passwd"), 0), 0);
    CHECK_INT(SC(SYS_unlinkat, AT_FDCWD, P("etc"), 0), -EISDIR);
    CHECK_INT(SC(SYS_unlinkat, AT_FDCWD, P("etc"), AT_REMOVEDIR), 0);
    CHECK_INT(SC(SYS_unlinkat, 99, P("x"), 0), -EBADF);
    CHECK_INT(xclose(dfd), 0);
    /* Devices can be removed, as root can. */
    CHECK_INT(SC(SYS_unlink, P("/dev/null")), 0);
    CHECK_INT(xopen("/dev/null", O_RDONLY, 0), -ENOENT);
    finish();
}

static void rename_family(void)
{
    start();
    long fd = xopen("/tmp/a", O_CREAT | O_WRONLY, 0644);
    CHECK_INT(xwrite(fd, "A"), 1);
    CHECK_INT(xclose(fd), 0);
    fd = xopen("/tmp/b", O_CREAT | O_WRONLY, 0644);
    CHECK_INT(xwrite(fd, "B"), 1);
    /* Over an existing file: the old one is gone (but still open here). */
    CHECK_INT(SC(SYS_rename, P("/tmp/a"), P("/tmp/b")), 0);
    CHECK_INT(exists("/tmp/a"), -ENOENT);
    CHECK_STR(content("/tmp/b"), "A");
    CHECK_INT(SC(SYS_pwrite64, fd, P("b"), 1, 0), 1);
    CHECK_STR(content("/tmp/b"), "A");
    CHECK_INT(xclose(fd), 0);
    CHECK_STR(listing("/tmp", 4096), "./4 ../4 b/8");
    /* Into another folder, with a new name; to itself. */
    CHECK_INT(SC(SYS_rename, P("/tmp/b"), P("/etc/c")), 0);
    CHECK_STR(content("/etc/c"), "A");
    CHECK_INT(SC(SYS_rename, P("/etc/c"), P("/etc/c")), 0);
    CHECK_INT(SC(SYS_rename, P("/etc/c"), P("/etc/../etc/c")), 0);
    CHECK_STR(content("/etc/c"), "A");
    /* Folders move with their content; link counts follow. */
    CHECK_INT(SC(SYS_mkdir, P("/tmp/d"), 0755), 0);
    CHECK_INT(SC(SYS_chdir, P("/etc")), 0);
    CHECK_INT(SC(SYS_rename, P("/etc"), P("/tmp/d/e")), 0);
    CHECK_STR(cwd(), "/tmp/d/e");
    CHECK_STR(content("/tmp/d/e/passwd"), "root:x:0:0::/root:/bin/sh\n");
    CHECK_INT(xstat("/tmp/d").st_nlink, 3);
    CHECK_INT(xstat("/").st_nlink, 6);
    CHECK_INT(xstat("/tmp/d/e/..").st_ino, xstat("/tmp/d").st_ino);
    /* Over an empty folder; not over a full one. */
    CHECK_INT(SC(SYS_mkdir, P("/tmp/empty"), 0755), 0);
    CHECK_INT(SC(SYS_rename, P("/tmp/d"), P("/tmp/empty")), 0);
    CHECK_STR(cwd(), "/tmp/empty/e");
    CHECK_INT(SC(SYS_mkdir, P("/tmp/full"), 0755), 0);
    CHECK_INT(SC(SYS_mkdir, P("/tmp/full/x"), 0755), 0);
    CHECK_INT(SC(SYS_rename, P("/tmp/empty"), P("/tmp/full")), -ENOTEMPTY);
    /* Errors. */
    CHECK_INT(SC(SYS_rename, P("/tmp/nope"), P("/tmp/x")), -ENOENT);
    CHECK_INT(SC(SYS_rename, P("/tmp/empty"), P("/tmp/nope/x")), -ENOENT);
    CHECK_INT(SC(SYS_rename, P("/tmp/empty/e/c"), P("/tmp/full")), -EISDIR);
    CHECK_INT(SC(SYS_rename, P("/tmp/full"), P("/tmp/empty/e/c")), -ENOTDIR);
    CHECK_INT(SC(SYS_rename, P("/tmp/empty/e/c"), P("/tmp/c/")), -ENOTDIR);
    CHECK_INT(SC(SYS_rename, P("/tmp/empty/e/c/"), P("/tmp/c")), -ENOTDIR);
    CHECK_INT(SC(SYS_rename, P("/tmp/empty"), P("/tmp/empty/e/x")), -EINVAL);
    CHECK_INT(SC(SYS_rename, P("/tmp/empty"), P("/tmp/empty/x")), -EINVAL);
    CHECK_INT(SC(SYS_rename, P("/tmp/.."), P("/tmp/x")), -EBUSY);
    CHECK_INT(SC(SYS_rename, P("/tmp/full"), P("/tmp/.")), -EBUSY);
    CHECK_INT(SC(SYS_rename, P("/"), P("/x")), -EBUSY);
    CHECK_INT(SC(SYS_rename, P(""), P("/x")), -ENOENT);
    /* The folder moved where it was asked (with a trailing '/' too). */
    CHECK_INT(SC(SYS_rename, P("/tmp/full/x/"), P("/tmp/y/")), 0);
    CHECK_INT(xstat("/tmp/y").st_mode, 040755);
    /* A symlink is renamed, not followed. */
    CHECK_INT(SC(SYS_rename, P("/lib"), P("/lib2")), 0);
    CHECK_STR(content("/lib2/libc.so"), "ELF");
    /* renameat, relative to two folders. */
    long a = xopen("/tmp/empty/e", O_RDONLY, 0), b = xopen("/usr", O_RDONLY, 0);
    CHECK_INT(SC(SYS_renameat, a, P("passwd"), b, P("pw")), 0);
    CHECK_STR(content("/usr/pw"), "root:x:0:0::/root:/bin/sh\n");
    CHECK_INT(SC(SYS_renameat, 99, P("pw"), b, P("x")), -EBADF);
    CHECK_INT(SC(SYS_renameat, b, P("pw"), 99, P("x")), -EBADF);
    CHECK_INT(xclose(a), 0);
    CHECK_INT(xclose(b), 0);
    finish();
}

static void readlink_family(void)
{
    start();
    char buf[16];
    memset(buf, 'x', sizeof(buf));
    CHECK_INT(SC(SYS_readlink, P("/lib"), P(buf), sizeof(buf)), 7);
    CHECK(memcmp(buf, "usr/libx", 8) == 0); /* no NUL added */
    CHECK_INT(SC(SYS_readlink, P("/lib"), P(buf), 3), 3);
    CHECK(memcmp(buf, "usr/", 4) == 0);
    CHECK_INT(SC(SYS_readlink, P("/lib"), P(buf), 0), -EINVAL);
    CHECK_INT(SC(SYS_readlink, P("/lib"), P(buf), -1), -EINVAL);
    CHECK_INT(SC(SYS_readlink, P("/etc/passwd"), P(buf), sizeof(buf)), -EINVAL);
    CHECK_INT(SC(SYS_readlink, P("/lib/"), P(buf), sizeof(buf)), -EINVAL);
    CHECK_INT(SC(SYS_readlink, P("/nope"), P(buf), sizeof(buf)), -ENOENT);
    CHECK_INT(SC(SYS_readlink, P("/loop1"), P(buf), sizeof(buf)), 5);
    long dfd = xopen("/usr/lib", O_RDONLY, 0);
    CHECK_INT(SC(SYS_readlinkat, dfd, P("abs"), P(buf), sizeof(buf)), 11);
    CHECK(memcmp(buf, "/etc/passwd", 11) == 0);
    CHECK_INT(SC(SYS_readlinkat, dfd, P(""), P(buf), sizeof(buf)), -ENOENT);
    CHECK_INT(SC(SYS_readlinkat, 99, P("abs"), P(buf), sizeof(buf)), -EBADF);
    CHECK_INT(xclose(dfd), 0);
    finish();
}

/* ---- getdents64 ------------------------------------------------------------------------------ */

static void getdents(void)
{
    start();
    CHECK_INT(SC(SYS_mkdir, P("/tmp/d"), 0755), 0);
    static const char *const names[] = {"one", "two", "three", "a-much-longer-name-here"};
    for (int i = 0; i < 4; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/tmp/d/%s", names[i]);
        CHECK_INT(xclose(xopen(path, O_CREAT | O_WRONLY, 0644)), 0);
    }
    CHECK_INT(SC(SYS_mkdir, P("/tmp/d/sub"), 0755), 0);
    const char *want = "./4 ../4 one/8 two/8 three/8 a-much-longer-name-here/8 sub/4";
    CHECK_STR(listing("/tmp/d", 4096), want);
    /* Exactly one record fits each time (the longest is 48 bytes). */
    CHECK_STR(listing("/tmp/d", 48), want);
    CHECK_STR(listing("/tmp/d", 24), "./4 ../4 one/8 two/8 (-22)");
    /* The records, exactly. */
    long fd = xopen("/tmp/d", O_RDONLY | O_DIRECTORY, 0);
    uint8_t buf[512];
    memset(buf, 0xcc, sizeof(buf));
    CHECK_INT(SC(SYS_getdents64, fd, P(buf), 72), 72);
    uint64_t ino;
    int64_t off;
    uint16_t reclen;
    memcpy(&ino, buf, 8);
    memcpy(&off, buf + 8, 8);
    memcpy(&reclen, buf + 16, 2);
    CHECK_INT(ino, xstat("/tmp/d").st_ino);
    CHECK_INT(off, 1);
    CHECK_INT(reclen, 24);
    CHECK(memcmp(buf + 19, ".\0\0\0\0", 5) == 0);
    memcpy(&ino, buf + 24, 8);
    memcpy(&off, buf + 32, 8);
    CHECK_INT(ino, xstat("/tmp").st_ino);
    CHECK_INT(off, 2);
    CHECK(memcmp(buf + 24 + 19, "..\0\0\0", 5) == 0);
    memcpy(&ino, buf + 48, 8);
    memcpy(&off, buf + 56, 8);
    CHECK_INT(ino, xstat("/tmp/d/one").st_ino);
    CHECK_INT(off, 3);
    CHECK_INT(buf[48 + 18], 8);
    CHECK(memcmp(buf + 48 + 19, "one\0\0", 5) == 0);
    CHECK_INT(buf[72], 0xcc);
    /* Resuming: lseek to a d_off; an entry removed meanwhile is skipped, one added is seen. */
    CHECK_INT(SC(SYS_unlink, P("/tmp/d/two")), 0);
    CHECK_INT(xclose(xopen("/tmp/d/four", O_CREAT | O_WRONLY, 0644)), 0);
    CHECK_INT(SC(SYS_getdents64, fd, P(buf), 32), 32);
    CHECK(memcmp(buf + 19, "three", 6) == 0);
    CHECK_INT(SC(SYS_lseek, fd, 2, SEEK_SET), 2);
    CHECK_INT(SC(SYS_getdents64, fd, P(buf), 24), 24);
    CHECK(memcmp(buf + 19, "one", 4) == 0);
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_CUR), 3);
    CHECK_INT(SC(SYS_getdents64, fd, P(buf), 23), -EINVAL);
    CHECK_INT(SC(SYS_getdents64, fd, P(buf), 0), -EINVAL);
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_CUR), 3);
    CHECK_INT(SC(SYS_lseek, fd, 1000, SEEK_SET), 1000);
    CHECK_INT(SC(SYS_getdents64, fd, P(buf), sizeof(buf)), 0);
    CHECK_INT(xclose(fd), 0);
    CHECK_STR(listing("/tmp/d", 4096),
              "./4 ../4 one/8 three/8 a-much-longer-name-here/8 sub/4 four/8");
    /* The root's ".." is the root. */
    fd = xopen("/", O_RDONLY, 0);
    CHECK_INT(SC(SYS_getdents64, fd, P(buf), 48), 48);
    memcpy(&ino, buf + 24, 8);
    CHECK_INT(ino, xstat("/").st_ino);
    CHECK_INT(xclose(fd), 0);
    /* Not a folder, not a descriptor. */
    fd = xopen("/etc/passwd", O_RDONLY, 0);
    CHECK_INT(SC(SYS_getdents64, fd, P(buf), sizeof(buf)), -ENOTDIR);
    CHECK_INT(xclose(fd), 0);
    CHECK_INT(SC(SYS_getdents64, 99, P(buf), sizeof(buf)), -EBADF);
    finish();
}

/* Many names coming and going in one folder: a listing in progress sees each survivor once. */
static void folder_churn(void)
{
    start();
    CHECK_INT(SC(SYS_mkdir, P("/d"), 0755), 0);
    char path[32], want[65536] = "";
    for (int i = 0; i < 1000; i++) {
        snprintf(path, sizeof(path), "/d/f%d", i);
        CHECK_INT(xclose(xopen(path, O_CREAT | O_WRONLY, 0644)), 0);
    }
    long fd = xopen("/d", O_RDONLY | O_DIRECTORY, 0);
    uint8_t buf[64];
    CHECK_INT(SC(SYS_getdents64, fd, P(buf), 64), 48); /* "." and ".." */
    for (int i = 0; i < 1000; i += 2) {
        snprintf(path, sizeof(path), "/d/f%d", i);
        CHECK_INT(SC(SYS_unlink, P(path)), 0);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(path, sizeof(path), "/d/g%d", i);
        CHECK_INT(xclose(xopen(path, O_CREAT | O_WRONLY, 0644)), 0);
    }
    for (int i = 1; i < 1000; i += 2)
        snprintf(want + strlen(want), sizeof(want) - strlen(want), " f%d/8", i);
    for (int i = 0; i < 1000; i++)
        snprintf(want + strlen(want), sizeof(want) - strlen(want), " g%d/8", i);
    static char got[65536];
    got[0] = 0;
    for (;;) {
        long n = SC(SYS_getdents64, fd, P(buf), 40);
        CHECK(n >= 0);
        if (n == 0)
            break;
        CHECK_INT(n, buf[16]);
        snprintf(got + strlen(got), sizeof(got) - strlen(got), " %s/%d", (char *)buf + 19, buf[18]);
    }
    CHECK_STR(got, want);
    CHECK_INT(xclose(fd), 0);
    for (int i = 0; i < 1000; i++) {
        snprintf(path, sizeof(path), "/d/g%d", i);
        CHECK_INT(SC(SYS_unlink, P(path)), 0);
        if (i % 2) {
            snprintf(path, sizeof(path), "/d/f%d", i);
            CHECK_INT(SC(SYS_unlink, P(path)), 0);
        }
    }
    CHECK_INT(SC(SYS_rmdir, P("/d")), 0);
    finish();
}

/* ---- paths and symlinks ---------------------------------------------------------------------- */

static void paths(void)
{
    start();
    static const char *const same[] = {
        "/etc/passwd",       "//etc//passwd", "/./etc/./passwd", "/etc/../etc/passwd",
        "/../../etc/passwd", "etc/passwd",    "./etc/passwd",    "/usr/lib/../../etc/passwd",
        "/up/etc/passwd",    "/lib/abs",      "/usr/lib/abs",
    };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        CHECK_STR(content(same[i]), "root:x:0:0::/root:/bin/sh\n");
    CHECK_INT(xstat("/usr/lib/").st_ino, xstat("/usr/lib").st_ino);
    CHECK_INT(xstat("/usr/lib//").st_ino, xstat("/lib/").st_ino);
    CHECK_INT(xstat("/usr/lib/.").st_ino, xstat("/lib/.").st_ino);
    CHECK_INT(xstat("///").st_ino, xstat("/").st_ino);
    CHECK_INT(xstat("/usr/lib/../").st_ino, xstat("/usr").st_ino);
    /* "lib/.." is "usr", where lib leads, not the root. */
    CHECK_INT(xstat("/lib/..").st_ino, xstat("/usr").st_ino);
    CHECK_INT(xstat("/tmp/../../..").st_ino, xstat("/").st_ino);
    CHECK_INT(xopen("/etc/passwd/", O_RDONLY, 0), -ENOTDIR);
    CHECK_INT(xopen("/etc/passwd/.", O_RDONLY, 0), -ENOTDIR);
    CHECK_INT(xopen("/etc/passwd/..", O_RDONLY, 0), -ENOTDIR);
    /* Lengths: RAMFS_PATH_MAX - 1 bytes is a path, one more is not; components up to 255. */
    static char path[RAMFS_PATH_MAX + 1];
    memset(path, '/', sizeof(path));
    memcpy(path + RAMFS_PATH_MAX - 1 - 4, "/tmp", 4);
    path[RAMFS_PATH_MAX - 1] = 0;
    CHECK_INT(exists(path), 0);
    path[RAMFS_PATH_MAX - 1] = '/';
    path[RAMFS_PATH_MAX] = 0;
    CHECK_INT(exists(path), -ENAMETOOLONG);
    char name[262];
    memcpy(name, "/tmp/", 5);
    memset(name + 5, 'n', 256);
    name[5 + 256] = 0;
    CHECK_INT(xopen(name, O_CREAT | O_WRONLY, 0644), -ENAMETOOLONG);
    CHECK_INT(exists(name), -ENAMETOOLONG);
    name[5 + 255] = 0;
    CHECK_INT(xopen(name, O_CREAT | O_WRONLY, 0644), 3);
    CHECK_INT(exists(name), 0);
    finish();
}

static void symlinks(void)
{
    env_setup();
    /* s1 -> s2 -> ... -> s41 -> file: s2 takes 40 links to resolve, s1 41. */
    struct ar a = {0};
    ar_file(&a, "file", "end");
    char name[16], target[16];
    for (int i = 1; i <= 41; i++) {
        snprintf(name, sizeof(name), "s%d", i);
        snprintf(target, sizeof(target), i == 41 ? "file" : "s%d", i + 1);
        ar_link(&a, name, target);
    }
    ar_link(&a, "loop1", "loop2");
    ar_link(&a, "loop2", "/loop1");
    ar_link(&a, "self", "./self");
    ar_link(&a, "dirloop", "dirloop/x");
    ar_dir(&a, "d");
    ar_link(&a, "d/up", "../d/up2");
    ar_link(&a, "d/up2", "..");
    ar_link(&a, "d/slash", "/");
    ar_trailer(&a);
    CHECK_INT(load(&a), 0);
    free(a.d);
    CHECK_STR(content("/s2"), "end");
    CHECK_STR(content("/s1"), "(open: -40)");
    CHECK_INT(exists("/s1"), 0);
    CHECK_INT(SC(SYS_access, P("/s1"), F_OK), -ELOOP);
    CHECK_INT(xopen("/loop1", O_RDONLY, 0), -ELOOP);
    CHECK_INT(xopen("/loop1", O_CREAT | O_WRONLY, 0644), -ELOOP);
    CHECK_INT(xopen("/loop1/x", O_RDONLY, 0), -ELOOP);
    CHECK_INT(xopen("/self", O_RDONLY, 0), -ELOOP);
    CHECK_INT(xopen("/dirloop", O_RDONLY, 0), -ELOOP);
    CHECK_INT(SC(SYS_chdir, P("/loop2")), -ELOOP);
    CHECK_INT(SC(SYS_unlink, P("/loop1")), 0); /* loops can still be removed */
    CHECK_INT(xopen("/loop2", O_RDONLY, 0), -ENOENT);
    CHECK_INT(xstat("/d/up").st_ino, xstat("/").st_ino);
    CHECK_INT(xstat("/d/up/d/up/d/slash/d").st_ino, xstat("/d").st_ino);
    CHECK_INT(xstat("/d/slash").st_ino, xstat("/").st_ino);
    finish();
}

/* ---- devices and the console ----------------------------------------------------------------- */

static void devices(void)
{
    start();
    char buf[16];
    long fd = xopen("/dev/null", O_RDWR, 0);
    CHECK_INT(SC(SYS_read, fd, P(buf), sizeof(buf)), 0);
    CHECK_INT(xwrite(fd, "gone"), 4);
    CHECK_INT(SC(SYS_lseek, fd, 10, SEEK_SET), 0);
    CHECK_INT(SC(SYS_pread64, fd, P(buf), 1, 5), 0);
    CHECK_INT(xclose(fd), 0);
    fd = xopen("/dev/urandom", O_RDWR, 0);
    CHECK_INT(SC(SYS_read, fd, P(buf), 3), 3);
    CHECK(memcmp(buf, "\xa0\xa1\xa2", 3) == 0);
    CHECK_INT(xwrite(fd, "seed"), 4);
    CHECK_INT(E.random_calls, 1);
    CHECK_INT(xclose(fd), 0);
    fd = xopen("/dev/zero", O_WRONLY | O_TRUNC, 0);
    CHECK_INT(xwrite(fd, "x"), 1);
    CHECK_INT(xclose(fd), 0);
    /* The console: fd 0 reads it, 1 and 2 write it. */
    E.input = "typed\n";
    CHECK_INT(SC(SYS_read, 0, P(buf), 4), 4);
    CHECK(memcmp(buf, "type", 4) == 0);
    fd = xopen("/dev/stdin", O_RDONLY, 0);
    CHECK_INT(SC(SYS_read, fd, P(buf), sizeof(buf)), 2);
    CHECK_INT(SC(SYS_read, fd, P(buf), sizeof(buf)), 0);
    CHECK_INT(xclose(fd), 0);
    CHECK_INT(SC(SYS_write, 0, P("x"), 1), -EBADF);
    CHECK_INT(SC(SYS_read, 1, P(buf), 1), -EBADF);
    CHECK_INT(SC(SYS_lseek, 1, 0, SEEK_SET), -ESPIPE);
    CHECK_INT(SC(SYS_pwrite64, 1, P("x"), 1, 0), -ESPIPE);
    CHECK_INT(SC(SYS_fcntl, 0, F_GETFL), O_RDONLY);
    CHECK_INT(SC(SYS_fcntl, 2, F_GETFL), O_WRONLY);
    CHECK_INT(xwrite(2, "err\n"), 4);
    fd = xopen("/dev/stderr", O_WRONLY, 0);
    CHECK_INT(xwrite(fd, "e2"), 2);
    CHECK_INT(xclose(fd), 0);
    CHECK_INT(E.n_writes, 2);
    CHECK_INT(E.writes[0].fd, 2);
    CHECK_INT(E.writes[1].fd, 2);
    CHECK(E.writes[1].n == 2 && memcmp(E.writes[1].bytes, "e2", 2) == 0);
    /* /dev/stdout opens what fd 1 holds: nothing, then a file. */
    CHECK_INT(xclose(1), 0);
    CHECK_INT(xopen("/dev/stdout", O_WRONLY, 0), -ENOENT);
    fd = xopen("/tmp/out", O_CREAT | O_RDWR, 0644);
    CHECK_INT(fd, 1);
    fd = xopen("/dev/stdout", O_WRONLY, 0);
    CHECK_INT(fd, 3);
    CHECK_INT(xwrite(fd, "to the file"), 11);
    CHECK_INT(xclose(fd), 0);
    CHECK_STR(content("/tmp/out"), "to the file");
    CHECK_INT(xopen("/dev/stdout", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR);
    CHECK_INT(E.n_writes, 2);
    /* Without the callbacks, the devices fail with -EIO. */
    finish();
    env_setup();
    struct ramfs_env bare = env;
    bare.random = NULL;
    bare.console_read = NULL;
    bare.console_write = NULL;
    CHECK_INT(ramfs_new(&bare, NULL, 0, &fs), 0);
    CHECK_INT(SC(SYS_read, 0, P(buf), 1), -EIO);
    CHECK_INT(xwrite(1, "x"), -EIO);
    fd = xopen("/dev/random", O_RDONLY, 0);
    CHECK_INT(SC(SYS_read, fd, P(buf), 1), -EIO);
    finish();
}

/* ---- ioctl, fsync, truncate ------------------------------------------------------------------ */

static void ioctl_fsync(void)
{
    start();
    uint8_t ws[8];
    memset(ws, 0x5a, sizeof(ws));
    /* No descriptor is a terminal, the consoles included: isatty() is false everywhere. */
    for (long fd = 0; fd < 3; fd++) {
        CHECK_INT(SC(SYS_ioctl, fd, TIOCGWINSZ, P(ws)), -ENOTTY);
        CHECK_INT(SC(SYS_ioctl, fd, TCGETS, P(ws)), -ENOTTY);
    }
    for (size_t i = 0; i < sizeof(ws); i++)
        CHECK_INT(ws[i], 0x5a);
    long fd = xopen("/etc/passwd", O_RDONLY, 0), dir = xopen("/tmp", O_RDONLY, 0);
    long null = xopen("/dev/null", O_RDWR, 0);
    CHECK_INT(SC(SYS_ioctl, fd, TIOCGWINSZ, P(E.bad)), -ENOTTY);
    CHECK_INT(SC(SYS_ioctl, fd, FIONREAD, 0), -ENOTTY);
    CHECK_INT(SC(SYS_ioctl, dir, FIONBIO, P(ws)), -ENOTTY);
    CHECK_INT(SC(SYS_ioctl, null, TCGETS, P(ws)), -ENOTTY);
    CHECK_INT(SC(SYS_ioctl, 99, TIOCGWINSZ, P(ws)), -EBADF);
    CHECK_INT(SC(SYS_ioctl, -1, TIOCGWINSZ, P(ws)), -EBADF);
    CHECK_INT(SC(SYS_ioctl, RAMFS_FDS_MAX, TIOCGWINSZ, P(ws)), -EBADF);
    /* Everything is in memory: fsync and fdatasync only check the descriptor. */
    for (long nr = SYS_fsync; nr <= SYS_fdatasync; nr++) {
        CHECK_INT(SC(nr, fd), 0);
        CHECK_INT(SC(nr, dir), 0);
        CHECK_INT(SC(nr, 1), 0);
        CHECK_INT(SC(nr, 99), -EBADF);
        CHECK_INT(SC(nr, -1), -EBADF);
    }
    CHECK_INT(xclose(null), 0);
    CHECK_INT(SC(SYS_ioctl, null, TCGETS, P(ws)), -EBADF);
    CHECK_INT(SC(SYS_fsync, null), -EBADF);
    CHECK_INT(E.n_writes, 0);
    finish();
}

static void truncate_family(void)
{
    start();
    char buf[16];
    long fd = xopen("/tmp/t", O_CREAT | O_RDWR, 0644);
    CHECK_INT(xwrite(fd, "hello world"), 11);
    CHECK_INT(SC(SYS_ftruncate, fd, 5), 0);
    CHECK_STR(content("/tmp/t"), "hello");
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_CUR), 11); /* the offset stays */
    /* Grown again, the bytes past the old end are zeros, not what was there before. */
    CHECK_INT(SC(SYS_ftruncate, fd, 8), 0);
    CHECK_INT(SC(SYS_pread64, fd, P(buf), sizeof(buf), 0), 8);
    CHECK(memcmp(buf, "hello\0\0\0", 8) == 0);
    /* Past the buffer's room: a new buffer, zeros to the end. */
    CHECK_INT(SC(SYS_ftruncate, fd, 100000), 0);
    CHECK_INT(xstat("/tmp/t").st_size, 100000);
    CHECK_INT(xstat("/tmp/t").st_blocks, 196);
    memset(buf, 'x', sizeof(buf));
    CHECK_INT(SC(SYS_pread64, fd, P(buf), sizeof(buf), 99990), 10);
    CHECK(memcmp(buf, "\0\0\0\0\0\0\0\0\0\0xxxxxx", 16) == 0);
    CHECK_INT(SC(SYS_pread64, fd, P(buf), 5, 0), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    /* A write at the offset (11) lands in the zeros. */
    CHECK_INT(xwrite(fd, "!"), 1);
    CHECK_INT(SC(SYS_pread64, fd, P(buf), 12, 0), 12);
    CHECK(memcmp(buf, "hello\0\0\0\0\0\0!", 12) == 0);
    CHECK_INT(SC(SYS_ftruncate, fd, 0), 0);
    CHECK_INT(xstat("/tmp/t").st_size, 0);
    CHECK_INT(xstat("/tmp/t").st_blocks, 0);
    CHECK_INT(SC(SYS_ftruncate, fd, 0), 0);
    /* Bad lengths, descriptors and nodes. */
    CHECK_INT(SC(SYS_ftruncate, fd, -1), -EINVAL);
    CHECK_INT(SC(SYS_ftruncate, fd, (long)RAMFS_FILE_MAX + 1), -EFBIG);
    CHECK_INT(SC(SYS_ftruncate, 99, 0), -EBADF);
    CHECK_INT(SC(SYS_ftruncate, 99, -1), -EINVAL);
    long ro = xopen("/tmp/t", O_RDONLY, 0), dir = xopen("/tmp", O_RDONLY, 0);
    long null = xopen("/dev/null", O_RDWR, 0);
    CHECK_INT(SC(SYS_ftruncate, ro, 0), -EINVAL);
    CHECK_INT(SC(SYS_ftruncate, dir, 0), -EINVAL);
    CHECK_INT(SC(SYS_ftruncate, null, 0), -EINVAL);
    CHECK_INT(SC(SYS_ftruncate, 1, 0), -EINVAL);
    /* Out of memory: the file stays as it was. */
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_SET), 0);
    CHECK_INT(xwrite(fd, "abc"), 3);
    E.fail_at = E.count + 1;
    CHECK_INT(SC(SYS_ftruncate, fd, 5000), -ENOSPC);
    E.fail_at = 0;
    CHECK_STR(content("/tmp/t"), "abc");
    /* truncate: by path, following symlinks. */
    CHECK_INT(SC(SYS_truncate, P("/tmp/t"), 2), 0);
    CHECK_STR(content("/tmp/t"), "ab");
    CHECK_INT(SC(SYS_truncate, P("/lib/libc.so"), 1), 0);
    CHECK_STR(content("/usr/lib/libc.so"), "E");
    CHECK_INT(SC(SYS_truncate, P("/tmp"), 0), -EISDIR);
    CHECK_INT(SC(SYS_truncate, P("/dev/null"), 0), -EINVAL);
    CHECK_INT(SC(SYS_truncate, P("/tmp/none"), 0), -ENOENT);
    CHECK_INT(SC(SYS_truncate, P("/tmp/t/x"), 0), -ENOTDIR);
    CHECK_INT(SC(SYS_truncate, P("/dangling"), 0), -ENOENT);
    CHECK_INT(SC(SYS_truncate, P(""), 0), -ENOENT);
    CHECK_INT(SC(SYS_truncate, P(E.bad), 0), -EFAULT);
    CHECK_INT(SC(SYS_truncate, P("/tmp/t"), -1), -EINVAL);
    CHECK_INT(SC(SYS_truncate, P("/tmp/t"), (long)RAMFS_FILE_MAX + 1), -EFBIG);
    CHECK_STR(content("/tmp/t"), "ab");
    finish();
}

/* ---- mmap's reads ---------------------------------------------------------------------------- */

static void pread_fd(void)
{
    start();
    char buf[64];
    long fd = xopen("/etc/passwd", O_RDONLY, 0);
    memset(buf, 'x', sizeof(buf));
    long calls = E.user_ok_calls;
    CHECK_INT(ramfs_pread_fd(fs, (int)fd, buf, sizeof(buf), 0), 26);
    CHECK(memcmp(buf, "root:x:0:0::/root:/bin/sh\nx", 27) == 0);
    CHECK_INT(ramfs_pread_fd(fs, (int)fd, buf, 4, 5), 4);
    CHECK(memcmp(buf, "x:0:", 4) == 0);
    CHECK_INT(ramfs_pread_fd(fs, (int)fd, buf, sizeof(buf), 26), 0);
    CHECK_INT(ramfs_pread_fd(fs, (int)fd, buf, sizeof(buf), 1000), 0);
    CHECK_INT(ramfs_pread_fd(fs, (int)fd, buf, sizeof(buf), UINT64_MAX), 0);
    CHECK_INT(ramfs_pread_fd(fs, (int)fd, NULL, 0, 0), 0);
    /* LibOS memory: user_ok is not asked, and the offset does not move. */
    CHECK_INT(E.user_ok_calls, calls);
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_CUR), 0);
    /* /dev/zero maps as zeros; files open for writing too. */
    long z = xopen("/dev/zero", O_RDONLY, 0);
    memset(buf, 'x', sizeof(buf));
    CHECK_INT(ramfs_pread_fd(fs, (int)z, buf, 10, 12345), 10);
    CHECK(memcmp(buf, "\0\0\0\0\0\0\0\0\0\0x", 11) == 0);
    long rw = xopen("/tmp/rw", O_CREAT | O_RDWR, 0644);
    CHECK_INT(xwrite(rw, "data"), 4);
    CHECK_INT(ramfs_pread_fd(fs, (int)rw, buf, sizeof(buf), 1), 3);
    CHECK(memcmp(buf, "ata", 3) == 0);
    /* Refused: not open for reading, nothing to map, no descriptor. */
    long wo = xopen("/tmp/w", O_CREAT | O_WRONLY, 0644);
    long dir = xopen("/tmp", O_RDONLY, 0), null = xopen("/dev/null", O_RDONLY, 0);
    long rnd = xopen("/dev/urandom", O_RDONLY, 0);
    CHECK_INT(ramfs_pread_fd(fs, (int)wo, buf, 1, 0), -EACCES);
    CHECK_INT(ramfs_pread_fd(fs, (int)wo, NULL, 0, 0), -EACCES);
    CHECK_INT(ramfs_pread_fd(fs, 1, buf, 1, 0), -EACCES);
    CHECK_INT(ramfs_pread_fd(fs, (int)dir, buf, 1, 0), -ENODEV);
    CHECK_INT(ramfs_pread_fd(fs, (int)null, buf, 1, 0), -ENODEV);
    CHECK_INT(ramfs_pread_fd(fs, (int)rnd, buf, 1, 0), -ENODEV);
    CHECK_INT(ramfs_pread_fd(fs, 0, NULL, 0, 0), -ENODEV);
    CHECK_INT(ramfs_pread_fd(fs, 99, buf, 1, 0), -EBADF);
    CHECK_INT(ramfs_pread_fd(fs, -1, NULL, 0, 0), -EBADF);
    CHECK_INT(ramfs_pread_fd(fs, RAMFS_FDS_MAX, buf, 1, 0), -EBADF);
    CHECK_INT(E.random_calls, 0);
    finish();
}

static void unknown_syscalls(void)
{
    start();
    static const long nrs[] = {-1, 7, 9, 73, 78, 88, 316, 332, 438, 440, 100000};
    for (size_t i = 0; i < sizeof(nrs) / sizeof(nrs[0]); i++)
        CHECK_INT(SC(nrs[i], 0), -ENOSYS);
    finish();
}

/* ---- pointers the application does not own --------------------------------------------------- */

static void user_pointers(void)
{
    start();
    long fd = xopen("/tmp/f", O_CREAT | O_RDWR, 0644);
    CHECK_INT(xwrite(fd, "keep"), 4);
    uint8_t *bad = E.bad, *edge = E.bad - 1; /* one byte before the refused page */
    /* Buffers: nothing moves, the offset stays. */
    CHECK_INT(SC(SYS_write, fd, P(bad), 1), -EFAULT);
    CHECK_INT(SC(SYS_write, fd, P(edge), 2), -EFAULT);
    CHECK_INT(SC(SYS_write, fd, 0, 1), -EFAULT);
    CHECK_INT(SC(SYS_write, fd, -1L, 2), -EFAULT);
    CHECK_INT(SC(SYS_pwrite64, fd, P(bad), 4, 0), -EFAULT);
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_SET), 0);
    CHECK_INT(SC(SYS_read, fd, P(edge), 2), -EFAULT);
    CHECK_INT(SC(SYS_pread64, fd, P(bad), 1, 0), -EFAULT);
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_CUR), 0);
    CHECK_STR(content("/tmp/f"), "keep");
    /* One good byte is fine. */
    CHECK_INT(SC(SYS_read, fd, P(edge), 1), 1);
    CHECK_INT(*edge, 'k');
    *edge = 0x5a;
    /* iovecs: the array, then any one buffer; nothing is written before all are checked. */
    struct iovec v[2] = {{(void *)"ab", 2}, {bad, 1}};
    CHECK_INT(SC(SYS_writev, fd, P(v), 2), -EFAULT);
    CHECK_INT(SC(SYS_writev, fd, P(bad), 1), -EFAULT);
    CHECK_INT(SC(SYS_writev, fd, P(edge - 14), 1), -EFAULT);
    char x[4];
    struct iovec r[2] = {{x, 2}, {bad, 1}};
    memset(x, 0, sizeof(x));
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_SET), 0);
    CHECK_INT(SC(SYS_readv, fd, P(r), 2), -EFAULT);
    CHECK_INT(x[0], 0);
    CHECK_INT(SC(SYS_lseek, fd, 0, SEEK_CUR), 0);
    CHECK_STR(content("/tmp/f"), "keep");
    /* Paths: refused pages, a path running into one, NULL. */
    CHECK_INT(xopen((const char *)bad, O_CREAT | O_RDWR, 0644), -EFAULT);
    CHECK_INT(xopen(NULL, O_RDONLY, 0), -EFAULT);
    memcpy(edge - 4, "/tmp/", 5); /* no NUL before the refused page */
    CHECK_INT(xopen((const char *)edge - 4, O_CREAT | O_RDWR, 0644), -EFAULT);
    CHECK_STR(listing("/tmp", 4096), "./4 ../4 f/8");
    edge[0] = 0; /* "/tmp" and its NUL end right at the refused page */
    CHECK_INT(exists((const char *)edge - 4), 0);
    memset(edge - 4, 0x5a, 5);
    CHECK_INT(SC(SYS_mkdir, P(bad), 0755), -EFAULT);
    CHECK_INT(SC(SYS_rename, P("/tmp/f"), P(bad)), -EFAULT);
    CHECK_INT(SC(SYS_rename, P(bad), P("/tmp/g")), -EFAULT);
    CHECK_INT(SC(SYS_unlink, P(bad)), -EFAULT);
    CHECK_INT(SC(SYS_rmdir, P(bad)), -EFAULT);
    CHECK_INT(SC(SYS_chdir, P(bad)), -EFAULT);
    CHECK_INT(SC(SYS_access, P(bad), F_OK), -EFAULT);
    CHECK_INT(SC(SYS_readlink, P(bad), P(x), 4), -EFAULT);
    CHECK_STR(content("/tmp/f"), "keep");
    CHECK_STR(cwd(), "/");
    /* Output structures. */
    struct ramfs_stat st;
    CHECK_INT(SC(SYS_stat, P("/tmp/f"), P(bad)), -EFAULT);
    CHECK_INT(SC(SYS_stat, P("/tmp/f"), P(edge - sizeof(st) + 2)), -EFAULT);
    CHECK_INT(SC(SYS_lstat, P("/tmp/f"), P(bad)), -EFAULT);
    CHECK_INT(SC(SYS_newfstatat, AT_FDCWD, P("/tmp/f"), P(bad), 0), -EFAULT);
    CHECK_INT(SC(SYS_fstat, fd, P(bad)), -EFAULT);
    CHECK_INT(SC(SYS_stat, P("/tmp/f"), P(edge - sizeof(st) + 1)), 0);
    memset(edge - sizeof(st) + 1, 0x5a, sizeof(st));
    CHECK_INT(SC(SYS_getcwd, P(bad), 100), -EFAULT);
    CHECK_INT(SC(SYS_getcwd, P(edge), 2), -EFAULT);
    CHECK_INT(SC(SYS_getcwd, P(edge - 1), 2), 2);
    CHECK(memcmp(edge - 1, "/", 2) == 0);
    memset(edge - 1, 0x5a, 2);
    CHECK_INT(SC(SYS_readlink, P("/lib"), P(bad), 10), -EFAULT);
    CHECK_INT(SC(SYS_readlink, P("/lib"), P(edge), 10), -EFAULT);
    CHECK_INT(SC(SYS_readlink, P("/lib"), P(edge), 1), 1);
    *edge = 0x5a;
    long dfd = xopen("/tmp", O_RDONLY, 0);
    CHECK_INT(SC(SYS_getdents64, dfd, P(bad), 64), -EFAULT);
    CHECK_INT(SC(SYS_getdents64, dfd, P(edge - 63), 65), -EFAULT);
    CHECK_INT(SC(SYS_lseek, dfd, 0, SEEK_CUR), 0);
    CHECK_INT(SC(SYS_getdents64, dfd, P(edge - 63), 64), 48);
    memset(edge - 63, 0x5a, 64);
    CHECK_INT(xclose(dfd), 0);
    /* Console and devices never see a refused buffer. */
    CHECK_INT(SC(SYS_write, 1, P(bad), 3), -EFAULT);
    long z = xopen("/dev/zero", O_RDONLY, 0);
    CHECK_INT(SC(SYS_read, z, P(bad), 3), -EFAULT);
    long rnd = xopen("/dev/random", O_RDONLY, 0);
    CHECK_INT(SC(SYS_read, rnd, P(edge), 2), -EFAULT);
    CHECK_INT(E.n_writes, 0);
    CHECK_INT(E.random_calls, 0);
    CHECK(E.user_ok_calls > 40);
    finish();
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(seed_self_test),     TAP_TEST(archive_contents), TAP_TEST(archive_names),
        TAP_TEST(archive_malformed),  TAP_TEST(archive_limits),   TAP_TEST(archive_out_of_memory),
        TAP_TEST(read_write),         TAP_TEST(readv_writev),     TAP_TEST(open_close),
        TAP_TEST(open_out_of_memory), TAP_TEST(stat_family),      TAP_TEST(access_family),
        TAP_TEST(dup_fcntl),          TAP_TEST(getcwd_chdir),     TAP_TEST(mkdir_rmdir),
        TAP_TEST(unlink_files),       TAP_TEST(rename_family),    TAP_TEST(readlink_family),
        TAP_TEST(getdents),           TAP_TEST(folder_churn),     TAP_TEST(paths),
        TAP_TEST(symlinks),           TAP_TEST(devices),          TAP_TEST(ioctl_fsync),
        TAP_TEST(truncate_family),    TAP_TEST(pread_fd),         TAP_TEST(unknown_syscalls),
        TAP_TEST(user_pointers),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
