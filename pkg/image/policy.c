/* Trust policy files (a subset of containers-policy.json(5)): strict parsing that names the
 * JSON path of every problem, and the most-specific-scope lookup podman uses. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "policy.h"
#include "sign.h"

struct policy_scope {
    char *name;
    struct cvm_policy_requirement *reqs;
    size_t n;
};

struct cvm_policy {
    struct cvm_policy_requirement *defaults;
    size_t n_defaults;
    struct policy_scope *scopes;
    size_t n_scopes;
};

struct parse_ctx {
    const char *display;
    const char *base_dir;
    struct cvm_error **err;
};

/* A JSON path for messages: `transports.docker."localhost/hello"[0].keyPath`. */
struct json_path {
    char s[512];
};

/* Room for append_shown of a whole string into an empty buffer. */
#define SHOWN_SIZE (64 * 4 + 12)

/* At most max bytes of s, bytes outside printable ASCII as \xNN (keys and values come from the
 * document and end up on a terminal); with quote, '"' and '\\' get a backslash. */
static void append_shown_n(char *out, size_t size, const char *s, size_t max, bool quote)
{
    size_t n = strlen(out);
    for (size_t i = 0; s[i] && n + 8 < size; i++) {
        if (i == max) {
            n += (size_t)snprintf(out + n, size - n, "...");
            break;
        }
        unsigned char c = (unsigned char)s[i];
        if (quote && (c == '"' || c == '\\'))
            out[n++] = '\\';
        if (c >= 0x20 && c < 0x7f)
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, size - n, "\\x%02x", c);
    }
    out[n] = '\0';
}

static void append_shown(char *out, size_t size, const char *s, bool quote)
{
    append_shown_n(out, size, s, 64, quote);
}

