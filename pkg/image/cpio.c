/* root.cpio: a reproducible newc writer over a folder walk, and a strict checker for untrusted
 * archives (our own scan of the newc framing and rules, then libarchive must read the same). */
/* Why a scan of our own before libarchive: libarchive's cpio reader is lenient where a ramfs
 * unpacker may not be (it skips garbage between headers with a mere warning, so two readers see
 * different entries; a missing trailer is a fatal error without a message), and its messages
 * change between versions while ours are part of the interface. */
#include "cpio.h"

#include "archive-lib.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"

CVM_DEFINE_CLEANUP(struct archive *, sym_archive_write_free)
CVM_DEFINE_CLEANUP(struct archive *, sym_archive_read_free)
CVM_DEFINE_CLEANUP(struct archive_entry *, sym_archive_entry_free)
CVM_DEFINE_CLEANUP(DIR *, closedir)

/* newc: a 110-byte ASCII header ("070701" and 13 fields of 8 hex digits), the NUL-terminated
 * name, zeros to a multiple of 4, the data, zeros to a multiple of 4; "TRAILER!!!" ends it. */
#define NEWC_MAGIC "070701"
#define NEWC_HEADER 110
#define NEWC_FIELDS 13
#define NEWC_TRAILER "TRAILER!!!"
#define NEWC_MAX_FILE UINT64_C(0xffffffff)
#define NEWC_TRAILER_BYTES 124 /* header + "TRAILER!!!\0", padded */

enum { F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_FILESIZE, F_NAMESIZE = 11 };
static const char *const newc_field_names[NEWC_FIELDS] = {
    "ino",      "mode",     "uid",       "gid",       "nlink",    "mtime", "filesize",
    "devmajor", "devminor", "rdevmajor", "rdevminor", "namesize", "check",
};

static uint64_t align4(uint64_t n)
{
    return (n + 3) & ~UINT64_C(3);
}

/* Names come from untrusted archives and folders: messages show them escaped and cut short. */
#define SHOW_MAX 200
#define SHOW_SIZE (SHOW_MAX * 4 + 4)

static const char *show_name(char out[SHOW_SIZE], const char *name, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && i < SHOW_MAX; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < 0x20 || c == 0x7f) {
            snprintf(out + o, 5, "\\x%02x", c);
            o += 4;
        } else {
            out[o++] = (char)c;
        }
    }
    if (len > SHOW_MAX) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = 0;
    return out;
}

/* The kinds of file neither side accepts, worded for "entry 'x': <kind> are not allowed". */
static const char *refused_kind(uint32_t type)
{
    switch (type) {
    case S_IFCHR: return "character devices";
    case S_IFBLK: return "block devices";
    case S_IFIFO: return "FIFOs";
    case S_IFSOCK: return "sockets";
    default: return NULL;
    }
}

/* ---- pack ------------------------------------------------------------------------------- */

struct pack_entry {
    char *path;    /* relative to the root, no "./" */
    uint32_t mode; /* type | permission bits */
    uint64_t size; /* regular files: bytes */
    char *target;  /* symlinks: the target text */
};

struct packer {
    int rootfd;
    const char *display;
    struct pack_entry *v;
    size_t n, cap;
    uint64_t archive_bytes; /* the exact size of the archive, trailer included */
    struct cvm_cpio_stats stats;
};

static void packer_release(struct packer *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].path);
        free(p->v[i].target);
    }
    free(p->v);
}

/* Opens path below rootfd one component at a time with O_NOFOLLOW, so that no symlink is ever
 * followed, not even one swapped in for a folder after the walk saw it. */
