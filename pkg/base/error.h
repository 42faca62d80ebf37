/* Control-plane errors: a class code plus a git-style message, passed last as `err`. */
#ifndef CVM_BASE_ERROR_H
#define CVM_BASE_ERROR_H

#include <stdarg.h>

/* Error classes; functions return the negated class on failure. */
enum cvm_error_class {
    CVM_E_OK = 0,
    CVM_E_SYSTEM = 1,    /* an OS call failed; errno_value says which */
    CVM_E_USAGE = 2,     /* the caller asked for something impossible */
    CVM_E_FORMAT = 3,    /* malformed input: YAML, ELF, JSON, archives */
    CVM_E_DIGEST = 4,    /* a hash or measurement did not match */
    CVM_E_SIGNATURE = 5, /* a signature did not verify */
    CVM_E_NET = 6,       /* a network peer failed or misbehaved */
    CVM_E_LIMIT = 7,     /* input exceeded a fixed maximum */
    CVM_E_NOTFOUND = 8,  /* a named thing does not exist */
    CVM_E_CONFLICT = 9,  /* a resource is taken (overlapping windows, names) */
    CVM_E_UNSUPPORTED = 10,
};

#define CVM_ERROR_MSG_MAX 1024

struct cvm_error {
    enum cvm_error_class code;
    int errno_value; /* 0 unless code == CVM_E_SYSTEM */
    char message[CVM_ERROR_MSG_MAX];
};

/* Allocates *err (if err is non-NULL and *err is NULL) and fills it; returns -code. */
int cvm_error_set(struct cvm_error **err, enum cvm_error_class code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like cvm_error_set with CVM_E_SYSTEM, appending ": strerror(errnum)". */
int cvm_error_set_errno(struct cvm_error **err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing error's message; returns -code (or -CVM_E_SYSTEM). */
int cvm_error_prefix(struct cvm_error **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void cvm_error_free(struct cvm_error *err);
const char *cvm_error_class_name(enum cvm_error_class code);

#endif
