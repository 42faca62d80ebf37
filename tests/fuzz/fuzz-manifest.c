/* Fuzz target: the manifest/index parser and the cVM config parser on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cvm_error *err = NULL;
    struct cvm_manifest *m = NULL;
    if (cvm_manifest_parse(data, size, "fuzz", &m, &err) == 0) {
        /* Exercise the lookups callers make on what was accepted. */
        cvm_manifest_layer(m, "cvm.yaml");
        cvm_manifest_free(m);
    }
    cvm_error_free(err);
    err = NULL;
    struct cvm_image_config *c = NULL;
    if (cvm_image_config_parse(data, size, "fuzz", &c, &err) == 0)
        cvm_image_config_free(c);
    cvm_error_free(err);
    return 0;
}