static int open_beneath(int rootfd, const char *path, int flags)
{
    int at = rootfd;
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        if (!slash) {
            int fd = openat(at, p, flags | O_NOFOLLOW | O_CLOEXEC);
            int e = errno;
            if (at != rootfd)
                close(at);
            errno = e;
            return fd;
        }
        char component[NAME_MAX + 1];
        size_t len = (size_t)(slash - p);
        if (len > NAME_MAX) {
            if (at != rootfd)
                close(at);
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(component, p, len);
        component[len] = 0;
        int fd = openat(at, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        if (at != rootfd)
            close(at);
        if (fd < 0) {
            errno = e;
            return -1;
        }
        at = fd;
        p = slash + 1;
    }
}

static int pack_add(struct packer *p, const char *prefix, const char *name, int dfd,
                    struct cvm_error **err)
{
    char shown[SHOW_SIZE];
    size_t plen = prefix ? strlen(prefix) + 1 : 0, nlen = strlen(name);
    CVM_AUTOFREE char *path = malloc(plen + nlen + 1);
    if (!path)
        return cvm_error_set_errno(err, ENOMEM, "rootfs '%s'", p->display);
    if (prefix) {
        memcpy(path, prefix, plen - 1);
        path[plen - 1] = '/';
    }
    memcpy(path + plen, name, nlen + 1);
    if (plen + nlen > CVM_CPIO_MAX_PATH)
        return cvm_error_set(err, CVM_E_LIMIT,
                             "rootfs '%s': entry '%s': path is longer than %d bytes", p->display,
                             show_name(shown, path, plen + nlen), CVM_CPIO_MAX_PATH);
    if (p->n >= CVM_CPIO_MAX_ENTRIES)
        return cvm_error_set(err, CVM_E_LIMIT, "rootfs '%s': more than %d entries", p->display,
                             CVM_CPIO_MAX_ENTRIES);

    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return cvm_error_set_errno(err, errno, "rootfs '%s': cannot stat '%s'", p->display,
                                   show_name(shown, path, plen + nlen));
    uint32_t type = (uint32_t)(st.st_mode & S_IFMT);
    struct pack_entry e = {.mode = type | (uint32_t)(st.st_mode & 07777)};
    CVM_AUTOFREE char *target = NULL;
    uint64_t data = 0;
    if (type == S_IFREG) {
        e.size = (uint64_t)st.st_size;
        if (e.size > NEWC_MAX_FILE)
            return cvm_error_set(err, CVM_E_LIMIT,
                                 "rootfs '%s': entry '%s': file is %llu bytes, over the newc "
                                 "limit of %llu",
                                 p->display, show_name(shown, path, plen + nlen),
                                 (unsigned long long)e.size, (unsigned long long)NEWC_MAX_FILE);
        data = e.size;
        p->stats.files++;
        p->stats.file_bytes += e.size;
    } else if (type == S_IFDIR) {
        p->stats.dirs++;
    } else if (type == S_IFLNK) {
        target = malloc(CVM_CPIO_MAX_TARGET + 2);
        if (!target)
            return cvm_error_set_errno(err, ENOMEM, "rootfs '%s'", p->display);
        ssize_t n = readlinkat(dfd, name, target, CVM_CPIO_MAX_TARGET + 1);
        if (n < 0)
            return cvm_error_set_errno(err, errno, "rootfs '%s': cannot read symlink '%s'",
                                       p->display, show_name(shown, path, plen + nlen));
        if (n == 0)
            return cvm_error_set(err, CVM_E_FORMAT,
                                 "rootfs '%s': entry '%s': symlink target is empty", p->display,
                                 show_name(shown, path, plen + nlen));
        if (n > CVM_CPIO_MAX_TARGET)
            return cvm_error_set(
                err, CVM_E_LIMIT, "rootfs '%s': entry '%s': symlink target is longer than %d bytes",
                p->display, show_name(shown, path, plen + nlen), CVM_CPIO_MAX_TARGET);
        target[n] = 0;
        data = (uint64_t)n;
        p->stats.symlinks++;
    } else {
        const char *kind = refused_kind(type);
        if (kind)
            return cvm_error_set(err, CVM_E_FORMAT, "rootfs '%s': entry '%s': %s are not allowed",
                                 p->display, show_name(shown, path, plen + nlen), kind);
        return cvm_error_set(err, CVM_E_FORMAT, "rootfs '%s': entry '%s': unknown file type %#o",
                             p->display, show_name(shown, path, plen + nlen), type);
    }

    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        struct pack_entry *v = realloc(p->v, cap * sizeof(*v));
        if (!v)
            return cvm_error_set_errno(err, ENOMEM, "rootfs '%s'", p->display);
        p->v = v;
        p->cap = cap;
    }
    e.path = cvm_steal_ptr(&path);
    e.target = cvm_steal_ptr(&target);
    p->v[p->n++] = e;
    p->stats.entries++;
    p->archive_bytes += align4(NEWC_HEADER + plen + nlen + 1) + align4(data);
    return 0;
}