static bool is_identifier(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (s++; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

static struct json_path path_key(const struct json_path *parent, const char *key)
{
    struct json_path p = *parent;
    size_t n = strlen(p.s);
    if (n && n + 1 < sizeof(p.s)) {
        p.s[n] = '.';
        p.s[n + 1] = '\0';
    }
    bool quote = !is_identifier(key);
    if (quote)
        append_shown(p.s, sizeof(p.s), "\"", false);
    append_shown(p.s, sizeof(p.s), key, quote);
    if (quote)
        append_shown(p.s, sizeof(p.s), "\"", false);
    return p;
}

static struct json_path path_index(const struct json_path *parent, size_t i)
{
    struct json_path p = *parent;
    size_t n = strlen(p.s);
    snprintf(p.s + n, sizeof(p.s) - n, "[%zu]", i);
    return p;
}

/* `policy '<display>': <path>: <message>`; the path is left out at the top level. */
static int fail(const struct parse_ctx *c, enum cvm_error_class code, const struct json_path *path,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(const struct parse_ctx *c, enum cvm_error_class code, const struct json_path *path,
                const char *fmt, ...)
{
    char msg[CVM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return cvm_error_set(c->err, code, "policy '%s': %s%s%s", c->display, path->s,
                         path->s[0] ? ": " : "", msg);
}

static void requirements_free(struct cvm_policy_requirement *reqs, size_t n)
{
    for (size_t i = 0; reqs && i < n; i++) {
        free(reqs[i].key_path);
        free(reqs[i].key_pem);
    }
    free(reqs);
}

void cvm_policy_free(struct cvm_policy *p)
{
    if (!p)
        return;
    requirements_free(p->defaults, p->n_defaults);
    for (size_t i = 0; i < p->n_scopes; i++) {
        free(p->scopes[i].name);
        requirements_free(p->scopes[i].reqs, p->scopes[i].n);
    }
    free(p->scopes);
    free(p);
}

CVM_DEFINE_CLEANUP(struct cvm_policy *, cvm_policy_free)

static bool in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* Fails on the first key of obj that is not allowed: CVM_E_UNSUPPORTED for keys the
 * containers-policy format has but this subset does not implement, else CVM_E_FORMAT. */
static int only_keys(const struct parse_ctx *c, json_t *obj, const struct json_path *path,
                     const char *const *allowed, const char *const *unsupported)
{
    const char *key;
    json_t *value;
    char show[SHOWN_SIZE];
    json_object_foreach(obj, key, value)
    {
        if (in_list(key, allowed))
            continue;
        show[0] = '\0';
        append_shown(show, sizeof(show), key, false);
        if (unsupported && in_list(key, unsupported))
            return fail(c, CVM_E_UNSUPPORTED, path, "'%s' is not supported", show);
        return fail(c, CVM_E_FORMAT, path, "unknown key '%s'", show);
    }
    return 0;
}

/* The member `type` of obj as a string. */
static int type_of(const struct parse_ctx *c, json_t *obj, const struct json_path *path,
                   const char **ret)
{
    if (!json_is_object(obj))
        return fail(c, CVM_E_FORMAT, path, "must be an object");
    json_t *type = json_object_get(obj, "type");
    if (!type)
        return fail(c, CVM_E_FORMAT, path, "missing 'type'");
    if (!json_is_string(type)) {
        struct json_path p = path_key(path, "type");
        return fail(c, CVM_E_FORMAT, &p, "must be a string");
    }
    *ret = json_string_value(type);
    return 0;
}

static int parse_identity(const struct parse_ctx *c, json_t *obj, const struct json_path *path,
                          bool *ret_match_repository)
{
    static const char *const allowed[] = {"type", NULL};
    static const char *const unsupported[] = {"matchExact",     "matchRepoDigestOrExact",
                                              "exactReference", "exactRepository",
                                              "remapIdentity",  NULL};
    const char *type = NULL;
    int r = type_of(c, obj, path, &type);
    if (r < 0)
        return r;
    char show[SHOWN_SIZE] = "";
    append_shown(show, sizeof(show), type, false);
    if (in_list(type, unsupported))
        return fail(c, CVM_E_UNSUPPORTED, path,
                    "signedIdentity type '%s' is not supported (only matchRepository)", show);
    if (strcmp(type, "matchRepository") != 0)
        return fail(c, CVM_E_FORMAT, path, "unknown signedIdentity type '%s'", show);
    r = only_keys(c, obj, path, allowed, NULL);
    if (r < 0)
        return r;
    *ret_match_repository = true;
    return 0;
}

static int parse_key_data(const struct parse_ctx *c, json_t *v, const struct json_path *path,
                          struct cvm_policy_requirement *req)
{
    struct json_path p = path_key(path, "keyData");
    if (!json_is_string(v) || json_string_length(v) == 0)
        return fail(c, CVM_E_FORMAT, &p, "must be a non-empty string");
    size_t len = json_string_length(v);
    if (len > CVM_POLICY_KEY_DATA_MAX / 3 * 4 + 4)
        return fail(c, CVM_E_LIMIT, &p, "over the limit of %d bytes", CVM_POLICY_KEY_DATA_MAX);
    struct cvm_buf pem;
    cvm_buf_init(&pem, CVM_POLICY_KEY_DATA_MAX);
    struct cvm_verify_key *key = NULL;
    int r = cvm_sign_base64_decode(json_string_value(v), len, "keyData", &pem, c->err);
    if (r == 0)
        r = cvm_verify_key_from_pem(pem.data, pem.len, "keyData", &key, c->err);
    cvm_verify_key_free(key);
    if (r < 0) {
        cvm_buf_release(&pem);
        return cvm_error_prefix(c->err, "policy '%s': %s", c->display, path->s);
    }
    req->key_pem = (char *)pem.data;
    req->key_pem_len = pem.len;
    return 0;
}

static int parse_sigstore(const struct parse_ctx *c, json_t *obj, const struct json_path *path,
                          struct cvm_policy_requirement *req)
{
    static const char *const allowed[] = {"type", "keyPath", "keyData", "signedIdentity", NULL};
    static const char *const unsupported[] = {"keyPaths",
                                              "keyDatas",
                                              "fulcio",
                                              "rekorPublicKeyPath",
                                              "rekorPublicKeyPaths",
                                              "rekorPublicKeyData",
                                              "rekorPublicKeyDatas",
                                              "pki",
                                              NULL};
    int r = only_keys(c, obj, path, allowed, unsupported);
    if (r < 0)
        return r;
    json_t *key_path = json_object_get(obj, "keyPath");
    json_t *key_data = json_object_get(obj, "keyData");
    if (!key_path && !key_data)
        return fail(c, CVM_E_FORMAT, path, "sigstoreSigned needs 'keyPath' or 'keyData'");
    if (key_path && key_data)
        return fail(c, CVM_E_FORMAT, path, "sigstoreSigned takes 'keyPath' or 'keyData', not both");
    json_t *identity = json_object_get(obj, "signedIdentity");
    if (identity) {
        struct json_path p = path_key(path, "signedIdentity");
        r = parse_identity(c, identity, &p, &req->match_repository);
        if (r < 0)
            return r;
    }
    if (key_data)
        return parse_key_data(c, key_data, path, req);
    if (!json_is_string(key_path) || json_string_length(key_path) == 0) {
        struct json_path p = path_key(path, "keyPath");
        return fail(c, CVM_E_FORMAT, &p, "must be a non-empty string");
    }
    req->key_path = cvm_path_resolve(c->base_dir, json_string_value(key_path));
    if (!req->key_path)
        return cvm_error_set_errno(c->err, ENOMEM, "policy '%s'", c->display);
    return 0;
}

static int parse_requirement(const struct parse_ctx *c, json_t *obj, const struct json_path *path,
                             struct cvm_policy_requirement *req)
{
    static const char *const only_type[] = {"type", NULL};
    const char *type = NULL;
    int r = type_of(c, obj, path, &type);
    if (r < 0)
        return r;
    if (strcmp(type, "insecureAcceptAnything") == 0) {
        req->type = CVM_POLICY_ACCEPT;
        return only_keys(c, obj, path, only_type, NULL);
    }
    if (strcmp(type, "reject") == 0) {
        req->type = CVM_POLICY_REJECT;
        return only_keys(c, obj, path, only_type, NULL);
    }
    if (strcmp(type, "sigstoreSigned") == 0) {
        req->type = CVM_POLICY_SIGNED;
        return parse_sigstore(c, obj, path, req);
    }
    char show[SHOWN_SIZE] = "";
    append_shown(show, sizeof(show), type, false);
    if (strcmp(type, "signedBy") == 0 || strcmp(type, "signedBaseLayer") == 0)
        return fail(c, CVM_E_UNSUPPORTED, path,
                    "requirement type '%s' is not supported (use sigstoreSigned)", show);
    return fail(c, CVM_E_FORMAT, path, "unknown requirement type '%s'", show);
}

static int parse_requirements(const struct parse_ctx *c, json_t *list, const struct json_path *path,
                              struct cvm_policy_requirement **ret_reqs, size_t *ret_n)
{
    if (!json_is_array(list))
        return fail(c, CVM_E_FORMAT, path, "must be an array of requirements");
    size_t n = json_array_size(list);
    if (n == 0)
        return fail(c, CVM_E_FORMAT, path, "the list of requirements is empty");
    struct cvm_policy_requirement *reqs = calloc(n, sizeof(*reqs));
    if (!reqs)
        return cvm_error_set_errno(c->err, ENOMEM, "policy '%s'", c->display);
    for (size_t i = 0; i < n; i++) {
        struct json_path p = path_index(path, i);
        int r = parse_requirement(c, json_array_get(list, i), &p, &reqs[i]);
        if (r < 0) {
            requirements_free(reqs, n);
            return r;
        }
    }
    *ret_reqs = reqs;
    *ret_n = n;
    return 0;
}

static bool host_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '-';
}

/* "*.domain": a domain of letters, digits, '-' and '.', no empty labels. */
static bool wildcard_scope_ok(const char *d)
{
    if (!*d || *d == '.')
        return false;
    for (; *d; d++)
        if (!host_char(*d) || (d[0] == '.' && (d[1] == '.' || d[1] == '\0')))
            return false;
    return true;
}

/* host[:port][/component...][:tag], the forms a docker scope takes (no digests). */
static bool scope_ok(const char *s)
{
    const char *slash = strchr(s, '/');
    size_t host_len = slash ? (size_t)(slash - s) : strlen(s);
    size_t name_len;
    if (s[0] == '[') {
        /* An IPv6 address, as references write it: "[::1]:5000". */
        const char *close = memchr(s, ']', host_len);
        if (!close || close == s + 1)
            return false;
        for (const char *q = s + 1; q < close; q++)
            if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
                  (*q >= 'A' && *q <= 'F') || *q == ':'))
                return false;
        name_len = (size_t)(close + 1 - s);
    } else {
        name_len = strcspn(s, ":/");
        if (name_len == 0)
            return false;
        for (size_t i = 0; i < name_len; i++)
            if (!host_char(s[i]))
                return false;
    }
    const char *colon = name_len < host_len ? s + name_len : NULL;
    if (colon && *colon != ':')
        return false;
    if (colon) {
        if (colon + 1 == s + host_len)
            return false;
        for (const char *q = colon + 1; q < s + host_len; q++)
            if (*q < '0' || *q > '9')
                return false;
    }
    if (!slash)
        return true;
    /* Path components: [a-z0-9._-]+, separated by single slashes; a tag only on the last. */
    for (const char *q = slash + 1;;) {
        const char *end = strchr(q, '/');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        const char *tag = memchr(q, ':', len);
        size_t comp_len = tag ? (size_t)(tag - q) : len;
        if (comp_len == 0 || (tag && (end || tag + 1 == q + len)))
            return false;
        for (size_t i = 0; i < comp_len; i++)
            if (!((q[i] >= 'a' && q[i] <= 'z') || (q[i] >= '0' && q[i] <= '9') || q[i] == '.' ||
                  q[i] == '_' || q[i] == '-'))
                return false;
        for (const char *t = tag ? tag + 1 : q + len; t < q + len; t++)
            if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
                  (*t >= '0' && *t <= '9') || *t == '.' || *t == '_' || *t == '-'))
                return false;
        if (!end)
            return true;
        q = end + 1;
    }
}

