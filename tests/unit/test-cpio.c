/* root.cpio: reproducible packing of a folder (exact bytes, stats, refusals) and the checks on
 * hostile newc archives built by hand (exact messages). */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "base.h"
#include "cpio.h"
#include "tap.h"

#define DISPLAY "images/x/rootfs"

/* ---- folders ------------------------------------------------------------------------------ */

static char *make_dir(void)
{
    char *dir = strdup("/tmp/cvm-test-cpio-XXXXXX");
    CHECK(dir && mkdtemp(dir));
    return dir;
}

/* Removes what dfd holds, fd by fd: deep trees have paths longer than PATH_MAX. */
static void remove_below(int dfd)
{
    DIR *d = fdopendir(dfd);
    CHECK(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (de->d_type == DT_DIR) {
            int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            CHECK(sub >= 0);
            remove_below(sub);
        }
        CHECK(unlinkat(dirfd(d), de->d_name, de->d_type == DT_DIR ? AT_REMOVEDIR : 0) == 0);
    }
    closedir(d);
}

static void remove_dir(char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(dfd >= 0);
    remove_below(dfd);
    CHECK(rmdir(dir) == 0);
    free(dir);
}

static void put(int dfd, const char *path, const char *content, mode_t mode)
{
    int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    CHECK(write(fd, content, strlen(content)) == (ssize_t)strlen(content));
    CHECK(fchmod(fd, mode) == 0);
    CHECK(close(fd) == 0);
}

static void mkd(int dfd, const char *path, mode_t mode)
{
    CHECK(mkdirat(dfd, path, 0700) == 0);
    CHECK(fchmodat(dfd, path, mode, 0) == 0);
}

static void set_time(int dfd, const char *path, time_t t)
{
    struct timespec ts[2] = {{.tv_sec = t}, {.tv_sec = t}};
    CHECK(utimensat(dfd, path, ts, AT_SYMLINK_NOFOLLOW) == 0);
}

static struct cvm_cpio_stats stats;
static int code;

/* Packs dir (named DISPLAY in messages) onto out; returns "(packed)" or the message. */
static const char *pack(const char *dir, struct cvm_buf *out)
{
    static char msg[CVM_ERROR_MSG_MAX];
    struct cvm_error *err = NULL;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(fd >= 0);
    stats = (struct cvm_cpio_stats){0};
    int r = cvm_cpio_pack_dir(fd, DISPLAY, out, &stats, &err);
    close(fd);
    if (r == 0) {
        CHECK(!err);
        return "(packed)";
    }
    CHECK(err && r == -(int)err->code);
    code = err->code;
    snprintf(msg, sizeof(msg), "%s", err->message);
    cvm_error_free(err);
    return msg;
}

static const char *check_bytes(const void *data, size_t len)
{
    static char msg[CVM_ERROR_MSG_MAX];
    struct cvm_error *err = NULL;
    stats = (struct cvm_cpio_stats){0};
    int r = cvm_cpio_check(data, len, "root.cpio", &stats, &err);
    if (r == 0) {
        CHECK(!err);
        return "(ok)";
    }
    CHECK(err && r == -(int)err->code);
    code = err->code;
    snprintf(msg, sizeof(msg), "%s", err->message);
    cvm_error_free(err);
    return msg;
}

#define CHECK_STATS(e, f, d, s, b)                                                                 \
    do {                                                                                           \
        CHECK_INT(stats.entries, e);                                                               \
        CHECK_INT(stats.files, f);                                                                 \
        CHECK_INT(stats.dirs, d);                                                                  \
        CHECK_INT(stats.symlinks, s);                                                              \
        CHECK_INT(stats.file_bytes, b);                                                            \
    } while (0)

/* The sample root: created in two different orders, at different times, with etc-x as a copy of
 * a-b or as a hard link to it. In bytewise order "etc-x" sorts between "etc" and "etc/deep". */
