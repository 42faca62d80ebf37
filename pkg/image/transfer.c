/* cvmctl save and load. Load is all or nothing: the tar is unpacked into a staging folder
 * inside the store (same file system, so blobs move in by rename), checked completely, and
 * only then are blobs adopted and names written. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "layout-tar.h"
#include "reference.h"
#include "signature.h"
#include "store.h"
#include "transfer.h"

#define TRANSFER_MAX_BLOBS 100000

struct blob_list {
    struct cvm_digest *d;
    size_t n, cap;
};

static int blobs_add(struct blob_list *l, const struct cvm_digest *d, struct cvm_error **err)
{
    for (size_t i = 0; i < l->n; i++)
        if (cvm_digest_equal(&l->d[i], d))
            return 0;
    if (l->n == TRANSFER_MAX_BLOBS)
        return cvm_error_set(err, CVM_E_LIMIT, "more than %u blobs", TRANSFER_MAX_BLOBS);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        struct cvm_digest *d2 = realloc(l->d, cap * sizeof(*d2));
        if (!d2)
            return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
        l->d = d2;
        l->cap = cap;
    }
    l->d[l->n++] = *d;
    return 0;
}

/* A manifest and everything it references. */
static int collect(struct cvm_store *s, const struct cvm_descriptor *d, struct blob_list *l,
                   int depth, struct cvm_error **err)
{
    struct cvm_manifest *m = NULL;
    int r = blobs_add(l, &d->digest, err);
    if (r == 0)
        r = cvm_store_read_manifest(s, d, &m, NULL, err);
    if (r == 0 && m->is_index && depth > 2)
        r = cvm_error_set(err, CVM_E_LIMIT, "indexes nest too deep");
    if (r == 0 && !m->is_index)
        r = blobs_add(l, &m->config.digest, err);
    for (size_t i = 0; r == 0 && i < m->n_entries; i++)
        r = m->is_index ? collect(s, &m->entries[i], l, depth + 1, err)
                        : blobs_add(l, &m->entries[i].digest, err);
    cvm_manifest_free(m);
    return r;
}

static json_t *index_entry(const struct cvm_descriptor *d, const char *name)
{
    char ds[CVM_DIGEST_STR_SIZE];
    return json_pack("{s:s, s:s, s:I, s:{s:s}}", "mediaType", d->media_type, "digest",
                     cvm_digest_format(&d->digest, ds), "size", (json_int_t)d->size, "annotations",
                     CVM_ANNOTATION_REF_NAME, name);
}

/* Adds image i's signature manifest, when it has one, to the index and the blobs. */
static int add_signatures(struct cvm_store *s, const struct cvm_descriptor *image, json_t *index,
                          struct blob_list *l, struct cvm_error **err)
{
    CVM_AUTO(cvm_reference_free) struct cvm_reference *ref = NULL;
    int r = cvm_reference_parse(image->ref_name, &ref, err);
    CVM_AUTOFREE char *repo = r == 0 ? cvm_reference_repository(ref) : NULL;
    CVM_AUTOFREE char *tag = repo ? cvm_signature_tag(repo, &image->digest) : NULL;
    if (r < 0)
        return r;
    if (!tag)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    struct cvm_descriptor sig;
    bool found = false;
    if ((r = cvm_store_find(s, tag, &sig, &found, err)) < 0 || !found)
        return r;
    for (size_t i = 0; i < json_array_size(index); i++)
        if (strcmp(json_string_value(
                       json_object_get(json_object_get(json_array_get(index, i), "annotations"),
                                       CVM_ANNOTATION_REF_NAME)),
                   tag) == 0) {
            cvm_descriptor_release(&sig);
            return 0;
        }
    r = collect(s, &sig, l, 0, err);
    if (r == 0 && json_array_append_new(index, index_entry(&sig, tag)) < 0)
        r = cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    cvm_descriptor_release(&sig);
    return r;
}

