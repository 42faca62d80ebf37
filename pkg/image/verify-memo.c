#include "verify-memo.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "store.h"

/* What a memo's tag authenticates, after this domain separator: the key's fingerprint, the
 * payload's digest and the digest of the signature's bytes, 32 bytes each. */
#define TAG_DOMAIN "cvmctl verified signature v1"
#define TMP_PREFIX ".tmp-"
/* "<payload hex>-<tag hex>" */
#define MEMO_NAME_LEN (2 * CVM_DIGEST_HEX_LEN + 1)
#define SECRET_PATH_MAX 4096

struct cvm_verify_memo {
    int dirfd;
    unsigned mode;
    uint8_t secret[CVM_VERIFY_MEMO_SECRET_LEN];
};

/* Writes a new secret under a temporary name and links it into place: a reader never sees a
 * partial secret, and of two processes creating one at once, the first link wins. */
static int create_secret(int dirfd)
{
    uint8_t secret[CVM_VERIFY_MEMO_SECRET_LEN];
    if (getrandom(secret, sizeof(secret), 0) != (ssize_t)sizeof(secret))
        return -errno;
    /* A name of its own even where every process is pid 1 (a new pid namespace). */
    uint32_t salt = 0;
    if (getrandom(&salt, sizeof(salt), 0) != (ssize_t)sizeof(salt))
        return -errno;
    char tmp[64];
    snprintf(tmp, sizeof(tmp), TMP_PREFIX "%d-%08x", (int)getpid(), salt);
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int r = fd < 0 ? -errno : 0;
    if (r == 0 && write(fd, secret, sizeof(secret)) != (ssize_t)sizeof(secret))
        r = errno ? -errno : -EIO;
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (r == 0 && linkat(dirfd, tmp, dirfd, CVM_VERIFY_MEMO_SECRET, 0) < 0 && errno != EEXIST)
        r = -errno;
    if (fd >= 0) {
        close(fd);
        unlinkat(dirfd, tmp, 0);
    }
    explicit_bzero(secret, sizeof(secret));
    return r;
}

/* Reads the secret; refuses one that is not a regular file of the right size, owned by this
 * user and readable by no one else. */
