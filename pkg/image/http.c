#include "http.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base.h"
#include "curl-lib.h"
#include "digest.h"

/* Debian's CA bundle: extra CAs are appended to it, not trusted instead of it. */
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define CA_FILE_MAX (1u << 20)
#define CERT_DIR_MAX_FILES 64

struct cvm_http_transfer {
    CURL *easy;
    struct curl_slist *headers;
    const struct cvm_http_request *req;
    struct cvm_http_response resp;
    struct cvm_error *err; /* an error raised in a callback, which aborted the transfer */
    uint64_t body_pos;     /* bytes of the request body sent */
    bool tls_refused;      /* the server spoke TLS with a certificate we do not trust */
    bool resuming;         /* the file sink has bytes: a 200 (not 206) answer restarts it */
    char curl_error[CURL_ERROR_SIZE];
};

void cvm_http_response_release(struct cvm_http_response *r)
{
    free(r->location);
    free(r->www_authenticate);
    free(r->content_type);
    free(r->docker_content_digest);
    free(r->range);
    cvm_buf_release(&r->error_body);
    memset(r, 0, sizeof(*r));
}

static void response_reset(struct cvm_http_response *r)
{
    cvm_http_response_release(r);
    r->retry_after_s = -1;
    cvm_buf_init(&r->error_body, CVM_HTTP_ERROR_BODY_MAX);
}

/* ---- callbacks ---------------------------------------------------------------------------- */

static int abort_with(struct cvm_http_transfer *t, int r, struct cvm_error *e)
{
    if (!t->err)
        t->err = e;
    else
        cvm_error_free(e);
    return r;
}

/* "Name: value" -> value (trimmed) when name matches, else NULL. */
static char *header_value(const char *line, size_t len, const char *name)
{
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return NULL;
    const char *v = line + n + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return strndup(v, (size_t)(end - v));
}

static void keep_first(char **slot, char *value)
{
    if (!*slot)
        *slot = value;
    else
        free(value);
}

static size_t on_header(char *line, size_t size, size_t n, void *data)
{
    struct cvm_http_transfer *t = data;
    size_t len = size * n;
    if (len > CVM_HTTP_HEADER_MAX) {
        struct cvm_error *e = NULL;
        cvm_error_set(&e, CVM_E_LIMIT, "a response header is longer than %u bytes",
                      CVM_HTTP_HEADER_MAX);
        return (size_t)abort_with(t, 0, e);
    }
    /* A status line starts a response: interim ones (100 Continue) leave nothing behind. */
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        response_reset(&t->resp);
        return len;
    }
    struct cvm_http_response *r = &t->resp;
    char *v;
    if ((v = header_value(line, len, "Location")))
        keep_first(&r->location, v);
    else if ((v = header_value(line, len, "WWW-Authenticate")))
        keep_first(&r->www_authenticate, v);
    else if ((v = header_value(line, len, "Content-Type")))
        keep_first(&r->content_type, v);
    else if ((v = header_value(line, len, "Docker-Content-Digest")))
        keep_first(&r->docker_content_digest, v);
    else if ((v = header_value(line, len, "Range")))
        keep_first(&r->range, v);
    else if ((v = header_value(line, len, "Retry-After"))) {
        char *end = NULL;
        long s = strtol(v, &end, 10);
        if (end != v && *end == '\0' && s >= 0)
            r->retry_after_s = s;
        free(v);
    }
    return len;
}

static long status_of(struct cvm_http_transfer *t)
{
    long status = 0;
    sym_curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
    struct cvm_http_transfer *t = data;
    size_t len = size * n;
    long status = status_of(t);
    struct cvm_http_sink *s = t->req->sink;
    if (status < 200 || status > 299 || !s) {
        /* Error bodies are kept for the message, as far as they fit; the rest is dropped. */
        if (status < 200 || status > 299) {
            size_t room = t->resp.error_body.max - t->resp.error_body.len;
            cvm_buf_append(&t->resp.error_body, p, len < room ? len : room, NULL);
        }
        return len;
    }
    struct cvm_error *e = NULL;
    if (s->buf) {
        if (cvm_buf_append(s->buf, p, len, &e) < 0)
            return (size_t)abort_with(t, 0, e);
        return len;
    }
    if (s->fd < 0)
        return len;
    if (t->resuming && status == 200) {
        /* A resumed download (Range) answered in full: start the file over. */
        t->resuming = false;
        if (lseek(s->fd, 0, SEEK_SET) < 0 || ftruncate(s->fd, 0) < 0) {
            cvm_error_set_errno(&e, errno, "cannot restart a download");
            return (size_t)abort_with(t, 0, e);
        }
        if (s->hasher) {
            uint8_t discard[CVM_SHA256_LEN];
            cvm_hasher_final_bytes(s->hasher, discard);
        }
        s->written = 0;
    }
    if (len > s->max - s->written) {
        cvm_error_set(&e, CVM_E_LIMIT, "the body is longer than the %llu bytes expected",
                      (unsigned long long)s->max);
        return (size_t)abort_with(t, 0, e);
    }
    int r = write_all(s->fd, p, len);
    if (r < 0) {
        cvm_error_set_errno(&e, -r, "cannot write what was received");
        return (size_t)abort_with(t, 0, e);
    }
    if (s->hasher)
        cvm_hasher_update(s->hasher, p, len);
    s->written += len;
    if (s->progress)
        s->progress(s->progress_data, len);
    return len;
}