static char *sample_root(bool second)
{
    char *dir = make_dir();
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(dfd >= 0);
    if (!second) {
        put(dfd, "a-b", "ab\n", 0644);
        mkd(dfd, "bin", 0755);
        put(dfd, "bin/sh", "#!sh\n", 0755);
        CHECK(symlinkat("sh", dfd, "bin/link") == 0);
        put(dfd, "empty", "", 0600);
        mkd(dfd, "etc", 0755);
        put(dfd, "etc-x", "ab\n", 0644);
        mkd(dfd, "etc/deep", 0700);
        put(dfd, "etc/deep/conf", "x=1\n", 0640);
    } else {
        mkd(dfd, "etc", 0755);
        mkd(dfd, "etc/deep", 0700);
        put(dfd, "etc/deep/conf", "x=1\n", 0640);
        mkd(dfd, "bin", 0755);
        CHECK(symlinkat("sh", dfd, "bin/link") == 0);
        put(dfd, "empty", "", 0600);
        put(dfd, "bin/sh", "#!sh\n", 0755);
        put(dfd, "a-b", "ab\n", 0644);
        CHECK(linkat(dfd, "a-b", dfd, "etc-x", 0) == 0);
        static const char *const all[] = {"a-b",   "bin", "bin/sh",   "bin/link",      "empty",
                                          "etc-x", "etc", "etc/deep", "etc/deep/conf", "."};
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
            set_time(dfd, all[i], 1234567890 + (time_t)i);
        if (geteuid() == 0)
            CHECK(fchownat(dfd, "bin/sh", 1000, 1000, AT_SYMLINK_NOFOLLOW) == 0);
    }
    close(dfd);
    return dir;
}

/* ---- pack --------------------------------------------------------------------------------- */

#define Z8 "00000000"

static void pack_exact_bytes(void)
{
    char *dir = sample_root(false);
    struct cvm_buf out;
    cvm_buf_init(&out, 1 << 20);
    CHECK_STR(pack(dir, &out), "(packed)");
    CHECK_STATS(9, 5, 3, 1, 15);
    CHECK_INT(out.len, 1212);
    /* a-b: ino 1, mode 0100644, nlink 1, size 3, namesize 4; name and data padded to 4. */
    static const char a_b[] =
        "070701"
        "00000001"
        "000081a4" Z8 Z8 "00000001" Z8 "00000003" Z8 Z8 Z8 Z8 "00000004" Z8 "a-b\0\0\0"
        "ab\n\0";
    CHECK(memcmp(out.data, a_b, 120) == 0);
    /* bin: ino 2, mode 040755, nlink 2. */
    static const char bin[] =
        "070701"
        "00000002"
        "000041ed" Z8 Z8 "00000002" Z8 Z8 Z8 Z8 Z8 Z8 "00000004" Z8 "bin\0\0\0";
    CHECK(memcmp(out.data + 120, bin, 116) == 0);
    /* bin/link: ino 3, mode 0120777, the target as data. */
    static const char link[] =
        "070701"
        "00000003"
        "0000a1ff" Z8 Z8 "00000001" Z8 "00000002" Z8 Z8 Z8 Z8 "00000009" Z8 "bin/link\0\0"
        "sh\0\0";
    CHECK(memcmp(out.data + 236, link, 124) == 0);
    /* Then bin/sh (ino 4, 0100755), empty, etc, etc-x, etc/deep, etc/deep/conf in that order. */
    CHECK(memcmp(out.data + 360,
                 "070701"
                 "00000004"
                 "000081ed",
                 22) == 0);
    CHECK(memcmp(out.data + 360 + 110, "bin/sh\0\0\0\0#!sh\n\0\0\0", 18) == 0);
    CHECK(memcmp(out.data + 488 + 110, "empty", 6) == 0);
    CHECK(memcmp(out.data + 604 + 110, "etc", 4) == 0);
    CHECK(memcmp(out.data + 720,
                 "070701"
                 "00000007"
                 "000081a4",
                 22) == 0);
    CHECK(memcmp(out.data + 720 + 110, "etc-x", 6) == 0);
    CHECK(memcmp(out.data + 840,
                 "070701"
                 "00000008"
                 "000041c0",
                 22) == 0);
    CHECK(memcmp(out.data + 840 + 110, "etc/deep", 9) == 0);
    CHECK(memcmp(out.data + 960,
                 "070701"
                 "00000009"
                 "000081a0",
                 22) == 0);
    CHECK(memcmp(out.data + 960 + 110, "etc/deep/conf\0x=1\n", 18) == 0);
    static const char trailer[] =
        "070701" Z8 Z8 Z8 Z8 "00000001" Z8 Z8 Z8 Z8 Z8 Z8 "0000000b" Z8 "TRAILER!!!\0\0\0";
    CHECK(memcmp(out.data + 1088, trailer, 124) == 0);

    CHECK_STR(check_bytes(out.data, out.len), "(ok)");
    CHECK_STATS(9, 5, 3, 1, 15);
    cvm_buf_release(&out);
    remove_dir(dir);
}

