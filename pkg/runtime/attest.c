/* Attestation reports: the canonical payload is written by hand (every string is restricted to
 * characters JSON needs no escape for, so the bytes are fixed by the fields), read back with
 * jansson, and must then re-encode to exactly the bytes that were signed. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "attest.h"
#include "base.h"
#include "reference.h"

struct cvm_attest_storage {
    char *strings; /* image, nonce, backend and every cVM name, NUL-terminated, in one block */
    struct cvm_attest_cvm *cvms;
};

CVM_DEFINE_CLEANUP(struct cvm_attest_report *, cvm_attest_report_free)

void cvm_attest_report_free(struct cvm_attest_report *r)
{
    if (!r)
        return;
    if (r->storage) {
        free(r->storage->strings);
        free(r->storage->cvms);
        free(r->storage);
    }
    free(r);
}

/* Untrusted strings in messages (cvm_shown): a hostile report cannot put escape sequences
 * on the user's terminal. */
#define SHOWN_MAX 80
#define SHOWN_SIZE CVM_SHOWN_SIZE(SHOWN_MAX)
static const char *shown(const char *s, char out[SHOWN_SIZE])
{
    return cvm_shown(s, SHOWN_MAX, out);
}

/* ---- field constraints (specs/attestation.md §2) ----------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_lower_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f');
}

static bool name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CVM_ATTEST_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

static bool backend_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CVM_ATTEST_BACKEND_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'z') && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

static bool nonce_valid(const char *s)
{
    size_t n = strnlen(s, CVM_ATTEST_NONCE_MAX + 1);
    if (n < CVM_ATTEST_NONCE_MIN || n > CVM_ATTEST_NONCE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_hex(s[i]))
            return false;
    return true;
}

/* A reference that parses, carries a digest and is written the canonical way: then it holds
 * no character JSON would escape. */
static bool image_valid(const char *s)
{
    if (strnlen(s, CVM_REFERENCE_MAX + 1) > CVM_REFERENCE_MAX)
        return false;
    CVM_AUTO(cvm_reference_free) struct cvm_reference *ref = NULL;
    if (cvm_reference_parse(s, &ref, NULL) < 0 || !ref->has_digest)
        return false;
    CVM_AUTOFREE char *canonical = cvm_reference_format(ref);
    return canonical && strcmp(canonical, s) == 0;
}

int cvm_attest_nonce_parse(const char *text, char out[CVM_ATTEST_NONCE_MAX + 1],
                           struct cvm_error **err)
{
    char lower[CVM_ATTEST_NONCE_MAX + 1];
    size_t n = strnlen(text, CVM_ATTEST_NONCE_MAX + 1);
    bool ok = n >= CVM_ATTEST_NONCE_MIN && n <= CVM_ATTEST_NONCE_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        char c = text[i] >= 'A' && text[i] <= 'F' ? (char)(text[i] - 'A' + 'a') : text[i];
        ok = is_lower_hex(c);
        lower[i] = c;
    }
    if (!ok) {
        char show[SHOWN_SIZE];
        return cvm_error_set(err, CVM_E_USAGE, "nonce '%s' is not %d to %d hex digits",
                             shown(text, show), CVM_ATTEST_NONCE_MIN, CVM_ATTEST_NONCE_MAX);
    }
    memcpy(out, lower, n);
    out[n] = '\0';
    return 0;
}

