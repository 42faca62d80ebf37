/* Shared libraries loaded on first use instead of at process start.
 *
 * Every library linked into cvmctl costs start-up time in the dynamic linker (relocations,
 * symbol lookups, page faults at ~10 us each here), whether the command uses it or not:
 * measured here, libarchive with its dependencies adds ~4 ms and libcurl ~8 ms to a process
 * that otherwise starts in ~5 ms. Libraries that only some commands need are therefore
 * opened with dlopen() by those commands, and their functions called through pointers
 * resolved here: `sym_<name>` has the type of `<name>`.
 */
#ifndef CVM_BASE_DLIB_H
#define CVM_BASE_DLIB_H

#include <stddef.h>

struct cvm_error;

struct cvm_dlib_symbol {
    const char *name;
    void **slot; /* the sym_ function pointer to fill */
};

/* Opens soname once per process and fills every slot; the first missing symbol or a
 * library that cannot be opened is CVM_E_UNSUPPORTED naming it. Thread-safe. */
int cvm_dlib_load(const char *soname, const struct cvm_dlib_symbol *symbols, size_t n,
                  struct cvm_error **err);

#endif
