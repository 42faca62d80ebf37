/* Signing: key files (generation, loading, every refused kind), cosign's payload bytes, the
 * payload parser, base64, signatures, and interop with the openssl command when present. */
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "base.h"
#include "sign.h"
#include "tap.h"

static char dir[64];
static struct cvm_error *err;

static const char *in_dir(const char *name)
{
    return tap_fmt("%s/%s", dir, name);
}

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cvm-test-sign-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static void write_text(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(text, 1, len, f) == len);
    CHECK(fclose(f) == 0);
}

/* Writes pkey as PEM: how = 'p' public (SPKI), 'k' PKCS#8, 't' traditional (SEC1),
 * 'e' encrypted PKCS#8, 'E' encrypted traditional. */
static void write_pkey(const char *path, EVP_PKEY *pkey, char how)
{
    BIO *bio = BIO_new_file(path, "w");
    CHECK(bio != NULL);
    unsigned char pw[] = "secret";
    int ok = 0;
    switch (how) {
    case 'p': ok = PEM_write_bio_PUBKEY(bio, pkey); break;
    case 'k': ok = PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL); break;
    case 't':
        ok = PEM_write_bio_PrivateKey_traditional(bio, pkey, NULL, NULL, 0, NULL, NULL);
        break;
    case 'e': ok = PEM_write_bio_PrivateKey(bio, pkey, EVP_aes_256_cbc(), pw, 6, NULL, NULL); break;
    case 'E':
        ok = PEM_write_bio_PrivateKey_traditional(bio, pkey, EVP_aes_256_cbc(), pw, 6, NULL, NULL);
        break;
    }
    CHECK(ok == 1);
    BIO_free(bio);
}

static const char *first_line(const char *path)
{
    static char line[128];
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    CHECK(fgets(line, sizeof(line), f) != NULL);
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    return line;
}

static void digest_of_text(const char *text, struct cvm_digest *d)
{
    cvm_digest_of(text, strlen(text), d);
}

static void keygen_files(void)
{
    make_dir();
    umask(022);
    CHECK_INT(cvm_key_generate(in_dir("k"), &err), 0);
    struct stat st;
    CHECK(stat(in_dir("k.key"), &st) == 0);
    CHECK_INT(st.st_mode & 07777, 0600);
    CHECK(stat(in_dir("k.pub"), &st) == 0);
    CHECK_INT(st.st_mode & 07777, 0644);
    CHECK_STR(first_line(in_dir("k.key")), "-----BEGIN PRIVATE KEY-----");
    CHECK_STR(first_line(in_dir("k.pub")), "-----BEGIN PUBLIC KEY-----");

    struct cvm_signing_key *sk = NULL;
    struct cvm_verify_key *vk = NULL;
    CHECK_INT(cvm_signing_key_load(in_dir("k.key"), &sk, &err), 0);
    CHECK_INT(cvm_verify_key_load(in_dir("k.pub"), &vk, &err), 0);
    char a[CVM_SIGN_FINGERPRINT_SIZE], b[CVM_SIGN_FINGERPRINT_SIZE];
    cvm_signing_key_fingerprint(sk, a);
    cvm_verify_key_fingerprint(vk, b);
    CHECK_STR(a, b);
    struct cvm_digest d;
    CHECK_INT(cvm_digest_parse(a, &d, &err), 0);

    /* Two generations give two different keys. */
    CHECK_INT(cvm_key_generate(in_dir("other"), &err), 0);
    struct cvm_verify_key *vk2 = NULL;
    CHECK_INT(cvm_verify_key_load(in_dir("other.pub"), &vk2, &err), 0);
    CHECK(strcmp(cvm_verify_key_fingerprint(vk2, a), b) != 0);

    /* The same public key from memory (a policy's keyData). */
    struct cvm_buf pem;
    cvm_buf_init(&pem, 65536);
    CHECK_INT(cvm_buf_read_file(&pem, AT_FDCWD, in_dir("k.pub"), &err), 0);
    struct cvm_verify_key *vk3 = NULL;
    CHECK_INT(cvm_verify_key_from_pem(pem.data, pem.len, "keyData", &vk3, &err), 0);
    CHECK_STR(cvm_verify_key_fingerprint(vk3, a), b);
    cvm_buf_release(&pem);

    cvm_signing_key_free(sk);
    cvm_verify_key_free(vk);
    cvm_verify_key_free(vk2);
    cvm_verify_key_free(vk3);
    cvm_signing_key_free(NULL);
    cvm_verify_key_free(NULL);
    remove_dir();
}

static void keygen_refuses_overwrite(void)
{
    make_dir();
    struct stat st;
    /* An existing .pub: refused, and no .key is left behind. */
    write_text(in_dir("a.pub"), "mine\n", 5);
    CHECK_INT(cvm_key_generate(in_dir("a"), &err), -CVM_E_CONFLICT);
    CHECK_STR(tap_take_error(&err),
              tap_fmt("key '%s/a.pub' already exists (not overwriting it)", dir));
    CHECK(stat(in_dir("a.key"), &st) != 0);
    CHECK_STR(first_line(in_dir("a.pub")), "mine");

    /* An existing .key, even a dangling symlink, is never written through. */
    CHECK(symlink(in_dir("elsewhere"), in_dir("b.key")) == 0);
    CHECK_INT(cvm_key_generate(in_dir("b"), &err), -CVM_E_CONFLICT);
    CHECK_STR(tap_take_error(&err),
              tap_fmt("key '%s/b.key' already exists (not overwriting it)", dir));
    CHECK(stat(in_dir("b.pub"), &st) != 0);
    CHECK(stat(in_dir("elsewhere"), &st) != 0);

    /* A second run over a generated pair. */
    CHECK_INT(cvm_key_generate(in_dir("c"), &err), 0);
    CHECK_INT(cvm_key_generate(in_dir("c"), &err), -CVM_E_CONFLICT);
    CHECK_STR(tap_take_error(&err),
              tap_fmt("key '%s/c.key' already exists (not overwriting it)", dir));

    /* A folder that does not exist. */
    CHECK_INT(cvm_key_generate(in_dir("no/such"), &err), -CVM_E_SYSTEM);
    CHECK_STR(tap_take_error(&err),
              tap_fmt("cannot create '%s/no/such.key': No such file or directory", dir));
    remove_dir();
}

