/* Push: every blob the registry lacks (HEAD first; a cross-repository mount when the image
 * came from another repository of the same registry), uploaded with POST then PUT, or in
 * PATCH chunks when large; then the manifest with its media type; then the signature. A
 * multi-platform index pushes each platform's image before the index. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base.h"
#include "manifest.h"
#include "reference.h"
#include "registry-internal.h"
#include "signature.h"
#include "store.h"

/* A blob to send, once however many manifests of the push list it. */
struct push_blob {
    const struct cvm_descriptor *desc;
    const char *title;
    struct push *ps;
    bool skipped;
    int res;
    struct cvm_error *err;
};

/* A manifest to put once the blobs are there; children come before the index naming them. */
struct push_manifest {
    const struct cvm_descriptor *desc;
    struct cvm_manifest *m;
    struct cvm_buf raw;
    const char *reference; /* the tag, or NULL for its digest */
};

struct push {
    struct cvm_registry *r;
    struct cvm_store *s;
    const char *path;       /* the destination repository on the registry */
    const char *mount_from; /* a repository of the same registry holding the blobs, or NULL */
    char *scope;
    struct push_blob *blobs;
    size_t n_blobs;
    struct push_manifest *manifests;
    size_t n_manifests;
    /* The upload workers take blobs in order; the first failure stops new ones starting. */
    pthread_mutex_t lock;
    size_t next;
    bool failed;
    struct cvm_push_result res;
};

static void emit(const struct push *ps, enum cvm_transfer_event_kind kind,
                 const struct cvm_descriptor *d, const char *title, uint64_t bytes)
{
    struct cvm_transfer_event ev = {.kind = kind,
                                    .digest = d ? &d->digest : NULL,
                                    .title = title,
                                    .size = d ? d->size : 0,
                                    .bytes = bytes};
    registry_emit(ps->r, &ev);
}

static int unexpected(const char *what, const struct cvm_http_response *resp,
                      struct cvm_error **err)
{
    char why[300];
    registry_describe(resp, why, sizeof(why));
    return cvm_error_set(err, resp->status == 401 || resp->status == 403 ? CVM_E_USAGE : CVM_E_NET,
                         "%s: %s", what, why);
}

/* HEAD: 1 when the registry has the blob, 0 when not. */
static int blob_exists(struct push *ps, const char *dstr, struct cvm_error **err)
{
    CVM_AUTOFREE char *path = NULL;
    if (asprintf(&path, "/v2/%s/blobs/%s", ps->path, dstr) < 0)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    struct registry_call c = {.method = "HEAD", .path = path, .scope = ps->scope};
    struct cvm_http_response resp = {0};
    int res = registry_call(ps->r, &c, &resp, err);
    if (res == 0)
        res = resp.status == 200 ? 1 : resp.status == 404 ? 0 : unexpected("HEAD", &resp, err);
    cvm_http_response_release(&resp);
    return res;
}

/* POST an upload (or a mount): 1 and no location when mounted, 0 and the upload location. */
static int upload_start(struct push *ps, const char *dstr, bool mount, char **ret_location,
                        struct cvm_error **err)
{
    CVM_AUTOFREE char *path = NULL;
    CVM_AUTOFREE char *from = mount ? cvm_http_escape(ps->mount_from) : NULL;
    if (mount ? asprintf(&path, "/v2/%s/blobs/uploads/?mount=%s&from=%s", ps->path, dstr,
                         from ? from : "") < 0
              : asprintf(&path, "/v2/%s/blobs/uploads/", ps->path) < 0)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    /* A mount the token does not cover (no pull on the source repository) is no error: the
     * blob is uploaded instead. */
    struct registry_call c = {
        .method = "POST", .path = path, .scope = ps->scope, .no_renewal = mount};
    struct cvm_http_response resp = {0};
    int res = registry_call(ps->r, &c, &resp, err);
    if (res == 0 && mount && resp.status == 201)
        res = 1;
    else if (res == 0 && mount && (resp.status == 401 || resp.status == 403))
        res = 0;
    else if (res == 0 && resp.status == 202 && resp.location)
        *ret_location = cvm_steal_ptr(&resp.location);
    else if (res == 0)
        res = unexpected(mount ? "mount" : "upload start", &resp, err);
    cvm_http_response_release(&resp);
    return res;
}

/* Appends "digest=<d>" to an upload location (which may carry a query already). */
static char *with_digest(const char *location, const char *dstr)
{
    char *out = NULL;
    return asprintf(&out, "%s%sdigest=%s", location, strchr(location, '?') ? "&" : "?", dstr) < 0
               ? NULL
               : out;
}

