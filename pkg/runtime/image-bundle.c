/* An image from the store, turned into a deployment spec: every blob's digest and size is
 * checked as it is read, layers are decompressed, and the deployment is measured again with
 * the monitor's loader and compared with the measurement the (signed) config records. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "image-build.h"
#include "layer-cache.h"
#include "registry.h"
#include "runtime.h"
#include "store.h"
#include "zstd-codec.h"

#include <zstd.h>

/* A layer's bytes: read into a buffer, or mapped from the layer cache. */
struct layer_bytes {
    struct cvm_buf buf;
    struct cvm_layer_map map;
    const uint8_t *data;
    size_t len;
};

struct cvm_bundle_storage {
    unsigned flags; /* enum cvm_bundle_flags */
    struct layer_bytes deployment;
    struct layer_bytes runtimes[CVM_CONFIG_MAX_VMS];
    size_t n_runtimes;
    struct layer_bytes ldso, rootfs;
};

static void layer_bytes_release(struct layer_bytes *l)
{
    cvm_buf_release(&l->buf);
    cvm_layer_map_release(&l->map);
    l->data = NULL;
    l->len = 0;
}

void cvm_image_bundle_free(struct cvm_image_bundle *b)
{
    if (!b)
        return;
    cvm_measurement_release(&b->measurement);
    cvm_monitor_config_free(b->deployment);
    cvm_image_config_free(b->config);
    cvm_manifest_free(b->manifest);
    if (b->storage) {
        layer_bytes_release(&b->storage->deployment);
        for (size_t i = 0; i < b->storage->n_runtimes; i++)
            layer_bytes_release(&b->storage->runtimes[i]);
        layer_bytes_release(&b->storage->ldso);
        layer_bytes_release(&b->storage->rootfs);
        free(b->storage);
    }
    free(b);
}

CVM_DEFINE_CLEANUP(struct cvm_image_bundle *, cvm_image_bundle_free)

/* Reads the layer titled `title`: size and digest checked, then decompressed (bounded), or
 * mapped from the layer cache when the bundle uses it. */
static int read_layer(struct cvm_store *s, const struct cvm_manifest *m, const char *title,
                      const char *media_type, size_t max, unsigned flags, struct layer_bytes *out,
                      struct cvm_error **err)
{
    const struct cvm_descriptor *d = cvm_manifest_layer(m, title);
    if (!d)
        return cvm_error_set(err, CVM_E_FORMAT, "the image has no layer '%s'", title);
    char show[CVM_SHOWN_SIZE(100)];
    if (strcmp(d->media_type, media_type) != 0)
        return cvm_error_set(err, CVM_E_FORMAT, "layer '%s' has media type '%s', not '%s'", title,
                             cvm_shown(d->media_type, 100, show), media_type);
    bool compressed = strcmp(media_type, CVM_MEDIA_DEPLOYMENT) != 0;
    char display[300];
    snprintf(display, sizeof(display), "layer '%s'", title);
    if (compressed && (flags & CVM_BUNDLE_LAYER_CACHE)) {
        int r = cvm_layer_cache_open(s, d, max, display, 0, &out->map, err);
        if (r == 0) {
            out->data = out->map.data;
            out->len = out->map.len;
        }
        return r;
    }
    /* A frame never needs much more than its content: bound the read before decompressing. */
    size_t limit = compressed ? ZSTD_COMPRESSBOUND(max) : max;
    if (d->size > limit)
        return cvm_error_set(err, CVM_E_LIMIT, "layer '%s' is %llu bytes, over the limit of %zu",
                             title, (unsigned long long)d->size, limit);
    struct cvm_buf raw;
    int r = cvm_store_read_blob(s, &d->digest, limit, &raw, err);
    if (r < 0)
        return cvm_error_prefix(err, "layer '%s'", title);
    if (raw.len != d->size) {
        size_t got = raw.len;
        cvm_buf_release(&raw);
        return cvm_error_set(err, CVM_E_DIGEST,
                             "layer '%s' has %zu bytes, its descriptor says %llu", title, got,
                             (unsigned long long)d->size);
    }
    if (!compressed) {
        out->buf = raw;
    } else {
        cvm_buf_init(&out->buf, max);
        r = cvm_zstd_decompress(raw.data, raw.len, display, &out->buf, err);
        cvm_buf_release(&raw);
        if (r < 0) {
            cvm_buf_release(&out->buf);
            return r;
        }
    }
    out->data = out->buf.data;
    out->len = out->buf.len;
    return 0;
}