static int check_scope(const struct parse_ctx *c, const char *scope, const struct json_path *path)
{
    size_t len = strnlen(scope, CVM_POLICY_SCOPE_MAX + 1);
    if (len == 0)
        return fail(c, CVM_E_FORMAT, path, "empty scope");
    if (len > CVM_POLICY_SCOPE_MAX)
        return fail(c, CVM_E_LIMIT, path, "scope over the limit of %d bytes", CVM_POLICY_SCOPE_MAX);
    if (strncmp(scope, "*.", 2) == 0) {
        if (!wildcard_scope_ok(scope + 2))
            return fail(c, CVM_E_FORMAT, path, "invalid scope (expected '*.' and a domain)");
        return 0;
    }
    if (strchr(scope, '@'))
        return fail(c, CVM_E_UNSUPPORTED, path, "digest scopes are not supported");
    if (!scope_ok(scope))
        return fail(c, CVM_E_FORMAT, path,
                    "invalid scope (expected host[:port][/path][:tag] or *.domain)");
    return 0;
}

static int parse_docker(const struct parse_ctx *c, json_t *obj, const struct json_path *path,
                        struct cvm_policy *p)
{
    if (!json_is_object(obj))
        return fail(c, CVM_E_FORMAT, path, "must be an object");
    size_t n = json_object_size(obj);
    if (n == 0)
        return 0;
    p->scopes = calloc(n, sizeof(*p->scopes));
    if (!p->scopes)
        return cvm_error_set_errno(c->err, ENOMEM, "policy '%s'", c->display);
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        struct json_path sp = path_key(path, key);
        int r = check_scope(c, key, &sp);
        if (r < 0)
            return r;
        struct policy_scope *s = &p->scopes[p->n_scopes];
        if (!(s->name = strdup(key)))
            return cvm_error_set_errno(c->err, ENOMEM, "policy '%s'", c->display);
        p->n_scopes++;
        r = parse_requirements(c, value, &sp, &s->reqs, &s->n);
        if (r < 0)
            return r;
    }
    return 0;
}