static void sign_verify(void)
{
    make_dir();
    CHECK_INT(cvm_key_generate(in_dir("k"), &err), 0);
    CHECK_INT(cvm_key_generate(in_dir("other"), &err), 0);
    struct cvm_signing_key *sk = NULL;
    struct cvm_verify_key *vk = NULL, *other = NULL;
    CHECK_INT(cvm_signing_key_load(in_dir("k.key"), &sk, &err), 0);
    CHECK_INT(cvm_verify_key_load(in_dir("k.pub"), &vk, &err), 0);
    CHECK_INT(cvm_verify_key_load(in_dir("other.pub"), &other, &err), 0);

    struct cvm_digest d;
    digest_of_text("manifest", &d);
    struct cvm_buf payload;
    cvm_buf_init(&payload, 4096);
    CHECK_INT(cvm_simple_signing_payload("localhost/hello", &d, &payload, &err), 0);

    char *sig = NULL;
    CHECK_INT(cvm_sign_payload(sk, payload.data, payload.len, &sig, &err), 0);
    /* A DER ECDSA P-256 signature is at most 72 bytes: at most 96 base64 characters. */
    size_t n = strlen(sig);
    CHECK(n >= 88 && n <= 96 && n % 4 == 0);
    CHECK_INT(strspn(sig, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="), n);
    CHECK_INT(cvm_verify_payload(vk, payload.data, payload.len, sig, &err), 0);

    char fp[CVM_SIGN_FINGERPRINT_SIZE], ofp[CVM_SIGN_FINGERPRINT_SIZE];
    cvm_verify_key_fingerprint(vk, fp);
    cvm_verify_key_fingerprint(other, ofp);
    /* Any byte changed. */
    for (size_t i = 0; i < payload.len; i += 37) {
        payload.data[i] ^= 1;
        CHECK_INT(cvm_verify_payload(vk, payload.data, payload.len, sig, &err), -CVM_E_SIGNATURE);
        CHECK_STR(tap_take_error(&err), tap_fmt("signature does not verify with key %s", fp));
        payload.data[i] ^= 1;
    }
    /* One byte more or less. */
    CHECK_INT(cvm_verify_payload(vk, payload.data, payload.len - 1, sig, &err), -CVM_E_SIGNATURE);
    tap_take_error(&err);
    /* Another key. */
    CHECK_INT(cvm_verify_payload(other, payload.data, payload.len, sig, &err), -CVM_E_SIGNATURE);
    CHECK_STR(tap_take_error(&err), tap_fmt("signature does not verify with key %s", ofp));
    /* A signature with one bit of s changed (in a full quad, so still canonical base64). */
    char *bad = strdup(sig);
    size_t last = strlen(bad) - 5;
    bad[last] = bad[last] == 'A' ? 'B' : 'A';
    CHECK_INT(cvm_verify_payload(vk, payload.data, payload.len, bad, &err), -CVM_E_SIGNATURE);
    tap_take_error(&err);
    free(bad);
    /* ECDSA signatures are randomised, and each verifies. */
    char *sig2 = NULL;
    CHECK_INT(cvm_sign_payload(sk, payload.data, payload.len, &sig2, &err), 0);
    CHECK(strcmp(sig, sig2) != 0);
    CHECK_INT(cvm_verify_payload(vk, payload.data, payload.len, sig2, &err), 0);
    /* An empty payload is signable too. */
    free(sig2);
    CHECK_INT(cvm_sign_payload(sk, NULL, 0, &sig2, &err), 0);
    CHECK_INT(cvm_verify_payload(vk, "", 0, sig2, &err), 0);

    free(sig);
    free(sig2);
    cvm_buf_release(&payload);
    cvm_signing_key_free(sk);
    cvm_verify_key_free(vk);
    cvm_verify_key_free(other);
    remove_dir();
}

static void verify_malformed_signatures(void)
{
    make_dir();
    CHECK_INT(cvm_key_generate(in_dir("k"), &err), 0);
    struct cvm_verify_key *vk = NULL;
    CHECK_INT(cvm_verify_key_load(in_dir("k.pub"), &vk, &err), 0);
    char fp[CVM_SIGN_FINGERPRINT_SIZE];
    cvm_verify_key_fingerprint(vk, fp);

    CHECK_INT(cvm_verify_payload(vk, "x", 1, "", &err), -CVM_E_FORMAT);
    CHECK_STR(tap_take_error(&err), "signature is empty");
    static const char *const malformed[] = {
        "not base64!", "MEUCIQ", "MEU\nCIQA", "MEUCIR==", "MEU=CIQA", "====", "MA=A",
    };
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        CHECK_INT(cvm_verify_payload(vk, "x", 1, malformed[i], &err), -CVM_E_FORMAT);
        CHECK_STR(tap_take_error(&err), "signature is not valid base64");
    }
    /* Valid base64 that is no DER signature. */
    CHECK_INT(cvm_verify_payload(vk, "x", 1, "AAAA", &err), -CVM_E_SIGNATURE);
    CHECK_STR(tap_take_error(&err), tap_fmt("signature does not verify with key %s", fp));
    char big[CVM_SIGN_B64_MAX + 5];
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_INT(cvm_verify_payload(vk, "x", 1, big, &err), -CVM_E_LIMIT);
    CHECK_STR(tap_take_error(&err), "signature is over the limit of 1024 characters");
    cvm_verify_key_free(vk);
    remove_dir();
}

static void base64(void)
{
    static const struct {
        const char *plain, *b64;
    } v[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
        {"\xfb\xff\xbf", "+/+/"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char *e = cvm_sign_base64_encode(v[i].plain, strlen(v[i].plain));
        CHECK_STR(e, v[i].b64);
        free(e);
        struct cvm_buf b;
        cvm_buf_init(&b, 64);
        CHECK_INT(cvm_sign_base64_decode(v[i].b64, strlen(v[i].b64), "x", &b, &err), 0);
        CHECK_INT(b.len, strlen(v[i].plain));
        CHECK(memcmp(b.data ? (const char *)b.data : "", v[i].plain, b.len) == 0);
        cvm_buf_release(&b);
    }
    /* Non-canonical padding bits, stray padding, other alphabets, whitespace. */
    static const char *const bad[] = {
        "Zh==", "Zm9=", "Zg=", "Zg", "Z===", "Zg==Zg==", "Zm-v", "Zm_v", "Zm9v ", " Zm9v", "Zm\0v"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cvm_buf b;
        cvm_buf_init(&b, 64);
        CHECK_INT(cvm_sign_base64_decode(bad[i],
                                         i + 1 == sizeof(bad) / sizeof(bad[0]) ? 4 : strlen(bad[i]),
                                         "keyData", &b, &err),
                  -CVM_E_FORMAT);
        CHECK_STR(tap_take_error(&err), "keyData is not valid base64");
        CHECK_INT(b.len, 0);
        cvm_buf_release(&b);
    }
    /* The output buffer's limit holds. */
    struct cvm_buf b;
    cvm_buf_init(&b, 5);
    CHECK_INT(cvm_sign_base64_decode("Zm9vYmFy", 8, "x", &b, &err), -CVM_E_LIMIT);
    tap_take_error(&err);
    cvm_buf_release(&b);
}

static void payload_bytes(void)
{
    struct cvm_digest d;
    CHECK_INT(
        cvm_digest_parse("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                         &d, &err),
        0);
    struct cvm_buf b;
    cvm_buf_init(&b, 4096);
    CHECK_INT(cvm_simple_signing_payload("localhost/hello", &d, &b, &err), 0);
    CHECK_STR((const char *)b.data,
              "{\"critical\":{\"identity\":{\"docker-reference\":\"localhost/hello\"},\"image\":{"
              "\"docker-manifest-digest\":\"sha256:"
              "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"},\"type\":"
              "\"cosign container image signature\"},\"optional\":null}");
    CHECK_INT(b.len, strlen((const char *)b.data));
    cvm_buf_release(&b);

    /* Escaped as Go's encoding/json does, so the bytes match what cosign would sign. */
    CHECK_INT(cvm_simple_signing_payload("a\"b\\c<d>e&f\xc3\xa9g\xe2\x80\xa8h", &d, &b, &err), 0);
    CHECK(strstr((const char *)b.data,
                 "\"docker-reference\":\"a\\\"b\\\\c\\u003cd\\u003ee\\u0026f\xc3\xa9g\\u2028h\"") !=
          NULL);
    cvm_buf_release(&b);

    /* Appends to what the buffer holds; on failure leaves it as it was. */
    CHECK_INT(cvm_buf_append(&b, "x", 1, &err), 0);
    CHECK_INT(cvm_simple_signing_payload("", &d, &b, &err), -CVM_E_FORMAT);
    CHECK_STR(tap_take_error(&err), "docker reference is empty");
    CHECK_INT(cvm_simple_signing_payload("a\tb", &d, &b, &err), -CVM_E_FORMAT);
    CHECK_STR(tap_take_error(&err), "docker reference 'a\\x09b' contains a control character");
    CHECK_INT(cvm_simple_signing_payload("a\xc3(", &d, &b, &err), -CVM_E_FORMAT);
    CHECK_STR(tap_take_error(&err), "docker reference 'a\\xc3(' is not valid UTF-8");
    CHECK_INT(cvm_simple_signing_payload("a\xc0\xaf", &d, &b, &err), -CVM_E_FORMAT);
    CHECK_STR(tap_take_error(&err), "docker reference 'a\\xc0\\xaf' is not valid UTF-8");
    CHECK_INT(cvm_simple_signing_payload("a\xed\xa0\x80", &d, &b, &err), -CVM_E_FORMAT);
    tap_take_error(&err);
    CHECK_INT(b.len, 1);
    CHECK_STR((const char *)b.data, "x");
    char big[CVM_SIGN_REFERENCE_MAX + 2];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK_INT(cvm_simple_signing_payload(big, &d, &b, &err), -CVM_E_LIMIT);
    CHECK_STR(tap_take_error(&err), "docker reference is over the limit of 1024 bytes");
    big[CVM_SIGN_REFERENCE_MAX] = '\0';
    CHECK_INT(cvm_simple_signing_payload(big, &d, &b, &err), 0);
    cvm_buf_release(&b);
    /* A buffer too small for the payload. */
    cvm_buf_init(&b, 100);
    CHECK_INT(cvm_simple_signing_payload("localhost/hello", &d, &b, &err), -CVM_E_LIMIT);
    tap_take_error(&err);
    CHECK_INT(b.len, 0);
    cvm_buf_release(&b);
}

/* A payload cosign produced (published by its authors), byte for byte. */
static void payload_matches_cosign(void)
{
    static const char cosign_b64[] =
        "eyJjcml0aWNhbCI6eyJpZGVudGl0eSI6eyJkb2NrZXItcmVmZXJlbmNlIjoiZ2NyLmlvL2Rsb3JlbmMtdm10ZXN0Mi"
        "9kZW1vIn0sImltYWdlIjp7ImRvY2tlci1tYW5pZmVzdC1kaWdlc3QiOiJzaGEyNTY6NDEwYTA3ZjE3MTUxZmZmZmI1"
        "MTNmOTQyYTAxNzQ4ZGZkYjkyMWRlOTE1ZWE2NDI3ZDYxZDYwYjAzNTdjMWRjZCJ9LCJ0eXBlIjoiY29zaWduIGNvbn"
        "RhaW5lciBpbWFnZSBzaWduYXR1cmUifSwib3B0aW9uYWwiOm51bGx9";
    struct cvm_buf want, got;
    cvm_buf_init(&want, 4096);
    cvm_buf_init(&got, 4096);
    CHECK_INT(cvm_sign_base64_decode(cosign_b64, strlen(cosign_b64), "x", &want, &err), 0);
    struct cvm_digest d;
    CHECK_INT(
        cvm_digest_parse("sha256:410a07f17151ffffb513f942a01748dfdb921de915ea6427d61d60b0357c1dcd",
                         &d, &err),
        0);
    CHECK_INT(cvm_simple_signing_payload("gcr.io/dlorenc-vmtest2/demo", &d, &got, &err), 0);
    CHECK_INT(got.len, want.len);
    CHECK(memcmp(got.data, want.data, got.len) == 0);

    char *ref = NULL;
    struct cvm_digest parsed;
    CHECK_INT(cvm_simple_signing_parse(want.data, want.len, &ref, &parsed, &err), 0);
    CHECK_STR(ref, "gcr.io/dlorenc-vmtest2/demo");
    CHECK(cvm_digest_equal(&parsed, &d));
    free(ref);
    cvm_buf_release(&want);
    cvm_buf_release(&got);
}

static const char *parse(const char *text)
{
    char *ref = NULL;
    struct cvm_digest d;
    if (cvm_simple_signing_parse(text, strlen(text), &ref, &d, &err) < 0)
        return tap_take_error(&err);
    static char out[1200];
    char hex[CVM_DIGEST_STR_SIZE];
    snprintf(out, sizeof(out), "%s %s", ref, cvm_digest_format(&d, hex));
    free(ref);
    return out;
}

#define DIG "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define PAYLOAD(identity, image, type, rest)                                                       \
    "{\"critical\":{\"identity\":" identity ",\"image\":" image ",\"type\":" type "}" rest "}"
#define ID "{\"docker-reference\":\"localhost/hello\"}"
#define IMG "{\"docker-manifest-digest\":\"" DIG "\"}"
#define TYPE "\"cosign container image signature\""

static void payload_parse(void)
{
    CHECK_STR(parse(PAYLOAD(ID, IMG, TYPE, ",\"optional\":null")), "localhost/hello " DIG);
    CHECK_STR(parse(PAYLOAD(ID, IMG, TYPE, "")), "localhost/hello " DIG);
    CHECK_STR(parse(PAYLOAD(ID, IMG, TYPE, ",\"optional\":{\"creator\":\"Bob\",\"timestamp\":1}")),
              "localhost/hello " DIG);
    /* Key order and whitespace do not matter. */
    CHECK_STR(parse(" {\"optional\" : null, \"critical\": {\"type\": " TYPE ", \"image\": " IMG
                    ", \"identity\": " ID "}}\n"),
              "localhost/hello " DIG);
}

static void payload_parse_errors(void)
{
    CHECK_STR(parse(""), "signature payload: invalid JSON at line 1, column 0: '[' or '{' expected "
                         "near end of file");
    CHECK_STR(
        parse("hello"),
        "signature payload: invalid JSON at line 1, column 5: '[' or '{' expected near 'hello'");
    CHECK_STR(parse(PAYLOAD(ID, IMG, TYPE, "") " x"),
              tap_fmt("signature payload: invalid JSON at line 1, column %zu: end of file expected "
                      "near 'x'",
                      strlen(PAYLOAD(ID, IMG, TYPE, "")) + 2));
    CHECK_STR(parse("[]"), "signature payload: must be a JSON object");
    CHECK_STR(parse("{}"), "signature payload: missing 'critical'");
    CHECK_STR(parse(PAYLOAD(ID, IMG, TYPE, ",\"extra\":1")),
              "signature payload: unknown key 'extra'");
    CHECK_STR(parse("{\"critical\":[]}"), "signature payload: critical: must be an object");
    CHECK_STR(parse(PAYLOAD(ID, IMG, TYPE, ",\"optional\":[]")),
              "signature payload: optional: must be null or an object");
    CHECK_STR(parse(PAYLOAD(ID, IMG, TYPE, ",\"optional\":null,\"optional\":null")),
              tap_fmt("signature payload: invalid JSON at line 1, column %zu: duplicate object key "
                      "near '\"optional\"'",
                      strlen(PAYLOAD(ID, IMG, TYPE, ",\"optional\":null,\"optional\"")) - 1));
    /* critical */
    CHECK_STR(parse("{\"critical\":{\"identity\":" ID ",\"image\":" IMG "}}"),
              "signature payload: critical: missing 'type'");
    CHECK_STR(parse(PAYLOAD(ID, IMG, "\"atomic container signature\"", "")),
              "signature payload: critical.type is 'atomic container signature', expected 'cosign "
              "container image signature'");
    CHECK_STR(parse(PAYLOAD(ID, IMG, "7", "")),
              "signature payload: critical.type: must be a string");
    CHECK_STR(parse("{\"critical\":{\"identity\":" ID ",\"image\":" IMG ",\"type\":" TYPE
                    ",\"extra\":{}}}"),
              "signature payload: critical: unknown key 'extra'");
    CHECK_STR(parse("{\"critical\":{\"identity\":" ID ",\"type\":" TYPE "}}"),
              "signature payload: critical: missing 'image'");
    CHECK_STR(parse("{\"critical\":{\"image\":" IMG ",\"type\":" TYPE "}}"),
              "signature payload: critical: missing 'identity'");
    /* image */
    CHECK_STR(parse(PAYLOAD(ID, "{}", TYPE, "")),
              "signature payload: critical.image: missing 'docker-manifest-digest'");
    CHECK_STR(parse(PAYLOAD(ID, "\"x\"", TYPE, "")),
              "signature payload: critical.image: must be an object");
    CHECK_STR(parse(PAYLOAD(ID, "{\"Docker-manifest-digest\":\"" DIG "\"}", TYPE, "")),
              "signature payload: critical.image: unknown key 'Docker-manifest-digest'");
    CHECK_STR(parse(PAYLOAD(ID, "{\"docker-manifest-digest\":\"sha256:abc\"}", TYPE, "")),
              "signature payload: critical.image.docker-manifest-digest: digest 'sha256:abc': "
              "expected 64 lowercase hex digits after 'sha256:'");
    CHECK_STR(parse(PAYLOAD(ID, "{\"docker-manifest-digest\":\"md5:abc\"}", TYPE, "")),
              "signature payload: critical.image.docker-manifest-digest: digest 'md5:abc': "
              "unsupported algorithm 'md5' (only sha256)");
    CHECK_STR(parse(PAYLOAD(ID, "{\"docker-manifest-digest\":null}", TYPE, "")),
              "signature payload: critical.image.docker-manifest-digest: must be a string");
    /* identity */
    CHECK_STR(parse(PAYLOAD("{}", IMG, TYPE, "")),
              "signature payload: critical.identity: missing 'docker-reference'");
    CHECK_STR(parse(PAYLOAD("{\"docker-reference\":[]}", IMG, TYPE, "")),
              "signature payload: critical.identity.docker-reference: must be a string");
    CHECK_STR(parse(PAYLOAD("{\"docker-reference\":\"\"}", IMG, TYPE, "")),
              "signature payload: critical.identity.docker-reference is empty");
    CHECK_STR(parse(PAYLOAD("{\"docker-reference\":\"a\\u001bb\"}", IMG, TYPE, "")),
              "signature payload: critical.identity.docker-reference 'a\\x1bb' contains a control "
              "character");
    CHECK_STR(
        parse(PAYLOAD("{\"docker-reference\":\"a\\u0000b\"}", IMG, TYPE, "")),
        "signature payload: invalid JSON at line 1, column 54: \\u0000 is not allowed without "
        "JSON_ALLOW_NUL near '\"a\\u0000b\"'");
    CHECK_STR(parse(PAYLOAD("{\"docker-reference\":\"a\",\"x\":1}", IMG, TYPE, "")),
              "signature payload: critical.identity: unknown key 'x'");

    /* Bounded. */
    size_t n = CVM_SIGN_PAYLOAD_MAX + 1;
    char *big = malloc(n);
    memset(big, ' ', n);
    char *ref = NULL;
    struct cvm_digest d;
    CHECK_INT(cvm_simple_signing_parse(big, n, &ref, &d, &err), -CVM_E_LIMIT);
    CHECK_STR(tap_take_error(&err), "signature payload: 65537 bytes, over the limit of 65536");
    free(big);
}

static void check_load_private(const char *path, int code, const char *msg)
{
    struct cvm_signing_key *k = NULL;
    CHECK_INT(cvm_signing_key_load(path, &k, &err), code);
    CHECK_STR(tap_take_error(&err), msg);
    CHECK(k == NULL);
}

static void check_load_public(const char *path, int code, const char *msg)
{
    struct cvm_verify_key *k = NULL;
    CHECK_INT(cvm_verify_key_load(path, &k, &err), code);
    CHECK_STR(tap_take_error(&err), msg);
    CHECK(k == NULL);
}

static void keys_refused(void)
{
    make_dir();
    EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    CHECK(rsa && ed && p384 && p256);
    write_pkey(in_dir("rsa.key"), rsa, 'k');
    write_pkey(in_dir("rsa.pub"), rsa, 'p');
    write_pkey(in_dir("rsa-trad.key"), rsa, 't');
    write_pkey(in_dir("ed.key"), ed, 'k');
    write_pkey(in_dir("ed.pub"), ed, 'p');
    write_pkey(in_dir("p384.key"), p384, 'k');
    write_pkey(in_dir("p384.pub"), p384, 'p');
    write_pkey(in_dir("enc.key"), p256, 'e');
    write_pkey(in_dir("enc-trad.key"), p256, 'E');
    write_pkey(in_dir("p256.key"), p256, 'k');
    write_pkey(in_dir("p256.pub"), p256, 'p');

    const char *rsa_msg = "unsupported key type RSA (cosign keys are ECDSA P-256)";
    check_load_private(in_dir("rsa.key"), -CVM_E_UNSUPPORTED,
                       tap_fmt("key '%s': %s", in_dir("rsa.key"), rsa_msg));
    check_load_private(in_dir("rsa-trad.key"), -CVM_E_UNSUPPORTED,
                       tap_fmt("key '%s': %s", in_dir("rsa-trad.key"), rsa_msg));
    check_load_public(in_dir("rsa.pub"), -CVM_E_UNSUPPORTED,
                      tap_fmt("key '%s': %s", in_dir("rsa.pub"), rsa_msg));
    check_load_private(
        in_dir("ed.key"), -CVM_E_UNSUPPORTED,
        tap_fmt("key '%s': unsupported key type ED25519 (cosign keys are ECDSA P-256)",
                in_dir("ed.key")));
    check_load_public(
        in_dir("ed.pub"), -CVM_E_UNSUPPORTED,
        tap_fmt("key '%s': unsupported key type ED25519 (cosign keys are ECDSA P-256)",
                in_dir("ed.pub")));
    check_load_private(
        in_dir("p384.key"), -CVM_E_UNSUPPORTED,
        tap_fmt("key '%s': unsupported key type EC secp384r1 (cosign keys are ECDSA P-256)",
                in_dir("p384.key")));
    check_load_public(
        in_dir("p384.pub"), -CVM_E_UNSUPPORTED,
        tap_fmt("key '%s': unsupported key type EC secp384r1 (cosign keys are ECDSA P-256)",
                in_dir("p384.pub")));
    check_load_private(in_dir("enc.key"), -CVM_E_UNSUPPORTED,
                       tap_fmt("key '%s': encrypted keys are not supported", in_dir("enc.key")));
    check_load_private(
        in_dir("enc-trad.key"), -CVM_E_UNSUPPORTED,
        tap_fmt("key '%s': encrypted keys are not supported", in_dir("enc-trad.key")));
    /* cosign's own encrypted format. */
    const char *cosign = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnt9fQ==\n"
                         "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
    write_text(in_dir("cosign.key"), cosign, strlen(cosign));
    check_load_private(in_dir("cosign.key"), -CVM_E_UNSUPPORTED,
                       tap_fmt("key '%s': encrypted keys are not supported", in_dir("cosign.key")));

    /* Swapped halves. */
    check_load_private(
        in_dir("p256.pub"), -CVM_E_USAGE,
        tap_fmt("key '%s': expected a private key, found a public key", in_dir("p256.pub")));
    check_load_public(
        in_dir("p256.key"), -CVM_E_USAGE,
        tap_fmt("key '%s': expected a public key, found a private key", in_dir("p256.key")));
    check_load_public(
        in_dir("enc.key"), -CVM_E_USAGE,
        tap_fmt("key '%s': expected a public key, found a private key", in_dir("enc.key")));

    /* Not keys at all. */
    write_text(in_dir("empty"), "", 0);
    check_load_public(in_dir("empty"), -CVM_E_FORMAT, tap_fmt("key '%s': empty", in_dir("empty")));
    check_load_private(in_dir("empty"), -CVM_E_FORMAT, tap_fmt("key '%s': empty", in_dir("empty")));
    write_text(in_dir("garbage"),
               "\x7f"
               "ELF\x01\x02 garbage\n",
               15);
    check_load_public(in_dir("garbage"), -CVM_E_FORMAT,
                      tap_fmt("key '%s': not a PEM file", in_dir("garbage")));
    check_load_private(in_dir("garbage"), -CVM_E_FORMAT,
                       tap_fmt("key '%s': not a PEM file", in_dir("garbage")));
    const char *cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    write_text(in_dir("cert"), cert, strlen(cert));
    check_load_public(
        in_dir("cert"), -CVM_E_FORMAT,
        tap_fmt("key '%s': unexpected PEM block 'CERTIFICATE' (expected 'PUBLIC KEY')",
                in_dir("cert")));
    const char *bad_der = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
    write_text(in_dir("bad-der"), bad_der, strlen(bad_der));
    check_load_public(
        in_dir("bad-der"), -CVM_E_FORMAT,
        tap_fmt("key '%s': cannot decode the 'PUBLIC KEY' PEM block", in_dir("bad-der")));
    const char *bad_b64 = "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n";
    write_text(in_dir("bad-b64"), bad_b64, strlen(bad_b64));
    check_load_public(in_dir("bad-b64"), -CVM_E_FORMAT,
                      tap_fmt("key '%s': not a PEM file", in_dir("bad-b64")));
    const char *ssh =
        "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    write_text(in_dir("ssh"), ssh, strlen(ssh));
    check_load_private(
        in_dir("ssh"), -CVM_E_UNSUPPORTED,
        tap_fmt("key '%s': unsupported PEM block 'OPENSSH PRIVATE KEY' (cosign keys are "
                "ECDSA P-256)",
                in_dir("ssh")));
    check_load_public(
        in_dir("missing.pub"), -CVM_E_SYSTEM,
        tap_fmt("cannot open '%s': No such file or directory", in_dir("missing.pub")));
    check_load_private(dir, -CVM_E_FORMAT, tap_fmt("'%s' is not a regular file", dir));

    /* Bounded: a PEM padded past the limit. */
    size_t n = CVM_SIGN_KEY_FILE_MAX + 1;
    char *big = malloc(n);
    memset(big, '\n', n);
    write_text(in_dir("big"), big, n);
    free(big);
    check_load_public(in_dir("big"), -CVM_E_LIMIT,
                      tap_fmt("key '%s': over the limit of 65536 bytes", in_dir("big")));
    struct cvm_verify_key *vk = NULL;
    CHECK_INT(cvm_verify_key_from_pem("x", CVM_SIGN_KEY_FILE_MAX + 1, "keyData", &vk, &err),
              -CVM_E_LIMIT);
    CHECK_STR(tap_take_error(&err), "key 'keyData': 65537 bytes, over the limit of 65536");

    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ed);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(p256);
    remove_dir();
}

static void keys_accepted(void)
{
    make_dir();
    EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    CHECK(p256 != NULL);
    write_pkey(in_dir("trad.key"), p256, 't');
    write_pkey(in_dir("k.pub"), p256, 'p');
    CHECK_STR(first_line(in_dir("trad.key")), "-----BEGIN EC PRIVATE KEY-----");
    /* `openssl ecparam -genkey` writes the parameters first. */
    BIO *bio = BIO_new_file(in_dir("params.key"), "w");
    CHECK(bio != NULL);
    BIO_puts(bio, "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n");
    CHECK(PEM_write_bio_PrivateKey_traditional(bio, p256, NULL, NULL, 0, NULL, NULL) == 1);
    BIO_free(bio);

    struct cvm_signing_key *a = NULL, *b = NULL;
    struct cvm_verify_key *v = NULL;
    CHECK_INT(cvm_signing_key_load(in_dir("trad.key"), &a, &err), 0);
    CHECK_INT(cvm_signing_key_load(in_dir("params.key"), &b, &err), 0);
    CHECK_INT(cvm_verify_key_load(in_dir("k.pub"), &v, &err), 0);
    char fa[CVM_SIGN_FINGERPRINT_SIZE], fb[CVM_SIGN_FINGERPRINT_SIZE],
        fv[CVM_SIGN_FINGERPRINT_SIZE];
    CHECK_STR(cvm_signing_key_fingerprint(a, fa), cvm_verify_key_fingerprint(v, fv));
    CHECK_STR(cvm_signing_key_fingerprint(b, fb), fv);
    char *sig = NULL;
    CHECK_INT(cvm_sign_payload(b, "data", 4, &sig, &err), 0);
    CHECK_INT(cvm_verify_payload(v, "data", 4, sig, &err), 0);
    free(sig);
    cvm_signing_key_free(a);
    cvm_signing_key_free(b);
    cvm_verify_key_free(v);
    EVP_PKEY_free(p256);
    remove_dir();
}

/* A public key file in the forms people write: each loads to the same key (the usual form
 * without libcrypto, the others through its PEM reader) and verifies what the private half
 * signed. */
static void public_key_forms(void)
{
    make_dir();
    CHECK_INT(cvm_key_generate(in_dir("k"), &err), 0);
    struct cvm_signing_key *sk = NULL;
    CHECK_INT(cvm_signing_key_load(in_dir("k.key"), &sk, &err), 0);
    char *sig = NULL;
    CHECK_INT(cvm_sign_payload(sk, "data", 4, &sig, &err), 0);
    char want[CVM_SIGN_FINGERPRINT_SIZE];
    cvm_signing_key_fingerprint(sk, want);

    FILE *f = fopen(in_dir("k.pub"), "r");
    CHECK(f != NULL);
    char pem[512] = "";
    CHECK(fread(pem, 1, sizeof(pem) - 1, f) > 0);
    fclose(f);
    /* The base64 of the DER: the lines between the armour. */
    char b64[256] = "";
    for (const char *line = strchr(pem, '\n') + 1; strncmp(line, "-----END", 8) != 0;
         line = strchr(line, '\n') + 1)
        strncat(b64, line, strcspn(line, "\n"));
    char *forms[6] = {strdup(pem)};
    CHECK(asprintf(&forms[1],
                   "-----BEGIN PUBLIC KEY-----\r\n%.64s\r\n%s\r\n-----END PUBLIC KEY-----\r\n", b64,
                   b64 + 64) > 0);
    CHECK(asprintf(&forms[2],
                   "-----BEGIN PUBLIC KEY-----\n%.64s\n%s\n-----END PUBLIC KEY-----\n\n \t\n", b64,
                   b64 + 64) > 0);
    CHECK(asprintf(&forms[3], "-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----", b64) > 0);
    CHECK(asprintf(&forms[4], "a comment\n%s", pem) > 0);
    CHECK(asprintf(&forms[5], "%strailing text\n", pem) > 0);
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        struct cvm_verify_key *vk = NULL;
        char got[CVM_SIGN_FINGERPRINT_SIZE];
        CHECK_INT(cvm_verify_key_from_pem(forms[i], strlen(forms[i]), "form", &vk, &err), 0);
        CHECK_STR(cvm_verify_key_fingerprint(vk, got), want);
        struct cvm_digest id;
        CHECK_INT(cvm_digest_parse(want, &id, &err), 0);
        CHECK(cvm_digest_equal(cvm_verify_key_id(vk), &id));
        CHECK_INT(cvm_verify_payload(vk, "data", 4, sig, &err), 0);
        CHECK_INT(cvm_verify_payload(vk, "datA", 4, sig, &err), -CVM_E_SIGNATURE);
        CHECK_STR(tap_take_error(&err), tap_fmt("signature does not verify with key %s", want));
        cvm_verify_key_free(vk);
        free(forms[i]);
    }

    /* A P-256 SubjectPublicKeyInfo whose point is not on the curve loads (its point is
     * checked when it first verifies) and then fails as libcrypto's decoder says. */
    uint8_t der[91];
    struct cvm_buf raw;
    cvm_buf_init(&raw, 128);
    CHECK_INT(cvm_sign_base64_decode(b64, strlen(b64), "key", &raw, &err), 0);
    CHECK_INT((int)raw.len, 91);
    memcpy(der, raw.data, sizeof(der));
    cvm_buf_release(&raw);
    memset(der + 27, 0x01, 64);
    char *off_curve = cvm_sign_base64_encode(der, sizeof(der));
    const char *text =
        tap_fmt("-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n", off_curve);
    free(off_curve);
    struct cvm_verify_key *vk = NULL;
    CHECK_INT(cvm_verify_key_from_pem(text, strlen(text), "keyData", &vk, &err), 0);
    CHECK_INT(cvm_verify_payload(vk, "data", 4, sig, &err), -CVM_E_FORMAT);
    CHECK_STR(tap_take_error(&err), "key 'keyData': cannot decode the 'PUBLIC KEY' PEM block");
    cvm_verify_key_free(vk);

    free(sig);
    cvm_signing_key_free(sk);
    remove_dir();
}