/* Lists one folder (parent is an index into p->v, or SIZE_MAX for the root) into p->v. */
static int pack_list(struct packer *p, size_t parent, struct cvm_error **err)
{
    char shown[SHOW_SIZE];
    /* The path string stays put when p->v grows. */
    const char *prefix = parent == SIZE_MAX ? NULL : p->v[parent].path;
    int fd = prefix ? open_beneath(p->rootfd, prefix, O_RDONLY | O_DIRECTORY)
                    : openat(p->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return cvm_error_set_errno(err, errno, "rootfs '%s': cannot open folder '%s'", p->display,
                                   prefix ? show_name(shown, prefix, strlen(prefix)) : ".");
    CVM_AUTO(closedir) DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return cvm_error_set_errno(err, e, "rootfs '%s': cannot list folder '%s'", p->display,
                                   prefix ? show_name(shown, prefix, strlen(prefix)) : ".");
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno)
                return cvm_error_set_errno(err, errno, "rootfs '%s': cannot list folder '%s'",
                                           p->display,
                                           prefix ? show_name(shown, prefix, strlen(prefix)) : ".");
            return 0;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int r = pack_add(p, prefix, de->d_name, dirfd(d), err);
        if (r < 0)
            return r;
    }
}

static int pack_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct pack_entry *)a)->path, ((const struct pack_entry *)b)->path);
}

/* libarchive's output goes to the caller's buffer, bounded by limit bytes. */
struct sink {
    struct cvm_buf *out;
    size_t start;
    uint64_t limit;
    struct cvm_error *err;
};

static la_ssize_t sink_write(struct archive *a, void *data, const void *buf, size_t len)
{
    (void)a;
    struct sink *s = data;
    if (s->out->len - s->start + (uint64_t)len > s->limit) {
        cvm_error_set(&s->err, CVM_E_LIMIT, "the archive exceeds the limit of %llu bytes",
                      (unsigned long long)s->limit);
        return -1;
    }
    if (cvm_buf_append(s->out, buf, len, &s->err) < 0)
        return -1;
    return (la_ssize_t)len;
}

static int pack_archive_error(const struct packer *p, struct archive *a, const struct sink *s,
                              struct cvm_error **err)
{
    if (s->err)
        return cvm_error_set(err, s->err->code, "rootfs '%s': %s", p->display, s->err->message);
    const char *msg = sym_archive_error_string(a);
    return cvm_error_set(err, CVM_E_SYSTEM, "rootfs '%s': cannot write the archive: %s", p->display,
                         msg ? msg : "unknown libarchive error");
}

static int pack_changed(const struct packer *p, const struct pack_entry *pe, struct cvm_error **err)
{
    char shown[SHOW_SIZE];
    return cvm_error_set(err, CVM_E_CONFLICT, "rootfs '%s': entry '%s': changed while packing",
                         p->display, show_name(shown, pe->path, strlen(pe->path)));
}

/* Copies one regular file's data; it must still be the file (type and size) the walk saw. */
static int pack_copy(const struct packer *p, const struct pack_entry *pe, struct archive *a,
                     const struct sink *s, uint8_t *buf, size_t cap, struct cvm_error **err)
{
    char shown[SHOW_SIZE];
    /* O_NONBLOCK: a FIFO swapped in after the walk must not hang the open. */
    CVM_AUTOCLOSE int fd = open_beneath(p->rootfd, pe->path, O_RDONLY | O_NONBLOCK);
    if (fd < 0)
        return cvm_error_set_errno(err, errno, "rootfs '%s': cannot open '%s'", p->display,
                                   show_name(shown, pe->path, strlen(pe->path)));
    struct stat st;
    if (fstat(fd, &st) < 0)
        return cvm_error_set_errno(err, errno, "rootfs '%s': cannot stat '%s'", p->display,
                                   show_name(shown, pe->path, strlen(pe->path)));
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != pe->size)
        return pack_changed(p, pe, err);
    for (uint64_t left = pe->size; left > 0;) {
        ssize_t n = read(fd, buf, left < cap ? (size_t)left : cap);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cvm_error_set_errno(err, errno, "rootfs '%s': cannot read '%s'", p->display,
                                       show_name(shown, pe->path, strlen(pe->path)));
        if (n == 0)
            return pack_changed(p, pe, err);
        if (sym_archive_write_data(a, buf, (size_t)n) != n)
            return pack_archive_error(p, a, s, err);
        left -= (uint64_t)n;
    }
    /* A file that grew after the walk has changed too. */
    ssize_t n;
    do
        n = read(fd, buf, 1);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return cvm_error_set_errno(err, errno, "rootfs '%s': cannot read '%s'", p->display,
                                   show_name(shown, pe->path, strlen(pe->path)));
    if (n > 0)
        return pack_changed(p, pe, err);
    return 0;
}