static void on_sent(void *data, uint64_t bytes)
{
    const struct push_blob *b = data;
    emit(b->ps, CVM_TRANSFER_BLOB_BYTES, b->desc, b->title, bytes);
}

/* Sends [0, size) of fd to an upload session and closes it with the digest. */
static int upload_body(struct push_blob *b, char *location, int fd, const char *dstr,
                       struct cvm_error **err)
{
    struct push *ps = b->ps;
    const struct cvm_descriptor *d = b->desc;
    static const char *const octets[] = {"Content-Type: application/octet-stream", NULL};
    int res = 0;
    CVM_AUTOFREE char *loc = location;
    uint64_t off = 0;
    /* Large blobs: PATCH chunks, each answered with the next location. */
    while (res == 0 && d->size > CVM_REGISTRY_CHUNK && off < d->size) {
        uint64_t n = d->size - off < CVM_REGISTRY_CHUNK ? d->size - off : CVM_REGISTRY_CHUNK;
        char range[80];
        snprintf(range, sizeof(range), "Content-Range: %llu-%llu", (unsigned long long)off,
                 (unsigned long long)(off + n - 1));
        const char *headers[] = {octets[0], range, NULL};
        struct cvm_http_body body = {
            .fd = fd, .offset = off, .length = n, .progress = on_sent, .progress_data = b};
        struct registry_call c = {
            .method = "PATCH", .path = loc, .scope = ps->scope, .headers = headers, .body = &body};
        struct cvm_http_response resp = {0};
        res = registry_call(ps->r, &c, &resp, err);
        if (res == 0 && resp.status == 202 && resp.location) {
            free(loc);
            loc = cvm_steal_ptr(&resp.location);
            off += n;
        } else if (res == 0) {
            res = unexpected("upload chunk", &resp, err);
        }
        cvm_http_response_release(&resp);
    }
    if (res < 0)
        return res;
    CVM_AUTOFREE char *url = with_digest(loc, dstr);
    if (!url)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    struct cvm_http_body body = {
        .fd = fd, .offset = off, .length = d->size - off, .progress = on_sent, .progress_data = b};
    struct registry_call c = {
        .method = "PUT", .path = url, .scope = ps->scope, .headers = octets, .body = &body};
    struct cvm_http_response resp = {0};
    res = registry_call(ps->r, &c, &resp, err);
    if (res == 0 && resp.status != 201)
        res = unexpected("upload", &resp, err);
    cvm_http_response_release(&resp);
    return res;
}

static int push_blob(struct push_blob *b, struct cvm_error **err)
{
    struct push *ps = b->ps;
    const struct cvm_descriptor *d = b->desc;
    char dstr[CVM_DIGEST_STR_SIZE];
    cvm_digest_format(&d->digest, dstr);
    int res = blob_exists(ps, dstr, err);
    if (res == 0 && ps->mount_from) {
        CVM_AUTOFREE char *location = NULL;
        /* Not mountable: the registry opened an ordinary upload instead, left to expire. */
        res = upload_start(ps, dstr, true, &location, err);
    }
    if (res == 1) {
        b->skipped = true;
        emit(ps, CVM_TRANSFER_BLOB_SKIPPED, d, b->title, 0);
        return 0;
    }
    int fd = -1;
    if (res == 0)
        res = cvm_store_open_blob(ps->s, &d->digest, &fd, err);
    if (res == 0)
        emit(ps, CVM_TRANSFER_BLOB_START, d, b->title, 0);
    /* A failed upload session is abandoned and the blob sent again in a new one. */
    for (int attempt = 1; res == 0; attempt++) {
        char *location = NULL;
        struct cvm_error *e = NULL;
        res = upload_start(ps, dstr, false, &location, &e);
        if (res == 0)
            res = upload_body(b, location, fd, dstr, &e);
        if (res == 0 || res != -CVM_E_NET || attempt == CVM_REGISTRY_ATTEMPTS) {
            if (res < 0 && err && !*err)
                *err = e;
            else
                cvm_error_free(e);
            break;
        }
        registry_backoff(ps->r, attempt, -1, e->message);
        cvm_error_free(e);
        res = 0;
    }
    if (fd >= 0)
        close(fd);
    if (res < 0)
        return cvm_error_prefix(err, "blob %s", dstr);
    emit(ps, CVM_TRANSFER_BLOB_DONE, d, b->title, 0);
    return 0;
}

