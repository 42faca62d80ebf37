/* The local image store: an OCI image layout (specs/image-format.md §6) with atomic writes,
 * a lock shared by every user and taken exclusively by garbage collection, and an index lock
 * that serialises changes to index.json. */
#ifndef CVM_IMAGE_STORE_H
#define CVM_IMAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cleanup.h"
#include "digest.h"
#include "manifest.h"

struct cvm_buf;
struct cvm_error;
struct cvm_reference;

#define CVM_STORE_ROOT_ENV "CVMCTL_ROOT"
#define CVM_STORE_INDEX_MAX (16u << 20)

enum cvm_store_flags {
    CVM_STORE_EXCLUSIVE = 1 << 0, /* wait until no other cvmctl uses the store (gc) */
};

struct cvm_store;

/* $CVMCTL_ROOT, else $XDG_DATA_HOME/cvmctl, else $HOME/.local/share/cvmctl (malloc'd). */
char *cvm_store_default_root(void);

/* Opens (creating when missing) the layout at root and takes the shared or exclusive lock. */
int cvm_store_open(const char *root, unsigned flags, struct cvm_store **ret,
                   struct cvm_error **err);
void cvm_store_free(struct cvm_store *s);
CVM_DEFINE_CLEANUP(struct cvm_store *, cvm_store_free)
const char *cvm_store_root(const struct cvm_store *s);
int cvm_store_dirfd(const struct cvm_store *s);

/* Stores bytes as a blob (idempotent); *ret is their digest. */
int cvm_store_put_blob(struct cvm_store *s, const void *data, size_t len, struct cvm_digest *ret,
                       struct cvm_error **err);
/* Moves the already verified file `name` of dirfd (on the store's file system) in as blob d. */
int cvm_store_adopt_blob(struct cvm_store *s, int dirfd, const char *name,
                         const struct cvm_digest *d, struct cvm_error **err);
bool cvm_store_has_blob(const struct cvm_store *s, const struct cvm_digest *d);
/* Reads a blob of at most max bytes and checks its digest (CVM_E_DIGEST when corrupted). */
int cvm_store_read_blob(struct cvm_store *s, const struct cvm_digest *d, size_t max,
                        struct cvm_buf *out, struct cvm_error **err);
/* Re-hashes a blob from disk against desc's digest and size; counts the bytes hashed. */
int cvm_store_check_blob(struct cvm_store *s, const struct cvm_descriptor *desc,
                         uint64_t *ret_bytes, struct cvm_error **err);
/* Opens a blob for reading (O_CLOEXEC); the caller verifies what it reads. */
int cvm_store_open_blob(struct cvm_store *s, const struct cvm_digest *d, int *ret_fd,
                        struct cvm_error **err);

/* index.json entries that carry a ref.name, in index order (cvm_descriptor_release each). */
int cvm_store_list(struct cvm_store *s, struct cvm_descriptor **ret, size_t *ret_n,
                   struct cvm_error **err);
void cvm_store_list_free(struct cvm_descriptor *list, size_t n);

/* The entry named exactly `name` (canonical); *ret_found false when there is none. */
int cvm_store_find(struct cvm_store *s, const char *name, struct cvm_descriptor *ret,
                   bool *ret_found, struct cvm_error **err);

/* The manifest descriptor ref names: by name, or by digest alone (any entry with that
 * digest). A digest that is not the one named resolves through an index that lists it: the
 * index ref's tag names or, by digest alone, any index named in ref's repository; *ret is
 * then the index's entry (media type, digest, size, platform) named
 * "<repository>@sha256:<hex>". CVM_E_NOTFOUND when the store has no such image. */
int cvm_store_resolve(struct cvm_store *s, const struct cvm_reference *ref,
                      struct cvm_descriptor *ret, struct cvm_error **err);

/* Points the name (canonical "domain/path:tag") at target, replacing what it named. */
int cvm_store_tag(struct cvm_store *s, const char *name, const struct cvm_descriptor *target,
                  struct cvm_error **err);
/* Removes a name; CVM_E_NOTFOUND when absent. */
int cvm_store_untag(struct cvm_store *s, const char *name, struct cvm_error **err);

/* Deletes every blob no index entry reaches, and leftovers of interrupted writes. Needs the
 * exclusive lock. */
int cvm_store_gc(struct cvm_store *s, uint64_t *ret_blobs, uint64_t *ret_bytes,
                 struct cvm_error **err);

/* The distinct blobs the manifest or index desc reaches, each counted once with the size its
 * descriptor gives: the manifest itself, an index's manifests (and nested indexes, at most 4
 * deep), and every manifest's config and layers. A manifest that cannot be read is the error. */
int cvm_store_count_blobs(struct cvm_store *s, const struct cvm_descriptor *desc,
                          uint64_t *ret_blobs, uint64_t *ret_bytes, struct cvm_error **err);

/* A manifest (or index) blob read and parsed; *ret_raw keeps the exact bytes if non-NULL. */
int cvm_store_read_manifest(struct cvm_store *s, const struct cvm_descriptor *desc,
                            struct cvm_manifest **ret, struct cvm_buf *ret_raw,
                            struct cvm_error **err);

#endif
