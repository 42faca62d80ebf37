/* The layout tar transport: reproducible writing, round trips, and every hostile archive the
 * extractor refuses, with its exact message and nothing left under a failed blob's name. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "digest.h"
#include "layout-tar.h"
#include "tap.h"

#define LAYOUT "{\"imageLayoutVersion\": \"1.0.0\"}"
#define INDEX "{\"schemaVersion\":2,\"manifests\":[]}"
#define HELLO "hello\n"
/* sha256 of HELLO */
#define HELLO_HEX "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
#define HELLO_BLOB "blobs/sha256/" HELLO_HEX
#define BIG_LEN (3u << 20)
#define TARBUF_MAX (8u << 20)

/* A temporary folder per test process, removed at exit (also when a CHECK fails). */
static char root[] = "/tmp/test-layout-tar.XXXXXX";
static int root_fd = -1;
static int n_staging;

static void remove_root(void)
{
    if (root_fd >= 0)
        cvm_dir_remove_tree(AT_FDCWD, root, NULL);
}

static void finish(void)
{
    remove_root();
    root_fd = -1;
}

static int root_dir(void)
{
    if (root_fd < 0) {
        CHECK(mkdtemp(root) != NULL);
        root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(root_fd >= 0);
        atexit(remove_root);
    }
    return root_fd;
}

/* A new empty folder under the root. */
static int staging(void)
{
    char name[32];
    snprintf(name, sizeof(name), "s%d", n_staging++);
    CHECK(mkdirat(root_dir(), name, 0755) == 0);
    int fd = openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(fd >= 0);
    return fd;
}

static const char *result(int r, struct cvm_error *err, enum cvm_error_class want_code)
{
    static char msg[CVM_ERROR_MSG_MAX];
    if (r == 0) {
        CHECK(err == NULL);
        return "(ok)";
    }
    CHECK(err != NULL);
    CHECK_INT(r, -(int)err->code);
    if (err->code != want_code) {
        printf("# class %s, expected %s: %s\n", cvm_error_class_name(err->code),
               cvm_error_class_name(want_code), err->message);
        exit(1);
    }
    snprintf(msg, sizeof(msg), "%s", err->message);
    cvm_error_free(err);
    return msg;
}

/* Extracts from memory into dirfd (a new staging folder when -1). */
static const char *extract_into(int dirfd, const void *data, size_t len,
                                const struct cvm_tar_limits *lim, enum cvm_error_class want)
{
    struct cvm_error *err = NULL;
    int fd = dirfd >= 0 ? dirfd : staging();
    int r = cvm_layout_tar_extract_mem(data, len, "t.tar", fd, lim, &err);
    if (dirfd < 0)
        close(fd);
    return result(r, err, want);
}

static const char *extract(const void *data, size_t len, enum cvm_error_class want)
{
    return extract_into(-1, data, len, NULL, want);
}

static int exists(int dirfd, const char *path)
{
    struct stat st;
    return fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static uint8_t *read_all(int dirfd, const char *path, size_t *len)
{
    struct cvm_buf b;
    cvm_buf_init(&b, 64u << 20);
    CHECK(cvm_buf_read_file(&b, dirfd, path, NULL) == 0);
    *len = b.len;
    return b.data;
}

static void check_file(int dirfd, const char *path, const void *want, size_t want_len)
{
    size_t len = 0;
    uint8_t *got = read_all(dirfd, path, &len);
    CHECK_INT(len, want_len);
    CHECK(memcmp(got, want, len) == 0);
    free(got);
    struct stat st;
    CHECK(fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0);
    CHECK(S_ISREG(st.st_mode));
    CHECK_INT(st.st_mode & 07777, 0644);
}

/* Lists a folder's names, sorted, joined by spaces. */
static const char *listing(int dirfd, const char *path)
{
    static char out[4096];
    char names[16][256];
    int n = 0;
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(fd >= 0);
    DIR *d = fdopendir(fd);
    CHECK(d != NULL);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        CHECK(n < 16);
        snprintf(names[n++], sizeof(names[0]), "%s", e->d_name);
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char t[256];
            memcpy(t, names[j], sizeof(t));
            memcpy(names[j], names[j - 1], sizeof(t));
            memcpy(names[j - 1], t, sizeof(t));
        }
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        strcat(out, i ? " " : "");
        strcat(out, names[i]);
    }
    return out;
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static const char *hex_of(const void *data, size_t len)
{
    static char hex[CVM_DIGEST_HEX_LEN + 1];
    struct cvm_digest d;
    cvm_digest_of(data, len, &d);
    return cvm_digest_hex(&d, hex);
}

/* ---- crafting archives with libarchive's writer ------------------------------------------ */

struct tb {
    struct archive *a;
    uint8_t *buf;
    size_t used;
};

static void tb_begin(struct tb *t, int format)
{
    t->buf = calloc(1, TARBUF_MAX);
    t->used = 0;
    t->a = archive_write_new();
    CHECK(t->buf && t->a);
    CHECK(archive_write_set_format(t->a, format) == ARCHIVE_OK);
    CHECK(archive_write_set_bytes_in_last_block(t->a, 1) == ARCHIVE_OK);
}

static void tb_open(struct tb *t)
{
    CHECK(archive_write_open_memory(t->a, t->buf, TARBUF_MAX, &t->used) == ARCHIVE_OK);
}

