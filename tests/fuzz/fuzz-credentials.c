/* Fuzz target: a credentials file's bytes (docker config.json / containers auth.json), looked
 * up for a few hosts the seeds name, so the matching entries' contents are decoded too. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base.h"
#include "credentials.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const hosts[] = {"quay.io", "docker.io", "localhost:5000"};
    if (size > CVM_CREDENTIALS_MAX_FILE)
        return 0;
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        struct cvm_credential c = {0};
        struct cvm_error *err = NULL;
        int r = cvm_credentials_parse_buffer(data, size, "fuzz.json", hosts[i], &c, &err);
        /* A credential has a user name without ':' and no control characters. */
        if (r == 1 && (!c.username[0] || strchr(c.username, ':') || !c.password ||
                       strcmp(c.source, "fuzz.json") != 0))
            __builtin_trap();
        if (r < 0 && !err)
            __builtin_trap();
        cvm_credential_release(&c);
        cvm_error_free(err);
        if (r < 0)
            break;
    }
    return 0;
}
