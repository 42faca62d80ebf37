/* Attestation reports: the canonical payload bytes, signing and the report file, and every
 * way verification refuses a report. `test-attest --write-sample KEY OUT NONCE` writes a sample
 * report for the end-to-end tests and prints its deployment measurement. */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "attest.h"
#include "base.h"
#include "tap.h"

#define H_MANIFEST "05b3abf2579a5eb66403cd78be557fd860633a1fe2103c7642030defe32c657f"
#define H_DEPLOYMENT "aee50b18a03c89e4883a5acadf5c8614dd7fd2f111c3b616e1a8d6427edc3e3f"
#define H_HELLO "590fa9126c760528f9132c5b8840d7b1866716524760d322a2052301ae1ab571"
#define H_B "90c95846f6a8e57c86412943031c869b50f534d0b6bcfd896ec4bad480334384"
#define H_OTHER "d9298a10d1b0735837dc4bd85dac641b0f3cef27a47e5d53a54f2f3f5b2fcffa"
#define NONCE "00112233445566778899aabbccddeeff"
#define NONCE2 "ffeeddccbbaa99887766554433221100"
/* The longest valid cVM name. */
#define NAME63 "a12345678901234567890123456789012345678901234567890123456789012"
#define TIME 1700000000 /* 2023-11-14T22:13:20Z */

static char dir[64];
static struct cvm_error *err;
static struct cvm_attest_cvm sample_cvms[2];

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cvm-test-attest-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

static struct cvm_digest digest(const char *text)
{
    struct cvm_digest d;
    cvm_digest_of(text, strlen(text), &d);
    return d;
}

static struct cvm_attest_report sample(const char *nonce)
{
    sample_cvms[0] = (struct cvm_attest_cvm){"hello", digest("cvm hello")};
    sample_cvms[1] = (struct cvm_attest_cvm){"b.2_x-y", digest("cvm b")};
    return (struct cvm_attest_report){
        .image = "localhost/hello:latest@sha256:" H_MANIFEST,
        .image_digest = digest("manifest"),
        .deployment = digest("deployment"),
        .cvms = sample_cvms,
        .n_cvms = 2,
        .nonce = nonce,
        .time = TIME,
        .backend = "inproc",
        .isolating = false,
        .host_key = digest("other"),
    };
}

#define CANONICAL(nonce, host_key)                                                                 \
    "{\"version\":1,\"image\":\"localhost/hello:latest@sha256:" H_MANIFEST "\","                   \
    "\"image_digest\":\"sha256:" H_MANIFEST "\",\"deployment\":\"sha256:" H_DEPLOYMENT "\","       \
    "\"cvms\":[{\"name\":\"hello\",\"measurement\":\"sha256:" H_HELLO "\"},"                       \
    "{\"name\":\"b.2_x-y\",\"measurement\":\"sha256:" H_B "\"}],"                                  \
    "\"nonce\":\"" nonce "\",\"time\":\"2023-11-14T22:13:20Z\",\"backend\":\"inproc\","            \
    "\"isolating\":false,\"host_key\":\"" host_key "\"}"

/* The message encoding r fails with (out must stay empty), or "(encoded)". */
static const char *encode_error(const struct cvm_attest_report *r)
{
    struct cvm_buf b;
    cvm_buf_init(&b, CVM_ATTEST_REPORT_MAX);
    int ret = cvm_attest_report_encode(r, &b, &err);
    CHECK(ret < 0 || b.len > 0);
    CHECK(ret == 0 || b.len == 0);
    cvm_buf_release(&b);
    return ret == 0 ? "(encoded)" : tap_take_error(&err);
}

/* A fresh key pair under dir: the signing half loaded, the public half too. */
static void keys(const char *name, struct cvm_signing_key **sk, struct cvm_verify_key **vk)
{
    const char *prefix = tap_fmt("%s/%s", dir, name);
    CHECK(cvm_key_generate(prefix, &err) == 0);
    CHECK(cvm_signing_key_load(tap_fmt("%s.key", prefix), sk, &err) == 0);
    CHECK(cvm_verify_key_load(tap_fmt("%s.pub", prefix), vk, &err) == 0);
}

static const char *fingerprint(const struct cvm_verify_key *k)
{
    static char fp[4][CVM_SIGN_FINGERPRINT_SIZE];
    static int next;
    return cvm_verify_key_fingerprint(k, fp[next++ % 4]);
}

/* The report file bytes for r signed by k, NUL-terminated (malloc'd). */
static char *signed_file(const struct cvm_signing_key *k, const struct cvm_attest_report *r)
{
    struct cvm_buf b;
    cvm_buf_init(&b, CVM_ATTEST_REPORT_MAX);
    CHECK(cvm_attest_report_sign(k, r, &b, &err) == 0);
    char *s = strndup((const char *)b.data, b.len);
    cvm_buf_release(&b);
    CHECK(s != NULL);
    return s;
}

/* An envelope around payload text (base64-encoded here) and a signature. */
static char *envelope(const char *payload, size_t len, const char *sig)
{
    char *b64 = cvm_sign_base64_encode(payload, len);
    char *s = NULL;
    CHECK(b64 && asprintf(&s,
                          "{\"payloadType\":\"" CVM_ATTEST_PAYLOAD_TYPE
                          "\",\"payload\":\"%s\",\"signature\":\"%s\"}\n",
                          b64, sig) > 0);
    free(b64);
    return s;
}

/* An envelope around payload text, signed by k. */
static char *signed_payload(const struct cvm_signing_key *k, const char *payload)
{
    char *sig = NULL;
    CHECK(cvm_sign_payload(k, payload, strlen(payload), &sig, &err) == 0);
    char *s = envelope(payload, strlen(payload), sig);
    free(sig);
    return s;
}

static struct cvm_attest_report *verified;

