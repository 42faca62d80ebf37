/* A strict single-pass parser for WWW-Authenticate (RFC 7235 §4.1): the value comes from a
 * registry, so every byte is checked against the grammar and only spans are remembered until
 * the chosen challenge's parameters are copied out. */
#include "auth-challenge.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base.h"

#define HEADER "WWW-Authenticate"

/* The parameters kept, as bits of struct challenge.seen. */
enum { PARAM_REALM, PARAM_SERVICE, PARAM_SCOPE, PARAM_COUNT };
static const char *const param_names[PARAM_COUNT] = {"realm", "service", "scope"};

/* Names shown in messages are cut to this many bytes. */
#define SHOWN_NAME_MAX 32
/* Unsupported schemes named in the CVM_E_UNSUPPORTED message. */
#define SHOWN_SCHEMES_MAX 8

/* A parameter value as it appears in the header: a token, or a quoted-string with its quotes. */
struct span {
    size_t off, len;
    bool quoted, set;
};

/* The first challenge of a supported scheme. */
struct kept {
    bool found;
    struct span params[PARAM_COUNT];
};

struct parser {
    const char *s;
    size_t len;
    struct cvm_error **err;
    size_t n_challenges, n_params;
    struct kept bearer, basic;
    /* The challenge being parsed: where its parameters go (NULL: dropped), which of the known
     * ones it had, and whether it carried a token68 (then no parameter may follow). */
    struct kept *cur;
    unsigned seen;
    bool token68;
    /* Distinct unsupported schemes, for the message when nothing else is offered. */
    struct span others[SHOWN_SCHEMES_MAX];
    size_t n_others;
    bool more_others;
};

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token68_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("-._~+/", c));
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static size_t skip_ws(const struct parser *p, size_t i)
{
    while (i < p->len && is_ws(p->s[i]))
        i++;
    return i;
}

static size_t token_end(const struct parser *p, size_t i)
{
    while (i < p->len && is_tchar((unsigned char)p->s[i]))
        i++;
    return i;
}

/* A token of the header for a message: tokens are printable ASCII, so only the length needs
 * bounding. */
static const char *shown(const struct parser *p, size_t off, size_t len, char *out, size_t size)
{
    size_t n = len > SHOWN_NAME_MAX ? SHOWN_NAME_MAX : len;
    snprintf(out, size, "%.*s%s", (int)n, p->s + off, len > n ? "..." : "");
    return out;
}

#define SHOWN_SIZE (SHOWN_NAME_MAX + 4)

static bool span_is(const struct parser *p, size_t off, size_t len, const char *name)
{
    return len == strlen(name) && strncasecmp(p->s + off, name, len) == 0;
}

/* token BWS "=": a parameter starts here (else, after a comma, a new challenge does). */
static bool at_param(const struct parser *p, size_t i)
{
    size_t e = token_end(p, i);
    if (e == i)
        return false;
    e = skip_ws(p, e);
    return e < p->len && p->s[e] == '=';
}

/* token68 ends at the end of the value or at a comma; "abc=" followed by more is a parameter. */
static size_t token68_end(const struct parser *p, size_t i)
{
    size_t e = i;
    while (e < p->len && is_token68_char((unsigned char)p->s[e]))
        e++;
    if (e == i)
        return 0;
    while (e < p->len && p->s[e] == '=')
        e++;
    size_t after = skip_ws(p, e);
    return after == p->len || p->s[after] == ',' ? e : 0;
}

/* A quoted-string starting at p->s[at] == '"'; sets *ret_end past the closing quote and
 * *ret_n to the length once unescaped. */
static int scan_quoted(const struct parser *p, size_t at, size_t *ret_end, size_t *ret_n)
{
    size_t n = 0;
    for (size_t j = at + 1; j < p->len; j++) {
        unsigned char c = (unsigned char)p->s[j];
        if (c == '"') {
            *ret_end = j + 1;
            *ret_n = n;
            return 0;
        }
        if (c == '\\') {
            if (++j == p->len)
                break;
            c = (unsigned char)p->s[j];
        }
        /* qdtext and quoted-pair: HTAB, SP, VCHAR, obs-text; no other control character. */
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return cvm_error_set(p->err, CVM_E_FORMAT,
                                 HEADER ": control character in quoted string at offset %zu", j);
        n++;
    }
    return cvm_error_set(p->err, CVM_E_FORMAT, HEADER ": unterminated quoted string at offset %zu",
                         at);
}

