/* root.cpio: packs a root folder as a reproducible SVR4 "newc" cpio archive and checks untrusted
 * ones before a cVM's ramfs unpacks them (libarchive writes and reads; only newc, 070701). */
#ifndef CVM_IMAGE_CPIO_H
#define CVM_IMAGE_CPIO_H

#include <stddef.h>
#include <stdint.h>

struct cvm_buf;
struct cvm_error;

/* Limits on both sides (exceeding one is CVM_E_LIMIT): entries in one archive (the trailer not
 * counted), bytes in one entry name or symlink target (without the NUL), bytes in one archive. */
#define CVM_CPIO_MAX_ENTRIES 1000000
#define CVM_CPIO_MAX_PATH 4095
#define CVM_CPIO_MAX_TARGET 4095
#define CVM_CPIO_MAX_BYTES (UINT64_C(4) << 30)

struct cvm_cpio_stats {
    uint64_t entries; /* every entry but the trailer */
    uint64_t files;
    uint64_t dirs; /* a "." root entry counts as one */
    uint64_t symlinks;
    uint64_t file_bytes; /* the sum of the regular files' sizes */
};

/* Packs the folder dirfd recursively and appends the archive to *out; out->max (and
 * CVM_CPIO_MAX_BYTES) bound the archive. The bytes depend only on the folder's content: entries
 * sorted bytewise by full path (so parents come before children), names relative without "./"
 * and no "." entry for the root itself, uid/gid/mtime/dev/rdev 0, inode numbers 1, 2, ... in
 * archive order, nlink 2 for folders and 1 otherwise, mode = type | (st_mode & 07777).
 * Hard-linked files become independent copies; symlinks are stored as-is and never followed.
 * FIFOs, sockets and devices are refused. Errors read "rootfs '<display>': entry 'dev/null':
 * character devices are not allowed". On failure out->len is back to what it was. */
int cvm_cpio_pack_dir(int dirfd, const char *display, struct cvm_buf *out,
                      struct cvm_cpio_stats *ret_stats, struct cvm_error **err);

/* Checks an untrusted archive held in memory and counts what it holds. Accepted: newc (070701)
 * only, ending with TRAILER!!! (then only zero bytes, as block padding); only regular files with
 * nlink 1, folders without data and symlinks with a target of 1 to CVM_CPIO_MAX_TARGET bytes.
 * Names: relative, with no "", ".", or ".." component and no trailing '/' (refused, not
 * normalised); "." alone is allowed once, as a folder for the root; unique; every entry's parent
 * must be a folder entry earlier in the archive, so nothing is ever written through a symlink.
 * Errors read "<display>: entry 3 '../x': path leaves the archive root" (entries count from 1). */
int cvm_cpio_check(const void *data, size_t len, const char *display,
                   struct cvm_cpio_stats *ret_stats, struct cvm_error **err);

#endif
