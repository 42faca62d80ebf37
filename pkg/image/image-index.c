/* Multi-platform images: platform names, and OCI image indexes built from cVM images in the
 * store. The encoder writes keys in a fixed order and nothing else, so an index is a pure
 * function of its entries (specs/image-format.md §2). */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "image-index.h"
#include "store.h"

/* One part of a platform: 1 to CVM_PLATFORM_PART_MAX lowercase letters and digits. */
static bool part_valid(const char *s, size_t len)
{
    if (len == 0 || len > CVM_PLATFORM_PART_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= '0' && s[i] <= '9'))
            return false;
    return true;
}

int cvm_platform_parse(const char *text, struct cvm_platform *ret, struct cvm_error **err)
{
    struct cvm_platform p = {0};
    char *parts[] = {p.os, p.architecture, p.variant};
    const char *s = text;
    size_t n = 0;
    for (;;) {
        size_t len = strcspn(s, "/");
        if (n == 3 || !part_valid(s, len))
            return cvm_error_set(err, CVM_E_USAGE,
                                 "platform '%.100s' is not os/architecture[/variant] of lowercase "
                                 "letters and digits",
                                 text);
        memcpy(parts[n++], s, len);
        if (!s[len])
            break;
        s += len + 1;
    }
    if (n < 2)
        return cvm_error_set(err, CVM_E_USAGE,
                             "platform '%.100s' is not os/architecture[/variant] of lowercase "
                             "letters and digits",
                             text);
    *ret = p;
    return 0;
}

char *cvm_platform_format(const struct cvm_platform *p, char out[CVM_PLATFORM_STR_SIZE])
{
    snprintf(out, CVM_PLATFORM_STR_SIZE, "%s/%s%s%s", p->os, p->architecture,
             p->variant[0] ? "/" : "", p->variant);
    return out;
}

/* ---- the index ---------------------------------------------------------------------------- */

void cvm_image_index_init(struct cvm_image_index *ix)
{
    *ix = (struct cvm_image_index){0};
}

void cvm_image_index_release(struct cvm_image_index *ix)
{
    for (size_t i = 0; i < ix->n_entries; i++) {
        cvm_descriptor_release(&ix->entries[i]);
        free(ix->names[i]);
    }
    free(ix->entries);
    free(ix->names);
    cvm_image_index_init(ix);
}