static void pack_is_reproducible(void)
{
    char *one = sample_root(false), *two = sample_root(true);
    struct cvm_buf a, b;
    cvm_buf_init(&a, 1 << 20);
    cvm_buf_init(&b, 1 << 20);
    CHECK_STR(pack(one, &a), "(packed)");
    CHECK_STR(pack(two, &b), "(packed)");
    CHECK_STATS(9, 5, 3, 1, 15);
    CHECK_INT(a.len, b.len);
    CHECK(memcmp(a.data, b.data, a.len) == 0);
    /* Packing again after touching everything gives the same bytes too. */
    int dfd = open(one, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(dfd >= 0);
    set_time(dfd, "bin/sh", 42);
    set_time(dfd, "etc/deep", 42);
    close(dfd);
    cvm_buf_release(&b);
    CHECK_STR(pack(one, &b), "(packed)");
    CHECK_INT(a.len, b.len);
    CHECK(memcmp(a.data, b.data, a.len) == 0);
    cvm_buf_release(&a);
    cvm_buf_release(&b);
    remove_dir(one);
    remove_dir(two);
}

static void pack_empty_folder(void)
{
    char *dir = make_dir();
    struct cvm_buf out;
    cvm_buf_init(&out, 1 << 20);
    CHECK_STR(pack(dir, &out), "(packed)");
    CHECK_STATS(0, 0, 0, 0, 0);
    CHECK_INT(out.len, 124);
    CHECK(memcmp(out.data + 110, "TRAILER!!!", 10) == 0);
    CHECK_STR(check_bytes(out.data, out.len), "(ok)");
    CHECK_STATS(0, 0, 0, 0, 0);
    cvm_buf_release(&out);
    remove_dir(dir);
}

static void pack_refuses_special_files(void)
{
    char *dir = make_dir();
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(dfd >= 0);
    struct cvm_buf out;
    cvm_buf_init(&out, 1 << 20);
    mkd(dfd, "dev", 0755);
    put(dfd, "dev/a", "a", 0644);

    CHECK(mkfifoat(dfd, "dev/fifo", 0644) == 0);
    CHECK_STR(pack(dir, &out), "rootfs 'images/x/rootfs': entry 'dev/fifo': FIFOs are not allowed");
    CHECK_INT(code, CVM_E_FORMAT);
    CHECK_INT(out.len, 0);
    CHECK(unlinkat(dfd, "dev/fifo", 0) == 0);

    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(sock >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dev/sock", dir);
    CHECK(bind(sock, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    close(sock);
    CHECK_STR(pack(dir, &out),
              "rootfs 'images/x/rootfs': entry 'dev/sock': sockets are not allowed");
    CHECK(unlinkat(dfd, "dev/sock", 0) == 0);

    /* Device nodes need CAP_MKNOD; without it this part has nothing to test. */
    if (mknodat(dfd, "dev/null", S_IFCHR | 0666, makedev(1, 3)) == 0) {
        CHECK_STR(pack(dir, &out),
                  "rootfs 'images/x/rootfs': entry 'dev/null': character devices are not allowed");
        CHECK(unlinkat(dfd, "dev/null", 0) == 0);
        CHECK(mknodat(dfd, "dev/sda", S_IFBLK | 0600, makedev(8, 0)) == 0);
        CHECK_STR(pack(dir, &out),
                  "rootfs 'images/x/rootfs': entry 'dev/sda': block devices are not allowed");
        CHECK(unlinkat(dfd, "dev/sda", 0) == 0);
    } else {
        printf("# no CAP_MKNOD (%s): device nodes not tested\n", strerror(errno));
    }
    CHECK_STR(pack(dir, &out), "(packed)");
    CHECK_STATS(2, 1, 1, 0, 1);
    close(dfd);
    cvm_buf_release(&out);
    remove_dir(dir);
}

static void pack_unreadable(void)
{
    char *dir = make_dir();
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(dfd >= 0);
    put(dfd, "secret", "s", 0000);
    mkd(dfd, "locked", 0000);
    /* Root reads anything: run as nobody (this test is a forked child of its own). */
    if (geteuid() == 0) {
        CHECK(fchown(dfd, 65534, 65534) == 0);
        CHECK(fchownat(dfd, "secret", 65534, 65534, 0) == 0);
        CHECK(fchownat(dfd, "locked", 65534, 65534, 0) == 0);
        CHECK(setgid(65534) == 0 && setuid(65534) == 0);
    }
    struct cvm_buf out;
    cvm_buf_init(&out, 1 << 20);
    CHECK_STR(pack(dir, &out),
              "rootfs 'images/x/rootfs': cannot open folder 'locked': Permission denied");
    CHECK_INT(code, CVM_E_SYSTEM);
    CHECK(fchmodat(dfd, "locked", 0755, 0) == 0);
    CHECK_STR(pack(dir, &out), "rootfs 'images/x/rootfs': cannot open 'secret': Permission denied");
    CHECK_INT(out.len, 0);
    CHECK(fchmodat(dfd, "secret", 0644, 0) == 0);
    CHECK_STR(pack(dir, &out), "(packed)");
    close(dfd);
    cvm_buf_release(&out);
    remove_dir(dir);
}

static void pack_limits(void)
{
    char *dir = sample_root(false);
    struct cvm_buf out;
    cvm_buf_init(&out, 1000);
    CHECK_STR(pack(dir, &out),
              "rootfs 'images/x/rootfs': the archive would be 1212 bytes, over the limit of 1000");
    CHECK_INT(code, CVM_E_LIMIT);
    CHECK_INT(out.len, 0);
    /* The archive is appended: what the buffer holds already counts against its max. */
    cvm_buf_init(&out, 1214);
    CHECK(cvm_buf_append(&out, "xyz", 3, NULL) == 0);
    CHECK_STR(pack(dir, &out),
              "rootfs 'images/x/rootfs': the archive would be 1212 bytes, over the limit of 1211");
    CHECK_INT(out.len, 3);
    out.max = 1215;
    CHECK_STR(pack(dir, &out), "(packed)");
    CHECK_INT(out.len, 1215);
    CHECK(memcmp(out.data, "xyz070701", 9) == 0);
    CHECK_STR(check_bytes(out.data + 3, out.len - 3), "(ok)");
    cvm_buf_release(&out);
    remove_dir(dir);
}

/* 16 folders of 250 bytes, then a file: a name of exactly 4095 bytes packs, 4096 does not. */
static void pack_long_names(void)
{
    char *dir = make_dir();
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(dfd >= 0);
    char comp[251], name[82], path[4200] = "";
    memset(comp, 'd', 250);
    comp[250] = 0;
    /* Created one folder at a time: the whole path is too long for one system call. */
    int deep = dup(dfd);
    for (int i = 0; i < 16; i++) {
        CHECK(mkdirat(deep, comp, 0755) == 0);
        int next = openat(deep, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(next >= 0);
        close(deep);
        deep = next;
        strcat(path, comp);
        strcat(path, "/");
    }
    memset(name, 'f', 81);
    name[79] = 0;
    put(deep, name, "x", 0644);
    strcat(path, name);
    CHECK_INT(strlen(path), 4095);
    struct cvm_buf out;
    cvm_buf_init(&out, 1 << 20);
    CHECK_STR(pack(dir, &out), "(packed)");
    CHECK_STATS(17, 1, 16, 0, 1);
    CHECK(memmem(out.data, out.len, path, 4096));
    CHECK_STR(check_bytes(out.data, out.len), "(ok)");
    CHECK_STATS(17, 1, 16, 0, 1);
    cvm_buf_release(&out);

    CHECK(unlinkat(deep, name, 0) == 0);
    name[79] = 'f';
    name[80] = 0;
    put(deep, name, "x", 0644);
    close(deep);
    char want[400];
    snprintf(want, sizeof(want),
             "rootfs 'images/x/rootfs': entry '%.200s...': path is longer than 4095 bytes", path);
    CHECK_STR(pack(dir, &out), want);
    CHECK_INT(code, CVM_E_LIMIT);
    close(dfd);
    remove_dir(dir);
}

/* ---- check: hand-made archives ----------------------------------------------------------------
 */

struct ar {
    unsigned char d[32768];
    size_t len;
    unsigned ino;
};

static void ar_bytes(struct ar *a, const void *p, size_t n)
{
    CHECK(a->len + n <= sizeof(a->d));
    memcpy(a->d + a->len, p, n);
    a->len += n;
}

static void ar_pad(struct ar *a)
{
    while (a->len % 4)
        a->d[a->len++] = 0;
}

static void ar_header(struct ar *a, const char *magic, unsigned mode, unsigned nlink,
                      size_t filesize, size_t namesize)
{
    char h[128];
    snprintf(h, sizeof(h), "%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x", magic,
             ++a->ino, mode, 0u, 0u, nlink, 0u, (unsigned)filesize, 0u, 0u, 0u, 0u,
             (unsigned)namesize, 0u);
    ar_bytes(a, h, 110);
}

static void ar_entry_n(struct ar *a, unsigned mode, unsigned nlink, const char *name,
                       size_t namesize, const void *data, size_t size)
{
    ar_header(a, "070701", mode, nlink, size, namesize);
    ar_bytes(a, name, namesize);
    ar_pad(a);
    ar_bytes(a, data, size);
    ar_pad(a);
}

static void ar_entry(struct ar *a, unsigned mode, const char *name, const char *data)
{
    ar_entry_n(a, mode, 1, name, strlen(name) + 1, data, strlen(data));
}

static void ar_trailer(struct ar *a)
{
    ar_entry(a, 0, "TRAILER!!!", "");
}

static struct ar ar;

static const char *check_ar(void)
{
    return check_bytes(ar.d, ar.len);
}

/* An archive holding one entry and the trailer. */
static const char *one(unsigned mode, const char *name, const char *data)
{
    ar = (struct ar){0};
    ar_entry(&ar, mode, name, data);
    ar_trailer(&ar);
    return check_ar();
}

static void check_accepts(void)
{
    ar = (struct ar){0};
    ar_entry(&ar, 040755, ".", "");
    ar_entry(&ar, 040755, "bin", "");
    ar_entry(&ar, 0100755, "bin/sh", "#!/bin/sh\n");
    ar_entry(&ar, 0120777, "sh", "bin/sh");
    ar_entry(&ar, 0120777, "up", "../../../etc/passwd");
    ar_entry(&ar, 0104755, "su", "");
    ar_entry(&ar, 040000, "bin/more", "");
    ar_trailer(&ar);
    size_t len = ar.len;
    CHECK_STR(check_ar(), "(ok)");
    CHECK_STATS(7, 2, 3, 2, 10);
    /* Zero padding after the trailer (blocked writers) is fine. */
    ar.len = (len + 511) / 512 * 512;
    CHECK_STR(check_ar(), "(ok)");
    /* Upper-case hex digits (gen_init_cpio) are fine. */
    ar.len = len;
    for (size_t i = 0; i < 110; i++)
        if (ar.d[i] >= 'a' && ar.d[i] <= 'f')
            ar.d[i] = (unsigned char)(ar.d[i] - 'a' + 'A');
    CHECK_STR(check_ar(), "(ok)");
    /* A NULL stats pointer is allowed. */
    CHECK(cvm_cpio_check(ar.d, ar.len, "root.cpio", NULL, NULL) == 0);
}

static void check_paths(void)
{
    ar = (struct ar){0};
    ar_entry(&ar, 040755, "a", "");
    ar_entry(&ar, 0100644, "a/f", "");
    ar_entry(&ar, 0100644, "../x", "x");
    ar_trailer(&ar);
    CHECK_STR(check_ar(), "root.cpio: entry 3 '../x': path leaves the archive root");
    CHECK_INT(code, CVM_E_FORMAT);
    CHECK_STR(one(0100644, "/abs", ""), "root.cpio: entry 1 '/abs': path is absolute");
    CHECK_STR(one(0100644, "a/../../b", ""),
              "root.cpio: entry 1 'a/../../b': path leaves the archive root");
    CHECK_STR(one(0100644, "..", ""), "root.cpio: entry 1 '..': path leaves the archive root");
    CHECK_STR(one(0100644, "a/../b", ""), "root.cpio: entry 1 'a/../b': path has a '..' component");
    CHECK_STR(one(0100644, "a//b", ""), "root.cpio: entry 1 'a//b': path has an empty component");
    CHECK_STR(one(040755, "a/", ""), "root.cpio: entry 1 'a/': path ends with '/'");
    CHECK_STR(one(040755, "/", ""), "root.cpio: entry 1 '/': path is absolute");
    CHECK_STR(one(0100644, "./a", ""), "root.cpio: entry 1 './a': path has a '.' component");
    CHECK_STR(one(0100644, "a/./b", ""), "root.cpio: entry 1 'a/./b': path has a '.' component");
    CHECK_STR(one(0100644, "", ""), "root.cpio: entry 1 '': path is empty");
    CHECK_STR(one(0100644, ".", ""), "root.cpio: entry 1 '.': the root entry must be a folder");
    CHECK_STR(one(0100644, "bad\nname/..", ""),
              "root.cpio: entry 1 'bad\\x0aname/..': path has a '..' component");
}

static void check_tree_rules(void)
{
    ar = (struct ar){0};
    ar_entry(&ar, 0100644, "a", "1");
    ar_entry(&ar, 0100644, "b", "2");
    ar_entry(&ar, 040755, "a", "");
    ar_trailer(&ar);
    CHECK_STR(check_ar(), "root.cpio: entry 3 'a': duplicate of entry 1");

    ar = (struct ar){0};
    ar_entry(&ar, 040755, ".", "");
    ar_entry(&ar, 040755, ".", "");
    ar_trailer(&ar);
    CHECK_STR(check_ar(), "root.cpio: entry 2 '.': duplicate of entry 1");

    CHECK_STR(one(0100644, "a/b", ""),
              "root.cpio: entry 1 'a/b': parent folder 'a' does not come before it");
    ar = (struct ar){0};
    ar_entry(&ar, 0100644, "a/b", "");
    ar_entry(&ar, 040755, "a", "");
    ar_trailer(&ar);
    CHECK_STR(check_ar(), "root.cpio: entry 1 'a/b': parent folder 'a' does not come before it");
    /* Writing through a symlink: "a" -> /etc, then "a/passwd". */
    ar = (struct ar){0};
    ar_entry(&ar, 0120777, "a", "/etc");
    ar_entry(&ar, 0100644, "a/passwd", "root::0:0::/:/bin/sh\n");
    ar_trailer(&ar);
    CHECK_STR(check_ar(), "root.cpio: entry 2 'a/passwd': parent 'a' is not a folder");
    /* The duplicate is the first problem in archive order. */
    ar = (struct ar){0};
    ar_entry(&ar, 040755, "d", "");
    ar_entry(&ar, 040755, "d", "");
    ar_entry(&ar, 0100644, "x/y", "");
    ar_trailer(&ar);
    CHECK_STR(check_ar(), "root.cpio: entry 2 'd': duplicate of entry 1");
}

static void check_types(void)
{
    ar = (struct ar){0};
    ar_entry_n(&ar, 0100644, 2, "a", 2, "x", 1);
    ar_entry_n(&ar, 0100644, 2, "b", 2, "", 0);
    ar_trailer(&ar);
    CHECK_STR(check_ar(), "root.cpio: entry 1 'a': hard links are not allowed (nlink 2)");
    ar = (struct ar){0};
    ar_entry_n(&ar, 0120777, 3, "l", 2, "t", 1);
    ar_trailer(&ar);
    CHECK_STR(check_ar(), "root.cpio: entry 1 'l': hard links are not allowed (nlink 3)");
    CHECK_STR(one(020666, "null", ""),
              "root.cpio: entry 1 'null': character devices are not allowed");
    CHECK_INT(code, CVM_E_FORMAT);
    CHECK_STR(one(060600, "sda", ""), "root.cpio: entry 1 'sda': block devices are not allowed");
    CHECK_STR(one(010644, "fifo", ""), "root.cpio: entry 1 'fifo': FIFOs are not allowed");
    CHECK_STR(one(0140755, "sock", ""), "root.cpio: entry 1 'sock': sockets are not allowed");
    CHECK_STR(one(0644, "none", ""), "root.cpio: entry 1 'none': unknown file type 0");
    CHECK_STR(one(0170644, "what", ""), "root.cpio: entry 1 'what': unknown file type 0170000");
    CHECK_STR(one(0x100081a4, "big", ""), "root.cpio: entry 1 'big': bad mode 02000100644");
    CHECK_STR(one(040755, "d", "abc"), "root.cpio: entry 1 'd': folder has 3 bytes of data");
    CHECK_STR(one(0120777, "l", ""), "root.cpio: entry 1 'l': symlink target is empty");
    ar = (struct ar){0};
    ar_entry_n(&ar, 0120777, 1, "l", 2, "a\0b", 3);
    ar_trailer(&ar);
    CHECK_STR(check_ar(), "root.cpio: entry 1 'l': symlink target contains a NUL byte");
    static char target[4097];
    memset(target, 't', 4096);
    CHECK_STR(one(0120777, "l", target),
              "root.cpio: entry 1 'l': symlink target is 4096 bytes, over the limit of 4095");
    CHECK_INT(code, CVM_E_LIMIT);
    target[4095] = 0;
    CHECK_STR(one(0120777, "l", target), "(ok)");
}

static void check_framing(void)
{
    CHECK_STR(check_bytes("", 0), "root.cpio: empty archive");
    CHECK_STR(check_bytes(NULL, 0), "root.cpio: empty archive");
    CHECK_STR(check_bytes("hello, world", 12), "root.cpio: not a newc cpio archive (bad magic)");
    CHECK_STR(check_bytes("0707", 4), "root.cpio: entry 1: truncated header (4 of 110 bytes)");

    ar = (struct ar){0};
    ar_entry(&ar, 040755, "a", "");
    ar_entry(&ar, 0100644, "b", "data");
    CHECK_STR(check_ar(), "root.cpio: missing TRAILER!!! after entry 2 'b'");
    size_t two = ar.len;
    ar_trailer(&ar);
    CHECK_STR(check_ar(), "(ok)");
    /* Cut inside the trailer's header, then inside its padding. */
    CHECK_STR(check_bytes(ar.d, two + 50),
              "root.cpio: entry 3: truncated header (50 of 110 bytes)");
    CHECK_STR(check_bytes(ar.d, ar.len - 1),
              "root.cpio: entry 3 'TRAILER!!!': truncated padding after the name");
    /* Cut inside b's data, then inside its padding (4 bytes of data need none: cut the name's). */
    CHECK_STR(check_bytes(ar.d, two - 2),
              "root.cpio: entry 2 'b': truncated data (4 bytes declared, 2 left)");
    CHECK_STR(check_bytes(ar.d, 112 + 111),
              "root.cpio: entry 2: truncated name (2 bytes declared, 1 left)");
    ar = (struct ar){0};
    ar_entry(&ar, 0100644, "f", "abc");
    CHECK_STR(check_bytes(ar.d, ar.len - 1),
              "root.cpio: entry 1 'f': truncated padding after the data");
    /* Garbage where the second header should be (libarchive alone would skip it). */
    ar_bytes(&ar, "JUNK", 4);
    ar_entry(&ar, 0100644, "g", "");
    ar_trailer(&ar);
    CHECK_STR(check_ar(), "root.cpio: entry 2: bad magic at offset 116");

    /* Sizes beyond the data: a 4 GiB file in a small archive. */
    ar = (struct ar){0};
    ar_header(&ar, "070701", 0100644, 1, 0xffffffff, 2);
    ar_bytes(&ar, "f", 2);
    ar_trailer(&ar);
    CHECK_STR(check_ar(),
              "root.cpio: entry 1 'f': truncated data (4294967295 bytes declared, 124 left)");

    ar = (struct ar){0};
    ar_entry(&ar, 0100644, "f", "");
    ar.d[6 + 8 * 6 + 3] = 'g';
    ar_trailer(&ar);
    CHECK_STR(check_ar(), "root.cpio: entry 1: bad hex digits in header field c_filesize");

    ar = (struct ar){0};
    ar_entry_n(&ar, 0100644, 1, "ab", 2, "", 0);
    ar_trailer(&ar);
    CHECK_STR(check_ar(), "root.cpio: entry 1: name is not NUL-terminated");
    ar = (struct ar){0};
    ar_entry_n(&ar, 0100644, 1, "a\0b", 4, "", 0);
    ar_trailer(&ar);
    CHECK_STR(check_ar(), "root.cpio: entry 1: name contains a NUL byte");
    ar = (struct ar){0};
    ar_entry_n(&ar, 0100644, 1, "", 0, "", 0);
    ar_trailer(&ar);
    CHECK_STR(check_ar(), "root.cpio: entry 1: name size is 0");
    ar = (struct ar){0};
    ar_header(&ar, "070701", 0100644, 1, 0, 100);
    ar_bytes(&ar, "short", 5);
    CHECK_STR(check_ar(), "root.cpio: entry 1: truncated name (100 bytes declared, 5 left)");

    ar = (struct ar){0};
    ar_entry(&ar, 0100644, "f", "");
    ar_entry(&ar, 0, "TRAILER!!!", "x");
    CHECK_STR(check_ar(), "root.cpio: TRAILER!!! has 1 bytes of data");
    ar = (struct ar){0};
    ar_entry(&ar, 0100644, "f", "");
    ar_trailer(&ar);
    ar_bytes(&ar, "\0\0\0\0\0x", 6);
    CHECK_STR(check_ar(), "root.cpio: non-zero byte after TRAILER!!! at offset 241");
    /* A second archive after the first is not part of it. */
    ar.len -= 6;
    ar_entry(&ar, 0100644, "g", "");
    ar_trailer(&ar);
    CHECK_STR(check_ar(), "root.cpio: non-zero byte after TRAILER!!! at offset 236");
}

static void check_other_formats(void)
{
    /* odc: 76-byte octal headers. */
    static const char odc[] = "070707"
                              "000000"
                              "000001"
                              "100644"
                              "000000"
                              "000000"
                              "000001"
                              "000000"
                              "00000000000"
                              "000002"
                              "00000000000"
                              "f";
    CHECK_STR(check_bytes(odc, sizeof(odc)),
              "root.cpio: entry 1: odc cpio (070707) is not supported, only newc (070701)");
    CHECK_INT(code, CVM_E_FORMAT);
    ar = (struct ar){0};
    ar_header(&ar, "070702", 0100644, 1, 0, 2);
    ar_bytes(&ar, "f\0\0\0", 4);
    ar_trailer(&ar);
    CHECK_STR(
        check_ar(),
        "root.cpio: entry 1: newc cpio with CRC (070702) is not supported, only newc (070701)");
    static const unsigned char bin_le[26] = {0xc7, 0x71};
    CHECK_STR(check_bytes(bin_le, sizeof(bin_le)),
              "root.cpio: entry 1: old binary cpio is not supported, only newc (070701)");
    static const unsigned char bin_be[26] = {0x71, 0xc7};
    CHECK_STR(check_bytes(bin_be, sizeof(bin_be)),
              "root.cpio: entry 1: old binary cpio is not supported, only newc (070701)");
    /* A newc archive with an odc entry in the middle. */
    ar = (struct ar){0};
    ar_entry(&ar, 0100644, "f", "");
    ar_bytes(&ar, odc, sizeof(odc));
    CHECK_STR(check_ar(),
              "root.cpio: entry 2: odc cpio (070707) is not supported, only newc (070701)");
}

static void check_limits(void)
{
    static char name[4097];
    memset(name, 'n', 4096);
    CHECK_STR(one(0100644, name, ""),
              "root.cpio: entry 1: name is 4096 bytes, over the limit of 4095");
    CHECK_INT(code, CVM_E_LIMIT);
    name[4095] = 0;
    CHECK_STR(one(0100644, name, ""), "(ok)");

    /* One entry more than the limit; the copies are identical, the count fails first. */
    ar = (struct ar){0};
    ar_entry(&ar, 0100644, "a", "");
    const size_t each = ar.len, n = CVM_CPIO_MAX_ENTRIES + 1;
    uint8_t *big = malloc(n * each + 124);
    CHECK(big);
    for (size_t i = 0; i < n; i++)
        memcpy(big + i * each, ar.d, each);
    ar = (struct ar){0};
    ar_trailer(&ar);
    memcpy(big + n * each, ar.d, ar.len);
    CHECK_STR(check_bytes(big, n * each + ar.len), "root.cpio: more than 1000000 entries");
    CHECK_INT(code, CVM_E_LIMIT);
    /* At the limit, the count passes and the duplicates are what is wrong. */
    memcpy(big + (n - 1) * each, ar.d, ar.len);
    CHECK_STR(check_bytes(big, (n - 1) * each + ar.len),
              "root.cpio: entry 2 'a': duplicate of entry 1");
    free(big);
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(pack_exact_bytes),    TAP_TEST(pack_is_reproducible),
        TAP_TEST(pack_empty_folder),   TAP_TEST(pack_refuses_special_files),
        TAP_TEST(pack_unreadable),     TAP_TEST(pack_limits),
        TAP_TEST(pack_long_names),     TAP_TEST(check_accepts),
        TAP_TEST(check_paths),         TAP_TEST(check_tree_rules),
        TAP_TEST(check_types),         TAP_TEST(check_framing),
        TAP_TEST(check_other_formats), TAP_TEST(check_limits),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