static int pack_write_entries(const struct packer *p, struct archive *a, const struct sink *s,
                              struct cvm_error **err)
{
    CVM_AUTO(sym_archive_entry_free) struct archive_entry *e = sym_archive_entry_new();
    const size_t cap = 64 * 1024;
    CVM_AUTOFREE uint8_t *buf = malloc(cap);
    if (!e || !buf)
        return cvm_error_set_errno(err, ENOMEM, "rootfs '%s'", p->display);
    for (size_t k = 0; k < p->n; k++) {
        const struct pack_entry *pe = &p->v[k];
        sym_archive_entry_clear(e);
        sym_archive_entry_set_pathname(e, pe->path);
        sym_archive_entry_set_mode(e, pe->mode);
        sym_archive_entry_set_ino(e, (la_int64_t)k + 1);
        sym_archive_entry_set_nlink(e, (pe->mode & S_IFMT) == S_IFDIR ? 2 : 1);
        sym_archive_entry_set_uid(e, 0);
        sym_archive_entry_set_gid(e, 0);
        sym_archive_entry_set_mtime(e, 0, 0);
        sym_archive_entry_set_dev(e, 0);
        sym_archive_entry_set_rdev(e, 0);
        sym_archive_entry_set_size(e, (la_int64_t)pe->size);
        if (pe->target)
            sym_archive_entry_set_symlink(e, pe->target);
        if (sym_archive_write_header(a, e) != ARCHIVE_OK)
            return pack_archive_error(p, a, s, err);
        if ((pe->mode & S_IFMT) == S_IFREG) {
            int r = pack_copy(p, pe, a, s, buf, cap, err);
            if (r < 0)
                return r;
        }
        if (sym_archive_write_finish_entry(a) != ARCHIVE_OK)
            return pack_archive_error(p, a, s, err);
    }
    return 0;
}

static int pack_write(const struct packer *p, struct cvm_buf *out, uint64_t limit,
                      struct cvm_error **err)
{
    int r = cvm_archive_lib_load(err);
    if (r < 0)
        return r;
    struct sink s = {.out = out, .start = out->len, .limit = limit};
    CVM_AUTO(sym_archive_write_free) struct archive *a = sym_archive_write_new();
    if (!a)
        return cvm_error_set_errno(err, ENOMEM, "rootfs '%s'", p->display);
    /* Unblocked (bytes_per_block 0): no padding after the trailer, so the size is exact. */
    if (sym_archive_write_set_format_cpio_newc(a) != ARCHIVE_OK ||
        sym_archive_write_add_filter_none(a) != ARCHIVE_OK ||
        sym_archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
        sym_archive_write_open(a, &s, NULL, sink_write, NULL) != ARCHIVE_OK)
        r = pack_archive_error(p, a, &s, err);
    if (r == 0)
        r = pack_write_entries(p, a, &s, err);
    if (r == 0 && sym_archive_write_close(a) != ARCHIVE_OK)
        r = pack_archive_error(p, a, &s, err);
    /* A failed archive must not write its trailer when freed. */
    if (r < 0)
        sym_archive_write_fail(a);
    cvm_error_free(s.err);
    return r;
}

int cvm_cpio_pack_dir(int dirfd, const char *display, struct cvm_buf *out,
                      struct cvm_cpio_stats *ret_stats, struct cvm_error **err)
{
    struct packer p = {.rootfd = dirfd, .display = display, .archive_bytes = NEWC_TRAILER_BYTES};
    int r = pack_list(&p, SIZE_MAX, err);
    /* Breadth first, by index: p->v grows as folders are listed, and no folder fd stays open. */
    for (size_t i = 0; r == 0 && i < p.n; i++)
        if ((p.v[i].mode & S_IFMT) == S_IFDIR)
            r = pack_list(&p, i, err);
    if (r == 0) {
        if (p.n)
            qsort(p.v, p.n, sizeof(p.v[0]), pack_entry_cmp);
        uint64_t room = out->max - out->len;
        uint64_t limit = room < CVM_CPIO_MAX_BYTES ? room : CVM_CPIO_MAX_BYTES;
        if (p.archive_bytes > limit)
            r = cvm_error_set(err, CVM_E_LIMIT,
                              "rootfs '%s': the archive would be %llu bytes, over the limit of "
                              "%llu",
                              display, (unsigned long long)p.archive_bytes,
                              (unsigned long long)limit);
    }
    if (r == 0) {
        size_t start = out->len;
        r = pack_write(&p, out, p.archive_bytes, err);
        if (r < 0) {
            out->len = start;
            if (out->data)
                out->data[start] = 0;
        }
    }
    if (r == 0 && ret_stats)
        *ret_stats = p.stats;
    packer_release(&p);
    return r;
}

