/* Parsing and formatting image references; the grammar is that of docker/distribution's
 * reference package except for the default domain (see reference.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "reference.h"

/* Input bytes quoted in an error message; longer inputs are cut and end in "...". */
#define QUOTE_MAX 80
/* Every byte may become "\xNN", plus "..." and the NUL. */
#define QUOTE_SIZE (QUOTE_MAX * 4 + 4)
/* Longest IPv6 text inet_pton can accept ("ffff:...:255.255.255.255"). */
#define IPV6_TEXT_MAX 45

struct parser {
    const char *s;
    size_t len;
    struct cvm_error **err;
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool is_alnum(char c)
{
    return is_digit(c) || is_lower(c) || is_upper(c);
}

static bool is_path_separator(char c)
{
    return c == '.' || c == '_' || c == '-';
}

/* Every character that may appear somewhere in a reference. */
static bool is_reference_char(char c)
{
    return is_alnum(c) || is_path_separator(c) || c == '/' || c == ':' || c == '@' || c == '[' ||
           c == ']';
}

/* Writes s[0..len) for a message: control, non-ASCII, quote and backslash bytes escaped so a
 * hostile reference cannot forge terminal output, and cut after QUOTE_MAX bytes. */
static const char *quote(char out[QUOTE_SIZE], const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = len > QUOTE_MAX ? QUOTE_MAX : len, o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == '\'') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    if (n < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

__attribute__((format(printf, 2, 3))) static int fail(const struct parser *p, const char *fmt, ...)
{
    char cause[CVM_ERROR_MSG_MAX];
    char q[QUOTE_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cause, sizeof(cause), fmt, ap);
    va_end(ap);
    return cvm_error_set(p->err, CVM_E_FORMAT, "reference '%s': %s", quote(q, p->s, p->len), cause);
}

static int fail_char(const struct parser *p, size_t at)
{
    char q[QUOTE_SIZE];
    return fail(p, "invalid character '%s' at offset %zu", quote(q, p->s + at, 1), at);
}

/* The first component names a registry only when it cannot be a path component: it has a '.'
 * or ':' or an uppercase letter, or is "localhost". */
static bool looks_like_domain(const char *s, size_t n)
{
    if (n == strlen(CVM_DEFAULT_DOMAIN) && memcmp(s, CVM_DEFAULT_DOMAIN, n) == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' || s[i] == ':' || is_upper(s[i]))
            return true;
    return false;
}

/* Decimal 1-65535; s[from..to) follows the ':'. */
static int check_port(const struct parser *p, size_t from, size_t to)
{
    char q[QUOTE_SIZE];
    if (from == to)
        return fail(p, "empty port");
    unsigned long v = 0;
    for (size_t i = from; i < to; i++) {
        if (!is_digit(p->s[i]))
            return fail(p, "port '%s' is not a decimal number", quote(q, p->s + from, to - from));
        if (v <= 65535)
            v = v * 10 + (unsigned long)(p->s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return fail(p, "port out of range");
    return 0;
}

/* "[" IPv6 "]" [":" port]; the domain is s[0..n). */
static int check_ipv6_domain(const struct parser *p, size_t n)
{
    char q[QUOTE_SIZE];
    const char *close = memchr(p->s, ']', n);
    if (!close)
        return fail(p, "unterminated IPv6 address");
    size_t end = (size_t)(close - p->s), alen = end - 1;
    char text[IPV6_TEXT_MAX + 1];
    struct in6_addr addr;
    if (alen == 0 || alen > IPV6_TEXT_MAX)
        return fail(p, "invalid IPv6 address '%s'", quote(q, p->s + 1, alen));
    memcpy(text, p->s + 1, alen);
    text[alen] = '\0';
    if (inet_pton(AF_INET6, text, &addr) != 1)
        return fail(p, "invalid IPv6 address '%s'", quote(q, text, alen));
    if (end + 1 == n)
        return 0;
    if (p->s[end + 1] != ':')
        return fail_char(p, end + 1);
    return check_port(p, end + 2, n);
}

/* Components `[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?` joined by '.', then [":" port]; the
 * domain is s[0..n). */
static int check_domain(const struct parser *p, size_t n)
{
    char q[QUOTE_SIZE];
    if (p->s[0] == '[')
        return check_ipv6_domain(p, n);
    const char *colon = memchr(p->s, ':', n);
    size_t host_end = colon ? (size_t)(colon - p->s) : n;
    for (size_t start = 0; start <= host_end;) {
        size_t end = start;
        while (end < host_end && p->s[end] != '.') {
            if (!is_alnum(p->s[end]) && p->s[end] != '-')
                return fail_char(p, end);
            end++;
        }
        if (end == start)
            return fail(p, "empty domain component at offset %zu", start);
        if (p->s[start] == '-' || p->s[end - 1] == '-')
            return fail(p, "domain component '%s' must start and end with a letter or digit",
                        quote(q, p->s + start, end - start));
        start = end + 1;
    }
    return colon ? check_port(p, host_end + 1, n) : 0;
}

/* One path component s[from..to): `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`. */
static int check_path_component(const struct parser *p, size_t from, size_t to)
{
    char q[QUOTE_SIZE], sep[QUOTE_SIZE];
    const char *s = p->s;
    if (from == to)
        return fail(p, "empty path component at offset %zu", from);
    for (size_t i = from; i < to; i++)
        if (!is_digit(s[i]) && !is_lower(s[i]) && !is_path_separator(s[i]))
            return fail_char(p, i);
    if (is_path_separator(s[from]))
        return fail(p, "path component '%s' must start with a letter or digit",
                    quote(q, s + from, to - from));
    if (is_path_separator(s[to - 1]))
        return fail(p, "path component '%s' must end with a letter or digit",
                    quote(q, s + from, to - from));
    for (size_t i = from; i < to;) {
        if (!is_path_separator(s[i])) {
            i++;
            continue;
        }
        size_t run = i, dashes = 0;
        while (i < to && is_path_separator(s[i]))
            dashes += s[i++] == '-';
        size_t n = i - run;
        bool ok = n == 1 || dashes == n || (n == 2 && s[run] == '_' && s[run + 1] == '_');
        if (!ok)
            return fail(p, "path component '%s' has invalid separator '%s' at offset %zu",
                        quote(q, s + from, to - from), quote(sep, s + run, n), run);
    }
    return 0;
}

/* The path s[from..to): at least one component, joined by '/'. */
static int check_path(const struct parser *p, size_t from, size_t to)
{
    if (from == to)
        return fail(p, "empty repository path");
    for (size_t i = from; i < to; i++)
        if (is_upper(p->s[i]))
            return fail(p, "repository name must be lowercase");
    if (p->s[from] == '/')
        return fail(p, "repository path must not start with '/'");
    if (p->s[to - 1] == '/')
        return fail(p, "repository path must not end with '/'");
    for (size_t start = from; start <= to;) {
        const char *slash = memchr(p->s + start, '/', to - start);
        size_t end = slash ? (size_t)(slash - p->s) : to;
        int r = check_path_component(p, start, end);
        if (r < 0)
            return r;
        start = end + 1;
    }
    return 0;
}

enum tag_problem {
    TAG_OK,
    TAG_EMPTY,
    TAG_FIRST_CHAR,
    TAG_BAD_CHAR,
    TAG_TOO_LONG,
};

/* `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`; *ret_at is the offending index for TAG_BAD_CHAR. */
static enum tag_problem tag_check(const char *t, size_t n, size_t *ret_at)
{
    if (n == 0)
        return TAG_EMPTY;
    if (!is_alnum(t[0]) && t[0] != '_')
        return TAG_FIRST_CHAR;
    for (size_t i = 1; i < n; i++) {
        if (!is_alnum(t[i]) && !is_path_separator(t[i])) {
            *ret_at = i;
            return TAG_BAD_CHAR;
        }
    }
    return n > CVM_REFERENCE_TAG_MAX ? TAG_TOO_LONG : TAG_OK;
}

bool cvm_reference_tag_valid(const char *s)
{
    size_t at = 0;
    /* A tag longer than the maximum is cut to one byte over it, which tag_check rejects. */
    return s && tag_check(s, strnlen(s, CVM_REFERENCE_TAG_MAX + 1), &at) == TAG_OK;
}

/* The tag s[from..to), which followed a ':'. */
static int check_tag(const struct parser *p, size_t from, size_t to)
{
    char q[QUOTE_SIZE];
    size_t at = 0;
    switch (tag_check(p->s + from, to - from, &at)) {
    case TAG_OK: return 0;
    case TAG_EMPTY: return fail(p, "empty tag");
    case TAG_FIRST_CHAR:
        return fail(p, "tag '%s' must start with a letter, digit or '_'",
                    quote(q, p->s + from, to - from));
    case TAG_BAD_CHAR: return fail_char(p, from + at);
    case TAG_TOO_LONG: return fail(p, "tag is longer than %d characters", CVM_REFERENCE_TAG_MAX);
    }
    return fail(p, "invalid tag");
}

/* The digest after '@', which runs to the end of the input: only sha256 is accepted, so the
 * digest module's error (CVM_E_FORMAT or CVM_E_UNSUPPORTED) is kept, with our prefix. */
static int check_digest(const struct parser *p, size_t from, struct cvm_digest *ret)
{
    char q[QUOTE_SIZE];
    if (from == p->len)
        return fail(p, "empty digest");
    CVM_AUTO(cvm_error_free) struct cvm_error *derr = NULL;
    int r = cvm_digest_parse(p->s + from, ret, &derr);
    if (r == 0)
        return 0;
    return cvm_error_set(p->err, (enum cvm_error_class) - r, "reference '%s': %s",
                         quote(q, p->s, p->len), derr ? derr->message : "invalid digest");
}

void cvm_reference_free(struct cvm_reference *r)
{
    if (!r)
        return;
    free(r->domain);
    free(r->path);
    free(r->tag);
    free(r);
}

int cvm_reference_parse(const char *s, struct cvm_reference **ret, struct cvm_error **err)
{
    struct parser p = {.s = s, .len = strnlen(s, CVM_REFERENCE_MAX + 1), .err = err};
    if (p.len == 0)
        return fail(&p, "empty reference");
    if (p.len > CVM_REFERENCE_MAX)
        return fail(&p, "longer than %d bytes", CVM_REFERENCE_MAX);
    for (size_t i = 0; i < p.len; i++)
        if (!is_reference_char(s[i]))
            return fail_char(&p, i);

    /* name [":" tag] ["@" digest]: the digest starts at the first '@'; the tag at the first
     * ':' after the last '/' of the name, so a registry port is never taken for a tag. */
    const char *at = memchr(s, '@', p.len);
    size_t name_end = at ? (size_t)(at - s) : p.len;
    const char *last_slash = memrchr(s, '/', name_end);
    size_t tag_search = last_slash ? (size_t)(last_slash - s) + 1 : 0;
    const char *colon = memchr(s + tag_search, ':', name_end - tag_search);
    size_t repo_end = colon ? (size_t)(colon - s) : name_end;
    if (repo_end == 0)
        return fail(&p, "missing repository name");

    const char *first_slash = memchr(s, '/', repo_end);
    size_t domain_len = 0, path_start = 0;
    if (first_slash && looks_like_domain(s, (size_t)(first_slash - s))) {
        domain_len = (size_t)(first_slash - s);
        path_start = domain_len + 1;
    }
    int r = domain_len ? check_domain(&p, domain_len) : 0;
    if (r < 0)
        return r;
    if ((r = check_path(&p, path_start, repo_end)) < 0)
        return r;
    size_t name_len =
        (domain_len ? domain_len : strlen(CVM_DEFAULT_DOMAIN)) + 1 + repo_end - path_start;
    if (name_len > CVM_REFERENCE_NAME_MAX)
        return fail(&p, "repository name is longer than %d bytes", CVM_REFERENCE_NAME_MAX);
    if (colon && (r = check_tag(&p, repo_end + 1, name_end)) < 0)
        return r;
    struct cvm_digest digest = {{0}};
    if (at && (r = check_digest(&p, name_end + 1, &digest)) < 0)
        return r;

    CVM_AUTO(cvm_reference_free) struct cvm_reference *ref = calloc(1, sizeof(*ref));
    if (!ref)
        return cvm_error_set_errno(err, ENOMEM, "cannot parse reference");
    ref->domain = domain_len ? strndup(s, domain_len) : strdup(CVM_DEFAULT_DOMAIN);
    ref->path = strndup(s + path_start, repo_end - path_start);
    if (colon)
        ref->tag = strndup(s + repo_end + 1, name_end - repo_end - 1);
    else if (!at)
        ref->tag = strdup(CVM_DEFAULT_TAG);
    if (!ref->domain || !ref->path || ((colon || !at) && !ref->tag))
        return cvm_error_set_errno(err, ENOMEM, "cannot parse reference");
    if (at) {
        ref->has_digest = true;
        ref->digest = digest;
    }
    *ret = cvm_steal_ptr(&ref);
    return 0;
}

char *cvm_reference_repository(const struct cvm_reference *r)
{
    char *out = NULL;
    if (asprintf(&out, "%s/%s", r->domain, r->path) < 0)
        return NULL;
    return out;
}

char *cvm_reference_format(const struct cvm_reference *r)
{
    char digest[CVM_DIGEST_STR_SIZE] = "";
    char *out = NULL;
    if (r->has_digest)
        cvm_digest_format(&r->digest, digest);
    if (asprintf(&out, "%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "", r->tag ? r->tag : "",
                 r->has_digest ? "@" : "", digest) < 0)
        return NULL;
    return out;
}
