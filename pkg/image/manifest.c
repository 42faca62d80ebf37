/* Strict parsers for manifests, indexes and cVM configs. Input is untrusted: bounded size,
 * duplicate keys refused, every field type-checked; the bytes are hashed by the caller and
 * never re-encoded. */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "base.h"
#include "manifest.h"

struct jctx {
    const char *display;
    struct cvm_error **err;
};

static int jfail(struct jctx *c, const char *path, const char *what)
{
    return cvm_error_set(c->err, CVM_E_FORMAT, "%s: '%s': %s", c->display, path, what);
}

static int load(const void *data, size_t len, struct jctx *c, json_t **ret)
{
    if (len > CVM_MANIFEST_MAX)
        return cvm_error_set(c->err, CVM_E_LIMIT, "%s: %zu bytes, over the limit of %u", c->display,
                             len, CVM_MANIFEST_MAX);
    char show[CVM_SHOWN_SIZE(JSON_ERROR_TEXT_LENGTH)];
    json_error_t je;
    json_t *j = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!j)
        return cvm_error_set(c->err, CVM_E_FORMAT, "%s: invalid JSON at line %d column %d: %s",
                             c->display, je.line, je.column,
                             cvm_shown(je.text, JSON_ERROR_TEXT_LENGTH, show));
    if (!json_is_object(j)) {
        json_decref(j);
        return cvm_error_set(c->err, CVM_E_FORMAT, "%s: not a JSON object", c->display);
    }
    *ret = j;
    return 0;
}

/* A string member: required or optional (NULL when absent). */
static int get_str(struct jctx *c, json_t *obj, const char *path, const char *key, bool required,
                   char **ret)
{
    char where[256];
    snprintf(where, sizeof(where), "%s%s%s", path, path[0] ? "." : "", key);
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required)
            return jfail(c, where, "missing");
        *ret = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return jfail(c, where, "must be a string");
    if (strlen(json_string_value(v)) != json_string_length(v))
        return jfail(c, where, "contains a NUL character");
    if (!(*ret = strdup(json_string_value(v))))
        return cvm_error_set_errno(c->err, ENOMEM, "%s: cannot allocate", c->display);
    return 0;
}

static int get_digest(struct jctx *c, json_t *obj, const char *path, const char *key,
                      struct cvm_digest *ret)
{
    CVM_AUTOFREE char *s = NULL;
    int r = get_str(c, obj, path, key, true, &s);
    if (r < 0)
        return r;
    CVM_AUTO(cvm_error_free) struct cvm_error *e = NULL;
    if (cvm_digest_parse(s, ret, &e) < 0) {
        char where[256];
        snprintf(where, sizeof(where), "%s%s%s", path, path[0] ? "." : "", key);
        return cvm_error_set(c->err, e->code, "%s: '%s': %s", c->display, where, e->message);
    }
    return 0;
}

/* Media types as RFC 6838 restricts them: type/subtype of a bounded, printable set. */
static bool media_type_valid(const char *s)
{
    size_t n = strlen(s), slash = strcspn(s, "/");
    if (n == 0 || n > 255 || slash == 0 || slash >= n - 1 || strchr(s + slash + 1, '/'))
        return false;
    for (const char *p = s; *p; p++)
        if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9') &&
            !strchr("!#$&-^_.+/", *p))
            return false;
    return true;
}

static int get_annotation(struct jctx *c, json_t *ann, const char *path, const char *key,
                          char **ret)
{
    return ann ? get_str(c, ann, path, key, false, ret) : 0;
}

