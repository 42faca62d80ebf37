/* SHA-256, the one hash of images, measurements and signatures' payloads. */
#ifndef CVM_BASE_SHA256_H
#define CVM_BASE_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CVM_SHA256_LEN 32

void cvm_sha256(const void *data, size_t len, uint8_t out[CVM_SHA256_LEN]);

/* Streaming SHA-256; _new fails only when out of memory (NULL). */
struct cvm_hasher;
struct cvm_hasher *cvm_hasher_new(void);
void cvm_hasher_update(struct cvm_hasher *h, const void *data, size_t len);
/* Finishes the digest into out; the hasher may then be freed or reused from the start. */
void cvm_hasher_final_bytes(struct cvm_hasher *h, uint8_t out[CVM_SHA256_LEN]);
void cvm_hasher_free(struct cvm_hasher *h);

/* HMAC-SHA256 (RFC 2104) of msg under key. Returns 0, or -1 when out of memory. */
int cvm_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    uint8_t out[CVM_SHA256_LEN]);

/*
 * For tests: true makes every hasher use the portable C code even where the CPU has SHA
 * instructions; false restores the choice by CPU. Returns the code now in use: "portable",
 * "x86-sha" (Intel SHA extensions) or "arm-sha2" (Armv8 SHA2 instructions).
 */
const char *cvm_sha256_force_portable(bool portable);

#endif
