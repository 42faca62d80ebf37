/* The layer cache: misses fill entries atomically, hits map them without decompressing,
 * invalid entries are replaced, bad layers leave nothing behind, and gc collects the rest. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "base.h"
#include "image.h"
#include "layer-cache.h"
#include "tap.h"

static char root[] = "/tmp/test-layer-cache-XXXXXX";
static struct cvm_store *store;

static void setup(void)
{
    CHECK(mkdtemp(root) != NULL);
    CHECK_INT(cvm_store_open(root, 0, &store, NULL), 0);
}

static void teardown(void)
{
    cvm_store_free(store);
    store = NULL;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    CHECK_INT(system(cmd), 0);
}

/* Deterministic incompressible-ish bytes. */
static uint8_t *random_bytes(size_t len, uint32_t seed)
{
    uint8_t *p = malloc(len ? len : 1);
    CHECK(p != NULL);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (uint8_t)x;
    }
    return p;
}

/* Compresses data, stores it as a blob and describes it in *d. */
static void put_layer(const void *data, size_t len, struct cvm_descriptor *d)
{
    struct cvm_buf z;
    cvm_buf_init(&z, len + (len >> 7) + 4096);
    CHECK_INT(cvm_zstd_compress(data, len, &z, NULL), 0);
    *d = (struct cvm_descriptor){.size = z.len};
    CHECK_INT(cvm_store_put_blob(store, z.data, z.len, &d->digest, NULL), 0);
    cvm_buf_release(&z);
}

static void put_raw(const void *data, size_t len, struct cvm_descriptor *d)
{
    *d = (struct cvm_descriptor){.size = len};
    CHECK_INT(cvm_store_put_blob(store, data, len, &d->digest, NULL), 0);
}

static const char *open_layer(const struct cvm_descriptor *d, size_t max, unsigned flags,
                              struct cvm_layer_map *m)
{
    struct cvm_error *err = NULL;
    *m = (struct cvm_layer_map){0};
    cvm_layer_cache_open(store, d, max, "layer 'x'", flags, m, &err);
    return tap_take_error(&err);
}

static const char *entry_path(const struct cvm_descriptor *d)
{
    char hex[CVM_DIGEST_HEX_LEN + 1];
    return tap_fmt("%s/cache/sha256/%s", root, cvm_digest_hex(&d->digest, hex));
}

static const char *blob_path(const struct cvm_descriptor *d)
{
    char hex[CVM_DIGEST_HEX_LEN + 1];
    return tap_fmt("%s/blobs/sha256/%s", root, cvm_digest_hex(&d->digest, hex));
}

/* Names in ROOT/cache (and ROOT/cache/sha256) starting with prefix. */
static int count_files(const char *sub, const char *prefix)
{
    DIR *dir = opendir(tap_fmt("%s/%s", root, sub));
    if (!dir)
        return 0;
    int n = 0;
    for (struct dirent *de; (de = readdir(dir));)
        if (de->d_name[0] != '.' || prefix[0] == '.')
            n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    closedir(dir);
    return n;
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void write_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_INT(write(fd, data, len), (long long)len);
    close(fd);
}

static void check_content(const struct cvm_layer_map *m, const uint8_t *data, size_t len)
{
    CHECK_INT(m->len, len);
    CHECK(len == 0 || memcmp(m->data, data, len) == 0);
    struct cvm_digest want;
    cvm_digest_of(data, len, &want);
    CHECK(cvm_digest_equal(&m->digest, &want));
}

