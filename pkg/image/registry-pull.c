/* Pull: the manifest (choosing a platform from an index), then every missing blob, several
 * at once, each streamed into a temporary file of the store with its size bounded by the
 * descriptor and its digest computed on the way; only a verified file becomes a blob. A broken
 * transfer resumes with Range. Names are written last, so a failed pull names nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "manifest.h"
#include "reference.h"
#include "registry-internal.h"
#include "signature.h"
#include "store.h"

static const char *const manifest_accept[] = {
    "Accept: " CVM_MEDIA_OCI_MANIFEST ", " CVM_MEDIA_OCI_INDEX ", " CVM_MEDIA_DOCKER_MANIFEST
    ", " CVM_MEDIA_DOCKER_LIST,
    NULL,
};

struct pull {
    struct cvm_registry *r;
    struct cvm_store *s;
    const char *path; /* the repository on the registry */
    char *scope;
    struct cvm_pull_result res;
};

static void emit(const struct pull *pl, enum cvm_transfer_event_kind kind,
                 const struct cvm_descriptor *d, const char *title, uint64_t bytes)
{
    struct cvm_transfer_event ev = {.kind = kind,
                                    .digest = d ? &d->digest : NULL,
                                    .title = title,
                                    .size = d ? d->size : 0,
                                    .bytes = bytes};
    registry_emit(pl->r, &ev);
}

/* GET a manifest by tag or digest; checks its digest against `want` (when given) and the
 * registry's Docker-Content-Digest; *ret_digest is what the bytes hash to. */
static int get_manifest(struct pull *pl, const char *reference, const struct cvm_digest *want,
                        struct cvm_buf *out, struct cvm_digest *ret_digest, bool *ret_found,
                        struct cvm_error **err)
{
    char show[CVM_SHOWN_SIZE(80)];
    CVM_AUTOFREE char *path = NULL;
    if (asprintf(&path, "/v2/%s/manifests/%s", pl->path, reference) < 0)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    cvm_buf_init(out, CVM_MANIFEST_MAX);
    struct cvm_http_sink sink = {.buf = out, .fd = -1};
    struct registry_call c = {.method = "GET",
                              .path = path,
                              .scope = pl->scope,
                              .headers = manifest_accept,
                              .sink = &sink};
    struct cvm_http_response resp = {0};
    int res = registry_call(pl->r, &c, &resp, err);
    if (res < 0)
        return res;
    if (resp.status == 404 && ret_found) {
        *ret_found = false;
        cvm_http_response_release(&resp);
        return 0;
    }
    if (resp.status != 200) {
        char what[300];
        registry_describe(&resp, what, sizeof(what));
        res = cvm_error_set(err, resp.status == 404 ? CVM_E_NOTFOUND : CVM_E_NET,
                            "manifest '%s': %s", reference, what);
    }
    struct cvm_digest got;
    cvm_digest_of(out->data, out->len, &got);
    char g[CVM_DIGEST_STR_SIZE], w[CVM_DIGEST_STR_SIZE];
    struct cvm_digest header;
    if (res == 0 && want && !cvm_digest_equal(&got, want))
        res = cvm_error_set(err, CVM_E_DIGEST,
                            "manifest '%s': the registry sent bytes with digest %s",
                            cvm_digest_format(want, w), cvm_digest_format(&got, g));
    else if (res == 0 && resp.docker_content_digest &&
             (cvm_digest_parse(resp.docker_content_digest, &header, NULL) < 0 ||
              !cvm_digest_equal(&header, &got)))
        res = cvm_error_set(err, CVM_E_DIGEST,
                            "manifest '%s': the registry says its digest is '%s', but the "
                            "bytes it sent have digest %s",
                            reference, cvm_shown(resp.docker_content_digest, 80, show),
                            cvm_digest_format(&got, g));
    cvm_http_response_release(&resp);
    if (res < 0) {
        cvm_buf_release(out);
        return res;
    }
    *ret_digest = got;
    if (ret_found)
        *ret_found = true;
    return 0;
}