/* ---- check ------------------------------------------------------------------------------ */

/* One entry as the strict scan saw it; name and data point into the archive. */
struct scan_entry {
    const char *name; /* NUL-terminated in the archive */
    uint32_t name_len;
    uint32_t mode;
    uint32_t size;
    const uint8_t *data;
};

struct scan {
    const uint8_t *d;
    size_t len;
    const char *display;
    struct scan_entry *v;
    size_t n, cap;
    struct cvm_cpio_stats stats;
};

/* "<display>: entry <k> '<name>': <message>" (no name when it is not known yet). */
__attribute__((format(printf, 6, 7))) static int
check_fail(const struct scan *s, struct cvm_error **err, enum cvm_error_class code, size_t k,
           const struct scan_entry *e, const char *fmt, ...)
{
    char msg[CVM_ERROR_MSG_MAX], shown[SHOW_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!e)
        return cvm_error_set(err, code, "%s: entry %zu: %s", s->display, k, msg);
    return cvm_error_set(err, code, "%s: entry %zu '%s': %s", s->display, k,
                         show_name(shown, e->name, e->name_len), msg);
}

static int hex8(const uint8_t *p, uint32_t *ret)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        uint8_t c = p[i];
        uint32_t digit;
        if (c >= '0' && c <= '9')
            digit = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            digit = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            digit = (uint32_t)(c - 'A' + 10);
        else
            return -1;
        v = v << 4 | digit;
    }
    *ret = v;
    return 0;
}

/* Why a name is refused, or NULL. "." alone is the root folder; a trailing '/' is refused
 * rather than normalised so that each entry has exactly one spelling. */
static const char *path_problem(const char *name, size_t len)
{
    if (len == 0)
        return "path is empty";
    if (len == 1 && name[0] == '.')
        return NULL;
    if (name[0] == '/')
        return "path is absolute";
    if (name[len - 1] == '/')
        return "path ends with '/'";
    long depth = 0;
    bool dotdot = false;
    for (size_t i = 0; i <= len;) {
        size_t j = i;
        while (j < len && name[j] != '/')
            j++;
        size_t clen = j - i;
        if (clen == 0)
            return "path has an empty component";
        if (clen == 1 && name[i] == '.')
            return "path has a '.' component";
        if (clen == 2 && name[i] == '.' && name[i + 1] == '.') {
            if (--depth < 0)
                return "path leaves the archive root";
            dotdot = true;
        } else {
            depth++;
        }
        i = j + 1;
    }
    return dotdot ? "path has a '..' component" : NULL;
}

static int scan_magic_error(const struct scan *s, size_t k, const uint8_t *h, size_t left,
                            struct cvm_error **err)
{
    const char *what = NULL;
    if (left >= 6 && memcmp(h, "070707", 6) == 0)
        what = "odc cpio (070707)";
    else if (left >= 6 && memcmp(h, "070702", 6) == 0)
        what = "newc cpio with CRC (070702)";
    else if (left >= 2 && ((h[0] == 0xc7 && h[1] == 0x71) || (h[0] == 0x71 && h[1] == 0xc7)))
        what = "old binary cpio";
    if (what)
        return check_fail(s, err, CVM_E_FORMAT, k, NULL, "%s is not supported, only newc (070701)",
                          what);
    if (k == 1)
        return cvm_error_set(err, CVM_E_FORMAT, "%s: not a newc cpio archive (bad magic)",
                             s->display);
    return check_fail(s, err, CVM_E_FORMAT, k, NULL, "bad magic at offset %zu", (size_t)(h - s->d));
}

