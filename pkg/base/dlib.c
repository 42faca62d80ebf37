/* dlopen() with every symbol resolved up front, so a missing one fails the command cleanly
 * before any of the library is used rather than at the first call. */
#include "dlib.h"

#include <dlfcn.h>
#include <pthread.h>

#include "error.h"

/* One lock for all libraries: loading happens a handful of times per process. */
static pthread_mutex_t dlib_lock = PTHREAD_MUTEX_INITIALIZER;

static int load_locked(const char *soname, const struct cvm_dlib_symbol *symbols, size_t n,
                       struct cvm_error **err)
{
    /* The last slot is filled last, so a filled last slot means all are. */
    if (n > 0 && *symbols[n - 1].slot)
        return 0;
    void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        return cvm_error_set(err, CVM_E_UNSUPPORTED, "%s: cannot load: %s", soname,
                             why ? why : "unknown error");
    }
    for (size_t i = 0; i < n; i++) {
        void *f = dlsym(handle, symbols[i].name);
        if (!f) {
            for (size_t j = 0; j < i; j++)
                *symbols[j].slot = NULL;
            dlclose(handle);
            return cvm_error_set(err, CVM_E_UNSUPPORTED, "%s: missing function %s", soname,
                                 symbols[i].name);
        }
        *symbols[i].slot = f;
    }
    /* The handle stays open for the life of the process: the slots point into it. */
    return 0;
}

int cvm_dlib_load(const char *soname, const struct cvm_dlib_symbol *symbols, size_t n,
                  struct cvm_error **err)
{
    pthread_mutex_lock(&dlib_lock);
    int r = load_locked(soname, symbols, n, err);
    pthread_mutex_unlock(&dlib_lock);
    return r;
}
