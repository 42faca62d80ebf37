/* Push: every blob the registry lacks (HEAD first; a cross-repository mount when the image
 * came from another repository of the same registry), uploaded with POST then PUT, or in
 * PATCH chunks when large; then the manifest with its media type; then the signature. A
 * multi-platform index pushes each platform's image before the index. */
#include <errno.h>
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

struct push {
    struct cvm_registry *r;
    struct cvm_store *s;
    const char *path;       /* the destination repository on the registry */
    const char *mount_from; /* a repository of the same registry holding the blobs, or NULL */
    char *scope;
    const struct cvm_transfer_progress *p;
    struct cvm_push_result res;
};

static void emit(const struct push *ps, enum cvm_transfer_event_kind kind,
                 const struct cvm_descriptor *d, const char *title, uint64_t bytes)
{
    if (!ps->p || !ps->p->event)
        return;
    struct cvm_transfer_event ev = {.kind = kind,
                                    .digest = d ? &d->digest : NULL,
                                    .title = title,
                                    .size = d ? d->size : 0,
                                    .bytes = bytes};
    ps->p->event(ps->p->data, &ev);
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
        res = resp.status == 200 ? 1 : resp.status == 404 ? 0 : unexpected(path, &resp, err);
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
    struct registry_call c = {.method = "POST", .path = path, .scope = ps->scope};
    struct cvm_http_response resp = {0};
    int res = registry_call(ps->r, &c, &resp, err);
    if (res == 0 && mount && resp.status == 201)
        res = 1;
    else if (res == 0 && resp.status == 202 && resp.location)
        *ret_location = cvm_steal_ptr(&resp.location);
    else if (res == 0)
        res = unexpected(path, &resp, err);
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
    struct push *ps = data;
    emit(ps, CVM_TRANSFER_BLOB_BYTES, NULL, NULL, bytes);
}

/* Sends [0, size) of fd to an upload session and closes it with the digest. */
static int upload_body(struct push *ps, char *location, int fd, const struct cvm_descriptor *d,
                       const char *dstr, struct cvm_error **err)
{
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
            .fd = fd, .offset = off, .length = n, .progress = on_sent, .progress_data = ps};
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
        .fd = fd, .offset = off, .length = d->size - off, .progress = on_sent, .progress_data = ps};
    struct registry_call c = {
        .method = "PUT", .path = url, .scope = ps->scope, .headers = octets, .body = &body};
    struct cvm_http_response resp = {0};
    res = registry_call(ps->r, &c, &resp, err);
    if (res == 0 && resp.status != 201)
        res = unexpected("upload", &resp, err);
    cvm_http_response_release(&resp);
    return res;
}