char *cvm_attest_time_format(int64_t t, char out[CVM_ATTEST_TIME_SIZE])
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t < 0 || t > CVM_ATTEST_TIME_MAX || !gmtime_r(&tt, &tm))
        return NULL;
    /* In range, every field fits its width; the modulos tell the compiler so. */
    snprintf(out, CVM_ATTEST_TIME_SIZE, "%04u-%02u-%02uT%02u:%02u:%02uZ",
             (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
             (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u, (unsigned)tm.tm_min % 100u,
             (unsigned)tm.tm_sec % 100u);
    return out;
}

/* "YYYY-MM-DDThh:mm:ssZ" of a real instant (no February 30th, no leap second) to seconds. */
static int time_parse(const char *s, int64_t *ret)
{
    static const char form[] = "dddd-dd-ddTdd:dd:ddZ";
    if (strlen(s) != sizeof(form) - 1)
        return -1;
    for (size_t i = 0; form[i]; i++)
        if (form[i] == 'd' ? !is_digit(s[i]) : s[i] != form[i])
            return -1;
    int year = atoi(s), month = atoi(s + 5), day = atoi(s + 8);
    struct tm tm = {
        .tm_year = year - 1900,
        .tm_mon = month - 1,
        .tm_mday = day,
        .tm_hour = atoi(s + 11),
        .tm_min = atoi(s + 14),
        .tm_sec = atoi(s + 17),
    };
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 59)
        return -1;
    time_t t = timegm(&tm);
    char back[CVM_ATTEST_TIME_SIZE];
    if (!cvm_attest_time_format((int64_t)t, back) || strcmp(back, s) != 0)
        return -1;
    *ret = (int64_t)t;
    return 0;
}

/* The constraints of every field; `class` and `prefix` say whose mistake a failure is: the
 * caller's (encoding) or the report's (parsing). */
static int report_check(const struct cvm_attest_report *r, enum cvm_error_class class,
                        const char *prefix, struct cvm_error **err)
{
    char show[SHOWN_SIZE], show2[SHOWN_SIZE];
    if (!r->image || !image_valid(r->image))
        return cvm_error_set(err, class,
                             "%simage '%s' is not a canonical image reference with a digest",
                             prefix, r->image ? shown(r->image, show) : "(null)");
    if (r->n_cvms == 0 || !r->cvms)
        return cvm_error_set(err, class, "%s'cvms' is empty", prefix);
    if (r->n_cvms > CVM_ATTEST_CVMS_MAX)
        return cvm_error_set(err, CVM_E_LIMIT, "%s'cvms' has %zu entries, over the limit of %d",
                             prefix, r->n_cvms, CVM_ATTEST_CVMS_MAX);
    for (size_t i = 0; i < r->n_cvms; i++) {
        const char *name = r->cvms[i].name;
        if (!name || !name_valid(name))
            return cvm_error_set(err, class,
                                 "%scvms[%zu].name '%s' is not 1 to %d of [A-Za-z0-9._-] "
                                 "starting with a letter or digit",
                                 prefix, i, name ? shown(name, show) : "(null)",
                                 CVM_ATTEST_NAME_MAX);
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->cvms[j].name, name) == 0)
                return cvm_error_set(err, class, "%scvms[%zu].name '%s' repeats cvms[%zu].name",
                                     prefix, i, name, j);
    }
    if (!r->nonce || !nonce_valid(r->nonce))
        return cvm_error_set(err, class, "%snonce '%s' is not %d to %d lowercase hex digits",
                             prefix, r->nonce ? shown(r->nonce, show) : "(null)",
                             CVM_ATTEST_NONCE_MIN, CVM_ATTEST_NONCE_MAX);
    if (r->time < 0 || r->time > CVM_ATTEST_TIME_MAX)
        return cvm_error_set(err, class, "%stime %lld is outside 1970-01-01 to 9999-12-31", prefix,
                             (long long)r->time);
    if (!r->backend || !backend_valid(r->backend))
        return cvm_error_set(err, class, "%sbackend '%s' is not 1 to %d of [a-z0-9_-]", prefix,
                             r->backend ? shown(r->backend, show2) : "(null)",
                             CVM_ATTEST_BACKEND_MAX);
    return 0;
}

/* ---- encoding ---------------------------------------------------------------------------- */

static int put(struct cvm_buf *b, const char *s, struct cvm_error **err)
{
    return cvm_buf_append(b, s, strlen(s), err);
}