/* "(verified)" or the message verification fails with. */
static const char *verify_n(const void *bytes, size_t len, const struct cvm_verify_key *k,
                            const char *nonce, const struct cvm_digest *expect)
{
    cvm_attest_report_free(verified);
    verified = NULL;
    struct cvm_attest_report *r = NULL;
    if (cvm_attest_report_verify(bytes, len, k, nonce, expect, &r, &err) < 0) {
        CHECK(r == NULL);
        return tap_take_error(&err);
    }
    verified = r;
    return "(verified)";
}

static const char *verify(const char *text, const struct cvm_verify_key *k)
{
    struct cvm_digest want = digest("deployment");
    return verify_n(text, strlen(text), k, NONCE, &want);
}

/* s with the first `from` replaced by `to` (the test's own strings: from must occur). */
static const char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    CHECK(at != NULL);
    return tap_fmt("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}

/* ---- encoding ---------------------------------------------------------------------------- */

static void encode_canonical_bytes(void)
{
    struct cvm_attest_report r = sample(NONCE);
    struct cvm_buf b;
    cvm_buf_init(&b, CVM_ATTEST_REPORT_MAX);
    CHECK(cvm_buf_append(&b, "x", 1, &err) == 0);
    CHECK(cvm_attest_report_encode(&r, &b, &err) == 0);
    CHECK_STR((const char *)b.data, "x" CANONICAL(NONCE, "sha256:" H_OTHER));
    cvm_buf_release(&b);

    r.isolating = true;
    r.n_cvms = 1;
    r.time = 0;
    r.backend = "cheri-v3_x";
    cvm_buf_init(&b, CVM_ATTEST_REPORT_MAX);
    CHECK(cvm_attest_report_encode(&r, &b, &err) == 0);
    CHECK_STR((const char *)b.data,
              replace(replace(replace(replace(CANONICAL(NONCE, "sha256:" H_OTHER),
                                              ",{\"name\":\"b.2_x-y\",\"measurement\":\"sha256:" H_B
                                              "\"}",
                                              ""),
                                      "2023-11-14T22:13:20Z", "1970-01-01T00:00:00Z"),
                              "\"inproc\"", "\"cheri-v3_x\""),
                      "\"isolating\":false", "\"isolating\":true"));
    cvm_buf_release(&b);
}

static void encode_rejects_each_field(void)
{
    struct cvm_attest_report r = sample(NONCE);
    r.image = NULL;
    CHECK_STR(encode_error(&r), "attestation report: image '(null)' is not a canonical image "
                                "reference with a digest");
    r.image = "localhost/hello:latest";
    CHECK_STR(encode_error(&r), "attestation report: image 'localhost/hello:latest' is not a "
                                "canonical image reference with a digest");
    r.image = "hello@sha256:" H_MANIFEST;
    CHECK_STR(encode_error(&r), "attestation report: image 'hello@sha256:" H_MANIFEST
                                "' is not a canonical image reference with a digest");
    r.image = "localhost/hello@sha256:" H_MANIFEST;
    CHECK_STR(encode_error(&r), "(encoded)");

    r.n_cvms = 0;
    CHECK_STR(encode_error(&r), "attestation report: 'cvms' is empty");
    struct cvm_attest_cvm many[CVM_ATTEST_CVMS_MAX + 1];
    char names[CVM_ATTEST_CVMS_MAX + 1][8];
    for (size_t i = 0; i < CVM_ATTEST_CVMS_MAX + 1; i++) {
        snprintf(names[i], sizeof(names[i]), "c%zu", i);
        many[i] = (struct cvm_attest_cvm){names[i], digest(names[i])};
    }
    r.cvms = many;
    r.n_cvms = CVM_ATTEST_CVMS_MAX;
    CHECK_STR(encode_error(&r), "(encoded)");
    r.n_cvms = CVM_ATTEST_CVMS_MAX + 1;
    CHECK_STR(encode_error(&r), "attestation report: 'cvms' has 65 entries, over the limit of 64");
    r.n_cvms = 2;
    static const char *const bad_names[] = {"", "-a", ".a", "a b", "a/b", "\x1b[31m", NAME63 "3"};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        many[1].name = bad_names[i];
        char show[128];
        snprintf(show, sizeof(show), "%s", bad_names[i][0] == '\x1b' ? "\\x1b[31m" : bad_names[i]);
        CHECK_STR(encode_error(&r),
                  tap_fmt("attestation report: cvms[1].name '%s' is not 1 to 63 of [A-Za-z0-9._-] "
                          "starting with a letter or digit",
                          show));
    }
    many[1].name = NAME63;
    CHECK_STR(encode_error(&r), "(encoded)");
    many[1].name = "c0";
    CHECK_STR(encode_error(&r), "attestation report: cvms[1].name 'c0' repeats cvms[0].name");
    many[1].name = NULL;
    CHECK_STR(encode_error(&r), "attestation report: cvms[1].name '(null)' is not 1 to 63 of "
                                "[A-Za-z0-9._-] starting with a letter or digit");
    r = sample(NONCE);

    static const char *const bad_nonces[] = {"00112233445566778", "001122334455667",
                                             "00112233445566778899AABBCCDDEEFF",
                                             "0011223344556677g"};
    for (size_t i = 0; i < sizeof(bad_nonces) / sizeof(bad_nonces[0]); i++) {
        r.nonce = bad_nonces[i];
        const char *want = tap_fmt(
            "attestation report: nonce '%s' is not 16 to 128 lowercase hex digits", bad_nonces[i]);
        CHECK_STR(encode_error(&r), i == 0 ? "(encoded)" : want);
    }
    r.nonce = NULL;
    CHECK_STR(encode_error(&r),
              "attestation report: nonce '(null)' is not 16 to 128 lowercase hex digits");
    r.nonce = NONCE;

    r.time = -1;
    CHECK_STR(encode_error(&r), "attestation report: time -1 is outside 1970-01-01 to 9999-12-31");
    r.time = CVM_ATTEST_TIME_MAX + 1;
    CHECK_STR(encode_error(&r),
              "attestation report: time 253402300800 is outside 1970-01-01 to 9999-12-31");
    r.time = CVM_ATTEST_TIME_MAX;
    CHECK_STR(encode_error(&r), "(encoded)");

    static const char *const bad_backends[] = {"", "InProc", "in proc",
                                               "a23456789012345678901234567890123"};
    for (size_t i = 0; i < sizeof(bad_backends) / sizeof(bad_backends[0]); i++) {
        r.backend = bad_backends[i];
        CHECK_STR(encode_error(&r),
                  tap_fmt("attestation report: backend '%s' is not 1 to 32 of [a-z0-9_-]",
                          bad_backends[i]));
    }
    r.backend = "a2345678901234567890123456789012";
    CHECK_STR(encode_error(&r), "(encoded)");
}

