#include "archive-lib.h"

#include "base.h"

/* The soname the build linked against (the Makefile reads it from the library), so the
 * headers and the loaded library agree. */
#ifndef CVM_LIBARCHIVE_SONAME
#define CVM_LIBARCHIVE_SONAME "libarchive.so.13"
#endif

#define CVM_ARCHIVE_DEFINE(f) __typeof__(f) *sym_##f;
CVM_ARCHIVE_FUNCTIONS(CVM_ARCHIVE_DEFINE)
#undef CVM_ARCHIVE_DEFINE

int cvm_archive_lib_load(struct cvm_error **err)
{
#define CVM_ARCHIVE_SLOT(f) {#f, (void **)&sym_##f},
    static const struct cvm_dlib_symbol symbols[] = {CVM_ARCHIVE_FUNCTIONS(CVM_ARCHIVE_SLOT)};
#undef CVM_ARCHIVE_SLOT
    return cvm_dlib_load(CVM_LIBARCHIVE_SONAME, symbols, sizeof(symbols) / sizeof(symbols[0]), err);
}
