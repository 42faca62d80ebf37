/* Fuzz target: the root.cpio checker on arbitrary bytes (the strict newc scan, then libarchive). */
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "cpio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cvm_cpio_stats stats;
    struct cvm_error *err = NULL;
    cvm_cpio_check(data, size, "fuzz.cpio", &stats, &err);
    cvm_error_free(err);
    return 0;
}