static int parse_param(struct parser *p, size_t *i)
{
    char name[SHOWN_SIZE];
    size_t off = *i, end = token_end(p, off);
    shown(p, off, end - off, name, sizeof(name));
    size_t j = skip_ws(p, end);
    if (j == p->len || p->s[j] != '=')
        return cvm_error_set(p->err, CVM_E_FORMAT,
                             HEADER ": expected '=' after parameter '%s' at offset %zu", name, j);
    j = skip_ws(p, j + 1);
    struct span v = {.off = j, .set = true};
    size_t n = 0;
    if (j < p->len && p->s[j] == '"') {
        int r = scan_quoted(p, j, &j, &n);
        if (r < 0)
            return r;
        v.quoted = true;
    } else if (j < p->len && is_tchar((unsigned char)p->s[j])) {
        j = token_end(p, j);
        n = j - v.off;
    } else {
        return cvm_error_set(p->err, CVM_E_FORMAT,
                             HEADER ": expected a token or quoted string for parameter '%s' at "
                                    "offset %zu",
                             name, j);
    }
    v.len = j - v.off;
    if (n > CVM_AUTH_CHALLENGE_VALUE_MAX)
        return cvm_error_set(p->err, CVM_E_LIMIT,
                             HEADER ": value of parameter '%s' at offset %zu is %zu bytes, over "
                                    "the limit of %d",
                             name, v.off, n, CVM_AUTH_CHALLENGE_VALUE_MAX);
    if (++p->n_params > CVM_AUTH_CHALLENGE_PARAMS_MAX)
        return cvm_error_set(p->err, CVM_E_LIMIT, HEADER ": more than %d parameters",
                             CVM_AUTH_CHALLENGE_PARAMS_MAX);
    if (p->token68)
        return cvm_error_set(p->err, CVM_E_FORMAT,
                             HEADER ": parameter '%s' at offset %zu follows a token68", name, off);
    for (int k = 0; k < PARAM_COUNT; k++) {
        if (!span_is(p, off, end - off, param_names[k]))
            continue;
        if (p->seen & 1u << k)
            return cvm_error_set(p->err, CVM_E_FORMAT,
                                 HEADER ": duplicate parameter '%s' at offset %zu", name, off);
        p->seen |= 1u << k;
        if (p->cur)
            p->cur->params[k] = v;
    }
    *i = j;
    return 0;
}

/* Remembers an unsupported scheme once (case-insensitively) for the final message. */
static void note_other(struct parser *p, size_t off, size_t len)
{
    for (size_t k = 0; k < p->n_others; k++)
        if (p->others[k].len == len && strncasecmp(p->s + p->others[k].off, p->s + off, len) == 0)
            return;
    if (p->n_others == SHOWN_SCHEMES_MAX)
        p->more_others = true;
    else
        p->others[p->n_others++] = (struct span){.off = off, .len = len};
}

/* An auth-scheme at *i; sets *ret_space when white space follows (parameters may come). */
static int parse_scheme(struct parser *p, size_t *i, bool *ret_space)
{
    size_t off = *i, end = token_end(p, off);
    if (end == off)
        return cvm_error_set(p->err, CVM_E_FORMAT, HEADER ": expected an auth scheme at offset %zu",
                             off);
    p->n_challenges++;
    p->cur = NULL;
    p->seen = 0;
    p->token68 = false;
    if (span_is(p, off, end - off, "bearer")) {
        if (!p->bearer.found)
            p->cur = &p->bearer;
    } else if (span_is(p, off, end - off, "basic")) {
        if (!p->basic.found)
            p->cur = &p->basic;
    } else {
        note_other(p, off, end - off);
    }
    if (p->cur)
        p->cur->found = true;
    if (end < p->len && !is_ws(p->s[end]) && p->s[end] != ',') {
        char name[SHOWN_SIZE];
        return cvm_error_set(p->err, CVM_E_FORMAT,
                             HEADER ": expected a space or ',' after auth scheme '%s' at offset "
                                    "%zu",
                             shown(p, off, end - off, name, sizeof(name)), end);
    }
    *ret_space = end < p->len && is_ws(p->s[end]);
    *i = end;
    return 0;
}

static int parse_all(struct parser *p)
{
    size_t i = 0;
    /* need_comma: an element ended, only ',' or the end may follow. after_scheme: a scheme and
     * white space, so a token68 or a first parameter may follow without a comma. */
    bool need_comma = false, after_scheme = false;
    for (;;) {
        size_t j = skip_ws(p, i);
        if (j == p->len)
            return 0;
        if (p->s[j] == ',') {
            i = j + 1;
            need_comma = after_scheme = false;
            continue;
        }
        if (need_comma)
            return cvm_error_set(p->err, CVM_E_FORMAT, HEADER ": expected ',' at offset %zu", j);
        int r = 0;
        size_t e68 = 0;
        if (after_scheme && (e68 = token68_end(p, j)) != 0) {
            p->token68 = true;
            i = e68;
        } else if (after_scheme && token_end(p, j) == j) {
            return cvm_error_set(p->err, CVM_E_FORMAT,
                                 HEADER ": expected a parameter or token68 at offset %zu", j);
        } else if (after_scheme || (p->n_challenges && at_param(p, j))) {
            i = j;
            r = parse_param(p, &i);
        } else {
            i = j;
            bool space = false;
            r = parse_scheme(p, &i, &space);
            if (r == 0 && space) {
                after_scheme = true;
                continue;
            }
        }
        if (r < 0)
            return r;
        need_comma = true;
        after_scheme = false;
    }
}