static void miss_then_hit(void)
{
    setup();
    size_t len = 1u << 20;
    uint8_t *data = random_bytes(len, 1);
    struct cvm_descriptor d;
    put_layer(data, len, &d);
    struct cvm_layer_map m;
    CHECK_STR(open_layer(&d, len, 0, &m), "(ok)");
    CHECK_INT(m.source, CVM_LAYER_FILLED);
    check_content(&m, data, len);
    cvm_layer_map_release(&m);
    CHECK(m.data == NULL && m.base == NULL);
    cvm_layer_map_release(&m);

    /* The entry: the bytes, then the trailer (magic, size, both digests). */
    struct stat st1, st2;
    CHECK_INT(stat(entry_path(&d), &st1), 0);
    CHECK_INT(st1.st_size, len + CVM_LAYER_CACHE_TRAILER_SIZE);
    CHECK_INT(st1.st_size, len + 80);
    uint8_t t[CVM_LAYER_CACHE_TRAILER_SIZE];
    int fd = open(entry_path(&d), O_RDONLY);
    CHECK(fd >= 0);
    CHECK_INT(pread(fd, t, sizeof(t), (off_t)len), sizeof(t));
    close(fd);
    CHECK(memcmp(t, "cvmlc\0\0\1", 8) == 0);
    CHECK(memcmp(t + 8, "\0\0\x10\0\0\0\0\0", 8) == 0);
    CHECK(memcmp(t + 16, d.digest.bytes, 32) == 0);
    struct cvm_digest content;
    cvm_digest_of(data, len, &content);
    CHECK(memcmp(t + 48, content.bytes, 32) == 0);
    CHECK_INT(count_files("cache", ".tmp-"), 0);

    /* The second open maps the same file: nothing decompressed, nothing rewritten. */
    CHECK_STR(open_layer(&d, len, 0, &m), "(ok)");
    CHECK_INT(m.source, CVM_LAYER_HIT);
    check_content(&m, data, len);
    CHECK_INT(stat(entry_path(&d), &st2), 0);
    CHECK(st1.st_ino == st2.st_ino && st1.st_mtim.tv_sec == st2.st_mtim.tv_sec &&
          st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec);
    cvm_layer_map_release(&m);
    CHECK_STR(open_layer(&d, len, CVM_LAYER_CACHE_VERIFY, &m), "(ok)");
    CHECK_INT(m.source, CVM_LAYER_HIT);
    check_content(&m, data, len);
    cvm_layer_map_release(&m);
    CHECK_INT(count_files("cache/sha256", ""), 1);
    free(data);
    teardown();
}

static void empty_layer(void)
{
    setup();
    struct cvm_descriptor d;
    put_layer("", 0, &d);
    struct cvm_layer_map m;
    CHECK_STR(open_layer(&d, 100, 0, &m), "(ok)");
    CHECK_INT(m.source, CVM_LAYER_FILLED);
    check_content(&m, (const uint8_t *)"", 0);
    cvm_layer_map_release(&m);
    CHECK_INT(file_size(entry_path(&d)), 80);
    CHECK_STR(open_layer(&d, 0, 0, &m), "(ok)");
    CHECK_INT(m.source, CVM_LAYER_HIT);
    check_content(&m, (const uint8_t *)"", 0);
    cvm_layer_map_release(&m);
    teardown();
}

static void leftover_tmp_ignored(void)
{
    setup();
    uint8_t *data = random_bytes(5000, 2);
    struct cvm_descriptor d;
    put_layer(data, 5000, &d);
    CHECK_INT(mkdir(tap_fmt("%s/cache", root), 0755), 0);
    CHECK_INT(mkdir(tap_fmt("%s/cache/sha256", root), 0755), 0);
    /* What a crash mid-fill leaves: a .tmp-* with part of the bytes, no entry. */
    char hex[CVM_DIGEST_HEX_LEN + 1];
    cvm_digest_hex(&d.digest, hex);
    write_file(tap_fmt("%s/cache/.tmp-1-0-%.16s", root, hex), data, 100);
    struct cvm_layer_map m;
    CHECK_STR(open_layer(&d, 5000, 0, &m), "(ok)");
    CHECK_INT(m.source, CVM_LAYER_FILLED);
    check_content(&m, data, 5000);
    cvm_layer_map_release(&m);
    CHECK_INT(file_size(tap_fmt("%s/cache/.tmp-1-0-%.16s", root, hex)), 100);
    CHECK_INT(file_size(entry_path(&d)), 5080);
    free(data);
    teardown();
}

/* Writes `len` bytes of `bytes` as the entry of d, as a torn or foreign file would be. */
static void refill_after(const struct cvm_descriptor *d, const uint8_t *data, size_t len,
                         const void *bytes, size_t n)
{
    write_file(entry_path(d), bytes, n);
    struct cvm_layer_map m;
    CHECK_STR(open_layer(d, len, 0, &m), "(ok)");
    CHECK_INT(m.source, CVM_LAYER_REFILLED);
    check_content(&m, data, len);
    cvm_layer_map_release(&m);
    CHECK_INT(file_size(entry_path(d)), len + 80);
    CHECK_STR(open_layer(d, len, 0, &m), "(ok)");
    CHECK_INT(m.source, CVM_LAYER_HIT);
    cvm_layer_map_release(&m);
    CHECK_INT(count_files("cache", ".tmp-"), 0);
}