static size_t on_read(char *p, size_t size, size_t n, void *data)
{
    struct cvm_http_transfer *t = data;
    const struct cvm_http_body *b = t->req->body;
    size_t want = size * n;
    uint64_t total = !b ? 0 : b->fd >= 0 ? b->length : b->len;
    if (t->body_pos >= total)
        return 0;
    if (want > total - t->body_pos)
        want = (size_t)(total - t->body_pos);
    if (b->fd < 0) {
        memcpy(p, (const char *)b->data + t->body_pos, want);
    } else {
        ssize_t got;
        do
            got = pread(b->fd, p, want, (off_t)(b->offset + t->body_pos));
        while (got < 0 && errno == EINTR);
        if (got <= 0) {
            struct cvm_error *e = NULL;
            if (got < 0)
                cvm_error_set_errno(&e, errno, "cannot read what is to be sent");
            else
                cvm_error_set(&e, CVM_E_SYSTEM, "what is to be sent ended early");
            return (size_t)abort_with(t, CURL_READFUNC_ABORT, e);
        }
        want = (size_t)got;
    }
    t->body_pos += want;
    if (b->progress)
        b->progress(b->progress_data, want);
    return want;
}

/* curl rewinds the body when it must send it again (a retry on a reused connection). */
static int on_seek(void *data, curl_off_t offset, int origin)
{
    struct cvm_http_transfer *t = data;
    const struct cvm_http_body *b = t->req->body;
    uint64_t total = !b ? 0 : b->fd >= 0 ? b->length : b->len;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > total)
        return CURL_SEEKFUNC_CANTSEEK;
    t->body_pos = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* ---- set-up ------------------------------------------------------------------------------- */

static int append_ca_file(struct cvm_buf *blob, int dirfd, const char *path, struct cvm_error **err)
{
    struct cvm_buf f;
    cvm_buf_init(&f, CA_FILE_MAX);
    int r = cvm_buf_read_file(&f, dirfd, path, err);
    if (r == 0 && (r = cvm_buf_append(blob, f.data, f.len, err)) == 0)
        r = cvm_buf_append(blob, "\n", 1, err);
    cvm_buf_release(&f);
    return r;
}

static int cert_dir_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The system CAs plus ca_file plus cert_dir's *.crt files (in name order), as one PEM blob. */
static int build_ca_blob(const struct cvm_http_options *o, struct cvm_buf *blob,
                         struct cvm_error **err)
{
    cvm_buf_init(blob, (CERT_DIR_MAX_FILES + 2) * (size_t)CA_FILE_MAX);
    int r = 0;
    if (access(SYSTEM_CA_BUNDLE, R_OK) == 0)
        r = append_ca_file(blob, AT_FDCWD, SYSTEM_CA_BUNDLE, err);
    if (r == 0 && o->ca_file)
        r = append_ca_file(blob, AT_FDCWD, o->ca_file, err);
    if (r < 0 || !o->cert_dir)
        return r;
    DIR *d = opendir(o->cert_dir);
    if (!d)
        return cvm_error_set_errno(err, errno, "cert dir '%s'", o->cert_dir);
    char *names[CERT_DIR_MAX_FILES];
    size_t n = 0;
    struct dirent *e;
    while (r == 0 && (e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".crt") != 0)
            continue;
        if (n == CERT_DIR_MAX_FILES)
            r = cvm_error_set(err, CVM_E_LIMIT, "cert dir '%s': more than %d .crt files",
                              o->cert_dir, CERT_DIR_MAX_FILES);
        else if (!(names[n++] = strdup(e->d_name)))
            r = cvm_error_set_errno(err, ENOMEM, "cert dir '%s'", o->cert_dir);
    }
    if (r == 0)
        qsort(names, n, sizeof(names[0]), cert_dir_cmp);
    for (size_t i = 0; r == 0 && i < n; i++)
        r = append_ca_file(blob, dirfd(d), names[i], err);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    closedir(d);
    return r;
}