/* The rules on an entry's type, links and size (its data is not yet known to be there). */
static int scan_type(const struct scan *s, size_t k, const struct scan_entry *e, uint32_t nlink,
                     struct cvm_error **err)
{
    uint32_t type = e->mode & S_IFMT;
    if (e->mode & ~UINT32_C(0177777))
        return check_fail(s, err, CVM_E_FORMAT, k, e, "bad mode %#o", e->mode);
    if (e->name_len == 1 && e->name[0] == '.' && type != S_IFDIR)
        return check_fail(s, err, CVM_E_FORMAT, k, e, "the root entry must be a folder");
    if (type == S_IFDIR) {
        if (e->size)
            return check_fail(s, err, CVM_E_FORMAT, k, e, "folder has %u bytes of data", e->size);
        return 0;
    }
    if (type != S_IFREG && type != S_IFLNK) {
        const char *kind = refused_kind(type);
        if (kind)
            return check_fail(s, err, CVM_E_FORMAT, k, e, "%s are not allowed", kind);
        return check_fail(s, err, CVM_E_FORMAT, k, e, "unknown file type %#o", type);
    }
    if (nlink > 1)
        return check_fail(s, err, CVM_E_FORMAT, k, e, "hard links are not allowed (nlink %u)",
                          nlink);
    if (type == S_IFLNK && e->size == 0)
        return check_fail(s, err, CVM_E_FORMAT, k, e, "symlink target is empty");
    if (type == S_IFLNK && e->size > CVM_CPIO_MAX_TARGET)
        return check_fail(s, err, CVM_E_LIMIT, k, e,
                          "symlink target is %u bytes, over the limit of %d", e->size,
                          CVM_CPIO_MAX_TARGET);
    return 0;
}

/* Reads the entry at *off; returns 1 at the trailer, 0 for an entry added to s->v. */
static int scan_one(struct scan *s, size_t *off, struct cvm_error **err)
{
    size_t k = s->n + 1, left = s->len - *off;
    if (left == 0) {
        if (s->n == 0)
            return cvm_error_set(err, CVM_E_FORMAT, "%s: empty archive", s->display);
        char shown[SHOW_SIZE];
        const struct scan_entry *last = &s->v[s->n - 1];
        return cvm_error_set(err, CVM_E_FORMAT, "%s: missing TRAILER!!! after entry %zu '%s'",
                             s->display, s->n, show_name(shown, last->name, last->name_len));
    }
    const uint8_t *h = s->d + *off;
    if (memcmp(h, NEWC_MAGIC, left < 6 ? left : 6) != 0)
        return scan_magic_error(s, k, h, left, err);
    if (left < NEWC_HEADER)
        return check_fail(s, err, CVM_E_FORMAT, k, NULL, "truncated header (%zu of %d bytes)", left,
                          NEWC_HEADER);
    uint32_t f[NEWC_FIELDS];
    for (int i = 0; i < NEWC_FIELDS; i++)
        if (hex8(h + 6 + 8 * i, &f[i]) < 0)
            return check_fail(s, err, CVM_E_FORMAT, k, NULL, "bad hex digits in header field c_%s",
                              newc_field_names[i]);
    uint32_t namesize = f[F_NAMESIZE];
    if (namesize == 0)
        return check_fail(s, err, CVM_E_FORMAT, k, NULL, "name size is 0");
    if (namesize - 1 > CVM_CPIO_MAX_PATH)
        return check_fail(s, err, CVM_E_LIMIT, k, NULL, "name is %u bytes, over the limit of %d",
                          namesize - 1, CVM_CPIO_MAX_PATH);
    if (namesize > left - NEWC_HEADER)
        return check_fail(s, err, CVM_E_FORMAT, k, NULL,
                          "truncated name (%u bytes declared, %zu left)", namesize,
                          left - NEWC_HEADER);
    const char *name = (const char *)h + NEWC_HEADER;
    const char *nul = memchr(name, 0, namesize);
    if (!nul)
        return check_fail(s, err, CVM_E_FORMAT, k, NULL, "name is not NUL-terminated");
    struct scan_entry e = {
        .name = name,
        .name_len = namesize - 1,
        .mode = f[F_MODE],
        .size = f[F_FILESIZE],
    };
    if ((size_t)(nul - name) != e.name_len)
        return check_fail(s, err, CVM_E_FORMAT, k, NULL, "name contains a NUL byte");
    uint64_t head = align4(NEWC_HEADER + (uint64_t)namesize);
    if (head > left)
        return check_fail(s, err, CVM_E_FORMAT, k, &e, "truncated padding after the name");

    if (e.name_len == strlen(NEWC_TRAILER) && memcmp(name, NEWC_TRAILER, e.name_len) == 0) {
        if (e.size)
            return cvm_error_set(err, CVM_E_FORMAT, "%s: TRAILER!!! has %u bytes of data",
                                 s->display, e.size);
        for (size_t i = *off + head; i < s->len; i++)
            if (s->d[i])
                return cvm_error_set(err, CVM_E_FORMAT,
                                     "%s: non-zero byte after TRAILER!!! at offset %zu", s->display,
                                     i);
        return 1;
    }
    if (s->n >= CVM_CPIO_MAX_ENTRIES)
        return cvm_error_set(err, CVM_E_LIMIT, "%s: more than %d entries", s->display,
                             CVM_CPIO_MAX_ENTRIES);
    const char *problem = path_problem(name, e.name_len);
    if (problem)
        return check_fail(s, err, CVM_E_FORMAT, k, &e, "%s", problem);
    int r = scan_type(s, k, &e, f[F_NLINK], err);
    if (r < 0)
        return r;
    left -= head;
    if (e.size > left)
        return check_fail(s, err, CVM_E_FORMAT, k, &e,
                          "truncated data (%u bytes declared, %zu left)", e.size, left);
    if (align4(e.size) > left)
        return check_fail(s, err, CVM_E_FORMAT, k, &e, "truncated padding after the data");
    e.data = h + head;
    if ((e.mode & S_IFMT) == S_IFLNK && memchr(e.data, 0, e.size))
        return check_fail(s, err, CVM_E_FORMAT, k, &e, "symlink target contains a NUL byte");

    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        struct scan_entry *v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            return cvm_error_set_errno(err, ENOMEM, "%s", s->display);
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = e;
    s->stats.entries++;
    switch (e.mode & S_IFMT) {
    case S_IFREG:
        s->stats.files++;
        s->stats.file_bytes += e.size;
        break;
    case S_IFDIR: s->stats.dirs++; break;
    default: s->stats.symlinks++; break;
    }
    *off += head + align4(e.size);
    return 0;
}

