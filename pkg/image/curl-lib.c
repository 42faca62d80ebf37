#include "curl-lib.h"

#include <pthread.h>

#include "base.h"

/* The soname the build saw (read from the library by the Makefile). */
#ifndef CVM_LIBCURL_SONAME
#define CVM_LIBCURL_SONAME "libcurl.so.4"
#endif

#define CVM_CURL_DEFINE(f) __typeof__(f) *sym_##f;
CVM_CURL_FUNCTIONS(CVM_CURL_DEFINE)
#undef CVM_CURL_DEFINE

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_result = CURLE_FAILED_INIT;

static void global_init(void)
{
    init_result = sym_curl_global_init(CURL_GLOBAL_DEFAULT);
}

int cvm_curl_lib_load(struct cvm_error **err)
{
#define CVM_CURL_SLOT(f) {#f, (void **)&sym_##f},
    static const struct cvm_dlib_symbol symbols[] = {CVM_CURL_FUNCTIONS(CVM_CURL_SLOT)};
#undef CVM_CURL_SLOT
    int r = cvm_dlib_load(CVM_LIBCURL_SONAME, symbols, sizeof(symbols) / sizeof(symbols[0]), err);
    if (r < 0)
        return r;
    /* curl_global_init is not thread-safe in older libcurl: once, under pthread_once. */
    pthread_once(&init_once, global_init);
    if (init_result != CURLE_OK)
        return cvm_error_set(err, CVM_E_SYSTEM, "%s: cannot initialise: %s", CVM_LIBCURL_SONAME,
                             sym_curl_easy_strerror(init_result));
    return 0;
}
