/* Tar transport of OCI image layouts (`cvmctl save` / `cvmctl load`): a reproducible writer and
 * an extractor that treats the tar as hostile and fills an empty staging folder. */
#ifndef CVM_IMAGE_LAYOUT_TAR_H
#define CVM_IMAGE_LAYOUT_TAR_H

#include <stddef.h>
#include <stdint.h>

struct cvm_error;

/* Headers an archive may hold (folders included); more is CVM_E_LIMIT. The writer refuses to
 * produce what the reader would refuse. */
#define CVM_TAR_MAX_MEMBERS 100000
/* Largest `oci-layout` or `index.json` member. */
#define CVM_TAR_MAX_META (4u << 20)
/* Defaults for struct cvm_tar_limits fields left 0: one blob, and all members together. */
#define CVM_TAR_DEFAULT_MAX_BLOB (16ull << 30)
#define CVM_TAR_DEFAULT_MAX_TOTAL (64ull << 30)
/* Folder depth cvm_dir_remove_tree descends before giving up with CVM_E_LIMIT. */
#define CVM_DIR_REMOVE_MAX_DEPTH 64

/* Caller-set bounds on what an archive may declare; 0 picks the default. */
struct cvm_tar_limits {
    uint64_t max_blob_bytes;
    uint64_t max_total_bytes;
};

/* One member to write: `path` non-NULL names a file opened relative to `dirfd` (AT_FDCWD
 * allowed; symbolic links are not followed), otherwise `data`/`len` are the bytes. `name` must
 * be `oci-layout`, `index.json` or `blobs/sha256/<64 lowercase hex>`. */
struct cvm_tar_member {
    const char *name;
    const void *data;
    size_t len;
    int dirfd;
    const char *path;
};

/* Writes a reproducible tar to out_fd: the folders `blobs/` and `blobs/sha256/`, then the
 * members in the given order; mtime 0, uid/gid 0, no user or group names, mode 0755 folders and
 * 0644 files, ustar headers (pax restricted: a pax header only for a blob of 8 GiB or more).
 * Files are streamed; one whose size changes while it is written is CVM_E_CONFLICT. Bad or
 * duplicate names are CVM_E_USAGE and nothing is written. On failure out_fd holds a partial
 * archive without an end marker; `display` names the tar in messages. */
int cvm_tar_write(int out_fd, const char *display, const struct cvm_tar_member *members, size_t n,
                  struct cvm_error **err);

/* Reads an untrusted plain (uncompressed) OCI-layout tar from tar_fd into the empty folder
 * staging_dirfd: `oci-layout` (checked: imageLayoutVersion 1.0.0), `index.json` (stored as is;
 * the caller validates it) and `blobs/sha256/<hex>` (each verified against its name). Anything
 * else in the archive is refused with a message naming the tar and the member. Every file is
 * created O_EXCL|O_NOFOLLOW and fsynced; on success blobs/sha256 exists. On failure no blob
 * that failed verification is left behind, but other files may be: the caller removes the
 * staging folder. lim may be NULL (defaults). */
int cvm_layout_tar_extract(int tar_fd, const char *display, int staging_dirfd,
                           const struct cvm_tar_limits *lim, struct cvm_error **err);

/* The same from bytes in memory (tests and fuzzing). */
int cvm_layout_tar_extract_mem(const void *data, size_t len, const char *display, int staging_dirfd,
                               const struct cvm_tar_limits *lim, struct cvm_error **err);

/* Removes `name` under parent_dirfd and, if it is a folder, everything in it, never following
 * symbolic links (a link is removed, not its target). A missing `name` is success. */
int cvm_dir_remove_tree(int parent_dirfd, const char *name, struct cvm_error **err);

#endif