static void time_and_nonce_forms(void)
{
    char t[CVM_ATTEST_TIME_SIZE];
    CHECK_STR(cvm_attest_time_format(0, t), "1970-01-01T00:00:00Z");
    CHECK_STR(cvm_attest_time_format(TIME, t), "2023-11-14T22:13:20Z");
    CHECK_STR(cvm_attest_time_format(951782400, t), "2000-02-29T00:00:00Z");
    CHECK_STR(cvm_attest_time_format(CVM_ATTEST_TIME_MAX, t), "9999-12-31T23:59:59Z");
    CHECK(cvm_attest_time_format(CVM_ATTEST_TIME_MAX + 1, t) == NULL);
    CHECK(cvm_attest_time_format(-1, t) == NULL);

    char n[CVM_ATTEST_NONCE_MAX + 1];
    CHECK(cvm_attest_nonce_parse("00112233445566778899AaBbCcDdEeFf", n, &err) == 0);
    CHECK_STR(n, NONCE);
    char longest[CVM_ATTEST_NONCE_MAX + 2];
    memset(longest, 'A', CVM_ATTEST_NONCE_MAX);
    longest[CVM_ATTEST_NONCE_MAX] = '\0';
    CHECK(cvm_attest_nonce_parse(longest, n, &err) == 0);
    CHECK_INT(strlen(n), 128);
    CHECK(n[0] == 'a' && n[127] == 'a');
    CHECK(cvm_attest_nonce_parse("0123456789abcdef", n, &err) == 0);
    CHECK_STR(n, "0123456789abcdef");
    strcpy(n, "unchanged");
    longest[CVM_ATTEST_NONCE_MAX] = 'a';
    longest[CVM_ATTEST_NONCE_MAX + 1] = '\0';
    CHECK_INT(cvm_attest_nonce_parse(longest, n, &err), -CVM_E_USAGE);
    CHECK_STR(tap_take_error(&err),
              tap_fmt("nonce '%.80s...' is not 16 to 128 hex digits", longest));
    CHECK_INT(cvm_attest_nonce_parse("0123456789abcde", n, &err), -CVM_E_USAGE);
    CHECK_STR(tap_take_error(&err), "nonce '0123456789abcde' is not 16 to 128 hex digits");
    CHECK_INT(cvm_attest_nonce_parse("0123456789abcdeg", n, &err), -CVM_E_USAGE);
    CHECK_STR(tap_take_error(&err), "nonce '0123456789abcdeg' is not 16 to 128 hex digits");
    CHECK_INT(cvm_attest_nonce_parse("0x23456789abcdef", n, &err), -CVM_E_USAGE);
    CHECK_STR(tap_take_error(&err), "nonce '0x23456789abcdef' is not 16 to 128 hex digits");
    CHECK_INT(cvm_attest_nonce_parse("0123456789abcde\n", n, &err), -CVM_E_USAGE);
    CHECK_STR(tap_take_error(&err), "nonce '0123456789abcde\\x0a' is not 16 to 128 hex digits");
    CHECK_STR(n, "unchanged");
}

/* ---- signing and verifying --------------------------------------------------------------- */