static int parse_descriptor(struct jctx *c, json_t *d, const char *path, struct cvm_descriptor *ret)
{
    if (!json_is_object(d))
        return jfail(c, path, "must be an object");
    struct cvm_descriptor out = {0};
    int r = get_str(c, d, path, "mediaType", true, &out.media_type);
    if (r == 0 && !media_type_valid(out.media_type))
        r = jfail(c, path, "mediaType is not a valid media type");
    if (r == 0)
        r = get_digest(c, d, path, "digest", &out.digest);
    json_t *size = json_object_get(d, "size");
    if (r == 0 && (!json_is_integer(size) || json_integer_value(size) < 0 ||
                   json_integer_value(size) > (json_int_t)1 << 53))
        r = jfail(c, path, "size must be a non-negative integer");
    if (r == 0)
        out.size = (uint64_t)json_integer_value(size);
    if (r == 0)
        r = get_str(c, d, path, "artifactType", false, &out.artifact_type);
    json_t *ann = json_object_get(d, "annotations");
    if (r == 0 && ann && !json_is_object(ann))
        r = jfail(c, path, "annotations must be an object");
    char apath[256];
    snprintf(apath, sizeof(apath), "%s.annotations", path);
    if (r == 0)
        r = get_annotation(c, ann, apath, CVM_ANNOTATION_TITLE, &out.title);
    if (r == 0)
        r = get_annotation(c, ann, apath, CVM_ANNOTATION_COSIGN_SIGNATURE, &out.signature);
    if (r == 0)
        r = get_annotation(c, ann, apath, CVM_ANNOTATION_REF_NAME, &out.ref_name);
    json_t *platform = json_object_get(d, "platform");
    if (r == 0 && platform) {
        char ppath[256];
        snprintf(ppath, sizeof(ppath), "%s.platform", path);
        if (!json_is_object(platform))
            r = jfail(c, ppath, "must be an object");
        if (r == 0)
            r = get_str(c, platform, ppath, "os", true, &out.os);
        if (r == 0)
            r = get_str(c, platform, ppath, "architecture", true, &out.architecture);
        if (r == 0)
            r = get_str(c, platform, ppath, "variant", false, &out.variant);
    }
    if (r < 0) {
        cvm_descriptor_release(&out);
        return r;
    }
    *ret = out;
    return 0;
}

void cvm_descriptor_release(struct cvm_descriptor *d)
{
    free(d->media_type);
    free(d->artifact_type);
    free(d->title);
    free(d->signature);
    free(d->ref_name);
    free(d->os);
    free(d->architecture);
    free(d->variant);
    *d = (struct cvm_descriptor){0};
}

void cvm_manifest_free(struct cvm_manifest *m)
{
    if (!m)
        return;
    free(m->media_type);
    free(m->artifact_type);
    cvm_descriptor_release(&m->config);
    for (size_t i = 0; i < m->n_entries; i++)
        cvm_descriptor_release(&m->entries[i]);
    free(m->entries);
    free(m);
}

static int parse_entries(struct jctx *c, json_t *list, const char *key, struct cvm_manifest *m)
{
    if (!json_is_array(list))
        return jfail(c, key, "must be an array");
    size_t n = json_array_size(list);
    if (n > CVM_MANIFEST_MAX_ENTRIES)
        return cvm_error_set(c->err, CVM_E_LIMIT, "%s: '%s': %zu entries, over the limit of %u",
                             c->display, key, n, CVM_MANIFEST_MAX_ENTRIES);
    if (n && !(m->entries = calloc(n, sizeof(*m->entries))))
        return cvm_error_set_errno(c->err, ENOMEM, "%s: cannot allocate", c->display);
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof(path), "%s[%zu]", key, i);
        int r = parse_descriptor(c, json_array_get(list, i), path, &m->entries[i]);
        if (r < 0)
            return r;
        m->n_entries = i + 1;
    }
    return 0;
}