/* libarchive must read exactly what the scan read: the same format, names, types and sizes. */
static int check_libarchive(const struct scan *s, struct cvm_error **err)
{
    if (cvm_archive_lib_load(err) < 0)
        return -CVM_E_UNSUPPORTED;
    CVM_AUTO(sym_archive_read_free) struct archive *a = sym_archive_read_new();
    if (!a)
        return cvm_error_set_errno(err, ENOMEM, "%s", s->display);
    if (sym_archive_read_support_format_cpio(a) != ARCHIVE_OK ||
        sym_archive_read_open_memory(a, s->d, s->len) != ARCHIVE_OK) {
        const char *msg = sym_archive_error_string(a);
        return cvm_error_set(err, CVM_E_FORMAT, "%s: libarchive cannot open it: %s", s->display,
                             msg ? msg : "unknown error");
    }
    for (size_t i = 0;; i++) {
        struct archive_entry *ae = NULL;
        int r = sym_archive_read_next_header(a, &ae);
        if (r == ARCHIVE_EOF && i == s->n)
            return 0;
        if (r == ARCHIVE_EOF)
            return cvm_error_set(err, CVM_E_FORMAT,
                                 "%s: libarchive ends after entry %zu, before TRAILER!!!",
                                 s->display, i);
        const char *msg = sym_archive_error_string(a);
        if (r != ARCHIVE_OK && i == s->n)
            return cvm_error_set(err, CVM_E_FORMAT, "%s: libarchive at TRAILER!!!: %s", s->display,
                                 msg ? msg : "unknown error");
        if (i == s->n)
            return cvm_error_set(err, CVM_E_FORMAT, "%s: libarchive reads past TRAILER!!!",
                                 s->display);
        const struct scan_entry *e = &s->v[i];
        if (r != ARCHIVE_OK)
            return check_fail(s, err, CVM_E_FORMAT, i + 1, e, "libarchive: %s",
                              msg ? msg : "unknown error");
        if (sym_archive_format(a) != ARCHIVE_FORMAT_CPIO_SVR4_NOCRC)
            return check_fail(s, err, CVM_E_FORMAT, i + 1, e, "%s is not newc",
                              sym_archive_format_name(a));
        const char *path = sym_archive_entry_pathname(ae);
        const char *target = sym_archive_entry_symlink(ae);
        const char *what = NULL;
        if (!path || strlen(path) != e->name_len || memcmp(path, e->name, e->name_len) != 0)
            what = "name";
        else if ((uint32_t)sym_archive_entry_filetype(ae) != (e->mode & S_IFMT))
            what = "type";
        else if (sym_archive_entry_hardlink(ae))
            what = "hard link";
        else if ((e->mode & S_IFMT) == S_IFLNK &&
                 (!target || strlen(target) != e->size || memcmp(target, e->data, e->size) != 0))
            what = "symlink target";
        else if ((e->mode & S_IFMT) != S_IFLNK && sym_archive_entry_size(ae) != (la_int64_t)e->size)
            what = "size";
        if (what)
            return check_fail(s, err, CVM_E_FORMAT, i + 1, e, "libarchive reads another %s", what);
    }
}