static void invalid_entry_replaced(void)
{
    setup();
    size_t len = 70000;
    uint8_t *data = random_bytes(len, 3), *other = random_bytes(len, 4);
    struct cvm_descriptor d, o;
    put_layer(data, len, &d);
    put_layer(other, len, &o);
    struct cvm_layer_map m;
    CHECK_STR(open_layer(&d, len, 0, &m), "(ok)");
    cvm_layer_map_release(&m);
    CHECK_STR(open_layer(&o, len, 0, &m), "(ok)");
    cvm_layer_map_release(&m);
    size_t full = len + 80;
    uint8_t *entry = malloc(full), *foreign = malloc(full);
    CHECK(entry && foreign);
    int fd = open(entry_path(&d), O_RDONLY);
    CHECK(fd >= 0 && read(fd, entry, full) == (ssize_t)full);
    close(fd);
    fd = open(entry_path(&o), O_RDONLY);
    CHECK(fd >= 0 && read(fd, foreign, full) == (ssize_t)full);
    close(fd);

    refill_after(&d, data, len, entry, full - 1); /* truncated by one byte */
    refill_after(&d, data, len, entry, len);      /* the bytes without their trailer */
    refill_after(&d, data, len, entry, 79);       /* shorter than a trailer */
    refill_after(&d, data, len, "", 0);           /* empty */
    refill_after(&d, data, len, foreign, full);   /* another layer's entry */
    uint8_t *longer = malloc(full + 1);
    CHECK(longer != NULL);
    memcpy(longer, entry, len);
    longer[len] = 0;
    memcpy(longer + len + 1, entry + len, 80);
    refill_after(&d, data, len, longer, full + 1); /* a byte inserted: size disagrees */
    entry[len + 20] ^= 1;
    refill_after(&d, data, len, entry, full); /* the trailer's layer digest damaged */
    entry[len + 20] ^= 1;
    entry[len + 8] ^= 1;
    refill_after(&d, data, len, entry, full); /* the trailer's size damaged */
    entry[len + 8] ^= 1;
    entry[len] ^= 1;
    refill_after(&d, data, len, entry, full); /* the magic damaged */
    entry[len] ^= 1;

    /* A symlink at the name is not followed, but replaced. */
    CHECK_INT(unlink(entry_path(&d)), 0);
    CHECK_INT(symlink(entry_path(&o), entry_path(&d)), 0);
    CHECK_STR(open_layer(&d, len, 0, &m), "(ok)");
    CHECK_INT(m.source, CVM_LAYER_REFILLED);
    check_content(&m, data, len);
    cvm_layer_map_release(&m);
    struct stat st;
    CHECK(lstat(entry_path(&d), &st) == 0 && S_ISREG(st.st_mode));
    free(longer);
    free(entry);
    free(foreign);
    free(data);
    free(other);
    teardown();
}

/* Bytes changed in place (same size, trailer intact) are what the O(1) hit check cannot see;
 * CVM_LAYER_CACHE_VERIFY re-hashes and replaces the entry. */
static void tampered_entry(void)
{
    setup();
    size_t len = 70000;
    uint8_t *data = random_bytes(len, 5);
    struct cvm_descriptor d;
    put_layer(data, len, &d);
    struct cvm_layer_map m;
    CHECK_STR(open_layer(&d, len, 0, &m), "(ok)");
    cvm_layer_map_release(&m);
    int fd = open(entry_path(&d), O_WRONLY);
    CHECK(fd >= 0);
    uint8_t flipped = data[1234] ^ 0x40;
    CHECK_INT(pwrite(fd, &flipped, 1, 1234), 1);
    close(fd);
    CHECK_STR(open_layer(&d, len, 0, &m), "(ok)");
    CHECK_INT(m.source, CVM_LAYER_HIT);
    CHECK_INT(m.data[1234], flipped);
    cvm_layer_map_release(&m);
    CHECK_STR(open_layer(&d, len, CVM_LAYER_CACHE_VERIFY, &m), "(ok)");
    CHECK_INT(m.source, CVM_LAYER_REFILLED);
    check_content(&m, data, len);
    cvm_layer_map_release(&m);
    CHECK_STR(open_layer(&d, len, 0, &m), "(ok)");
    CHECK_INT(m.source, CVM_LAYER_HIT);
    check_content(&m, data, len);
    cvm_layer_map_release(&m);
    free(data);
    teardown();
}

