/* Tar transport of OCI image layouts over libarchive: a reproducible ustar writer, and an
 * extractor that admits only the layout's own names and verifies each blob while streaming it. */
#include "layout-tar.h"

#include "archive-lib.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "digest.h"

/* Data moves in chunks of this size: a blob is never held in memory whole. */
#define TAR_CHUNK (1u << 20)
#define BLOB_PREFIX "blobs/sha256/"
#define BLOB_PREFIX_LEN (sizeof(BLOB_PREFIX) - 1)
/* Member names come from the archive: messages show them escaped and cut to this length. */
#define SHOW_MAX 160
#define SHOW_SIZE (SHOW_MAX + 4)
/* The imageLayoutVersion (OCI image-layout, the oci-layout file) read and written here. */
#define LAYOUT_VERSION "1.0.0"

/* Copies s into out for a one-line message: bytes outside printable ASCII and backslashes
 * become \xNN; longer names end in "...". */
static const char *show(const char *s, char out[SHOW_SIZE])
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = *p >= 0x20 && *p < 0x7f && *p != '\\';
        size_t need = plain ? 1 : 4;
        if (o + need > SHOW_MAX) {
            memcpy(out + o, "...", 4);
            return out;
        }
        if (plain)
            out[o] = (char)*p;
        else
            snprintf(out + o, 5, "\\x%02x", *p);
        o += need;
    }
    out[o] = '\0';
    return out;
}

enum member_kind {
    KIND_ROOT, /* "." or "./": the layout folder itself */
    KIND_OCI_LAYOUT,
    KIND_INDEX,
    KIND_BLOBS,
    KIND_SHA256,
    KIND_BLOB,
};

static bool kind_is_dir(enum member_kind k)
{
    return k == KIND_ROOT || k == KIND_BLOBS || k == KIND_SHA256;
}

/* Why a name cannot be inside the layout at all (NULL when it can). */
static const char *path_problem(const char *name)
{
    if (name[0] == '\0')
        return "empty name";
    if (name[0] == '/')
        return "path is absolute";
    for (const char *p = name;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return "path leaves the layout";
        if (!slash)
            return NULL;
        p = slash + 1;
    }
}

static bool name_is(const char *n, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(n, want, len) == 0;
}

/* Maps a name (after path_problem) to the layout member it names, accepting one leading "./"
 * and one trailing "/". *ret_canonical tells whether the name was already in the form the
 * writer uses; ret_hex (65 bytes) receives a blob's hex name. Returns why it names none. */
static const char *classify(const char *name, enum member_kind *ret_kind, bool *ret_canonical,
                            char *ret_hex)
{
    const char *n = name;
    if (strcmp(n, ".") == 0)
        n++;
    else if (n[0] == '.' && n[1] == '/')
        n += 2;
    size_t len = strlen(n);
    bool slash = len > 0 && n[len - 1] == '/';
    if (slash)
        len--;
    enum member_kind kind;
    if (len == 0)
        kind = KIND_ROOT;
    else if (name_is(n, len, "oci-layout"))
        kind = KIND_OCI_LAYOUT;
    else if (name_is(n, len, "index.json"))
        kind = KIND_INDEX;
    else if (name_is(n, len, "blobs"))
        kind = KIND_BLOBS;
    else if (name_is(n, len, "blobs/sha256"))
        kind = KIND_SHA256;
    else if (len > BLOB_PREFIX_LEN && memcmp(n, BLOB_PREFIX, BLOB_PREFIX_LEN) == 0) {
        struct cvm_digest d;
        char hex[CVM_DIGEST_HEX_LEN + 1];
        if (len != BLOB_PREFIX_LEN + CVM_DIGEST_HEX_LEN)
            return "blob name is not 64 lowercase hex digits";
        memcpy(hex, n + BLOB_PREFIX_LEN, CVM_DIGEST_HEX_LEN);
        hex[CVM_DIGEST_HEX_LEN] = '\0';
        if (cvm_digest_parse_hex(hex, &d) < 0)
            return "blob name is not 64 lowercase hex digits";
        if (ret_hex)
            memcpy(ret_hex, hex, sizeof(hex));
        kind = KIND_BLOB;
    } else
        return "not part of an OCI image layout";
    *ret_kind = kind;
    if (ret_canonical)
        *ret_canonical = n == name && !slash;
    return NULL;
}