static int push_blob(struct push *ps, const struct cvm_descriptor *d, const char *title,
                     struct cvm_error **err)
{
    char dstr[CVM_DIGEST_STR_SIZE];
    cvm_digest_format(&d->digest, dstr);
    int res = blob_exists(ps, dstr, err);
    if (res == 0 && ps->mount_from) {
        CVM_AUTOFREE char *location = NULL;
        /* Not mountable: the registry opened an ordinary upload instead, left to expire. */
        res = upload_start(ps, dstr, true, &location, err);
    }
    if (res == 1) {
        ps->res.blobs_skipped++;
        emit(ps, CVM_TRANSFER_BLOB_SKIPPED, d, title, 0);
        return 0;
    }
    int fd = -1;
    if (res == 0)
        res = cvm_store_open_blob(ps->s, &d->digest, &fd, err);
    if (res == 0)
        emit(ps, CVM_TRANSFER_BLOB_START, d, title, 0);
    /* A failed upload session is abandoned and the blob sent again in a new one. */
    for (int attempt = 1; res == 0; attempt++) {
        char *location = NULL;
        struct cvm_error *e = NULL;
        res = upload_start(ps, dstr, false, &location, &e);
        if (res == 0)
            res = upload_body(ps, location, fd, d, dstr, &e);
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
    ps->res.blobs_sent++;
    ps->res.bytes_sent += d->size;
    emit(ps, CVM_TRANSFER_BLOB_DONE, d, title, 0);
    return 0;
}

static int put_manifest(struct push *ps, const char *reference, const char *media_type,
                        const struct cvm_buf *raw, const struct cvm_digest *digest,
                        struct cvm_error **err)
{
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
    struct cvm_digest said;
    char want[CVM_DIGEST_STR_SIZE];
    if (res == 0 && resp.status != 201)
        res = unexpected("manifest", &resp, err);
    else if (res == 0 && resp.docker_content_digest &&
             (cvm_digest_parse(resp.docker_content_digest, &said, NULL) < 0 ||
              !cvm_digest_equal(&said, digest)))
        res = cvm_error_set(err, CVM_E_DIGEST, "manifest %s: the registry stored it as '%.80s'",
                            cvm_digest_format(digest, want), resp.docker_content_digest);
    cvm_http_response_release(&resp);
    if (res == 0) {
        CVM_AUTOFREE char *title = NULL;
        emit(ps, CVM_TRANSFER_MANIFEST, NULL,
             asprintf(&title, "manifest %s", reference) < 0 ? "manifest" : title, 0);
    }
    return res;
}

/* Pushes the blobs of the manifest `desc` names and then the manifest under `reference`
 * (a tag, or NULL for its digest). Indexes push their manifests first. */
static int push_manifest(struct push *ps, const struct cvm_descriptor *desc, const char *reference,
                         int depth, struct cvm_error **err)
{
    CVM_AUTO(cvm_manifest_free) struct cvm_manifest *m = NULL;
    struct cvm_buf raw;
    int res = cvm_store_read_manifest(ps->s, desc, &m, &raw, err);
    if (res < 0)
        return res;
    if (m->is_index && depth > 0)
        res = cvm_error_set(err, CVM_E_FORMAT, "an index inside an index");
    for (size_t i = 0; res == 0 && i < m->n_entries; i++) {
        if (m->is_index)
            res = push_manifest(ps, &m->entries[i], NULL, depth + 1, err);
        else
            res = push_blob(ps, &m->entries[i], m->entries[i].title ? m->entries[i].title : "layer",
                            err);
    }
    if (res == 0 && !m->is_index)
        res = push_blob(ps, &m->config, "config", err);
    char dstr[CVM_DIGEST_STR_SIZE];
    if (res == 0)
        res = put_manifest(ps, reference ? reference : cvm_digest_format(&desc->digest, dstr),
                           m->media_type ? m->media_type : desc->media_type, &raw, &desc->digest,
                           err);
    cvm_buf_release(&raw);
    return res;
}

int cvm_registry_push(struct cvm_registry *r, struct cvm_store *s, const struct cvm_reference *src,
                      const struct cvm_reference *dst, const struct cvm_transfer_progress *p,
                      struct cvm_push_result *ret, struct cvm_error **err)
{
    struct push ps = {.r = r, .s = s, .path = dst->path, .p = p};
    r->progress = p;
    if (strcasecmp(src->domain, dst->domain) == 0 && strcmp(src->path, dst->path) != 0)
        ps.mount_from = src->path;
    struct cvm_descriptor desc = {0};
    int res = (ps.scope = registry_scope(dst->path, "pull,push"))
                  ? cvm_store_resolve(s, src, &desc, err)
                  : cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    char dstr[CVM_DIGEST_STR_SIZE];
    if (res == 0)
        res = push_manifest(&ps, &desc, dst->tag ? dst->tag : cvm_digest_format(&desc.digest, dstr),
                            0, err);
    /* The signature travels with the image, under the destination's signature tag. */
    CVM_AUTOFREE char *src_repo = res == 0 ? cvm_reference_repository(src) : NULL;
    CVM_AUTOFREE char *sig_name = src_repo ? cvm_signature_tag(src_repo, &desc.digest) : NULL;
    struct cvm_descriptor sig = {0};
    bool has_sig = false;
    if (res == 0 && !sig_name)
        res = cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    if (res == 0)
        res = cvm_store_find(s, sig_name, &sig, &has_sig, err);
    if (res == 0 && has_sig) {
        res = push_manifest(&ps, &sig, strrchr(sig_name, ':') + 1, 0, err);
        ps.res.signature_pushed = res == 0;
    }
    if (has_sig)
        cvm_descriptor_release(&sig);
    if (res == 0) {
        ps.res.digest = desc.digest;
        *ret = ps.res;
    }
    cvm_descriptor_release(&desc);
    free(ps.scope);
    r->progress = NULL;
    return res;
}