static void over_max_refused(void)
{
    setup();
    uint8_t *data = random_bytes(1000, 6);
    struct cvm_descriptor d;
    put_layer(data, 1000, &d);
    struct cvm_layer_map m;
    CHECK_STR(open_layer(&d, 999, 0, &m), "layer 'x': decompresses to more than 999 bytes");
    CHECK(m.base == NULL && m.source == 0);
    CHECK_INT(file_size(entry_path(&d)), -1);
    CHECK_INT(count_files("cache", ".tmp-"), 0);
    /* The same answer from an entry another caller filled with a larger limit. */
    CHECK_STR(open_layer(&d, 1000, 0, &m), "(ok)");
    cvm_layer_map_release(&m);
    CHECK_STR(open_layer(&d, 999, 0, &m), "layer 'x': decompresses to more than 999 bytes");
    CHECK(m.base == NULL);
    /* A compressed layer larger than any frame of max bytes is not even read. */
    struct cvm_descriptor big;
    put_raw(data, 1000, &big);
    CHECK_STR(open_layer(&big, 10, 0, &m), tap_fmt("layer 'x' is 1000 bytes, over the limit of %zu",
                                                   (size_t)ZSTD_COMPRESSBOUND(10)));
    free(data);
    teardown();
}

static void bad_layers_leave_nothing(void)
{
    setup();
    struct cvm_layer_map m;
    struct cvm_descriptor d;
    put_raw("garbage!", 8, &d);
    CHECK_STR(open_layer(&d, 100, 0, &m), "layer 'x': zstd: Unknown frame descriptor");
    CHECK_INT(file_size(entry_path(&d)), -1);

    uint8_t *data = random_bytes(3000, 7);
    struct cvm_buf z;
    cvm_buf_init(&z, 8192);
    CHECK_INT(cvm_zstd_compress(data, 3000, &z, NULL), 0);
    put_raw(z.data, z.len - 10, &d);
    CHECK_STR(open_layer(&d, 3000, 0, &m), "layer 'x': truncated zstd frame");
    CHECK_INT(file_size(entry_path(&d)), -1);
    z.data[z.len - 1] ^= 1; /* the frame's checksum */
    put_raw(z.data, z.len, &d);
    CHECK_STR(open_layer(&d, 3000, 0, &m), "layer 'x': zstd: Restored data doesn't match checksum");
    CHECK_INT(file_size(entry_path(&d)), -1);

    /* The descriptor's size disagrees with the blob. */
    d.size++;
    CHECK_STR(open_layer(&d, 3000, 0, &m),
              tap_fmt("layer 'x' has %zu bytes, its descriptor says %zu", z.len, z.len + 1));
    /* A blob whose content no longer matches its digest. */
    put_layer(data, 3000, &d);
    write_file(blob_path(&d), "garbage!", 8);
    struct cvm_digest g;
    cvm_digest_of("garbage!", 8, &g);
    char want[CVM_DIGEST_STR_SIZE], got[CVM_DIGEST_STR_SIZE];
    CHECK_STR(open_layer(&d, 3000, 0, &m),
              tap_fmt("layer 'x': blob %s in store '%s' is corrupted: its content has digest %s",
                      cvm_digest_format(&d.digest, want), root, cvm_digest_format(&g, got)));
    CHECK_INT(count_files("cache/sha256", ""), 0);
    CHECK_INT(count_files("cache", ".tmp-"), 0);
    CHECK(m.base == NULL && m.source == 0);
    cvm_buf_release(&z);
    free(data);
    teardown();
}

/* A layer whose blob is gone is an error even when its entry is still cached. */
static void missing_blob(void)
{
    setup();
    uint8_t *data = random_bytes(3000, 8);
    struct cvm_descriptor d;
    put_layer(data, 3000, &d);
    char hex[CVM_DIGEST_HEX_LEN + 1];
    cvm_digest_hex(&d.digest, hex);
    struct cvm_layer_map m;
    CHECK_STR(open_layer(&d, 3000, 0, &m), "(ok)");
    cvm_layer_map_release(&m);
    CHECK_INT(unlink(blob_path(&d)), 0);
    CHECK_STR(open_layer(&d, 3000, 0, &m),
              tap_fmt("layer 'x': blob sha256:%s is missing from store '%s'", hex, root));
    CHECK(m.base == NULL);
    free(data);
    teardown();
}