static int run(const char *cmd)
{
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Our signatures verify with `openssl dgst`, openssl's verify with ours, and the fingerprint
 * is the SHA-256 of the DER public key as openssl writes it. */
static void openssl_interop(void)
{
    if (run("openssl version >/dev/null 2>&1") != 0) {
        printf("# skipped: no openssl command\n");
        return;
    }
    make_dir();
    CHECK_INT(cvm_key_generate(in_dir("k"), &err), 0);
    struct cvm_signing_key *sk = NULL;
    struct cvm_verify_key *vk = NULL;
    CHECK_INT(cvm_signing_key_load(in_dir("k.key"), &sk, &err), 0);
    CHECK_INT(cvm_verify_key_load(in_dir("k.pub"), &vk, &err), 0);
    struct cvm_digest d;
    digest_of_text("m", &d);
    struct cvm_buf payload;
    cvm_buf_init(&payload, 4096);
    CHECK_INT(cvm_simple_signing_payload("localhost/hello", &d, &payload, &err), 0);
    write_text(in_dir("payload"), (const char *)payload.data, payload.len);

    char *sig = NULL;
    CHECK_INT(cvm_sign_payload(sk, payload.data, payload.len, &sig, &err), 0);
    struct cvm_buf der;
    cvm_buf_init(&der, 1024);
    CHECK_INT(cvm_sign_base64_decode(sig, strlen(sig), "sig", &der, &err), 0);
    write_text(in_dir("sig.der"), (const char *)der.data, der.len);
    CHECK_INT(
        run(tap_fmt("cd '%s' && openssl dgst -sha256 -verify k.pub -signature sig.der payload "
                    ">/dev/null",
                    dir)),
        0);
    /* openssl refuses a tampered payload: the check above is not vacuous. */
    write_text(in_dir("payload2"), "x", 1);
    CHECK(run(tap_fmt("cd '%s' && openssl dgst -sha256 -verify k.pub -signature sig.der payload2 "
                      ">/dev/null 2>&1",
                      dir)) != 0);

    /* The other way: a key and a signature from openssl. */
    CHECK_INT(run(tap_fmt("cd '%s' && openssl ecparam -name prime256v1 -genkey -out o.key && "
                          "openssl pkey -in o.key -pubout -out o.pub && "
                          "openssl dgst -sha256 -sign o.key -out o.sig payload && "
                          "openssl base64 -A -in o.sig -out o.b64 && "
                          "openssl pkey -pubin -in o.pub -outform DER | openssl dgst -sha256 -r "
                          "> o.fp",
                          dir)),
              0);
    struct cvm_verify_key *ovk = NULL;
    struct cvm_signing_key *osk = NULL;
    CHECK_INT(cvm_verify_key_load(in_dir("o.pub"), &ovk, &err), 0);
    CHECK_INT(cvm_signing_key_load(in_dir("o.key"), &osk, &err), 0);
    char line[256];
    FILE *f = fopen(in_dir("o.b64"), "r");
    CHECK(f && fgets(line, sizeof(line), f));
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    CHECK_INT(cvm_verify_payload(ovk, payload.data, payload.len, line, &err), 0);
    CHECK_INT(cvm_verify_payload(vk, payload.data, payload.len, line, &err), -CVM_E_SIGNATURE);
    tap_take_error(&err);
    f = fopen(in_dir("o.fp"), "r");
    CHECK(f && fgets(line, sizeof(line), f));
    fclose(f);
    line[64] = '\0';
    char fp[CVM_SIGN_FINGERPRINT_SIZE];
    CHECK_STR(cvm_verify_key_fingerprint(ovk, fp), tap_fmt("sha256:%s", line));
    CHECK_STR(cvm_signing_key_fingerprint(osk, fp), tap_fmt("sha256:%s", line));

    free(sig);
    cvm_buf_release(&payload);
    cvm_buf_release(&der);
    cvm_signing_key_free(sk);
    cvm_signing_key_free(osk);
    cvm_verify_key_free(vk);
    cvm_verify_key_free(ovk);
    remove_dir();
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(keygen_files),
        TAP_TEST(keygen_refuses_overwrite),
        TAP_TEST(sign_verify),
        TAP_TEST(verify_malformed_signatures),
        TAP_TEST(base64),
        TAP_TEST(payload_bytes),
        TAP_TEST(payload_matches_cosign),
        TAP_TEST(payload_parse),
        TAP_TEST(payload_parse_errors),
        TAP_TEST(keys_refused),
        TAP_TEST(keys_accepted),
        TAP_TEST(public_key_forms),
        TAP_TEST(openssl_interop),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
