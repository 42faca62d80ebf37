/* cosign-compatible key files, simple signing payloads and ECDSA P-256 signatures, through
 * libcrypto's EVP and decoder interfaces. Keys are checked for algorithm and curve on load, so
 * signing and verifying never meet a key cosign would not accept. */
/* libcrypto is opened on first use (crypto-lib.h): every call goes through its sym_ pointers,
 * and every entry point that needs it loads it first. The fast P-256 verify path below uses
 * libcrypto's low-level EC functions. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "crypto-lib.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "sign.h"

struct cvm_signing_key {
    EVP_PKEY *pkey;
    char fingerprint[CVM_SIGN_FINGERPRINT_SIZE];
};

/* A P-256 SubjectPublicKeyInfo in DER: a 26-byte prefix and the 65-byte uncompressed point. */
#define P256_SPKI_LEN 91

struct cvm_verify_key {
    EVP_PKEY *pkey;              /* a key libcrypto decoded, or NULL for an spki key */
    uint8_t spki[P256_SPKI_LEN]; /* a P-256 key read without libcrypto (p256_spki_key) */
    char *display;               /* where the spki key came from, for its errors */
    struct cvm_digest id;        /* SHA-256 of the DER SubjectPublicKeyInfo */
    char fingerprint[CVM_SIGN_FINGERPRINT_SIZE];
};

/* Untrusted strings in messages (cvm_shown): a key's PEM label, a payload's fields. */
#define SHOWN_MAX 64
#define SHOWN_SIZE CVM_SHOWN_SIZE(SHOWN_MAX)
static const char *shown(const char *s, char out[SHOWN_SIZE])
{
    return cvm_shown(s, SHOWN_MAX, out);
}

/* ---- base64 ------------------------------------------------------------------------------ */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *cvm_sign_base64_encode(const void *data, size_t len)
{
    const uint8_t *p = data;
    if (len > (SIZE_MAX - 1) / 4 * 3 - 3)
        return NULL;
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        out[o++] = b64_alphabet[v >> 18 & 63];
        out[o++] = b64_alphabet[v >> 12 & 63];
        out[o++] = i + 1 < len ? b64_alphabet[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? b64_alphabet[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int cvm_sign_base64_decode(const char *b64, size_t len, const char *what, struct cvm_buf *out,
                           struct cvm_error **err)
{
    if (len % 4 != 0)
        return cvm_error_set(err, CVM_E_FORMAT, "%s is not valid base64", what);
    CVM_AUTOFREE uint8_t *bytes = malloc(len / 4 * 3 + 1);
    if (!bytes)
        return cvm_error_set_errno(err, ENOMEM, "cannot decode %s", what);
    size_t n = 0;
    for (size_t i = 0; i < len; i += 4) {
        bool last = i + 4 == len;
        /* '=' only at the end: "xx==" or "xxx="; the bits it drops must be zero (canonical). */
        int pad = last && b64[i + 3] == '=' ? (b64[i + 2] == '=' ? 2 : 1) : 0;
        uint32_t v = 0;
        for (int j = 0; j < 4; j++) {
            int c = j >= 4 - pad ? 0 : b64_value(b64[i + (size_t)j]);
            if (c < 0)
                return cvm_error_set(err, CVM_E_FORMAT, "%s is not valid base64", what);
            v = v << 6 | (uint32_t)c;
        }
        if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff)))
            return cvm_error_set(err, CVM_E_FORMAT, "%s is not valid base64", what);
        bytes[n++] = (uint8_t)(v >> 16);
        if (pad < 2)
            bytes[n++] = (uint8_t)(v >> 8);
        if (pad < 1)
            bytes[n++] = (uint8_t)v;
    }
    return cvm_buf_append(out, bytes, n, err);
}

/* ---- keys -------------------------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* How each PEM label's DER is decoded: the decoder's structure name and key type. */
static int pem_structure(const char *label, const char **ret_structure, const char **ret_type)
{
    static const struct {
        const char *label, *structure, *type;
    } map[] = {
        {"PRIVATE KEY", "PrivateKeyInfo", NULL},    {"PUBLIC KEY", "SubjectPublicKeyInfo", NULL},
        {"EC PRIVATE KEY", "type-specific", "EC"},  {"RSA PRIVATE KEY", "type-specific", "RSA"},
        {"RSA PUBLIC KEY", "type-specific", "RSA"}, {"DSA PRIVATE KEY", "type-specific", "DSA"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(label, map[i].label) == 0) {
            *ret_structure = map[i].structure;
            *ret_type = map[i].type;
            return 0;
        }
    return -1;
}

/* Rejects every key but ECDSA P-256, naming what was found. */
static int check_p256(EVP_PKEY *pkey, const char *display, struct cvm_error **err)
{
    if (!sym_EVP_PKEY_is_a(pkey, "EC")) {
        const char *type = sym_EVP_PKEY_get0_type_name(pkey);
        return cvm_error_set(err, CVM_E_UNSUPPORTED,
                             "key '%s': unsupported key type %s (cosign keys are ECDSA P-256)",
                             display, type ? type : "(unknown)");
    }
    char group[80] = "";
    size_t glen = 0;
    if (!sym_EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                            &glen))
        snprintf(group, sizeof(group), "(explicit parameters)");
    if (strcmp(group, "prime256v1") != 0)
        return cvm_error_set(err, CVM_E_UNSUPPORTED,
                             "key '%s': unsupported key type EC %s (cosign keys are ECDSA P-256)",
                             display, group);
    return 0;
}

