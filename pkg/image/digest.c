/* SHA-256 digests through libcrypto's EVP interface (which uses the CPU's SHA extensions). */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "digest.h"

/* 1 MiB reads measured fastest for read + hash here (bench/bench-image.sh). */
#define DIGEST_READ_CHUNK (1u << 20)

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int cvm_digest_parse_hex(const char *hex, struct cvm_digest *ret)
{
    struct cvm_digest d;
    for (size_t i = 0; i < CVM_DIGEST_LEN; i++) {
        int hi = hexval(hex[2 * i]);
        int lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);
        if (lo < 0)
            return -1;
        d.bytes[i] = (uint8_t)(hi << 4 | lo);
    }
    if (hex[CVM_DIGEST_HEX_LEN] != '\0')
        return -1;
    *ret = d;
    return 0;
}

int cvm_digest_parse(const char *s, struct cvm_digest *ret, struct cvm_error **err)
{
    if (strncmp(s, "sha256:", 7) != 0) {
        const char *colon = strchr(s, ':');
        if (colon && colon != s)
            return cvm_error_set(err, CVM_E_UNSUPPORTED,
                                 "digest '%.80s': unsupported algorithm '%.*s' (only sha256)", s,
                                 (int)(colon - s) > 32 ? 32 : (int)(colon - s), s);
        return cvm_error_set(err, CVM_E_FORMAT, "digest '%.80s': expected 'sha256:<64 hex digits>'",
                             s);
    }
    if (cvm_digest_parse_hex(s + 7, ret) < 0)
        return cvm_error_set(err, CVM_E_FORMAT,
                             "digest '%.80s': expected 64 lowercase hex digits after 'sha256:'", s);
    return 0;
}

char *cvm_digest_hex(const struct cvm_digest *d, char out[CVM_DIGEST_HEX_LEN + 1])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < CVM_DIGEST_LEN; i++) {
        out[2 * i] = digits[d->bytes[i] >> 4];
        out[2 * i + 1] = digits[d->bytes[i] & 15];
    }
    out[CVM_DIGEST_HEX_LEN] = '\0';
    return out;
}

char *cvm_digest_format(const struct cvm_digest *d, char out[CVM_DIGEST_STR_SIZE])
{
    memcpy(out, "sha256:", 7);
    cvm_digest_hex(d, out + 7);
    return out;
}

int cvm_digest_equal(const struct cvm_digest *a, const struct cvm_digest *b)
{
    return memcmp(a->bytes, b->bytes, CVM_DIGEST_LEN) == 0;
}

struct cvm_hasher {
    EVP_MD_CTX *ctx;
};

static const EVP_MD *sha256_md(void)
{
    /* Fetched once: implicit fetches by name cost a lock and a lookup per digest. */
    static EVP_MD *md;
    EVP_MD *m = __atomic_load_n(&md, __ATOMIC_ACQUIRE);
    if (!m) {
        m = EVP_MD_fetch(NULL, "SHA256", NULL);
        EVP_MD *expected = NULL;
        if (m && !__atomic_compare_exchange_n(&md, &expected, m, 0, __ATOMIC_ACQ_REL,
                                              __ATOMIC_ACQUIRE)) {
            EVP_MD_free(m);
            m = expected;
        }
    }
    return m;
}

struct cvm_hasher *cvm_hasher_new(void)
{
    struct cvm_hasher *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || !sha256_md() || !EVP_DigestInit_ex(h->ctx, sha256_md(), NULL)) {
        cvm_hasher_free(h);
        return NULL;
    }
    return h;
}

void cvm_hasher_update(struct cvm_hasher *h, const void *data, size_t len)
{
    EVP_DigestUpdate(h->ctx, data, len);
}

void cvm_hasher_final(struct cvm_hasher *h, struct cvm_digest *ret)
{
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, ret->bytes, &n);
    EVP_DigestInit_ex(h->ctx, sha256_md(), NULL);
}

void cvm_hasher_free(struct cvm_hasher *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void cvm_digest_of(const void *data, size_t len, struct cvm_digest *ret)
{
    unsigned int n = 0;
    EVP_Digest(data, len, ret->bytes, &n, sha256_md(), NULL);
}

CVM_DEFINE_CLEANUP(struct cvm_hasher *, cvm_hasher_free)

int cvm_digest_fd(int fd, struct cvm_digest *ret, uint64_t *ret_size, struct cvm_error **err)
{
    CVM_AUTO(cvm_hasher_free) struct cvm_hasher *h = cvm_hasher_new();
    CVM_AUTOFREE uint8_t *chunk = malloc(DIGEST_READ_CHUNK);
    if (!h || !chunk)
        return cvm_error_set_errno(err, ENOMEM, "cannot hash");
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, DIGEST_READ_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return cvm_error_set_errno(err, errno, "cannot read");
        if (n == 0)
            break;
        cvm_hasher_update(h, chunk, (size_t)n);
        total += (uint64_t)n;
    }
    cvm_hasher_final(h, ret);
    if (ret_size)
        *ret_size = total;
    return 0;
}