int cvm_image_save(struct cvm_store *s, const struct cvm_descriptor *images, size_t n,
                   const char *path, struct cvm_error **err)
{
    struct blob_list l = {0};
    json_auto_t *entries = json_array();
    int r = entries ? 0 : cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    for (size_t i = 0; r == 0 && i < n; i++) {
        r = collect(s, &images[i], &l, 0, err);
        if (r == 0 && json_array_append_new(entries, index_entry(&images[i], images[i].ref_name)))
            r = cvm_error_set_errno(err, ENOMEM, "cannot allocate");
        if (r == 0)
            r = add_signatures(s, &images[i], entries, &l, err);
    }
    json_auto_t *index = r == 0 ? json_pack("{s:i, s:s, s:O}", "schemaVersion", 2, "mediaType",
                                            CVM_MEDIA_OCI_INDEX, "manifests", entries)
                                : NULL;
    CVM_AUTOFREE char *index_text = index ? json_dumps(index, JSON_COMPACT) : NULL;
    static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
    struct cvm_tar_member *members = r == 0 ? calloc(l.n + 2, sizeof(*members)) : NULL;
    char(*names)[80] = r == 0 ? calloc(l.n ? l.n : 1, sizeof(*names)) : NULL;
    if (r == 0 && (!index_text || !members || !names))
        r = cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    CVM_AUTOFREE char *tmp = NULL;
    if (r == 0 && asprintf(&tmp, "%s.tmp-%d", path, (int)getpid()) < 0)
        r = cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    if (r == 0) {
        members[0] = (struct cvm_tar_member){
            .name = "oci-layout", .data = layout, .len = sizeof(layout) - 1, .dirfd = -1};
        members[1] = (struct cvm_tar_member){
            .name = "index.json", .data = index_text, .len = strlen(index_text), .dirfd = -1};
        for (size_t i = 0; i < l.n; i++) {
            char hex[CVM_DIGEST_HEX_LEN + 1];
            snprintf(names[i], sizeof(names[i]), "blobs/sha256/%s", cvm_digest_hex(&l.d[i], hex));
            members[i + 2] = (struct cvm_tar_member){
                .name = names[i], .dirfd = cvm_store_dirfd(s), .path = names[i]};
        }
        CVM_AUTOCLOSE int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            r = cvm_error_set_errno(err, errno, "cannot create '%s'", tmp);
        if (r == 0)
            r = cvm_tar_write(fd, path, members, l.n + 2, err);
        if (r == 0 && fsync(fd) < 0)
            r = cvm_error_set_errno(err, errno, "cannot sync '%s'", path);
        if (r == 0 && rename(tmp, path) < 0)
            r = cvm_error_set_errno(err, errno, "cannot rename '%s' to '%s'", tmp, path);
        if (r < 0 && fd >= 0)
            unlink(tmp);
    }
    free(members);
    free(names);
    free(l.d);
    return r;
}

/* ---- load ---------------------------------------------------------------------------------- */