/* "key":"value" with a comma before it unless first; the values need no escaping. */
static int put_string(struct cvm_buf *b, const char *key, const char *value, bool first,
                      struct cvm_error **err)
{
    int r = put(b, first ? "\"" : ",\"", err);
    if (r == 0)
        r = put(b, key, err);
    if (r == 0)
        r = put(b, "\":\"", err);
    if (r == 0)
        r = put(b, value, err);
    if (r == 0)
        r = put(b, "\"", err);
    return r;
}

static int put_digest(struct cvm_buf *b, const char *key, const struct cvm_digest *d,
                      struct cvm_error **err)
{
    char s[CVM_DIGEST_STR_SIZE];
    return put_string(b, key, cvm_digest_format(d, s), false, err);
}

int cvm_attest_report_encode(const struct cvm_attest_report *r, struct cvm_buf *out,
                             struct cvm_error **err)
{
    int ret = report_check(r, CVM_E_USAGE, "attestation report: ", err);
    if (ret < 0)
        return ret;
    char time_text[CVM_ATTEST_TIME_SIZE];
    cvm_attest_time_format(r->time, time_text);
    struct cvm_buf b;
    cvm_buf_init(&b, CVM_ATTEST_REPORT_MAX);
    ret = put(&b, "{\"version\":1", err);
    if (ret == 0)
        ret = put_string(&b, "image", r->image, false, err);
    if (ret == 0)
        ret = put_digest(&b, "image_digest", &r->image_digest, err);
    if (ret == 0)
        ret = put_digest(&b, "deployment", &r->deployment, err);
    if (ret == 0)
        ret = put(&b, ",\"cvms\":[", err);
    for (size_t i = 0; ret == 0 && i < r->n_cvms; i++) {
        ret = put(&b, i ? ",{" : "{", err);
        if (ret == 0)
            ret = put_string(&b, "name", r->cvms[i].name, true, err);
        if (ret == 0)
            ret = put_digest(&b, "measurement", &r->cvms[i].measurement, err);
        if (ret == 0)
            ret = put(&b, "}", err);
    }
    if (ret == 0)
        ret = put(&b, "]", err);
    if (ret == 0)
        ret = put_string(&b, "nonce", r->nonce, false, err);
    if (ret == 0)
        ret = put_string(&b, "time", time_text, false, err);
    if (ret == 0)
        ret = put_string(&b, "backend", r->backend, false, err);
    if (ret == 0)
        ret = put(&b, r->isolating ? ",\"isolating\":true" : ",\"isolating\":false", err);
    if (ret == 0)
        ret = put_digest(&b, "host_key", &r->host_key, err);
    if (ret == 0)
        ret = put(&b, "}", err);
    if (ret == 0)
        ret = cvm_buf_append(out, b.data, b.len, err);
    cvm_buf_release(&b);
    return ret;
}

