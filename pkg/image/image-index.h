/* Multi-platform images (specs/image-format.md §2): platforms as OCI names them, and OCI
 * image indexes assembled from cVM images in the store. An index's bytes depend only on its
 * entries and their order, so the same images always give the same index digest. */
#ifndef CVM_IMAGE_INDEX_H
#define CVM_IMAGE_INDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "manifest.h"

struct cvm_buf;
struct cvm_error;
struct cvm_store;

#define CVM_PLATFORM_PART_MAX 32 /* bytes of an os, architecture or variant */
#define CVM_PLATFORM_STR_SIZE (3 * (CVM_PLATFORM_PART_MAX + 1))

/* A platform: OCI's os, architecture (GOARCH names: amd64, arm64) and optional variant. */
struct cvm_platform {
    char os[CVM_PLATFORM_PART_MAX + 1];
    char architecture[CVM_PLATFORM_PART_MAX + 1];
    char variant[CVM_PLATFORM_PART_MAX + 1]; /* "" when there is none */
};

/* Parses "os/architecture[/variant]", each part 1 to 32 lowercase letters and digits.
 * CVM_E_USAGE for any other text; *ret is written only on success. */
int cvm_platform_parse(const char *text, struct cvm_platform *ret, struct cvm_error **err);
/* "linux/arm64/v8", or "linux/amd64" without a variant. */
char *cvm_platform_format(const struct cvm_platform *p, char out[CVM_PLATFORM_STR_SIZE]);

/* An index being assembled: the manifests it will list, in order. Entries carry media
 * type, digest, size and platform (os, architecture, variant of the descriptor). */
struct cvm_image_index {
    struct cvm_descriptor *entries;
    char **names; /* what each entry was added as; NULL for entries of the amended index */
    size_t n_entries;
    size_t cap;
};

void cvm_image_index_init(struct cvm_image_index *ix);
void cvm_image_index_release(struct cvm_image_index *ix);

/* Starts from an existing index (amending it): its manifests keep their media type,
 * digest, size and platform, in order; other fields are not carried over. CVM_E_FORMAT
 * when m is not an index; ix is left empty on failure. */
int cvm_image_index_init_from(struct cvm_image_index *ix, const struct cvm_manifest *m,
                              struct cvm_error **err);

/* Adds entry (copied) under `name`. An entry of the amended index with the same platform
 * (os, architecture and variant all equal) is replaced in place; an entry added before with
 * the same platform is CVM_E_CONFLICT naming both; otherwise the entry goes at the end. */
int cvm_image_index_add(struct cvm_image_index *ix, const struct cvm_descriptor *entry,
                        const char *name, struct cvm_error **err);

/* The index as an OCI image index: compact JSON, keys in a fixed order
 * ({"schemaVersion":2,"mediaType":...,"manifests":[{"mediaType","digest","size",
 * "platform":{"architecture","os"[,"variant"]}}...]}), no trailing newline. *ret must be
 * fresh; it is written only on success. */
int cvm_image_index_encode(const struct cvm_image_index *ix, struct cvm_buf *ret,
                           struct cvm_error **err);

/* Encodes the index and stores it as a blob; *ret describes it (media type, digest, size;
 * release with cvm_descriptor_release). */
int cvm_image_index_write(struct cvm_store *s, const struct cvm_image_index *ix,
                          struct cvm_descriptor *ret, struct cvm_error **err);

/* The index entry for the image manifest `desc` names in the store: the media type, digest
 * and size of its bytes, and the platform its cVM config records. An index, a manifest that
 * is not a cVM image, or a config whose platform is not os/architecture[/variant] is
 * CVM_E_FORMAT; `display` names the image in messages. */
int cvm_image_index_entry(struct cvm_store *s, const struct cvm_descriptor *desc,
                          const char *display, struct cvm_descriptor *ret, struct cvm_error **err);

#endif
