/* libostest: an unmodified musl program that exercises the LibOS (specs/libos.md) one area at a
 * time, for tests/e2e/t0401-libos.sh. Each mode prints deterministic lines `name: <result>`, a
 * result being a value or `-ERRNO`; no addresses, no times (time shows booleans only).
 *   libostest files          the ramfs, the rootfs the test ships, devices
 *   libostest memory         malloc, mmap/munmap/mprotect/madvise, file maps, heap code, brk
 *   libostest time           clocks and sleeps
 *   libostest futex          futex commands, timeouts and bad arguments
 *   libostest misc           identity, uname, getrandom, signal calls, arch_prctl
 *   libostest threads N      N threads blocked in pthread_cond_wait at once, then woken
 *   libostest stress         24 threads doing file and memory calls at once
 *   libostest badptr         pointers outside the program's memory: every call -EFAULT
 *   libostest unknown        syscalls the LibOS does not implement
 *   libostest ls PATH...     the names in each folder
 *   libostest rodata         read() into the program's read-only data: the LibOS faults
 *   libostest block          threads blocked in futex waits and sleeps; main never ends
 *   libostest exit-blocked   the same, then exit(5) from main
 *   libostest exit-thread    a thread calls _exit(6) while main waits to join it
 * The addresses of badptr follow the deployment t0401 writes (hostcall-abi.md §2):
 *   program window 0x10000000 + 0x10000000, LibOS window 0x20000000 + 0x10000000,
 *   shared heap 0x40000000 + 0x8000000. */
#define _GNU_SOURCE /* MREMAP_MAYMOVE, CLONE_* */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "raw-syscall.h"

/* The deployment's layout (t0401-libos.sh writes it). */
#define APP_BASE 0x10000000UL
#define APP_TOP 0x20000000UL
#define LIBOS_BASE 0x20000000UL
#define HEAP_BASE 0x40000000UL
#define HEAP_SIZE 0x8000000UL
/* The LibOS's page bitmaps at the heap's end (specs/libos.md §4): four bits for each of the
 * heap's 32768 pages. */
#define HEAP_META (4 * PAGE)
#define SLOT_SIZE (256UL << 10)
#define SLOTS 16
#define GATE (APP_TOP - SLOTS * SLOT_SIZE - (16UL << 10))

#define PAGE 4096UL

/* linux/futex.h, which musl's headers do not include. */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE 128
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_WAIT_PRIVATE (FUTEX_WAIT | FUTEX_PRIVATE)
#define FUTEX_WAKE_PRIVATE (FUTEX_WAKE | FUTEX_PRIVATE)
#define ARCH_GET_FS 0x1003

/* The errno values the LibOS returns, by name (in step with names[]). */
static const char *errname(long e)
{
    static const int codes[] = {EPERM,  ENOENT,    EINTR,     EIO,        ENXIO,       EBADF,
                                EAGAIN, ENOMEM,    EACCES,    EFAULT,     EBUSY,       EEXIST,
                                ENODEV, ENOTDIR,   EISDIR,    EINVAL,     EMFILE,      ENOTTY,
                                EFBIG,  ENOSPC,    ESPIPE,    ERANGE,     ENOSYS,      ENOTEMPTY,
                                ELOOP,  EOVERFLOW, ETIMEDOUT, EOPNOTSUPP, ENAMETOOLONG};
    static const char *const names[] = {
        "EPERM",  "ENOENT",    "EINTR",     "EIO",        "ENXIO",       "EBADF",
        "EAGAIN", "ENOMEM",    "EACCES",    "EFAULT",     "EBUSY",       "EEXIST",
        "ENODEV", "ENOTDIR",   "EISDIR",    "EINVAL",     "EMFILE",      "ENOTTY",
        "EFBIG",  "ENOSPC",    "ESPIPE",    "ERANGE",     "ENOSYS",      "ENOTEMPTY",
        "ELOOP",  "EOVERFLOW", "ETIMEDOUT", "EOPNOTSUPP", "ENAMETOOLONG"};
    static char other[32];
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (codes[i] == e)
            return names[i];
    snprintf(other, sizeof(other), "E%ld", e);
    return other;
}

static bool is_err(long r)
{
    return r < 0 && r >= -4095;
}

/* name: value, or name: -ERRNO */
static void put(const char *name, long r)
{
    if (is_err(r))
        printf("%s: -%s\n", name, errname(-r));
    else
        printf("%s: %ld\n", name, r);
}

/* For results that are addresses: name: ok, or name: -ERRNO */
static void put_addr(const char *name, long r)
{
    if (is_err(r))
        printf("%s: -%s\n", name, errname(-r));
    else
        printf("%s: ok\n", name);
}

static void put_str(const char *name, const char *s)
{
    printf("%s: %s\n", name, s);
}

/* ---- files ----------------------------------------------------------------------------------- */

static const char *type_name(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "reg";
    case S_IFDIR: return "dir";
    case S_IFLNK: return "lnk";
    case S_IFCHR: return "chr";
    default: return "?";
    }
}

/* stat or lstat (nr) of path: its type, permissions, size, links, owner and time. */
static void put_stat(const char *name, long nr, const char *path)
{
    struct stat st;
    long r = SC(nr, path, &st);
    if (r < 0) {
        put(name, r);
        return;
    }
    printf("%s: %s %04o size %ld nlink %ld uid %u gid %u mtime %ld\n", name, type_name(st.st_mode),
           (unsigned)st.st_mode & 07777, (long)st.st_size, (long)st.st_nlink, st.st_uid, st.st_gid,
           (long)st.st_mtime);
}

/* The whole of a small file, as text (what read returns up to 255 bytes). */
static void put_file(const char *name, const char *path)
{
    long fd = SC(SYS_open, path, O_RDONLY);
    if (fd < 0) {
        put(name, fd);
        return;
    }
    char buf[256];
    long n = SC(SYS_read, fd, buf, sizeof(buf) - 1);
    SC(SYS_close, fd);
    if (n < 0) {
        put(name, n);
        return;
    }
    buf[n] = 0;
    put_str(name, buf);
}

/* The names in a folder, in getdents64's order, each with its type letter. */
static void put_dir(const char *name, const char *path)
{
    long fd = SC(SYS_open, path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        put(name, fd);
        return;
    }
    char out[1024] = "";
    size_t used = 0;
    /* A small buffer, so a listing takes several calls. */
    char buf[64] __attribute__((aligned(8)));
    for (;;) {
        long n = SC(SYS_getdents64, fd, buf, sizeof(buf));
        if (n < 0) {
            put(name, n);
            SC(SYS_close, fd);
            return;
        }
        if (n == 0)
            break;
        /* struct linux_dirent64: d_ino 8, d_off 8, d_reclen 2, d_type 1, the name. */
        for (long off = 0; off < n;) {
            const char *rec = buf + off;
            unsigned short reclen;
            memcpy(&reclen, rec + 16, sizeof(reclen));
            unsigned char type = (unsigned char)rec[18];
            char t = type == DT_DIR ? 'd' : type == DT_REG ? 'f' : type == DT_LNK ? 'l' : 'c';
            used += (size_t)snprintf(out + used, sizeof(out) - used, "%s%s/%c", used ? " " : "",
                                     rec + 19, t);
            off += reclen;
        }
    }
    SC(SYS_close, fd);
    put_str(name, out);
}

/* n bytes of fd at off, printed with NULs as '.'. */
static void put_pread(const char *name, long fd, size_t n, long off)
{
    char buf[64];
    long r = SC(SYS_pread64, fd, buf, n, off);
    if (r < 0) {
        put(name, r);
        return;
    }
    for (long i = 0; i < r; i++)
        if (!buf[i])
            buf[i] = '.';
    printf("%s: %ld \"%.*s\"\n", name, r, (int)r, buf);
}

