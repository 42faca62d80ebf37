/* Attestation reports (specs/attestation.md): the canonical JSON payload describing a
 * deployment, the signed report file around it, and its verification against a host key, a
 * caller's nonce and an expected deployment measurement. Independent of the monitor. */
#ifndef CVM_RUNTIME_ATTEST_H
#define CVM_RUNTIME_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "sign.h"

struct cvm_buf;
struct cvm_error;

#define CVM_ATTEST_VERSION 1
/* The report file's payloadType (specs/attestation.md §3). */
#define CVM_ATTEST_PAYLOAD_TYPE "application/vnd.cvmctl.attestation.v1+json"
/* A report file larger than this is refused before it is parsed. */
#define CVM_ATTEST_REPORT_MAX (64 * 1024)
/* cVMs in one report: as many as one deployment can hold. */
#define CVM_ATTEST_CVMS_MAX 64
/* A cVM name: 1-63 of [A-Za-z0-9._-], starting with a letter or digit (monitor-yaml.md). */
#define CVM_ATTEST_NAME_MAX 63
/* A backend name: 1-32 of [a-z0-9_-]. */
#define CVM_ATTEST_BACKEND_MAX 32
/* A nonce: 16 to 128 hex digits. */
#define CVM_ATTEST_NONCE_MIN 16
#define CVM_ATTEST_NONCE_MAX 128
/* "YYYY-MM-DDThh:mm:ssZ" and its NUL; times run from 1970 to the end of 9999. */
#define CVM_ATTEST_TIME_SIZE 21
#define CVM_ATTEST_TIME_MAX INT64_C(253402300799)

/* The host key, relative to the store root (specs/attestation.md §4). */
#define CVM_ATTEST_DIR "attest"
#define CVM_ATTEST_HOST_KEY "attest/host.key"
#define CVM_ATTEST_HOST_PUB "attest/host.pub"

struct cvm_attest_cvm {
    const char *name;
    struct cvm_digest measurement; /* the cVM measurement, measurement.md §2 */
};

/* One report's fields. To encode, the caller fills them (strings stay the caller's); a parsed
 * report is a heap object whose strings it owns, freed with cvm_attest_report_free. */
struct cvm_attest_report {
    const char *image; /* canonical reference with a digest: "localhost/hello:latest@sha256:.." */
    struct cvm_digest image_digest; /* the image manifest deployed */
    struct cvm_digest deployment;   /* the deployment measurement, measurement.md §3 */
    const struct cvm_attest_cvm *cvms;
    size_t n_cvms;     /* 1 to CVM_ATTEST_CVMS_MAX, names unique */
    const char *nonce; /* CVM_ATTEST_NONCE_MIN to _MAX lowercase hex digits */
    int64_t time;      /* seconds since the epoch, 0 to CVM_ATTEST_TIME_MAX */
    const char *backend;
    bool isolating;                     /* whether the backend enforces the cVMs' windows */
    struct cvm_digest host_key;         /* fingerprint of the signing key (sign.h) */
    struct cvm_attest_storage *storage; /* NULL unless parsed */
};

void cvm_attest_report_free(struct cvm_attest_report *r);

/* Checks a nonce given by a user (16 to 128 hex digits, either case) and writes it in
 * lowercase to out. CVM_E_USAGE: "nonce '<text>' is not 16 to 128 hex digits". */
int cvm_attest_nonce_parse(const char *text, char out[CVM_ATTEST_NONCE_MAX + 1],
                           struct cvm_error **err);

/* Writes the time as "YYYY-MM-DDThh:mm:ssZ" (UTC); NULL when it is out of range. */
char *cvm_attest_time_format(int64_t t, char out[CVM_ATTEST_TIME_SIZE]);

/* Appends the canonical payload bytes of r to out (specs/attestation.md §2), no newline. A
 * field outside its constraints is CVM_E_USAGE naming it; out is then unchanged. */
int cvm_attest_report_encode(const struct cvm_attest_report *r, struct cvm_buf *out,
                             struct cvm_error **err);

/* Appends the report file's bytes to out: the payload of r, whose host_key is replaced by the
 * key's fingerprint, signed by key, in the envelope of specs/attestation.md §3. */
int cvm_attest_report_sign(const struct cvm_signing_key *key, const struct cvm_attest_report *r,
                           struct cvm_buf *out, struct cvm_error **err);

/* Signs r and writes the report file at path atomically (a temporary file in the same folder,
 * then rename), mode 0644; replaces an existing file. On failure nothing is left behind. */
int cvm_attest_report_write(const char *path, const struct cvm_signing_key *key,
                            const struct cvm_attest_report *r, struct cvm_error **err);

/* Parses payload bytes strictly, without any signature: unknown, missing or duplicate keys,
 * wrong types, values outside their constraints and a non-canonical encoding are CVM_E_FORMAT
 * ("payload: ..."). For inspection and fuzzing; trust only what _verify returns. */
int cvm_attest_payload_parse(const void *payload, size_t len, struct cvm_attest_report **ret,
                             struct cvm_error **err);

/* Verifies report file bytes (specs/attestation.md §5): size, envelope, signature by key, the
 * payload, then that it names key as host key, carries nonce (either case) and the deployment
 * measurement expect. Failures name the cause in one line: CVM_E_LIMIT too large,
 * CVM_E_FORMAT malformed (where), CVM_E_SIGNATURE a signature that does not verify (with the
 * host key the payload names, when that is another key), CVM_E_DIGEST a nonce or measurement
 * that differs (both values); CVM_E_USAGE for a malformed nonce argument. */
int cvm_attest_report_verify(const void *bytes, size_t len, const struct cvm_verify_key *key,
                             const char *nonce, const struct cvm_digest *expect,
                             struct cvm_attest_report **ret, struct cvm_error **err);

#endif