static void sign_and_verify_round_trip(void)
{
    make_dir();
    struct cvm_signing_key *sk = NULL;
    struct cvm_verify_key *vk = NULL;
    keys("host", &sk, &vk);
    struct cvm_attest_report r = sample(NONCE);
    char *file = signed_file(sk, &r);
    const char *head =
        "{\"payloadType\":\"application/vnd.cvmctl.attestation.v1+json\",\"payload\":\"";
    CHECK(strncmp(file, head, strlen(head)) == 0);
    CHECK(strlen(file) < 2000 && strcmp(file + strlen(file) - 3, "\"}\n") == 0);
    /* The payload is the canonical encoding with this key's fingerprint. */
    const char *b64 = file + strlen(head);
    size_t b64_len = strcspn(b64, "\"");
    struct cvm_buf payload;
    cvm_buf_init(&payload, CVM_ATTEST_REPORT_MAX);
    CHECK(cvm_sign_base64_decode(b64, b64_len, "payload", &payload, &err) == 0);
    CHECK_STR((const char *)payload.data,
              replace(CANONICAL(NONCE, "sha256:" H_OTHER), "sha256:" H_OTHER, fingerprint(vk)));
    /* Then the signature, and nothing else. */
    const char *rest = b64 + b64_len;
    const char *sig_key = "\",\"signature\":\"";
    CHECK(strncmp(rest, sig_key, strlen(sig_key)) == 0);
    rest += strlen(sig_key);
    size_t sig_len =
        strspn(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");
    CHECK(sig_len >= 88 && sig_len <= 96);
    CHECK_STR(rest + sig_len, "\"}\n");
    cvm_buf_release(&payload);

    CHECK_STR(verify(file, vk), "(verified)");
    CHECK_STR(verified->image, "localhost/hello:latest@sha256:" H_MANIFEST);
    struct cvm_digest d = digest("manifest");
    CHECK(cvm_digest_equal(&verified->image_digest, &d));
    d = digest("deployment");
    CHECK(cvm_digest_equal(&verified->deployment, &d));
    CHECK_INT(verified->n_cvms, 2);
    CHECK_STR(verified->cvms[0].name, "hello");
    CHECK_STR(verified->cvms[1].name, "b.2_x-y");
    d = digest("cvm hello");
    CHECK(cvm_digest_equal(&verified->cvms[0].measurement, &d));
    d = digest("cvm b");
    CHECK(cvm_digest_equal(&verified->cvms[1].measurement, &d));
    CHECK_STR(verified->nonce, NONCE);
    CHECK_INT(verified->time, TIME);
    CHECK_STR(verified->backend, "inproc");
    CHECK(!verified->isolating);
    char fp[CVM_DIGEST_STR_SIZE];
    CHECK_STR(cvm_digest_format(&verified->host_key, fp), fingerprint(vk));

    /* The nonce may be given in either case; the trailing newline is not significant. */
    d = digest("deployment");
    CHECK_STR(verify_n(file, strlen(file), vk, "00112233445566778899AABBCCDDEEFF", &d),
              "(verified)");
    CHECK_STR(verify_n(file, strlen(file) - 1, vk, NONCE, &d), "(verified)");
    /* The same report signed again is another file (ECDSA is randomised) that verifies. */
    char *again = signed_file(sk, &r);
    CHECK(strcmp(again, file) != 0);
    CHECK_STR(verify(again, vk), "(verified)");
    cvm_attest_report_free(verified);
    verified = NULL;
    free(again);
    free(file);
    cvm_signing_key_free(sk);
    cvm_verify_key_free(vk);
    remove_dir();
}

static void sign_refuses_a_bad_report(void)
{
    make_dir();
    struct cvm_signing_key *sk = NULL;
    struct cvm_verify_key *vk = NULL;
    keys("host", &sk, &vk);
    struct cvm_attest_report r = sample("x");
    struct cvm_buf b;
    cvm_buf_init(&b, CVM_ATTEST_REPORT_MAX);
    CHECK_INT(cvm_attest_report_sign(sk, &r, &b, &err), -CVM_E_USAGE);
    CHECK_STR(tap_take_error(&err),
              "attestation report: nonce 'x' is not 16 to 128 lowercase hex digits");
    CHECK_INT(b.len, 0);
    cvm_buf_release(&b);
    cvm_signing_key_free(sk);
    cvm_verify_key_free(vk);
    remove_dir();
}

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    CHECK(d != NULL);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void write_is_atomic_and_public(void)
{
    make_dir();
    struct cvm_signing_key *sk = NULL;
    struct cvm_verify_key *vk = NULL;
    keys("host", &sk, &vk);
    CHECK(mkdir(tap_fmt("%s/out", dir), 0755) == 0);
    const char *path = tap_fmt("%s/out/report.json", dir);
    struct cvm_attest_report r = sample(NONCE);
    mode_t old = umask(077);
    CHECK(cvm_attest_report_write(path, sk, &r, &err) == 0);
    umask(old);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    CHECK_INT(st.st_mode & 07777, 0644);
    CHECK_INT(count_entries(tap_fmt("%s/out", dir)), 1);
    struct cvm_buf b;
    cvm_buf_init(&b, CVM_ATTEST_REPORT_MAX);
    CHECK(cvm_buf_read_file(&b, AT_FDCWD, path, &err) == 0);
    CHECK_STR(verify((const char *)b.data, vk), "(verified)");
    cvm_buf_release(&b);

    /* Replacing a report; then a report that cannot be encoded leaves the old one alone. */
    r.nonce = NONCE2;
    CHECK(cvm_attest_report_write(path, sk, &r, &err) == 0);
    cvm_buf_init(&b, CVM_ATTEST_REPORT_MAX);
    CHECK(cvm_buf_read_file(&b, AT_FDCWD, path, &err) == 0);
    struct cvm_digest d = digest("deployment");
    CHECK_STR(verify_n(b.data, b.len, vk, NONCE2, &d), "(verified)");
    r.backend = "";
    CHECK_INT(cvm_attest_report_write(path, sk, &r, &err), -CVM_E_USAGE);
    CHECK_STR(tap_take_error(&err), "attestation report: backend '' is not 1 to 32 of [a-z0-9_-]");
    struct cvm_buf b2;
    cvm_buf_init(&b2, CVM_ATTEST_REPORT_MAX);
    CHECK(cvm_buf_read_file(&b2, AT_FDCWD, path, &err) == 0);
    CHECK(b.len == b2.len && memcmp(b.data, b2.data, b.len) == 0);
    cvm_buf_release(&b);
    cvm_buf_release(&b2);
    CHECK_INT(count_entries(tap_fmt("%s/out", dir)), 1);

    /* A folder that does not exist, and a path that is a folder: nothing is left behind. */
    r.backend = "inproc";
    CHECK_INT(cvm_attest_report_write(tap_fmt("%s/none/r.json", dir), sk, &r, &err), -CVM_E_SYSTEM);
    CHECK_STR(tap_take_error(&err),
              tap_fmt("cannot write report '%s/none/r.json': No such file or directory", dir));
    CHECK(mkdir(tap_fmt("%s/out/sub", dir), 0755) == 0);
    CHECK_INT(cvm_attest_report_write(tap_fmt("%s/out/sub", dir), sk, &r, &err), -CVM_E_SYSTEM);
    CHECK_STR(tap_take_error(&err),
              tap_fmt("cannot write report '%s/out/sub': Is a directory", dir));
    CHECK_INT(count_entries(tap_fmt("%s/out", dir)), 2);
    CHECK_INT(count_entries(tap_fmt("%s/out/sub", dir)), 0);
    cvm_attest_report_free(verified);
    verified = NULL;
    cvm_signing_key_free(sk);
    cvm_verify_key_free(vk);
    remove_dir();
}

/* The base64 between the quotes after `member` in file, decoded, changed by fn and encoded
 * again into a new file (malloc'd). */
static char *tamper(const char *file, const char *member, void (*fn)(struct cvm_buf *))
{
    const char *key = tap_fmt("\"%s\":\"", member);
    const char *at = strstr(file, key);
    CHECK(at != NULL);
    at += strlen(key);
    size_t n = strcspn(at, "\"");
    struct cvm_buf b;
    cvm_buf_init(&b, CVM_ATTEST_REPORT_MAX);
    CHECK(cvm_sign_base64_decode(at, n, member, &b, &err) == 0);
    fn(&b);
    char *b64 = cvm_sign_base64_encode(b.data, b.len);
    cvm_buf_release(&b);
    char *out = NULL;
    CHECK(b64 && asprintf(&out, "%.*s%s%s", (int)(at - file), file, b64, at + n) > 0);
    free(b64);
    return out;
}

static void flip_nonce_digit(struct cvm_buf *b)
{
    char *p = strstr((char *)b->data, NONCE);
    CHECK(p != NULL);
    p[0] = '1';
}

static void flip_last_byte(struct cvm_buf *b)
{
    b->data[b->len - 1] ^= 1;
}

static void flip_first_byte(struct cvm_buf *b)
{
    b->data[0] ^= 0x80;
}

static void drop_last_byte(struct cvm_buf *b)
{
    b->len--;
}

static void tampered_reports_fail(void)
{
    make_dir();
    struct cvm_signing_key *sk = NULL;
    struct cvm_verify_key *vk = NULL;
    keys("host", &sk, &vk);
    struct cvm_attest_report r = sample(NONCE);
    char *file = signed_file(sk, &r);
    char bad_sig[128];
    snprintf(bad_sig, sizeof(bad_sig), "signature does not verify with key %s", fingerprint(vk));
    char *t = tamper(file, "payload", flip_nonce_digit);
    CHECK_STR(verify(t, vk), bad_sig);
    free(t);
    t = tamper(file, "payload", flip_last_byte);
    CHECK_STR(verify(t, vk), bad_sig);
    free(t);
    t = tamper(file, "payload", drop_last_byte);
    CHECK_STR(verify(t, vk), bad_sig);
    free(t);
    t = tamper(file, "signature", flip_last_byte);
    CHECK_STR(verify(t, vk), bad_sig);
    free(t);
    t = tamper(file, "signature", flip_first_byte);
    CHECK_STR(verify(t, vk), bad_sig);
    free(t);
    t = tamper(file, "signature", drop_last_byte);
    CHECK_STR(verify(t, vk), bad_sig);
    free(t);

    /* Every byte of the file changed in turn, except whitespace JSON ignores, is refused. */
    size_t len = strlen(file);
    struct cvm_digest d = digest("deployment");
    for (size_t i = 0; i + 1 < len; i++) {
        char *copy = strdup(file);
        CHECK(copy != NULL);
        copy[i] = copy[i] == 'A' ? 'B' : 'A';
        if (strcmp(verify_n(copy, len, vk, NONCE, &d), "(verified)") == 0) {
            printf("# byte %zu changed, still verified\n", i);
            exit(1);
        }
        free(copy);
    }
    /* ... and so is every truncation. */
    for (size_t i = 0; i + 1 < len; i++)
        if (strcmp(verify_n(file, i, vk, NONCE, &d), "(verified)") == 0) {
            printf("# truncated to %zu bytes, still verified\n", i);
            exit(1);
        }
    CHECK_STR(verify_n(file, 0, vk, NONCE, &d),
              "invalid JSON at line 1, column 0: '[' or '{' expected near end of file");
    CHECK_STR(verify_n(file, 20, vk, NONCE, &d),
              "invalid JSON at line 1, column 20: premature end of input near '\"appl'");
    CHECK_STR(verify_n(file, len - 3, vk, NONCE, &d),
              tap_fmt("invalid JSON at line 1, column %zu: premature end of input", len - 3));
    free(file);
    cvm_signing_key_free(sk);
    cvm_verify_key_free(vk);
    remove_dir();
}

static void wrong_nonce_expectation_and_key(void)
{
    make_dir();
    struct cvm_signing_key *sk = NULL, *sk2 = NULL;
    struct cvm_verify_key *vk = NULL, *vk2 = NULL;
    keys("host", &sk, &vk);
    keys("other", &sk2, &vk2);
    struct cvm_attest_report r = sample(NONCE);
    char *file = signed_file(sk, &r);
    struct cvm_digest d = digest("deployment"), o = digest("other");
    CHECK_STR(verify_n(file, strlen(file), vk, NONCE2, &d),
              "nonce is '" NONCE "', expected '" NONCE2 "'");
    CHECK_STR(verify_n(file, strlen(file), vk, "00112233445566778899aabbccddeeff00", &d),
              "nonce is '" NONCE "', expected '00112233445566778899aabbccddeeff00'");
    CHECK_STR(verify_n(file, strlen(file), vk, NONCE, &o),
              "deployment measurement is sha256:" H_DEPLOYMENT ", expected sha256:" H_OTHER);
    /* The nonce is checked before the measurement. */
    CHECK_STR(verify_n(file, strlen(file), vk, NONCE2, &o),
              "nonce is '" NONCE "', expected '" NONCE2 "'");
    CHECK_STR(verify(file, vk2), tap_fmt("signature does not verify with key %s: the report "
                                         "names host key %s",
                                         fingerprint(vk2), fingerprint(vk)));
    /* Misuse: a malformed nonce argument or no expectation. */
    CHECK_STR(verify_n(file, strlen(file), vk, "0011", &d),
              "nonce '0011' is not 16 to 128 hex digits");
    CHECK_STR(verify_n(file, strlen(file), vk, NULL, &d), "nonce '' is not 16 to 128 hex digits");
    CHECK_STR(verify_n(file, strlen(file), vk, NONCE, NULL),
              "no expected deployment measurement given");
    free(file);
    cvm_signing_key_free(sk);
    cvm_verify_key_free(vk);
    cvm_signing_key_free(sk2);
    cvm_verify_key_free(vk2);
    remove_dir();
}

static void huge_and_garbage_files(void)
{
    make_dir();
    struct cvm_signing_key *sk = NULL;
    struct cvm_verify_key *vk = NULL;
    keys("host", &sk, &vk);
    struct cvm_digest d = digest("deployment");
    char *big = malloc(CVM_ATTEST_REPORT_MAX + 1);
    CHECK(big != NULL);
    memset(big, ' ', CVM_ATTEST_REPORT_MAX + 1);
    CHECK_STR(verify_n(big, CVM_ATTEST_REPORT_MAX + 1, vk, NONCE, &d),
              "65537 bytes, over the limit of 65536");
    CHECK_STR(verify_n(big, CVM_ATTEST_REPORT_MAX, vk, NONCE, &d),
              "invalid JSON at line 1, column 65536: '[' or '{' expected near end of file");
    free(big);
    CHECK_STR(verify("not json", vk), "invalid JSON at line 1, column 3: '[' or '{' expected near "
                                      "'not'");
    CHECK_STR(verify("\x1b[2J", vk),
              "invalid JSON at line 1, column 1: '[' or '{' expected near '\\x1b'");
    CHECK_STR(verify_n("{\0}", 3, vk, NONCE, &d),
              "invalid JSON at line 1, column 2: string or '}' expected near end of file");
    CHECK_STR(verify("[]", vk), "must be a JSON object");
    CHECK_STR(verify("{}", vk), "missing 'payloadType'");
    CHECK_STR(verify("{\"payloadType\":1}", vk), "'payloadType' must be a string");
    CHECK_STR(verify("{\"payloadType\":\"x\",\"payload\":\"e30=\",\"signature\":\"\"}", vk),
              "payloadType is 'x', expected 'application/vnd.cvmctl.attestation.v1+json'");
    const char *type = "{\"payloadType\":\"" CVM_ATTEST_PAYLOAD_TYPE "\"";
    CHECK_STR(verify(tap_fmt("%s}", type), vk), "missing 'payload'");
    CHECK_STR(verify(tap_fmt("%s,\"payload\":[]}", type), vk), "'payload' must be a string");
    CHECK_STR(verify(tap_fmt("%s,\"payload\":\"e30=\"}", type), vk), "missing 'signature'");
    CHECK_STR(verify(tap_fmt("%s,\"payload\":\"e30=\",\"signature\":null}", type), vk),
              "'signature' must be a string");
    CHECK_STR(verify(tap_fmt("%s,\"payload\":\"\",\"signature\":\"AAAA\"}", type), vk),
              "payload is empty");
    CHECK_STR(verify(tap_fmt("%s,\"payload\":\"e30\",\"signature\":\"AAAA\"}", type), vk),
              "payload is not valid base64");
    CHECK_STR(verify(tap_fmt("%s,\"payload\":\"e3 0=\",\"signature\":\"AAAA\"}", type), vk),
              "payload is not valid base64");
    CHECK_STR(verify(tap_fmt("%s,\"payload\":\"e30=\",\"signature\":\"\"}", type), vk),
              "signature is empty");
    CHECK_STR(verify(tap_fmt("%s,\"payload\":\"e30=\",\"signature\":\"AA=A\"}", type), vk),
              "signature is not valid base64");
    CHECK_STR(verify(tap_fmt("%s,\"payload\":\"e30=\",\"signature\":\"AAAA\"}", type), vk),
              tap_fmt("signature does not verify with key %s", fingerprint(vk)));
    CHECK_STR(verify(tap_fmt("%s,\"payload\":\"e30=\",\"signature\":\"AAAA\",\"x\":1}", type), vk),
              "unknown key 'x'");
    CHECK_STR(verify(tap_fmt("%s,\"payloadType\":\"x\"}", type), vk),
              "invalid JSON at line 1, column 73: duplicate object key near "
              "'\"payloadType\"'");
    CHECK_STR(verify(tap_fmt("%s,\"payload\":\"e30=\",\"signature\":\"AAAA\"} x", type), vk),
              "invalid JSON at line 1, column 98: end of file expected near 'x'");
    char long_sig[CVM_SIGN_B64_MAX + 8];
    memset(long_sig, 'A', CVM_SIGN_B64_MAX + 4);
    long_sig[CVM_SIGN_B64_MAX + 4] = '\0';
    CHECK_STR(verify(tap_fmt("%s,\"payload\":\"eA==\",\"signature\":\"%s\"}", type, long_sig), vk),
              "signature is over the limit of 1024 characters");
    cvm_signing_key_free(sk);
    cvm_verify_key_free(vk);
    remove_dir();
}

/* Payloads a key holder might sign by mistake: each is refused, naming the place. */
static void signed_malformed_payloads(void)
{
    make_dir();
    struct cvm_signing_key *sk = NULL;
    struct cvm_verify_key *vk = NULL;
    keys("host", &sk, &vk);
    char good[2048];
    snprintf(good, sizeof(good), "%s",
             replace(CANONICAL(NONCE, "sha256:" H_OTHER), "sha256:" H_OTHER, fingerprint(vk)));
    static const struct {
        const char *from, *to, *want;
    } cases[] = {
        {"{\"version\":1", "[{\"version\":1",
         "payload: invalid JSON at line 1, column 711: ']' "
         "expected near end of file"},
        {"{\"version\":1", "{\"version\":1,\"version\":1",
         "payload: invalid JSON at line 1, column 22: duplicate object key near '\"version\"'"},
        {"{\"version\":1", "{\"version\":2", "payload: version is 2, expected 1"},
        {"{\"version\":1", "{\"version\":1.0", "payload: 'version' must be an integer"},
        {"{\"version\":1", "{\"version\":\"1\"", "payload: 'version' must be an integer"},
        {"{\"version\":1", "{\"version\":1,\"extra\":null", "payload: unknown key 'extra'"},
        {"{\"version\":1", "{\"version\":1,\"\\u001b\":0", "payload: unknown key '\\x1b'"},
        {"{\"version\":1,", "{", "payload: missing 'version'"},
        {"{\"version\":1,", "{ \"version\": 1,",
         "payload: not in canonical form (specs/attestation.md §2)"},
        {"\"isolating\":false", "\"isolating\":false ",
         "payload: not in canonical form (specs/attestation.md §2)"},
        {"\"time\":\"2023-11-14T22:13:20Z\",", "", "payload: missing 'time'"},
        {"\"backend\":\"inproc\",\"isolating\":false", "\"isolating\":false,\"backend\":\"inproc\"",
         "payload: not in canonical form (specs/attestation.md §2)"},
        {"localhost/hello:latest@", "localhost/hello:latest",
         "payload: image "
         "'localhost/hello:latestsha256:05b3abf2579a5eb66403cd78be557fd860633a1fe2103c76420...' "
         "is not a canonical image "
         "reference with a digest"},
        {"\"image\":\"", "\"image\":\"\\u00e9",
         "payload: image '\\xc3\\xa9localhost/hello:latest@sha256:05b3abf2579a5eb66403cd78be557fd8"
         "60633a1fe2103c76...' is not a canonical image reference with a digest"},
        {"\"image_digest\":\"sha256:0", "\"image_digest\":\"sha256:A",
         "payload: image_digest "
         "'sha256:A5b3abf2579a5eb66403cd78be557fd860633a1fe2103c7642030defe32c"
         "657f' is not 'sha256:<64 lowercase hex digits>'"},
        {"\"deployment\":\"sha256:", "\"deployment\":\"sha512:",
         "payload: deployment 'sha512:" H_DEPLOYMENT "' is not 'sha256:<64 lowercase hex digits>'"},
        {"\"deployment\":\"sha256:" H_DEPLOYMENT "\"", "\"deployment\":null",
         "payload: 'deployment' must be a string"},
        {"\"cvms\":[", "\"cvms\":{\"x\":[",
         "payload: invalid JSON at line 1, column 715: '}' expected near end of file"},
        {"\"cvms\":[{\"name\":\"hello\",\"measurement\":\"sha256:" H_HELLO "\"},"
         "{\"name\":\"b.2_x-y\",\"measurement\":\"sha256:" H_B "\"}]",
         "\"cvms\":{}", "payload: 'cvms' must be an array"},
        {"\"cvms\":[{\"name\":\"hello\",\"measurement\":\"sha256:" H_HELLO "\"},"
         "{\"name\":\"b.2_x-y\",\"measurement\":\"sha256:" H_B "\"}]",
         "\"cvms\":[]", "payload: 'cvms' is empty"},
        {"\"cvms\":[", "\"cvms\":[7,", "payload: cvms[0]: must be an object"},
        {"{\"name\":\"b.2_x-y\"", "{\"name\":\"b.2_x-y\",\"extra\":1",
         "payload: cvms[1]: unknown key 'extra'"},
        {"{\"name\":\"b.2_x-y\",", "{", "payload: cvms[1]: missing 'name'"},
        {"{\"name\":\"b.2_x-y\"", "{\"name\":true", "payload: cvms[1]: 'name' must be a string"},
        {"\"measurement\":\"sha256:" H_B, "\"measurement\":\"sha256:",
         "payload: cvms[1]: measurement 'sha256:' is not 'sha256:<64 lowercase hex digits>'"},
        {"\"b.2_x-y\"", "\"hello\"", "payload: cvms[1].name 'hello' repeats cvms[0].name"},
        {"\"b.2_x-y\"", "\"b/2\"",
         "payload: cvms[1].name 'b/2' is not 1 to 63 of [A-Za-z0-9._-] starting with a letter or "
         "digit"},
        {"\"name\":\"hello\"", "\"name\":\"hello\\u0000\"",
         "payload: invalid JSON at line 1, column 323: \\u0000 is not allowed without "
         "JSON_ALLOW_NUL near '\"hello\\u0000\"'"},
        {NONCE, "00112233445566778899AABBCCDDEEFF",
         "payload: nonce '00112233445566778899AABBCCDDEEFF' is not 16 to 128 lowercase hex "
         "digits"},
        {NONCE, "", "payload: nonce '' is not 16 to 128 lowercase hex digits"},
        {"2023-11-14T22:13:20Z", "2023-02-29T22:13:20Z",
         "payload: time '2023-02-29T22:13:20Z' is not an RFC 3339 UTC time (YYYY-MM-DDThh:mm:ssZ)"},
        {"2023-11-14T22:13:20Z", "2023-11-14T22:13:20+00:00",
         "payload: time '2023-11-14T22:13:20+00:00' is not an RFC 3339 UTC time "
         "(YYYY-MM-DDThh:mm:ssZ)"},
        {"2023-11-14T22:13:20Z", "2023-11-14T22:13:60Z",
         "payload: time '2023-11-14T22:13:60Z' is not an RFC 3339 UTC time (YYYY-MM-DDThh:mm:ssZ)"},
        {"2023-11-14T22:13:20Z", "1969-12-31T23:59:59Z",
         "payload: time '1969-12-31T23:59:59Z' is not an RFC 3339 UTC time (YYYY-MM-DDThh:mm:ssZ)"},
        {"2023-11-14T22:13:20Z", "2023-11-14t22:13:20z",
         "payload: time '2023-11-14t22:13:20z' is not an RFC 3339 UTC time (YYYY-MM-DDThh:mm:ssZ)"},
        {"\"inproc\"", "\"in\\u0000proc\"",
         "payload: invalid JSON at line 1, column 612: \\u0000 is not allowed without "
         "JSON_ALLOW_NUL near '\"in\\u0000proc\"'"},
        {"\"inproc\"", "\"in-proc\"", "(verified)"},
        {"\"isolating\":false", "\"isolating\":0", "payload: 'isolating' must be a boolean"},
        {"\"isolating\":false", "\"isolating\":true", "(verified)"},
        {"\"host_key\":\"", "\"host_key\":1,\"x\":\"", "payload: unknown key 'x'"},
    };
    struct cvm_digest d = digest("deployment");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *payload = replace(good, cases[i].from, cases[i].to);
        char *file = signed_payload(sk, payload);
        const char *got = verify_n(file, strlen(file), vk, NONCE, &d);
        if (strcmp(got, cases[i].want) != 0) {
            printf("# case %zu: %s\n#   is '%s'\n#   expected '%s'\n", i, payload, got,
                   cases[i].want);
            exit(1);
        }
        free(file);
    }

    /* A payload that names another host key than the one that signed it. */
    char *file = signed_payload(sk, CANONICAL(NONCE, "sha256:" H_OTHER));
    CHECK_STR(verify(file, vk),
              tap_fmt("payload: host_key is sha256:" H_OTHER ", but the report is signed by key %s",
                      fingerprint(vk)));
    free(file);
    /* A cosign payload signed by the same key is no report. */
    file = signed_payload(sk, "{\"critical\":{\"identity\":{\"docker-reference\":\"localhost/"
                              "hello\"},\"image\":{\"docker-manifest-digest\":\"sha256:" H_MANIFEST
                              "\"},\"type\":\"cosign container image signature\"},"
                              "\"optional\":null}");
    CHECK_STR(verify(file, vk), "payload: unknown key 'critical'");
    free(file);

    /* 65 cVMs. */
    struct cvm_buf many;
    cvm_buf_init(&many, CVM_ATTEST_REPORT_MAX);
    CHECK(cvm_buf_append(&many, "[", 1, &err) == 0);
    for (int i = 0; i < 65; i++) {
        const char *e =
            tap_fmt("%s{\"name\":\"c%d\",\"measurement\":\"sha256:" H_B "\"}", i ? "," : "", i);
        CHECK(cvm_buf_append(&many, e, strlen(e), &err) == 0);
    }
    CHECK(cvm_buf_append(&many, "]", 2, &err) == 0);
    const char *cvms = "[{\"name\":\"hello\",\"measurement\":\"sha256:" H_HELLO "\"},"
                       "{\"name\":\"b.2_x-y\",\"measurement\":\"sha256:" H_B "\"}]";
    const char *at = strstr(good, cvms);
    CHECK(at != NULL);
    char *payload = NULL;
    CHECK(asprintf(&payload, "%.*s%s%s", (int)(at - good), good, (const char *)many.data,
                   at + strlen(cvms)) > 0);
    file = signed_payload(sk, payload);
    CHECK_STR(verify(file, vk), "payload: 'cvms' has 65 entries, over the limit of 64");
    free(file);
    free(payload);
    cvm_buf_release(&many);
    cvm_attest_report_free(verified);
    verified = NULL;
    cvm_signing_key_free(sk);
    cvm_verify_key_free(vk);
    remove_dir();
}

