/* The OCI image layout store. Blobs are written to a temporary name, fsynced and renamed to
 * their digest, so a crash never leaves a partial blob under a digest; index.json is
 * replaced the same way under an index lock. Every user holds `.lock` shared; gc holds it
 * exclusively, so it never deletes a blob a concurrent build has written but not yet tagged. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "reference.h"
#include "store.h"
#include "verify-memo.h"

#define BLOB_DIR "blobs/sha256"
#define TMP_PREFIX ".tmp-"
#define OCI_LAYOUT "{\"imageLayoutVersion\":\"1.0.0\"}"
#define EMPTY_INDEX                                                                                \
    "{\"schemaVersion\":2,\"mediaType\":\"" CVM_MEDIA_OCI_INDEX "\",\"manifests\":[]}"

struct cvm_store {
    char *root;
    int dirfd;
    int blobfd;
    int lockfd;
};

char *cvm_store_default_root(void)
{
    const char *env = getenv(CVM_STORE_ROOT_ENV);
    if (env && env[0])
        return strdup(env);
    char *out = NULL;
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && xdg[0] == '/')
        return asprintf(&out, "%s/cvmctl", xdg) < 0 ? NULL : out;
    const char *home = getenv("HOME");
    if (!home || !home[0])
        home = "/";
    return asprintf(&out, "%s/.local/share/cvmctl", home) < 0 ? NULL : out;
}

static int mkdir_p(const char *path, struct cvm_error **err)
{
    CVM_AUTOFREE char *copy = strdup(path);
    if (!copy)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(copy, 0755) < 0 && errno != EEXIST)
            return cvm_error_set_errno(err, errno, "cannot create folder '%s'", copy);
        *p = c;
        if (!c)
            return 0;
    }
}

static int fsync_dir(int dirfd, const char *display, struct cvm_error **err)
{
    if (fsync(dirfd) < 0)
        return cvm_error_set_errno(err, errno, "cannot sync folder '%s'", display);
    return 0;
}

/* Writes a whole file: temp name, fsync, rename over `name`, fsync of the folder. */
static int write_atomic(int dirfd, const char *display, const char *name, const void *data,
                        size_t len, struct cvm_error **err)
{
    static unsigned counter;
    char tmp[128];
    snprintf(tmp, sizeof(tmp), TMP_PREFIX "%d-%u-%.40s", (int)getpid(),
             __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED), name);
    CVM_AUTOCLOSE int fd =
        openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return cvm_error_set_errno(err, errno, "cannot create '%s/%s'", display, tmp);
    const uint8_t *p = data;
    size_t left = len;
    int r = 0;
    while (left && r == 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            r = cvm_error_set_errno(err, errno, "cannot write '%s/%s'", display, name);
        else
            p += n, left -= (size_t)n;
    }
    if (r == 0 && fsync(fd) < 0)
        r = cvm_error_set_errno(err, errno, "cannot sync '%s/%s'", display, name);
    if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
        r = cvm_error_set_errno(err, errno, "cannot rename into '%s/%s'", display, name);
    if (r < 0) {
        unlinkat(dirfd, tmp, 0);
        return r;
    }
    return fsync_dir(dirfd, display, err);
}