int cvm_manifest_parse(const void *data, size_t len, const char *display, struct cvm_manifest **ret,
                       struct cvm_error **err)
{
    struct jctx c = {display, err};
    json_auto_t *j = NULL;
    int r = load(data, len, &c, &j);
    if (r < 0)
        return r;
    json_t *sv = json_object_get(j, "schemaVersion");
    if (!json_is_integer(sv) || json_integer_value(sv) != 2)
        return jfail(&c, "schemaVersion", "must be 2");
    CVM_AUTO(cvm_manifest_free) struct cvm_manifest *m = calloc(1, sizeof(*m));
    if (!m)
        return cvm_error_set_errno(err, ENOMEM, "%s: cannot allocate", display);
    if ((r = get_str(&c, j, "", "mediaType", true, &m->media_type)) < 0)
        return r;
    if ((r = get_str(&c, j, "", "artifactType", false, &m->artifact_type)) < 0)
        return r;
    if (strcmp(m->media_type, CVM_MEDIA_OCI_INDEX) == 0 ||
        strcmp(m->media_type, CVM_MEDIA_DOCKER_LIST) == 0) {
        m->is_index = true;
        r = parse_entries(&c, json_object_get(j, "manifests"), "manifests", m);
    } else if (strcmp(m->media_type, CVM_MEDIA_OCI_MANIFEST) == 0 ||
               strcmp(m->media_type, CVM_MEDIA_DOCKER_MANIFEST) == 0) {
        r = parse_descriptor(&c, json_object_get(j, "config"), "config", &m->config);
        if (r == 0)
            r = parse_entries(&c, json_object_get(j, "layers"), "layers", m);
    } else {
        char show[CVM_SHOWN_SIZE(100)];
        return cvm_error_set(err, CVM_E_UNSUPPORTED, "%s: unsupported manifest media type '%s'",
                             display, cvm_shown(m->media_type, 100, show));
    }
    if (r < 0)
        return r;
    *ret = cvm_steal_ptr(&m);
    return 0;
}

int cvm_layout_index_parse(const void *data, size_t len, const char *display,
                           struct cvm_manifest **ret, struct cvm_error **err)
{
    struct jctx c = {display, err};
    json_auto_t *j = NULL;
    int r = load(data, len, &c, &j);
    if (r < 0)
        return r;
    json_t *sv = json_object_get(j, "schemaVersion");
    if (!json_is_integer(sv) || json_integer_value(sv) != 2)
        return jfail(&c, "schemaVersion", "must be 2");
    CVM_AUTO(cvm_manifest_free) struct cvm_manifest *m = calloc(1, sizeof(*m));
    if (!m)
        return cvm_error_set_errno(err, ENOMEM, "%s: cannot allocate", display);
    m->is_index = true;
    if ((r = get_str(&c, j, "", "mediaType", false, &m->media_type)) < 0)
        return r;
    if (m->media_type && strcmp(m->media_type, CVM_MEDIA_OCI_INDEX) != 0)
        return jfail(&c, "mediaType", "must be '" CVM_MEDIA_OCI_INDEX "'");
    if ((r = parse_entries(&c, json_object_get(j, "manifests"), "manifests", m)) < 0)
        return r;
    *ret = cvm_steal_ptr(&m);
    return 0;
}

const struct cvm_descriptor *cvm_manifest_layer(const struct cvm_manifest *m, const char *title)
{
    for (size_t i = 0; !m->is_index && i < m->n_entries; i++)
        if (m->entries[i].title && strcmp(m->entries[i].title, title) == 0)
            return &m->entries[i];
    return NULL;
}

void cvm_image_config_free(struct cvm_image_config *c)
{
    if (!c)
        return;
    free(c->architecture);
    free(c->os);
    free(c->variant);
    free(c->deployment);
    free(c->ldso);
    free(c->rootfs);
    for (size_t i = 0; i < c->n_vms; i++) {
        free(c->vms[i].name);
        free(c->vms[i].runtime);
    }
    free(c->vms);
    free(c);
}