struct name_ref {
    const char *name;
    size_t len;
    size_t index;
};

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int name_ref_cmp(const void *pa, const void *pb)
{
    const struct name_ref *a = pa, *b = pb;
    int c = bytes_cmp(a->name, a->len, b->name, b->len);
    if (c)
        return c;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* The first (lowest index) entry named name[0..len), or NULL. */
static const struct name_ref *find_name(const struct name_ref *sorted, size_t n, const char *name,
                                        size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (bytes_cmp(sorted[mid].name, sorted[mid].len, name, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && bytes_cmp(sorted[lo].name, sorted[lo].len, name, len) == 0)
        return &sorted[lo];
    return NULL;
}

/* Names are unique and every parent is a folder entry earlier in the archive; the first entry
 * in archive order that breaks either rule is reported. */
static int check_tree(const struct scan *s, struct cvm_error **err)
{
    if (s->n == 0)
        return 0;
    CVM_AUTOFREE struct name_ref *sorted = calloc(s->n, sizeof(*sorted));
    if (!sorted)
        return cvm_error_set_errno(err, ENOMEM, "%s", s->display);
    for (size_t i = 0; i < s->n; i++)
        sorted[i] = (struct name_ref){s->v[i].name, s->v[i].name_len, i};
    qsort(sorted, s->n, sizeof(*sorted), name_ref_cmp);
    for (size_t i = 0; i < s->n; i++) {
        const struct scan_entry *e = &s->v[i];
        const struct name_ref *first = find_name(sorted, s->n, e->name, e->name_len);
        if (first->index != i)
            return check_fail(s, err, CVM_E_FORMAT, i + 1, e, "duplicate of entry %zu",
                              first->index + 1);
        const char *slash = memrchr(e->name, '/', e->name_len);
        if (!slash)
            continue;
        char shown[SHOW_SIZE];
        size_t plen = (size_t)(slash - e->name);
        const struct name_ref *parent = find_name(sorted, s->n, e->name, plen);
        if (!parent || parent->index > i)
            return check_fail(s, err, CVM_E_FORMAT, i + 1, e,
                              "parent folder '%s' does not come before it",
                              show_name(shown, e->name, plen));
        if ((s->v[parent->index].mode & S_IFMT) != S_IFDIR)
            return check_fail(s, err, CVM_E_FORMAT, i + 1, e, "parent '%s' is not a folder",
                              show_name(shown, e->name, plen));
    }
    return 0;
}

int cvm_cpio_check(const void *data, size_t len, const char *display,
                   struct cvm_cpio_stats *ret_stats, struct cvm_error **err)
{
    if ((uint64_t)len > CVM_CPIO_MAX_BYTES)
        return cvm_error_set(err, CVM_E_LIMIT, "%s: archive is %zu bytes, over the limit of %llu",
                             display, len, (unsigned long long)CVM_CPIO_MAX_BYTES);
    struct scan s = {.d = data, .len = len, .display = display};
    size_t off = 0;
    int r;
    while ((r = scan_one(&s, &off, err)) == 0)
        ;
    if (r > 0)
        r = check_libarchive(&s, err);
    if (r == 0)
        r = check_tree(&s, err);
    if (r == 0 && ret_stats)
        *ret_stats = s.stats;
    free(s.v);
    return r;
}
