/* The WWW-Authenticate header of a registry's 401 answer (RFC 7235 §2.1, §4.1): which scheme
 * to answer and, for Bearer (distribution's token authentication), where to ask for a token. */
#ifndef CVM_IMAGE_AUTH_CHALLENGE_H
#define CVM_IMAGE_AUTH_CHALLENGE_H

#include <stddef.h>

struct cvm_error;

/* Longest header value accepted, in bytes (CVM_E_LIMIT beyond). */
#define CVM_AUTH_CHALLENGE_MAX 8192
/* Most auth-params in one header value, counted over all its challenges (CVM_E_LIMIT). */
#define CVM_AUTH_CHALLENGE_PARAMS_MAX 64
/* Longest parameter value, in bytes after unescaping a quoted string (CVM_E_LIMIT). */
#define CVM_AUTH_CHALLENGE_VALUE_MAX 4096

enum cvm_auth_scheme { CVM_AUTH_NONE, CVM_AUTH_BASIC, CVM_AUTH_BEARER };

struct cvm_auth_challenge {
    enum cvm_auth_scheme scheme;
    char *realm;   /* NULL when absent */
    char *service; /* Bearer: NULL when absent */
    char *scope;   /* Bearer: NULL when absent */
};

/* Parses one header value (len bytes, not necessarily NUL-terminated, without the header name
 * and the line's CRLF; several received headers can be joined with ", ") and keeps the first
 * Bearer challenge, else the first Basic one; other schemes are skipped. The whole value must
 * follow the grammar: challenges separated by commas, each `scheme [ 1*SP ( token68 /
 * #auth-param ) ]`, auth-param `token BWS "=" BWS ( token / quoted-string )`; SP and HTAB count
 * as white space. Scheme and parameter names are case-insensitive; a parameter may appear once
 * per challenge (realm, service and scope are checked).
 * A Bearer challenge needs a realm that is an absolute http:// or https:// URL (printable ASCII
 * without spaces); a Basic realm is free text (distribution sends `Basic realm="Registry
 * Realm"`) and a Basic challenge's service and scope are not kept.
 * Errors: no supported challenge is CVM_E_UNSUPPORTED naming up to 8 schemes seen; malformed
 * input is CVM_E_FORMAT with the 0-based byte offset (`WWW-Authenticate: unterminated quoted
 * string at offset 17`, the offset of the opening quote); limits are CVM_E_LIMIT. *ret is
 * written only on success; release it with cvm_auth_challenge_release. */
int cvm_auth_challenge_parse(const char *value, size_t len, struct cvm_auth_challenge *ret,
                             struct cvm_error **err);

/* Frees the strings and resets *c to CVM_AUTH_NONE; a zeroed struct is fine. */
void cvm_auth_challenge_release(struct cvm_auth_challenge *c);

#endif