/* A blob present in the staging folder or already in the store, with the size it should have. */
static int have_blob(struct cvm_store *s, int blobs_fd, const struct cvm_descriptor *d,
                     const char *display, struct cvm_error **err)
{
    char hex[CVM_DIGEST_HEX_LEN + 1];
    cvm_digest_hex(&d->digest, hex);
    struct stat st;
    if (fstatat(blobs_fd, hex, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (cvm_store_has_blob(s, &d->digest))
            return 0;
        return cvm_error_set(err, CVM_E_FORMAT, "%s: blob sha256:%s is missing", display, hex);
    }
    if ((uint64_t)st.st_size != d->size)
        return cvm_error_set(err, CVM_E_DIGEST,
                             "%s: blob sha256:%s has %llu bytes, its descriptor says %llu", display,
                             hex, (unsigned long long)st.st_size, (unsigned long long)d->size);
    return 0;
}

static int read_staged(struct cvm_store *s, int blobs_fd, const struct cvm_descriptor *d,
                       struct cvm_buf *out, struct cvm_error **err)
{
    char hex[CVM_DIGEST_HEX_LEN + 1];
    cvm_digest_hex(&d->digest, hex);
    cvm_buf_init(out, CVM_MANIFEST_MAX);
    if (faccessat(blobs_fd, hex, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return cvm_buf_read_file(out, blobs_fd, hex, err);
    return cvm_store_read_blob(s, &d->digest, CVM_MANIFEST_MAX, out, err);
}

static int check_manifest(struct cvm_store *s, int blobs_fd, const struct cvm_descriptor *d,
                          const char *display, int depth, struct cvm_error **err)
{
    int r = have_blob(s, blobs_fd, d, display, err);
    struct cvm_buf raw = {0};
    if (r == 0)
        r = read_staged(s, blobs_fd, d, &raw, err);
    struct cvm_manifest *m = NULL;
    if (r == 0)
        r = cvm_manifest_parse(raw.data, raw.len, display, &m, err);
    cvm_buf_release(&raw);
    if (r == 0 && m->is_index && depth > 2)
        r = cvm_error_set(err, CVM_E_LIMIT, "%s: indexes nest too deep", display);
    if (r == 0 && !m->is_index)
        r = have_blob(s, blobs_fd, &m->config, display, err);
    for (size_t i = 0; r == 0 && m && i < m->n_entries; i++)
        r = m->is_index ? check_manifest(s, blobs_fd, &m->entries[i], display, depth + 1, err)
                        : have_blob(s, blobs_fd, &m->entries[i], display, err);
    cvm_manifest_free(m);
    return r;
}

static void names_free(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* Checks the staged layout and returns the canonical names its index gives. */
static int check_staged(struct cvm_store *s, int stage_fd, const char *path,
                        struct cvm_manifest **ret_index, char ***ret_names, struct cvm_error **err)
{
    struct cvm_buf raw;
    cvm_buf_init(&raw, CVM_MANIFEST_MAX);
    int r = cvm_buf_read_file(&raw, stage_fd, "index.json", err);
    char display[4200];
    snprintf(display, sizeof(display), "tar '%s': index.json", path);
    struct cvm_manifest *index = NULL;
    if (r == 0)
        r = cvm_manifest_parse(raw.data, raw.len, display, &index, err);
    cvm_buf_release(&raw);
    if (r < 0)
        return r;
    if (!index->is_index) {
        cvm_manifest_free(index);
        return cvm_error_set(err, CVM_E_FORMAT, "%s: not an image index", display);
    }
    CVM_AUTOCLOSE int blobs_fd =
        openat(stage_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    char **names = calloc(index->n_entries ? index->n_entries : 1, sizeof(*names));
    if (blobs_fd < 0 || !names)
        r = cvm_error_set_errno(err, blobs_fd < 0 ? errno : ENOMEM, "tar '%s': cannot open blobs",
                                path);
    for (size_t i = 0; r == 0 && i < index->n_entries; i++) {
        const struct cvm_descriptor *d = &index->entries[i];
        char what[4300];
        snprintf(what, sizeof(what), "%s entry %zu", display, i);
        if (!d->ref_name) {
            r = cvm_error_set(err, CVM_E_FORMAT, "%s has no name (annotation '%s')", what,
                              CVM_ANNOTATION_REF_NAME);
            break;
        }
        CVM_AUTO(cvm_reference_free) struct cvm_reference *ref = NULL;
        if ((r = cvm_reference_parse(d->ref_name, &ref, err)) < 0) {
            r = cvm_error_prefix(err, "%s", what);
            break;
        }
        if (ref->has_digest || !ref->tag) {
            r = cvm_error_set(err, CVM_E_FORMAT, "%s: name '%s' must be a tag, not a digest", what,
                              d->ref_name);
            break;
        }
        if (!(names[i] = cvm_reference_format(ref))) {
            r = cvm_error_set_errno(err, ENOMEM, "cannot allocate");
            break;
        }
        r = check_manifest(s, blobs_fd, d, what, 0, err);
    }
    if (r < 0) {
        names_free(names, index->n_entries);
        cvm_manifest_free(index);
        return r;
    }
    *ret_index = index;
    *ret_names = names;
    return 0;
}

static int adopt_all(struct cvm_store *s, int stage_fd, struct cvm_error **err)
{
    int fd = openat(stage_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (!dir) {
        if (fd >= 0)
            close(fd);
        return cvm_error_set_errno(err, errno, "cannot list staged blobs");
    }
    int r = 0;
    for (struct dirent *de; r == 0 && (de = readdir(dir));) {
        struct cvm_digest d;
        if (cvm_digest_parse_hex(de->d_name, &d) == 0)
            r = cvm_store_adopt_blob(s, dirfd(dir), de->d_name, &d, err);
    }
    closedir(dir);
    return r;
}

int cvm_image_load(struct cvm_store *s, const char *path, char ***ret_names, size_t *ret_n,
                   struct cvm_error **err)
{
    CVM_AUTOCLOSE int tar_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (tar_fd < 0)
        return cvm_error_set_errno(err, errno, "cannot open tar '%s'", path);
    char stage[64];
    snprintf(stage, sizeof(stage), ".load-%d", (int)getpid());
    int root = cvm_store_dirfd(s);
    if (mkdirat(root, stage, 0700) < 0) {
        if (errno != EEXIST)
            return cvm_error_set_errno(err, errno, "cannot create staging folder in '%s'",
                                       cvm_store_root(s));
        /* A leftover of a crashed load with our pid: nothing in it was adopted. */
        int rr = cvm_dir_remove_tree(root, stage, err);
        if (rr < 0 || mkdirat(root, stage, 0700) < 0)
            return rr < 0 ? rr : cvm_error_set_errno(err, errno, "cannot create staging folder");
    }
    CVM_AUTOCLOSE int stage_fd = openat(root, stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int r = stage_fd < 0 ? cvm_error_set_errno(err, errno, "cannot open staging folder") : 0;
    if (r == 0)
        r = cvm_layout_tar_extract(tar_fd, path, stage_fd, NULL, err);
    struct cvm_manifest *index = NULL;
    char **names = NULL;
    if (r == 0)
        r = check_staged(s, stage_fd, path, &index, &names, err);
    if (r == 0)
        r = adopt_all(s, stage_fd, err);
    for (size_t i = 0; r == 0 && i < index->n_entries; i++)
        r = cvm_store_tag(s, names[i], &index->entries[i], err);
    CVM_AUTO(cvm_error_free) struct cvm_error *cleanup = NULL;
    cvm_dir_remove_tree(root, stage, &cleanup);
    if (r == 0) {
        *ret_names = names;
        *ret_n = index->n_entries;
    } else if (names) {
        names_free(names, index->n_entries);
    }
    cvm_manifest_free(index);
    return r;
}