int cvm_http_options_load_cas(struct cvm_http_options *o, struct cvm_error **err)
{
    cvm_buf_release(&o->ca_pem);
    if (!o->tls_verify || (!o->ca_file && !o->cert_dir))
        return 0;
    return build_ca_blob(o, &o->ca_pem, err);
}

void cvm_http_options_release(struct cvm_http_options *o)
{
    cvm_buf_release(&o->ca_pem);
}

/* ---- shared connections ------------------------------------------------------------------- */

struct cvm_http_share {
    CURLSH *sh;
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
};

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *userptr)
{
    (void)handle;
    (void)access;
    struct cvm_http_share *s = userptr;
    pthread_mutex_lock(&s->locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userptr)
{
    (void)handle;
    struct cvm_http_share *s = userptr;
    pthread_mutex_unlock(&s->locks[data]);
}

int cvm_http_share_new(struct cvm_http_share **ret, struct cvm_error **err)
{
    int r = cvm_curl_lib_load(err);
    if (r < 0)
        return r;
    struct cvm_http_share *s = calloc(1, sizeof(*s));
    if (!s || !(s->sh = sym_curl_share_init())) {
        free(s);
        return cvm_error_set_errno(err, ENOMEM, "cannot share connections");
    }
    for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&s->locks[i], NULL);
    sym_curl_share_setopt(s->sh, CURLSHOPT_LOCKFUNC, share_lock);
    sym_curl_share_setopt(s->sh, CURLSHOPT_UNLOCKFUNC, share_unlock);
    sym_curl_share_setopt(s->sh, CURLSHOPT_USERDATA, s);
    sym_curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    sym_curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    sym_curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    *ret = s;
    return 0;
}

void cvm_http_share_free(struct cvm_http_share *s)
{
    if (!s)
        return;
    sym_curl_share_cleanup(s->sh);
    for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&s->locks[i]);
    free(s);
}

/* ---- requests ----------------------------------------------------------------------------- */

static int add_header(struct cvm_http_transfer *t, const char *line, struct cvm_error **err)
{
    struct curl_slist *l = sym_curl_slist_append(t->headers, line);
    if (!l)
        return cvm_error_set_errno(err, ENOMEM, "cannot build a request");
    t->headers = l;
    return 0;
}

static int set_method(struct cvm_http_transfer *t, const struct cvm_http_request *req,
                      struct cvm_error **err)
{
    CURL *c = t->easy;
    const struct cvm_http_body *b = req->body;
    curl_off_t len = !b ? 0 : b->fd >= 0 ? (curl_off_t)b->length : (curl_off_t)b->len;
    const char *m = req->method;
    if (strcmp(m, "GET") == 0) {
        sym_curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(m, "HEAD") == 0) {
        sym_curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(m, "POST") == 0) {
        sym_curl_easy_setopt(c, CURLOPT_POST, 1L);
        sym_curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, len);
    } else if (strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0) {
        sym_curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        sym_curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, len);
        if (m[1] == 'A')
            sym_curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PATCH");
    } else if (strcmp(m, "DELETE") == 0) {
        sym_curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
    } else {
        return cvm_error_set(err, CVM_E_USAGE, "HTTP method '%s' is not supported", m);
    }
    return 0;
}