static int key_fingerprint(EVP_PKEY *pkey, const char *display, struct cvm_digest *ret_id,
                           char out[CVM_SIGN_FINGERPRINT_SIZE], struct cvm_error **err)
{
    unsigned char *der = NULL;
    int n = sym_i2d_PUBKEY(pkey, &der);
    if (n <= 0)
        return cvm_error_set(err, CVM_E_FORMAT, "key '%s': cannot encode the public key", display);
    struct cvm_digest d;
    cvm_digest_of(der, (size_t)n, &d);
    sym_OPENSSL_free(der);
    cvm_digest_format(&d, out);
    if (ret_id)
        *ret_id = d;
    return 0;
}

/* The first PEM block's label, headers and DER (skipping "EC PARAMETERS", which `openssl
 * ecparam -genkey` writes before the key). Returns 0, or -1 when there is no PEM block. */
static int pem_first_block(const void *pem, size_t len, char **ret_label, char **ret_header,
                           unsigned char **ret_der, long *ret_der_len)
{
    BIO *bio = sym_BIO_new_mem_buf(pem, (int)len);
    if (!bio)
        return -1;
    for (;;) {
        char *label = NULL, *header = NULL;
        unsigned char *der = NULL;
        long der_len = 0;
        if (sym_PEM_read_bio(bio, &label, &header, &der, &der_len) != 1) {
            sym_BIO_free(bio);
            return -1;
        }
        if (strcmp(label, "EC PARAMETERS") == 0) {
            sym_OPENSSL_free(label);
            sym_OPENSSL_free(header);
            sym_OPENSSL_free(der);
            continue;
        }
        sym_BIO_free(bio);
        *ret_label = label;
        *ret_header = header;
        *ret_der = der;
        *ret_der_len = der_len;
        return 0;
    }
}

static int key_decode(const char *label, const char *header, const unsigned char *der, long der_len,
                      const char *display, bool want_private, EVP_PKEY **ret,
                      struct cvm_error **err)
{
    char show[SHOWN_SIZE];
    bool is_private = ends_with(label, "PRIVATE KEY");
    bool is_public = ends_with(label, "PUBLIC KEY");
    if (!is_private && !is_public)
        return cvm_error_set(err, CVM_E_FORMAT,
                             "key '%s': unexpected PEM block '%s' (expected '%s')", display,
                             shown(label, show), want_private ? "PRIVATE KEY" : "PUBLIC KEY");
    if (is_private && !want_private)
        return cvm_error_set(err, CVM_E_USAGE,
                             "key '%s': expected a public key, found a private key", display);
    if (is_public && want_private)
        return cvm_error_set(err, CVM_E_USAGE,
                             "key '%s': expected a private key, found a public key", display);
    if (strstr(label, "ENCRYPTED") || (header && strstr(header, "ENCRYPTED")))
        return cvm_error_set(err, CVM_E_UNSUPPORTED, "key '%s': encrypted keys are not supported",
                             display);
    const char *structure = NULL, *type = NULL;
    if (pem_structure(label, &structure, &type) < 0)
        return cvm_error_set(err, CVM_E_UNSUPPORTED,
                             "key '%s': unsupported PEM block '%s' (cosign keys are ECDSA P-256)",
                             display, shown(label, show));

    EVP_PKEY *pkey = NULL;
    int selection = want_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
    OSSL_DECODER_CTX *dctx =
        sym_OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", structure, type, selection, NULL, NULL);
    const unsigned char *p = der;
    size_t left = (size_t)der_len;
    int ok = dctx && sym_OSSL_DECODER_from_data(dctx, &p, &left) == 1 && pkey && left == 0;
    sym_OSSL_DECODER_CTX_free(dctx);
    if (!ok) {
        sym_EVP_PKEY_free(pkey);
        return cvm_error_set(err, CVM_E_FORMAT, "key '%s': cannot decode the '%s' PEM block",
                             display, label);
    }
    int r = check_p256(pkey, display, err);
    if (r < 0) {
        sym_EVP_PKEY_free(pkey);
        return r;
    }
    *ret = pkey;
    return 0;
}