/* Upload workers: each takes the next blob until none is left or one has failed. */
static void *upload_worker(void *data)
{
    struct push *ps = data;
    for (;;) {
        pthread_mutex_lock(&ps->lock);
        struct push_blob *b = ps->failed || ps->next == ps->n_blobs ? NULL : &ps->blobs[ps->next++];
        pthread_mutex_unlock(&ps->lock);
        if (!b)
            return NULL;
        if ((b->res = push_blob(b, &b->err)) < 0) {
            pthread_mutex_lock(&ps->lock);
            ps->failed = true;
            pthread_mutex_unlock(&ps->lock);
        }
    }
}

/* Sends every blob, CVM_REGISTRY_PARALLEL at a time. An upload is a conversation of several
 * requests (HEAD, POST, PATCH..., PUT), so each runs on a thread of its own. The error is
 * that of the first blob in manifest order that failed, whatever the timing. */
static int push_blobs(struct push *ps, struct cvm_error **err)
{
    /* Where the registry is is learned once, before the threads; the first upload to meet a
     * 401 fetches the token the others then use (registry_authenticate). */
    int res = registry_ping(ps->r, err);
    if (res < 0 || ps->n_blobs == 0)
        return res;
    pthread_t threads[CVM_REGISTRY_PARALLEL];
    size_t started = 0;
    size_t want = ps->n_blobs < CVM_REGISTRY_PARALLEL ? ps->n_blobs : CVM_REGISTRY_PARALLEL;
    while (started + 1 < want && pthread_create(&threads[started], NULL, upload_worker, ps) == 0)
        started++;
    upload_worker(ps);
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    for (size_t i = 0; i < ps->n_blobs; i++) {
        struct push_blob *b = &ps->blobs[i];
        if (b->res < 0 && res == 0) {
            res = b->res;
            if (err && !*err)
                *err = cvm_steal_ptr(&b->err);
        } else if (b->res == 0 && ps->next > i) {
            ps->res.blobs_skipped += b->skipped;
            ps->res.blobs_sent += !b->skipped;
            ps->res.bytes_sent += b->skipped ? 0 : b->desc->size;
        }
        cvm_error_free(b->err);
        b->err = NULL;
    }
    return res;
}

static int put_manifest(struct push *ps, const char *reference, const char *media_type,
                        const struct cvm_buf *raw, const struct cvm_digest *digest,
                        struct cvm_error **err)
{
    char show[CVM_SHOWN_SIZE(80)];
    CVM_AUTOFREE char *path = NULL;
    CVM_AUTOFREE char *ctype = NULL;
    if (asprintf(&path, "/v2/%s/manifests/%s", ps->path, reference) < 0 ||
        asprintf(&ctype, "Content-Type: %s", media_type) < 0)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    const char *headers[] = {ctype, NULL};
    struct cvm_http_body body = {.data = raw->data, .len = raw->len, .fd = -1};
    struct registry_call c = {
        .method = "PUT", .path = path, .scope = ps->scope, .headers = headers, .body = &body};
    struct cvm_http_response resp = {0};
    int res = registry_call(ps->r, &c, &resp, err);
    char what[160]; /* tags are at most 128 bytes */
    snprintf(what, sizeof(what), "manifest '%s'", reference);
    struct cvm_digest said;
    char want[CVM_DIGEST_STR_SIZE];
    if (res == 0 && resp.status != 201)
        res = unexpected(what, &resp, err);
    else if (res == 0 && resp.docker_content_digest &&
             (cvm_digest_parse(resp.docker_content_digest, &said, NULL) < 0 ||
              !cvm_digest_equal(&said, digest)))
        res = cvm_error_set(err, CVM_E_DIGEST, "%s: the registry stored %s as '%s'", what,
                            cvm_digest_format(digest, want),
                            cvm_shown(resp.docker_content_digest, 80, show));
    cvm_http_response_release(&resp);
    if (res == 0) {
        CVM_AUTOFREE char *title = NULL;
        emit(ps, CVM_TRANSFER_MANIFEST, NULL,
             asprintf(&title, "manifest %s", reference) < 0 ? "manifest" : title, 0);
    }
    return res;
}

static int plan_blob(struct push *ps, const struct cvm_descriptor *d, const char *title,
                     struct cvm_error **err)
{
    for (size_t i = 0; i < ps->n_blobs; i++)
        if (cvm_digest_equal(&ps->blobs[i].desc->digest, &d->digest))
            return 0;
    struct push_blob *grown = realloc(ps->blobs, (ps->n_blobs + 1) * sizeof(*grown));
    if (!grown)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    ps->blobs = grown;
    ps->blobs[ps->n_blobs++] = (struct push_blob){.desc = d, .title = title, .ps = ps};
    return 0;
}

/* Lists the blobs of the manifest `desc` names, and the manifest after them, to be put under
 * `reference` (a tag, or NULL for its digest). An index lists its manifests first. */