/* Creates a file only when it is missing (oci-layout, index.json of a new store). */
static int ensure_file(int dirfd, const char *root, const char *name, const char *content,
                       struct cvm_error **err)
{
    if (faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    return write_atomic(dirfd, root, name, content, strlen(content), err);
}

static int check_layout_file(struct cvm_store *s, struct cvm_error **err)
{
    struct cvm_buf b;
    cvm_buf_init(&b, 4096);
    int r = cvm_buf_read_file(&b, s->dirfd, "oci-layout", err);
    if (r < 0)
        return cvm_error_prefix(err, "store '%s'", s->root);
    json_auto_t *j = json_loadb((const char *)b.data, b.len, 0, NULL);
    cvm_buf_release(&b);
    const char *v = json_string_value(json_object_get(j, "imageLayoutVersion"));
    if (!v)
        return cvm_error_set(err, CVM_E_FORMAT,
                             "store '%s': 'oci-layout' is not an OCI layout file", s->root);
    if (strcmp(v, "1.0.0") != 0)
        return cvm_error_set(err, CVM_E_UNSUPPORTED,
                             "store '%s': unsupported image layout version '%.20s'", s->root, v);
    return 0;
}

void cvm_store_free(struct cvm_store *s)
{
    if (!s)
        return;
    if (s->lockfd >= 0)
        close(s->lockfd);
    if (s->blobfd >= 0)
        close(s->blobfd);
    if (s->dirfd >= 0)
        close(s->dirfd);
    free(s->root);
    free(s);
}

int cvm_store_open(const char *root, unsigned flags, struct cvm_store **ret, struct cvm_error **err)
{
    CVM_AUTO(cvm_store_free) struct cvm_store *s = calloc(1, sizeof(*s));
    if (!s || !(s->root = strdup(root))) {
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    }
    s->dirfd = s->blobfd = s->lockfd = -1;
    int r = mkdir_p(root, err);
    if (r < 0)
        return r;
    if ((s->dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return cvm_error_set_errno(err, errno, "cannot open store '%s'", root);
    s->lockfd = openat(s->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (s->lockfd < 0)
        return cvm_error_set_errno(err, errno, "cannot open lock of store '%s'", root);
    while (flock(s->lockfd, (flags & CVM_STORE_EXCLUSIVE) ? LOCK_EX : LOCK_SH) < 0)
        if (errno != EINTR)
            return cvm_error_set_errno(err, errno, "cannot lock store '%s'", root);
    if (mkdirat(s->dirfd, "blobs", 0755) < 0 && errno != EEXIST)
        return cvm_error_set_errno(err, errno, "cannot create '%s/blobs'", root);
    if (mkdirat(s->dirfd, BLOB_DIR, 0755) < 0 && errno != EEXIST)
        return cvm_error_set_errno(err, errno, "cannot create '%s/" BLOB_DIR "'", root);
    if ((s->blobfd = openat(s->dirfd, BLOB_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) <
        0)
        return cvm_error_set_errno(err, errno, "cannot open '%s/" BLOB_DIR "'", root);
    if ((r = ensure_file(s->dirfd, root, "oci-layout", OCI_LAYOUT, err)) < 0 ||
        (r = ensure_file(s->dirfd, root, "index.json", EMPTY_INDEX, err)) < 0 ||
        (r = check_layout_file(s, err)) < 0)
        return r;
    *ret = cvm_steal_ptr(&s);
    return 0;
}

const char *cvm_store_root(const struct cvm_store *s)
{
    return s->root;
}

int cvm_store_dirfd(const struct cvm_store *s)
{
    return s->dirfd;
}

bool cvm_store_has_blob(const struct cvm_store *s, const struct cvm_digest *d)
{
    char hex[CVM_DIGEST_HEX_LEN + 1];
    struct stat st;
    return fstatat(s->blobfd, cvm_digest_hex(d, hex), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISREG(st.st_mode);
}

int cvm_store_put_blob(struct cvm_store *s, const void *data, size_t len, struct cvm_digest *ret,
                       struct cvm_error **err)
{
    struct cvm_digest d;
    cvm_digest_of(data, len, &d);
    char hex[CVM_DIGEST_HEX_LEN + 1];
    cvm_digest_hex(&d, hex);
    if (!cvm_store_has_blob(s, &d)) {
        int r = write_atomic(s->blobfd, s->root, hex, data, len, err);
        if (r < 0)
            return r;
    }
    *ret = d;
    return 0;
}

int cvm_store_adopt_blob(struct cvm_store *s, int dirfd, const char *name,
                         const struct cvm_digest *d, struct cvm_error **err)
{
    char hex[CVM_DIGEST_HEX_LEN + 1];
    cvm_digest_hex(d, hex);
    if (cvm_store_has_blob(s, d)) {
        unlinkat(dirfd, name, 0);
        return 0;
    }
    if (renameat(dirfd, name, s->blobfd, hex) < 0)
        return cvm_error_set_errno(err, errno, "cannot move blob sha256:%s into '%s'", hex,
                                   s->root);
    return fsync_dir(s->blobfd, s->root, err);
}

static int corrupted(struct cvm_store *s, const struct cvm_digest *want,
                     const struct cvm_digest *got, struct cvm_error **err)
{
    char w[CVM_DIGEST_STR_SIZE], g[CVM_DIGEST_STR_SIZE];
    return cvm_error_set(err, CVM_E_DIGEST,
                         "blob %s in store '%s' is corrupted: its content has digest %s",
                         cvm_digest_format(want, w), s->root, cvm_digest_format(got, g));
}

int cvm_store_open_blob(struct cvm_store *s, const struct cvm_digest *d, int *ret_fd,
                        struct cvm_error **err)
{
    char hex[CVM_DIGEST_HEX_LEN + 1];
    int fd = openat(s->blobfd, cvm_digest_hex(d, hex), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT
                   ? cvm_error_set(err, CVM_E_NOTFOUND, "blob sha256:%s is missing from store '%s'",
                                   hex, s->root)
                   : cvm_error_set_errno(err, errno, "cannot open blob sha256:%s", hex);
    *ret_fd = fd;
    return 0;
}

int cvm_store_read_blob(struct cvm_store *s, const struct cvm_digest *d, size_t max,
                        struct cvm_buf *out, struct cvm_error **err)
{
    CVM_AUTOCLOSE int fd = -1;
    int r = cvm_store_open_blob(s, d, &fd, err);
    if (r < 0)
        return r;
    char hex[CVM_DIGEST_HEX_LEN + 1];
    cvm_digest_hex(d, hex);
    cvm_buf_init(out, max);
    char display[CVM_DIGEST_STR_SIZE];
    snprintf(display, sizeof(display), "sha256:%s", hex);
    if ((r = cvm_buf_read_fd(out, fd, display, err)) < 0)
        return r;
    struct cvm_digest got;
    cvm_digest_of(out->data, out->len, &got);
    if (!cvm_digest_equal(&got, d)) {
        cvm_buf_release(out);
        return corrupted(s, d, &got, err);
    }
    return 0;
}

int cvm_store_check_blob(struct cvm_store *s, const struct cvm_descriptor *desc,
                         uint64_t *ret_bytes, struct cvm_error **err)
{
    CVM_AUTOCLOSE int fd = -1;
    int r = cvm_store_open_blob(s, &desc->digest, &fd, err);
    if (r < 0)
        return r;
    struct cvm_digest got;
    uint64_t size = 0;
    if ((r = cvm_digest_fd(fd, &got, &size, err)) < 0)
        return r;
    if (!cvm_digest_equal(&got, &desc->digest))
        return corrupted(s, &desc->digest, &got, err);
    if (size != desc->size) {
        char d[CVM_DIGEST_STR_SIZE];
        return cvm_error_set(err, CVM_E_DIGEST,
                             "blob %s has %llu bytes, but its descriptor says %llu",
                             cvm_digest_format(&desc->digest, d), (unsigned long long)size,
                             (unsigned long long)desc->size);
    }
    if (ret_bytes)
        *ret_bytes = size;
    return 0;
}

int cvm_store_read_manifest(struct cvm_store *s, const struct cvm_descriptor *desc,
                            struct cvm_manifest **ret, struct cvm_buf *ret_raw,
                            struct cvm_error **err)
{
    struct cvm_buf raw;
    int r = cvm_store_read_blob(s, &desc->digest, CVM_MANIFEST_MAX, &raw, err);
    if (r < 0)
        return r;
    char d[CVM_DIGEST_STR_SIZE], display[CVM_DIGEST_STR_SIZE + 16];
    snprintf(display, sizeof(display), "manifest %s", cvm_digest_format(&desc->digest, d));
    r = cvm_manifest_parse(raw.data, raw.len, display, ret, err);
    if (r == 0 && ret_raw)
        *ret_raw = raw;
    else
        cvm_buf_release(&raw);
    return r;
}

/* ---- index.json ------------------------------------------------------------------------ */

static int index_read(struct cvm_store *s, struct cvm_buf *ret, struct cvm_error **err)
{
    cvm_buf_init(ret, CVM_STORE_INDEX_MAX);
    int r = cvm_buf_read_file(ret, s->dirfd, "index.json", err);
    return r < 0 ? cvm_error_prefix(err, "store '%s'", s->root) : 0;
}

/* Every entry of index.json, named or not (the file is ours, but may have been edited). */
static int index_parse(struct cvm_store *s, struct cvm_manifest **ret, struct cvm_error **err)
{
    struct cvm_buf b;
    int r = index_read(s, &b, err);
    if (r < 0)
        return r;
    char display[4200];
    snprintf(display, sizeof(display), "store '%s': index.json", s->root);
    r = cvm_layout_index_parse(b.data, b.len, display, ret, err);
    cvm_buf_release(&b);
    return r;
}

void cvm_store_list_free(struct cvm_descriptor *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cvm_descriptor_release(&list[i]);
    free(list);
}

int cvm_store_list(struct cvm_store *s, struct cvm_descriptor **ret, size_t *ret_n,
                   struct cvm_error **err)
{
    CVM_AUTO(cvm_manifest_free) struct cvm_manifest *index = NULL;
    int r = index_parse(s, &index, err);
    if (r < 0)
        return r;
    /* Keep the named entries, moved out of the parsed index. */
    size_t k = 0;
    for (size_t i = 0; i < index->n_entries; i++) {
        if (!index->entries[i].ref_name)
            continue;
        struct cvm_descriptor d = index->entries[i];
        index->entries[i] = index->entries[k];
        index->entries[k++] = d;
    }
    *ret = cvm_steal_ptr(&index->entries);
    *ret_n = k;
    for (size_t i = k; i < index->n_entries; i++)
        cvm_descriptor_release(&(*ret)[i]);
    index->n_entries = 0;
    return 0;
}

int cvm_store_find(struct cvm_store *s, const char *name, struct cvm_descriptor *ret,
                   bool *ret_found, struct cvm_error **err)
{
    struct cvm_descriptor *list = NULL;
    size_t n = 0;
    int r = cvm_store_list(s, &list, &n, err);
    if (r < 0)
        return r;
    *ret_found = false;
    for (size_t i = 0; i < n && !*ret_found; i++) {
        if (strcmp(list[i].ref_name, name) == 0) {
            *ret = list[i];
            list[i] = (struct cvm_descriptor){0};
            *ret_found = true;
        }
    }
    cvm_store_list_free(list, n);
    return 0;
}

static bool is_index_type(const char *media_type)
{
    return media_type && (strcmp(media_type, CVM_MEDIA_OCI_INDEX) == 0 ||
                          strcmp(media_type, CVM_MEDIA_DOCKER_LIST) == 0);
}

static bool is_manifest_type(const char *media_type)
{
    return media_type && (strcmp(media_type, CVM_MEDIA_OCI_MANIFEST) == 0 ||
                          strcmp(media_type, CVM_MEDIA_DOCKER_MANIFEST) == 0);
}

/* True when the store name ("repo:tag" or "repo@sha256:<hex>") is in repository repo. */
static bool name_in_repository(const char *name, const char *repo)
{
    size_t len = strlen(repo);
    return strncmp(name, repo, len) == 0 &&
           ((name[len] == ':' && !strchr(name + len + 1, '/')) || name[len] == '@');
}

/* When the index `index` names lists ref's digest, *ret becomes that entry (media type,
 * digest, size, platform) named "<repository>@sha256:<hex>"; *ret_found says whether it did. */
static int index_child(struct cvm_store *s, const struct cvm_descriptor *index,
                       const struct cvm_reference *ref, struct cvm_descriptor *ret, bool *ret_found,
                       struct cvm_error **err)
{
    *ret_found = false;
    if (!is_index_type(index->media_type))
        return 0;
    CVM_AUTO(cvm_manifest_free) struct cvm_manifest *m = NULL;
    int r = cvm_store_read_manifest(s, index, &m, NULL, err);
    if (r < 0 || !m->is_index)
        return r;
    for (size_t i = 0; i < m->n_entries; i++) {
        const struct cvm_descriptor *e = &m->entries[i];
        if (!cvm_digest_equal(&e->digest, &ref->digest))
            continue;
        struct cvm_reference by_digest = *ref;
        by_digest.tag = NULL;
        struct cvm_descriptor d = {.digest = e->digest, .size = e->size};
        if (!(d.ref_name = cvm_reference_format(&by_digest)) ||
            !(d.media_type = strdup(e->media_type)) ||
            (e->artifact_type && !(d.artifact_type = strdup(e->artifact_type))) ||
            (e->os && !(d.os = strdup(e->os))) ||
            (e->architecture && !(d.architecture = strdup(e->architecture))) ||
            (e->variant && !(d.variant = strdup(e->variant)))) {
            cvm_descriptor_release(&d);
            return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
        }
        *ret = d;
        *ret_found = true;
        return 0;
    }
    return 0;
}

int cvm_store_resolve(struct cvm_store *s, const struct cvm_reference *ref,
                      struct cvm_descriptor *ret, struct cvm_error **err)
{
    struct cvm_reference tag_only = *ref;
    tag_only.has_digest = false;
    CVM_AUTOFREE char *shown = cvm_reference_format(ref);
    CVM_AUTOFREE char *name = ref->tag ? cvm_reference_format(&tag_only) : NULL;
    CVM_AUTOFREE char *repo = cvm_reference_repository(ref);
    if (!shown || !repo || (ref->tag && !name))
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    struct cvm_descriptor *list = NULL;
    size_t n = 0;
    int r = cvm_store_list(s, &list, &n, err);
    if (r < 0)
        return r;
    struct cvm_descriptor d = {0};
    bool found = false;
    for (size_t i = 0; i < n && !found; i++) {
        /* By name; or by digest alone, where any name for that manifest will do. */
        if (name ? strcmp(list[i].ref_name, name) == 0
                 : cvm_digest_equal(&list[i].digest, &ref->digest)) {
            d = list[i];
            list[i] = (struct cvm_descriptor){0};
            found = true;
        }
    }
    /* A manifest an index lists is reachable through the index's name (image-format.md §6):
     * the index `name` names, or without a tag any index named in the repository. */
    bool child = false;
    if (found && ref->has_digest && !cvm_digest_equal(&d.digest, &ref->digest)) {
        struct cvm_descriptor c = {0};
        r = index_child(s, &d, ref, &c, &child, err);
        if (r == 0 && child) {
            cvm_descriptor_release(&d);
            d = c;
        }
    }
    for (size_t i = 0; r == 0 && !found && !name && i < n; i++)
        if (list[i].ref_name && name_in_repository(list[i].ref_name, repo))
            r = index_child(s, &list[i], ref, &d, &found, err);
    cvm_store_list_free(list, n);
    if (r < 0) {
        cvm_descriptor_release(&d);
        return r;
    }
    if (!found)
        return cvm_error_set(err, CVM_E_NOTFOUND, "image '%s' is not in store '%s'", shown,
                             s->root);
    if (ref->has_digest && !cvm_digest_equal(&d.digest, &ref->digest)) {
        char dg[CVM_DIGEST_STR_SIZE];
        r = cvm_error_set(err, CVM_E_DIGEST, "image '%s': the store's '%s' is %s", shown, name,
                          cvm_digest_format(&d.digest, dg));
        cvm_descriptor_release(&d);
        return r;
    }
    *ret = d;
    return 0;
}

/* The index lock serialises read-modify-write cycles of index.json between processes. */
static int index_lock(struct cvm_store *s, struct cvm_error **err)
{
    int fd = openat(s->dirfd, ".index.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return cvm_error_set_errno(err, errno, "cannot open index lock of store '%s'", s->root);
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return cvm_error_set_errno(err, e, "cannot lock index of store '%s'", s->root);
        }
    }
    return fd;
}

static json_t *descriptor_json(const char *name, const struct cvm_descriptor *d)
{
    char digest[CVM_DIGEST_STR_SIZE];
    json_t *e = json_pack("{s:s, s:s, s:I}", "mediaType", d->media_type, "digest",
                          cvm_digest_format(&d->digest, digest), "size", (json_int_t)d->size);
    if (e && d->artifact_type)
        json_object_set_new(e, "artifactType", json_string(d->artifact_type));
    if (e && json_object_set_new(e, "annotations",
                                 json_pack("{s:s}", CVM_ANNOTATION_REF_NAME, name)) < 0) {
        json_decref(e);
        return NULL;
    }
    return e;
}

/* Under the index lock: drops the entries named `name`, then appends target under that name
 * (target NULL: removes only; CVM_E_NOTFOUND when there was nothing to remove). The JSON is
 * edited in place, so entries and fields other tools wrote survive. */
static int index_update(struct cvm_store *s, const char *name, const struct cvm_descriptor *target,
                        struct cvm_error **err)
{
    CVM_AUTOCLOSE int lock = index_lock(s, err);
    if (lock < 0)
        return lock;
    /* Validate with the strict parser first; then edit the generic JSON. */
    CVM_AUTO(cvm_manifest_free) struct cvm_manifest *parsed = NULL;
    int r = index_parse(s, &parsed, err);
    struct cvm_buf b;
    if (r < 0 || (r = index_read(s, &b, err)) < 0)
        return r;
    json_auto_t *index = json_loadb((const char *)b.data, b.len, 0, NULL);
    cvm_buf_release(&b);
    json_t *entries = json_object_get(index, "manifests");
    if (!entries)
        return cvm_error_set(err, CVM_E_FORMAT, "store '%s': index.json changed while locked",
                             s->root);
    size_t removed = 0;
    for (size_t i = json_array_size(entries); i-- > 0;) {
        const char *n = json_string_value(json_object_get(
            json_object_get(json_array_get(entries, i), "annotations"), CVM_ANNOTATION_REF_NAME));
        if (n && strcmp(n, name) == 0) {
            json_array_remove(entries, i);
            removed++;
        }
    }
    if (!target && removed == 0)
        return cvm_error_set(err, CVM_E_NOTFOUND, "image '%s' is not in store '%s'", name, s->root);
    if (target) {
        json_t *entry = descriptor_json(name, target);
        if (!entry || json_array_append_new(entries, entry) < 0)
            return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    }
    CVM_AUTOFREE char *text = json_dumps(index, JSON_COMPACT);
    if (!text)
        return cvm_error_set_errno(err, ENOMEM, "cannot encode index.json");
    return write_atomic(s->dirfd, s->root, "index.json", text, strlen(text), err);
}

int cvm_store_tag(struct cvm_store *s, const char *name, const struct cvm_descriptor *target,
                  struct cvm_error **err)
{
    return index_update(s, name, target, err);
}

int cvm_store_untag(struct cvm_store *s, const char *name, struct cvm_error **err)
{
    return index_update(s, name, NULL, err);
}

/* ---- garbage collection ----------------------------------------------------------------- */

struct digest_set {
    struct cvm_digest *items;
    size_t n, cap;
};

static bool set_has(const struct digest_set *set, const struct cvm_digest *d)
{
    for (size_t i = 0; i < set->n; i++)
        if (cvm_digest_equal(&set->items[i], d))
            return true;
    return false;
}

static int set_add(struct digest_set *set, const struct cvm_digest *d, struct cvm_error **err)
{
    if (set_has(set, d))
        return 0;
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        struct cvm_digest *items = realloc(set->items, cap * sizeof(*items));
        if (!items)
            return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
        set->items = items;
        set->cap = cap;
    }
    set->items[set->n++] = *d;
    return 0;
}

/* Marks a manifest and everything it references; an index recurses (bounded depth). */
static int mark(struct cvm_store *s, const struct cvm_descriptor *d, struct digest_set *live,
                int depth, struct cvm_error **err)
{
    int r = set_add(live, &d->digest, err);
    if (r < 0 || depth > 4 || !cvm_store_has_blob(s, &d->digest))
        return r;
    struct cvm_manifest *m = NULL;
    CVM_AUTO(cvm_error_free) struct cvm_error *e = NULL;
    if (cvm_store_read_manifest(s, d, &m, NULL, &e) < 0) {
        /* Not a manifest we can read: keep the blob, but do not let it stop gc. */
        return 0;
    }
    if (!m->is_index)
        r = set_add(live, &m->config.digest, err);
    for (size_t i = 0; r == 0 && i < m->n_entries; i++)
        r = m->is_index ? mark(s, &m->entries[i], live, depth + 1, err)
                        : set_add(live, &m->entries[i].digest, err);
    cvm_manifest_free(m);
    return r;
}

/* ---- sizes ------------------------------------------------------------------------------ */

#define COUNT_DEPTH_MAX 4 /* indexes inside indexes, as gc follows them */

struct blob_count {
    struct digest_set seen;
    uint64_t bytes;
};

/* Counts d's blob unless it was counted already; *ret_new says which. */
static int count_one(struct blob_count *c, const struct cvm_descriptor *d, bool *ret_new,
                     struct cvm_error **err)
{
    *ret_new = !set_has(&c->seen, &d->digest);
    if (!*ret_new)
        return 0;
    c->bytes += d->size;
    return set_add(&c->seen, &d->digest, err);
}

static int count_manifest(struct cvm_store *s, const struct cvm_descriptor *d, struct blob_count *c,
                          int depth, struct cvm_error **err)
{
    bool fresh = false;
    int r = count_one(c, d, &fresh, err);
    if (r < 0 || !fresh)
        return r;
    CVM_AUTO(cvm_manifest_free) struct cvm_manifest *m = NULL;
    if ((r = cvm_store_read_manifest(s, d, &m, NULL, err)) < 0)
        return r;
    if (m->is_index && depth >= COUNT_DEPTH_MAX) {
        char dg[CVM_DIGEST_STR_SIZE];
        return cvm_error_set(err, CVM_E_LIMIT, "index %s: indexes nested more than %d deep",
                             cvm_digest_format(&d->digest, dg), COUNT_DEPTH_MAX);
    }
    if (!m->is_index)
        r = count_one(c, &m->config, &fresh, err);
    for (size_t i = 0; r == 0 && i < m->n_entries; i++) {
        const struct cvm_descriptor *e = &m->entries[i];
        /* An index lists manifests (and indexes); other entries are blobs of their own. */
        if (m->is_index && (is_manifest_type(e->media_type) || is_index_type(e->media_type)))
            r = count_manifest(s, e, c, depth + 1, err);
        else
            r = count_one(c, e, &fresh, err);
    }
    return r;
}

int cvm_store_count_blobs(struct cvm_store *s, const struct cvm_descriptor *desc,
                          uint64_t *ret_blobs, uint64_t *ret_bytes, struct cvm_error **err)
{
    struct blob_count c = {0};
    int r = count_manifest(s, desc, &c, 0, err);
    free(c.seen.items);
    if (r < 0)
        return r;
    if (ret_blobs)
        *ret_blobs = c.seen.n;
    if (ret_bytes)
        *ret_bytes = c.bytes;
    return 0;
}

/* The layer cache (image-format.md §6) in folder `sub`: every .tmp-* (a fill that never
 * finished: fills hold the store lock shared, gc exclusively) and, where `entries`, every
 * entry whose layer blob is gone. Entries are not blobs: they are not counted. */
static int sweep_cache(struct cvm_store *s, const char *sub, bool entries, struct cvm_error **err)
{
    int fd = openat(s->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT
                   ? 0
                   : cvm_error_set_errno(err, errno, "cannot open '%s/%s'", s->root, sub);
    DIR *dir = fdopendir(fd);
    if (!dir) {
        int e = errno;
        close(fd);
        return cvm_error_set_errno(err, e, "cannot list '%s/%s'", s->root, sub);
    }
    int r = 0;
    for (struct dirent *de; r == 0 && (de = readdir(dir));) {
        struct cvm_digest d;
        struct stat st;
        bool tmp = strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0;
        bool stale =
            entries && cvm_digest_parse_hex(de->d_name, &d) == 0 && !cvm_store_has_blob(s, &d);
        if ((!tmp && !stale) || fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
            S_ISDIR(st.st_mode))
            continue;
        if (unlinkat(fd, de->d_name, 0) < 0)
            r = cvm_error_set_errno(err, errno, "cannot remove '%s/%s/%s'", s->root, sub,
                                    de->d_name);
    }
    closedir(dir);
    return r;
}

int cvm_store_gc(struct cvm_store *s, uint64_t *ret_blobs, uint64_t *ret_bytes,
                 struct cvm_error **err)
{
    CVM_AUTO(cvm_manifest_free) struct cvm_manifest *index = NULL;
    int r = index_parse(s, &index, err);
    if (r < 0)
        return r;
    struct digest_set live = {0};
    for (size_t i = 0; r == 0 && i < index->n_entries; i++)
        r = mark(s, &index->entries[i], &live, 0, err);
    uint64_t blobs = 0, bytes = 0;
    int dupfd = r == 0 ? dup(s->blobfd) : -1;
    DIR *dir = dupfd >= 0 ? fdopendir(dupfd) : NULL;
    if (r == 0 && !dir) {
        if (dupfd >= 0)
            close(dupfd);
        r = cvm_error_set_errno(err, errno, "cannot list '%s/" BLOB_DIR "'", s->root);
    }
    for (struct dirent *de; r == 0 && (de = readdir(dir));) {
        struct cvm_digest d;
        bool tmp = strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0;
        if (!tmp && (cvm_digest_parse_hex(de->d_name, &d) < 0 || set_has(&live, &d)))
            continue;
        struct stat st;
        if (fstatat(s->blobfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (unlinkat(s->blobfd, de->d_name, 0) < 0) {
            r = cvm_error_set_errno(err, errno, "cannot remove '%s/" BLOB_DIR "/%s'", s->root,
                                    de->d_name);
            break;
        }
        blobs++;
        bytes += (uint64_t)st.st_size;
    }
    if (dir)
        closedir(dir);
    free(live.items);
    /* After the blobs: an entry whose blob was just deleted goes too. */
    if (r == 0)
        r = sweep_cache(s, "cache", false, err);
    if (r == 0)
        r = sweep_cache(s, "cache/sha256", true, err);
    if (r == 0)
        r = cvm_verify_memo_sweep(s, err);
    if (r < 0)
        return r;
    *ret_blobs = blobs;
    *ret_bytes = bytes;
    return fsync_dir(s->blobfd, s->root, err);
}
