/* SHA-256 digests: parsing, formatting, one-shot and streaming hashing. */
#include <string.h>

#include "base.h"
#include "digest.h"

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
    /* Digests come from manifests, headers and payloads: shown escaped. */
    char show[CVM_SHOWN_SIZE(80)];
    if (strncmp(s, "sha256:", 7) != 0) {
        const char *colon = strchr(s, ':');
        if (colon && colon != s && colon - s <= 32) {
            char algo[33];
            memcpy(algo, s, (size_t)(colon - s));
            algo[colon - s] = '\0';
            char show_algo[CVM_SHOWN_SIZE(32)];
            return cvm_error_set(err, CVM_E_UNSUPPORTED,
                                 "digest '%s': unsupported algorithm '%s' (only sha256)",
                                 cvm_shown(s, 80, show), cvm_shown(algo, 32, show_algo));
        }
        return cvm_error_set(err, CVM_E_FORMAT, "digest '%s': expected 'sha256:<64 hex digits>'",
                             cvm_shown(s, 80, show));
    }
    if (cvm_digest_parse_hex(s + 7, ret) < 0)
        return cvm_error_set(err, CVM_E_FORMAT,
                             "digest '%s': expected 64 lowercase hex digits after 'sha256:'",
                             cvm_shown(s, 80, show));
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

void cvm_hasher_final(struct cvm_hasher *h, struct cvm_digest *ret)
{
    cvm_hasher_final_bytes(h, ret->bytes);
}

void cvm_digest_of(const void *data, size_t len, struct cvm_digest *ret)
{
    cvm_sha256(data, len, ret->bytes);
}