static int plan_manifest(struct push *ps, const struct cvm_descriptor *desc, const char *reference,
                         int depth, struct cvm_error **err)
{
    struct push_manifest pm = {.desc = desc, .reference = reference};
    cvm_buf_init(&pm.raw, 0);
    int res = cvm_store_read_manifest(ps->s, desc, &pm.m, &pm.raw, err);
    const struct cvm_manifest *m = pm.m;
    if (res == 0 && m->is_index && depth > 0)
        res = cvm_error_set(err, CVM_E_FORMAT, "an index inside an index");
    for (size_t i = 0; res == 0 && i < m->n_entries; i++) {
        const struct cvm_descriptor *e = &m->entries[i];
        res = m->is_index ? plan_manifest(ps, e, NULL, depth + 1, err)
                          : plan_blob(ps, e, e->title ? e->title : "layer", err);
    }
    if (res == 0 && !m->is_index)
        res = plan_blob(ps, &m->config, "config", err);
    /* Appended after whatever its entries added: an index is put after its manifests. */
    struct push_manifest *grown =
        res == 0 ? realloc(ps->manifests, (ps->n_manifests + 1) * sizeof(*grown)) : NULL;
    if (res == 0 && !grown)
        res = cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    if (res < 0) {
        cvm_manifest_free(pm.m);
        cvm_buf_release(&pm.raw);
        return res;
    }
    ps->manifests = grown;
    ps->manifests[ps->n_manifests++] = pm;
    return 0;
}

static void push_release(struct push *ps)
{
    for (size_t i = 0; i < ps->n_manifests; i++) {
        cvm_manifest_free(ps->manifests[i].m);
        cvm_buf_release(&ps->manifests[i].raw);
    }
    free(ps->manifests);
    free(ps->blobs);
    free(ps->scope);
    pthread_mutex_destroy(&ps->lock);
}

static int put_manifests(struct push *ps, struct cvm_error **err)
{
    int res = 0;
    for (size_t i = 0; res == 0 && i < ps->n_manifests; i++) {
        const struct push_manifest *pm = &ps->manifests[i];
        char dstr[CVM_DIGEST_STR_SIZE];
        res = put_manifest(
            ps, pm->reference ? pm->reference : cvm_digest_format(&pm->desc->digest, dstr),
            pm->m->media_type ? pm->m->media_type : pm->desc->media_type, &pm->raw,
            &pm->desc->digest, err);
    }
    return res;
}

int cvm_registry_push(struct cvm_registry *r, struct cvm_store *s, const struct cvm_reference *src,
                      const struct cvm_reference *dst, const struct cvm_transfer_progress *p,
                      struct cvm_push_result *ret, struct cvm_error **err)
{
    struct push ps = {.r = r, .s = s, .path = dst->path};
    pthread_mutex_init(&ps.lock, NULL);
    r->progress = p;
    if (strcasecmp(src->domain, dst->domain) == 0 && strcmp(src->path, dst->path) != 0)
        ps.mount_from = src->path;
    struct cvm_descriptor desc = {0}, sig = {0};
    bool has_desc = false, has_sig = false;
    int res = (ps.scope = registry_scope(dst->path, "pull,push"))
                  ? cvm_store_resolve(s, src, &desc, err)
                  : cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    has_desc = res == 0;
    /* The signature travels with the image, under the destination's signature tag. */
    CVM_AUTOFREE char *src_repo = res == 0 ? cvm_reference_repository(src) : NULL;
    CVM_AUTOFREE char *sig_name = src_repo ? cvm_signature_tag(src_repo, &desc.digest) : NULL;
    if (res == 0 && !sig_name)
        res = cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    if (res == 0)
        res = cvm_store_find(s, sig_name, &sig, &has_sig, err);
    char dstr[CVM_DIGEST_STR_SIZE];
    if (res == 0)
        res = plan_manifest(&ps, &desc, dst->tag ? dst->tag : cvm_digest_format(&desc.digest, dstr),
                            0, err);
    if (res == 0 && has_sig)
        res = plan_manifest(&ps, &sig, strrchr(sig_name, ':') + 1, 0, err);
    if (res == 0)
        res = push_blobs(&ps, err);
    if (res == 0)
        res = put_manifests(&ps, err);
    if (res == 0) {
        ps.res.digest = desc.digest;
        ps.res.signature_pushed = has_sig;
        *ret = ps.res;
    }
    if (has_sig)
        cvm_descriptor_release(&sig);
    if (has_desc)
        cvm_descriptor_release(&desc);
    push_release(&ps);
    r->progress = NULL;
    return res;
}