/* ---- blobs -------------------------------------------------------------------------------- */

struct blob_job {
    const struct cvm_descriptor *desc;
    const char *title;
    char tmp[64];
    int fd;
    struct cvm_hasher *hasher;
    char *url;         /* after a redirect; NULL: the registry's blob URL */
    bool cross_origin; /* the URL is another host's: no credentials */
    bool authenticated;
    int attempts, redirects;
    bool done;
    /* This round's request. */
    struct cvm_http_sink sink;
    struct cvm_http_request req;
    char range[64];
    const char *headers[2];
    char *blob_url;
    char *authorization;
    bool fresh_authorization; /* fetched for this job: kept even within the renewal margin */
};

struct progress_ctx {
    const struct pull *pl;
    struct blob_job *job;
};

static void job_release(struct pull *pl, struct blob_job *j)
{
    if (j->fd >= 0) {
        close(j->fd);
        unlinkat(cvm_store_dirfd(pl->s), j->tmp, 0);
        j->fd = -1;
    }
    cvm_hasher_free(j->hasher);
    j->hasher = NULL;
    free(j->url);
    free(j->blob_url);
    free(j->authorization);
    j->url = j->blob_url = j->authorization = NULL;
}

static int job_start(struct pull *pl, struct blob_job *j, size_t n, struct cvm_error **err)
{
    char hex[CVM_DIGEST_HEX_LEN + 1];
    cvm_digest_hex(&j->desc->digest, hex);
    snprintf(j->tmp, sizeof(j->tmp), ".tmp-pull-%d-%zu", (int)getpid(), n);
    j->fd = openat(cvm_store_dirfd(pl->s), j->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (j->fd < 0)
        return cvm_error_set_errno(err, errno, "cannot create '%s/%s'", cvm_store_root(pl->s),
                                   j->tmp);
    if (!(j->hasher = cvm_hasher_new()) ||
        asprintf(&j->blob_url, "/v2/%s/blobs/sha256:%s", pl->path, hex) < 0) {
        j->blob_url = NULL;
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    }
    emit(pl, CVM_TRANSFER_BLOB_START, j->desc, j->title, 0);
    return 0;
}

/* The verified file becomes the blob. */
static int job_commit(struct pull *pl, struct blob_job *j, struct cvm_error **err)
{
    char w[CVM_DIGEST_STR_SIZE], g[CVM_DIGEST_STR_SIZE];
    struct cvm_digest got;
    cvm_hasher_final(j->hasher, &got);
    if (!cvm_digest_equal(&got, &j->desc->digest))
        return cvm_error_set(err, CVM_E_DIGEST, "blob %s: the registry sent bytes with digest %s",
                             cvm_digest_format(&j->desc->digest, w), cvm_digest_format(&got, g));
    if (fsync(j->fd) < 0)
        return cvm_error_set_errno(err, errno, "cannot write '%s'", j->tmp);
    close(j->fd);
    j->fd = -1;
    int res = cvm_store_adopt_blob(pl->s, cvm_store_dirfd(pl->s), j->tmp, &j->desc->digest, err);
    if (res < 0) {
        unlinkat(cvm_store_dirfd(pl->s), j->tmp, 0);
        return res;
    }
    j->done = true;
    pl->res.blobs_fetched++;
    pl->res.bytes_fetched += j->desc->size;
    emit(pl, CVM_TRANSFER_BLOB_DONE, j->desc, j->title, 0);
    return 0;
}

static void on_bytes(void *data, uint64_t bytes)
{
    struct progress_ctx *c = data;
    emit(c->pl, CVM_TRANSFER_BLOB_BYTES, c->job->desc, c->job->title, bytes);
}

static int job_prepare(struct pull *pl, struct blob_job *j, struct progress_ctx *pc,
                       struct cvm_error **err)
{
    int res = registry_ping(pl->r, err);
    if (res < 0)
        return res;
    if (!j->url && asprintf(&j->url, "%s%s", pl->r->base, j->blob_url) < 0) {
        j->url = NULL;
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    }
    pc->pl = pl;
    pc->job = j;
    j->sink = (struct cvm_http_sink){
        .fd = j->fd,
        .max = j->desc->size,
        .hasher = j->hasher,
        .written = j->sink.written,
        .progress = on_bytes,
        .progress_data = pc,
    };
    size_t h = 0;
    if (j->sink.written > 0) {
        snprintf(j->range, sizeof(j->range), "Range: bytes=%llu-",
                 (unsigned long long)j->sink.written);
        j->headers[h++] = j->range;
    }
    j->headers[h] = NULL;
    if (j->cross_origin || !j->fresh_authorization) {
        free(j->authorization);
        j->authorization = j->cross_origin ? NULL : registry_authorization(pl->r, pl->scope);
    }
    j->req = (struct cvm_http_request){
        .method = "GET",
        .url = j->url,
        .authorization = j->authorization,
        .headers = j->headers,
        .sink = &j->sink,
    };
    return 0;
}

/* Judges one finished transfer: 1 to go again (resume, redirect, new token, retry, after
 * the backoff it has waited), 0 done, or an error. */
static int job_judge(struct pull *pl, struct blob_job *j, int result, struct cvm_error *e,
                     struct cvm_http_response *resp, struct cvm_error **err)
{
    char d[CVM_DIGEST_STR_SIZE];
    cvm_digest_format(&j->desc->digest, d);
    if (result == -CVM_E_LIMIT)
        return cvm_error_set(err, CVM_E_DIGEST,
                             "blob %s: the registry sent more than the %llu bytes of its "
                             "descriptor",
                             d, (unsigned long long)j->desc->size);
    if (result < 0) {
        if (result != -CVM_E_NET || ++j->attempts >= CVM_REGISTRY_ATTEMPTS) {
            cvm_error_set(err, (enum cvm_error_class) - result, "blob %s: %s", d,
                          e ? e->message : "failed");
            return result;
        }
        char msg[1400];
        snprintf(msg, sizeof(msg), "blob %s: %s; resuming at byte %llu", d,
                 e ? e->message : "failed", (unsigned long long)j->sink.written);
        registry_backoff(pl->r, j->attempts, -1, msg);
        return 1;
    }
    long st = resp->status;
    if ((st == 200 || st == 206) && j->sink.written == j->desc->size)
        return job_commit(pl, j, err);
    if (st == 200 || st == 206) {
        /* A body shorter than the descriptor with a clean end: ask for the rest. */
        if (++j->attempts >= CVM_REGISTRY_ATTEMPTS)
            return cvm_error_set(err, CVM_E_NET, "blob %s: the registry sent %llu of %llu bytes", d,
                                 (unsigned long long)j->sink.written,
                                 (unsigned long long)j->desc->size);
        return 1;
    }
    if (st == 401 && !j->cross_origin && !j->authenticated) {
        j->authenticated = true;
        int res =
            registry_authenticate(pl->r, pl->scope, j->authorization, resp, &j->authorization, err);
        if (res < 0)
            return res;
        j->fresh_authorization = true;
        return 1;
    }
    if ((st == 301 || st == 302 || st == 303 || st == 307 || st == 308) && resp->location) {
        if (++j->redirects > REGISTRY_MAX_REDIRECTS)
            return cvm_error_set(err, CVM_E_NET, "blob %s: more than %d redirects", d,
                                 REGISTRY_MAX_REDIRECTS);
        j->cross_origin = j->cross_origin || !cvm_http_same_origin(j->url, resp->location);
        free(j->url);
        j->url = cvm_steal_ptr(&resp->location);
        return 1;
    }
    char what[300];
    registry_describe(resp, what, sizeof(what));
    if (registry_retryable(st) && ++j->attempts < CVM_REGISTRY_ATTEMPTS) {
        char msg[1400];
        snprintf(msg, sizeof(msg), "blob %s: %s", d, what);
        registry_backoff(pl->r, j->attempts, resp->retry_after_s, msg);
        return 1;
    }
    return cvm_error_set(err, st == 404 ? CVM_E_NOTFOUND : CVM_E_NET, "blob %s: %s", d, what);
}

/* Fetches every listed blob the store lacks, CVM_REGISTRY_PARALLEL at a time. */
static int fetch_blobs(struct pull *pl, const struct cvm_descriptor *const *descs,
                       const char *const *titles, size_t n, struct cvm_error **err)
{
    CVM_AUTOFREE struct blob_job *jobs = calloc(n ? n : 1, sizeof(*jobs));
    if (!jobs)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    int res = 0;
    for (size_t i = 0; i < n; i++) {
        jobs[i] = (struct blob_job){.desc = descs[i], .title = titles[i], .fd = -1};
        if (cvm_store_has_blob(pl->s, &descs[i]->digest)) {
            jobs[i].done = true;
            pl->res.blobs_present++;
            emit(pl, CVM_TRANSFER_BLOB_SKIPPED, descs[i], titles[i], 0);
        }
    }
    for (;;) {
        struct cvm_http_transfer *t[CVM_REGISTRY_PARALLEL] = {0};
        struct blob_job *round[CVM_REGISTRY_PARALLEL];
        struct progress_ctx pc[CVM_REGISTRY_PARALLEL];
        size_t k = 0;
        for (size_t i = 0; res == 0 && i < n && k < CVM_REGISTRY_PARALLEL; i++) {
            struct blob_job *j = &jobs[i];
            if (j->done)
                continue;
            if (j->fd < 0)
                res = job_start(pl, j, i, err);
            if (res == 0)
                res = job_prepare(pl, j, &pc[k], err);
            if (res == 0)
                res = cvm_http_transfer_new(&pl->r->o.http, &j->req, &t[k], err);
            if (res == 0)
                round[k++] = j;
        }
        if (res < 0 || k == 0) {
            for (size_t i = 0; i < k; i++)
                cvm_http_transfer_free(t[i]);
            break;
        }
        struct cvm_http_response resp[CVM_REGISTRY_PARALLEL] = {0};
        int results[CVM_REGISTRY_PARALLEL];
        struct cvm_error *errs[CVM_REGISTRY_PARALLEL] = {0};
        res = cvm_http_perform_many(t, k, resp, results, errs, err);
        for (size_t i = 0; i < k; i++) {
            int judged =
                res < 0 ? res : job_judge(pl, round[i], results[i], errs[i], &resp[i], err);
            if (judged < 0 && res == 0)
                res = judged;
            cvm_http_response_release(&resp[i]);
            cvm_error_free(errs[i]);
            cvm_http_transfer_free(t[i]);
        }
    }
    for (size_t i = 0; i < n; i++)
        job_release(pl, &jobs[i]);
    return res;
}

/* ---- manifests and names ------------------------------------------------------------------ */

/* How well index entry d fits the platform asked for (registry.md §4): 0 best, -1 not at
 * all. A variant asked for must be the entry's. Without one, an entry without a variant fits
 * best, then one with the architecture's default variant (v8 for arm64, v1 for amd64), then
 * one with any other variant. */
static int platform_rank(const struct cvm_descriptor *d, const struct cvm_pull_options *po)
{
    const char *os = po && po->os ? po->os : "linux";
    const char *arch = po && po->architecture ? po->architecture : CVM_HOST_ARCHITECTURE;
    if (!d->os || !d->architecture || strcmp(d->os, os) != 0 || strcmp(d->architecture, arch) != 0)
        return -1;
    if (po && po->variant)
        return d->variant && strcmp(d->variant, po->variant) == 0 ? 0 : -1;
    if (!d->variant)
        return 0;
    const char *implied = strcmp(arch, "arm64") == 0   ? "v8"
                          : strcmp(arch, "amd64") == 0 ? "v1"
                                                       : NULL;
    return implied && strcmp(d->variant, implied) == 0 ? 1 : 2;
}

/* The best-ranked entry; of equally ranked ones, the first. */
static int choose_platform(const struct cvm_manifest *index, const struct cvm_pull_options *po,
                           const struct cvm_descriptor **ret, struct cvm_error **err)
{
    const struct cvm_descriptor *best = NULL;
    int best_rank = -1;
    for (size_t i = 0; i < index->n_entries; i++) {
        int rank = platform_rank(&index->entries[i], po);
        if (rank >= 0 && (!best || rank < best_rank)) {
            best = &index->entries[i];
            best_rank = rank;
        }
    }
    if (best) {
        *ret = best;
        return 0;
    }
    char have[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < index->n_entries && len < sizeof(have) - 64; i++) {
        const struct cvm_descriptor *d = &index->entries[i];
        len += (size_t)snprintf(have + len, sizeof(have) - len, "%s%s/%s%s%s", i ? ", " : "",
                                d->os ? d->os : "?", d->architecture ? d->architecture : "?",
                                d->variant ? "/" : "", d->variant ? d->variant : "");
    }
    return cvm_error_set(err, CVM_E_NOTFOUND,
                         "no image for platform %s/%s%s%s in the index (it has %s)",
                         po && po->os ? po->os : "linux",
                         po && po->architecture ? po->architecture : CVM_HOST_ARCHITECTURE,
                         po && po->variant ? "/" : "", po && po->variant ? po->variant : "",
                         have[0] ? have : "none");
}

/* Fetches manifest m's config and layers, then stores the manifest bytes themselves. */
static int fetch_image(struct pull *pl, const struct cvm_manifest *m, const struct cvm_buf *raw,
                       struct cvm_error **err)
{
    size_t n = m->n_entries + 1;
    CVM_AUTOFREE const struct cvm_descriptor **descs = calloc(n, sizeof(*descs));
    CVM_AUTOFREE const char **titles = calloc(n, sizeof(*titles));
    if (!descs || !titles)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    descs[0] = &m->config;
    titles[0] = "config";
    for (size_t i = 0; i < m->n_entries; i++) {
        descs[i + 1] = &m->entries[i];
        titles[i + 1] = m->entries[i].title ? m->entries[i].title : "layer";
    }
    int res = fetch_blobs(pl, descs, titles, n, err);
    struct cvm_digest stored;
    if (res == 0)
        res = cvm_store_put_blob(pl->s, raw->data, raw->len, &stored, err);
    return res;
}

/* Pulls the sha256-<hex>.sig tag for digest d when the registry has one. */
static int pull_signature(struct pull *pl, const struct cvm_reference *ref,
                          const struct cvm_digest *d, struct cvm_error **err)
{
    CVM_AUTOFREE char *repository = cvm_reference_repository(ref);
    CVM_AUTOFREE char *name = repository ? cvm_signature_tag(repository, d) : NULL;
    if (!name)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    const char *tag = strrchr(name, ':') + 1;
    struct cvm_buf raw;
    struct cvm_digest got;
    bool found = false;
    int res = get_manifest(pl, tag, NULL, &raw, &got, &found, err);
    if (res < 0 || !found)
        return res;
    CVM_AUTO(cvm_manifest_free) struct cvm_manifest *m = NULL;
    CVM_AUTOFREE char *display = NULL;
    res = asprintf(&display, "signature '%s'", tag) < 0
              ? cvm_error_set_errno(err, ENOMEM, "cannot allocate")
              : cvm_manifest_parse(raw.data, raw.len, display, &m, err);
    if (res == 0 && m->is_index)
        res = cvm_error_set(err, CVM_E_FORMAT, "signature '%s' is an index, not a manifest", tag);
    if (res == 0)
        res = fetch_image(pl, m, &raw, err);
    if (res == 0) {
        struct cvm_descriptor desc = {.media_type = m->media_type, .digest = got, .size = raw.len};
        res = cvm_store_tag(pl->s, name, &desc, err);
    }
    if (res == 0) {
        pl->res.signature_pulled = true;
        emit(pl, CVM_TRANSFER_MANIFEST, NULL, "signature", 0);
    }
    cvm_buf_release(&raw);
    return res;
}

/* Parses manifest bytes, naming them "manifest '<reference>'" in messages. */
static int parse_manifest(const struct cvm_buf *raw, const char *reference,
                          struct cvm_manifest **ret, struct cvm_error **err)
{
    CVM_AUTOFREE char *display = NULL;
    if (asprintf(&display, "manifest '%s'", reference) < 0)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    return cvm_manifest_parse(raw->data, raw->len, display, ret, err);
}

int cvm_registry_pull(struct cvm_registry *r, struct cvm_store *s, const struct cvm_reference *ref,
                      const struct cvm_pull_options *po, const struct cvm_transfer_progress *p,
                      struct cvm_pull_result *ret, struct cvm_error **err)
{
    struct pull pl = {.r = r, .s = s, .path = ref->path};
    r->progress = p;
    if (!(pl.scope = registry_scope(ref->path, "pull")))
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    char want[CVM_DIGEST_STR_SIZE];
    const char *reference = ref->has_digest ? cvm_digest_format(&ref->digest, want) : ref->tag;
    struct cvm_buf raw;
    cvm_buf_init(&raw, 0);
    struct cvm_digest top;
    int res =
        get_manifest(&pl, reference, ref->has_digest ? &ref->digest : NULL, &raw, &top, NULL, err);
    CVM_AUTO(cvm_manifest_free) struct cvm_manifest *m = NULL;
    if (res == 0)
        res = parse_manifest(&raw, reference, &m, err);
    struct cvm_digest image = top;
    if (res == 0 && m->is_index) {
        /* The platform's manifest is what the name will point at, as docker pull does. */
        const struct cvm_descriptor *chosen = NULL;
        res = choose_platform(m, po, &chosen, err);
        struct cvm_digest child = chosen ? chosen->digest : top;
        uint64_t child_size = chosen ? chosen->size : 0;
        cvm_buf_release(&raw);
        char cd[CVM_DIGEST_STR_SIZE];
        if (res == 0)
            res = get_manifest(&pl, cvm_digest_format(&child, cd), &child, &raw, &image, NULL, err);
        if (res == 0 && raw.len != child_size)
            res = cvm_error_set(err, CVM_E_DIGEST,
                                "manifest %s has %zu bytes, but the index says %llu", cd, raw.len,
                                (unsigned long long)child_size);
        cvm_manifest_free(m);
        m = NULL;
        if (res == 0)
            res = parse_manifest(&raw, cd, &m, err);
        if (res == 0 && m->is_index)
            res = cvm_error_set(err, CVM_E_FORMAT, "manifest %s: an index inside an index", cd);
    }
    if (res == 0)
        res = fetch_image(&pl, m, &raw, err);
    if (res == 0)
        emit(&pl, CVM_TRANSFER_MANIFEST, NULL, "manifest", 0);
    if (res == 0)
        res = pull_signature(&pl, ref, &image, err);
    if (res == 0) {
        CVM_AUTOFREE char *name = NULL;
        struct cvm_descriptor desc = {
            .media_type = m->media_type, .digest = image, .size = raw.len};
        char hex[CVM_DIGEST_STR_SIZE];
        if (asprintf(&name, "%s/%s%s%s", ref->domain, ref->path, ref->tag ? ":" : "@",
                     ref->tag ? ref->tag : cvm_digest_format(&image, hex)) < 0)
            res = cvm_error_set_errno(err, ENOMEM, "cannot allocate");
        else
            res = cvm_store_tag(s, name, &desc, err);
    }
    if (res == 0) {
        pl.res.digest = image;
        *ret = pl.res;
    }
    cvm_buf_release(&raw);
    free(pl.scope);
    r->progress = NULL;
    return res;
}