/* Decodes one PEM key of the wanted role; errors leave libcrypto's error queue as it was. */
static int key_from_pem(const void *pem, size_t len, const char *display, bool want_private,
                        EVP_PKEY **ret, struct cvm_error **err)
{
    if (len == 0)
        return cvm_error_set(err, CVM_E_FORMAT, "key '%s': empty", display);
    if (len > CVM_SIGN_KEY_FILE_MAX)
        return cvm_error_set(err, CVM_E_LIMIT, "key '%s': %zu bytes, over the limit of %d", display,
                             len, CVM_SIGN_KEY_FILE_MAX);
    sym_ERR_set_mark();
    char *label = NULL, *header = NULL;
    unsigned char *der = NULL;
    long der_len = 0;
    int r;
    if (pem_first_block(pem, len, &label, &header, &der, &der_len) < 0)
        r = cvm_error_set(err, CVM_E_FORMAT, "key '%s': not a PEM file", display);
    else
        r = key_decode(label, header, der, der_len, display, want_private, ret, err);
    sym_OPENSSL_free(label);
    sym_OPENSSL_free(header);
    if (der)
        sym_OPENSSL_clear_free(der, (size_t)der_len);
    sym_ERR_pop_to_mark();
    return r;
}

static int key_file_read(const char *path, struct cvm_buf *b, struct cvm_error **err)
{
    cvm_buf_init(b, CVM_SIGN_KEY_FILE_MAX);
    int r = cvm_buf_read_file(b, AT_FDCWD, path, err);
    if (r == -CVM_E_LIMIT)
        return cvm_error_set(err, CVM_E_LIMIT, "key '%s': over the limit of %d bytes", path,
                             CVM_SIGN_KEY_FILE_MAX);
    return r;
}

static void key_file_release(struct cvm_buf *b)
{
    if (b->data)
        explicit_bzero(b->data, b->len);
    cvm_buf_release(b);
}

static int key_file_load(const char *path, bool want_private, EVP_PKEY **ret,
                         struct cvm_error **err)
{
    struct cvm_buf b;
    int r = key_file_read(path, &b, err);
    if (r == 0)
        r = key_from_pem(b.data, b.len, path, want_private, ret, err);
    key_file_release(&b);
    return r;
}

int cvm_signing_key_load(const char *path, struct cvm_signing_key **ret, struct cvm_error **err)
{
    int r = cvm_crypto_lib_load(err);
    if (r < 0)
        return r;
    EVP_PKEY *pkey = NULL;
    r = key_file_load(path, true, &pkey, err);
    if (r < 0)
        return r;
    struct cvm_signing_key *k = calloc(1, sizeof(*k));
    if (!k) {
        sym_EVP_PKEY_free(pkey);
        return cvm_error_set_errno(err, ENOMEM, "cannot load key '%s'", path);
    }
    k->pkey = pkey;
    r = key_fingerprint(pkey, path, NULL, k->fingerprint, err);
    if (r < 0) {
        cvm_signing_key_free(k);
        return r;
    }
    *ret = k;
    return 0;
}

void cvm_signing_key_free(struct cvm_signing_key *k)
{
    if (!k)
        return;
    /* A key exists only once libcrypto is loaded. */
    sym_EVP_PKEY_free(k->pkey);
    free(k);
}

char *cvm_signing_key_fingerprint(const struct cvm_signing_key *k,
                                  char out[CVM_SIGN_FINGERPRINT_SIZE])
{
    memcpy(out, k->fingerprint, CVM_SIGN_FINGERPRINT_SIZE);
    return out;
}

static int verify_key_new(EVP_PKEY *pkey, const char *display, struct cvm_verify_key **ret,
                          struct cvm_error **err)
{
    struct cvm_verify_key *k = calloc(1, sizeof(*k));
    if (!k) {
        sym_EVP_PKEY_free(pkey);
        return cvm_error_set_errno(err, ENOMEM, "cannot load key '%s'", display);
    }
    k->pkey = pkey;
    int r = key_fingerprint(pkey, display, &k->id, k->fingerprint, err);
    if (r < 0) {
        cvm_verify_key_free(k);
        return r;
    }
    *ret = k;
    return 0;
}

/* Every P-256 public key in its usual SubjectPublicKeyInfo form (uncompressed point) is these
 * 26 bytes of DER (SEQUENCE, id-ecPublicKey, prime256v1, BIT STRING) and the 65-byte point. */
