/* Offline transfer: images (with their signatures) to and from OCI-layout tar files. */
#ifndef CVM_IMAGE_TRANSFER_H
#define CVM_IMAGE_TRANSFER_H

#include <stddef.h>

#include "manifest.h"

struct cvm_error;
struct cvm_store;

/* Writes the images (descriptors with ref_name set) and the signatures attached to them as an
 * OCI-layout tar at path: written to a temporary name first, renamed when complete. */
int cvm_image_save(struct cvm_store *s, const struct cvm_descriptor *images, size_t n,
                   const char *path, struct cvm_error **err);

/* Reads an OCI-layout tar: every blob's digest, and every manifest's references, are checked
 * in a staging folder before any blob or name enters the store. *ret_names lists the names
 * loaded (free each and the array). */
int cvm_image_load(struct cvm_store *s, const char *path, char ***ret_names, size_t *ret_n,
                   struct cvm_error **err);

#endif
