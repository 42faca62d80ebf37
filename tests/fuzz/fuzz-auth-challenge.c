/* Fuzz target: the WWW-Authenticate parser on arbitrary bytes (the value a registry sends). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "auth-challenge.h"
#include "base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cvm_auth_challenge c = {0};
    struct cvm_error *err = NULL;
    if (cvm_auth_challenge_parse((const char *)data, size, &c, &err) == 0) {
        /* A kept challenge is a supported scheme, and a Bearer one has an http(s) realm. */
        if (c.scheme == CVM_AUTH_NONE || (c.scheme == CVM_AUTH_BEARER && !c.realm) ||
            (c.scheme == CVM_AUTH_BASIC && (c.service || c.scope)))
            __builtin_trap();
        if (c.realm && strlen(c.realm) > CVM_AUTH_CHALLENGE_VALUE_MAX)
            __builtin_trap();
        cvm_auth_challenge_release(&c);
    } else if (!err || err->code == CVM_E_OK) {
        __builtin_trap();
    }
    cvm_error_free(err);
    return 0;
}