int cvm_attest_report_sign(const struct cvm_signing_key *key, const struct cvm_attest_report *r,
                           struct cvm_buf *out, struct cvm_error **err)
{
    struct cvm_attest_report copy = *r;
    char fp[CVM_SIGN_FINGERPRINT_SIZE];
    if (cvm_digest_parse(cvm_signing_key_fingerprint(key, fp), &copy.host_key, err) < 0)
        return cvm_error_prefix(err, "attestation report: host key");
    struct cvm_buf payload;
    cvm_buf_init(&payload, CVM_ATTEST_REPORT_MAX);
    int ret = cvm_attest_report_encode(&copy, &payload, err);
    CVM_AUTOFREE char *sig = NULL;
    CVM_AUTOFREE char *b64 = NULL;
    if (ret == 0)
        ret = cvm_sign_payload(key, payload.data, payload.len, &sig, err);
    if (ret == 0 && !(b64 = cvm_sign_base64_encode(payload.data, payload.len)))
        ret = cvm_error_set_errno(err, ENOMEM, "attestation report: cannot encode the payload");
    cvm_buf_release(&payload);
    if (ret < 0)
        return ret;
    struct cvm_buf b;
    cvm_buf_init(&b, CVM_ATTEST_REPORT_MAX);
    ret = put(&b, "{\"payloadType\":\"" CVM_ATTEST_PAYLOAD_TYPE "\",\"payload\":\"", err);
    if (ret == 0)
        ret = put(&b, b64, err);
    if (ret == 0)
        ret = put(&b, "\",\"signature\":\"", err);
    if (ret == 0)
        ret = put(&b, sig, err);
    if (ret == 0)
        ret = put(&b, "\"}\n", err);
    if (ret == -CVM_E_LIMIT)
        ret = cvm_error_set(err, CVM_E_LIMIT, "attestation report: over the limit of %d bytes",
                            CVM_ATTEST_REPORT_MAX);
    if (ret == 0)
        ret = cvm_buf_append(out, b.data, b.len, err);
    cvm_buf_release(&b);
    return ret;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int cvm_attest_report_write(const char *path, const struct cvm_signing_key *key,
                            const struct cvm_attest_report *r, struct cvm_error **err)
{
    struct cvm_buf b;
    cvm_buf_init(&b, CVM_ATTEST_REPORT_MAX);
    int ret = cvm_attest_report_sign(key, r, &b, err);
    if (ret < 0) {
        cvm_buf_release(&b);
        return ret;
    }
    CVM_AUTOFREE char *dir = cvm_path_dirname(path);
    CVM_AUTOFREE char *tmp = NULL;
    if (!dir || asprintf(&tmp, "%s/.tmp-%s-XXXXXX", dir, cvm_path_basename(path)) < 0) {
        cvm_buf_release(&b);
        return cvm_error_set_errno(err, ENOMEM, "cannot write report '%s'", path);
    }
    CVM_AUTOCLOSE int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        cvm_buf_release(&b);
        return cvm_error_set_errno(err, errno, "cannot write report '%s'", path);
    }
    /* mkostemp creates 0600; a report is public. */
    bool ok = fchmod(fd, 0644) == 0 && write_all(fd, b.data, b.len) == 0 && fsync(fd) == 0;
    int e = errno;
    cvm_buf_release(&b);
    if (ok && close(cvm_steal_fd(&fd)) < 0) {
        ok = false;
        e = errno;
    }
    if (ok && rename(tmp, path) < 0) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(tmp);
        return cvm_error_set_errno(err, e, "cannot write report '%s'", path);
    }
    CVM_AUTOCLOSE int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        fsync(dfd);
    return 0;
}

/* ---- parsing ----------------------------------------------------------------------------- */

static const char *type_name(json_type t)
{
    switch (t) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static int json_invalid(const json_error_t *je, const char *prefix, struct cvm_error **err)
{
    char show[SHOWN_SIZE];
    return cvm_error_set(err, CVM_E_FORMAT, "%sinvalid JSON at line %d, column %d: %s", prefix,
                         je->line, je->column, shown(je->text, show));
}

/* obj holds exactly the keys of `keys` (where: "payload: " or "payload: cvms[1]: "). */
static int only_keys(json_t *obj, const char *where, const char *const *keys, size_t n,
                     struct cvm_error **err)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        size_t i = 0;
        while (i < n && strcmp(key, keys[i]) != 0)
            i++;
        if (i == n) {
            char show[SHOWN_SIZE];
            return cvm_error_set(err, CVM_E_FORMAT, "%sunknown key '%s'", where, shown(key, show));
        }
    }
    return 0;
}

static int member(json_t *obj, const char *where, const char *key, json_type type, json_t **ret,
                  struct cvm_error **err)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return cvm_error_set(err, CVM_E_FORMAT, "%smissing '%s'", where, key);
    json_type t = json_typeof(v);
    if (type == JSON_TRUE ? t != JSON_TRUE && t != JSON_FALSE : t != type)
        return cvm_error_set(err, CVM_E_FORMAT, "%s'%s' must be %s", where, key, type_name(type));
    *ret = v;
    return 0;
}

static int member_string(json_t *obj, const char *where, const char *key, const char **ret,
                         struct cvm_error **err)
{
    json_t *v = NULL;
    int r = member(obj, where, key, JSON_STRING, &v, err);
    if (r == 0)
        *ret = json_string_value(v);
    return r;
}