static const unsigned char p256_spki_prefix[26] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
};

#define PEM_PUBLIC_BEGIN "-----BEGIN PUBLIC KEY-----"
#define PEM_PUBLIC_END "-----END PUBLIC KEY-----"

/* The line starting at *p (without its "\n" or "\r\n"); advances *p past it. */
static const char *pem_line(const char **p, const char *end, size_t *ret_len)
{
    const char *line = *p;
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    const char *stop = nl ? nl : end;
    *p = nl ? nl + 1 : end;
    if (stop > line && stop[-1] == '\r')
        stop--;
    *ret_len = (size_t)(stop - line);
    return line;
}

/*
 * The common case, a cosign public key, read without libcrypto: a file that is exactly one
 * "PUBLIC KEY" PEM block (trailing whitespace allowed) holding a P-256 SubjectPublicKeyInfo.
 * Opening libcrypto costs a process ~3 ms here, and a signature this store has verified before
 * (verify-memo.h) needs no libcrypto at all. Anything else returns NULL and goes the way of
 * libcrypto's PEM reader, which also reads this form to the same DER. Whether the point is on
 * the curve is checked where the key is first used to verify.
 */
static struct cvm_verify_key *p256_spki_key(const void *pem, size_t len, const char *display)
{
    const char *p = pem, *end = p + len;
    size_t n = 0;
    const char *line = pem_line(&p, end, &n);
    if (n != strlen(PEM_PUBLIC_BEGIN) || memcmp(line, PEM_PUBLIC_BEGIN, n) != 0)
        return NULL;
    char b64[4 * P256_SPKI_LEN / 3 + 4];
    size_t b64_len = 0;
    for (;;) {
        if (p == end)
            return NULL;
        line = pem_line(&p, end, &n);
        if (n == strlen(PEM_PUBLIC_END) && memcmp(line, PEM_PUBLIC_END, n) == 0)
            break;
        if (n == 0 || n > sizeof(b64) - b64_len)
            return NULL;
        memcpy(b64 + b64_len, line, n);
        b64_len += n;
    }
    for (; p < end; p++)
        if (!strchr(" \t\r\n", *p))
            return NULL;
    struct cvm_buf der;
    cvm_buf_init(&der, P256_SPKI_LEN + 3);
    struct cvm_verify_key *k = NULL;
    if (cvm_sign_base64_decode(b64, b64_len, "key", &der, NULL) == 0 && der.len == P256_SPKI_LEN &&
        memcmp(der.data, p256_spki_prefix, sizeof(p256_spki_prefix)) == 0 &&
        (k = calloc(1, sizeof(*k)))) {
        memcpy(k->spki, der.data, P256_SPKI_LEN);
        cvm_digest_of(k->spki, P256_SPKI_LEN, &k->id);
        cvm_digest_format(&k->id, k->fingerprint);
        if (!(k->display = strdup(display))) {
            free(k);
            k = NULL;
        }
    }
    cvm_buf_release(&der);
    return k;
}

int cvm_verify_key_load(const char *path, struct cvm_verify_key **ret, struct cvm_error **err)
{
    struct cvm_buf b;
    int r = key_file_read(path, &b, err);
    if (r < 0)
        return r;
    r = cvm_verify_key_from_pem(b.data, b.len, path, ret, err);
    key_file_release(&b);
    return r;
}

int cvm_verify_key_from_pem(const void *pem, size_t len, const char *display,
                            struct cvm_verify_key **ret, struct cvm_error **err)
{
    /* Empty or oversized input takes libcrypto's path, which says which. */
    struct cvm_verify_key *k =
        len > 0 && len <= CVM_SIGN_KEY_FILE_MAX ? p256_spki_key(pem, len, display) : NULL;
    if (k) {
        *ret = k;
        return 0;
    }
    int r = cvm_crypto_lib_load(err);
    if (r < 0)
        return r;
    EVP_PKEY *pkey = NULL;
    r = key_from_pem(pem, len, display, false, &pkey, err);
    if (r < 0)
        return r;
    return verify_key_new(pkey, display, ret, err);
}

void cvm_verify_key_free(struct cvm_verify_key *k)
{
    if (!k)
        return;
    if (k->pkey) /* a decoded key exists only once libcrypto is loaded */
        sym_EVP_PKEY_free(k->pkey);
    free(k->display);
    free(k);
}

const struct cvm_digest *cvm_verify_key_id(const struct cvm_verify_key *k)
{
    return &k->id;
}

char *cvm_verify_key_fingerprint(const struct cvm_verify_key *k,
                                 char out[CVM_SIGN_FINGERPRINT_SIZE])
{
    memcpy(out, k->fingerprint, CVM_SIGN_FINGERPRINT_SIZE);
    return out;
}