/* A cache folder that cannot hold entries is an error naming it; nothing is left behind. */
static void broken_cache_folder(void)
{
    setup();
    uint8_t *data = random_bytes(3000, 13);
    struct cvm_descriptor d;
    put_layer(data, 3000, &d);
    char hex[CVM_DIGEST_HEX_LEN + 1];
    cvm_digest_hex(&d.digest, hex);
    CHECK_INT(mkdir(tap_fmt("%s/cache", root), 0755), 0);
    write_file(tap_fmt("%s/cache/sha256", root), "x", 1);
    struct cvm_layer_map m;
    CHECK_STR(open_layer(&d, 3000, 0, &m),
              tap_fmt("layer 'x': cannot open its cache entry '%s/cache/sha256/%s': Not a "
                      "directory",
                      root, hex));
    CHECK(m.base == NULL);
    /* A directory at the entry's name: it cannot be replaced. */
    CHECK_INT(unlink(tap_fmt("%s/cache/sha256", root)), 0);
    CHECK_INT(mkdir(tap_fmt("%s/cache/sha256", root), 0755), 0);
    CHECK_INT(mkdir(entry_path(&d), 0755), 0);
    CHECK_STR(open_layer(&d, 3000, 0, &m),
              tap_fmt("layer 'x': cannot rename its cache entry '%s/cache/sha256/%s': Is a "
                      "directory",
                      root, hex));
    CHECK(m.base == NULL);
    CHECK_INT(count_files("cache", ".tmp-"), 0);
    free(data);
    teardown();
}

/* A store without room for the entry (here a file size limit) still yields the bytes. */
static void no_room_uncached(void)
{
    setup();
    size_t len = 1u << 20;
    uint8_t *data = random_bytes(len, 9);
    struct cvm_descriptor d;
    put_layer(data, len, &d);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {.rlim_cur = 65536, .rlim_max = RLIM_INFINITY};
    CHECK_INT(setrlimit(RLIMIT_FSIZE, &rl), 0);
    struct cvm_layer_map m;
    CHECK_STR(open_layer(&d, len, 0, &m), "(ok)");
    CHECK_INT(m.source, CVM_LAYER_UNCACHED);
    check_content(&m, data, len);
    cvm_layer_map_release(&m);
    CHECK_INT(file_size(entry_path(&d)), -1);
    CHECK_INT(count_files("cache", ".tmp-"), 0);
    free(data);
    teardown();
}

struct racer {
    const struct cvm_descriptor *d;
    const uint8_t *data;
    size_t len;
    pthread_barrier_t *start;
    int ok;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->start);
    for (int i = 0; i < 4; i++) {
        struct cvm_layer_map m = {0};
        if (cvm_layer_cache_open(store, r->d, r->len, "layer 'x'", 0, &m, NULL) < 0)
            return NULL;
        bool same = m.len == r->len && memcmp(m.data, r->data, r->len) == 0;
        cvm_layer_map_release(&m);
        if (!same)
            return NULL;
        /* Drop the entry so the next round races to fill it again. */
        unlink(entry_path(r->d));
    }
    r->ok = 1;
    return NULL;
}

