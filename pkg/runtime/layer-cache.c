/* The layer cache (specs/image-format.md §6): a miss decompresses a layer into
 * ROOT/cache/.tmp-*, syncs it and renames it to its name, so no name ever holds a partial
 * entry; a hit maps the entry read-only without copying it. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "base.h"
#include "layer-cache.h"
#include "manifest.h"
#include "store.h"
#include "zstd-codec.h"

#define CACHE_PARENT "cache"
#define TMP_PREFIX ".tmp-"
#define MAGIC_LEN 8
#define WRITE_STEP (8u << 20)

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void make_trailer(uint8_t t[CVM_LAYER_CACHE_TRAILER_SIZE], uint64_t len,
                         const struct cvm_digest *layer, const struct cvm_digest *content)
{
    memcpy(t, CVM_LAYER_CACHE_MAGIC, MAGIC_LEN);
    put_le64(t + MAGIC_LEN, len);
    memcpy(t + 16, layer->bytes, CVM_DIGEST_LEN);
    memcpy(t + 16 + CVM_DIGEST_LEN, content->bytes, CVM_DIGEST_LEN);
}

void cvm_layer_map_release(struct cvm_layer_map *m)
{
    if (m->source == CVM_LAYER_UNCACHED)
        free(m->base);
    else if (m->base)
        munmap(m->base, m->map_len);
    *m = (struct cvm_layer_map){0};
}

/* Maps an entry and checks its trailer: 1 when it is valid for `layer` (*ret filled), 0 when
 * it must not be used, negative on errors. */
static int map_entry(int fd, const struct cvm_digest *layer, size_t max, const char *display,
                     unsigned flags, struct cvm_layer_map *ret, struct cvm_error **err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return cvm_error_set_errno(err, errno, "%s: cannot inspect its cache entry", display);
    if (!S_ISREG(st.st_mode) || st.st_size < CVM_LAYER_CACHE_TRAILER_SIZE ||
        (uint64_t)st.st_size > SIZE_MAX)
        return 0;
    size_t map_len = (size_t)st.st_size;
    int populate = map_len <= CVM_LAYER_CACHE_POPULATE_MAX ? MAP_POPULATE : 0;
    void *base = mmap(NULL, map_len, PROT_READ, MAP_PRIVATE | populate, fd, 0);
    if (base == MAP_FAILED)
        return cvm_error_set_errno(err, errno, "%s: cannot map its cache entry", display);
    const uint8_t *t = (const uint8_t *)base + map_len - CVM_LAYER_CACHE_TRAILER_SIZE;
    uint64_t len = get_le64(t + MAGIC_LEN);
    struct cvm_digest content;
    memcpy(content.bytes, t + 16 + CVM_DIGEST_LEN, CVM_DIGEST_LEN);
    int r = 1;
    if (memcmp(t, CVM_LAYER_CACHE_MAGIC, MAGIC_LEN) != 0 ||
        len != map_len - CVM_LAYER_CACHE_TRAILER_SIZE ||
        memcmp(t + 16, layer->bytes, CVM_DIGEST_LEN) != 0) {
        r = 0;
    } else if (len > max) {
        /* The entry was decompressed from this very layer: the layer is over the limit. */
        r = cvm_error_set(err, CVM_E_LIMIT, "%s: decompresses to more than %zu bytes", display,
                          max);
    } else if (flags & CVM_LAYER_CACHE_VERIFY) {
        struct cvm_digest got;
        cvm_digest_of(base, (size_t)len, &got);
        if (!cvm_digest_equal(&got, &content))
            r = 0;
    }
    if (r != 1) {
        munmap(base, map_len);
        return r;
    }
    *ret = (struct cvm_layer_map){.data = base,
                                  .len = (size_t)len,
                                  .digest = content,
                                  .source = CVM_LAYER_HIT,
                                  .base = base,
                                  .map_len = map_len};
    return 1;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len < WRITE_STEP ? len : WRITE_STEP);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The store cannot take the entry (full, read-only, over a quota or a file size limit): the
 * run goes on from memory rather than fail for want of a cache. */
static bool no_room(int e)
{
    return e == ENOSPC || e == EDQUOT || e == EFBIG || e == EROFS || e == EACCES || e == EPERM;
}

/* Writes data + trailer as the entry `hex`: temp file, fsync, rename. Returns the entry's fd
 * (open for reading), or -1 with errno set and nothing left behind; *ret_what names the step
 * that failed. The folder is not fsynced: a rename lost in a crash is only a later miss. */
static int store_entry(int dirfd, const char *hex, const uint8_t *data, size_t len,
                       const uint8_t *trailer, const char **ret_what)
{
    static unsigned counter;
    *ret_what = "create";
    if ((mkdirat(dirfd, CACHE_PARENT, 0755) < 0 && errno != EEXIST) ||
        (mkdirat(dirfd, CVM_LAYER_CACHE_DIR, 0755) < 0 && errno != EEXIST))
        return -1;
    char tmp[128];
    char name[sizeof(CVM_LAYER_CACHE_DIR) + CVM_DIGEST_HEX_LEN + 1];
    snprintf(name, sizeof(name), CVM_LAYER_CACHE_DIR "/%s", hex);
    /* A crashed fill leaves its temporary file, and a process in a new pid namespace gets the
     * same pid every time: a name that is taken is skipped, not an error. */
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 64; tries++) {
        snprintf(tmp, sizeof(tmp), CACHE_PARENT "/" TMP_PREFIX "%d-%u-%.16s", (int)getpid(),
                 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED), hex);
        fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0 && errno != EEXIST)
            return -1;
    }
    if (fd < 0)
        return -1;
    *ret_what = "write";
    bool ok =
        write_all(fd, data, len) == 0 && write_all(fd, trailer, CVM_LAYER_CACHE_TRAILER_SIZE) == 0;
    if (ok) {
        *ret_what = "sync";
        ok = fsync(fd) == 0;
    }
    if (ok) {
        *ret_what = "rename";
        ok = renameat(dirfd, tmp, dirfd, name) == 0;
    }
    if (!ok) {
        int e = errno;
        close(fd);
        unlinkat(dirfd, tmp, 0);
        errno = e;
        return -1;
    }
    return fd;
}