static int mismatch(struct cvm_error **err, const char *what, const uint8_t *got,
                    const struct cvm_digest *want)
{
    struct cvm_digest g;
    memcpy(g.bytes, got, CVM_SHA256_LEN);
    char a[CVM_DIGEST_STR_SIZE], b[CVM_DIGEST_STR_SIZE];
    return cvm_error_set(err, CVM_E_DIGEST, "%s: the image measures %s, its config records %s",
                         what, cvm_digest_format(&g, a), cvm_digest_format(want, b));
}

static int load_files(struct cvm_store *s, struct cvm_image_bundle *b, struct cvm_error **err)
{
    struct cvm_bundle_storage *st = b->storage;
    struct cvm_deploy_spec *spec = &b->deployment->spec;
    int r = 0;
    for (size_t i = 0; r == 0 && i < spec->n_vms; i++) {
        size_t k = 0;
        while (k < i && strcmp(spec->vms[k].runtime_name, spec->vms[i].runtime_name) != 0)
            k++;
        if (k == i) {
            r = read_layer(s, b->manifest, spec->vms[i].runtime_name, CVM_MEDIA_RUNTIME,
                           CVM_CONFIG_MAX_RUNTIME, st->flags, &st->runtimes[i], err);
            st->n_runtimes = i + 1;
        }
        if (r == 0)
            cvm_monitor_config_set_runtime(b->deployment, i, st->runtimes[k].data,
                                           st->runtimes[k].len);
    }
    const char *ldso = cvm_monitor_config_ldso_path(b->deployment);
    if (r == 0 && ldso) {
        r = read_layer(s, b->manifest, cvm_path_basename(ldso), CVM_MEDIA_LDSO, CVM_LDSO_MAX,
                       st->flags, &st->ldso, err);
        spec->ldso = st->ldso.data;
        spec->ldso_len = st->ldso.len;
    }
    if (r == 0 && cvm_monitor_config_rootfs_path(b->deployment)) {
        r = read_layer(s, b->manifest, CVM_ROOTFS_TITLE, CVM_MEDIA_ROOTFS, CVM_ROOTFS_MAX,
                       st->flags, &st->rootfs, err);
        spec->rootfs = st->rootfs.data;
        spec->rootfs_len = st->rootfs.len;
    }
    return r;
}

int cvm_image_bundle_check(const struct cvm_image_bundle *b, const struct cvm_measurement *m,
                           struct cvm_error **err)
{
    const struct cvm_image_config *c = b->config;
    if (c->n_vms != m->n_vms)
        return cvm_error_set(err, CVM_E_DIGEST,
                             "the deployment has %zu cVMs, its config records %zu", m->n_vms,
                             c->n_vms);
    if (m->has_rootfs != (c->rootfs != NULL) ||
        (c->rootfs && memcmp(m->rootfs, c->rootfs_digest.bytes, CVM_SHA256_LEN)))
        return c->rootfs ? mismatch(err, "rootfs", m->rootfs, &c->rootfs_digest)
                         : cvm_error_set(err, CVM_E_DIGEST, "the config records no rootfs");
    for (size_t i = 0; i < c->n_vms; i++) {
        /* The runtime first: when it differs, so does the cVM, and the runtime says why. */
        char what[300];
        const char *name = b->deployment->spec.vms[i].name;
        if (memcmp(m->runtime[i], c->vms[i].runtime_measurement.bytes, CVM_SHA256_LEN) != 0) {
            snprintf(what, sizeof(what), "cVM '%s': its runtime", name);
            return mismatch(err, what, m->runtime[i], &c->vms[i].runtime_measurement);
        }
        if (memcmp(m->cvm[i], c->vms[i].measurement.bytes, CVM_SHA256_LEN) != 0) {
            snprintf(what, sizeof(what), "cVM '%s'", name);
            return mismatch(err, what, m->cvm[i], &c->vms[i].measurement);
        }
    }
    if (memcmp(m->deployment, c->measurement.bytes, CVM_SHA256_LEN) != 0)
        return mismatch(err, "deployment", m->deployment, &c->measurement);
    return 0;
}