int cvm_http_transfer_new(const struct cvm_http_options *o, const struct cvm_http_request *req,
                          struct cvm_http_transfer **ret, struct cvm_error **err)
{
    int r = cvm_curl_lib_load(err);
    if (r < 0)
        return r;
    struct cvm_http_transfer *t = calloc(1, sizeof(*t));
    if (!t || !(t->easy = sym_curl_easy_init())) {
        free(t);
        return cvm_error_set_errno(err, ENOMEM, "cannot start a transfer");
    }
    t->req = req;
    t->resuming = req->sink && !req->sink->buf && req->sink->fd >= 0 && req->sink->written > 0;
    response_reset(&t->resp);
    CURL *c = t->easy;
    sym_curl_easy_setopt(c, CURLOPT_URL, req->url);
    if (o->share)
        sym_curl_easy_setopt(c, CURLOPT_SHARE, o->share->sh);
    sym_curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    sym_curl_easy_setopt(c, CURLOPT_ERRORBUFFER, t->curl_error);
    sym_curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    sym_curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    sym_curl_easy_setopt(c, CURLOPT_USERAGENT, o->user_agent ? o->user_agent : "cvmctl");
    sym_curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                         o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000L);
    sym_curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    sym_curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
                         o->stall_timeout_s > 0 ? o->stall_timeout_s : 30L);
    sym_curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    sym_curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
    sym_curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    sym_curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    sym_curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    sym_curl_easy_setopt(c, CURLOPT_READDATA, t);
    sym_curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
    sym_curl_easy_setopt(c, CURLOPT_SEEKDATA, t);
    if (!o->tls_verify) {
        sym_curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        sym_curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (o->ca_file || o->cert_dir) {
        if (!o->ca_pem.len)
            r = cvm_error_set(err, CVM_E_USAGE, "the CAs to trust were not loaded");
        struct curl_blob blob = {
            .data = o->ca_pem.data, .len = o->ca_pem.len, .flags = CURL_BLOB_NOCOPY};
        if (r == 0)
            sym_curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
    }
    /* No "Expect: 100-continue": a registry answers at once, and waiting costs a round trip. */
    if (r == 0)
        r = add_header(t, "Expect:", err);
    if (r == 0 && req->authorization) {
        CVM_AUTOFREE char *line = NULL;
        if (asprintf(&line, "Authorization: %s", req->authorization) < 0)
            r = cvm_error_set_errno(err, ENOMEM, "cannot build a request");
        else
            r = add_header(t, line, err);
    }
    for (size_t i = 0; r == 0 && req->headers && req->headers[i]; i++)
        r = add_header(t, req->headers[i], err);
    if (r == 0)
        r = set_method(t, req, err);
    if (r < 0) {
        cvm_http_transfer_free(t);
        return r;
    }
    sym_curl_easy_setopt(c, CURLOPT_HTTPHEADER, t->headers);
    *ret = t;
    return 0;
}

bool cvm_http_transfer_tls_refused(const struct cvm_http_transfer *t)
{
    return t->tls_refused;
}

void cvm_http_transfer_free(struct cvm_http_transfer *t)
{
    if (!t)
        return;
    if (t->easy)
        sym_curl_easy_cleanup(t->easy);
    if (t->headers)
        sym_curl_slist_free_all(t->headers);
    cvm_http_response_release(&t->resp);
    cvm_error_free(t->err);
    free(t);
}

/* ---- results ------------------------------------------------------------------------------ */

static char *resolve_location(const char *base, const char *location)
{
    CURLU *u = sym_curl_url();
    char *out = NULL, *got = NULL;
    if (u && sym_curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
        sym_curl_url_set(u, CURLUPART_URL, location, 0) == CURLUE_OK &&
        sym_curl_url_get(u, CURLUPART_URL, &got, 0) == CURLUE_OK)
        out = strdup(got);
    sym_curl_free(got);
    sym_curl_url_cleanup(u);
    return out;
}

/* How much of a URL error messages show: not the query, where upload locations keep long
 * session state and object stores their signatures. */
static int url_shown(const char *url)
{
    size_t n = strcspn(url, "?");
    return n > 400 ? 400 : (int)n;
}