static int read_secret(int dirfd, uint8_t out[CVM_VERIFY_MEMO_SECRET_LEN], const char **why)
{
    /* O_NONBLOCK: a FIFO in its place must not hang the run; it is refused below. */
    int fd = openat(dirfd, CVM_VERIFY_MEMO_SECRET, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int r = fstat(fd, &st) < 0 ? -errno : 0;
    if (r == 0 && (!S_ISREG(st.st_mode) || st.st_size != CVM_VERIFY_MEMO_SECRET_LEN))
        *why = "it is not a file of 32 bytes", r = -EINVAL;
    else if (r == 0 && (st.st_uid != geteuid() || (st.st_mode & 077)))
        *why = "others than its owner may read it", r = -EPERM;
    if (r == 0 && read(fd, out, CVM_VERIFY_MEMO_SECRET_LEN) != CVM_VERIFY_MEMO_SECRET_LEN)
        r = errno ? -errno : -EIO;
    close(fd);
    return r;
}

/* Opens (making it when missing, mode 0700) the folder of the user's secret, its name in
 * path. */
static int secret_dir_open(char path[SECRET_PATH_MAX], const char **why)
{
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    int n = state && state[0] == '/' ? snprintf(path, SECRET_PATH_MAX, "%s/cvmctl", state)
            : home && home[0] == '/'
                ? snprintf(path, SECRET_PATH_MAX, "%s/.local/state/cvmctl", home)
                : -1;
    if (n < 0 || n >= SECRET_PATH_MAX) {
        *why = "neither $XDG_STATE_HOME nor $HOME names a folder";
        return -1;
    }
    /* Each missing parent of path is made as well ($HOME/.local, $HOME/.local/state). */
    for (char *slash = strchr(path + 1, '/');; slash = strchr(slash + 1, '/')) {
        if (slash)
            *slash = '\0';
        if (mkdir(path, slash ? 0755 : 0700) < 0 && errno != EEXIST) {
            *why = strerror(errno);
            return -1;
        }
        if (!slash)
            break;
        *slash = '/';
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        *why = strerror(errno);
    return fd;
}

struct cvm_verify_memo *cvm_verify_memo_open(struct cvm_store *s, unsigned mode)
{
    int root = cvm_store_dirfd(s);
    const char *why = NULL;
    int dirfd = openat(root, CVM_VERIFY_MEMO_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dirfd < 0 && errno == ENOENT && mkdirat(root, CVM_VERIFY_MEMO_DIR, 0755) < 0 &&
        errno != EEXIST)
        why = strerror(errno);
    if (dirfd < 0 && !why &&
        (dirfd = openat(root, CVM_VERIFY_MEMO_DIR,
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
        why = strerror(errno);
    struct cvm_verify_memo *m = NULL;
    if (!why && !(m = calloc(1, sizeof(*m))))
        why = strerror(ENOMEM);
    if (m)
        m->dirfd = -1;
    char secret_path[SECRET_PATH_MAX] = "";
    const char *secret_why = NULL;
    int secret_dir = why ? -1 : secret_dir_open(secret_path, &secret_why);
    int r = secret_dir < 0 ? -1 : read_secret(secret_dir, m->secret, &secret_why);
    if (r == -ENOENT && (r = create_secret(secret_dir)) == 0)
        r = read_secret(secret_dir, m->secret, &secret_why);
    if (r < 0 && !secret_why)
        secret_why = strerror(-r);
    if (secret_dir >= 0)
        close(secret_dir);
    if (why)
        cvm_log(CVM_LOG_DEBUG,
                "no memos of verified signatures in '%s/" CVM_VERIFY_MEMO_DIR "': %s",
                cvm_store_root(s), why);
    else if (secret_why)
        cvm_log(CVM_LOG_DEBUG,
                "no memos of verified signatures: secret '%s/" CVM_VERIFY_MEMO_SECRET "': %s",
                secret_path, secret_why);
    if (why || secret_why) {
        if (dirfd >= 0)
            close(dirfd);
        cvm_verify_memo_free(m);
        return NULL;
    }
    m->dirfd = dirfd;
    m->mode = mode;
    return m;
}

void cvm_verify_memo_free(struct cvm_verify_memo *m)
{
    if (!m)
        return;
    if (m->dirfd >= 0)
        close(m->dirfd);
    explicit_bzero(m->secret, sizeof(m->secret));
    free(m);
}

/* The memo's file name; false when out of memory. */
static bool memo_name(const struct cvm_verify_memo *m, const struct cvm_digest *key_id,
                      const struct cvm_digest *payload, const void *sig, size_t sig_len,
                      char out[MEMO_NAME_LEN + 1])
{
    uint8_t msg[sizeof(TAG_DOMAIN) + 3 * CVM_SHA256_LEN];
    memcpy(msg, TAG_DOMAIN, sizeof(TAG_DOMAIN)); /* with its NUL */
    memcpy(msg + sizeof(TAG_DOMAIN), key_id->bytes, CVM_SHA256_LEN);
    memcpy(msg + sizeof(TAG_DOMAIN) + CVM_SHA256_LEN, payload->bytes, CVM_SHA256_LEN);
    cvm_sha256(sig, sig_len, msg + sizeof(TAG_DOMAIN) + 2 * CVM_SHA256_LEN);
    struct cvm_digest tag;
    if (cvm_hmac_sha256(m->secret, sizeof(m->secret), msg, sizeof(msg), tag.bytes) < 0)
        return false;
    cvm_digest_hex(payload, out);
    out[CVM_DIGEST_HEX_LEN] = '-';
    cvm_digest_hex(&tag, out + CVM_DIGEST_HEX_LEN + 1);
    return true;
}

bool cvm_verify_memo_holds(const struct cvm_verify_memo *m, const struct cvm_digest *key_id,
                           const struct cvm_digest *payload, const void *sig, size_t sig_len)
{
    char name[MEMO_NAME_LEN + 1];
    struct stat st;
    return m && (m->mode & CVM_VERIFY_MEMO_CONSULT) &&
           memo_name(m, key_id, payload, sig, sig_len, name) &&
           fstatat(m->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

void cvm_verify_memo_add(const struct cvm_verify_memo *m, const struct cvm_digest *key_id,
                         const struct cvm_digest *payload, const void *sig, size_t sig_len)
{
    char name[MEMO_NAME_LEN + 1];
    if (!m || !(m->mode & CVM_VERIFY_MEMO_RECORD) ||
        !memo_name(m, key_id, payload, sig, sig_len, name))
        return;
    /* Empty: the name is the record. Not synced: a memo lost in a crash is only a later
     * verification. */
    int fd = openat(m->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST)
        cvm_log(CVM_LOG_DEBUG,
                "cannot record a verified signature in '" CVM_VERIFY_MEMO_DIR "/%s': %s", name,
                strerror(errno));
    if (fd >= 0)
        close(fd);
}

/* The payload a memo's name starts with; false for any other name. */
static bool memo_payload(const char *name, struct cvm_digest *ret)
{
    char hex[CVM_DIGEST_HEX_LEN + 1];
    struct cvm_digest tag;
    if (strlen(name) != MEMO_NAME_LEN || name[CVM_DIGEST_HEX_LEN] != '-' ||
        cvm_digest_parse_hex(name + CVM_DIGEST_HEX_LEN + 1, &tag) < 0)
        return false;
    memcpy(hex, name, CVM_DIGEST_HEX_LEN);
    hex[CVM_DIGEST_HEX_LEN] = '\0';
    return cvm_digest_parse_hex(hex, ret) == 0;
}

int cvm_verify_memo_sweep(struct cvm_store *s, struct cvm_error **err)
{
    int fd = openat(cvm_store_dirfd(s), CVM_VERIFY_MEMO_DIR,
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0
                               : cvm_error_set_errno(err, errno, "cannot open '%s/%s'",
                                                     cvm_store_root(s), CVM_VERIFY_MEMO_DIR);
    DIR *dir = fdopendir(fd);
    if (!dir) {
        int e = errno;
        close(fd);
        return cvm_error_set_errno(err, e, "cannot list '%s/%s'", cvm_store_root(s),
                                   CVM_VERIFY_MEMO_DIR);
    }
    int r = 0;
    for (struct dirent *de; r == 0 && (de = readdir(dir));) {
        struct cvm_digest payload;
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            (memo_payload(de->d_name, &payload) && cvm_store_has_blob(s, &payload)) ||
            fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || S_ISDIR(st.st_mode))
            continue;
        if (unlinkat(fd, de->d_name, 0) < 0)
            r = cvm_error_set_errno(err, errno, "cannot remove '%s/%s/%s'", cvm_store_root(s),
                                    CVM_VERIFY_MEMO_DIR, de->d_name);
    }
    closedir(dir);
    return r;
}