static int parse_transports(const struct parse_ctx *c, json_t *obj, struct cvm_policy *p)
{
    struct json_path path = {"transports"};
    if (!json_is_object(obj))
        return fail(c, CVM_E_FORMAT, &path, "must be an object");
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        if (strcmp(key, "docker") != 0) {
            char show[SHOWN_SIZE] = "";
            append_shown(show, sizeof(show), key, false);
            return fail(c, CVM_E_UNSUPPORTED, &path, "unsupported transport '%s' (only 'docker')",
                        show);
        }
        struct json_path dp = path_key(&path, "docker");
        int r = parse_docker(c, value, &dp, p);
        if (r < 0)
            return r;
    }
    return 0;
}

static int parse_root(const struct parse_ctx *c, json_t *root, struct cvm_policy *p)
{
    static const char *const allowed[] = {"default", "transports", NULL};
    const struct json_path top = {""};
    if (!json_is_object(root))
        return fail(c, CVM_E_FORMAT, &top, "the document must be a JSON object");
    int r = only_keys(c, root, &top, allowed, NULL);
    if (r < 0)
        return r;
    json_t *def = json_object_get(root, "default");
    if (!def)
        return fail(c, CVM_E_FORMAT, &top, "missing 'default'");
    const struct json_path dp = {"default"};
    r = parse_requirements(c, def, &dp, &p->defaults, &p->n_defaults);
    if (r < 0)
        return r;
    json_t *transports = json_object_get(root, "transports");
    return transports ? parse_transports(c, transports, p) : 0;
}

