/* Helpers shared by the image commands: the store, references, signature tags, sizes. */
#ifndef CVMCTL_IMAGE_CLI_H
#define CVMCTL_IMAGE_CLI_H

#include <stdint.h>

#include "cli.h"
#include "image.h"

/* Opens the store at --root, $CVMCTL_ROOT or the default folder. */
int cvmctl_store_open(unsigned flags, struct cvm_store **ret, struct cvm_error **err);

/* Parses text as a reference and finds its manifest in the store. */
int cvmctl_resolve(struct cvm_store *s, const char *text, struct cvm_reference **ret_ref,
                   struct cvm_descriptor *ret_desc, struct cvm_error **err);

/* "123 B", "4.5 KiB", "12.0 MiB". */
const char *cvmctl_human_size(uint64_t bytes, char out[32]);

/* The misuse message for getopt_long's ':' (missing value) or '?' (unknown option). */
int cvmctl_option_error(const struct cvmctl_command *cmd, int c, char **argv);

/* "sha256:<hex>" in a static buffer: for one use per statement. */
char *cvmctl_digest_str(const struct cvm_digest *d);

#endif
