/* Fuzz target: the monitor YAML parser on arbitrary bytes (runtime files are not read). */
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cvm_monitor_config *cfg = NULL;
    struct cvm_error *err = NULL;
    if (cvm_monitor_config_parse((const char *)data, size, "fuzz.yaml", "/nonexistent",
                                 CVM_CONFIG_NO_FILES, &cfg, &err) == 0)
        cvm_monitor_config_free(cfg);
    cvm_error_free(err);
    return 0;
}