static int mode_files(void)
{
    char buf[64];
    struct stat st;
    /* The rootfs the test ships, and what the host has but the deployment does not. */
    put("open /etc/passwd", SC(SYS_open, "/etc/passwd", O_RDONLY));
    put_file("read /etc/data", "/etc/data");
    put_stat("stat /etc/data", SYS_stat, "/etc/data");
    put_stat("stat /bin/tool", SYS_stat, "/bin/tool");
    put_stat("stat /etc", SYS_stat, "/etc");
    put("access /bin/tool X_OK", SC(SYS_access, "/bin/tool", X_OK));
    put("access /etc/data X_OK", SC(SYS_access, "/etc/data", X_OK));
    put("access /etc/data R_OK|W_OK", SC(SYS_access, "/etc/data", R_OK | W_OK));
    put_dir("getdents64 /", "/");
    put_dir("getdents64 /etc", "/etc");

    /* Symlinks from the archive: followed, or not, as Linux does. */
    put_stat("stat /etc/link", SYS_stat, "/etc/link");
    put_stat("lstat /etc/link", SYS_lstat, "/etc/link");
    char target[64];
    long n = SC(SYS_readlink, "/etc/link", target, sizeof(target));
    if (n >= 0)
        printf("readlink /etc/link: %ld \"%.*s\"\n", n, (int)n, target);
    else
        put("readlink /etc/link", n);
    put("readlink /etc/data", SC(SYS_readlink, "/etc/data", target, sizeof(target)));
    put_file("read /etc/link", "/etc/link");
    put_file("read /etc/abs", "/etc/abs");
    put_file("read /etc/dirlink/tool", "/etc/dirlink/tool");
    put("open /etc/loop", SC(SYS_open, "/etc/loop", O_RDONLY));
    put("open /etc/dangling", SC(SYS_open, "/etc/dangling", O_RDONLY));
    put("open /etc/link O_NOFOLLOW", SC(SYS_open, "/etc/link", O_RDONLY | O_NOFOLLOW));
    put("open /etc/data/ (trailing slash)", SC(SYS_open, "/etc/data/", O_RDONLY));
    put_stat("stat /etc/chain (chain -> link -> data)", SYS_stat, "/etc/chain");
    put_stat("stat /etc/dirlink/", SYS_stat, "/etc/dirlink/");
    put_stat("lstat /etc/dirlink/ (the slash follows it)", SYS_lstat, "/etc/dirlink/");
    put_stat("lstat /etc/dirlink", SYS_lstat, "/etc/dirlink");
    put("stat /etc/link/", SC(SYS_stat, "/etc/link/", &st));
    put("stat /etc/loop/x", SC(SYS_stat, "/etc/loop/x", &st));
    put("readlink /etc/dirlink/", SC(SYS_readlink, "/etc/dirlink/", target, sizeof(target)));
    put_stat("stat /etc/../etc/./data", SYS_stat, "/etc/../etc/./data");
    put_stat("stat /../../etc//data", SYS_stat, "/../../etc//data");
    put("stat /etc/data/..", SC(SYS_stat, "/etc/data/..", &st));
    put("unlink /etc/dirlink/", SC(SYS_unlink, "/etc/dirlink/"));
    put("chdir /etc/dirlink", SC(SYS_chdir, "/etc/dirlink"));
    n = SC(SYS_getcwd, buf, sizeof(buf));
    printf("getcwd: %ld \"%s\"\n", n, n > 0 ? buf : "");
    put_file("read ../etc/link (relative)", "../etc/link");
    put("chdir /", SC(SYS_chdir, "/"));
    put("open /etc/link O_CREAT|O_EXCL",
        SC(SYS_open, "/etc/link", O_CREAT | O_EXCL | O_WRONLY, 0644));
    put("mkdir /etc/dangling", SC(SYS_mkdir, "/etc/dangling", 0755));
    long fd = SC(SYS_open, "/etc/dangling", O_CREAT | O_WRONLY, 0600);
    put("open /etc/dangling O_CREAT (makes its target)", fd);
    put("write", SC(SYS_write, fd, "made", 4));
    put("close", SC(SYS_close, fd));
    put_stat("stat /etc/nowhere", SYS_stat, "/etc/nowhere");
    put("rename /etc/link /tmp/moved", SC(SYS_rename, "/etc/link", "/tmp/moved"));
    put_file("read /tmp/moved (data is relative to the link)", "/tmp/moved");
    put("rename it back", SC(SYS_rename, "/tmp/moved", "/etc/link"));
    put_file("read /etc/link", "/etc/link");
    put("unlink /etc/chain", SC(SYS_unlink, "/etc/chain"));
    put_stat("stat /etc/link after unlink of chain", SYS_stat, "/etc/link");
    put("symlink /tmp/s", SC(SYS_symlink, "/etc/data", "/tmp/s"));

    /* A new file: write, seek, read, positional I/O, truncation. */
    fd = SC(SYS_open, "/tmp/f", O_CREAT | O_EXCL | O_RDWR, 0666);
    put("open /tmp/f O_CREAT|O_EXCL", fd);
    put("open /tmp/f O_CREAT|O_EXCL again",
        SC(SYS_open, "/tmp/f", O_CREAT | O_EXCL | O_RDWR, 0666));
    put_stat("stat /tmp/f", SYS_stat, "/tmp/f");
    put("write hello world", SC(SYS_write, fd, "hello world", 11));
    put("lseek SEEK_CUR 0", SC(SYS_lseek, fd, 0, SEEK_CUR));
    put("lseek SEEK_SET 6", SC(SYS_lseek, fd, 6, SEEK_SET));
    n = SC(SYS_read, fd, buf, 5);
    printf("read 5: %ld \"%.*s\"\n", n, n > 0 ? (int)n : 0, buf);
    put("read at the end", SC(SYS_read, fd, buf, sizeof(buf)));
    put("pwrite W at 6", SC(SYS_pwrite64, fd, "W", 1, 6));
    put_pread("pread 64 at 0", fd, 64, 0);
    put("lseek SEEK_CUR after pread", SC(SYS_lseek, fd, 0, SEEK_CUR));
    put("lseek SEEK_END +4", SC(SYS_lseek, fd, 4, SEEK_END));
    put("write ! past the end", SC(SYS_write, fd, "!", 1));
    put_pread("pread 64 at 8", fd, 64, 8);
    put("lseek SEEK_SET -1", SC(SYS_lseek, fd, -1, SEEK_SET));
    put("pread at -1", SC(SYS_pread64, fd, buf, 1, -1));
    put("ftruncate 4", SC(SYS_ftruncate, fd, 4));
    put_pread("pread after ftruncate 4", fd, 64, 0);
    put("ftruncate 7", SC(SYS_ftruncate, fd, 7));
    put_pread("pread after ftruncate 7", fd, 64, 0);
    put("ftruncate -1", SC(SYS_ftruncate, fd, -1));
    put("fsync", SC(SYS_fsync, fd));

    /* Descriptors: dup2 shares the offset, fcntl's flags. */
    put("dup2 to 10", SC(SYS_dup2, fd, 10));
    put("lseek 10 SEEK_SET 2", SC(SYS_lseek, 10, 2, SEEK_SET));
    put("lseek fd SEEK_CUR (shared)", SC(SYS_lseek, fd, 0, SEEK_CUR));
    put("dup2 10 to itself", SC(SYS_dup2, 10, 10));
    put("fcntl 10 F_GETFD", SC(SYS_fcntl, 10, F_GETFD));
    put("fcntl 10 F_SETFD FD_CLOEXEC", SC(SYS_fcntl, 10, F_SETFD, FD_CLOEXEC));
    put("fcntl 10 F_GETFD again", SC(SYS_fcntl, 10, F_GETFD));
    put("fcntl 10 F_GETFL", SC(SYS_fcntl, 10, F_GETFL));
    put("fcntl 10 F_SETFL O_APPEND", SC(SYS_fcntl, 10, F_SETFL, O_APPEND));
    put("write + with O_APPEND", SC(SYS_write, fd, "+", 1));
    put_pread("pread after append", fd, 64, 0);
    put("fcntl 10 F_DUPFD 20", SC(SYS_fcntl, 10, F_DUPFD, 20));
    put("fcntl 10 F_DUPFD 20 again", SC(SYS_fcntl, 10, F_DUPFD, 20));
    put("fcntl 10 bad command", SC(SYS_fcntl, 10, 9999));
    put("close 21", SC(SYS_close, 21));
    put("close 20", SC(SYS_close, 20));
    put("close 10", SC(SYS_close, 10));
    put("close 10 again", SC(SYS_close, 10));
    put("read fd 99", SC(SYS_read, 99, buf, 1));
    put("dup2 99 to 5", SC(SYS_dup2, 99, 5));

    /* Names: rename, unlink, folders, the working folder. */
    put("rename /tmp/f /tmp/g", SC(SYS_rename, "/tmp/f", "/tmp/g"));
    put("stat /tmp/f after rename", SC(SYS_stat, "/tmp/f", &st));
    put_pread("pread /tmp/g through the old fd", fd, 64, 0);
    put("unlink /tmp/g", SC(SYS_unlink, "/tmp/g"));
    put_pread("pread after unlink", fd, 64, 0);
    put("close", SC(SYS_close, fd));
    put("unlink /tmp/g again", SC(SYS_unlink, "/tmp/g"));
    put("mkdir /tmp/d", SC(SYS_mkdir, "/tmp/d", 0777));
    put("mkdir /tmp/d again", SC(SYS_mkdir, "/tmp/d", 0777));
    put_stat("stat /tmp/d", SYS_stat, "/tmp/d");
    put("mkdir /nope/d", SC(SYS_mkdir, "/nope/d", 0777));
    put("creat /tmp/d/a", SC(SYS_close, SC(SYS_open, "/tmp/d/a", O_CREAT | O_WRONLY, 0600)));
    put("creat /tmp/d/b", SC(SYS_close, SC(SYS_open, "/tmp/d/b", O_CREAT | O_WRONLY, 0600)));
    put("rename /tmp/d/a /tmp/d/c", SC(SYS_rename, "/tmp/d/a", "/tmp/d/c"));
    put("rename /tmp/d/a again", SC(SYS_rename, "/tmp/d/a", "/tmp/d/c"));
    put("mkdir /tmp/d/e", SC(SYS_mkdir, "/tmp/d/e", 0700));
    put_dir("getdents64 /tmp/d", "/tmp/d");
    put("rename /tmp/d /tmp/d/e/x", SC(SYS_rename, "/tmp/d", "/tmp/d/e/x"));
    put("rmdir /tmp/d", SC(SYS_rmdir, "/tmp/d"));
    put("unlink /tmp/d/e", SC(SYS_unlink, "/tmp/d/e"));
    put("rmdir /tmp/d/b", SC(SYS_rmdir, "/tmp/d/b"));
    put("chdir /tmp/d", SC(SYS_chdir, "/tmp/d"));
    n = SC(SYS_getcwd, buf, sizeof(buf));
    printf("getcwd: %ld \"%s\"\n", n, n > 0 ? buf : "");
    put("getcwd into 3 bytes", SC(SYS_getcwd, buf, 3));
    put("unlink b (relative)", SC(SYS_unlink, "b"));
    put("unlink ./c", SC(SYS_unlink, "./c"));
    put("rmdir e", SC(SYS_rmdir, "e"));
    put_dir("getdents64 .", ".");
    put("chdir /", SC(SYS_chdir, "/"));
    put("rmdir /tmp/d", SC(SYS_rmdir, "/tmp/d"));
    put("stat /tmp/d after rmdir", SC(SYS_stat, "/tmp/d", &st));
    put("chdir /etc/data", SC(SYS_chdir, "/etc/data"));
    fd = SC(SYS_open, "/etc", O_RDONLY);
    put("read a folder", SC(SYS_read, fd, buf, 1));
    put("close the folder", SC(SYS_close, fd));
    put("open /etc O_WRONLY", SC(SYS_open, "/etc", O_WRONLY));
    put("unlink /etc", SC(SYS_unlink, "/etc"));
    fd = SC(SYS_open, "/etc/data", O_RDONLY);
    put("write to an O_RDONLY fd", SC(SYS_write, fd, "x", 1));
    put("ftruncate an O_RDONLY fd", SC(SYS_ftruncate, fd, 0));
    put("close", SC(SYS_close, fd));
    put("truncate /etc/data 5", SC(SYS_truncate, "/etc/data", 5));
    put_file("read /etc/data after truncate", "/etc/data");
    put("truncate /etc", SC(SYS_truncate, "/etc", 0));

    /* Limits and refused flags. */
    char longname[300] = "/tmp/";
    memset(longname + 5, 'n', 256);
    put("open a 256-byte name", SC(SYS_open, longname, O_CREAT | O_RDWR, 0644));
    longname[5 + 255] = 0;
    put("open a 255-byte name", fd = SC(SYS_open, longname, O_CREAT | O_RDWR, 0644));
    SC(SYS_close, fd);
    put("unlink it", SC(SYS_unlink, longname));
    put("open O_TMPFILE", SC(SYS_open, "/tmp", O_TMPFILE | O_RDWR, 0600));
    put("open O_PATH", SC(SYS_open, "/etc/data", O_PATH));
    put("open access mode 3", SC(SYS_open, "/etc/data", 3));
    put("open empty path", SC(SYS_open, "", O_RDONLY));
    fd = SC(SYS_open, "/etc/data", O_RDONLY);
    put("openat a file as the folder", SC(SYS_openat, fd, "x", O_RDONLY));
    put("newfstatat AT_EMPTY_PATH", SC(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH));
    put("  size", (long)st.st_size);
    put("newfstatat flags 1", SC(SYS_newfstatat, fd, "", &st, 1));
    int used = 0;
    long last;
    while ((last = SC(SYS_dup, fd)) >= 0)
        used++;
    printf("dup until it fails: %d more, then -%s\n", used, errname(-last));
    for (int i = 0; i < used; i++)
        SC(SYS_close, fd + 1 + i);
    put("open after closing them", last = SC(SYS_open, "/etc/data", O_RDONLY));
    SC(SYS_close, last);
    struct iovec one = {buf, 1};
    put("readv 1025 iovecs", SC(SYS_readv, fd, &one, 1025));
    put("readv -1 iovecs", SC(SYS_readv, fd, &one, -1));
    put("readv 0 iovecs", SC(SYS_readv, fd, &one, 0));
    SC(SYS_close, fd);
    fd = SC(SYS_open, "/tmp/big", O_CREAT | O_RDWR, 0644);
    put("ftruncate 64 MiB + 1", SC(SYS_ftruncate, fd, (64L << 20) + 1));
    put("pwrite at 64 MiB", SC(SYS_pwrite64, fd, "xy", 2, 64L << 20));
    put("pwrite 2 bytes at 64 MiB - 1", SC(SYS_pwrite64, fd, "xy", 2, (64L << 20) - 1));
    SC(SYS_fstat, fd, &st);
    put("  size", (long)st.st_size);
    long fd2 = SC(SYS_open, "/tmp/big2", O_CREAT | O_RDWR, 0644);
    put("ftruncate a second file to 64 MiB (the heap is 128 MiB)",
        SC(SYS_ftruncate, fd2, 64L << 20));
    put("ftruncate the first to 0", SC(SYS_ftruncate, fd, 0));
    put("ftruncate the second to 64 MiB now", SC(SYS_ftruncate, fd2, 64L << 20));
    SC(SYS_close, fd);
    SC(SYS_close, fd2);
    SC(SYS_unlink, "/tmp/big");
    SC(SYS_unlink, "/tmp/big2");

    /* libc's view: stdio, stat and readdir over the same files. */
    FILE *f = fopen("/etc/big", "r");
    put("fopen /etc/big (musl)", f != NULL);
    int count = 0, ch;
    while (f && (ch = getc(f)) != EOF)
        count += ch == 'c';
    put("  'c' bytes read", count);
    if (f)
        fclose(f);
    put("stat() /etc/link (musl)", stat("/etc/link", &st) == 0 ? (long)st.st_size : -errno);
    DIR *dir = opendir("/etc");
    count = 0;
    while (dir && readdir(dir))
        count++;
    put("readdir /etc entries (musl)", count);
    if (dir)
        closedir(dir);

    /* Devices and the consoles. */
    fd = SC(SYS_open, "/dev/null", O_RDWR);
    put("write /dev/null", SC(SYS_write, fd, "12345", 5));
    put("read /dev/null", SC(SYS_read, fd, buf, sizeof(buf)));
    SC(SYS_close, fd);
    fd = SC(SYS_open, "/dev/zero", O_RDONLY);
    memset(buf, 'x', sizeof(buf));
    put("read /dev/zero", SC(SYS_read, fd, buf, 16));
    int zeros = 0;
    for (int i = 0; i < 16; i++)
        zeros += buf[i] == 0;
    put("  zero bytes", zeros);
    SC(SYS_close, fd);
    fd = SC(SYS_open, "/dev/urandom", O_RDONLY);
    memset(buf, 0, sizeof(buf));
    put("read /dev/urandom", SC(SYS_read, fd, buf, 32));
    zeros = 0;
    for (int i = 0; i < 32; i++)
        zeros += buf[i] == 0;
    put("  not all zero", zeros < 32);
    SC(SYS_close, fd);
    put_stat("stat /dev/null", SYS_stat, "/dev/null");
    SC(SYS_stat, "/dev/zero", &st);
    printf("stat /dev/zero: rdev %u:%u\n", (unsigned)(st.st_rdev >> 8),
           (unsigned)(st.st_rdev & 0xff));
    put("read stdin", SC(SYS_read, 0, buf, sizeof(buf)));
    fd = SC(SYS_open, "/dev/stdin", O_RDONLY);
    put("read /dev/stdin", SC(SYS_read, fd, buf, sizeof(buf)));
    SC(SYS_close, fd);
    fd = SC(SYS_open, "/dev/zero", O_RDONLY);
    put("lseek /dev/zero", SC(SYS_lseek, fd, 100, SEEK_SET));
    SC(SYS_close, fd);
    put("ioctl 1 TCGETS", SC(SYS_ioctl, 1, 0x5401, buf));
    put("ioctl 99 TCGETS", SC(SYS_ioctl, 99, 0x5401, buf));
    put("lseek stdout", SC(SYS_lseek, 1, 0, SEEK_SET));
    fflush(stdout);
    fd = SC(SYS_open, "/dev/stdout", O_WRONLY);
    put("write /dev/stdout", SC(SYS_write, fd, "through /dev/stdout\n", 20));
    SC(SYS_close, fd);
    put("write stderr", SC(SYS_write, 2, "to stderr\n", 10));
    struct iovec iov[2] = {{"write", 5}, {"v\n", 2}};
    put("writev stdout", SC(SYS_writev, 1, iov, 2));
    return 0;
}