static bool str_equal(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_platform(const struct cvm_descriptor *a, const struct cvm_descriptor *b)
{
    return a->os && a->architecture && str_equal(a->os, b->os) &&
           str_equal(a->architecture, b->architecture) && str_equal(a->variant, b->variant);
}

static const char *platform_str(const struct cvm_descriptor *d, char out[CVM_PLATFORM_STR_SIZE])
{
    snprintf(out, CVM_PLATFORM_STR_SIZE, "%.32s/%.32s%s%.32s", d->os, d->architecture,
             d->variant ? "/" : "", d->variant ? d->variant : "");
    return out;
}

/* What an index entry keeps of a descriptor: media type, digest, size and platform. */
static int entry_copy(const struct cvm_descriptor *from, struct cvm_descriptor *to,
                      struct cvm_error **err)
{
    struct cvm_descriptor d = {.digest = from->digest, .size = from->size};
    if (!(d.media_type = strdup(from->media_type)) || (from->os && !(d.os = strdup(from->os))) ||
        (from->architecture && !(d.architecture = strdup(from->architecture))) ||
        (from->variant && !(d.variant = strdup(from->variant)))) {
        cvm_descriptor_release(&d);
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    }
    *to = d;
    return 0;
}

static int reserve(struct cvm_image_index *ix, struct cvm_error **err)
{
    if (ix->n_entries == CVM_MANIFEST_MAX_ENTRIES)
        return cvm_error_set(err, CVM_E_LIMIT, "an index lists at most %u manifests",
                             CVM_MANIFEST_MAX_ENTRIES);
    if (ix->n_entries < ix->cap)
        return 0;
    size_t cap = ix->cap ? ix->cap * 2 : 8;
    struct cvm_descriptor *entries = realloc(ix->entries, cap * sizeof(*entries));
    if (entries)
        ix->entries = entries;
    char **names = entries ? realloc(ix->names, cap * sizeof(*names)) : NULL;
    if (!names)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    ix->names = names;
    ix->cap = cap;
    return 0;
}

int cvm_image_index_init_from(struct cvm_image_index *ix, const struct cvm_manifest *m,
                              struct cvm_error **err)
{
    cvm_image_index_init(ix);
    if (!m->is_index)
        return cvm_error_set(err, CVM_E_FORMAT, "not an image index (media type '%s')",
                             m->media_type ? m->media_type : "none");
    for (size_t i = 0; i < m->n_entries; i++) {
        int r = reserve(ix, err);
        if (r == 0)
            r = entry_copy(&m->entries[i], &ix->entries[ix->n_entries], err);
        if (r < 0) {
            cvm_image_index_release(ix);
            return r;
        }
        ix->names[ix->n_entries++] = NULL;
    }
    return 0;
}

int cvm_image_index_add(struct cvm_image_index *ix, const struct cvm_descriptor *entry,
                        const char *name, struct cvm_error **err)
{
    char p[CVM_PLATFORM_STR_SIZE];
    if (!entry->os || !entry->architecture)
        return cvm_error_set(err, CVM_E_USAGE, "'%s' has no platform", name);
    size_t at = ix->n_entries;
    for (size_t i = 0; i < ix->n_entries && at == ix->n_entries; i++) {
        if (!same_platform(&ix->entries[i], entry))
            continue;
        if (ix->names[i])
            return cvm_error_set(err, CVM_E_CONFLICT, "images '%s' and '%s' are both for %s",
                                 ix->names[i], name, platform_str(entry, p));
        at = i;
    }
    struct cvm_descriptor d;
    CVM_AUTOFREE char *copy = strdup(name);
    int r = copy ? 0 : cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    if (r == 0 && at == ix->n_entries)
        r = reserve(ix, err);
    if (r == 0)
        r = entry_copy(entry, &d, err);
    if (r < 0)
        return r;
    if (at == ix->n_entries)
        ix->n_entries++;
    else
        cvm_descriptor_release(&ix->entries[at]);
    ix->entries[at] = d;
    ix->names[at] = cvm_steal_ptr(&copy);
    return 0;
}

static json_t *entry_json(const struct cvm_descriptor *d)
{
    char digest[CVM_DIGEST_STR_SIZE];
    json_t *j = json_pack("{s:s, s:s, s:I}", "mediaType", d->media_type, "digest",
                          cvm_digest_format(&d->digest, digest), "size", (json_int_t)d->size);
    if (!j || !d->os || !d->architecture)
        return j;
    json_t *p = json_pack("{s:s, s:s}", "architecture", d->architecture, "os", d->os);
    if (p && d->variant && json_object_set_new(p, "variant", json_string(d->variant)) < 0) {
        json_decref(p);
        p = NULL;
    }
    if (!p || json_object_set_new(j, "platform", p) < 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

int cvm_image_index_encode(const struct cvm_image_index *ix, struct cvm_buf *ret,
                           struct cvm_error **err)
{
    /* jansson keeps keys in insertion order, which fixes the encoding. */
    json_auto_t *list = json_array();
    for (size_t i = 0; list && i < ix->n_entries; i++)
        if (json_array_append_new(list, entry_json(&ix->entries[i])) < 0)
            return cvm_error_set_errno(err, ENOMEM, "cannot encode the index");
    json_auto_t *j = list ? json_pack("{s:i, s:s, s:O}", "schemaVersion", 2, "mediaType",
                                      CVM_MEDIA_OCI_INDEX, "manifests", list)
                          : NULL;
    CVM_AUTOFREE char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (!text)
        return cvm_error_set_errno(err, ENOMEM, "cannot encode the index");
    struct cvm_buf b;
    cvm_buf_init(&b, CVM_MANIFEST_MAX);
    int r = cvm_buf_append(&b, text, strlen(text), err);
    if (r < 0)
        return cvm_error_prefix(err, "index");
    *ret = b;
    return 0;
}

int cvm_image_index_write(struct cvm_store *s, const struct cvm_image_index *ix,
                          struct cvm_descriptor *ret, struct cvm_error **err)
{
    struct cvm_buf b;
    int r = cvm_image_index_encode(ix, &b, err);
    if (r < 0)
        return r;
    struct cvm_descriptor d = {.size = b.len};
    r = cvm_store_put_blob(s, b.data, b.len, &d.digest, err);
    cvm_buf_release(&b);
    if (r < 0)
        return r;
    if (!(d.media_type = strdup(CVM_MEDIA_OCI_INDEX)))
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    *ret = d;
    return 0;
}

/* ---- entries from the store ----------------------------------------------------------------- */

static bool optional_part_valid(const char *s)
{
    return !s || part_valid(s, strlen(s));
}

int cvm_image_index_entry(struct cvm_store *s, const struct cvm_descriptor *desc,
                          const char *display, struct cvm_descriptor *ret, struct cvm_error **err)
{
    CVM_AUTO(cvm_manifest_free) struct cvm_manifest *m = NULL;
    struct cvm_buf raw;
    int r = cvm_store_read_manifest(s, desc, &m, &raw, err);
    if (r < 0)
        return cvm_error_prefix(err, "'%s'", display);
    size_t len = raw.len;
    cvm_buf_release(&raw);
    char d[CVM_DIGEST_STR_SIZE];
    if (len != desc->size)
        return cvm_error_set(
            err, CVM_E_DIGEST, "'%s': manifest %s has %zu bytes, but the store says %llu", display,
            cvm_digest_format(&desc->digest, d), len, (unsigned long long)desc->size);
    if (m->is_index)
        return cvm_error_set(err, CVM_E_FORMAT, "'%s' is an image index, not an image manifest",
                             display);
    if (strcmp(m->config.media_type, CVM_MEDIA_CONFIG) != 0)
        return cvm_error_set(err, CVM_E_FORMAT, "'%s' is not a cVM image (config media type '%s')",
                             display, m->config.media_type);
    struct cvm_buf config;
    if ((r = cvm_store_read_blob(s, &m->config.digest, CVM_MANIFEST_MAX, &config, err)) < 0)
        return cvm_error_prefix(err, "'%s': config", display);
    if (config.len != m->config.size) {
        cvm_buf_release(&config);
        return cvm_error_set(err, CVM_E_DIGEST,
                             "'%s': config %s has %zu bytes, but the manifest says %llu", display,
                             cvm_digest_format(&m->config.digest, d), config.len,
                             (unsigned long long)m->config.size);
    }
    CVM_AUTOFREE char *shown = NULL;
    CVM_AUTO(cvm_image_config_free) struct cvm_image_config *cfg = NULL;
    r = asprintf(&shown, "config of '%s'", display) < 0
            ? cvm_error_set_errno(err, ENOMEM, "cannot allocate")
            : cvm_image_config_parse(config.data, config.len, shown, &cfg, err);
    cvm_buf_release(&config);
    if (r < 0)
        return r;
    if (!optional_part_valid(cfg->os) || !optional_part_valid(cfg->architecture) ||
        !optional_part_valid(cfg->variant))
        return cvm_error_set(err, CVM_E_FORMAT,
                             "'%s': the platform of its config is not os/architecture[/variant] "
                             "of lowercase letters and digits",
                             display);
    struct cvm_descriptor out = {.media_type = m->media_type,
                                 .digest = desc->digest,
                                 .size = len,
                                 .os = cfg->os,
                                 .architecture = cfg->architecture,
                                 .variant = cfg->variant};
    return entry_copy(&out, ret, err);
}
