/* HTTP for the registry client, over libcurl: a transfer is one request and its response,
 * performed alone or together with others on one multi handle (blobs of an image move in
 * parallel). Redirects are not followed here: the registry client follows them itself, so it
 * decides which host may see credentials. */
#ifndef CVM_IMAGE_HTTP_H
#define CVM_IMAGE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct cvm_error;
struct cvm_hasher;

/* Bytes of a non-2xx response body kept for the error message. */
#define CVM_HTTP_ERROR_BODY_MAX (16u << 10)
/* A response header longer than this is refused (CVM_E_LIMIT). */
#define CVM_HTTP_HEADER_MAX (8u << 10)

struct cvm_http_options {
    bool tls_verify;              /* false: accept any certificate (--tls-verify=false) */
    const char *ca_file;          /* PEM CAs trusted besides the system's, or NULL */
    const char *cert_dir;         /* a folder of *.crt CA files trusted besides them, or NULL */
    long connect_timeout_ms;      /* 0: 10 s */
    long stall_timeout_s;         /* a transfer slower than 1 KiB/s for this long fails; 0: 30 s */
    const char *user_agent;       /* NULL: "cvmctl" */
    struct cvm_buf ca_pem;        /* filled by cvm_http_options_load_cas */
    struct cvm_http_share *share; /* connections the transfers reuse, or NULL */
};

/* Connections, DNS answers and TLS sessions shared by transfers on any thread: the requests
 * of one client reuse a connection rather than pay a TCP and TLS handshake each. */
struct cvm_http_share;
int cvm_http_share_new(struct cvm_http_share **ret, struct cvm_error **err);
void cvm_http_share_free(struct cvm_http_share *s);

/* Reads the CAs to trust (the system's, ca_file, cert_dir's *.crt) once into o->ca_pem, so
 * that transfers do not read them again; needed before any transfer when ca_file or cert_dir
 * is set. cvm_http_options_release frees them. */
int cvm_http_options_load_cas(struct cvm_http_options *o, struct cvm_error **err);
void cvm_http_options_release(struct cvm_http_options *o);

/* Where a 2xx response body goes: a bounded buffer, or a file (with a hash and a bound).
 * A file sink with bytes already written is a resumed download: the caller asks for the rest
 * with a Range header, and a 200 (whole body) answer truncates the file and resets the hash. */
struct cvm_http_sink {
    struct cvm_buf *buf;       /* or NULL */
    int fd;                    /* used when buf is NULL; -1: discard */
    uint64_t max;              /* most bytes accepted into fd: more fails with CVM_E_LIMIT */
    struct cvm_hasher *hasher; /* updated with what is written to fd, or NULL */
    uint64_t written;          /* bytes written to fd so far (the caller may preset it) */
    void (*progress)(void *data, uint64_t bytes);
    void *progress_data;
};

/* What a request sends: bytes in memory or a range of a file. */
struct cvm_http_body {
    const void *data;
    size_t len;
    int fd; /* >= 0: send [offset, offset + length) of fd instead of data */
    uint64_t offset, length;
    void (*progress)(void *data, uint64_t bytes);
    void *progress_data;
};

struct cvm_http_request {
    const char *method; /* GET, HEAD, POST, PUT, PATCH, DELETE */
    const char *url;
    const char *authorization;        /* the Authorization value, or NULL */
    const char *const *headers;       /* more "Name: value" lines, NULL-terminated, or NULL */
    const struct cvm_http_body *body; /* NULL: none (POST/PUT send an empty one) */
    struct cvm_http_sink *sink;       /* NULL: a 2xx body is discarded */
};

struct cvm_http_response {
    long status;
    char *location;         /* resolved against the request URL; NULL when absent */
    char *www_authenticate; /* first WWW-Authenticate value, or NULL */
    char *content_type;
    char *docker_content_digest;
    char *range;        /* the Range response header (upload progress), or NULL */
    long retry_after_s; /* -1 when absent or not a number of seconds */
    bool has_content_length;
    uint64_t content_length;
    struct cvm_buf error_body; /* a non-2xx body, at most CVM_HTTP_ERROR_BODY_MAX bytes */
};

void cvm_http_response_release(struct cvm_http_response *r);

struct cvm_http_transfer;

/* Prepares a transfer; the options, request and everything they point to must outlive it. */
int cvm_http_transfer_new(const struct cvm_http_options *o, const struct cvm_http_request *req,
                          struct cvm_http_transfer **ret, struct cvm_error **err);
void cvm_http_transfer_free(struct cvm_http_transfer *t);
/* After a failure: the server's certificate did not verify (so it does speak TLS). */
bool cvm_http_transfer_tls_refused(const struct cvm_http_transfer *t);

/* Performs it and fills *ret (released by the caller). A transport failure (refused, reset,
 * TLS, timeout) is CVM_E_NET naming the URL; any HTTP status is success here. */
int cvm_http_transfer_perform(struct cvm_http_transfer *t, struct cvm_http_response *ret,
                              struct cvm_error **err);

/* Performs n transfers at once; results[i] is 0 or the negated class of transfer i's error
 * (errs[i] then says why), responses[i] is filled either way. */
int cvm_http_perform_many(struct cvm_http_transfer **t, size_t n,
                          struct cvm_http_response *responses, int *results,
                          struct cvm_error **errs, struct cvm_error **err);

/* True when the URL's host is a loopback name or address (plain HTTP allowed there). */
bool cvm_http_host_is_loopback(const char *host);

/* "scheme://host[:port]" of url equal for a and b (credentials may follow a redirect). */
bool cvm_http_same_origin(const char *a, const char *b);

/* URL-encodes s (malloc'd; NULL when out of memory). */
char *cvm_http_escape(const char *s);

#endif
