/* Content digests: "sha256:<64 lowercase hex>" strings, one-shot and streaming SHA-256. */
#ifndef CVM_IMAGE_DIGEST_H
#define CVM_IMAGE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

struct cvm_error;

#define CVM_DIGEST_LEN CVM_SHA256_LEN
#define CVM_DIGEST_HEX_LEN 64
/* "sha256:" + hex + NUL */
#define CVM_DIGEST_STR_SIZE (7 + CVM_DIGEST_HEX_LEN + 1)

struct cvm_digest {
    uint8_t bytes[CVM_DIGEST_LEN];
};

/* Parses "sha256:<64 lowercase hex>"; any other algorithm or form is CVM_E_FORMAT. */
int cvm_digest_parse(const char *s, struct cvm_digest *ret, struct cvm_error **err);
/* Parses 64 lowercase hex digits alone (a blob's file name). Returns 0 or -1. */
int cvm_digest_parse_hex(const char *hex, struct cvm_digest *ret);

/* Writes "sha256:<hex>" into out (CVM_DIGEST_STR_SIZE bytes); returns out. */
char *cvm_digest_format(const struct cvm_digest *d, char out[CVM_DIGEST_STR_SIZE]);
/* Writes the 64 hex digits alone; returns out. */
char *cvm_digest_hex(const struct cvm_digest *d, char out[CVM_DIGEST_HEX_LEN + 1]);

int cvm_digest_equal(const struct cvm_digest *a, const struct cvm_digest *b);

/* SHA-256 of a buffer. */
void cvm_digest_of(const void *data, size_t len, struct cvm_digest *ret);

/* Finishes a streaming SHA-256 (sha256.h) into a digest; the hasher may be reused. */
void cvm_hasher_final(struct cvm_hasher *h, struct cvm_digest *ret);

/* Hashes everything readable from fd (from its current offset) and counts the bytes. */
int cvm_digest_fd(int fd, struct cvm_digest *ret, uint64_t *ret_size, struct cvm_error **err);

#endif