/* A copy of a parameter value, quoted-pairs unescaped; NULL when out of memory. */
static char *span_dup(const struct parser *p, const struct span *v)
{
    if (!v->quoted)
        return strndup(p->s + v->off, v->len);
    char *out = malloc(v->len);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t j = v->off + 1; j + 1 < v->off + v->len; j++) {
        if (p->s[j] == '\\')
            j++;
        out[n++] = p->s[j];
    }
    out[n] = '\0';
    return out;
}

/* A realm for messages: at most 64 bytes, anything outside printable ASCII as \xNN. */
static const char *shown_value(const char *s, char out[64 * 4 + 4])
{
    size_t i = 0, o = 0;
    for (; s[i] && i < 64; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
    }
    snprintf(out + o, 4, "%s", s[i] ? "..." : "");
    return out;
}

static bool is_http_url(const char *s)
{
    size_t skip = strncasecmp(s, "https://", 8) == 0  ? 8
                  : strncasecmp(s, "http://", 7) == 0 ? 7
                                                      : 0;
    if (!skip || !s[skip])
        return false;
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
            return false;
    return true;
}

static int unsupported(const struct parser *p)
{
    char list[SHOWN_SCHEMES_MAX * (SHOWN_SIZE + 4) + 8] = "";
    size_t o = 0;
    for (size_t k = 0; k < p->n_others; k++) {
        char name[SHOWN_SIZE];
        o += (size_t)snprintf(list + o, sizeof(list) - o, "%s'%s'", k ? ", " : "",
                              shown(p, p->others[k].off, p->others[k].len, name, sizeof(name)));
    }
    if (p->more_others)
        snprintf(list + o, sizeof(list) - o, ", ...");
    return cvm_error_set(p->err, CVM_E_UNSUPPORTED,
                         HEADER ": no Basic or Bearer challenge, only %s", list);
}

void cvm_auth_challenge_release(struct cvm_auth_challenge *c)
{
    free(c->realm);
    free(c->service);
    free(c->scope);
    *c = (struct cvm_auth_challenge){.scheme = CVM_AUTH_NONE};
}

CVM_DEFINE_CLEANUP(struct cvm_auth_challenge *, cvm_auth_challenge_release)

int cvm_auth_challenge_parse(const char *value, size_t len, struct cvm_auth_challenge *ret,
                             struct cvm_error **err)
{
    if (len > CVM_AUTH_CHALLENGE_MAX)
        return cvm_error_set(err, CVM_E_LIMIT, HEADER ": %zu bytes, over the limit of %d", len,
                             CVM_AUTH_CHALLENGE_MAX);
    struct parser p = {.s = value, .len = len, .err = err};
    int r = parse_all(&p);
    if (r < 0)
        return r;
    if (!p.n_challenges)
        return cvm_error_set(err, CVM_E_FORMAT, HEADER ": empty header");
    const struct kept *k = p.bearer.found ? &p.bearer : p.basic.found ? &p.basic : NULL;
    if (!k)
        return unsupported(&p);

    struct cvm_auth_challenge c = {.scheme = k == &p.bearer ? CVM_AUTH_BEARER : CVM_AUTH_BASIC};
    CVM_AUTO(cvm_auth_challenge_release) struct cvm_auth_challenge *owned = &c;
    int n_kept = c.scheme == CVM_AUTH_BEARER ? PARAM_COUNT : PARAM_REALM + 1;
    char **slots[PARAM_COUNT] = {&c.realm, &c.service, &c.scope};
    for (int i = 0; i < n_kept; i++)
        if (k->params[i].set && !(*slots[i] = span_dup(&p, &k->params[i])))
            return cvm_error_set_errno(err, ENOMEM, HEADER ": cannot copy '%s'", param_names[i]);
    if (c.scheme == CVM_AUTH_BEARER) {
        char show[64 * 4 + 4];
        if (!c.realm)
            return cvm_error_set(err, CVM_E_FORMAT, HEADER ": bearer challenge has no realm");
        if (!is_http_url(c.realm))
            return cvm_error_set(err, CVM_E_FORMAT,
                                 HEADER ": bearer realm '%s' is not an http or https URL",
                                 shown_value(c.realm, show));
    }
    owned = NULL;
    *ret = c;
    return 0;
}
