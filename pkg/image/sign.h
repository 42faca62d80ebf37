/* Key-based image signatures in cosign's scheme: ECDSA P-256 keys as PEM files, the "simple
 * signing" JSON payload naming a repository and a manifest digest, SHA-256 DER signatures. */
#ifndef CVM_IMAGE_SIGN_H
#define CVM_IMAGE_SIGN_H

#include <stddef.h>

#include "cleanup.h"
#include "digest.h"

struct cvm_buf;
struct cvm_error;

/* A key file (PEM) is read whole; anything larger is not a key. */
#define CVM_SIGN_KEY_FILE_MAX (64 * 1024)
/* A simple signing payload to parse; cosign's are about 250 bytes. */
#define CVM_SIGN_PAYLOAD_MAX (64 * 1024)
/* A base64 signature; an ECDSA P-256 DER signature is at most 72 bytes, 96 characters. */
#define CVM_SIGN_B64_MAX 1024
/* The docker-reference of a payload, in bytes. */
#define CVM_SIGN_REFERENCE_MAX 1024

/* The value of critical.type in every cosign payload. */
#define CVM_SIGN_PAYLOAD_TYPE "cosign container image signature"

/* "sha256:<hex>" of the DER SubjectPublicKeyInfo: names a key in messages and `inspect`. */
#define CVM_SIGN_FINGERPRINT_SIZE CVM_DIGEST_STR_SIZE

/* Creates <prefix>.key (unencrypted PKCS#8 PEM of a new P-256 key, mode 0600) and <prefix>.pub
 * (SubjectPublicKeyInfo PEM, 0644). Never overwrites: if either exists, CVM_E_CONFLICT naming it
 * and nothing is created; a failure half way removes what was created. */
int cvm_key_generate(const char *prefix, struct cvm_error **err);

struct cvm_signing_key;
struct cvm_verify_key;

/* Loads a private key: PEM "PRIVATE KEY" (PKCS#8) or "EC PRIVATE KEY" (SEC1), unencrypted,
 * ECDSA P-256. Anything else (public keys, other algorithms or curves, encrypted keys, files
 * over CVM_SIGN_KEY_FILE_MAX) fails with one line naming the file. */
int cvm_signing_key_load(const char *path, struct cvm_signing_key **ret, struct cvm_error **err);
void cvm_signing_key_free(struct cvm_signing_key *k);
CVM_DEFINE_CLEANUP(struct cvm_signing_key *, cvm_signing_key_free)
/* The fingerprint of the key's public half. */
char *cvm_signing_key_fingerprint(const struct cvm_signing_key *k,
                                  char out[CVM_SIGN_FINGERPRINT_SIZE]);

/* Loads a public key: PEM "PUBLIC KEY" (SubjectPublicKeyInfo), ECDSA P-256. */
int cvm_verify_key_load(const char *path, struct cvm_verify_key **ret, struct cvm_error **err);
/* The same from PEM text in memory (a policy's keyData); display names it in messages. */
int cvm_verify_key_from_pem(const void *pem, size_t len, const char *display,
                            struct cvm_verify_key **ret, struct cvm_error **err);
void cvm_verify_key_free(struct cvm_verify_key *k);
CVM_DEFINE_CLEANUP(struct cvm_verify_key *, cvm_verify_key_free)
char *cvm_verify_key_fingerprint(const struct cvm_verify_key *k,
                                 char out[CVM_SIGN_FINGERPRINT_SIZE]);
/* The SHA-256 of the key's DER SubjectPublicKeyInfo: the fingerprint's bytes. */
const struct cvm_digest *cvm_verify_key_id(const struct cvm_verify_key *k);
/* Makes the key ready to verify: opens libcrypto and, for a key read without it, checks that
 * its point is on the curve. Its errors are the key's or libcrypto's, never a signature's:
 * cvm_verify_payload fails with them too, but a caller trying several signatures calls this
 * first, so that they are not taken for signatures that do not verify. */
int cvm_verify_key_prepare(const struct cvm_verify_key *k, struct cvm_error **err);

/* Appends to out (which the caller initialised) cosign's payload for an image, byte for byte:
 * {"critical":{"identity":{"docker-reference":"<ref>"},"image":{"docker-manifest-digest":
 * "sha256:<hex>"},"type":"cosign container image signature"},"optional":null} on one line,
 * no newline. docker_reference is the repository without tag or digest ("localhost/hello");
 * it is escaped as Go's encoding/json does (so <, > and & become \u003c, \u003e, \u0026) and
 * must be non-empty valid UTF-8 of at most CVM_SIGN_REFERENCE_MAX bytes. */
int cvm_simple_signing_payload(const char *docker_reference,
                               const struct cvm_digest *manifest_digest, struct cvm_buf *out,
                               struct cvm_error **err);

/* Parses a payload strictly: unknown or duplicate keys, a wrong critical.type or digest, and
 * anything over CVM_SIGN_PAYLOAD_MAX fail. "optional" may be absent, null or an object (its
 * contents are not interpreted). *ret_reference is malloc'd. */
int cvm_simple_signing_parse(const void *payload, size_t len, char **ret_reference,
                             struct cvm_digest *ret_digest, struct cvm_error **err);

/* Signs the payload bytes (ECDSA P-256, SHA-256); *ret_b64 is the DER signature in standard
 * base64 without newlines, malloc'd. */
int cvm_sign_payload(const struct cvm_signing_key *k, const void *payload, size_t len,
                     char **ret_b64, struct cvm_error **err);

/* Checks a base64 DER signature over the payload bytes. A signature that does not verify is
 * CVM_E_SIGNATURE; malformed base64 is CVM_E_FORMAT; over CVM_SIGN_B64_MAX is CVM_E_LIMIT. */
int cvm_verify_payload(const struct cvm_verify_key *k, const void *payload, size_t len,
                       const char *b64, struct cvm_error **err);

/* Standard base64 (RFC 4648 §4, padded), shared with the policy's keyData. Encode returns a
 * malloc'd string or NULL when out of memory. Decode is strict (no whitespace, canonical
 * padding) and appends the bytes to out: CVM_E_FORMAT when malformed, naming `what`. */
char *cvm_sign_base64_encode(const void *data, size_t len);
int cvm_sign_base64_decode(const char *b64, size_t len, const char *what, struct cvm_buf *out,
                           struct cvm_error **err);

#endif