/* ---- key generation ---------------------------------------------------------------------- */

/* Creates path exclusively and writes data; a failure removes the file again. */
static int write_new_file(const char *path, mode_t mode, const void *data, size_t len,
                          struct cvm_error **err)
{
    CVM_AUTOCLOSE int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 && errno == EEXIST)
        return cvm_error_set(err, CVM_E_CONFLICT, "key '%s' already exists (not overwriting it)",
                             path);
    if (fd < 0)
        return cvm_error_set_errno(err, errno, "cannot create '%s'", path);
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            unlink(path);
            return cvm_error_set_errno(err, e, "cannot write '%s'", path);
        }
        p += n;
        len -= (size_t)n;
    }
    if (fsync(fd) < 0 || close(cvm_steal_fd(&fd)) < 0) {
        int e = errno;
        unlink(path);
        return cvm_error_set_errno(err, e, "cannot write '%s'", path);
    }
    return 0;
}

/* Makes the new directory entries durable; best effort, the files themselves are synced. */
static void sync_parent(const char *path)
{
    CVM_AUTOFREE char *dir = cvm_path_dirname(path);
    if (!dir)
        return;
    CVM_AUTOCLOSE int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
        fsync(fd);
}

static int pem_encode(EVP_PKEY *pkey, bool private_part, BIO **ret, struct cvm_error **err)
{
    /* Secure memory: the buffer is cleared when the BIO is freed. */
    BIO *bio = sym_BIO_new(private_part ? sym_BIO_s_secmem() : sym_BIO_s_mem());
    int ok =
        bio && (private_part ? sym_PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)
                             : sym_PEM_write_bio_PUBKEY(bio, pkey));
    if (!ok) {
        sym_BIO_free(bio);
        return cvm_error_set(err, CVM_E_SYSTEM, "cannot encode the new key as PEM");
    }
    *ret = bio;
    return 0;
}

static int key_generate_files(const char *key_path, const char *pub_path, struct cvm_error **err)
{
    EVP_PKEY *pkey = sym_EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    if (!pkey)
        return cvm_error_set(err, CVM_E_SYSTEM, "cannot generate an ECDSA P-256 key");
    BIO *priv = NULL, *pub = NULL;
    int r = pem_encode(pkey, true, &priv, err);
    if (r == 0)
        r = pem_encode(pkey, false, &pub, err);
    sym_EVP_PKEY_free(pkey);
    if (r == 0) {
        char *data = NULL;
        long n = sym_BIO_get_mem_data(priv, &data);
        r = write_new_file(key_path, 0600, data, (size_t)n, err);
    }
    if (r == 0) {
        char *data = NULL;
        long n = sym_BIO_get_mem_data(pub, &data);
        r = write_new_file(pub_path, 0644, data, (size_t)n, err);
        if (r < 0)
            unlink(key_path);
    }
    sym_BIO_free(priv);
    sym_BIO_free(pub);
    return r;
}

int cvm_key_generate(const char *prefix, struct cvm_error **err)
{
    int r = cvm_crypto_lib_load(err);
    if (r < 0)
        return r;
    CVM_AUTOFREE char *key_path = NULL;
    CVM_AUTOFREE char *pub_path = NULL;
    if (asprintf(&key_path, "%s.key", prefix) < 0 || asprintf(&pub_path, "%s.pub", prefix) < 0)
        return cvm_error_set_errno(err, ENOMEM, "cannot generate key '%s'", prefix);
    /* Check both first so that an existing .pub does not cost a fresh .key a round trip; the
     * O_EXCL creations below still decide. */
    const char *paths[] = {key_path, pub_path};
    for (size_t i = 0; i < 2; i++) {
        struct stat st;
        if (lstat(paths[i], &st) == 0)
            return cvm_error_set(err, CVM_E_CONFLICT,
                                 "key '%s' already exists (not overwriting it)", paths[i]);
        if (errno != ENOENT)
            return cvm_error_set_errno(err, errno, "cannot create '%s'", paths[i]);
    }
    sym_ERR_set_mark();
    r = key_generate_files(key_path, pub_path, err);
    sym_ERR_pop_to_mark();
    if (r == 0)
        sync_parent(key_path);
    return r;
}

/* ---- payloads ---------------------------------------------------------------------------- */

/* Length of the UTF-8 sequence at s and its code point, or 0 when invalid (overlong forms,
 * surrogates and values past U+10FFFF are invalid). */
