/* Untrusted text in a one-line message: registries, manifests, keys and reports are hostile,
 * and a byte like ESC in an error would reach the user's terminal. */
#ifndef CVM_BASE_SHOWN_H
#define CVM_BASE_SHOWN_H

#include <stddef.h>

/* The size of a buffer for cvm_shown(s, max, out). */
#define CVM_SHOWN_SIZE(max) ((max)*4 + 4)

/* At most max bytes of s, each outside printable ASCII as \xNN, "..." when s is longer;
 * returns out. */
const char *cvm_shown(const char *s, size_t max, char *out);

#endif