/* ---- writing ------------------------------------------------------------------------------ */

struct tar_sink {
    int fd;
    int write_errno; /* why the last write failed, for the message */
};

static la_ssize_t sink_write(struct archive *a, void *opaque, const void *buf, size_t len)
{
    struct tar_sink *s = opaque;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(s->fd, (const char *)buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->write_errno = n < 0 ? errno : EIO;
            sym_archive_set_error(a, s->write_errno, "write failed");
            return -1;
        }
        done += (size_t)n;
    }
    return (la_ssize_t)len;
}

static int write_failed(struct archive *a, const struct tar_sink *s, const char *display,
                        struct cvm_error **err)
{
    if (s->write_errno)
        return cvm_error_set_errno(err, s->write_errno, "tar '%s': cannot write", display);
    return cvm_error_set(err, CVM_E_SYSTEM, "tar '%s': cannot write: %s", display,
                         sym_archive_error_string(a) ? sym_archive_error_string(a)
                                                     : "unknown error");
}

static int cmp_digest(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct cvm_digest));
}

/* Refuses, before anything is written, names the reader would refuse. */
static int check_write_members(const char *display, const struct cvm_tar_member *members, size_t n,
                               struct cvm_error **err)
{
    if (n > CVM_TAR_MAX_MEMBERS - 2)
        return cvm_error_set(err, CVM_E_LIMIT, "tar '%s': %zu members, over the limit of %d",
                             display, n, CVM_TAR_MAX_MEMBERS - 2);
    CVM_AUTOFREE struct cvm_digest *blobs = calloc(n ? n : 1, sizeof(*blobs));
    if (!blobs)
        return cvm_error_set_errno(err, ENOMEM, "tar '%s'", display);
    size_t n_blobs = 0;
    bool seen_layout = false, seen_index = false;
    for (size_t i = 0; i < n; i++) {
        const struct cvm_tar_member *m = &members[i];
        if (!m->name)
            return cvm_error_set(err, CVM_E_USAGE, "tar '%s': member %zu has no name", display, i);
        char shown[SHOW_SIZE];
        enum member_kind kind = KIND_ROOT;
        bool canonical = false;
        char hex[CVM_DIGEST_HEX_LEN + 1];
        if (path_problem(m->name) || classify(m->name, &kind, &canonical, hex) ||
            kind_is_dir(kind) || !canonical)
            return cvm_error_set(err, CVM_E_USAGE,
                                 "tar '%s': member '%s': not 'oci-layout', 'index.json' or "
                                 "'blobs/sha256/<64 lowercase hex>'",
                                 display, show(m->name, shown));
        if (!m->path && !m->data && m->len)
            return cvm_error_set(err, CVM_E_USAGE, "tar '%s': member '%s': no data", display,
                                 m->name);
        bool dup = false;
        if (kind == KIND_OCI_LAYOUT) {
            dup = seen_layout;
            seen_layout = true;
        } else if (kind == KIND_INDEX) {
            dup = seen_index;
            seen_index = true;
        } else
            cvm_digest_parse_hex(hex, &blobs[n_blobs++]);
        if (dup)
            return cvm_error_set(err, CVM_E_USAGE, "tar '%s': member '%s': duplicate member",
                                 display, m->name);
    }
    qsort(blobs, n_blobs, sizeof(*blobs), cmp_digest);
    for (size_t i = 1; i < n_blobs; i++) {
        if (cvm_digest_equal(&blobs[i - 1], &blobs[i])) {
            char hex[CVM_DIGEST_HEX_LEN + 1];
            return cvm_error_set(err, CVM_E_USAGE,
                                 "tar '%s': member '" BLOB_PREFIX "%s': duplicate member", display,
                                 cvm_digest_hex(&blobs[i], hex));
        }
    }
    return 0;
}