static void concurrent_fill(void)
{
    setup();
    size_t len = 4u << 20;
    uint8_t *data = random_bytes(len, 10);
    struct cvm_descriptor d;
    put_layer(data, len, &d);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    struct racer r[2] = {{&d, data, len, &start, 0}, {&d, data, len, &start, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        CHECK_INT(pthread_create(&t[i], NULL, race, &r[i]), 0);
    for (int i = 0; i < 2; i++)
        CHECK_INT(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&start);
    CHECK(r[0].ok && r[1].ok);

    /* Processes, each with its own store handle, filling the same entry at once. */
    pid_t pids[4];
    for (int i = 0; i < 4; i++) {
        pids[i] = fork();
        CHECK(pids[i] >= 0);
        if (pids[i] == 0) {
            struct cvm_store *s = NULL;
            struct cvm_layer_map m = {0};
            int bad = cvm_store_open(root, 0, &s, NULL) < 0 ||
                      cvm_layer_cache_open(s, &d, len, "layer 'x'", 0, &m, NULL) < 0 ||
                      m.len != len || memcmp(m.data, data, len) != 0;
            cvm_layer_map_release(&m);
            cvm_store_free(s);
            _exit(bad);
        }
    }
    for (int i = 0; i < 4; i++) {
        int status = -1;
        CHECK_INT(waitpid(pids[i], &status, 0), pids[i]);
        CHECK_INT(status, 0);
    }
    struct cvm_layer_map m;
    CHECK_STR(open_layer(&d, len, CVM_LAYER_CACHE_VERIFY, &m), "(ok)");
    CHECK_INT(m.source, CVM_LAYER_HIT);
    check_content(&m, data, len);
    cvm_layer_map_release(&m);
    CHECK_INT(count_files("cache/sha256", ""), 1);
    CHECK_INT(count_files("cache", ".tmp-"), 0);
    free(data);
    teardown();
}

/* gc deletes entries whose layer blob is gone and every .tmp-*; it counts only blobs. */
static void gc_collects_entries(void)
{
    setup();
    uint8_t *a = random_bytes(3000, 11), *b = random_bytes(4000, 12);
    struct cvm_descriptor da, db;
    put_layer(a, 3000, &da);
    put_layer(b, 4000, &db);
    struct cvm_layer_map m;
    CHECK_STR(open_layer(&da, 3000, 0, &m), "(ok)");
    cvm_layer_map_release(&m);
    CHECK_STR(open_layer(&db, 4000, 0, &m), "(ok)");
    cvm_layer_map_release(&m);
    write_file(tap_fmt("%s/cache/.tmp-1-0-0123456789abcdef", root), "x", 1);
    write_file(tap_fmt("%s/cache/README", root), "x", 1);
    write_file(tap_fmt("%s/cache/sha256/not-a-digest", root), "x", 1);
    /* Keep layer a alive: name a manifest that lists it. */
    char dg[CVM_DIGEST_STR_SIZE], cfg[CVM_DIGEST_STR_SIZE];
    struct cvm_digest c, man;
    CHECK_INT(cvm_store_put_blob(store, "{}", 2, &c, NULL), 0);
    const char *json =
        tap_fmt("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":"
                "\"%s\",\"digest\":\"%s\",\"size\":2},\"layers\":[{\"mediaType\":"
                "\"%s\",\"digest\":\"%s\",\"size\":%llu}]}",
                CVM_MEDIA_OCI_MANIFEST, CVM_MEDIA_CONFIG, cvm_digest_format(&c, cfg),
                CVM_MEDIA_RUNTIME, cvm_digest_format(&da.digest, dg), (unsigned long long)da.size);
    CHECK_INT(cvm_store_put_blob(store, json, strlen(json), &man, NULL), 0);
    struct cvm_descriptor target = {
        .media_type = (char *)CVM_MEDIA_OCI_MANIFEST, .digest = man, .size = strlen(json)};
    CHECK_INT(cvm_store_tag(store, "localhost/a:latest", &target, NULL), 0);
    cvm_store_free(store);
    CHECK_INT(cvm_store_open(root, CVM_STORE_EXCLUSIVE, &store, NULL), 0);
    uint64_t blobs = 0, bytes = 0;
    struct cvm_error *err = NULL;
    CHECK_INT(cvm_store_gc(store, &blobs, &bytes, &err), 0);
    CHECK_STR(tap_take_error(&err), "(ok)");
    CHECK_INT(blobs, 1); /* layer b's blob */
    CHECK_INT(bytes, db.size);
    CHECK_INT(file_size(entry_path(&da)), 3080);
    CHECK_INT(file_size(entry_path(&db)), -1);
    CHECK_INT(count_files("cache", ".tmp-"), 0);
    CHECK_INT(file_size(tap_fmt("%s/cache/README", root)), 1);
    CHECK_INT(file_size(tap_fmt("%s/cache/sha256/not-a-digest", root)), 1);
    CHECK_STR(open_layer(&da, 3000, 0, &m), "(ok)");
    CHECK_INT(m.source, CVM_LAYER_HIT);
    cvm_layer_map_release(&m);
    /* A store that never had a cache folder collects as before. */
    CHECK_INT(system(tap_fmt("rm -rf '%s/cache'", root)), 0);
    CHECK_INT(cvm_store_gc(store, &blobs, &bytes, &err), 0);
    CHECK_STR(tap_take_error(&err), "(ok)");
    CHECK_INT(blobs, 0);
    free(a);
    free(b);
    teardown();
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(miss_then_hit),
        TAP_TEST(empty_layer),
        TAP_TEST(leftover_tmp_ignored),
        TAP_TEST(invalid_entry_replaced),
        TAP_TEST(tampered_entry),
        TAP_TEST(over_max_refused),
        TAP_TEST(bad_layers_leave_nothing),
        TAP_TEST(missing_blob),
        TAP_TEST(broken_cache_folder),
        TAP_TEST(no_room_uncached),
        TAP_TEST(concurrent_fill),
        TAP_TEST(gc_collects_entries),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
