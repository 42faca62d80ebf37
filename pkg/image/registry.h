/* A client of the OCI distribution API (specs/registry.md): push and pull of images, their
 * signatures and multi-platform indexes between the local store and a registry. */
#ifndef CVM_IMAGE_REGISTRY_H
#define CVM_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "cleanup.h"
#include "digest.h"
#include "http.h"

struct cvm_error;
struct cvm_reference;
struct cvm_store;

/* Blobs of one image in flight at once. */
#define CVM_REGISTRY_PARALLEL 4
/* Attempts of one request before its error stands (connection errors, 429, 5xx). */
#define CVM_REGISTRY_ATTEMPTS 5
/* Blobs larger than this are uploaded in PATCH chunks of this size. */
#define CVM_REGISTRY_CHUNK (64u << 20)
/* Token, ping and other small registry answers. */
#define CVM_REGISTRY_SMALL_MAX (1u << 20)

struct cvm_registry_options {
    struct cvm_http_options http;
    /* Plain HTTP is tried when HTTPS fails only for loopback hosts, or when this is set
     * (with http.tls_verify false, as --tls-verify=false). */
    bool allow_http;
    const char *const *auth_files; /* credentials files, most specific first; NULL: defaults */
    const char *username;          /* explicit credentials (--creds); NULL: from the files */
    const char *password;
};

/* What push and pull report as they go. */
enum cvm_transfer_event_kind {
    CVM_TRANSFER_BLOB_SKIPPED, /* the other side has it already (or it was mounted) */
    CVM_TRANSFER_BLOB_START,
    CVM_TRANSFER_BLOB_BYTES, /* `bytes` more moved */
    CVM_TRANSFER_BLOB_DONE,
    CVM_TRANSFER_RETRY,    /* `message` says what failed and when the next try is */
    CVM_TRANSFER_MANIFEST, /* a manifest (or index, or signature) was written */
};

struct cvm_transfer_event {
    enum cvm_transfer_event_kind kind;
    const struct cvm_digest *digest;
    const char *title; /* the layer's title, or the blob's role ("config", "signature") */
    uint64_t size;
    uint64_t bytes;
    const char *message;
};

/* Events arrive one at a time, but push's upload threads deliver them: the sink must not
 * assume the calling thread. BLOB_BYTES names its blob, so a display can track each one. */
struct cvm_transfer_progress {
    void (*event)(void *data, const struct cvm_transfer_event *ev);
    void *data;
};

struct cvm_registry;

/* A client for domain ("host[:port]"); nothing is contacted until the first request. */
int cvm_registry_open(const char *domain, const struct cvm_registry_options *o,
                      struct cvm_registry **ret, struct cvm_error **err);
void cvm_registry_free(struct cvm_registry *r);
CVM_DEFINE_CLEANUP(struct cvm_registry *, cvm_registry_free)

/* Checks that the registry answers and accepts the credentials (GET /v2/, then a token for
 * a pull of `repository` when it asks for one): what `cvmctl login` verifies. */
int cvm_registry_check_login(struct cvm_registry *r, const char *repository,
                             struct cvm_error **err);

struct cvm_push_result {
    struct cvm_digest digest;
    uint64_t blobs_sent, blobs_skipped, bytes_sent;
    bool signature_pushed;
};

/* Pushes the store's image src (with its signature, when the store has one) to dst, whose
 * domain is this registry's. */
int cvm_registry_push(struct cvm_registry *r, struct cvm_store *s, const struct cvm_reference *src,
                      const struct cvm_reference *dst, const struct cvm_transfer_progress *p,
                      struct cvm_push_result *ret, struct cvm_error **err);

/* The platform pulls choose from an index unless told otherwise (OCI's GOARCH names). */
#if defined(__aarch64__)
#define CVM_HOST_ARCHITECTURE "arm64"
#else
#define CVM_HOST_ARCHITECTURE "amd64"
#endif

struct cvm_pull_options {
    const char *os, *architecture, *variant; /* the platform chosen from an index */
};

struct cvm_pull_result {
    struct cvm_digest digest; /* of the manifest stored under ref's name */
    uint64_t blobs_fetched, blobs_present, bytes_fetched;
    bool signature_pulled;
};

/* Pulls ref (with its signature, when the registry has one) into the store under ref's
 * name. Every blob is verified (size and digest) before it enters the store. */
int cvm_registry_pull(struct cvm_registry *r, struct cvm_store *s, const struct cvm_reference *ref,
                      const struct cvm_pull_options *po, const struct cvm_transfer_progress *p,
                      struct cvm_pull_result *ret, struct cvm_error **err);

#endif
