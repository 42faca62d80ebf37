#include "image-check.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base.h"
#include "manifest.h"
#include "store.h"

/* Reads manifest d (which checks its digest) and checks its size; counts it. */
static int read_checked_manifest(struct cvm_store *s, const struct cvm_descriptor *d,
                                 struct cvm_manifest **ret, uint64_t *blobs, uint64_t *bytes,
                                 struct cvm_error **err)
{
    struct cvm_buf raw;
    int r = cvm_store_read_manifest(s, d, ret, &raw, err);
    if (r < 0)
        return r;
    size_t len = raw.len;
    cvm_buf_release(&raw);
    char ds[CVM_DIGEST_STR_SIZE];
    if (len != d->size) {
        cvm_manifest_free(*ret);
        *ret = NULL;
        return cvm_error_set(err, CVM_E_DIGEST,
                             "blob %s has %zu bytes, but its descriptor says %llu",
                             cvm_digest_format(&d->digest, ds), len, (unsigned long long)d->size);
    }
    *blobs += 1;
    *bytes += len;
    return 0;
}

/* Digests checked so far: the images of an index may share blobs (a deployment manifest, a
 * rootfs), and each is hashed and counted once. */
struct checked {
    struct cvm_digest *d;
    size_t n, cap;
};

/* Checks blob desc unless it was checked already; counts it. */
static int check_blob_once(struct cvm_store *s, const struct cvm_descriptor *desc,
                           struct checked *seen, uint64_t *blobs, uint64_t *bytes,
                           struct cvm_error **err)
{
    for (size_t i = 0; i < seen->n; i++)
        if (cvm_digest_equal(&seen->d[i], &desc->digest))
            return 0;
    if (seen->n == seen->cap) {
        size_t cap = seen->cap ? 2 * seen->cap : 16;
        struct cvm_digest *d = realloc(seen->d, cap * sizeof(*d));
        if (!d)
            return cvm_error_set_errno(err, ENOMEM, "cannot check blobs");
        seen->d = d, seen->cap = cap;
    }
    uint64_t n = 0;
    int r = cvm_store_check_blob(s, desc, &n, err);
    if (r < 0)
        return r;
    seen->d[seen->n++] = desc->digest;
    *blobs += 1;
    *bytes += n;
    return 0;
}

/* Everything manifest m refers to: its config and layers, or the manifests an index lists. */
static int check_contents(struct cvm_store *s, const struct cvm_manifest *m, int depth,
                          struct checked *seen, uint64_t *blobs, uint64_t *bytes,
                          struct cvm_error **err)
{
    if (m->is_index && depth > 2)
        return cvm_error_set(err, CVM_E_LIMIT, "indexes nest too deep");
    int r = m->is_index ? 0 : check_blob_once(s, &m->config, seen, blobs, bytes, err);
    for (size_t i = 0; r == 0 && i < m->n_entries; i++) {
        if (m->is_index) {
            CVM_AUTO(cvm_manifest_free) struct cvm_manifest *child = NULL;
            if ((r = read_checked_manifest(s, &m->entries[i], &child, blobs, bytes, err)) == 0)
                r = check_contents(s, child, depth + 1, seen, blobs, bytes, err);
        } else {
            r = check_blob_once(s, &m->entries[i], seen, blobs, bytes, err);
        }
    }
    return r;
}

/* check_contents from the top, with a set of its own. */
static int check_all(struct cvm_store *s, const struct cvm_manifest *m, uint64_t *blobs,
                     uint64_t *bytes, struct cvm_error **err)
{
    struct checked seen = {0};
    int r = check_contents(s, m, 0, &seen, blobs, bytes, err);
    free(seen.d);
    return r;
}

static void log_checked(uint64_t start, uint64_t blobs, uint64_t bytes)
{
    double took = (double)(cvm_clock_ns() - start) / 1e9;
    cvm_log(CVM_LOG_DEBUG, "checked %llu blobs, %llu bytes in %.1f ms (%.2f GB/s)",
            (unsigned long long)blobs, (unsigned long long)bytes, took * 1e3,
            took > 0 ? (double)bytes / took / 1e9 : 0.0);
}

int cvm_image_check_blobs(struct cvm_store *s, const struct cvm_descriptor *image,
                          uint64_t *ret_blobs, uint64_t *ret_bytes, struct cvm_error **err)
{
    uint64_t blobs = 0, bytes = 0;
    uint64_t start = cvm_clock_ns();
    CVM_AUTO(cvm_manifest_free) struct cvm_manifest *m = NULL;
    int r = read_checked_manifest(s, image, &m, &blobs, &bytes, err);
    if (r == 0)
        r = check_all(s, m, &blobs, &bytes, err);
    if (r < 0)
        return r;
    log_checked(start, blobs, bytes);
    *ret_blobs = blobs;
    *ret_bytes = bytes;
    return 0;
}

/* Below this many bytes a check runs in _finish: hashing them (at ~1.7 GB/s here) takes less
 * than a process's first thread costs to start (~0.3 ms, ~0.5 ms with its malloc arena). */
#define CHECK_THREAD_MIN_BYTES (1u << 20)

struct cvm_blob_check {
    struct cvm_store *store;
    struct cvm_manifest *m; /* the image's manifest, read and checked by _start */
    pthread_t thread;
    bool started;
    int result;
    uint64_t start, blobs, bytes;
    struct cvm_error *err;
};

static void *check_main(void *arg)
{
    struct cvm_blob_check *c = arg;
    c->result = check_all(c->store, c->m, &c->blobs, &c->bytes, &c->err);
    return NULL;
}

/* What the check will hash, as the descriptors say; an index counts as large. */
static uint64_t contents_size(const struct cvm_manifest *m)
{
    if (m->is_index)
        return UINT64_MAX;
    uint64_t n = m->config.size;
    for (size_t i = 0; i < m->n_entries; i++)
        n += m->entries[i].size;
    return n;
}

struct cvm_blob_check *cvm_image_check_blobs_start(struct cvm_store *s,
                                                   const struct cvm_descriptor *image)
{
    struct cvm_blob_check *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->store = s;
    c->start = cvm_clock_ns();
    c->result = read_checked_manifest(s, image, &c->m, &c->blobs, &c->bytes, &c->err);
    if (c->result == 0 && contents_size(c->m) >= CHECK_THREAD_MIN_BYTES)
        c->started = pthread_create(&c->thread, NULL, check_main, c) == 0;
    return c;
}

int cvm_image_check_blobs_finish(struct cvm_blob_check *c, uint64_t *ret_blobs, uint64_t *ret_bytes,
                                 struct cvm_error **err)
{
    if (!c)
        return cvm_error_set_errno(err, ENOMEM, "cannot check blobs");
    if (c->started)
        pthread_join(c->thread, NULL);
    else if (c->result == 0)
        c->start = cvm_clock_ns(), check_main(c);
    int r = c->result;
    if (r == 0)
        log_checked(c->start, c->blobs, c->bytes);
    if (r < 0 && err && !*err)
        *err = c->err;
    else
        cvm_error_free(c->err);
    if (r == 0 && ret_blobs)
        *ret_blobs = c->blobs;
    if (r == 0 && ret_bytes)
        *ret_bytes = c->bytes;
    cvm_manifest_free(c->m);
    free(c);
    return r;
}