static size_t utf8_decode(const unsigned char *s, uint32_t *ret_cp)
{
    if (s[0] < 0x80) {
        *ret_cp = s[0];
        return 1;
    }
    size_t n = (s[0] & 0xe0) == 0xc0   ? 2
               : (s[0] & 0xf0) == 0xe0 ? 3
               : (s[0] & 0xf8) == 0xf0 ? 4
                                       : 0;
    if (n == 0)
        return 0;
    uint32_t cp = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    *ret_cp = cp;
    return n;
}

/* Appends s as a JSON string the way Go's encoding/json does (HTML-safe), which is what cosign
 * signs. Control characters are refused: no repository name has one, and Go versions differ
 * in how they escape a few of them. */
static int json_quote(struct cvm_buf *out, const char *s, struct cvm_error **err)
{
    char show[SHOWN_SIZE];
    int r = cvm_buf_append(out, "\"", 1, err);
    for (const unsigned char *p = (const unsigned char *)s; r == 0 && *p;) {
        uint32_t cp = 0;
        size_t n = utf8_decode(p, &cp);
        if (n == 0)
            return cvm_error_set(err, CVM_E_FORMAT, "docker reference '%s' is not valid UTF-8",
                                 shown(s, show));
        if (cp < 0x20 || cp == 0x7f)
            return cvm_error_set(err, CVM_E_FORMAT,
                                 "docker reference '%s' contains a control character",
                                 shown(s, show));
        char esc[8];
        if (cp == '"' || cp == '\\')
            r = cvm_buf_append(out, (const char[]){'\\', (char)cp}, 2, err);
        else if (cp == '<' || cp == '>' || cp == '&' || cp == 0x2028 || cp == 0x2029)
            r = cvm_buf_append(out, esc, (size_t)snprintf(esc, sizeof(esc), "\\u%04x", cp), err);
        else
            r = cvm_buf_append(out, p, n, err);
        p += n;
    }
    return r < 0 ? r : cvm_buf_append(out, "\"", 1, err);
}

int cvm_simple_signing_payload(const char *docker_reference,
                               const struct cvm_digest *manifest_digest, struct cvm_buf *out,
                               struct cvm_error **err)
{
    size_t len = strnlen(docker_reference, CVM_SIGN_REFERENCE_MAX + 1);
    if (len == 0)
        return cvm_error_set(err, CVM_E_FORMAT, "docker reference is empty");
    if (len > CVM_SIGN_REFERENCE_MAX)
        return cvm_error_set(err, CVM_E_LIMIT, "docker reference is over the limit of %d bytes",
                             CVM_SIGN_REFERENCE_MAX);
    char digest[CVM_DIGEST_STR_SIZE];
    cvm_digest_format(manifest_digest, digest);
    size_t start = out->len;
    static const char head[] = "{\"critical\":{\"identity\":{\"docker-reference\":";
    int r = cvm_buf_append(out, head, sizeof(head) - 1, err);
    if (r == 0)
        r = json_quote(out, docker_reference, err);
    char tail[256];
    int n = snprintf(tail, sizeof(tail),
                     "},\"image\":{\"docker-manifest-digest\":\"%s\"},\"type\":\"%s\"},"
                     "\"optional\":null}",
                     digest, CVM_SIGN_PAYLOAD_TYPE);
    if (r == 0)
        r = cvm_buf_append(out, tail, (size_t)n, err);
    if (r < 0) {
        /* Leave out as it was. */
        out->len = start;
        if (out->data)
            out->data[start] = 0;
    }
    return r;
}

/* Checks that obj has no keys beyond the n allowed ones; where is "" at the top level. */
static int payload_only_keys(json_t *obj, const char *where, const char *const *keys, size_t n,
                             struct cvm_error **err)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        bool known = false;
        for (size_t i = 0; i < n && !known; i++)
            known = strcmp(key, keys[i]) == 0;
        if (!known) {
            char show[SHOWN_SIZE];
            return cvm_error_set(err, CVM_E_FORMAT, "signature payload: %s%sunknown key '%s'",
                                 where, *where ? ": " : "", shown(key, show));
        }
    }
    return 0;
}

/* The member `key` of obj, which must exist and have the given type. */
static int payload_member(json_t *obj, const char *where, const char *key, json_type type,
                          json_t **ret, struct cvm_error **err)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return cvm_error_set(err, CVM_E_FORMAT, "signature payload: %s%smissing '%s'", where,
                             *where ? ": " : "", key);
    if (json_typeof(v) != type)
        return cvm_error_set(err, CVM_E_FORMAT, "signature payload: %s%s%s: must be %s", where,
                             *where ? "." : "", key,
                             type == JSON_OBJECT ? "an object" : "a string");
    *ret = v;
    return 0;
}

