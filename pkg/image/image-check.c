#include "image-check.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base.h"
#include "manifest.h"
#include "store.h"

static int check_manifest(struct cvm_store *s, const struct cvm_descriptor *d, int depth,
                          uint64_t *blobs, uint64_t *bytes, struct cvm_error **err)
{
    /* Reading the manifest checks its digest; its size is checked here. */
    CVM_AUTO(cvm_manifest_free) struct cvm_manifest *m = NULL;
    struct cvm_buf raw;
    int r = cvm_store_read_manifest(s, d, &m, &raw, err);
    if (r < 0)
        return r;
    size_t len = raw.len;
    cvm_buf_release(&raw);
    char ds[CVM_DIGEST_STR_SIZE];
    if (len != d->size)
        return cvm_error_set(err, CVM_E_DIGEST,
                             "blob %s has %zu bytes, but its descriptor says %llu",
                             cvm_digest_format(&d->digest, ds), len, (unsigned long long)d->size);
    *blobs += 1;
    *bytes += len;
    if (m->is_index && depth > 2)
        return cvm_error_set(err, CVM_E_LIMIT, "indexes nest too deep");
    uint64_t n = 0;
    if (!m->is_index && (r = cvm_store_check_blob(s, &m->config, &n, err)) == 0)
        *blobs += 1, *bytes += n;
    for (size_t i = 0; r == 0 && i < m->n_entries; i++) {
        if (m->is_index) {
            r = check_manifest(s, &m->entries[i], depth + 1, blobs, bytes, err);
        } else if ((r = cvm_store_check_blob(s, &m->entries[i], &n, err)) == 0) {
            *blobs += 1;
            *bytes += n;
        }
    }
    return r;
}

int cvm_image_check_blobs(struct cvm_store *s, const struct cvm_descriptor *image,
                          uint64_t *ret_blobs, uint64_t *ret_bytes, struct cvm_error **err)
{
    uint64_t blobs = 0, bytes = 0;
    uint64_t start = cvm_clock_ns();
    int r = check_manifest(s, image, 0, &blobs, &bytes, err);
    if (r < 0)
        return r;
    double took = (double)(cvm_clock_ns() - start) / 1e9;
    cvm_log(CVM_LOG_DEBUG, "checked %llu blobs, %llu bytes in %.1f ms (%.2f GB/s)",
            (unsigned long long)blobs, (unsigned long long)bytes, took * 1e3,
            took > 0 ? (double)bytes / took / 1e9 : 0.0);
    *ret_blobs = blobs;
    *ret_bytes = bytes;
    return 0;
}

struct cvm_blob_check {
    struct cvm_store *store;
    const struct cvm_descriptor *image;
    pthread_t thread;
    bool started;
    int result;
    uint64_t blobs, bytes;
    struct cvm_error *err;
};

static void *check_main(void *arg)
{
    struct cvm_blob_check *c = arg;
    c->result = cvm_image_check_blobs(c->store, c->image, &c->blobs, &c->bytes, &c->err);
    return NULL;
}

struct cvm_blob_check *cvm_image_check_blobs_start(struct cvm_store *s,
                                                   const struct cvm_descriptor *image)
{
    struct cvm_blob_check *c = calloc(1, sizeof(*c));
    if (c) {
        c->store = s;
        c->image = image;
        c->started = pthread_create(&c->thread, NULL, check_main, c) == 0;
    }
    return c;
}

int cvm_image_check_blobs_finish(struct cvm_blob_check *c, uint64_t *ret_blobs, uint64_t *ret_bytes,
                                 struct cvm_error **err)
{
    if (!c)
        return cvm_error_set_errno(err, ENOMEM, "cannot check blobs");
    if (c->started)
        pthread_join(c->thread, NULL);
    else
        check_main(c);
    int r = c->result;
    if (r < 0 && err && !*err)
        *err = c->err;
    else
        cvm_error_free(c->err);
    if (r == 0 && ret_blobs)
        *ret_blobs = c->blobs;
    if (r == 0 && ret_bytes)
        *ret_bytes = c->bytes;
    free(c);
    return r;
}
