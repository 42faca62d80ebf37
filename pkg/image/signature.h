/* Image signatures in the store, in cosign's layout (specs/image-format.md §6): a manifest
 * tagged "<repository>:sha256-<hex>.sig" whose layers are simple-signing payloads, each with
 * its signature in an annotation. Verification against a key or a trust policy. */
#ifndef CVM_IMAGE_SIGNATURE_H
#define CVM_IMAGE_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "manifest.h"

struct cvm_buf;
struct cvm_error;
struct cvm_policy;
struct cvm_signing_key;
struct cvm_store;
struct cvm_verify_key;
struct cvm_verify_memo;

#define CVM_SIGNATURES_MAX 64 /* signatures attached to one image */

/* "<repository>:sha256-<hex>.sig" (malloc'd, NULL on ENOMEM). */
char *cvm_signature_tag(const char *repository, const struct cvm_digest *image);
/* True when a store name is such a tag. */
bool cvm_signature_tag_is(const char *name);

/* Signs the image `image` of `repository` and attaches the signature. */
int cvm_image_sign(struct cvm_store *s, const char *repository, const struct cvm_descriptor *image,
                   const struct cvm_signing_key *key, struct cvm_error **err);

/* One attached signature, payload read and parsed (not yet verified). */
struct cvm_signature {
    char *identity;            /* critical.identity.docker-reference */
    struct cvm_digest signs;   /* critical.image.docker-manifest-digest */
    struct cvm_digest payload; /* digest of the payload blob */
    char *b64;                 /* the signature */
    struct cvm_buf *payload_bytes;
};

/* The signatures attached to image in repository; 0 of them when there is no signature tag. */
int cvm_image_signatures(struct cvm_store *s, const char *repository,
                         const struct cvm_digest *image, struct cvm_signature **ret, size_t *ret_n,
                         struct cvm_error **err);
void cvm_signatures_free(struct cvm_signature *sigs, size_t n);

/* Succeeds when a signature attached to image verifies with key and names image's digest
 * (and, with match_repository, names repository). Errors say which check failed. memo (may
 * be NULL) is consulted and recorded as its mode says (verify-memo.h). */
int cvm_image_verify_key(struct cvm_store *s, const char *repository,
                         const struct cvm_digest *image, const struct cvm_verify_key *key,
                         bool match_repository, const struct cvm_verify_memo *memo,
                         struct cvm_error **err);

/* Applies the policy's requirements for repository[:tag]; *ret_scope names the scope used. */
int cvm_image_verify_policy(struct cvm_store *s, const struct cvm_policy *p, const char *repository,
                            const char *tag, const struct cvm_digest *image,
                            const struct cvm_verify_memo *memo, const char **ret_scope,
                            struct cvm_error **err);

#endif
