/* libcurl, opened on first use (see dlib.h): only push, pull and login talk to registries,
 * and libcurl with its dependencies (TLS, HTTP/2, IDN, LDAP, SSH...) would otherwise add ~8 ms
 * to every command's start. Call cvm_curl_lib_load() before any sym_curl_* function. */
#ifndef CVM_IMAGE_CURL_LIB_H
#define CVM_IMAGE_CURL_LIB_H

#include <curl/curl.h>

struct cvm_error;

/* The libcurl functions cvmctl calls. */
#define CVM_CURL_FUNCTIONS(X)                                                                      \
    X(curl_global_init)                                                                            \
    X(curl_easy_init)                                                                              \
    X(curl_easy_setopt)                                                                            \
    X(curl_easy_getinfo)                                                                           \
    X(curl_easy_perform)                                                                           \
    X(curl_easy_cleanup)                                                                           \
    X(curl_easy_strerror)                                                                          \
    X(curl_easy_escape)                                                                            \
    X(curl_slist_append)                                                                           \
    X(curl_slist_free_all)                                                                         \
    X(curl_multi_init)                                                                             \
    X(curl_multi_add_handle)                                                                       \
    X(curl_multi_remove_handle)                                                                    \
    X(curl_multi_perform)                                                                          \
    X(curl_multi_poll)                                                                             \
    X(curl_multi_info_read)                                                                        \
    X(curl_multi_cleanup)                                                                          \
    X(curl_multi_strerror)                                                                         \
    X(curl_share_init)                                                                             \
    X(curl_share_setopt)                                                                           \
    X(curl_share_cleanup)                                                                          \
    X(curl_url)                                                                                    \
    X(curl_url_set)                                                                                \
    X(curl_url_get)                                                                                \
    X(curl_url_cleanup)                                                                            \
    X(curl_free)

#define CVM_CURL_DECLARE(f) extern __typeof__(f) *sym_##f;
CVM_CURL_FUNCTIONS(CVM_CURL_DECLARE)
#undef CVM_CURL_DECLARE

/* Opens libcurl and initialises it (once); CVM_E_UNSUPPORTED when it is missing. */
int cvm_curl_lib_load(struct cvm_error **err);

#endif