static int finish(struct cvm_http_transfer *t, CURLcode code, struct cvm_http_response *ret,
                  struct cvm_error **err)
{
    const struct cvm_http_request *req = t->req;
    if (t->err) {
        int r = -(int)t->err->code;
        if (err && !*err) {
            *err = cvm_steal_ptr(&t->err);
            cvm_error_prefix(err, "%s %.*s", req->method, url_shown(req->url), req->url);
        }
        return r;
    }
    t->tls_refused = code == CURLE_PEER_FAILED_VERIFICATION;
    /* curl's own text for these carries timings ("after 0 ms"): the code's text is stable. */
    bool plain = code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST ||
                 code == CURLE_OPERATION_TIMEDOUT;
    if (code != CURLE_OK)
        return cvm_error_set(
            err, CVM_E_NET, "%s %.*s: %s", req->method, url_shown(req->url), req->url,
            t->curl_error[0] && !plain ? t->curl_error : sym_curl_easy_strerror(code));
    struct cvm_http_response *r = &t->resp;
    r->status = status_of(t);
    curl_off_t cl = -1;
    if (sym_curl_easy_getinfo(t->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK &&
        cl >= 0) {
        r->has_content_length = true;
        r->content_length = (uint64_t)cl;
    }
    char show[CVM_SHOWN_SIZE(200)];
    if (r->location) {
        char *abs = resolve_location(req->url, r->location);
        if (!abs)
            return cvm_error_set(err, CVM_E_NET, "%s %.*s: unusable Location '%s'", req->method,
                                 url_shown(req->url), req->url, cvm_shown(r->location, 200, show));
        free(r->location);
        r->location = abs;
    }
    *ret = *r;
    memset(r, 0, sizeof(*r));
    return 0;
}

int cvm_http_transfer_perform(struct cvm_http_transfer *t, struct cvm_http_response *ret,
                              struct cvm_error **err)
{
    t->body_pos = 0;
    CURLcode code = sym_curl_easy_perform(t->easy);
    return finish(t, code, ret, err);
}

int cvm_http_perform_many(struct cvm_http_transfer **t, size_t n,
                          struct cvm_http_response *responses, int *results,
                          struct cvm_error **errs, struct cvm_error **err)
{
    CURLM *m = sym_curl_multi_init();
    if (!m)
        return cvm_error_set_errno(err, ENOMEM, "cannot start transfers");
    for (size_t i = 0; i < n; i++) {
        t[i]->body_pos = 0;
        results[i] = 1; /* not finished */
        sym_curl_multi_add_handle(m, t[i]->easy);
    }
    int running = (int)n;
    CURLMcode mc = CURLM_OK;
    while (running > 0 && mc == CURLM_OK) {
        mc = sym_curl_multi_perform(m, &running);
        if (mc == CURLM_OK && running > 0)
            mc = sym_curl_multi_poll(m, NULL, 0, 1000, NULL);
        CURLMsg *msg;
        int left;
        while ((msg = sym_curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            for (size_t i = 0; i < n; i++)
                if (t[i]->easy == msg->easy_handle) {
                    results[i] = finish(t[i], msg->data.result, &responses[i], &errs[i]);
                    break;
                }
        }
    }
    for (size_t i = 0; i < n; i++)
        sym_curl_multi_remove_handle(m, t[i]->easy);
    sym_curl_multi_cleanup(m);
    if (mc != CURLM_OK)
        return cvm_error_set(err, CVM_E_NET, "transfers failed: %s", sym_curl_multi_strerror(mc));
    for (size_t i = 0; i < n; i++)
        if (results[i] == 1)
            results[i] =
                cvm_error_set(&errs[i], CVM_E_NET, "%s %.*s: did not finish", t[i]->req->method,
                              url_shown(t[i]->req->url), t[i]->req->url);
    return 0;
}

/* ---- names -------------------------------------------------------------------------------- */

bool cvm_http_host_is_loopback(const char *domain)
{
    char host[256];
    const char *end;
    if (domain[0] == '[') {
        end = strchr(domain, ']');
        if (!end)
            return false;
        domain++;
    } else {
        end = strchr(domain, ':');
        if (!end)
            end = domain + strlen(domain);
    }
    size_t len = (size_t)(end - domain);
    if (len == 0 || len >= sizeof(host))
        return false;
    memcpy(host, domain, len);
    host[len] = '\0';
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return true;
    size_t hl = strlen(host);
    if (hl > 10 && strcasecmp(host + hl - 10, ".localhost") == 0)
        return true;
    unsigned a, b, c, d;
    char tail;
    return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 &&
           c < 256 && d < 256;
}

static char *origin_of(const char *url)
{
    if (cvm_curl_lib_load(NULL) < 0)
        return NULL;
    CURLU *u = sym_curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *out = NULL;
    if (u && sym_curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        sym_curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        sym_curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        sym_curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        if (asprintf(&out, "%s://%s:%s", scheme, host, port) < 0)
            out = NULL;
        for (char *p = out; p && *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    }
    sym_curl_free(scheme);
    sym_curl_free(host);
    sym_curl_free(port);
    sym_curl_url_cleanup(u);
    return out;
}

bool cvm_http_same_origin(const char *a, const char *b)
{
    CVM_AUTOFREE char *oa = origin_of(a);
    CVM_AUTOFREE char *ob = origin_of(b);
    return oa && ob && strcmp(oa, ob) == 0;
}

char *cvm_http_escape(const char *s)
{
    if (cvm_curl_lib_load(NULL) < 0)
        return NULL;
    char *e = sym_curl_easy_escape(NULL, s, 0);
    char *out = e ? strdup(e) : NULL;
    sym_curl_free(e);
    return out;
}
