/* Shared by registry.c (requests, authentication, retries), registry-push.c and
 * registry-pull.c; not part of pkg/image's interface. */
#ifndef CVM_IMAGE_REGISTRY_INTERNAL_H
#define CVM_IMAGE_REGISTRY_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "auth-challenge.h"
#include "credentials.h"
#include "registry.h"

#define REGISTRY_MAX_TOKENS 8
#define REGISTRY_MAX_REDIRECTS 5

struct registry_token {
    char *scope; /* "repository:team/app:pull,push" */
    char *value;
    time_t expires;
};

/* Push uploads blobs from several threads: `lock` (recursive, since fetching a token is itself
 * a registry request) guards where the registry is and who we are to it; `emit_lock` hands
 * progress events to the caller one at a time. */
struct cvm_registry {
    pthread_mutex_t lock, emit_lock;
    char *domain;
    char *base; /* "https://host:port" once a request has decided; NULL before */
    struct cvm_registry_options o;
    bool loopback;
    /* Authentication learned from the registry's first 401. */
    enum cvm_auth_scheme scheme;
    char *realm, *service;
    bool have_credential;
    struct cvm_credential credential;
    char *basic; /* "Basic <base64>" */
    struct registry_token tokens[REGISTRY_MAX_TOKENS];
    const struct cvm_transfer_progress *progress;
};

/* A small request to the registry: "path" is below the base ("/v2/..."), or an absolute URL
 * (upload locations). Authentication, redirects and retries are handled here; any final HTTP
 * status is returned in *resp for the caller to judge. */
struct registry_call {
    const char *method;
    const char *path;
    const char *scope; /* the token scope it needs, or NULL for none */
    /* The token server's request brings its own credentials (authorization, or none when
     * NULL): the registry's are not sent, and a 401 is returned, not answered. */
    bool own_authorization;
    const char *authorization;
    /* A 401 is returned, not answered with a new token (a mount the token may not cover). */
    bool no_renewal;
    const char *const *headers;
    const struct cvm_http_body *body;
    struct cvm_http_sink *sink;
};
int registry_call(struct cvm_registry *r, const struct registry_call *c,
                  struct cvm_http_response *resp, struct cvm_error **err);

/* A copy of the Authorization value for scope right now (NULL: none needed or known yet, or
 * no memory, which the request then reports as a 401). */
char *registry_authorization(struct cvm_registry *r, const char *scope);
/* After a 401 to a request that sent `refused` (or no Authorization): learns the challenge,
 * fetches a token or prepares Basic, unless another request has renewed it meanwhile; 0 when
 * a retry may succeed, with *ret_authorization (malloc'd, or NULL; a previous value is freed)
 * the credential to retry with, even when it lives less than the renewal margin; else the
 * error (refused or missing credentials are CVM_E_USAGE). */
int registry_authenticate(struct cvm_registry *r, const char *scope, const char *refused,
                          const struct cvm_http_response *resp, char **ret_authorization,
                          struct cvm_error **err);
/* Makes r->base known (HTTPS, or HTTP where allowed) with one GET /v2/. */
int registry_ping(struct cvm_registry *r, struct cvm_error **err);

/* "registry says: <code>: <message>" from a distribution error body, or the status text. */
void registry_describe(const struct cvm_http_response *resp, char *out, size_t size);
/* Whether a status is worth another attempt (429, 5xx). */
bool registry_retryable(long status);
/* Sleeps before attempt n (1-based): 0.2 s doubling, or Retry-After up to 10 s; reports it. */
void registry_backoff(struct cvm_registry *r, int attempt, long retry_after_s, const char *what);

/* Hands one progress event to the caller, one at a time whatever thread it comes from. */
void registry_emit(struct cvm_registry *r, const struct cvm_transfer_event *ev);

/* "repository:<repo>:<actions>", malloc'd. */
char *registry_scope(const char *repository, const char *actions);

#endif