int cvm_policy_parse(const char *text, size_t len, const char *display, const char *base_dir,
                     struct cvm_policy **ret, struct cvm_error **err)
{
    const struct parse_ctx c = {.display = display, .base_dir = base_dir, .err = err};
    const struct json_path top = {""};
    if (len > CVM_POLICY_FILE_MAX)
        return fail(&c, CVM_E_LIMIT, &top, "%zu bytes, over the limit of %d", len,
                    CVM_POLICY_FILE_MAX);
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        char show[JSON_ERROR_TEXT_LENGTH * 4 + 12] = "";
        append_shown_n(show, sizeof(show), je.text, JSON_ERROR_TEXT_LENGTH, false);
        return fail(&c, CVM_E_FORMAT, &top, "invalid JSON at line %d, column %d: %s", je.line,
                    je.column, show);
    }
    CVM_AUTO(cvm_policy_free) struct cvm_policy *p = calloc(1, sizeof(*p));
    int r = p ? parse_root(&c, root, p) : cvm_error_set_errno(err, ENOMEM, "policy '%s'", display);
    json_decref(root);
    if (r < 0)
        return r;
    *ret = cvm_steal_ptr(&p);
    return 0;
}

/* The folder of path as an absolute path, so keyPaths stay valid if the caller chdirs. */
static char *absolute_dirname(const char *path)
{
    CVM_AUTOFREE char *dir = cvm_path_dirname(path);
    if (!dir || dir[0] == '/')
        return cvm_steal_ptr(&dir);
    CVM_AUTOFREE char *cwd = getcwd(NULL, 0);
    if (!cwd)
        return NULL;
    if (strcmp(dir, ".") == 0)
        return cvm_steal_ptr(&cwd);
    return cvm_path_resolve(cwd, dir);
}