static int member_digest(json_t *obj, const char *where, const char *key, struct cvm_digest *ret,
                         struct cvm_error **err)
{
    const char *s = NULL;
    int r = member_string(obj, where, key, &s, err);
    if (r == 0 && cvm_digest_parse(s, ret, NULL) < 0) {
        char show[SHOWN_SIZE];
        return cvm_error_set(err, CVM_E_FORMAT,
                             "%s%s '%s' is not 'sha256:<64 lowercase hex digits>'", where, key,
                             shown(s, show));
    }
    return r;
}

/* Reads the payload's fields into r; strings point into root (and cvms into *cvms). */
static int payload_fields(json_t *root, struct cvm_attest_report *r, struct cvm_attest_cvm *cvms,
                          struct cvm_error **err)
{
    static const char *const keys[] = {"version",   "image",   "image_digest", "deployment",
                                       "cvms",      "nonce",   "time",         "backend",
                                       "isolating", "host_key"};
    static const char *const cvm_keys[] = {"name", "measurement"};
    const char *where = "payload: ";
    if (!json_is_object(root))
        return cvm_error_set(err, CVM_E_FORMAT, "payload: must be a JSON object");
    int ret = only_keys(root, where, keys, sizeof(keys) / sizeof(keys[0]), err);
    json_t *version = NULL, *list = NULL, *isolating = NULL;
    const char *time_text = NULL;
    if (ret == 0)
        ret = member(root, where, "version", JSON_INTEGER, &version, err);
    if (ret == 0 && json_integer_value(version) != CVM_ATTEST_VERSION)
        ret = cvm_error_set(err, CVM_E_FORMAT, "payload: version is %lld, expected %d",
                            (long long)json_integer_value(version), CVM_ATTEST_VERSION);
    if (ret == 0)
        ret = member_string(root, where, "image", &r->image, err);
    if (ret == 0)
        ret = member_digest(root, where, "image_digest", &r->image_digest, err);
    if (ret == 0)
        ret = member_digest(root, where, "deployment", &r->deployment, err);
    if (ret == 0)
        ret = member(root, where, "cvms", JSON_ARRAY, &list, err);
    if (ret == 0 && json_array_size(list) > CVM_ATTEST_CVMS_MAX)
        ret =
            cvm_error_set(err, CVM_E_LIMIT, "payload: 'cvms' has %zu entries, over the limit of %d",
                          json_array_size(list), CVM_ATTEST_CVMS_MAX);
    for (size_t i = 0; ret == 0 && i < json_array_size(list); i++) {
        char at[64];
        snprintf(at, sizeof(at), "payload: cvms[%zu]: ", i);
        json_t *entry = json_array_get(list, i);
        if (!json_is_object(entry))
            ret = cvm_error_set(err, CVM_E_FORMAT, "%smust be an object", at);
        if (ret == 0)
            ret = only_keys(entry, at, cvm_keys, 2, err);
        if (ret == 0)
            ret = member_string(entry, at, "name", &cvms[i].name, err);
        if (ret == 0)
            ret = member_digest(entry, at, "measurement", &cvms[i].measurement, err);
    }
    if (ret < 0)
        return ret;
    r->cvms = cvms;
    r->n_cvms = json_array_size(list);
    ret = member_string(root, where, "nonce", &r->nonce, err);
    if (ret == 0)
        ret = member_string(root, where, "time", &time_text, err);
    if (ret == 0 && time_parse(time_text, &r->time) < 0) {
        char show[SHOWN_SIZE];
        ret = cvm_error_set(err, CVM_E_FORMAT,
                            "payload: time '%s' is not an RFC 3339 UTC time "
                            "(YYYY-MM-DDThh:mm:ssZ)",
                            shown(time_text, show));
    }
    if (ret == 0)
        ret = member_string(root, where, "backend", &r->backend, err);
    if (ret == 0)
        ret = member(root, where, "isolating", JSON_TRUE, &isolating, err);
    if (ret == 0)
        r->isolating = json_is_true(isolating);
    if (ret == 0)
        ret = member_digest(root, where, "host_key", &r->host_key, err);
    if (ret == 0)
        ret = report_check(r, CVM_E_FORMAT, where, err);
    return ret;
}

