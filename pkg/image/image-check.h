/* Checking an image's blobs in the store against their descriptors: the hashing half of
 * `cvmctl verify` (the signature half is signature.h), on this thread or on one of its own so
 * that the two halves overlap. */
#ifndef CVM_IMAGE_IMAGE_CHECK_H
#define CVM_IMAGE_IMAGE_CHECK_H

#include <stdint.h>

struct cvm_descriptor;
struct cvm_error;
struct cvm_store;

/* Re-hashes the manifest, its config and every layer (or, for an index, every manifest it
 * lists) against their descriptors; counts blobs and bytes. */
int cvm_image_check_blobs(struct cvm_store *s, const struct cvm_descriptor *image,
                          uint64_t *ret_blobs, uint64_t *ret_bytes, struct cvm_error **err);

/* cvm_image_check_blobs overlapping the caller's work: _start reads and checks the manifest
 * itself, then hashes the rest on a thread of its own when there is enough of it to pay for
 * one (small images are hashed in _finish). The store must outlive the check; when no thread
 * can start, the check runs in _finish. */
struct cvm_blob_check;
struct cvm_blob_check *cvm_image_check_blobs_start(struct cvm_store *s,
                                                   const struct cvm_descriptor *image);
/* Waits for the check and frees it; returns its result. NULL (out of memory) fails. The
 * counts may be NULL. */
int cvm_image_check_blobs_finish(struct cvm_blob_check *c, uint64_t *ret_blobs, uint64_t *ret_bytes,
                                 struct cvm_error **err);

#endif