static void payload_parse_unsigned(void)
{
    const char *p = CANONICAL(NONCE, "sha256:" H_OTHER);
    struct cvm_attest_report *r = NULL;
    CHECK(cvm_attest_payload_parse(p, strlen(p), &r, &err) == 0);
    struct cvm_buf b;
    cvm_buf_init(&b, CVM_ATTEST_REPORT_MAX);
    CHECK(cvm_attest_report_encode(r, &b, &err) == 0);
    CHECK_STR((const char *)b.data, p);
    cvm_buf_release(&b);
    cvm_attest_report_free(r);
    cvm_attest_report_free(NULL);
    r = NULL;
    CHECK_INT(cvm_attest_payload_parse(p, strlen(p) - 1, &r, &err), -CVM_E_FORMAT);
    CHECK_STR(tap_take_error(&err),
              "payload: invalid JSON at line 1, column 709: '}' expected near end of file");
    CHECK(r == NULL);
    CHECK_INT(cvm_attest_payload_parse(p, CVM_ATTEST_REPORT_MAX + 1, &r, &err), -CVM_E_LIMIT);
    CHECK_STR(tap_take_error(&err), "payload: 65537 bytes, over the limit of 65536");
}

/* The hook of the end-to-end tests: a sample report signed by KEY with NONCE, written to OUT;
 * prints the deployment measurement to expect. */
