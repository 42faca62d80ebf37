/* The error object of specs: one allocation per failure, message truncated to fit. */
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cvm_error *error_slot(struct cvm_error **err)
{
    if (!err)
        return NULL;
    if (!*err)
        *err = calloc(1, sizeof(**err));
    return *err;
}

static int error_vset(struct cvm_error **err, enum cvm_error_class code, int errnum,
                      const char *fmt, va_list ap)
{
    struct cvm_error *e = error_slot(err);
    if (!e)
        return -(int)code;
    e->code = code;
    e->errno_value = errnum;
    int n = vsnprintf(e->message, sizeof(e->message), fmt, ap);
    if (errnum && n >= 0 && (size_t)n < sizeof(e->message))
        snprintf(e->message + n, sizeof(e->message) - (size_t)n, ": %s", strerror(errnum));
    return -(int)code;
}

int cvm_error_set(struct cvm_error **err, enum cvm_error_class code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = error_vset(err, code, 0, fmt, ap);
    va_end(ap);
    return r;
}

int cvm_error_set_errno(struct cvm_error **err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = error_vset(err, CVM_E_SYSTEM, errnum, fmt, ap);
    va_end(ap);
    return r;
}

int cvm_error_prefix(struct cvm_error **err, const char *fmt, ...)
{
    if (!err || !*err)
        return -CVM_E_SYSTEM;
    struct cvm_error *e = *err;
    char prefix[CVM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    /* prefix + ": " + message, cut to fit */
    char joined[CVM_ERROR_MSG_MAX];
    size_t n = strlen(prefix);
    memcpy(joined, prefix, n);
    size_t rest = sizeof(joined) - n;
    if (rest > 2) {
        memcpy(joined + n, ": ", 2);
        size_t m = strnlen(e->message, rest - 3);
        memcpy(joined + n + 2, e->message, m);
        n += 2 + m;
    }
    joined[n < sizeof(joined) ? n : sizeof(joined) - 1] = 0;
    memcpy(e->message, joined, sizeof(joined));
    return -(int)e->code;
}

void cvm_error_free(struct cvm_error *err)
{
    free(err);
}

const char *cvm_error_class_name(enum cvm_error_class code)
{
    static const char *const names[] = {
        [CVM_E_OK] = "ok",
        [CVM_E_SYSTEM] = "system",
        [CVM_E_USAGE] = "usage",
        [CVM_E_FORMAT] = "format",
        [CVM_E_DIGEST] = "digest",
        [CVM_E_SIGNATURE] = "signature",
        [CVM_E_NET] = "network",
        [CVM_E_LIMIT] = "limit",
        [CVM_E_NOTFOUND] = "not found",
        [CVM_E_CONFLICT] = "conflict",
        [CVM_E_UNSUPPORTED] = "unsupported",
    };
    if ((size_t)code < sizeof(names) / sizeof(names[0]) && names[code])
        return names[code];
    return "unknown";
}