int cvm_policy_load(const char *path, struct cvm_policy **ret, struct cvm_error **err)
{
    struct cvm_buf b;
    cvm_buf_init(&b, CVM_POLICY_FILE_MAX);
    int r = cvm_buf_read_file(&b, AT_FDCWD, path, err);
    if (r == -CVM_E_LIMIT)
        return cvm_error_set(err, CVM_E_LIMIT, "policy '%s': over the limit of %d bytes", path,
                             CVM_POLICY_FILE_MAX);
    if (r < 0)
        return r;
    CVM_AUTOFREE char *base_dir = absolute_dirname(path);
    if (!base_dir) {
        cvm_buf_release(&b);
        return cvm_error_set_errno(err, errno ? errno : ENOMEM,
                                   "policy '%s': cannot resolve its folder", path);
    }
    r = cvm_policy_parse((const char *)b.data, b.len, path, base_dir, ret, err);
    cvm_buf_release(&b);
    return r;
}

/* ---- lookup ------------------------------------------------------------------------------ */

/* The scope named a[0..alen) followed by b (may be NULL), joined with sep when b is given. */
static const struct policy_scope *find_scope(const struct cvm_policy *p, const char *a, size_t alen,
                                             char sep, const char *b)
{
    size_t blen = b ? strlen(b) : 0;
    size_t want = alen + (b ? 1 + blen : 0);
    for (size_t i = 0; i < p->n_scopes; i++) {
        const char *name = p->scopes[i].name;
        if (strlen(name) != want || memcmp(name, a, alen) != 0)
            continue;
        if (!b || (name[alen] == sep && memcmp(name + alen + 1, b, blen) == 0))
            return &p->scopes[i];
    }
    return NULL;
}

static const struct policy_scope *match_scope(const struct cvm_policy *p, const char *repository,
                                              const char *tag)
{
    size_t len = strlen(repository);
    const struct policy_scope *s = NULL;
    if (tag && *tag && (s = find_scope(p, repository, len, ':', tag)))
        return s;
    /* The repository, then each parent namespace down to the host. */
    for (size_t end = len; end > 0;) {
        if ((s = find_scope(p, repository, end, 0, NULL)))
            return s;
        while (end > 0 && repository[end - 1] != '/')
            end--;
        if (end > 0)
            end--;
    }
    /* "*.b.example.com", "*.example.com", "*.com" for host a.b.example.com[:port]. */
    size_t host_len = strcspn(repository, "/:");
    for (size_t i = 0; i < host_len; i++) {
        if (repository[i] != '.')
            continue;
        /* find_scope with a = "*" and b = the domain after the dot, up to the host's end. */
        for (size_t j = 0; j < p->n_scopes; j++) {
            const char *name = p->scopes[j].name;
            size_t dlen = host_len - i - 1;
            if (name[0] == '*' && name[1] == '.' && strlen(name) == 2 + dlen &&
                memcmp(name + 2, repository + i + 1, dlen) == 0)
                return &p->scopes[j];
        }
    }
    return NULL;
}

int cvm_policy_lookup(const struct cvm_policy *p, const char *repository, const char *tag,
                      const struct cvm_policy_requirement **ret_reqs, size_t *ret_n,
                      const char **ret_scope)
{
    if (!repository || !*repository)
        return -CVM_E_USAGE;
    const struct policy_scope *s = match_scope(p, repository, tag);
    if (s) {
        *ret_reqs = s->reqs;
        *ret_n = s->n;
        if (ret_scope)
            *ret_scope = s->name;
        return 0;
    }
    *ret_reqs = p->defaults;
    *ret_n = p->n_defaults;
    if (ret_scope)
        *ret_scope = "default";
    return 0;
}