static int payload_check(json_t *root, char **ret_reference, struct cvm_digest *ret_digest,
                         struct cvm_error **err)
{
    static const char *const top_keys[] = {"critical", "optional"};
    static const char *const critical_keys[] = {"identity", "image", "type"};
    static const char *const identity_keys[] = {"docker-reference"};
    static const char *const image_keys[] = {"docker-manifest-digest"};
    char show[SHOWN_SIZE];
    if (!json_is_object(root))
        return cvm_error_set(err, CVM_E_FORMAT, "signature payload: must be a JSON object");
    json_t *critical, *identity, *image, *type, *digest, *reference;
    int r = payload_only_keys(root, "", top_keys, 2, err);
    if (r == 0)
        r = payload_member(root, "", "critical", JSON_OBJECT, &critical, err);
    if (r == 0)
        r = payload_only_keys(critical, "critical", critical_keys, 3, err);
    if (r == 0)
        r = payload_member(critical, "critical", "type", JSON_STRING, &type, err);
    if (r < 0)
        return r;
    if (strcmp(json_string_value(type), CVM_SIGN_PAYLOAD_TYPE) != 0)
        return cvm_error_set(err, CVM_E_FORMAT,
                             "signature payload: critical.type is '%s', expected '%s'",
                             shown(json_string_value(type), show), CVM_SIGN_PAYLOAD_TYPE);
    r = payload_member(critical, "critical", "image", JSON_OBJECT, &image, err);
    if (r == 0)
        r = payload_only_keys(image, "critical.image", image_keys, 1, err);
    if (r == 0)
        r = payload_member(image, "critical.image", "docker-manifest-digest", JSON_STRING, &digest,
                           err);
    if (r == 0)
        r = payload_member(critical, "critical", "identity", JSON_OBJECT, &identity, err);
    if (r == 0)
        r = payload_only_keys(identity, "critical.identity", identity_keys, 1, err);
    if (r == 0)
        r = payload_member(identity, "critical.identity", "docker-reference", JSON_STRING,
                           &reference, err);
    if (r < 0)
        return r;
    json_t *optional = json_object_get(root, "optional");
    if (optional && !json_is_null(optional) && !json_is_object(optional))
        return cvm_error_set(err, CVM_E_FORMAT,
                             "signature payload: optional: must be null or an object");

    struct cvm_digest d;
    r = cvm_digest_parse(json_string_value(digest), &d, err);
    if (r < 0)
        return cvm_error_prefix(err, "signature payload: critical.image.docker-manifest-digest");
    const char *ref = json_string_value(reference);
    size_t len = json_string_length(reference);
    if (len == 0)
        return cvm_error_set(err, CVM_E_FORMAT,
                             "signature payload: critical.identity.docker-reference is empty");
    if (len > CVM_SIGN_REFERENCE_MAX)
        return cvm_error_set(err, CVM_E_LIMIT,
                             "signature payload: critical.identity.docker-reference is over the "
                             "limit of %d bytes",
                             CVM_SIGN_REFERENCE_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)ref[i] < 0x20 || ref[i] == 0x7f)
            return cvm_error_set(err, CVM_E_FORMAT,
                                 "signature payload: critical.identity.docker-reference '%s' "
                                 "contains a control character",
                                 shown(ref, show));
    char *copy = strdup(ref);
    if (!copy)
        return cvm_error_set_errno(err, ENOMEM, "signature payload");
    *ret_reference = copy;
    *ret_digest = d;
    return 0;
}

int cvm_simple_signing_parse(const void *payload, size_t len, char **ret_reference,
                             struct cvm_digest *ret_digest, struct cvm_error **err)
{
    if (len > CVM_SIGN_PAYLOAD_MAX)
        return cvm_error_set(err, CVM_E_LIMIT, "signature payload: %zu bytes, over the limit of %d",
                             len, CVM_SIGN_PAYLOAD_MAX);
    json_error_t je;
    json_t *root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        char text[JSON_ERROR_TEXT_LENGTH * 4 + 4];
        return cvm_error_set(err, CVM_E_FORMAT,
                             "signature payload: invalid JSON at line %d, column %d: %s", je.line,
                             je.column, cvm_shown(je.text, JSON_ERROR_TEXT_LENGTH, text));
    }
    int r = payload_check(root, ret_reference, ret_digest, err);
    json_decref(root);
    return r;
}

/* ---- signatures -------------------------------------------------------------------------- */