static int load_at(struct cvm_store *s, const struct cvm_descriptor *desc, unsigned flags,
                   int depth, struct cvm_image_bundle **ret, struct cvm_error **err);

/* A multi-platform index runs as docker runs one: its image for this host's platform. */
static int load_host_platform(struct cvm_store *s, const struct cvm_manifest *index, unsigned flags,
                              struct cvm_image_bundle **ret, struct cvm_error **err)
{
    char have[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < index->n_entries; i++) {
        const struct cvm_descriptor *e = &index->entries[i];
        if (e->os && e->architecture && strcmp(e->os, "linux") == 0 &&
            strcmp(e->architecture, CVM_HOST_ARCHITECTURE) == 0)
            return load_at(s, e, flags, 1, ret, err);
        int n = snprintf(have + used, sizeof(have) - used, "%s%s/%s%s%s", used ? ", " : "",
                         e->os ? e->os : "?", e->architecture ? e->architecture : "?",
                         e->variant ? "/" : "", e->variant ? e->variant : "");
        if (n > 0 && (size_t)n < sizeof(have) - used)
            used += (size_t)n;
    }
    return cvm_error_set(err, CVM_E_NOTFOUND, "the index has no linux/%s image (it has: %s)",
                         CVM_HOST_ARCHITECTURE, used ? have : "nothing");
}

int cvm_image_bundle_load(struct cvm_store *s, const struct cvm_descriptor *desc, unsigned flags,
                          struct cvm_image_bundle **ret, struct cvm_error **err)
{
    return load_at(s, desc, flags, 0, ret, err);
}

static int load_at(struct cvm_store *s, const struct cvm_descriptor *desc, unsigned flags,
                   int depth, struct cvm_image_bundle **ret, struct cvm_error **err)
{
    CVM_AUTO(cvm_image_bundle_free) struct cvm_image_bundle *b = calloc(1, sizeof(*b));
    if (!b || !(b->storage = calloc(1, sizeof(*b->storage))))
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    b->storage->flags = flags;
    int r = cvm_store_read_manifest(s, desc, &b->manifest, NULL, err);
    if (r < 0)
        return r;
    if (b->manifest->is_index && depth == 0)
        return load_host_platform(s, b->manifest, flags, ret, err);
    const struct cvm_manifest *m = b->manifest;
    if (m->is_index || !m->artifact_type || strcmp(m->artifact_type, CVM_ARTIFACT_IMAGE) != 0 ||
        strcmp(m->config.media_type, CVM_MEDIA_CONFIG) != 0)
        return cvm_error_set(err, CVM_E_FORMAT, "not a cVM image (artifactType '%s')",
                             m->artifact_type ? m->artifact_type : "none");
    struct cvm_buf raw;
    if ((r = cvm_store_read_blob(s, &m->config.digest, CVM_MANIFEST_MAX, &raw, err)) < 0)
        return cvm_error_prefix(err, "config");
    if (raw.len != m->config.size)
        r = cvm_error_set(err, CVM_E_DIGEST, "config has %zu bytes, its descriptor says %llu",
                          raw.len, (unsigned long long)m->config.size);
    if (r == 0)
        r = cvm_image_config_parse(raw.data, raw.len, "config", &b->config, err);
    cvm_buf_release(&raw);
    if (r < 0)
        return r;
    struct layer_bytes *yaml = &b->storage->deployment;
    if ((r = read_layer(s, m, b->config->deployment, CVM_MEDIA_DEPLOYMENT, CVM_CONFIG_MAX_YAML, 0,
                        yaml, err)) < 0)
        return r;
    /* The deployment names layers, not files: parse only, then attach the layers' bytes. */
    if ((r = cvm_monitor_config_parse((const char *)yaml->data, yaml->len, b->config->deployment,
                                      "", CVM_CONFIG_IMAGE | CVM_CONFIG_NO_FILES, &b->deployment,
                                      err)) < 0 ||
        (r = load_files(s, b, err)) < 0)
        return r;
    if (!(flags & CVM_BUNDLE_MEASURE_PLACED)) {
        if ((r = cvm_measure_spec(&b->deployment->spec, &b->measurement, err)) < 0)
            return cvm_error_prefix(err, "measure");
        if ((r = cvm_image_bundle_check(b, &b->measurement, err)) < 0)
            return r;
    }
    *ret = cvm_steal_ptr(&b);
    return 0;
}