static int write_header(struct archive *a, const struct tar_sink *s, const char *display,
                        const char *name, bool dir, int64_t size, struct cvm_error **err)
{
    struct archive_entry *e = sym_archive_entry_new();
    if (!e)
        return cvm_error_set_errno(err, ENOMEM, "tar '%s'", display);
    sym_archive_entry_set_pathname(e, name);
    sym_archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
    sym_archive_entry_set_perm(e, dir ? 0755 : 0644);
    sym_archive_entry_set_size(e, size);
    sym_archive_entry_set_mtime(e, 0, 0);
    sym_archive_entry_set_uid(e, 0);
    sym_archive_entry_set_gid(e, 0);
    int r = sym_archive_write_header(a, e);
    sym_archive_entry_free(e);
    return r == ARCHIVE_OK ? 0 : write_failed(a, s, display, err);
}

static int write_data(struct archive *a, const struct tar_sink *s, const char *display,
                      const void *data, size_t len, struct cvm_error **err)
{
    const char *p = data;
    while (len > 0) {
        la_ssize_t w = sym_archive_write_data(a, p, len);
        if (w <= 0)
            return write_failed(a, s, display, err);
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Streams a file member; its size is fixed by the header, so a file that shrinks or grows
 * meanwhile fails rather than producing a tar that lies. */
static int write_file_member(struct archive *a, const struct tar_sink *s, const char *display,
                             const struct cvm_tar_member *m, uint8_t *chunk, struct cvm_error **err)
{
    CVM_AUTOCLOSE int fd = openat(m->dirfd, m->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return cvm_error_set_errno(err, errno, "tar '%s': member '%s': cannot open '%s'", display,
                                   m->name, m->path);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return cvm_error_set_errno(err, errno, "tar '%s': member '%s': cannot stat '%s'", display,
                                   m->name, m->path);
    if (!S_ISREG(st.st_mode))
        return cvm_error_set(err, CVM_E_USAGE, "tar '%s': member '%s': '%s' is not a regular file",
                             display, m->name, m->path);
    int r = write_header(a, s, display, m->name, false, st.st_size, err);
    if (r < 0)
        return r;
    uint64_t left = (uint64_t)st.st_size;
    for (;;) {
        size_t want = left < TAR_CHUNK ? (size_t)left : TAR_CHUNK;
        /* Past the declared size, one more byte tells whether the file grew. */
        ssize_t n = read(fd, chunk, want ? want : 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cvm_error_set_errno(err, errno, "tar '%s': member '%s': cannot read '%s'",
                                       display, m->name, m->path);
        if ((n == 0 && left > 0) || (n > 0 && left == 0))
            return cvm_error_set(err, CVM_E_CONFLICT,
                                 "tar '%s': member '%s': '%s' changed size while being written",
                                 display, m->name, m->path);
        if (n == 0)
            return 0;
        r = write_data(a, s, display, chunk, (size_t)n, err);
        if (r < 0)
            return r;
        left -= (uint64_t)n;
    }
}

static int write_archive(struct archive *a, struct tar_sink *s, const char *display,
                         const struct cvm_tar_member *members, size_t n, uint8_t *chunk,
                         struct cvm_error **err)
{
    /* pax restricted: plain ustar headers unless a value does not fit (a blob >= 8 GiB).
     * One byte per last block: no padding to the 10 KiB record, whatever out_fd is. */
    if (sym_archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        sym_archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        sym_archive_write_open(a, s, NULL, sink_write, NULL) != ARCHIVE_OK)
        return write_failed(a, s, display, err);
    static const char *const dirs[] = {"blobs/", BLOB_PREFIX};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        int r = write_header(a, s, display, dirs[i], true, 0, err);
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < n; i++) {
        const struct cvm_tar_member *m = &members[i];
        int r = m->path ? write_file_member(a, s, display, m, chunk, err)
                        : write_header(a, s, display, m->name, false, (int64_t)m->len, err);
        if (r == 0 && !m->path)
            r = write_data(a, s, display, m->data, m->len, err);
        if (r < 0)
            return r;
    }
    return sym_archive_write_close(a) == ARCHIVE_OK ? 0 : write_failed(a, s, display, err);
}

int cvm_tar_write(int out_fd, const char *display, const struct cvm_tar_member *members, size_t n,
                  struct cvm_error **err)
{
    int r = check_write_members(display, members, n, err);
    if (r < 0 || (r = cvm_archive_lib_load(err)) < 0)
        return r;
    CVM_AUTOFREE uint8_t *chunk = malloc(TAR_CHUNK);
    struct archive *a = sym_archive_write_new();
    if (!chunk || !a) {
        sym_archive_write_free(a);
        return cvm_error_set_errno(err, ENOMEM, "tar '%s'", display);
    }
    struct tar_sink sink = {.fd = out_fd};
    r = write_archive(a, &sink, display, members, n, chunk, err);
    /* After a failure, closing must not pad the entry and add an end marker: a reader would
     * take the cut archive for a whole one. */
    if (r < 0)
        sym_archive_write_fail(a);
    sym_archive_write_free(a);
    return r;
}

/* ---- extracting --------------------------------------------------------------------------- */

/* Where archive bytes come from: an fd, or memory when fd < 0. */
struct tar_source {
    int fd;
    const uint8_t *mem;
    size_t mem_len;
    uint8_t *buf;
    uint8_t head[8]; /* the first bytes, to name a compression format */
    size_t head_len;
    uint64_t total;
    bool eof;       /* the input ended: a later failure means the archive was cut */
    int read_errno; /* a read() failure, reported as such */
};

static la_ssize_t source_read(struct archive *a, void *opaque, const void **ret_buf)
{
    struct tar_source *s = opaque;
    ssize_t n;
    if (s->fd < 0) {
        n = (ssize_t)(s->mem_len < TAR_CHUNK ? s->mem_len : TAR_CHUNK);
        *ret_buf = s->mem;
        s->mem += n;
        s->mem_len -= (size_t)n;
    } else {
        do
            n = read(s->fd, s->buf, TAR_CHUNK);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            s->read_errno = errno;
            sym_archive_set_error(a, errno, "read failed");
            return -1;
        }
        *ret_buf = s->buf;
    }
    if (n == 0)
        s->eof = true;
    size_t keep = sizeof(s->head) - s->head_len;
    if (keep > (size_t)n)
        keep = (size_t)n;
    memcpy(s->head + s->head_len, *ret_buf, keep);
    s->head_len += keep;
    s->total += (uint64_t)n;
    return n;
}

/* The compression format whose magic number starts the input, if any. */
static const char *compression_name(const uint8_t *h, size_t n)
{
    static const struct {
        const char *name;
        size_t len;
        uint8_t magic[6];
    } magics[] = {
        {"gzip", 2, {0x1f, 0x8b}},
        {"compress", 2, {0x1f, 0x9d}},
        {"bzip2", 3, {'B', 'Z', 'h'}},
        {"xz", 6, {0xfd, '7', 'z', 'X', 'Z', 0}},
        {"zstd", 4, {0x28, 0xb5, 0x2f, 0xfd}},
        {"lz4", 4, {0x04, 0x22, 0x4d, 0x18}},
        {"lzip", 4, {'L', 'Z', 'I', 'P'}},
    };
    for (size_t i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
        if (n >= magics[i].len && memcmp(h, magics[i].magic, magics[i].len) == 0)
            return magics[i].name;
    return NULL;
}

struct extract {
    struct archive *a;
    struct tar_source src;
    const char *display;
    int staging;
    int blobs_fd;  /* "blobs", once made */
    int sha256_fd; /* "blobs/sha256", once made */
    uint64_t max_blob;
    uint64_t max_total;
    uint64_t total; /* bytes declared by the members so far */
    size_t members;
    bool opened;          /* libarchive recognised the input as a tar */
    bool seen[KIND_BLOB]; /* per non-blob kind; blobs are unique through O_EXCL */
    uint8_t *chunk;
    struct cvm_hasher *hasher;
};

static int read_failed(struct extract *x, const char *shown, struct cvm_error **err)
{
    if (x->src.read_errno)
        return cvm_error_set_errno(err, x->src.read_errno, "tar '%s': cannot read", x->display);
    if (!x->opened) {
        /* No format bid for the input: say why when the reason is plain. */
        const char *comp = compression_name(x->src.head, x->src.head_len);
        if (comp)
            return cvm_error_set(err, CVM_E_UNSUPPORTED,
                                 "tar '%s': %s-compressed archive: only plain tar is supported, "
                                 "decompress it first",
                                 x->display, comp);
        if (x->src.total == 0)
            return cvm_error_set(err, CVM_E_FORMAT, "tar '%s': empty file", x->display);
        return cvm_error_set(err, CVM_E_FORMAT, "tar '%s': not a tar archive", x->display);
    }
    char why[SHOW_SIZE];
    if (x->src.eof)
        snprintf(why, sizeof(why), "truncated");
    else
        show(sym_archive_error_string(x->a) ? sym_archive_error_string(x->a) : "unreadable", why);
    if (shown)
        return cvm_error_set(err, CVM_E_FORMAT, "tar '%s': member '%s': %s", x->display, shown,
                             why);
    return cvm_error_set(err, CVM_E_FORMAT, "tar '%s': %s", x->display, why);
}

/* Makes (or opens, when an earlier member made it) a folder of the layout, never following a
 * link. */
static int open_dir(struct extract *x, int parent, const char *name, const char *path, int *ret_fd,
                    struct cvm_error **err)
{
    if (*ret_fd >= 0)
        return 0;
    if (mkdirat(parent, name, 0755) < 0 && errno != EEXIST)
        return cvm_error_set_errno(err, errno, "tar '%s': cannot create folder '%s'", x->display,
                                   path);
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return cvm_error_set_errno(err, errno, "tar '%s': cannot open folder '%s'", x->display,
                                   path);
    *ret_fd = fd;
    return 0;
}

static int make_dirs(struct extract *x, bool sha256, struct cvm_error **err)
{
    int r = open_dir(x, x->staging, "blobs", "blobs", &x->blobs_fd, err);
    if (r == 0 && sha256)
        r = open_dir(x, x->blobs_fd, "sha256", "blobs/sha256", &x->sha256_fd, err);
    return r;
}

static int check_oci_layout(struct extract *x, const struct cvm_buf *b, struct cvm_error **err)
{
    char shown[SHOW_SIZE];
    json_error_t je;
    CVM_AUTO(json_decref)
    json_t *root =
        json_loadb(b->data ? (const char *)b->data : "", b->len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return cvm_error_set(err, CVM_E_FORMAT,
                             "tar '%s': member 'oci-layout': not valid JSON: %s at line %d "
                             "column %d",
                             x->display, show(je.text, shown), je.line, je.column);
    if (!json_is_object(root))
        return cvm_error_set(err, CVM_E_FORMAT, "tar '%s': member 'oci-layout': not a JSON object",
                             x->display);
    json_t *v = json_object_get(root, "imageLayoutVersion");
    if (!json_is_string(v))
        return cvm_error_set(err, CVM_E_FORMAT,
                             "tar '%s': member 'oci-layout': no string 'imageLayoutVersion'",
                             x->display);
    if (strcmp(json_string_value(v), LAYOUT_VERSION) != 0)
        return cvm_error_set(err, CVM_E_UNSUPPORTED,
                             "tar '%s': member 'oci-layout': unsupported imageLayoutVersion "
                             "'%s' (only " LAYOUT_VERSION ")",
                             x->display, show(json_string_value(v), shown));
    return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Copies the member's data to fd, hashing a blob and keeping oci-layout's bytes in *keep. */
static int copy_data(struct extract *x, int fd, enum member_kind kind, const char *shown,
                     uint64_t size, struct cvm_buf *keep, struct cvm_error **err)
{
    uint64_t got = 0;
    for (;;) {
        la_ssize_t n = sym_archive_read_data(x->a, x->chunk, TAR_CHUNK);
        if (n < 0)
            return read_failed(x, shown, err);
        if (n == 0)
            break;
        got += (uint64_t)n;
        if (got > size)
            return cvm_error_set(err, CVM_E_FORMAT,
                                 "tar '%s': member '%s': more data than declared", x->display,
                                 shown);
        int w = write_all(fd, x->chunk, (size_t)n);
        if (w < 0)
            return cvm_error_set_errno(err, -w, "tar '%s': member '%s': cannot write", x->display,
                                       shown);
        if (kind == KIND_BLOB)
            cvm_hasher_update(x->hasher, x->chunk, (size_t)n);
        else if (kind == KIND_OCI_LAYOUT) {
            int r = cvm_buf_append(keep, x->chunk, (size_t)n, err);
            if (r < 0)
                return r;
        }
    }
    if (got != size)
        return cvm_error_set(err, CVM_E_FORMAT, "tar '%s': member '%s': truncated", x->display,
                             shown);
    if (fsync(fd) < 0)
        return cvm_error_set_errno(err, errno, "tar '%s': member '%s': cannot sync", x->display,
                                   shown);
    return 0;
}

/* Blob content must hash to its name; the sums come from the bytes written. */
static int check_blob(struct extract *x, const char *hex, struct cvm_error **err)
{
    struct cvm_digest want, got;
    cvm_hasher_final(x->hasher, &got);
    cvm_digest_parse_hex(hex, &want);
    if (cvm_digest_equal(&want, &got))
        return 0;
    char got_s[CVM_DIGEST_STR_SIZE];
    return cvm_error_set(err, CVM_E_DIGEST, "tar '%s': blob sha256:%s: content has digest %s",
                         x->display, hex, cvm_digest_format(&got, got_s));
}

static int extract_file(struct extract *x, enum member_kind kind, const char *shown,
                        const char *hex, uint64_t size, struct cvm_error **err)
{
    int dirfd = x->staging;
    const char *file = kind == KIND_OCI_LAYOUT ? "oci-layout" : "index.json";
    if (kind == KIND_BLOB) {
        int r = make_dirs(x, true, err);
        if (r < 0)
            return r;
        dirfd = x->sha256_fd;
        file = hex;
    }
    CVM_AUTOCLOSE int fd =
        openat(dirfd, file, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST)
        return cvm_error_set(err, CVM_E_FORMAT, "tar '%s': member '%s': duplicate member",
                             x->display, shown);
    if (fd < 0)
        return cvm_error_set_errno(err, errno, "tar '%s': member '%s': cannot create file",
                                   x->display, shown);
    struct cvm_buf keep;
    cvm_buf_init(&keep, CVM_TAR_MAX_META);
    int r = copy_data(x, fd, kind, shown, size, &keep, err);
    if (r == 0 && kind == KIND_BLOB)
        r = check_blob(x, hex, err);
    if (r == 0 && kind == KIND_OCI_LAYOUT)
        r = check_oci_layout(x, &keep, err);
    cvm_buf_release(&keep);
    /* Only this member's own file: nothing that failed verification stays under its name. */
    if (r < 0)
        unlinkat(dirfd, file, 0);
    return r;
}

static const char *type_problem(struct archive_entry *e)
{
    if (sym_archive_entry_hardlink(e))
        return "is a hard link";
    switch (sym_archive_entry_filetype(e)) {
    case AE_IFREG: break;
    case AE_IFDIR: break;
    case AE_IFLNK: return "is a symbolic link";
    case AE_IFCHR: return "is a character device";
    case AE_IFBLK: return "is a block device";
    case AE_IFIFO: return "is a FIFO";
    case AE_IFSOCK: return "is a socket";
    default: return "has an unsupported type";
    }
    if (sym_archive_entry_sparse_count(e) > 0)
        return "is a sparse file";
    return NULL;
}

static int extract_member(struct extract *x, struct archive_entry *e, struct cvm_error **err)
{
    char shown[SHOW_SIZE];
    const char *name = sym_archive_entry_pathname(e);
    if (!name)
        name = sym_archive_entry_pathname_utf8(e);
    if (!name)
        return cvm_error_set(err, CVM_E_FORMAT, "tar '%s': member %zu: unreadable name", x->display,
                             x->members);
    show(name, shown);
    enum member_kind kind = KIND_ROOT;
    char hex[CVM_DIGEST_HEX_LEN + 1] = "";
    const char *why = path_problem(name);
    if (!why)
        why = type_problem(e);
    if (!why)
        why = classify(name, &kind, NULL, hex);
    if (!why && kind_is_dir(kind) && sym_archive_entry_filetype(e) != AE_IFDIR)
        why = "must be a folder";
    if (!why && !kind_is_dir(kind) && sym_archive_entry_filetype(e) != AE_IFREG)
        why = "must be a regular file";
    if (!why && kind != KIND_BLOB && x->seen[kind])
        why = "duplicate member";
    if (!why && !sym_archive_entry_size_is_set(e))
        why = "has no size";
    if (!why && kind_is_dir(kind) && sym_archive_entry_size(e) != 0)
        why = "folder entry carries data";
    if (why)
        return cvm_error_set(err, CVM_E_FORMAT, "tar '%s': member '%s': %s", x->display, shown,
                             why);
    if (kind != KIND_BLOB)
        x->seen[kind] = true;
    if (kind == KIND_ROOT)
        return 0;
    if (kind == KIND_BLOBS || kind == KIND_SHA256)
        return make_dirs(x, kind == KIND_SHA256, err);

    /* Sizes are checked from the header, before a byte of data is read or written. */
    uint64_t size = sym_archive_entry_size(e) < 0 ? 0 : (uint64_t)sym_archive_entry_size(e);
    uint64_t max = kind == KIND_BLOB ? x->max_blob : CVM_TAR_MAX_META;
    if (size > max)
        return cvm_error_set(err, CVM_E_LIMIT,
                             "tar '%s': member '%s': size %llu exceeds the limit of %llu bytes",
                             x->display, shown, (unsigned long long)size, (unsigned long long)max);
    if (size > x->max_total - x->total)
        return cvm_error_set(err, CVM_E_LIMIT,
                             "tar '%s': member '%s': the members exceed the limit of %llu bytes "
                             "in all",
                             x->display, shown, (unsigned long long)x->max_total);
    x->total += size;
    return extract_file(x, kind, shown, hex, size, err);
}

static int sync_dir(struct extract *x, int dirfd, const char *path, struct cvm_error **err)
{
    /* Reopened: the caller's fd may be O_PATH, which fsync refuses. */
    CVM_AUTOCLOSE int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        return cvm_error_set_errno(err, errno, "tar '%s': cannot sync folder '%s'", x->display,
                                   path);
    return 0;
}

static int extract_run(struct extract *x, struct cvm_error **err)
{
    if (sym_archive_read_support_filter_none(x->a) != ARCHIVE_OK ||
        sym_archive_read_support_format_tar(x->a) != ARCHIVE_OK)
        return cvm_error_set(err, CVM_E_SYSTEM, "tar '%s': %s", x->display,
                             sym_archive_error_string(x->a));
    if (sym_archive_read_open(x->a, &x->src, NULL, source_read, NULL) != ARCHIVE_OK)
        return read_failed(x, NULL, err);
    x->opened = true;
    for (;;) {
        int64_t before = sym_archive_filter_bytes(x->a, 0);
        struct archive_entry *e = NULL;
        int r = sym_archive_read_next_header(x->a, &e);
        if (r == ARCHIVE_EOF) {
            /* libarchive takes input ending on a header boundary for the end; a cut archive
             * ends the same way, so insist on the zero block. */
            if (sym_archive_filter_bytes(x->a, 0) == before) {
                if (x->src.total == 0)
                    return cvm_error_set(err, CVM_E_FORMAT, "tar '%s': empty file", x->display);
                return cvm_error_set(err, CVM_E_FORMAT,
                                     "tar '%s': truncated: no end-of-archive marker", x->display);
            }
            break;
        }
        /* ARCHIVE_RETRY (a damaged header) is a failure too: no scanning for the next one. */
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
            return read_failed(x, NULL, err);
        if (++x->members > CVM_TAR_MAX_MEMBERS)
            return cvm_error_set(err, CVM_E_LIMIT, "tar '%s': more than %d members", x->display,
                                 CVM_TAR_MAX_MEMBERS);
        r = extract_member(x, e, err);
        if (r < 0)
            return r;
        if (sym_archive_read_data_skip(x->a) != ARCHIVE_OK)
            return read_failed(x, NULL, err);
    }
    if (!x->seen[KIND_OCI_LAYOUT])
        return cvm_error_set(err, CVM_E_FORMAT, "tar '%s': no 'oci-layout' member", x->display);
    if (!x->seen[KIND_INDEX])
        return cvm_error_set(err, CVM_E_FORMAT, "tar '%s': no 'index.json' member", x->display);
    int r = make_dirs(x, true, err);
    if (r == 0)
        r = sync_dir(x, x->sha256_fd, "blobs/sha256", err);
    if (r == 0)
        r = sync_dir(x, x->blobs_fd, "blobs", err);
    if (r == 0)
        r = sync_dir(x, x->staging, ".", err);
    return r;
}

static int extract(struct tar_source *src, const char *display, int staging_dirfd,
                   const struct cvm_tar_limits *lim, struct cvm_error **err)
{
    if (cvm_archive_lib_load(err) < 0)
        return -CVM_E_UNSUPPORTED;
    struct extract x = {
        .src = *src,
        .display = display,
        .staging = staging_dirfd,
        .blobs_fd = -1,
        .sha256_fd = -1,
        .max_blob = lim && lim->max_blob_bytes ? lim->max_blob_bytes : CVM_TAR_DEFAULT_MAX_BLOB,
        .max_total = lim && lim->max_total_bytes ? lim->max_total_bytes : CVM_TAR_DEFAULT_MAX_TOTAL,
        .chunk = malloc(TAR_CHUNK),
        .hasher = cvm_hasher_new(),
        .a = sym_archive_read_new(),
    };
    if (x.src.fd >= 0)
        x.src.buf = malloc(TAR_CHUNK);
    int r;
    if (!x.chunk || !x.hasher || !x.a || (x.src.fd >= 0 && !x.src.buf))
        r = cvm_error_set_errno(err, ENOMEM, "tar '%s'", display);
    else
        r = extract_run(&x, err);
    sym_archive_read_free(x.a);
    cvm_hasher_free(x.hasher);
    free(x.chunk);
    free(x.src.buf);
    if (x.blobs_fd >= 0)
        close(x.blobs_fd);
    if (x.sha256_fd >= 0)
        close(x.sha256_fd);
    return r;
}

int cvm_layout_tar_extract(int tar_fd, const char *display, int staging_dirfd,
                           const struct cvm_tar_limits *lim, struct cvm_error **err)
{
    struct tar_source src = {.fd = tar_fd};
    return extract(&src, display, staging_dirfd, lim, err);
}

int cvm_layout_tar_extract_mem(const void *data, size_t len, const char *display, int staging_dirfd,
                               const struct cvm_tar_limits *lim, struct cvm_error **err)
{
    struct tar_source src = {.fd = -1, .mem = data, .mem_len = len};
    return extract(&src, display, staging_dirfd, lim, err);
}

/* ---- removing ----------------------------------------------------------------------------- */

static int remove_tree(int parent, const char *name, const char *path, int depth,
                       struct cvm_error **err)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
        if (unlinkat(parent, name, 0) < 0 && errno != ENOENT)
            return cvm_error_set_errno(err, errno, "cannot remove '%s'", path);
        return 0;
    }
    if (fd < 0)
        return cvm_error_set_errno(err, errno, "cannot open folder '%s'", path);
    if (depth >= CVM_DIR_REMOVE_MAX_DEPTH) {
        close(fd);
        return cvm_error_set(err, CVM_E_LIMIT, "cannot remove '%s': more than %d folders deep",
                             path, CVM_DIR_REMOVE_MAX_DEPTH);
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return cvm_error_set_errno(err, e, "cannot open folder '%s'", path);
    }
    int r = 0;
    struct dirent *de;
    errno = 0;
    while (r == 0 && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        CVM_AUTOFREE char *sub = cvm_path_resolve(path, de->d_name);
        if (!sub)
            r = cvm_error_set_errno(err, ENOMEM, "cannot remove '%s'", path);
        else if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)
            r = remove_tree(dirfd(d), de->d_name, sub, depth + 1, err);
        else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
            r = cvm_error_set_errno(err, errno, "cannot remove '%s'", sub);
        errno = 0;
    }
    if (r == 0 && errno)
        r = cvm_error_set_errno(err, errno, "cannot read folder '%s'", path);
    closedir(d);
    if (r == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        r = cvm_error_set_errno(err, errno, "cannot remove folder '%s'", path);
    return r;
}

int cvm_dir_remove_tree(int parent_dirfd, const char *name, struct cvm_error **err)
{
    return remove_tree(parent_dirfd, name, name, 0, err);
}