static void tb_add(struct tb *t, const char *name, unsigned type, const char *link,
                   const void *data, size_t len)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
    if (type == AE_IFLNK)
        archive_entry_set_symlink(e, link);
    else if (link)
        archive_entry_set_hardlink(e, link);
    archive_entry_set_size(e, (la_int64_t)len);
    /* A warning: a name that is not UTF-8, written as given. */
    CHECK(archive_write_header(t->a, e) >= ARCHIVE_WARN);
    if (len)
        CHECK(archive_write_data(t->a, data, len) == (la_ssize_t)len);
    archive_entry_free(e);
}

static void tb_file(struct tb *t, const char *name, const char *text)
{
    tb_add(t, name, AE_IFREG, NULL, text, strlen(text));
}

static size_t tb_end(struct tb *t)
{
    CHECK(archive_write_close(t->a) == ARCHIVE_OK);
    archive_write_free(t->a);
    return t->used;
}

/* A pax-restricted archive with the layout's files, then `extra` (NULL-terminated pairs of
 * name and text; a NULL text makes a folder). */
static size_t tb_layout(struct tb *t, const char *const *extra)
{
    tb_begin(t, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
    tb_open(t);
    tb_file(t, "oci-layout", LAYOUT);
    tb_file(t, "index.json", INDEX);
    for (; extra && extra[0]; extra += 2) {
        if (extra[1])
            tb_file(t, extra[0], extra[1]);
        else
            tb_add(t, extra[0], AE_IFDIR, NULL, NULL, 0);
    }
    return tb_end(t);
}

/* One ustar header written by hand, for values libarchive's writer would not produce; sizes of
 * 8 GiB and more use the base-256 form. */
static void craft_header(uint8_t h[512], const char *name, char type, uint64_t size)
{
    memset(h, 0, 512);
    memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0000000", 8);
    memcpy(h + 116, "0000000", 8);
    if (size < (1ull << 33)) {
        char f[13];
        snprintf(f, sizeof(f), "%011llo", (unsigned long long)size);
        memcpy(h + 124, f, 12);
    } else {
        h[124] = 0x80;
        for (int i = 0; i < 8; i++)
            h[135 - i] = (uint8_t)(size >> (8 * i));
    }
    memcpy(h + 136, "00000000000", 12);
    memset(h + 148, ' ', 8);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    char c[8];
    snprintf(c, sizeof(c), "%06o", sum);
    memcpy(h + 148, c, 7);
}

/* ---- writing ------------------------------------------------------------------------------ */

static const char *write_members(int out_fd, const struct cvm_tar_member *m, size_t n,
                                 enum cvm_error_class want)
{
    struct cvm_error *err = NULL;
    int r = cvm_tar_write(out_fd, "out.tar", m, n, &err);
    return result(r, err, want);
}

static uint8_t *big_content(void)
{
    uint8_t *big = malloc(BIG_LEN);
    CHECK(big != NULL);
    for (size_t i = 0; i < BIG_LEN; i++)
        big[i] = (uint8_t)(i * 7 + (i >> 12));
    return big;
}

/* Writes the sample layout (a 3 MiB blob from a file) to root/<name>; returns its size. */
static size_t write_sample(const char *name, char *big_blob_name)
{
    uint8_t *big = big_content();
    snprintf(big_blob_name, 80, "blobs/sha256/%s", hex_of(big, BIG_LEN));
    int fd = openat(root_dir(), "big", O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    CHECK(write(fd, big, BIG_LEN) == (ssize_t)BIG_LEN);
    close(fd);
    free(big);
    const struct cvm_tar_member m[] = {
        {.name = "oci-layout", .data = LAYOUT, .len = strlen(LAYOUT)},
        {.name = "index.json", .data = INDEX, .len = strlen(INDEX)},
        {.name = HELLO_BLOB, .data = HELLO, .len = strlen(HELLO)},
        {.name = big_blob_name, .dirfd = root_fd, .path = "big"},
    };
    int out = openat(root_fd, name, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(out >= 0);
    CHECK_STR(write_members(out, m, 4, CVM_E_OK), "(ok)");
    struct stat st;
    CHECK(fstat(out, &st) == 0);
    close(out);
    return (size_t)st.st_size;
}

static size_t pad512(size_t n)
{
    return (n + 511) / 512 * 512;
}

static void write_is_reproducible(void)
{
    char big_name[80];
    size_t len1 = write_sample("a.tar", big_name);
    size_t len2 = write_sample("b.tar", big_name);
    /* Folders, then each member's header and padded data, then two zero blocks. */
    size_t want = 2 * 512 + 512 + pad512(strlen(LAYOUT)) + 512 + pad512(strlen(INDEX)) + 512 +
                  pad512(strlen(HELLO)) + 512 + BIG_LEN + 1024;
    CHECK_INT(len1, want);
    CHECK_INT(len2, want);
    size_t n1 = 0, n2 = 0;
    uint8_t *a = read_all(root_fd, "a.tar", &n1);
    uint8_t *b = read_all(root_fd, "b.tar", &n2);
    CHECK(n1 == n2 && memcmp(a, b, n1) == 0);

    /* The first header: "blobs/", mode 0755, owner 0, mtime 0, no user or group name. */
    CHECK_STR((char *)a, "blobs/");
    CHECK(memcmp(a + 100, "000755 \0", 8) == 0);
    CHECK(memcmp(a + 108, "000000 \0", 8) == 0);
    CHECK(memcmp(a + 116, "000000 \0", 8) == 0);
    CHECK(memcmp(a + 124, "00000000000 ", 12) == 0);
    CHECK(memcmp(a + 136, "00000000000 ", 12) == 0);
    CHECK_INT(a[156], '5');
    CHECK(memcmp(a + 257,
                 "ustar\0"
                 "00",
                 8) == 0);
    CHECK_INT(a[265], 0);
    CHECK_INT(a[297], 0);
    CHECK_STR((char *)a + 512, "blobs/sha256/");
    /* oci-layout: mode 0644, its size in octal. */
    const uint8_t *h = a + 1024;
    CHECK_STR((char *)h, "oci-layout");
    CHECK(memcmp(h + 100, "000644 \0", 8) == 0);
    CHECK(memcmp(h + 124, "00000000037 ", 12) == 0);
    CHECK_INT(h[156], '0');
    CHECK(memcmp(h + 512, LAYOUT, strlen(LAYOUT)) == 0);
    CHECK(memcmp(a + want - 1024, (uint8_t[1024]){0}, 1024) == 0);
    free(a);
    free(b);
    finish();
}

static void round_trip_from_fd(void)
{
    char big_name[80];
    write_sample("a.tar", big_name);
    int tar = openat(root_fd, "a.tar", O_RDONLY | O_CLOEXEC);
    CHECK(tar >= 0);
    int s = staging();
    struct cvm_error *err = NULL;
    int r = cvm_layout_tar_extract(tar, "a.tar", s, NULL, &err);
    CHECK_STR(result(r, err, CVM_E_OK), "(ok)");
    close(tar);
    CHECK_STR(listing(s, "."), "blobs index.json oci-layout");
    CHECK_STR(listing(s, "blobs"), "sha256");
    char want[200];
    snprintf(want, sizeof(want), "%s %s", big_name + 13, HELLO_HEX);
    CHECK(strcmp(big_name + 13, HELLO_HEX) < 0);
    CHECK_STR(listing(s, "blobs/sha256"), want);
    check_file(s, "oci-layout", LAYOUT, strlen(LAYOUT));
    check_file(s, "index.json", INDEX, strlen(INDEX));
    check_file(s, HELLO_BLOB, HELLO, strlen(HELLO));
    uint8_t *big = big_content();
    check_file(s, big_name, big, BIG_LEN);
    free(big);
    close(s);
    finish();
}

static void round_trip_from_pipe(void)
{
    const struct cvm_tar_member m[] = {
        {.name = "oci-layout", .data = LAYOUT, .len = strlen(LAYOUT)},
        {.name = "index.json", .data = INDEX, .len = strlen(INDEX)},
        {.name = HELLO_BLOB, .data = HELLO, .len = strlen(HELLO)},
    };
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    CHECK_STR(write_members(p[1], m, 3, CVM_E_OK), "(ok)");
    close(p[1]);
    int s = staging();
    struct cvm_error *err = NULL;
    int r = cvm_layout_tar_extract(p[0], "-", s, NULL, &err);
    CHECK_STR(result(r, err, CVM_E_OK), "(ok)");
    close(p[0]);
    check_file(s, HELLO_BLOB, HELLO, strlen(HELLO));
    close(s);
    finish();
}

static void write_refuses(void)
{
    int out = openat(root_dir(), "o.tar", O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    CHECK(out >= 0);
    static const char *const bad[] = {
        "../x",
        "/oci-layout",
        "./oci-layout",
        "blobs/",
        "blobs/sha256",
        "blobs/sha256/ABC",
        "blobs/sha256/" HELLO_HEX "/",
        "index",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cvm_tar_member m = {.name = bad[i], .data = "x", .len = 1};
        char want[300];
        snprintf(want, sizeof(want),
                 "tar 'out.tar': member '%s': not 'oci-layout', 'index.json' or "
                 "'blobs/sha256/<64 lowercase hex>'",
                 bad[i]);
        CHECK_STR(write_members(out, &m, 1, CVM_E_USAGE), want);
    }
    const struct cvm_tar_member dup_index[] = {
        {.name = "index.json", .data = INDEX, .len = 2},
        {.name = HELLO_BLOB, .data = HELLO, .len = 6},
        {.name = "index.json", .data = INDEX, .len = 2},
    };
    CHECK_STR(write_members(out, dup_index, 3, CVM_E_USAGE),
              "tar 'out.tar': member 'index.json': duplicate member");
    const struct cvm_tar_member dup_blob[] = {
        {.name = HELLO_BLOB, .data = HELLO, .len = 6},
        {.name = "index.json", .data = INDEX, .len = 2},
        {.name = HELLO_BLOB, .dirfd = AT_FDCWD, .path = "/nonexistent"},
    };
    CHECK_STR(write_members(out, dup_blob, 3, CVM_E_USAGE),
              "tar 'out.tar': member '" HELLO_BLOB "': duplicate member");
    const struct cvm_tar_member no_data = {.name = "index.json", .len = 3};
    CHECK_STR(write_members(out, &no_data, 1, CVM_E_USAGE),
              "tar 'out.tar': member 'index.json': no data");
    const struct cvm_tar_member no_name = {.data = "x", .len = 1};
    CHECK_STR(write_members(out, &no_name, 1, CVM_E_USAGE), "tar 'out.tar': member 0 has no name");
    /* Refused names write nothing at all. */
    struct stat st;
    CHECK(fstat(out, &st) == 0);
    CHECK_INT(st.st_size, 0);

    const struct cvm_tar_member missing = {
        .name = HELLO_BLOB, .dirfd = AT_FDCWD, .path = "/nonexistent/blob"};
    CHECK_STR(write_members(out, &missing, 1, CVM_E_SYSTEM),
              "tar 'out.tar': member '" HELLO_BLOB "': cannot open '/nonexistent/blob': No such "
              "file or directory");
    const struct cvm_tar_member folder = {.name = HELLO_BLOB, .dirfd = AT_FDCWD, .path = "/"};
    CHECK_STR(write_members(out, &folder, 1, CVM_E_USAGE),
              "tar 'out.tar': member '" HELLO_BLOB "': '/' is not a regular file");
    CHECK(symlinkat("o.tar", root_fd, "link") == 0);
    const struct cvm_tar_member link = {.name = HELLO_BLOB, .dirfd = root_fd, .path = "link"};
    CHECK_STR(write_members(out, &link, 1, CVM_E_SYSTEM),
              "tar 'out.tar': member '" HELLO_BLOB "': cannot open 'link': Too many levels of "
              "symbolic links");
    /* /proc files claim size 0 and then have content: a file that grew while written. */
    const struct cvm_tar_member grows = {
        .name = HELLO_BLOB, .dirfd = AT_FDCWD, .path = "/proc/self/status"};
    CHECK_STR(write_members(out, &grows, 1, CVM_E_CONFLICT),
              "tar 'out.tar': member '" HELLO_BLOB "': '/proc/self/status' changed size while "
              "being written");
    /* Writing to a read-only fd fails with the system's reason. */
    int ro = openat(root_fd, "o.tar", O_RDONLY | O_CLOEXEC);
    CHECK(ro >= 0);
    const struct cvm_tar_member ok = {.name = "index.json", .data = INDEX, .len = 2};
    CHECK_STR(write_members(ro, &ok, 1, CVM_E_SYSTEM),
              "tar 'out.tar': cannot write: Bad file descriptor");
    close(ro);
    close(out);
    finish();
}

/* A failed write must not end in an end marker: a reader would take the cut archive for a whole
 * one. What was flushed before the failure ends in the middle of a member. */
static void write_failure_leaves_no_end_marker(void)
{
    int out = openat(root_dir(), "o.tar", O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    CHECK(out >= 0);
    char *index = malloc(65536);
    CHECK(index != NULL);
    memset(index, ' ', 65536);
    const struct cvm_tar_member m[] = {
        {.name = "oci-layout", .data = LAYOUT, .len = strlen(LAYOUT)},
        {.name = "index.json", .data = index, .len = 65536},
        {.name = HELLO_BLOB, .dirfd = AT_FDCWD, .path = "/proc/self/status"},
    };
    CHECK_STR(write_members(out, m, 3, CVM_E_CONFLICT),
              "tar 'out.tar': member '" HELLO_BLOB "': '/proc/self/status' changed size while "
              "being written");
    close(out);
    free(index);
    size_t len = 0;
    uint8_t *tar = read_all(root_fd, "o.tar", &len);
    /* libarchive writes whole 10 KiB records; the last (cut) one is never flushed. */
    CHECK_INT(len, 6 * 10240);
    CHECK_STR(extract(tar, len, CVM_E_FORMAT), "tar 't.tar': member 'index.json': truncated");
    free(tar);
    finish();
}

/* ---- extracting --------------------------------------------------------------------------- */

static void accepts_variants(void)
{
    /* GNU tar's `tar -C layout -cf x.tar .` form: "./" prefixes, a root entry, folders. */
    struct tb t;
    tb_begin(&t, ARCHIVE_FORMAT_TAR_GNUTAR);
    tb_open(&t);
    tb_add(&t, "./", AE_IFDIR, NULL, NULL, 0);
    tb_add(&t, "./blobs/", AE_IFDIR, NULL, NULL, 0);
    tb_add(&t, "./blobs/sha256", AE_IFDIR, NULL, NULL, 0);
    tb_file(&t, "./blobs/sha256/" HELLO_HEX, HELLO);
    tb_file(&t, "./index.json", INDEX);
    tb_file(&t, "./oci-layout", LAYOUT);
    size_t len = tb_end(&t);
    int s = staging();
    CHECK_STR(extract_into(s, t.buf, len, NULL, CVM_E_OK), "(ok)");
    check_file(s, HELLO_BLOB, HELLO, strlen(HELLO));
    check_file(s, "oci-layout", LAYOUT, strlen(LAYOUT));
    close(s);
    free(t.buf);

    /* Plain ustar, blobs before their folders' entries (or with none): the folders appear. */
    tb_begin(&t, ARCHIVE_FORMAT_TAR_USTAR);
    tb_open(&t);
    tb_file(&t, HELLO_BLOB, HELLO);
    tb_add(&t, "blobs", AE_IFDIR, NULL, NULL, 0);
    tb_file(&t, "index.json", INDEX);
    tb_file(&t, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\",\"extra\":[1]}");
    len = tb_end(&t);
    s = staging();
    CHECK_STR(extract_into(s, t.buf, len, NULL, CVM_E_OK), "(ok)");
    CHECK_STR(listing(s, "blobs/sha256"), HELLO_HEX);
    close(s);
    free(t.buf);

    /* No blobs at all: blobs/sha256 still exists afterwards. Trailing zero padding is fine. */
    len = tb_layout(&t, NULL);
    s = staging();
    CHECK_STR(extract_into(s, t.buf, len + 10240, NULL, CVM_E_OK), "(ok)");
    CHECK_STR(listing(s, "."), "blobs index.json oci-layout");
    CHECK_STR(listing(s, "blobs/sha256"), "");
    close(s);
    free(t.buf);
    finish();
}

/* Each archive holds the layout plus one bad member; the message names it. */
static const char *with_member(const char *name, unsigned type, const char *link, const char *text,
                               enum cvm_error_class want)
{
    struct tb t;
    tb_begin(&t, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
    tb_open(&t);
    tb_file(&t, "oci-layout", LAYOUT);
    tb_file(&t, "index.json", INDEX);
    tb_add(&t, name, type, link, text, text ? strlen(text) : 0);
    size_t len = tb_end(&t);
    const char *msg = extract(t.buf, len, want);
    free(t.buf);
    return msg;
}

static void refuses_paths(void)
{
    CHECK_STR(with_member("../etc/passwd", AE_IFREG, NULL, "x", CVM_E_FORMAT),
              "tar 't.tar': member '../etc/passwd': path leaves the layout");
    CHECK_STR(with_member("blobs/../../x", AE_IFREG, NULL, "x", CVM_E_FORMAT),
              "tar 't.tar': member 'blobs/../../x': path leaves the layout");
    CHECK_STR(with_member("..", AE_IFDIR, NULL, NULL, CVM_E_FORMAT),
              "tar 't.tar': member '../': path leaves the layout");
    CHECK_STR(with_member("/abs", AE_IFREG, NULL, "x", CVM_E_FORMAT),
              "tar 't.tar': member '/abs': path is absolute");
    CHECK_STR(with_member("/oci-layout", AE_IFREG, NULL, LAYOUT, CVM_E_FORMAT),
              "tar 't.tar': member '/oci-layout': path is absolute");
    CHECK_STR(with_member("blobs/sha512/" HELLO_HEX, AE_IFREG, NULL, HELLO, CVM_E_FORMAT),
              "tar 't.tar': member 'blobs/sha512/" HELLO_HEX "': not part of an OCI image layout");
    CHECK_STR(with_member("blobs/sha256/ABC", AE_IFREG, NULL, HELLO, CVM_E_FORMAT),
              "tar 't.tar': member 'blobs/sha256/ABC': blob name is not 64 lowercase hex digits");
    CHECK_STR(with_member("blobs/sha256/5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163AF34D08286A2E8"
                          "46F6BE03",
                          AE_IFREG, NULL, HELLO, CVM_E_FORMAT),
              "tar 't.tar': member 'blobs/sha256/5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163AF34D0"
              "8286A2E846F6BE03': blob name is not 64 lowercase hex digits");
    CHECK_STR(with_member("blobs/sha256/" HELLO_HEX "0", AE_IFREG, NULL, HELLO, CVM_E_FORMAT),
              "tar 't.tar': member 'blobs/sha256/" HELLO_HEX
              "0': blob name is not 64 lowercase hex digits");
    CHECK_STR(with_member("blobs//sha256", AE_IFDIR, NULL, NULL, CVM_E_FORMAT),
              "tar 't.tar': member 'blobs//sha256/': not part of an OCI image layout");
    CHECK_STR(with_member("././oci-layout", AE_IFREG, NULL, LAYOUT, CVM_E_FORMAT),
              "tar 't.tar': member '././oci-layout': not part of an OCI image layout");
    CHECK_STR(with_member("manifest.json", AE_IFREG, NULL, "[]", CVM_E_FORMAT),
              "tar 't.tar': member 'manifest.json': not part of an OCI image layout");
    /* Hostile names are escaped and cut in messages. */
    CHECK_STR(with_member("a\nb'c\\\xff", AE_IFREG, NULL, "x", CVM_E_FORMAT),
              "tar 't.tar': member 'a\\x0ab'c\\x5c\\xff': not part of an OCI image layout");
    char long_name[400];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    char want[400];
    snprintf(want, sizeof(want), "tar 't.tar': member '%.160s...': not part of an OCI image layout",
             long_name);
    CHECK_STR(with_member(long_name, AE_IFREG, NULL, "x", CVM_E_FORMAT), want);
    finish();
}

static void refuses_types(void)
{
    CHECK_STR(with_member(HELLO_BLOB, AE_IFLNK, "/etc/passwd", NULL, CVM_E_FORMAT),
              "tar 't.tar': member '" HELLO_BLOB "': is a symbolic link");
    CHECK_STR(with_member("blobs", AE_IFLNK, "/tmp", NULL, CVM_E_FORMAT),
              "tar 't.tar': member 'blobs': is a symbolic link");
    CHECK_STR(with_member(HELLO_BLOB, AE_IFREG, "index.json", NULL, CVM_E_FORMAT),
              "tar 't.tar': member '" HELLO_BLOB "': is a hard link");
    CHECK_STR(with_member("blobs/sha256", AE_IFCHR, NULL, NULL, CVM_E_FORMAT),
              "tar 't.tar': member 'blobs/sha256': is a character device");
    CHECK_STR(with_member("blobs", AE_IFBLK, NULL, NULL, CVM_E_FORMAT),
              "tar 't.tar': member 'blobs': is a block device");
    CHECK_STR(with_member(HELLO_BLOB, AE_IFIFO, NULL, NULL, CVM_E_FORMAT),
              "tar 't.tar': member '" HELLO_BLOB "': is a FIFO");
    CHECK_STR(with_member(HELLO_BLOB, AE_IFDIR, NULL, NULL, CVM_E_FORMAT),
              "tar 't.tar': member '" HELLO_BLOB "/': must be a regular file");
    CHECK_STR(with_member("blobs/sha256", AE_IFREG, NULL, "x", CVM_E_FORMAT),
              "tar 't.tar': member 'blobs/sha256': must be a folder");
    CHECK_STR(with_member(".", AE_IFREG, NULL, "x", CVM_E_FORMAT),
              "tar 't.tar': member '.': must be a folder");
    finish();
}

static void refuses_duplicates(void)
{
    CHECK_STR(with_member("index.json", AE_IFREG, NULL, INDEX, CVM_E_FORMAT),
              "tar 't.tar': member 'index.json': duplicate member");
    CHECK_STR(with_member("./oci-layout", AE_IFREG, NULL, LAYOUT, CVM_E_FORMAT),
              "tar 't.tar': member './oci-layout': duplicate member");
    static const char *const two_blobs[] = {HELLO_BLOB, HELLO, "./" HELLO_BLOB, HELLO, NULL};
    struct tb t;
    size_t len = tb_layout(&t, two_blobs);
    int s = staging();
    CHECK_STR(extract_into(s, t.buf, len, NULL, CVM_E_FORMAT),
              "tar 't.tar': member './" HELLO_BLOB "': duplicate member");
    /* The first copy was verified and stays; the caller removes the staging folder. */
    check_file(s, HELLO_BLOB, HELLO, strlen(HELLO));
    close(s);
    free(t.buf);
    static const char *const two_dirs[] = {"blobs", NULL, "blobs/", NULL, NULL};
    len = tb_layout(&t, two_dirs);
    CHECK_STR(extract(t.buf, len, CVM_E_FORMAT), "tar 't.tar': member 'blobs/': duplicate member");
    free(t.buf);
    finish();
}

static void refuses_wrong_digest(void)
{
    static const char *const bad[] = {HELLO_BLOB, "hello!", NULL};
    struct tb t;
    size_t len = tb_layout(&t, bad);
    int s = staging();
    char want[300];
    snprintf(want, sizeof(want),
             "tar 't.tar': blob sha256:" HELLO_HEX ": content has digest sha256:%s",
             hex_of("hello!", 6));
    int fds = open_fds();
    CHECK_STR(extract_into(s, t.buf, len, NULL, CVM_E_DIGEST), want);
    CHECK_INT(open_fds(), fds);
    CHECK(!exists(s, HELLO_BLOB));
    CHECK_STR(listing(s, "blobs/sha256"), "");
    close(s);
    free(t.buf);
    finish();
}

static void refuses_huge_sizes(void)
{
    /* A header declaring 1 TiB, followed by nothing: refused from the header alone. */
    uint8_t h[512];
    craft_header(h, HELLO_BLOB, '0', 1ull << 40);
    int s = staging();
    CHECK_STR(extract_into(s, h, sizeof(h), NULL, CVM_E_LIMIT),
              "tar 't.tar': member '" HELLO_BLOB
              "': size 1099511627776 exceeds the limit of 17179869184 bytes");
    CHECK(!exists(s, "blobs/sha256/" HELLO_HEX));
    close(s);
    craft_header(h, "index.json", '0', (4u << 20) + 1);
    CHECK_STR(extract(h, sizeof(h), CVM_E_LIMIT),
              "tar 't.tar': member 'index.json': size 4194305 exceeds the limit of 4194304 bytes");
    /* A negative base-256 size after a good member: libarchive refuses the header. */
    uint8_t two[1024];
    craft_header(two, "index.json", '0', 0);
    craft_header(two + 512, HELLO_BLOB, '0', 0);
    memset(two + 512 + 124, 0xff, 12);
    memset(two + 512 + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += two[512 + i];
    char c[8];
    snprintf(c, sizeof(c), "%06o", sum);
    memcpy(two + 512 + 148, c, 7);
    CHECK_STR(extract(two, sizeof(two), CVM_E_FORMAT), "tar 't.tar': Tar entry has negative size");

    /* Caller-set limits. */
    static const char *const blobs[] = {HELLO_BLOB, HELLO, NULL};
    struct tb t;
    size_t len = tb_layout(&t, blobs);
    const struct cvm_tar_limits small_blob = {.max_blob_bytes = 5};
    CHECK_STR(extract_into(-1, t.buf, len, &small_blob, CVM_E_LIMIT),
              "tar 't.tar': member '" HELLO_BLOB "': size 6 exceeds the limit of 5 bytes");
    const struct cvm_tar_limits small_total = {.max_total_bytes = 70};
    CHECK_STR(extract_into(-1, t.buf, len, &small_total, CVM_E_LIMIT),
              "tar 't.tar': member '" HELLO_BLOB
              "': the members exceed the limit of 70 bytes in all");
    const struct cvm_tar_limits exact = {.max_blob_bytes = 6, .max_total_bytes = 31 + 34 + 6};
    CHECK_STR(extract_into(-1, t.buf, len, &exact, CVM_E_OK), "(ok)");
    free(t.buf);
    finish();
}

static void refuses_truncated(void)
{
    static const char *const blobs[] = {HELLO_BLOB, HELLO, NULL};
    struct tb t;
    size_t len = tb_layout(&t, blobs);
    /* oci-layout, index.json, the blob: 3 x (header + one data block), then 1024 zeros. */
    CHECK_INT(len, 3 * 1024 + 1024);
    int s = staging();
    int fds = open_fds();
    CHECK_STR(extract_into(s, t.buf, 2048 + 512 + 3, NULL, CVM_E_FORMAT),
              "tar 't.tar': member '" HELLO_BLOB "': truncated");
    CHECK_INT(open_fds(), fds);
    CHECK(!exists(s, HELLO_BLOB));
    close(s);
    /* Data complete, padding cut. */
    s = staging();
    CHECK_STR(extract_into(s, t.buf, 2048 + 512 + 6, NULL, CVM_E_FORMAT),
              "tar 't.tar': member '" HELLO_BLOB "': truncated");
    CHECK(!exists(s, HELLO_BLOB));
    close(s);
    CHECK_STR(extract(t.buf, 3072, CVM_E_FORMAT),
              "tar 't.tar': truncated: no end-of-archive marker");
    CHECK_STR(extract(t.buf, 2048, CVM_E_FORMAT),
              "tar 't.tar': truncated: no end-of-archive marker");
    CHECK_STR(extract(t.buf, 2048 + 100, CVM_E_FORMAT), "tar 't.tar': truncated");
    /* One zero block is enough of an end marker. */
    CHECK_STR(extract(t.buf, 3072 + 512, CVM_E_OK), "(ok)");
    free(t.buf);
    /* Cut inside the pax extended header of the first member. */
    char long_name[300];
    memset(long_name, 'x', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    tb_begin(&t, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
    tb_open(&t);
    tb_file(&t, long_name, "x");
    len = tb_end(&t);
    CHECK_INT(t.buf[156], 'x');
    CHECK_STR(extract(t.buf, 512 + 100, CVM_E_FORMAT), "tar 't.tar': truncated");
    CHECK_STR(extract(t.buf, 100, CVM_E_FORMAT), "tar 't.tar': not a tar archive");
    free(t.buf);
    finish();
}

static void refuses_bad_layout_file(void)
{
    struct tb t;
    tb_begin(&t, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
    tb_open(&t);
    tb_file(&t, "index.json", INDEX);
    tb_file(&t, HELLO_BLOB, HELLO);
    size_t len = tb_end(&t);
    CHECK_STR(extract(t.buf, len, CVM_E_FORMAT), "tar 't.tar': no 'oci-layout' member");
    free(t.buf);

    tb_begin(&t, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
    tb_open(&t);
    tb_file(&t, "oci-layout", LAYOUT);
    len = tb_end(&t);
    CHECK_STR(extract(t.buf, len, CVM_E_FORMAT), "tar 't.tar': no 'index.json' member");
    free(t.buf);

    static const struct {
        const char *text;
        enum cvm_error_class code;
        const char *msg;
    } cases[] = {
        {"{\"imageLayoutVersion\": \"2.0.0\"}", CVM_E_UNSUPPORTED,
         "unsupported imageLayoutVersion '2.0.0' (only 1.0.0)"},
        {"{\"imageLayoutVersion\": 1}", CVM_E_FORMAT, "no string 'imageLayoutVersion'"},
        {"{}", CVM_E_FORMAT, "no string 'imageLayoutVersion'"},
        {"[\"1.0.0\"]", CVM_E_FORMAT, "not a JSON object"},
        {"", CVM_E_FORMAT,
         "not valid JSON: '[' or '{' expected near end of file at line 1 column 0"},
        {"{\"imageLayoutVersion\": \"1.0.0\", \"imageLayoutVersion\": \"1.0.0\"}", CVM_E_FORMAT,
         "not valid JSON: duplicate object key near '\"imageLayoutVersion\"' at line 1 column "
         "52"},
        {"{\"imageLayoutVersion\": \"1.0.0\n'\"}", CVM_E_FORMAT,
         "not valid JSON: unexpected newline near '\"1.0.0' at line 1 column 29"},
        {"{\"imageLayoutVersion\": \"\x01\"}", CVM_E_FORMAT,
         "not valid JSON: control character 0x1 near '\"' at line 1 column 24"},
        {"{\"imageLayoutVersion\": \"2\\u0001\\\\\"}", CVM_E_UNSUPPORTED,
         "unsupported imageLayoutVersion '2\\x01\\x5c' (only 1.0.0)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tb_begin(&t, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
        tb_open(&t);
        tb_file(&t, "index.json", INDEX);
        tb_file(&t, "oci-layout", cases[i].text);
        len = tb_end(&t);
        int s = staging();
        char want[300];
        snprintf(want, sizeof(want), "tar 't.tar': member 'oci-layout': %s", cases[i].msg);
        CHECK_STR(extract_into(s, t.buf, len, NULL, cases[i].code), want);
        CHECK(!exists(s, "oci-layout"));
        close(s);
        free(t.buf);
    }
    finish();
}

static void refuses_other_input(void)
{
    static const char *const blobs[] = {HELLO_BLOB, HELLO, NULL};
    struct tb t;
    tb_begin(&t, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
    CHECK(archive_write_add_filter_gzip(t.a) == ARCHIVE_OK);
    tb_open(&t);
    tb_file(&t, "oci-layout", LAYOUT);
    size_t len = tb_end(&t);
    CHECK_STR(extract(t.buf, len, CVM_E_UNSUPPORTED),
              "tar 't.tar': gzip-compressed archive: only plain tar is supported, decompress it "
              "first");
    free(t.buf);
    tb_begin(&t, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
    CHECK(archive_write_add_filter_zstd(t.a) == ARCHIVE_OK);
    tb_open(&t);
    tb_file(&t, "oci-layout", LAYOUT);
    len = tb_end(&t);
    CHECK_STR(extract(t.buf, len, CVM_E_UNSUPPORTED),
              "tar 't.tar': zstd-compressed archive: only plain tar is supported, decompress it "
              "first");
    free(t.buf);
    CHECK_STR(extract("", 0, CVM_E_FORMAT), "tar 't.tar': empty file");
    CHECK_STR(extract("hello world\n", 12, CVM_E_FORMAT), "tar 't.tar': not a tar archive");
    /* A cpio archive is not accepted in place of a tar. */
    tb_begin(&t, ARCHIVE_FORMAT_CPIO_SVR4_NOCRC);
    tb_open(&t);
    tb_file(&t, "oci-layout", LAYOUT);
    len = tb_end(&t);
    CHECK_STR(extract(t.buf, len, CVM_E_FORMAT), "tar 't.tar': not a tar archive");
    free(t.buf);
    /* A header with a bad checksum after a good member. */
    len = tb_layout(&t, blobs);
    t.buf[2048 + 148] ^= 1;
    CHECK_STR(extract(t.buf, len, CVM_E_FORMAT), "tar 't.tar': Damaged tar archive");
    free(t.buf);
    /* A read error from the fd. */
    int s = staging();
    struct cvm_error *err = NULL;
    int r = cvm_layout_tar_extract(root_fd, "t.tar", s, NULL, &err);
    CHECK_STR(result(r, err, CVM_E_SYSTEM), "tar 't.tar': cannot read: Is a directory");
    close(s);
    finish();
}

static void remove_tree_keeps_link_targets(void)
{
    int r = root_dir();
    CHECK(mkdirat(r, "outside", 0755) == 0);
    int fd = openat(r, "outside/keep", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    close(fd);
    CHECK(mkdirat(r, "t", 0755) == 0);
    CHECK(mkdirat(r, "t/a", 0755) == 0);
    CHECK(mkdirat(r, "t/a/b", 0700) == 0);
    fd = openat(r, "t/a/b/f", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    close(fd);
    char target[100];
    snprintf(target, sizeof(target), "%s/outside", root);
    CHECK(symlinkat(target, r, "t/a/link") == 0);
    CHECK(symlinkat(target, r, "t/a/b/link") == 0);
    CHECK_INT(cvm_dir_remove_tree(r, "t", NULL), 0);
    CHECK(!exists(r, "t"));
    CHECK(exists(r, "outside/keep"));
    CHECK_INT(cvm_dir_remove_tree(r, "t", NULL), 0);
    /* A symbolic link given by name is removed, not followed. */
    CHECK(symlinkat(target, r, "l") == 0);
    CHECK_INT(cvm_dir_remove_tree(r, "l", NULL), 0);
    CHECK(!exists(r, "l"));
    CHECK(exists(r, "outside/keep"));
    struct cvm_error *err = NULL;
    int ret = cvm_dir_remove_tree(r, "outside/keep/x", &err);
    CHECK_STR(result(ret, err, CVM_E_SYSTEM), "cannot remove 'outside/keep/x': Not a directory");
    finish();
}

int main(void)
{
    umask(022);
    static const struct tap_test tests[] = {
        TAP_TEST(write_is_reproducible),
        TAP_TEST(round_trip_from_fd),
        TAP_TEST(round_trip_from_pipe),
        TAP_TEST(write_refuses),
        TAP_TEST(write_failure_leaves_no_end_marker),
        TAP_TEST(accepts_variants),
        TAP_TEST(refuses_paths),
        TAP_TEST(refuses_types),
        TAP_TEST(refuses_duplicates),
        TAP_TEST(refuses_wrong_digest),
        TAP_TEST(refuses_huge_sizes),
        TAP_TEST(refuses_truncated),
        TAP_TEST(refuses_bad_layout_file),
        TAP_TEST(refuses_other_input),
        TAP_TEST(remove_tree_keeps_link_targets),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