static int write_sample(const char *key_path, const char *out, const char *nonce_text)
{
    char nonce[CVM_ATTEST_NONCE_MAX + 1];
    struct cvm_signing_key *key = NULL;
    if (cvm_attest_nonce_parse(nonce_text, nonce, &err) < 0 ||
        cvm_signing_key_load(key_path, &key, &err) < 0) {
        fprintf(stderr, "test-attest: %s\n", tap_take_error(&err));
        return 2;
    }
    struct cvm_attest_report r = sample(nonce);
    int ret = cvm_attest_report_write(out, key, &r, &err);
    cvm_signing_key_free(key);
    if (ret < 0) {
        fprintf(stderr, "test-attest: %s\n", tap_take_error(&err));
        return 2;
    }
    char d[CVM_DIGEST_STR_SIZE];
    printf("%s\n", cvm_digest_format(&r.deployment, d));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--write-sample") == 0)
        return write_sample(argv[2], argv[3], argv[4]);
    static const struct tap_test tests[] = {
        TAP_TEST(encode_canonical_bytes),    TAP_TEST(encode_rejects_each_field),
        TAP_TEST(time_and_nonce_forms),      TAP_TEST(sign_and_verify_round_trip),
        TAP_TEST(sign_refuses_a_bad_report), TAP_TEST(write_is_atomic_and_public),
        TAP_TEST(tampered_reports_fail),     TAP_TEST(wrong_nonce_expectation_and_key),
        TAP_TEST(huge_and_garbage_files),    TAP_TEST(signed_malformed_payloads),
        TAP_TEST(payload_parse_unsigned),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