int cvm_sign_payload(const struct cvm_signing_key *k, const void *payload, size_t len,
                     char **ret_b64, struct cvm_error **err)
{
    int r = cvm_crypto_lib_load(err);
    if (r < 0)
        return r;
    if (!payload)
        payload = "";
    sym_ERR_set_mark();
    EVP_MD_CTX *ctx = sym_EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    int ok = ctx &&
             sym_EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, k->pkey, NULL) == 1 &&
             sym_EVP_DigestSign(ctx, NULL, &sig_len, payload, len) == 1 &&
             (sig = malloc(sig_len)) != NULL &&
             sym_EVP_DigestSign(ctx, sig, &sig_len, payload, len) == 1;
    sym_EVP_MD_CTX_free(ctx);
    sym_ERR_pop_to_mark();
    char *b64 = ok ? cvm_sign_base64_encode(sig, sig_len) : NULL;
    free(sig);
    if (!b64)
        return cvm_error_set(err, CVM_E_SYSTEM, "cannot sign with key %s", k->fingerprint);
    *ret_b64 = b64;
    return 0;
}

/* An spki key whose point libcrypto refuses: its decoder says why, as for any other key. */
static int spki_key_error(const struct cvm_verify_key *k, struct cvm_error **err)
{
    sym_ERR_set_mark();
    EVP_PKEY *pkey = NULL;
    int r = key_decode("PUBLIC KEY", NULL, k->spki, P256_SPKI_LEN, k->display, false, &pkey, err);
    sym_EVP_PKEY_free(pkey);
    sym_ERR_pop_to_mark();
    return r < 0 ? r
                 : cvm_error_set(err, CVM_E_FORMAT, "key '%s': not a point on P-256", k->display);
}

/* An spki key as libcrypto's low-level EC key (OpenSSL 3's decoders and EVP build their
 * provider stores on first use, ~2 ms per process); NULL when its point is not on the curve
 * (oct2key checks). Call between ERR marks. */
static EC_KEY *spki_ec_key(const struct cvm_verify_key *k)
{
    EC_KEY *ec = sym_EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    if (ec && sym_EC_KEY_oct2key(ec, k->spki + sizeof(p256_spki_prefix),
                                 P256_SPKI_LEN - sizeof(p256_spki_prefix), NULL) != 1) {
        sym_EC_KEY_free(ec);
        ec = NULL;
    }
    return ec;
}

int cvm_verify_key_prepare(const struct cvm_verify_key *k, struct cvm_error **err)
{
    int r = cvm_crypto_lib_load(err);
    if (r < 0 || k->pkey)
        return r;
    sym_ERR_set_mark();
    EC_KEY *ec = spki_ec_key(k);
    bool valid = ec != NULL;
    sym_EC_KEY_free(ec);
    sym_ERR_pop_to_mark();
    return valid ? 0 : spki_key_error(k, err);
}

int cvm_verify_payload(const struct cvm_verify_key *k, const void *payload, size_t len,
                       const char *b64, struct cvm_error **err)
{
    int r = cvm_crypto_lib_load(err);
    if (r < 0)
        return r;
    size_t b64_len = strnlen(b64, CVM_SIGN_B64_MAX + 1);
    if (b64_len > CVM_SIGN_B64_MAX)
        return cvm_error_set(err, CVM_E_LIMIT, "signature is over the limit of %d characters",
                             CVM_SIGN_B64_MAX);
    if (b64_len == 0)
        return cvm_error_set(err, CVM_E_FORMAT, "signature is empty");
    struct cvm_buf sig;
    cvm_buf_init(&sig, CVM_SIGN_B64_MAX);
    r = cvm_sign_base64_decode(b64, b64_len, "signature", &sig, err);
    if (r < 0) {
        cvm_buf_release(&sig);
        return r;
    }
    if (!payload)
        payload = "";
    sym_ERR_set_mark();
    int ok;
    if (!k->pkey) {
        EC_KEY *ec = spki_ec_key(k);
        bool valid = ec != NULL;
        uint8_t h[CVM_SHA256_LEN];
        cvm_sha256(payload, len, h);
        ok = valid && sig.len <= INT_MAX &&
             sym_ECDSA_verify(0, h, sizeof(h), sig.data, (int)sig.len, ec) == 1;
        sym_EC_KEY_free(ec);
        if (!valid) {
            sym_ERR_pop_to_mark();
            cvm_buf_release(&sig);
            return spki_key_error(k, err);
        }
    } else {
        EVP_MD_CTX *ctx = sym_EVP_MD_CTX_new();
        ok = ctx &&
             sym_EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, k->pkey, NULL) == 1 &&
             sym_EVP_DigestVerify(ctx, sig.data, sig.len, payload, len) == 1;
        sym_EVP_MD_CTX_free(ctx);
    }
    sym_ERR_pop_to_mark();
    cvm_buf_release(&sig);
    if (!ok)
        return cvm_error_set(err, CVM_E_SIGNATURE, "signature does not verify with key %s",
                             k->fingerprint);
    return 0;
}