/* A heap copy of r that owns its strings. */
static int report_copy(const struct cvm_attest_report *r, struct cvm_attest_report **ret,
                       struct cvm_error **err)
{
    size_t total = strlen(r->image) + strlen(r->nonce) + strlen(r->backend) + 3;
    for (size_t i = 0; i < r->n_cvms; i++)
        total += strlen(r->cvms[i].name) + 1;
    CVM_AUTO(cvm_attest_report_free) struct cvm_attest_report *c = calloc(1, sizeof(*c));
    if (!c || !(c->storage = calloc(1, sizeof(*c->storage))) ||
        !(c->storage->strings = malloc(total)) ||
        !(c->storage->cvms = calloc(r->n_cvms, sizeof(*c->storage->cvms))))
        return cvm_error_set_errno(err, ENOMEM, "payload");
    struct cvm_attest_storage *st = c->storage;
    *c = *r;
    c->storage = st;
    char *p = st->strings;
#define COPY(dst, src)                                                                             \
    do {                                                                                           \
        size_t n_ = strlen(src) + 1;                                                               \
        memcpy(p, src, n_);                                                                        \
        dst = p;                                                                                   \
        p += n_;                                                                                   \
    } while (0)
    COPY(c->image, r->image);
    COPY(c->nonce, r->nonce);
    COPY(c->backend, r->backend);
    for (size_t i = 0; i < r->n_cvms; i++) {
        st->cvms[i].measurement = r->cvms[i].measurement;
        COPY(st->cvms[i].name, r->cvms[i].name);
    }
#undef COPY
    c->cvms = st->cvms;
    *ret = cvm_steal_ptr(&c);
    return 0;
}

int cvm_attest_payload_parse(const void *payload, size_t len, struct cvm_attest_report **ret,
                             struct cvm_error **err)
{
    if (len > CVM_ATTEST_REPORT_MAX)
        return cvm_error_set(err, CVM_E_LIMIT, "payload: %zu bytes, over the limit of %d", len,
                             CVM_ATTEST_REPORT_MAX);
    json_error_t je;
    CVM_AUTO(json_decref) json_t *root = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return json_invalid(&je, "payload: ", err);
    struct cvm_attest_cvm cvms[CVM_ATTEST_CVMS_MAX];
    struct cvm_attest_report r = {0};
    int ret_code = payload_fields(root, &r, cvms, err);
    if (ret_code < 0)
        return ret_code;
    /* Strict and canonical: the bytes must be what encoding these fields writes. */
    struct cvm_buf again;
    cvm_buf_init(&again, CVM_ATTEST_REPORT_MAX);
    ret_code = cvm_attest_report_encode(&r, &again, err);
    bool same = ret_code == 0 && again.len == len && memcmp(again.data, payload, len) == 0;
    cvm_buf_release(&again);
    if (ret_code < 0)
        return cvm_error_prefix(err, "payload");
    if (!same)
        return cvm_error_set(err, CVM_E_FORMAT,
                             "payload: not in canonical form (specs/attestation.md §2)");
    return report_copy(&r, ret, err);
}

/* ---- verification ------------------------------------------------------------------------ */