static int parse_config_vm(struct jctx *c, json_t *v, size_t i, struct cvm_config_vm *ret)
{
    char path[64];
    snprintf(path, sizeof(path), "cvm.cvms[%zu]", i);
    if (!json_is_object(v))
        return jfail(c, path, "must be an object");
    int r = get_str(c, v, path, "name", true, &ret->name);
    if (r == 0)
        r = get_str(c, v, path, "runtime", true, &ret->runtime);
    if (r == 0)
        r = get_digest(c, v, path, "runtime_measurement", &ret->runtime_measurement);
    if (r == 0)
        r = get_digest(c, v, path, "measurement", &ret->measurement);
    return r;
}

int cvm_image_config_parse(const void *data, size_t len, const char *display,
                           struct cvm_image_config **ret, struct cvm_error **err)
{
    struct jctx c = {display, err};
    json_auto_t *j = NULL;
    int r = load(data, len, &c, &j);
    if (r < 0)
        return r;
    CVM_AUTO(cvm_image_config_free) struct cvm_image_config *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return cvm_error_set_errno(err, ENOMEM, "%s: cannot allocate", display);
    if ((r = get_str(&c, j, "", "architecture", true, &cfg->architecture)) < 0 ||
        (r = get_str(&c, j, "", "os", true, &cfg->os)) < 0 ||
        (r = get_str(&c, j, "", "variant", false, &cfg->variant)) < 0)
        return r;
    json_t *cvm = json_object_get(j, "cvm");
    if (!json_is_object(cvm))
        return jfail(&c, "cvm", "must be an object");
    json_t *version = json_object_get(cvm, "version");
    if (!json_is_integer(version) || json_integer_value(version) != 1)
        return jfail(&c, "cvm.version", "must be 1");
    if ((r = get_str(&c, cvm, "cvm", "deployment", true, &cfg->deployment)) < 0 ||
        (r = get_digest(&c, cvm, "cvm", "measurement", &cfg->measurement)) < 0)
        return r;
    json_t *ldso = json_object_get(cvm, "ldso");
    if (ldso) {
        if (!json_is_object(ldso))
            return jfail(&c, "cvm.ldso", "must be an object");
        if ((r = get_str(&c, ldso, "cvm.ldso", "title", true, &cfg->ldso)) < 0 ||
            (r = get_digest(&c, ldso, "cvm.ldso", "measurement", &cfg->ldso_measurement)) < 0)
            return r;
    }
    json_t *rootfs = json_object_get(cvm, "rootfs");
    if (rootfs) {
        if (!json_is_object(rootfs))
            return jfail(&c, "cvm.rootfs", "must be an object");
        json_t *size = json_object_get(rootfs, "size");
        if ((r = get_str(&c, rootfs, "cvm.rootfs", "title", true, &cfg->rootfs)) < 0 ||
            (r = get_digest(&c, rootfs, "cvm.rootfs", "digest", &cfg->rootfs_digest)) < 0)
            return r;
        if (!json_is_integer(size) || json_integer_value(size) < 0)
            return jfail(&c, "cvm.rootfs.size", "must be a non-negative integer");
        cfg->rootfs_size = (uint64_t)json_integer_value(size);
    }
    json_t *vms = json_object_get(cvm, "cvms");
    if (!json_is_array(vms) || json_array_size(vms) == 0)
        return jfail(&c, "cvm.cvms", "must be a non-empty array");
    size_t n = json_array_size(vms);
    if (n > CVM_CONFIG_MAX_VMS)
        return cvm_error_set(err, CVM_E_LIMIT, "%s: 'cvm.cvms': %zu cVMs, over the limit of %u",
                             display, n, CVM_CONFIG_MAX_VMS);
    if (!(cfg->vms = calloc(n, sizeof(*cfg->vms))))
        return cvm_error_set_errno(err, ENOMEM, "%s: cannot allocate", display);
    for (size_t i = 0; i < n; i++) {
        cfg->n_vms = i + 1;
        if ((r = parse_config_vm(&c, json_array_get(vms, i), i, &cfg->vms[i])) < 0)
            return r;
    }
    *ret = cvm_steal_ptr(&cfg);
    return 0;
}
