/* Fuzz target: the LibOS ramfs loading arbitrary bytes as root.cpio, then visiting every path it
 * made (stat, lstat, readlink, access, open, read, write, getdents64) and removing them all. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ramfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Linux x86-64 numbers and flags, as the application would pass them. */
enum {
    NR_READ = 0,
    NR_WRITE = 1,
    NR_OPEN = 2,
    NR_CLOSE = 3,
    NR_STAT = 4,
    NR_FSTAT = 5,
    NR_LSTAT = 6,
    NR_PREAD64 = 17,
    NR_ACCESS = 21,
    NR_RMDIR = 84,
    NR_UNLINK = 87,
    NR_READLINK = 89,
    NR_GETDENTS64 = 217,
};
#define FZ_O_RDWR 02
#define FZ_O_APPEND 02000

#define MAX_PATHS 2048
#define MAX_PATH_LEN 1024

static void *fz_alloc(void *ctx, size_t n)
{
    (void)ctx;
    return calloc(1, n ? n : 1);
}

static void fz_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    (void)n;
    free(p);
}

static long fz_random(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    memset(buf, 0x42, n);
    return (long)n;
}

static long fz_console_write(void *ctx, int fd, const void *buf, size_t n)
{
    (void)ctx;
    (void)fd;
    (void)buf;
    return (long)n;
}

static long fz_console_read(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    (void)buf;
    (void)n;
    return 0;
}

static bool fz_user_ok(void *ctx, const void *p, size_t n, bool write)
{
    (void)ctx;
    (void)n;
    (void)write;
    return p != NULL;
}

static long call(struct ramfs *fs, long nr, long a0, long a1, long a2, long a3)
{
    const long a[6] = {a0, a1, a2, a3, 0, 0};
    return ramfs_syscall(fs, nr, a);
}

#define P(x) ((long)(uintptr_t)(x))

/* Reads a descriptor a block at a time, 1 MiB at most (/dev/zero never ends). */
static void read_some(struct ramfs *fs, long fd)
{
    static uint8_t buf[65536];
    for (int i = 0; i < 16 && call(fs, NR_READ, fd, P(buf), sizeof(buf), 0) > 0; i++)
        ;
}

/* Lists a folder 64 bytes at a time, queueing what it holds. */
static void list(struct ramfs *fs, long fd, const char *path, char **queue, size_t *n)
{
    uint8_t buf[64];
    for (;;) {
        long got = call(fs, NR_GETDENTS64, fd, P(buf), sizeof(buf), 0);
        if (got <= 0)
            return;
        for (long off = 0; off + 19 < got;) {
            uint16_t reclen;
            memcpy(&reclen, buf + off + 16, 2);
            if (reclen < 20 || off + reclen > got)
                abort(); /* a malformed record is a bug */
            const char *name = (const char *)buf + off + 19;
            off += reclen;
            if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || *n >= MAX_PATHS)
                continue;
            size_t len = strlen(path) + 1 + strlen(name) + 1;
            if (len > MAX_PATH_LEN)
                continue;
            char *p = malloc(len);
            if (!p)
                abort();
            const char *parent = strcmp(path, "/") == 0 ? "" : path;
            memcpy(p, parent, strlen(parent));
            p[strlen(parent)] = '/';
            memcpy(p + strlen(parent) + 1, name, strlen(name) + 1);
            queue[(*n)++] = p;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct ramfs_env env = {
        .alloc = fz_alloc,
        .free = fz_free,
        .random = fz_random,
        .console_write = fz_console_write,
        .console_read = fz_console_read,
        .user_ok = fz_user_ok,
    };
    struct ramfs *fs = NULL;
    if (ramfs_new(&env, size ? data : NULL, size, &fs) < 0)
        return 0;
    char **queue = calloc(MAX_PATHS, sizeof(*queue));
    if (!queue)
        abort();
    size_t n = 0;
    queue[n++] = strdup("/");
    struct ramfs_stat st;
    char target[256];
    for (size_t i = 0; i < n; i++) {
        const char *path = queue[i];
        call(fs, NR_STAT, P(path), P(&st), 0, 0);
        call(fs, NR_LSTAT, P(path), P(&st), 0, 0);
        call(fs, NR_READLINK, P(path), P(target), sizeof(target), 0);
        call(fs, NR_ACCESS, P(path), 1, 0, 0);
        long fd = call(fs, NR_OPEN, P(path), 0, 0, 0);
        if (fd < 0)
            continue;
        call(fs, NR_FSTAT, fd, P(&st), 0, 0);
        read_some(fs, fd);
        list(fs, fd, path, queue, &n);
        call(fs, NR_CLOSE, fd, 0, 0, 0);
        /* Files take a write at the end and a read back (/dev/stdin reads the console). */
        fd = call(fs, NR_OPEN, P(path), FZ_O_RDWR | FZ_O_APPEND, 0, 0);
        if (fd >= 0) {
            call(fs, NR_WRITE, fd, P("fuzz"), 4, 0);
            call(fs, NR_PREAD64, fd, P(target), sizeof(target), 0);
            call(fs, NR_CLOSE, fd, 0, 0, 0);
        }
    }
    /* Children were queued after their parents: removing in reverse empties folders first. */
    for (size_t i = n; i-- > 1;) {
        if (call(fs, NR_UNLINK, P(queue[i]), 0, 0, 0) < 0)
            call(fs, NR_RMDIR, P(queue[i]), 0, 0, 0);
        free(queue[i]);
    }
    free(queue[0]);
    free(queue);
    ramfs_free(fs);
    return 0;
}