/* ---- memory ---------------------------------------------------------------------------------- */

static long do_mmap(long len, long prot, long flags, long fd, long off)
{
    return SC(SYS_mmap, 0, len, prot, flags, fd, off);
}

/* The bytes of a map at the offsets given, '0' for a zero byte. */
static void put_bytes(const char *name, const char *p, const long *offs, int n)
{
    printf("%s:", name);
    for (int i = 0; i < n; i++)
        printf(" %c", p[offs[i]] ? p[offs[i]] : '0');
    printf("\n");
}

static int all_zero(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* mov eax, 42; ret */
static const unsigned char code42[] = {0xb8, 42, 0, 0, 0, 0xc3};

static int call_code(void *p)
{
    int (*fn)(void);
    memcpy(&fn, &p, sizeof(fn));
    return fn();
}

static int mode_memory(void)
{
    /* malloc: 10 MiB, every byte touched. */
    size_t big = 10u << 20;
    unsigned char *m = malloc(big);
    put("malloc 10 MiB", m != NULL);
    if (m) {
        memset(m, 1, big);
        unsigned long sum = 0;
        for (size_t i = 0; i < big; i++)
            sum += m[i];
        put("  sum of its bytes", (long)sum);
        free(m);
    }

    /* Anonymous maps. */
    long a = do_mmap(3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    put_addr("mmap anonymous 3 pages", a);
    put("  reads zero", all_zero((char *)a, 3 * PAGE));
    memset((char *)a, 7, 3 * PAGE);
    put("munmap", SC(SYS_munmap, a, 3 * PAGE));
    put("munmap again", SC(SYS_munmap, a, 3 * PAGE));
    put("munmap unaligned", SC(SYS_munmap, a + 1, PAGE));
    put("munmap length 0", SC(SYS_munmap, a, 0));
    a = do_mmap(3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    put_addr("mmap anonymous 3 pages again", a);
    put("  reads zero (reused pages are cleared)", all_zero((char *)a, 3 * PAGE));
    put("munmap", SC(SYS_munmap, a, 3 * PAGE));
    put("mmap length 0", do_mmap(0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    put("mmap without a type", do_mmap(PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0));
    put("mmap unknown prot", do_mmap(PAGE, 0x40, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    put("mmap unaligned offset", do_mmap(PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 100));
    put("mmap 1 TiB", do_mmap(1L << 40, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    put("mmap MAP_FIXED in the program's window",
        SC(SYS_mmap, APP_BASE + 0x8000000, PAGE, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    /* The middle of the shared heap: neither brk (its bottom) nor mmap (its top) is there. */
    long fixed = HEAP_BASE + HEAP_SIZE / 2;
    a = SC(SYS_mmap, fixed, 2 * PAGE, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    put("mmap MAP_FIXED_NOREPLACE mid-heap is there", a == fixed);
    put("mmap MAP_FIXED_NOREPLACE again",
        SC(SYS_mmap, fixed + PAGE, PAGE, PROT_READ,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
    ((char *)fixed)[PAGE] = 'x';
    a = SC(SYS_mmap, fixed + PAGE, PAGE, PROT_READ | PROT_WRITE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    put("mmap MAP_FIXED over it is there", a == fixed + (long)PAGE);
    put("  reads zero", all_zero((char *)fixed + PAGE, PAGE));
    put("mmap MAP_FIXED unaligned",
        SC(SYS_mmap, fixed + 1, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    put("mmap MAP_FIXED on the LibOS's bookkeeping (the heap's last page)",
        SC(SYS_mmap, HEAP_BASE + HEAP_SIZE - PAGE, PAGE, PROT_READ,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    put("mmap MAP_FIXED past the heap", SC(SYS_mmap, HEAP_BASE + HEAP_SIZE, PAGE, PROT_READ,
                                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    put("munmap mid-heap", SC(SYS_munmap, fixed, 2 * PAGE));

    /* madvise(MADV_DONTNEED) gives zeros back. */
    a = do_mmap(PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset((char *)a, 'y', PAGE);
    put("madvise MADV_DONTNEED", SC(SYS_madvise, a, PAGE, MADV_DONTNEED));
    put("  reads zero", all_zero((char *)a, PAGE));
    put("madvise unaligned", SC(SYS_madvise, a + 1, PAGE, MADV_DONTNEED));
    put("mremap", SC(SYS_mremap, a, PAGE, 2 * PAGE, MREMAP_MAYMOVE));
    put("munmap", SC(SYS_munmap, a, PAGE));

    /* File maps: copies of whole pages of the file, zeros past its end. /etc/big is 5000
     * bytes: 1000 'a', 1000 'b', ... 1000 'e'. */
    long fd = SC(SYS_open, "/etc/big", O_RDWR);
    static const long offs0[] = {0, 999, 1000, 4095, 4096, 4999, 5000, 8191};
    a = do_mmap(2 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
    put_addr("mmap /etc/big 2 pages", a);
    if (!is_err(a))
        put_bytes("  bytes 0 999 1000 4095 4096 4999 5000 8191", (char *)a, offs0, 8);
    static const long offs1[] = {0, 903, 904, 4095};
    long b = do_mmap(PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, PAGE);
    put_addr("mmap /etc/big at offset 4096", b);
    if (!is_err(b)) {
        put_bytes("  bytes 0 903 904 4095", (char *)b, offs1, 4);
        ((char *)b)[0] = 'Z';
    }
    char c = 0;
    SC(SYS_pread64, fd, &c, 1, PAGE);
    printf("  a write to the private map leaves the file: %c\n", c);
    long s = do_mmap(PAGE, PROT_READ, MAP_SHARED, fd, 0);
    put_addr("mmap /etc/big MAP_SHARED PROT_READ", s);
    put("pwrite Q to /etc/big at 0", SC(SYS_pwrite64, fd, "Q", 1, 0));
    if (!is_err(s))
        printf("  the shared map is a copy made at mmap: %c\n", *(char *)s);
    put("mmap /etc/big MAP_SHARED PROT_WRITE",
        do_mmap(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    put("mmap /etc/big MAP_SHARED_VALIDATE PROT_WRITE",
        do_mmap(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE, fd, 0));
    long e = do_mmap(PAGE, PROT_READ, MAP_PRIVATE, fd, 3 * PAGE);
    put_addr("mmap /etc/big past its end", e);
    if (!is_err(e))
        put("  reads zero", all_zero((char *)e, PAGE));
    put("mmap /etc/big offset wrapping", do_mmap(2 * PAGE, PROT_READ, MAP_PRIVATE, fd, -PAGE));
    SC(SYS_munmap, a, 2 * PAGE);
    SC(SYS_munmap, b, PAGE);
    SC(SYS_munmap, s, PAGE);
    SC(SYS_munmap, e, PAGE);
    SC(SYS_close, fd);
    put("mmap a closed fd", do_mmap(PAGE, PROT_READ, MAP_PRIVATE, fd, 0));
    fd = SC(SYS_open, "/etc/big", O_WRONLY);
    put("mmap an O_WRONLY fd", do_mmap(PAGE, PROT_READ, MAP_PRIVATE, fd, 0));
    SC(SYS_close, fd);
    fd = SC(SYS_open, "/dev/null", O_RDONLY);
    put("mmap /dev/null", do_mmap(PAGE, PROT_READ, MAP_PRIVATE, fd, 0));
    SC(SYS_close, fd);
    fd = SC(SYS_open, "/etc", O_RDONLY);
    put("mmap a folder", do_mmap(PAGE, PROT_READ, MAP_PRIVATE, fd, 0));
    SC(SYS_close, fd);
    fd = SC(SYS_open, "/dev/zero", O_RDONLY);
    a = do_mmap(PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    put_addr("mmap /dev/zero", a);
    if (!is_err(a))
        put("  reads zero", all_zero((char *)a, PAGE));
    SC(SYS_munmap, a, PAGE);
    SC(SYS_close, fd);

    /* Code in the heap: it runs once mprotect (or mmap) asks for PROT_EXEC. */
    a = do_mmap(PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memcpy((void *)a, code42, sizeof(code42));
    put("mprotect PROT_READ|PROT_EXEC", SC(SYS_mprotect, a, PAGE, PROT_READ | PROT_EXEC));
    put("  the code returns", call_code((void *)a));
    put("mprotect PROT_READ|PROT_WRITE", SC(SYS_mprotect, a, PAGE, PROT_READ | PROT_WRITE));
    put("munmap", SC(SYS_munmap, a, PAGE));
    a = do_mmap(PAGE, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    put_addr("mmap PROT_EXEC", a);
    memcpy((void *)a, code42, sizeof(code42));
    put("  the code returns", call_code((void *)a));
    put("munmap", SC(SYS_munmap, a, PAGE));
    put("mprotect unaligned", SC(SYS_mprotect, a + 1, PAGE, PROT_READ));
    put("mprotect an unmapped heap page", SC(SYS_mprotect, a, PAGE, PROT_READ));
    put("mprotect length 0", SC(SYS_mprotect, a, 0, PROT_READ));
    put("mprotect in the program's window", SC(SYS_mprotect, APP_BASE, PAGE, PROT_READ));
    put("mprotect the LibOS's window", SC(SYS_mprotect, LIBOS_BASE, PAGE, PROT_READ));
    put("mprotect unknown prot", SC(SYS_mprotect, APP_BASE, PAGE, 0x40));

    /* Exhaustion is an error, never a wait. */
    put("malloc 1 GiB (musl)", malloc(1u << 30) == NULL ? -errno : 0);
    put("mmap 128 MiB (the whole heap)",
        do_mmap(HEAP_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));

    /* The LibOS's own pages (its page bitmaps at the heap's end) are not the program's: munmap
     * and madvise leave them alone, mprotect refuses them, and the LibOS goes on working. */
    long meta = HEAP_BASE + HEAP_SIZE - HEAP_META;
    put("munmap the LibOS's pages", SC(SYS_munmap, meta, HEAP_META));
    put("madvise MADV_DONTNEED the LibOS's pages", SC(SYS_madvise, meta, HEAP_META, MADV_DONTNEED));
    put("mprotect PROT_EXEC the LibOS's pages",
        SC(SYS_mprotect, meta, HEAP_META, PROT_READ | PROT_EXEC));
    a = do_mmap(4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    put_addr("mmap afterwards", a);
    put("munmap afterwards", SC(SYS_munmap, a, 4 * PAGE));
    put_file("read /etc/data afterwards", "/etc/data");

    /* brk: grows from the heap's bottom; a break it cannot set leaves it where it was. */
    long b0 = SC(SYS_brk, 0);
    put("brk(0) in the heap", b0 >= (long)HEAP_BASE && b0 < (long)(HEAP_BASE + HEAP_SIZE));
    put("brk +100000 (relative)", SC(SYS_brk, b0 + 100000) - b0);
    ((char *)b0)[99999] = 1;
    put("  last byte written", ((char *)b0)[99999]);
    put("brk far beyond the heap (relative)", SC(SYS_brk, HEAP_BASE + (1L << 30)) - b0);
    put("brk below the heap (relative)", SC(SYS_brk, APP_BASE) - b0);
    put("brk onto the LibOS's pages (relative)", SC(SYS_brk, HEAP_BASE + HEAP_SIZE) - b0);
    put("brk back (relative)", SC(SYS_brk, b0) - b0);
    put("brk +100000 again: zeros", SC(SYS_brk, b0 + 100000) - b0);
    put("  last byte", ((char *)b0)[99999]);
    put("brk back again (relative)", SC(SYS_brk, b0) - b0);
    /* A page mapped right above the break stops it. */
    long above = (b0 + 2 * (long)PAGE) & ~(long)(PAGE - 1);
    a = SC(SYS_mmap, above, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
           -1, 0);
    put("mmap MAP_FIXED two pages above the break is there", a == above);
    put("brk across it (relative)", SC(SYS_brk, above + PAGE) - b0);
    put("brk up to it", SC(SYS_brk, above) == above);
    put("brk back (relative)", SC(SYS_brk, b0) - b0);
    put("munmap it", SC(SYS_munmap, above, PAGE));
    return 0;
}

/* ---- time ------------------------------------------------------------------------------------ */

static long ms_between(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

static int mode_time(void)
{
    struct timespec t0, t1, prev;
    put("clock_gettime CLOCK_MONOTONIC", SC(SYS_clock_gettime, CLOCK_MONOTONIC, &t0));
    prev = t0;
    int ok = 1;
    for (int i = 0; i < 1000; i++) {
        struct timespec now;
        SC(SYS_clock_gettime, CLOCK_MONOTONIC, &now);
        if (now.tv_sec < prev.tv_sec || (now.tv_sec == prev.tv_sec && now.tv_nsec < prev.tv_nsec))
            ok = 0;
        prev = now;
    }
    put("  non-decreasing over 1000 calls", ok);
    put("clock_gettime CLOCK_REALTIME", SC(SYS_clock_gettime, CLOCK_REALTIME, &t1));
    put("  after 2020", t1.tv_sec > 1577836800);
    put("clock_gettime CLOCK_BOOTTIME", SC(SYS_clock_gettime, CLOCK_BOOTTIME, &t1));
    put("clock_gettime clock 99", SC(SYS_clock_gettime, 99, &t1));
    put("clock_gettime clock -1", SC(SYS_clock_gettime, -1, &t1));
    struct {
        long sec, usec;
    } tv;
    put("gettimeofday", SC(SYS_gettimeofday, &tv, 0));
    put("  after 2020", tv.sec > 1577836800 && tv.usec >= 0 && tv.usec < 1000000);
    put("gettimeofday NULL", SC(SYS_gettimeofday, 0, 0));

    struct timespec req = {0, 30000000}, rem = {77, 77};
    SC(SYS_clock_gettime, CLOCK_MONOTONIC, &t0);
    put("nanosleep 30 ms", SC(SYS_nanosleep, &req, &rem));
    SC(SYS_clock_gettime, CLOCK_MONOTONIC, &t1);
    put("  slept >= 30 ms", ms_between(&t0, &t1) >= 30);
    put("  rem untouched", rem.tv_sec == 77 && rem.tv_nsec == 77);
    req = (struct timespec){0, 1000000000};
    put("nanosleep tv_nsec 1e9", SC(SYS_nanosleep, &req, 0));
    req = (struct timespec){-1, 0};
    put("nanosleep -1 s", SC(SYS_nanosleep, &req, 0));
    req = (struct timespec){0, 0};
    put("nanosleep 0", SC(SYS_nanosleep, &req, 0));

    /* An absolute deadline a minute in the past: no sleep at all. */
    SC(SYS_clock_gettime, CLOCK_MONOTONIC, &t0);
    struct timespec past = {t0.tv_sec - 60, t0.tv_nsec};
    put("clock_nanosleep TIMER_ABSTIME in the past",
        SC(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &past, 0));
    SC(SYS_clock_gettime, CLOCK_MONOTONIC, &t1);
    put("  returned within 5 s", ms_between(&t0, &t1) < 5000);
    struct timespec soon = {t1.tv_sec, t1.tv_nsec + 30000000};
    if (soon.tv_nsec >= 1000000000) {
        soon.tv_sec++;
        soon.tv_nsec -= 1000000000;
    }
    put("clock_nanosleep TIMER_ABSTIME in 30 ms",
        SC(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &soon, 0));
    SC(SYS_clock_gettime, CLOCK_MONOTONIC, &t0);
    put("  woke at or after the deadline",
        t0.tv_sec > soon.tv_sec || (t0.tv_sec == soon.tv_sec && t0.tv_nsec >= soon.tv_nsec));
    req = (struct timespec){0, 1000000};
    put("clock_nanosleep CLOCK_REALTIME relative 1 ms",
        SC(SYS_clock_nanosleep, CLOCK_REALTIME, 0, &req, 0));
    put("clock_nanosleep CLOCK_PROCESS_CPUTIME_ID",
        SC(SYS_clock_nanosleep, CLOCK_PROCESS_CPUTIME_ID, 0, &req, 0));
    put("clock_nanosleep clock 99", SC(SYS_clock_nanosleep, 99, 0, &req, 0));
    put("clock_nanosleep flags 2", SC(SYS_clock_nanosleep, CLOCK_MONOTONIC, 2, &req, 0));
    req = (struct timespec){0, -1};
    put("clock_nanosleep tv_nsec -1", SC(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, 0));

    /* libc's view of the same calls. */
    put("clock_gettime() (musl) bad clock", clock_gettime(99, &t0) == -1 ? -errno : 0);
    put("usleep(1000) (musl)", usleep(1000));
    return 0;
}

/* ---- futexes --------------------------------------------------------------------------------- */

static unsigned fword;

/* Sets fword after 50 ms and wakes its waiter. */
static void *futex_waker(void *arg)
{
    (void)arg;
    struct timespec t = {0, 50000000};
    SC(SYS_nanosleep, &t, 0);
    __atomic_store_n(&fword, 1, __ATOMIC_SEQ_CST);
    SC(SYS_futex, &fword, FUTEX_WAKE_PRIVATE, 1);
    return NULL;
}

static int mode_futex(void)
{
    struct timespec to = {0, 20000000}, bad = {0, 1000000000}, neg = {-1, 0}, now, t0, t1;
    SC(SYS_clock_gettime, CLOCK_MONOTONIC, &t0);
    put("FUTEX_WAIT 20 ms timeout", SC(SYS_futex, &fword, FUTEX_WAIT_PRIVATE, 0, &to));
    SC(SYS_clock_gettime, CLOCK_MONOTONIC, &t1);
    put("  waited >= 20 ms", ms_between(&t0, &t1) >= 20);
    put("FUTEX_WAIT value differs", SC(SYS_futex, &fword, FUTEX_WAIT_PRIVATE, 5, &to));
    put("FUTEX_WAIT (shared) value differs", SC(SYS_futex, &fword, FUTEX_WAIT, 5, &to));
    put("FUTEX_WAIT tv_nsec 1e9", SC(SYS_futex, &fword, FUTEX_WAIT_PRIVATE, 0, &bad));
    put("FUTEX_WAIT -1 s", SC(SYS_futex, &fword, FUTEX_WAIT_PRIVATE, 0, &neg));
    put("FUTEX_WAIT unaligned", SC(SYS_futex, (char *)&fword + 1, FUTEX_WAIT_PRIVATE, 0, &to));
    put("FUTEX_WAKE nobody", SC(SYS_futex, &fword, FUTEX_WAKE_PRIVATE, 1));
    put("FUTEX_WAKE unaligned", SC(SYS_futex, (char *)&fword + 2, FUTEX_WAKE_PRIVATE, 1));
    put("FUTEX_REQUEUE nobody", SC(SYS_futex, &fword, FUTEX_REQUEUE | FUTEX_PRIVATE, 1, 1, &to));
    put("FUTEX_CMP_REQUEUE val3 differs",
        SC(SYS_futex, &fword, FUTEX_CMP_REQUEUE | FUTEX_PRIVATE, 1, 1, &to, 7));
    put("FUTEX_CMP_REQUEUE val3 equal",
        SC(SYS_futex, &fword, FUTEX_CMP_REQUEUE | FUTEX_PRIVATE, 1, 1, &to, 0));
    put("FUTEX_WAIT_BITSET bitset 0",
        SC(SYS_futex, &fword, FUTEX_WAIT_BITSET | FUTEX_PRIVATE, 0, 0, 0, 0));
    put("FUTEX_WAKE_BITSET bitset 0",
        SC(SYS_futex, &fword, FUTEX_WAKE_BITSET | FUTEX_PRIVATE, 1, 0, 0, 0));
    put("FUTEX_WAKE_BITSET all ones",
        SC(SYS_futex, &fword, FUTEX_WAKE_BITSET | FUTEX_PRIVATE, 1, 0, 0, -1));
    SC(SYS_clock_gettime, CLOCK_MONOTONIC, &now);
    put("FUTEX_WAIT_BITSET deadline passed",
        SC(SYS_futex, &fword, FUTEX_WAIT_BITSET | FUTEX_PRIVATE, 0, &now, 0, -1));
    SC(SYS_clock_gettime, CLOCK_REALTIME, &now);
    now.tv_nsec += 20000000;
    if (now.tv_nsec >= 1000000000) {
        now.tv_sec++;
        now.tv_nsec -= 1000000000;
    }
    put("FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME 20 ms ahead",
        SC(SYS_futex, &fword, FUTEX_WAIT_BITSET | FUTEX_PRIVATE | FUTEX_CLOCK_REALTIME, 0, &now, 0,
           -1));
    SC(SYS_clock_gettime, CLOCK_REALTIME, &t1);
    put("  woke at or after the deadline",
        t1.tv_sec > now.tv_sec || (t1.tv_sec == now.tv_sec && t1.tv_nsec >= now.tv_nsec));
    put("FUTEX_WAKE|FUTEX_CLOCK_REALTIME",
        SC(SYS_futex, &fword, FUTEX_WAKE_PRIVATE | FUTEX_CLOCK_REALTIME, 1));
    put("futex command 99", SC(SYS_futex, &fword, 99, 0));
    put("futex command 5 (FUTEX_WAKE_OP)", SC(SYS_futex, &fword, 5 | FUTEX_PRIVATE, 1, 1, &to, 0));

    /* A wait without a timeout, ended by another thread's wake. */
    pthread_t t;
    pthread_create(&t, NULL, futex_waker, NULL);
    long r = 0;
    while (!__atomic_load_n(&fword, __ATOMIC_SEQ_CST)) {
        r = SC(SYS_futex, &fword, FUTEX_WAIT_PRIVATE, 0, 0);
        if (r != 0 && r != -EAGAIN)
            break;
    }
    pthread_join(t, NULL);
    put("FUTEX_WAIT woken by another thread", r);
    put("  the word", fword);
    return 0;
}

/* ---- identity, uname, randomness, signals ---------------------------------------------------- */

static int mode_misc(void)
{
    put("getpid", SC(SYS_getpid));
    put("getppid", SC(SYS_getppid));
    put("getuid", SC(SYS_getuid));
    put("geteuid", SC(SYS_geteuid));
    put("getgid", SC(SYS_getgid));
    put("getegid", SC(SYS_getegid));
    put("gettid", SC(SYS_gettid));
    put("sched_yield", SC(SYS_sched_yield));
    struct utsname u;
    memset(&u, 'x', sizeof(u));
    put("uname", SC(SYS_uname, &u));
    printf("  %s|%s|%s|%s|%s|%s\n", u.sysname, u.nodename, u.release, u.version, u.machine,
           u.domainname);

    unsigned char r1[64] = {0}, r2[64] = {0};
    put("getrandom 64", SC(SYS_getrandom, r1, sizeof(r1), 0));
    put("getrandom 64 GRND_NONBLOCK|GRND_RANDOM|GRND_INSECURE",
        SC(SYS_getrandom, r2, sizeof(r2), GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE));
    put("  two draws differ", memcmp(r1, r2, sizeof(r1)) != 0);
    put("getrandom flags 8", SC(SYS_getrandom, r1, sizeof(r1), 8));
    put("getrandom 0 bytes", SC(SYS_getrandom, r1, 0, 0));
    put("getrandom 0 bytes at 16", SC(SYS_getrandom, 16, 0, 0));
    size_t big = 3u << 20;
    unsigned char *m = malloc(big);
    put("getrandom 3 MiB (one call)", SC(SYS_getrandom, m, big, 0));
    free(m);
    put("getentropy (musl)", getentropy(r1, 32));

    /* Signals: accepted, never delivered; old values read back as the defaults. */
    struct ksigaction {
        void *handler;
        unsigned long flags;
        void *restorer;
        unsigned long mask;
    } act = {(void *)1, 0, 0, 0}, old;
    memset(&old, 0x55, sizeof(old));
    put("rt_sigaction SIGPIPE SIG_IGN", SC(SYS_rt_sigaction, SIGPIPE, &act, &old, 8));
    put("  old action is zero", !old.handler && !old.flags && !old.restorer && !old.mask);
    memset(&old, 0x55, sizeof(old));
    put("rt_sigaction SIGPIPE query", SC(SYS_rt_sigaction, SIGPIPE, 0, &old, 8));
    put("  still reads as the default", old.handler == 0);
    put("rt_sigaction SIGKILL", SC(SYS_rt_sigaction, SIGKILL, &act, 0, 8));
    put("rt_sigaction SIGSTOP", SC(SYS_rt_sigaction, SIGSTOP, &act, 0, 8));
    put("rt_sigaction SIGKILL query", SC(SYS_rt_sigaction, SIGKILL, 0, &old, 8));
    put("rt_sigaction signal 0", SC(SYS_rt_sigaction, 0, &act, 0, 8));
    put("rt_sigaction signal 65", SC(SYS_rt_sigaction, 65, &act, 0, 8));
    put("rt_sigaction sigsetsize 4", SC(SYS_rt_sigaction, SIGPIPE, &act, 0, 4));
    unsigned long set = ~0UL, oldset = 77;
    put("rt_sigprocmask SIG_BLOCK all", SC(SYS_rt_sigprocmask, SIG_BLOCK, &set, &oldset, 8));
    put("  old mask", (long)oldset);
    put("rt_sigprocmask how 3", SC(SYS_rt_sigprocmask, 3, &set, 0, 8));
    put("rt_sigprocmask how 3 without a set", SC(SYS_rt_sigprocmask, 3, 0, 0, 8));
    put("rt_sigprocmask sigsetsize 16", SC(SYS_rt_sigprocmask, SIG_BLOCK, &set, 0, 16));
    stack_t ss;
    memset(&ss, 0x55, sizeof(ss));
    put("sigaltstack query", SC(SYS_sigaltstack, 0, &ss));
    printf("  sp %ld flags %d size %ld\n", (long)ss.ss_sp, ss.ss_flags, (long)ss.ss_size);
    put("signal() (musl)", signal(SIGINT, SIG_IGN) == SIG_DFL);
    put("raise(SIGUSR1) (musl, kill is not implemented)", raise(SIGUSR1) == 0 ? 0 : -errno);

    /* Thread pointer and robust lists. */
    put("arch_prctl ARCH_GET_FS", SC(SYS_arch_prctl, ARCH_GET_FS, &old));
    put("arch_prctl code 0", SC(SYS_arch_prctl, 0, 0));
    put("set_robust_list length 24", SC(SYS_set_robust_list, &old, 24));
    put("set_robust_list length 16", SC(SYS_set_robust_list, &old, 16));
    put("mremap", SC(SYS_mremap, 0, PAGE, 2 * PAGE, MREMAP_MAYMOVE));
    return 0;
}

/* ---- threads --------------------------------------------------------------------------------- */

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t ready, go;
    int waiting, released, woken;
};

static struct pool pool = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};

/* Announces itself, then waits in pthread_cond_wait until main releases everyone. */
static void *waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&pool.lock);
    pool.waiting++;
    pthread_cond_signal(&pool.ready);
    while (!pool.released)
        pthread_cond_wait(&pool.go, &pool.lock);
    pool.woken++;
    pthread_mutex_unlock(&pool.lock);
    return (void *)1;
}

/* A thread that sleeps far longer than any test runs. */
static void *sleeper(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&pool.lock);
    pool.waiting++;
    pthread_cond_signal(&pool.ready);
    pthread_mutex_unlock(&pool.lock);
    struct timespec t = {100000, 0};
    SC(SYS_nanosleep, &t, 0);
    return NULL;
}

/* Starts n waiters and sleepers, and returns once every one of them has announced itself
 * (each waiter is then inside pthread_cond_wait, each sleeper about to sleep). */
static int start_blocked(pthread_t *t, int waiters, int sleepers)
{
    int made = 0;
    for (int i = 0; i < waiters + sleepers; i++)
        if (pthread_create(&t[i], NULL, i < waiters ? waiter : sleeper, NULL) == 0)
            made++;
    pthread_mutex_lock(&pool.lock);
    while (pool.waiting < made)
        pthread_cond_wait(&pool.ready, &pool.lock);
    pthread_mutex_unlock(&pool.lock);
    /* Give them time to reach their futex waits and sleeps; nothing depends on it. */
    struct timespec t100 = {0, 100000000};
    SC(SYS_nanosleep, &t100, 0);
    return made;
}

static int mode_threads(int n)
{
    pthread_t *t = calloc((size_t)n, sizeof(*t));
    int made = start_blocked(t, n, 0);
    put("threads created", made);
    pthread_mutex_lock(&pool.lock);
    put("threads waiting in pthread_cond_wait", pool.waiting);
    pthread_mutex_unlock(&pool.lock);

    /* Syscalls that need the LibOS's stack slots, while every thread blocks. */
    long fd = SC(SYS_open, "/tmp/threads", O_CREAT | O_RDWR, 0644);
    put("open while they wait", fd);
    put("write while they wait", SC(SYS_write, fd, "still served", 12));
    char buf[16] = "";
    put("pread while they wait", SC(SYS_pread64, fd, buf, sizeof(buf) - 1, 0));
    put_str("  read back", buf);
    put("close while they wait", SC(SYS_close, fd));

    pthread_mutex_lock(&pool.lock);
    pool.released = 1;
    pthread_cond_broadcast(&pool.go);
    pthread_mutex_unlock(&pool.lock);
    int joined = 0, ones = 0;
    for (int i = 0; i < made; i++) {
        void *v = NULL;
        if (pthread_join(t[i], &v) == 0)
            joined++;
        ones += v == (void *)1;
    }
    put("threads woken", pool.woken);
    put("threads joined", joined);
    put("threads returned 1", ones);
    free(t);
    return 0;
}

/* Threads blocked in futex waits and sleeps; main then blocks for good, or exits. */
static int mode_block(bool exit_after)
{
    pthread_t t[6];
    int made = start_blocked(t, 4, 2);
    put("blocked threads", made);
    fflush(stdout);
    if (exit_after)
        exit(5);
    pthread_join(t[0], NULL);
    put("joined a thread that never ends", 1);
    return 1;
}

static void *exiter(void *arg)
{
    (void)arg;
    struct timespec t = {0, 50000000};
    SC(SYS_nanosleep, &t, 0);
    _exit(6);
}

/* A thread ends the process while main waits in pthread_join and others in futex waits. */
static int mode_exit_thread(void)
{
    pthread_t t[4], x;
    int made = start_blocked(t, 2, 2);
    put("blocked threads", made);
    fflush(stdout);
    pthread_create(&x, NULL, exiter, NULL);
    pthread_join(x, NULL);
    put("joined a thread that called _exit", 1);
    return 1;
}

/* ---- many threads in the LibOS at once ------------------------------------------------------- */

/* More threads than the LibOS's 16 stack slots: a syscall that finds them all lent waits. */
#define STRESS_THREADS 24
#define STRESS_ROUNDS 500
#define RECORD 16 /* "t07 r00042 xxxx\n" */
#define RECORD_FORMAT "t%02d r%05d xxxx\n"

static long stress_errors[STRESS_THREADS];

static void *stresser(void *arg)
{
    int t = (int)(intptr_t)arg;
    char path[32], rec[RECORD + 1];
    snprintf(path, sizeof(path), "/tmp/own%d", t);
    long own = SC(SYS_open, path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    long shared = SC(SYS_open, "/tmp/shared", O_CREAT | O_WRONLY | O_APPEND, 0644);
    for (int i = 0; i < STRESS_ROUNDS; i++) {
        snprintf(rec, sizeof(rec), RECORD_FORMAT, t, i);
        if (SC(SYS_write, shared, rec, RECORD) != RECORD)
            stress_errors[t]++;
        if (SC(SYS_write, own, rec, RECORD) != RECORD)
            stress_errors[t]++;
        long m =
            SC(SYS_mmap, 0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (is_err(m) || !all_zero((char *)m, 2 * PAGE)) {
            stress_errors[t]++;
        } else {
            memset((char *)m, t + 1, 2 * PAGE);
            if (SC(SYS_munmap, m, 2 * PAGE) != 0)
                stress_errors[t]++;
        }
        char *p = malloc((size_t)(i % 7 + 1) * 1000);
        if (!p)
            stress_errors[t]++;
        free(p);
        struct stat st;
        if (SC(SYS_stat, "/etc/data", &st) != 0 || st.st_size != 12)
            stress_errors[t]++;
    }
    char back[RECORD];
    if (SC(SYS_pread64, own, back, RECORD, (long)(STRESS_ROUNDS - 1) * RECORD) != RECORD ||
        memcmp(back, rec, RECORD) != 0)
        stress_errors[t]++;
    SC(SYS_close, own);
    SC(SYS_close, shared);
    return NULL;
}

static int mode_stress(void)
{
    pthread_t t[STRESS_THREADS];
    for (int i = 0; i < STRESS_THREADS; i++)
        pthread_create(&t[i], NULL, stresser, (void *)(intptr_t)i);
    for (int i = 0; i < STRESS_THREADS; i++)
        pthread_join(t[i], NULL);
    long errors = 0;
    for (int i = 0; i < STRESS_THREADS; i++)
        errors += stress_errors[i];
    put("errors", errors);
    struct stat st;
    SC(SYS_stat, "/tmp/shared", &st);
    put("shared file records", (long)st.st_size / RECORD);
    /* Every record whole, and each thread's in order. */
    long fd = SC(SYS_open, "/tmp/shared", O_RDONLY), whole = 0;
    int next[STRESS_THREADS] = {0};
    char rec[RECORD + 1] = "", want[RECORD + 1];
    while (SC(SYS_read, fd, rec, RECORD) == RECORD) {
        int th = (rec[1] - '0') * 10 + rec[2] - '0';
        if (th < 0 || th >= STRESS_THREADS)
            continue;
        snprintf(want, sizeof(want), RECORD_FORMAT, th, next[th]);
        if (memcmp(rec, want, RECORD) == 0) {
            whole++;
            next[th]++;
        }
    }
    SC(SYS_close, fd);
    put("records whole and in order", whole);
    for (int i = 0; i < STRESS_THREADS; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/tmp/own%d", i);
        SC(SYS_stat, path, &st);
        if (st.st_size != STRESS_ROUNDS * RECORD)
            printf("%s: size %ld\n", path, (long)st.st_size);
    }
    return 0;
}

/* ---- bad pointers ---------------------------------------------------------------------------- */

static int mode_badptr(void)
{
    unsigned buf[64] = {0}; /* large enough for any result, a futex word of 0 */
    /* Address 16: nothing is mapped there. */
    const long null16 = 16;
    /* The LibOS's window (its image: the LibOS's code and data). */
    const long libos = LIBOS_BASE;
    /* The middle of the shared heap: a free page (brk takes the heap's bottom, mmap its top). */
    const long heapfree = HEAP_BASE + HEAP_SIZE / 2;
    /* The heap's last page: the LibOS's page bookkeeping (specs/libos.md §4). */
    const long heaplibos = HEAP_BASE + HEAP_SIZE - PAGE;
    /* The gate: 16 KiB below the stack slots, read-only to the program (hostcall-abi.md §2). */
    const long gate = GATE;
    /* Stack slot 0 holds the main thread's stack; its lowest page is a guard page. */
    const long guard0 = APP_TOP - SLOT_SIZE;
    /* The last 8 bytes of the program's window run on into the LibOS's. */
    const long straddle = APP_TOP - 8;

    put("write from 16", SC(SYS_write, 1, null16, 4));
    put("read into 16", SC(SYS_read, 0, null16, 4));
    put("open path at 16", SC(SYS_open, null16, O_RDONLY));
    put("stat path at 16", SC(SYS_stat, null16, buf));
    put("stat into 16", SC(SYS_stat, "/etc/data", null16));
    put("clock_gettime into 16", SC(SYS_clock_gettime, CLOCK_MONOTONIC, null16));
    put("nanosleep from 16", SC(SYS_nanosleep, null16, 0));
    put("futex wait at 16", SC(SYS_futex, null16, FUTEX_WAIT_PRIVATE, 0, 0));

    put("write from the LibOS's window", SC(SYS_write, 1, libos, 4));
    long fd = SC(SYS_open, "/dev/zero", O_RDONLY);
    put("read /dev/zero into the LibOS's window", SC(SYS_read, fd, libos, 4));
    put("pread /dev/zero into the LibOS's window", SC(SYS_pread64, fd, libos, 4, 0));
    struct iovec iov = {(void *)libos, 4};
    put("readv into the LibOS's window", SC(SYS_readv, fd, &iov, 1));
    put("readv with iovecs in the LibOS's window", SC(SYS_readv, fd, libos, 1));
    put("uname into the LibOS's window", SC(SYS_uname, libos));
    put("clock_gettime into the LibOS's window", SC(SYS_clock_gettime, CLOCK_MONOTONIC, libos));
    put("gettimeofday into the LibOS's window", SC(SYS_gettimeofday, libos, 0));
    put("getrandom into the LibOS's window", SC(SYS_getrandom, libos, 16, 0));
    put("getcwd into the LibOS's window", SC(SYS_getcwd, libos, 64));
    put("stat into the LibOS's window", SC(SYS_stat, "/etc/data", libos));
    put("open path in the LibOS's window", SC(SYS_open, libos, O_RDONLY));
    put("nanosleep from the LibOS's window", SC(SYS_nanosleep, libos, 0));
    put("futex wake at the LibOS's window", SC(SYS_futex, libos, FUTEX_WAKE_PRIVATE, 1));
    put("futex wait at the LibOS's window", SC(SYS_futex, libos, FUTEX_WAIT_PRIVATE, 0, 0));
    put("futex wait, timeout in the LibOS's window",
        SC(SYS_futex, buf, FUTEX_WAIT_PRIVATE, 0, libos));
    put("rt_sigaction old into the LibOS's window", SC(SYS_rt_sigaction, SIGPIPE, 0, libos, 8));
    put("rt_sigprocmask set from the LibOS's window",
        SC(SYS_rt_sigprocmask, SIG_BLOCK, libos, 0, 8));
    put("set_tid_address to the LibOS's window", SC(SYS_set_tid_address, libos));
    put("clone with a parent tid in the LibOS's window",
        SC(SYS_clone,
           CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_PARENT_SETTID,
           0, libos, 0, 0));

    put("read /dev/zero into a free heap page", SC(SYS_read, fd, heapfree, 4));
    put("write from a free heap page", SC(SYS_write, 1, heapfree, 4));
    put("uname into a free heap page", SC(SYS_uname, heapfree));
    put("getrandom into a free heap page", SC(SYS_getrandom, heapfree, 16, 0));
    put("futex wake at a free heap page", SC(SYS_futex, heapfree, FUTEX_WAKE_PRIVATE, 1));
    long m = SC(SYS_mmap, 0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    put("read /dev/zero into a fresh map", SC(SYS_read, fd, m, 4));
    SC(SYS_munmap, m, PAGE);
    put("read /dev/zero into it after munmap", SC(SYS_read, fd, m, 4));
    put("uname into the LibOS's heap pages", SC(SYS_uname, heaplibos));
    put("read /dev/zero into the LibOS's heap pages", SC(SYS_read, fd, heaplibos, 4));

    put("uname into the gate", SC(SYS_uname, gate));
    put("clock_gettime into the gate", SC(SYS_clock_gettime, CLOCK_MONOTONIC, gate));
    put("read /dev/zero into the gate", SC(SYS_read, fd, gate, 4));
    put("rt_sigaction old into the gate", SC(SYS_rt_sigaction, SIGPIPE, 0, gate, 8));
    long null = SC(SYS_open, "/dev/null", O_WRONLY);
    put("write from the gate to /dev/null (reading it is allowed)", SC(SYS_write, null, gate, 16));
    SC(SYS_close, null);
    put("read /dev/zero into slot 0's guard page", SC(SYS_read, fd, guard0, 4));
    put("uname into slot 1's guard page", SC(SYS_uname, guard0 - SLOT_SIZE));
    put("write across the window's end", SC(SYS_write, 1, straddle, 16));
    put("read /dev/zero across the window's end", SC(SYS_read, fd, straddle, 16));
    put("write from a wrapping range", SC(SYS_write, 1, -16L, 32));
    put("write from a non-canonical address", SC(SYS_write, 1, 0x800000000000L, 4));

    /* A range that starts in the program's memory and runs off it moves nothing. */
    m = SC(SYS_mmap, 0, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset((char *)m, 'k', PAGE);
    put("read /dev/zero into a map's last 8 bytes and on", SC(SYS_read, fd, m + PAGE - 8, 16));
    put("  the map is untouched", ((char *)m)[PAGE - 1] == 'k' && ((char *)m)[PAGE - 8] == 'k');
    put("stat into a map's last 8 bytes and on", SC(SYS_stat, "/etc/data", m + PAGE - 8));
    put("  the map is untouched", ((char *)m)[PAGE - 1] == 'k' && ((char *)m)[PAGE - 8] == 'k');
    struct iovec two[2] = {{(void *)m, 8}, {(void *)libos, 8}};
    put("readv whose second buffer is the LibOS's", SC(SYS_readv, fd, two, 2));
    put("  the first buffer is untouched", ((char *)m)[0] == 'k');
    /* A path whose last 100 bytes of map hold no NUL runs on into a page that is not its. */
    put("open a path running off its map", SC(SYS_open, m + PAGE - 100, O_RDONLY));
    SC(SYS_munmap, m, PAGE);
    SC(SYS_close, fd);
    struct utsname u;
    put("uname into the program's own memory", SC(SYS_uname, &u));
    printf("  %s %s %s %s %s\n", u.sysname, u.nodename, u.release, u.version, u.machine);
    put("still running", 1);
    return 0;
}

/* ---- syscalls nobody implements ---------------------------------------------------------------
 */

static int mode_unknown(void)
{
    put("fork (57)", SC(57));
    put("syscall 999", SC(999));
    put("syscall 999 again", SC(999));
    put("pipe (22)", SC(SYS_pipe, (long)(int[2]){0}));
    put("fork (57) again", SC(57));
    return 0;
}

/* The LibOS does not know the program's read-only segments (specs/libos.md §6): its write
 * there faults as the program's own would, and ends the deployment. */
static const char rodata[PAGE] __attribute__((aligned(4096))) = "read-only";

static int mode_rodata(void)
{
    long fd = SC(SYS_open, "/dev/zero", O_RDONLY);
    put_str("reading into .rodata", rodata);
    fflush(stdout);
    put("read /dev/zero into .rodata", SC(SYS_read, fd, rodata, 4));
    return 0;
}

int main(int argc, char **argv)
{
    /* Line by line, so the lines keep their order with what the LibOS writes itself. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "files") == 0)
        return mode_files();
    if (strcmp(mode, "memory") == 0)
        return mode_memory();
    if (strcmp(mode, "time") == 0)
        return mode_time();
    if (strcmp(mode, "futex") == 0)
        return mode_futex();
    if (strcmp(mode, "misc") == 0)
        return mode_misc();
    if (strcmp(mode, "threads") == 0 && argc > 2)
        return mode_threads(atoi(argv[2]));
    if (strcmp(mode, "stress") == 0)
        return mode_stress();
    if (strcmp(mode, "badptr") == 0)
        return mode_badptr();
    if (strcmp(mode, "unknown") == 0)
        return mode_unknown();
    if (strcmp(mode, "ls") == 0) {
        for (int i = 2; i < argc; i++)
            put_dir(argv[i], argv[i]);
        return 0;
    }
    if (strcmp(mode, "rodata") == 0)
        return mode_rodata();
    if (strcmp(mode, "block") == 0)
        return mode_block(false);
    if (strcmp(mode, "exit-blocked") == 0)
        return mode_block(true);
    if (strcmp(mode, "exit-thread") == 0)
        return mode_exit_thread();
    fprintf(stderr, "usage: libostest files|memory|time|futex|misc|threads "
                    "N|stress|badptr|unknown|ls PATH...|rodata|block|"
                    "exit-blocked|exit-thread\n");
    return 2;
}
