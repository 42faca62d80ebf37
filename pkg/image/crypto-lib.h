/* libcrypto, opened on first use (see dlib.h): only signing, verifying and key generation need
 * it, and linking it costs every process ~2 ms of copy-on-write faults on its relocated data.
 * Call cvm_crypto_lib_load() before any sym_ function or macro below. */
#ifndef CVM_IMAGE_CRYPTO_LIB_H
#define CVM_IMAGE_CRYPTO_LIB_H

/* The P-256 fast path of sign.c uses EC_KEY and ECDSA_verify, deprecated in OpenSSL 3.0; naming
 * them in __typeof__ must not warn. Include this header before any other OpenSSL header. */
#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED
#endif
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

struct cvm_error;

/* The libcrypto functions cvmctl calls, including those behind the OpenSSL macros below. */
#define CVM_CRYPTO_FUNCTIONS(X)                                                                    \
    X(BIO_ctrl)                                                                                    \
    X(BIO_free)                                                                                    \
    X(BIO_new)                                                                                     \
    X(BIO_new_mem_buf)                                                                             \
    X(BIO_s_mem)                                                                                   \
    X(BIO_s_secmem)                                                                                \
    X(CRYPTO_clear_free)                                                                           \
    X(CRYPTO_free)                                                                                 \
    X(ECDSA_verify)                                                                                \
    X(EC_KEY_free)                                                                                 \
    X(EC_KEY_new_by_curve_name)                                                                    \
    X(EC_KEY_oct2key)                                                                              \
    X(ERR_pop_to_mark)                                                                             \
    X(ERR_set_mark)                                                                                \
    X(EVP_DigestSign)                                                                              \
    X(EVP_DigestSignInit_ex)                                                                       \
    X(EVP_DigestVerify)                                                                            \
    X(EVP_DigestVerifyInit_ex)                                                                     \
    X(EVP_MD_CTX_free)                                                                             \
    X(EVP_MD_CTX_new)                                                                              \
    X(EVP_PKEY_Q_keygen)                                                                           \
    X(EVP_PKEY_free)                                                                               \
    X(EVP_PKEY_get0_type_name)                                                                     \
    X(EVP_PKEY_get_utf8_string_param)                                                              \
    X(EVP_PKEY_is_a)                                                                               \
    X(OPENSSL_cleanse)                                                                             \
    X(OSSL_DECODER_CTX_free)                                                                       \
    X(OSSL_DECODER_CTX_new_for_pkey)                                                               \
    X(OSSL_DECODER_from_data)                                                                      \
    X(PEM_read_bio)                                                                                \
    X(PEM_write_bio_PUBKEY)                                                                        \
    X(PEM_write_bio_PrivateKey)                                                                    \
    X(i2d_PUBKEY)

#define CVM_CRYPTO_DECLARE(f) extern __typeof__(f) *sym_##f;
CVM_CRYPTO_FUNCTIONS(CVM_CRYPTO_DECLARE)
#undef CVM_CRYPTO_DECLARE

/* OpenSSL's macros that expand to calls of the functions above, expanded the same way through
 * the pointers (the plain macros would reference libcrypto's symbols at link time). */
#define sym_OPENSSL_free(addr) sym_CRYPTO_free(addr, OPENSSL_FILE, OPENSSL_LINE)
#define sym_OPENSSL_clear_free(addr, num)                                                          \
    sym_CRYPTO_clear_free(addr, num, OPENSSL_FILE, OPENSSL_LINE)
#define sym_BIO_get_mem_data(b, pp) sym_BIO_ctrl(b, BIO_CTRL_INFO, 0, (char *)(pp))

/* Opens libcrypto (once); CVM_E_UNSUPPORTED when it is missing or lacks a function. */
int cvm_crypto_lib_load(struct cvm_error **err);

#endif
