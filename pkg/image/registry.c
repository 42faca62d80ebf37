/* The registry client's core: where the registry is (HTTPS, or HTTP on loopback), who we are
 * to it (anonymous, Basic, or Bearer tokens per scope, reused until they expire), and the
 * request loop with redirects and retries that every operation goes through. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base.h"
#include "registry-internal.h"
#include "sign.h"

/* A token without expires_in lives 60 s (the token spec's default); renew 10 s early. */
#define TOKEN_DEFAULT_LIFETIME 60
#define TOKEN_MARGIN 10
#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_S 10

int cvm_registry_open(const char *domain, const struct cvm_registry_options *o,
                      struct cvm_registry **ret, struct cvm_error **err)
{
    struct cvm_registry *r = calloc(1, sizeof(*r));
    if (!r || !(r->domain = strdup(domain))) {
        free(r);
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&r->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    pthread_mutex_init(&r->emit_lock, NULL);
    r->o = *o;
    memset(&r->o.http.ca_pem, 0, sizeof(r->o.http.ca_pem));
    r->loopback = cvm_http_host_is_loopback(domain);
    r->o.http.share = NULL;
    int res = cvm_http_options_load_cas(&r->o.http, err);
    if (res == 0)
        res = cvm_http_share_new(&r->o.http.share, err);
    if (res < 0) {
        cvm_registry_free(r);
        return res;
    }
    *ret = r;
    return 0;
}

void cvm_registry_free(struct cvm_registry *r)
{
    if (!r)
        return;
    cvm_http_options_release(&r->o.http);
    cvm_http_share_free(r->o.http.share);
    free(r->domain);
    free(r->base);
    free(r->realm);
    free(r->service);
    if (r->have_credential)
        cvm_credential_release(&r->credential);
    free(r->basic);
    for (size_t i = 0; i < REGISTRY_MAX_TOKENS; i++) {
        free(r->tokens[i].scope);
        free(r->tokens[i].value);
    }
    pthread_mutex_destroy(&r->lock);
    pthread_mutex_destroy(&r->emit_lock);
    free(r);
}

char *registry_scope(const char *repository, const char *actions)
{
    char *s = NULL;
    return asprintf(&s, "repository:%s:%s", repository, actions) < 0 ? NULL : s;
}

/* ---- errors and retries ------------------------------------------------------------------- */

void registry_describe(const struct cvm_http_response *resp, char *out, size_t size)
{
    json_error_t je;
    json_t *root = resp->error_body.len
                       ? json_loadb((const char *)resp->error_body.data, resp->error_body.len,
                                    JSON_REJECT_DUPLICATES, &je)
                       : NULL;
    json_t *first = json_array_get(json_object_get(root, "errors"), 0);
    const char *code = json_string_value(json_object_get(first, "code"));
    const char *message = json_string_value(json_object_get(first, "message"));
    /* The registry's words go to the user's terminal: escaped. */
    char show_code[CVM_SHOWN_SIZE(64)], show[CVM_SHOWN_SIZE(200)];
    if (code)
        snprintf(out, size, "HTTP %ld, registry says %s: %s", resp->status,
                 cvm_shown(code, 64, show_code), cvm_shown(message ? message : "", 200, show));
    else
        snprintf(out, size, "HTTP %ld", resp->status);
    json_decref(root);
}

bool registry_retryable(long status)
{
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

void registry_backoff(struct cvm_registry *r, int attempt, long retry_after_s, const char *what)
{
    long ms = BACKOFF_FIRST_MS << (attempt - 1 < 6 ? attempt - 1 : 6);
    if (retry_after_s >= 0)
        ms = (retry_after_s > BACKOFF_MAX_S ? BACKOFF_MAX_S : retry_after_s) * 1000;
    if (ms > BACKOFF_MAX_S * 1000)
        ms = BACKOFF_MAX_S * 1000;
    char msg[512];
    snprintf(msg, sizeof(msg), "%s; retrying in %.1f s (attempt %d of %d)", what, (double)ms / 1000,
             attempt + 1, CVM_REGISTRY_ATTEMPTS);
    cvm_log(CVM_LOG_INFO, "%s", msg);
    struct cvm_transfer_event ev = {.kind = CVM_TRANSFER_RETRY, .message = msg};
    registry_emit(r, &ev);
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

void registry_emit(struct cvm_registry *r, const struct cvm_transfer_event *ev)
{
    if (!r->progress || !r->progress->event)
        return;
    pthread_mutex_lock(&r->emit_lock);
    r->progress->event(r->progress->data, ev);
    pthread_mutex_unlock(&r->emit_lock);
}

/* ---- authentication ----------------------------------------------------------------------- */

static struct registry_token *token_for(struct cvm_registry *r, const char *scope)
{
    for (size_t i = 0; i < REGISTRY_MAX_TOKENS; i++)
        if (r->tokens[i].scope && strcmp(r->tokens[i].scope, scope) == 0)
            return &r->tokens[i];
    return NULL;
}

/* A token for "repository:x:pull,push" also serves "repository:x:pull". */
static bool token_serves(const char *have, const char *want)
{
    if (strcmp(have, want) == 0)
        return true;
    size_t n = strlen(want);
    return n > 5 && strcmp(want + n - 5, ":pull") == 0 && strncmp(have, want, n) == 0 &&
           strcmp(have + n, ",push") == 0;
}

/* The credential for scope that stays valid for `margin` more seconds, or NULL. */
static const char *find_authorization(struct cvm_registry *r, const char *scope, time_t margin)
{
    if (r->scheme == CVM_AUTH_BASIC)
        return r->basic;
    if (r->scheme != CVM_AUTH_BEARER)
        return NULL;
    const char *want = scope ? scope : "";
    for (size_t i = 0; i < REGISTRY_MAX_TOKENS; i++) {
        struct registry_token *t = &r->tokens[i];
        if (t->scope && token_serves(t->scope, want) && time(NULL) + margin < t->expires)
            return t->value;
    }
    return NULL;
}

static const char *current_authorization(struct cvm_registry *r, const char *scope)
{
    return find_authorization(r, scope, TOKEN_MARGIN);
}

char *registry_authorization(struct cvm_registry *r, const char *scope)
{
    pthread_mutex_lock(&r->lock);
    const char *value = current_authorization(r, scope);
    char *copy = value ? strdup(value) : NULL;
    pthread_mutex_unlock(&r->lock);
    return copy;
}

static int load_credential(struct cvm_registry *r, struct cvm_error **err)
{
    if (r->have_credential)
        return 1;
    if (r->o.username) {
        r->credential.username = strdup(r->o.username);
        r->credential.password = strdup(r->o.password ? r->o.password : "");
        r->credential.source = strdup("--creds");
        if (!r->credential.username || !r->credential.password || !r->credential.source) {
            cvm_credential_release(&r->credential);
            return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
        }
        r->have_credential = true;
        return 1;
    }
    char **defaults = r->o.auth_files ? NULL : cvm_credentials_default_files();
    const char *const *files = r->o.auth_files ? r->o.auth_files : (const char *const *)defaults;
    int found = files ? cvm_credentials_lookup(files, r->domain, &r->credential, err)
                      : cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    cvm_credentials_files_free(defaults);
    if (found == 1)
        r->have_credential = true;
    return found;
}

/* r->basic from the credential (loaded first). */
static int basic_from_credential(struct cvm_registry *r, struct cvm_error **err)
{
    if (r->basic)
        return 0;
    CVM_AUTOFREE char *pair = NULL;
    CVM_AUTOFREE char *b64 = NULL;
    if (asprintf(&pair, "%s:%s", r->credential.username, r->credential.password) < 0 ||
        !(b64 = cvm_sign_base64_encode(pair, strlen(pair))) ||
        asprintf(&r->basic, "Basic %s", b64) < 0) {
        r->basic = NULL;
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    }
    return 0;
}

static int prepare_basic(struct cvm_registry *r, struct cvm_error **err)
{
    int found = load_credential(r, err);
    if (found < 0)
        return found;
    if (found == 0)
        return cvm_error_set(err, CVM_E_USAGE,
                             "registry '%s' requires a login: run 'cvmctl login %s'", r->domain,
                             r->domain);
    return basic_from_credential(r, err);
}

static int store_token(struct cvm_registry *r, const char *scope, const char *value, long lifetime,
                       struct cvm_error **err)
{
    struct registry_token *t = token_for(r, scope);
    if (!t) {
        /* A free slot, else the one closest to expiry. */
        t = &r->tokens[0];
        for (size_t i = 0; i < REGISTRY_MAX_TOKENS; i++) {
            if (!r->tokens[i].scope) {
                t = &r->tokens[i];
                break;
            }
            if (r->tokens[i].expires < t->expires)
                t = &r->tokens[i];
        }
        free(t->scope);
        if (!(t->scope = strdup(scope)))
            return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    }
    free(t->value);
    if (asprintf(&t->value, "Bearer %s", value) < 0) {
        t->value = NULL;
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    }
    t->expires = time(NULL) + lifetime;
    return 0;
}

/* GET realm?service=..&scope=.. with Basic credentials when we have them. */
static int fetch_token(struct cvm_registry *r, const char *scope, struct cvm_error **err)
{
    /* The realm comes from the registry's challenge: shown escaped. */
    char realm[CVM_SHOWN_SIZE(200)], show[CVM_SHOWN_SIZE(JSON_ERROR_TEXT_LENGTH)];
    cvm_shown(r->realm, 200, realm);
    int res, found = load_credential(r, err);
    if (found < 0)
        return found;
    CVM_AUTOFREE char *service = r->service ? cvm_http_escape(r->service) : NULL;
    CVM_AUTOFREE char *scope_q = scope && scope[0] ? cvm_http_escape(scope) : NULL;
    CVM_AUTOFREE char *url = NULL;
    if (asprintf(&url, "%s%s%s%s%s%s", r->realm, strchr(r->realm, '?') ? "&" : "?",
                 service ? "service=" : "", service ? service : "",
                 scope_q ? (service ? "&scope=" : "scope=") : "", scope_q ? scope_q : "") < 0)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    if (found && (res = basic_from_credential(r, err)) < 0)
        return res;
    struct cvm_buf body;
    cvm_buf_init(&body, CVM_REGISTRY_SMALL_MAX);
    struct cvm_http_sink sink = {.buf = &body, .fd = -1};
    /* Anonymous when we have no credentials: the server may grant pulls. */
    struct registry_call c = {.method = "GET",
                              .path = url,
                              .own_authorization = true,
                              .authorization = found ? r->basic : NULL,
                              .sink = &sink};
    struct cvm_http_response resp = {0};
    res = registry_call(r, &c, &resp, err);
    if (res == 0 && (resp.status == 401 || resp.status == 403)) {
        if (found)
            res =
                cvm_error_set(err, CVM_E_USAGE,
                              "registry '%s' refused the credentials from %s for user '%s' "
                              "(token server: HTTP %ld)",
                              r->domain, r->credential.source, r->credential.username, resp.status);
        else
            res = cvm_error_set(err, CVM_E_USAGE,
                                "registry '%s' requires a login: run 'cvmctl login %s' (token "
                                "server: HTTP %ld)",
                                r->domain, r->domain, resp.status);
    } else if (res == 0 && (resp.status < 200 || resp.status > 299)) {
        res = cvm_error_set(err, CVM_E_NET, "token server '%s': HTTP %ld", realm, resp.status);
    }
    json_t *root = NULL;
    if (res == 0) {
        json_error_t je;
        root = json_loadb((const char *)body.data, body.len, JSON_REJECT_DUPLICATES, &je);
        const char *token = json_string_value(json_object_get(root, "token"));
        if (!token)
            token = json_string_value(json_object_get(root, "access_token"));
        json_t *exp = json_object_get(root, "expires_in");
        long lifetime = json_is_integer(exp) && json_integer_value(exp) > 0 &&
                                json_integer_value(exp) < 7 * 86400
                            ? (long)json_integer_value(exp)
                            : TOKEN_DEFAULT_LIFETIME;
        if (!root)
            res = cvm_error_set(err, CVM_E_FORMAT, "token server '%s': answer is not JSON: %s",
                                realm, cvm_shown(je.text, JSON_ERROR_TEXT_LENGTH, show));
        else if (!token || !token[0] || strlen(token) > 16384 || strpbrk(token, "\r\n"))
            res = cvm_error_set(err, CVM_E_FORMAT, "token server '%s': answer has no token", realm);
        else
            res = store_token(r, scope ? scope : "", token, lifetime, err);
    }
    json_decref(root);
    cvm_http_response_release(&resp);
    cvm_buf_release(&body);
    return res;
}

static int authenticate_locked(struct cvm_registry *r, const char *scope,
                               const struct cvm_http_response *resp, struct cvm_error **err)
{
    if (!resp->www_authenticate)
        return cvm_error_set(err, CVM_E_NET, "registry '%s' answered 401 without a challenge",
                             r->domain);
    struct cvm_auth_challenge c = {0};
    int res =
        cvm_auth_challenge_parse(resp->www_authenticate, strlen(resp->www_authenticate), &c, err);
    if (res < 0)
        return cvm_error_prefix(err, "registry '%s'", r->domain);
    r->scheme = c.scheme;
    free(r->realm);
    free(r->service);
    r->realm = cvm_steal_ptr(&c.realm);
    r->service = cvm_steal_ptr(&c.service);
    /* The challenge's own scope is what this request needs when we did not know. */
    const char *want = scope ? scope : c.scope;
    if (r->scheme == CVM_AUTH_BASIC)
        res = prepare_basic(r, err);
    else
        res = fetch_token(r, want, err);
    cvm_auth_challenge_release(&c);
    return res;
}

/* Uploads on several threads meeting an expired token at once renew it once: whoever comes
 * second finds a credential other than the refused one and simply tries again. */
int registry_authenticate(struct cvm_registry *r, const char *scope, const char *refused,
                          const struct cvm_http_response *resp, char **ret_authorization,
                          struct cvm_error **err)
{
    pthread_mutex_lock(&r->lock);
    const char *now = current_authorization(r, scope);
    int res = now && (!refused || strcmp(now, refused) != 0)
                  ? 0
                  : authenticate_locked(r, scope, resp, err);
    /* A token that lives less than the renewal margin still serves the request it was
     * fetched for. */
    const char *use = res == 0 ? find_authorization(r, scope, 0) : NULL;
    char *copy = use ? strdup(use) : NULL;
    pthread_mutex_unlock(&r->lock);
    if (res == 0 && use && !copy)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    if (res == 0) {
        free(*ret_authorization);
        *ret_authorization = copy;
    }
    return res;
}

/* ---- the request loop --------------------------------------------------------------------- */

static int ping_locked(struct cvm_registry *r, struct cvm_error **err)
{
    if (r->base)
        return 0;
    const char *schemes[] = {"https", "http"};
    size_t tries = r->loopback || r->o.allow_http ? 2 : 1;
    int res = 0;
    /* The HTTPS error is the one worth reporting: HTTP was only a fallback. */
    CVM_AUTO(cvm_error_free) struct cvm_error *https_error = NULL;
    for (size_t i = 0; i < tries; i++) {
        CVM_AUTOFREE char *url = NULL;
        if (asprintf(&url, "%s://%s/v2/", schemes[i], r->domain) < 0)
            return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
        struct cvm_http_request req = {.method = "GET", .url = url};
        struct cvm_http_transfer *t = NULL;
        struct cvm_http_response resp = {0};
        struct cvm_error *e = NULL;
        res = cvm_http_transfer_new(&r->o.http, &req, &t, &e);
        if (res == 0)
            res = cvm_http_transfer_perform(t, &resp, &e);
        /* A certificate we do not trust is TLS all the same: plain HTTP is no way out. */
        bool speaks_tls = res < 0 && t && cvm_http_transfer_tls_refused(t);
        cvm_http_transfer_free(t);
        cvm_http_response_release(&resp);
        if (res == 0) {
            cvm_error_free(e);
            if (asprintf(&r->base, "%s://%s", schemes[i], r->domain) < 0) {
                r->base = NULL;
                return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
            }
            return 0;
        }
        if (i == 0)
            https_error = e;
        else
            cvm_error_free(e);
        if (res != -CVM_E_NET || speaks_tls)
            break;
    }
    if (err && !*err)
        *err = cvm_steal_ptr(&https_error);
    return res;
}

int registry_ping(struct cvm_registry *r, struct cvm_error **err)
{
    pthread_mutex_lock(&r->lock);
    int res = ping_locked(r, err);
    pthread_mutex_unlock(&r->lock);
    return res;
}

int registry_call(struct cvm_registry *r, const struct registry_call *c,
                  struct cvm_http_response *resp, struct cvm_error **err)
{
    int res = registry_ping(r, err);
    if (res < 0)
        return res;
    CVM_AUTOFREE char *url = NULL;
    if (c->path[0] == '/' ? asprintf(&url, "%s%s", r->base, c->path) < 0 : !(url = strdup(c->path)))
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    /* Credentials go only where they belong: the registry's own to the registry's origin
     * (upload locations are URLs the registry chooses), a given one to the URL it was given
     * for; never past a redirect to another origin. */
    bool authenticated = false, same_origin = true;
    bool trusted = c->own_authorization || cvm_http_same_origin(r->base, url);
    int redirects = 0;
    /* The credential the authentication of this request produced, used for its retries. */
    CVM_AUTOFREE char *fresh = NULL;
    for (int attempt = 1;;) {
        if (c->sink && c->sink->buf)
            c->sink->buf->len = 0;
        bool send = same_origin && trusted;
        CVM_AUTOFREE char *ours =
            send && !c->own_authorization && !fresh ? registry_authorization(r, c->scope) : NULL;
        struct cvm_http_request req = {
            .method = c->method,
            .url = url,
            .authorization = !send                  ? NULL
                             : c->own_authorization ? c->authorization
                             : fresh                ? fresh
                                                    : ours,
            .headers = c->headers,
            .body = c->body,
            .sink = c->sink,
        };
        struct cvm_http_transfer *t = NULL;
        struct cvm_error *e = NULL;
        res = cvm_http_transfer_new(&r->o.http, &req, &t, &e);
        if (res == 0)
            res = cvm_http_transfer_perform(t, resp, &e);
        cvm_http_transfer_free(t);
        if (res < 0) {
            if (res != -CVM_E_NET || attempt == CVM_REGISTRY_ATTEMPTS) {
                if (err && !*err)
                    *err = e;
                else
                    cvm_error_free(e);
                return res;
            }
            registry_backoff(r, attempt++, -1, e->message);
            cvm_error_free(e);
            continue;
        }
        if (resp->status == 401 && send && !authenticated && !c->own_authorization &&
            !c->no_renewal) {
            authenticated = true;
            res = registry_authenticate(r, c->scope, fresh ? fresh : ours, resp, &fresh, err);
            cvm_http_response_release(resp);
            if (res < 0)
                return res;
            continue;
        }
        if (registry_retryable(resp->status) && attempt < CVM_REGISTRY_ATTEMPTS) {
            char what[300];
            registry_describe(resp, what, sizeof(what));
            /* Upload locations carry long session state in their query: not worth a line. */
            char msg[600];
            snprintf(msg, sizeof(msg), "%s %.*s: %s", c->method, (int)strcspn(url, "?"), url, what);
            long ra = resp->retry_after_s;
            cvm_http_response_release(resp);
            registry_backoff(r, attempt++, ra, msg);
            continue;
        }
        bool redirect = resp->status == 301 || resp->status == 302 || resp->status == 303 ||
                        resp->status == 307 || resp->status == 308;
        if (redirect && resp->location &&
            (strcmp(c->method, "GET") == 0 || strcmp(c->method, "HEAD") == 0)) {
            if (++redirects > REGISTRY_MAX_REDIRECTS) {
                cvm_http_response_release(resp);
                return cvm_error_set(err, CVM_E_NET, "%s %s: more than %d redirects", c->method,
                                     url, REGISTRY_MAX_REDIRECTS);
            }
            /* Credentials stay with the registry: never sent to another host. */
            same_origin = same_origin && cvm_http_same_origin(url, resp->location);
            free(url);
            url = cvm_steal_ptr(&resp->location);
            cvm_http_response_release(resp);
            continue;
        }
        return 0;
    }
}

int cvm_registry_check_login(struct cvm_registry *r, const char *repository, struct cvm_error **err)
{
    CVM_AUTOFREE char *scope = repository ? registry_scope(repository, "pull") : NULL;
    struct registry_call c = {.method = "GET", .path = "/v2/", .scope = scope};
    struct cvm_http_response resp = {0};
    int res = registry_call(r, &c, &resp, err);
    if (res < 0)
        return res;
    /* A registry that wants Basic answers /v2/ with 401 until it gets good credentials;
     * one that uses tokens has already issued one, so the credentials were accepted. */
    if (resp.status == 401)
        res = cvm_error_set(err, CVM_E_USAGE, "registry '%s' refused the credentials%s%s",
                            r->domain, r->have_credential ? " for user " : "",
                            r->have_credential ? r->credential.username : "");
    else if (resp.status < 200 || resp.status > 299) {
        char what[300];
        registry_describe(&resp, what, sizeof(what));
        res = cvm_error_set(err, CVM_E_NET, "registry '%s': GET /v2/: %s", r->domain, what);
    }
    cvm_http_response_release(&resp);
    return res;
}