/* Decompresses the layer and stores it; *ret maps the new entry, or holds the bytes in memory
 * when the store has no room for them. */
static int fill(struct cvm_store *s, const struct cvm_descriptor *layer, size_t max, size_t limit,
                const char *display, const char *hex, struct cvm_layer_map *ret,
                struct cvm_error **err)
{
    struct cvm_buf raw;
    int r = cvm_store_read_blob(s, &layer->digest, limit, &raw, err);
    if (r < 0)
        return cvm_error_prefix(err, "%s", display);
    if (raw.len != layer->size) {
        size_t got = raw.len;
        cvm_buf_release(&raw);
        return cvm_error_set(err, CVM_E_DIGEST, "%s has %zu bytes, its descriptor says %llu",
                             display, got, (unsigned long long)layer->size);
    }
    struct cvm_buf out;
    cvm_buf_init(&out, max);
    r = cvm_zstd_decompress(raw.data, raw.len, display, &out, err);
    cvm_buf_release(&raw);
    if (r < 0) {
        cvm_buf_release(&out);
        return r;
    }
    struct cvm_digest content;
    cvm_digest_of(out.data, out.len, &content);
    uint8_t trailer[CVM_LAYER_CACHE_TRAILER_SIZE];
    make_trailer(trailer, out.len, &layer->digest, &content);
    const char *what = "";
    CVM_AUTOCLOSE int fd = store_entry(cvm_store_dirfd(s), hex, out.data, out.len, trailer, &what);
    if (fd < 0 && no_room(errno)) {
        *ret = (struct cvm_layer_map){.data = out.data,
                                      .len = out.len,
                                      .digest = content,
                                      .source = CVM_LAYER_UNCACHED,
                                      .base = out.data,
                                      .map_len = out.len};
        return 0;
    }
    int e = errno;
    cvm_buf_release(&out);
    if (fd < 0)
        return cvm_error_set_errno(err, e, "%s: cannot %s its cache entry '%s/%s/%s'", display,
                                   what, cvm_store_root(s), CVM_LAYER_CACHE_DIR, hex);
    r = map_entry(fd, &layer->digest, max, display, 0, ret, err);
    if (r == 0)
        r = cvm_error_set(err, CVM_E_SYSTEM,
                          "%s: its cache entry '%s/%s/%s' changed as it was written", display,
                          cvm_store_root(s), CVM_LAYER_CACHE_DIR, hex);
    return r < 0 ? r : 0;
}

int cvm_layer_cache_open(struct cvm_store *s, const struct cvm_descriptor *layer, size_t max,
                         const char *display, unsigned flags, struct cvm_layer_map *ret,
                         struct cvm_error **err)
{
    /* A frame never needs much more than its content: bound the read before decompressing. */
    size_t limit = ZSTD_COMPRESSBOUND(max);
    if (layer->size > limit)
        return cvm_error_set(err, CVM_E_LIMIT, "%s is %llu bytes, over the limit of %zu", display,
                             (unsigned long long)layer->size, limit);
    /* An entry outlives its blob until gc: a layer the store lost is an error, cached or not. */
    CVM_AUTOCLOSE int blob = -1;
    int r = cvm_store_open_blob(s, &layer->digest, &blob, err);
    if (r < 0)
        return cvm_error_prefix(err, "%s", display);
    char hex[CVM_DIGEST_HEX_LEN + 1];
    cvm_digest_hex(&layer->digest, hex);
    char name[sizeof(CVM_LAYER_CACHE_DIR) + CVM_DIGEST_HEX_LEN + 1];
    snprintf(name, sizeof(name), CVM_LAYER_CACHE_DIR "/%s", hex);
    struct cvm_layer_map m = {0};
    bool stale = false;
    CVM_AUTOCLOSE int fd =
        openat(cvm_store_dirfd(s), name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd >= 0) {
        if ((r = map_entry(fd, &layer->digest, max, display, flags, &m, err)) < 0)
            return r;
        stale = r == 0;
    } else if (errno == ELOOP) {
        stale = true;
    } else if (errno != ENOENT) {
        return cvm_error_set_errno(err, errno, "%s: cannot open its cache entry '%s/%s'", display,
                                   cvm_store_root(s), name);
    }
    if (m.source != CVM_LAYER_HIT) {
        if ((r = fill(s, layer, max, limit, display, hex, &m, err)) < 0)
            return r;
        if (m.source == CVM_LAYER_HIT)
            m.source = stale ? CVM_LAYER_REFILLED : CVM_LAYER_FILLED;
    }
    *ret = m;
    return 0;
}
