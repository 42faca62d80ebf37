/* The sym_ pointers of crypto-lib.h, filled on first use. */
#include "crypto-lib.h"

#include "base.h"

/* The soname the build saw (read from the library by the Makefile), so the headers and the
 * loaded library agree. */
#ifndef CVM_LIBCRYPTO_SONAME
#define CVM_LIBCRYPTO_SONAME "libcrypto.so.3"
#endif

#define CVM_CRYPTO_DEFINE(f) __typeof__(f) *sym_##f;
CVM_CRYPTO_FUNCTIONS(CVM_CRYPTO_DEFINE)
#undef CVM_CRYPTO_DEFINE

int cvm_crypto_lib_load(struct cvm_error **err)
{
#define CVM_CRYPTO_SLOT(f) {#f, (void **)&sym_##f},
    static const struct cvm_dlib_symbol symbols[] = {CVM_CRYPTO_FUNCTIONS(CVM_CRYPTO_SLOT)};
#undef CVM_CRYPTO_SLOT
    return cvm_dlib_load(CVM_LIBCRYPTO_SONAME, symbols, sizeof(symbols) / sizeof(symbols[0]), err);
}