/* The envelope of specs/attestation.md §3: the payload's bytes and the signature's base64. */
static int envelope_parse(const void *bytes, size_t len, struct cvm_buf *payload, char **ret_sig,
                          struct cvm_error **err)
{
    static const char *const keys[] = {"payloadType", "payload", "signature"};
    json_error_t je;
    CVM_AUTO(json_decref) json_t *root = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return json_invalid(&je, "", err);
    if (!json_is_object(root))
        return cvm_error_set(err, CVM_E_FORMAT, "must be a JSON object");
    const char *type = NULL, *b64 = NULL, *sig = NULL;
    int r = only_keys(root, "", keys, 3, err);
    if (r == 0)
        r = member_string(root, "", "payloadType", &type, err);
    if (r == 0)
        r = member_string(root, "", "payload", &b64, err);
    if (r == 0)
        r = member_string(root, "", "signature", &sig, err);
    if (r < 0)
        return r;
    if (strcmp(type, CVM_ATTEST_PAYLOAD_TYPE) != 0) {
        char show[SHOWN_SIZE];
        return cvm_error_set(err, CVM_E_FORMAT, "payloadType is '%s', expected '%s'",
                             shown(type, show), CVM_ATTEST_PAYLOAD_TYPE);
    }
    size_t b64_len = strlen(b64);
    if (b64_len == 0)
        return cvm_error_set(err, CVM_E_FORMAT, "payload is empty");
    r = cvm_sign_base64_decode(b64, b64_len, "payload", payload, err);
    if (r < 0)
        return r;
    char *copy = strdup(sig);
    if (!copy)
        return cvm_error_set_errno(err, ENOMEM, "signature");
    *ret_sig = copy;
    return 0;
}

int cvm_attest_report_verify(const void *bytes, size_t len, const struct cvm_verify_key *key,
                             const char *nonce, const struct cvm_digest *expect,
                             struct cvm_attest_report **ret, struct cvm_error **err)
{
    char want_nonce[CVM_ATTEST_NONCE_MAX + 1];
    if (!expect)
        return cvm_error_set(err, CVM_E_USAGE, "no expected deployment measurement given");
    int r = cvm_attest_nonce_parse(nonce ? nonce : "", want_nonce, err);
    if (r < 0)
        return r;
    if (len > CVM_ATTEST_REPORT_MAX)
        return cvm_error_set(err, CVM_E_LIMIT, "%zu bytes, over the limit of %d", len,
                             CVM_ATTEST_REPORT_MAX);
    struct cvm_buf payload;
    cvm_buf_init(&payload, CVM_ATTEST_REPORT_MAX);
    CVM_AUTOFREE char *sig = NULL;
    r = envelope_parse(bytes, len, &payload, &sig, err);
    if (r == 0)
        r = cvm_verify_payload(key, payload.data, payload.len, sig, err);
    CVM_AUTO(cvm_attest_report_free) struct cvm_attest_report *rep = NULL;
    char fp[CVM_SIGN_FINGERPRINT_SIZE], named[CVM_DIGEST_STR_SIZE];
    cvm_verify_key_fingerprint(key, fp);
    if (r == -CVM_E_SIGNATURE) {
        /* Unauthenticated, so only a hint: a report made by another host key says which. */
        if (cvm_attest_payload_parse(payload.data, payload.len, &rep, NULL) == 0 &&
            strcmp(cvm_digest_format(&rep->host_key, named), fp) != 0)
            r = cvm_error_set(err, CVM_E_SIGNATURE,
                              "signature does not verify with key %s: the report names host key "
                              "%s",
                              fp, named);
        cvm_buf_release(&payload);
        return r;
    }
    if (r == 0)
        r = cvm_attest_payload_parse(payload.data, payload.len, &rep, err);
    cvm_buf_release(&payload);
    if (r < 0)
        return r;
    if (strcmp(cvm_digest_format(&rep->host_key, named), fp) != 0)
        return cvm_error_set(err, CVM_E_FORMAT,
                             "payload: host_key is %s, but the report is signed by key %s", named,
                             fp);
    if (strcmp(rep->nonce, want_nonce) != 0)
        return cvm_error_set(err, CVM_E_DIGEST, "nonce is '%s', expected '%s'", rep->nonce,
                             want_nonce);
    if (!cvm_digest_equal(&rep->deployment, expect)) {
        char want[CVM_DIGEST_STR_SIZE];
        return cvm_error_set(err, CVM_E_DIGEST, "deployment measurement is %s, expected %s",
                             cvm_digest_format(&rep->deployment, named),
                             cvm_digest_format(expect, want));
    }
    *ret = cvm_steal_ptr(&rep);
    return 0;
}
