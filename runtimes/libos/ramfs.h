/* The LibOS's file system: an in-memory tree filled from the image's root.cpio (newc), plus the
 * file syscalls of unmodified Linux x86-64 programs over it. Freestanding: no libc, no globals. */
#ifndef CVM_LIBOS_RAMFS_H
#define CVM_LIBOS_RAMFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits. Going over one is an error, never a truncation, except where said. */
#define RAMFS_FILES_MAX 65536      /* nodes alive at once: files, folders, symlinks, devices */
#define RAMFS_NODES_BUILTIN 12     /* of those, ramfs_new's own: /, /dev, 7 devices, 3 consoles */
#define RAMFS_NODES_CAP 7          /* and with env->cap_devices: /cap and its 6 devices */
#define RAMFS_FILE_MAX (64u << 20) /* bytes in a regular file (-EFBIG; archive: -EINVAL) */
#define RAMFS_FDS_MAX 256          /* descriptors 0..RAMFS_FDS_MAX-1 (-EMFILE, -EBADF) */
#define RAMFS_PATH_MAX 4096        /* bytes in a path argument, its NUL included (-ENAMETOOLONG) */
#define RAMFS_NAME_MAX 255         /* bytes in one path component (-ENAMETOOLONG) */
#define RAMFS_TARGET_MAX 4095      /* bytes in a symlink target (archive: -EINVAL) */
#define RAMFS_SYMLINKS_MAX 40      /* symlinks followed in one path lookup (-ELOOP) */
#define RAMFS_IOV_MAX 1024         /* iovecs in one readv/writev (-EINVAL) */
#define RAMFS_IO_MAX 0x7ffff000L   /* bytes moved by one call: larger counts are cut to it */
#define RAMFS_PAGE 4096            /* user_ok is asked about strings a page at a time at most */
#define RAMFS_UMASK 022            /* applied to the mode of created files and folders */

/* What the LibOS provides. alloc, free and user_ok are required; a missing random, console_write
 * or console_read makes the device that needs it fail with -EIO. With cap_devices, ramfs_new
 * also makes /cap/cf1, /cap/cf2 and /cap/ch1../cap/ch4, whose calls the LibOS serves itself
 * (ramfs_cap_fd); cap_close, if set, is called with an open description's private word (when
 * not NULL) as its last descriptor closes. */
struct ramfs_env {
    void *(*alloc)(void *ctx, size_t n); /* zeroed memory, NULL when out */
    void (*free)(void *ctx, void *p, size_t n);
    long (*random)(void *ctx, void *buf, size_t n);                      /* /dev/[u]random */
    long (*console_write)(void *ctx, int fd, const void *buf, size_t n); /* fd 1 or 2 */
    long (*console_read)(void *ctx, void *buf, size_t n);                /* stdin: 0 at EOF */
    bool (*user_ok)(void *ctx, const void *p, size_t n, bool write);     /* app pointer valid? */
    bool cap_devices;
    void (*cap_close)(void *ctx, void *priv);
    void *ctx;
};

/* The Linux x86-64 `struct stat` (144 bytes), as newfstatat and friends write it. Every node
 * reports its archive mtime (0 for nodes made at run time) as its three times. */
struct ramfs_stat {
    uint64_t st_dev;
    uint64_t st_ino;
    uint64_t st_nlink;
    uint32_t st_mode;
    uint32_t st_uid;
    uint32_t st_gid;
    uint32_t st_pad0;
    uint64_t st_rdev;
    int64_t st_size;
    int64_t st_blksize;
    int64_t st_blocks;
    int64_t st_atime_sec, st_atime_nsec;
    int64_t st_mtime_sec, st_mtime_nsec;
    int64_t st_ctime_sec, st_ctime_nsec;
    int64_t st_unused[3];
};
_Static_assert(sizeof(struct ramfs_stat) == 144, "the Linux x86-64 struct stat");

struct ramfs;

/* Builds a file system from a newc archive (cpio == NULL with len 0: an empty root). The archive
 * is copied; the caller may drop it afterwards. Returns 0 and *ret, or -errno: -EINVAL for a
 * malformed archive (bad magic or hex, data or names running past the end, a name not
 * NUL-terminated exactly at namesize, a ".." component, a type other than file/folder/symlink,
 * a hard link, a folder with data, a file over RAMFS_FILE_MAX, a symlink target that is empty,
 * too long or holds a NUL, a parent that is not a folder, an entry replacing a folder or a
 * device, more than RAMFS_FILES_MAX nodes, no TRAILER!!!, non-zero bytes after it), -ENOMEM.
 * Names: "x", "./x" and "/x" are the same entry; "", "." and "/" name the root (which must then
 * be a folder); empty and "." components are dropped. Missing parent folders are made (0755).
 * Duplicates: the last entry wins, except that a folder over a folder keeps the children and
 * takes the later mode, and nothing may replace a folder or a device. */
long ramfs_new(const struct ramfs_env *env, const void *cpio, size_t len, struct ramfs **ret);

/* Frees everything, open descriptors included. ramfs_free(NULL) is a no-op. */
void ramfs_free(struct ramfs *fs);

/* Handles one file syscall by its Linux x86-64 number with its six raw arguments; returns its
 * result or -errno (Linux values). Numbers it does not handle return -ENOSYS. Every pointer
 * argument is the application's and is checked with env->user_ok before any access. Not
 * reentrant: the caller serialises calls on one fs (scratch buffers live in it). Handled:
 * read 0, write 1, open 2, close 3, stat 4, fstat 5, lstat 6, lseek 8, ioctl 16, pread64 17,
 * pwrite64 18, readv 19, writev 20, access 21, dup 32, dup2 33, fcntl 72, fsync 74,
 * fdatasync 75, truncate 76, ftruncate 77, getcwd 79, chdir 80, rename 82, mkdir 83, rmdir 84,
 * unlink 87, readlink 89, getdents64 217, openat 257, mkdirat 258, newfstatat 262,
 * unlinkat 263, renameat 264, readlinkat 267, faccessat 269, dup3 292, faccessat2 439.
 * ioctl: no descriptor is a terminal (-ENOTTY for every request, TIOCGWINSZ and TCGETS
 * included). */
long ramfs_syscall(struct ramfs *fs, long nr, const long a[6]);

/* Copies up to n bytes of the file open as fd, from off, into buf: LibOS memory (mmap's copy
 * of a file), so neither user_ok nor the RAMFS_IO_MAX cut applies. Returns the count (short
 * or 0 past the end of the file; n zeros for /dev/zero), or -EBADF, -EACCES (fd not open for
 * reading), -ENODEV (neither a regular file nor /dev/zero). n == 0 checks fd only. Same
 * serialisation as ramfs_syscall. */
long ramfs_pread_fd(struct ramfs *fs, int fd, void *buf, size_t n, uint64_t off);

/* An open /cap device (specs/libos.md §8). Reading or writing one through ramfs_syscall fails
 * with -EIO, an ioctl with -ENOTTY, an lseek gives 0: its caller serves those calls. */
enum ramfs_cap_kind { RAMFS_CAP_CF = 1, RAMFS_CAP_CH = 2 };
struct ramfs_cap {
    enum ramfs_cap_kind kind;
    void **priv;      /* the open description's private word (NULL when opened) */
    bool read, write; /* opened for reading, for writing */
};

/* 1 and *ret when fd is open on a /cap device, 0 when it is open on anything else, -EBADF.
 * *ret->priv is valid until the caller lets go of the fs. */
long ramfs_cap_fd(struct ramfs *fs, long fd, struct ramfs_cap *ret);

#endif
