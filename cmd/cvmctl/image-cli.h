/* Helpers shared by the image commands: the store, references, signature tags, sizes. */
#ifndef CVMCTL_IMAGE_CLI_H
#define CVMCTL_IMAGE_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "image.h"

/* Opens the store at --root, $CVMCTL_ROOT or the default folder. */
int cvmctl_store_open(unsigned flags, struct cvm_store **ret, struct cvm_error **err);

/* Parses text as a reference and finds its manifest in the store. */
int cvmctl_resolve(struct cvm_store *s, const char *text, struct cvm_reference **ret_ref,
                   struct cvm_descriptor *ret_desc, struct cvm_error **err);

/* What decides whether an image's signature is good enough: a key, else a trust policy
 * (policy_file, else policy.json in the store folder). */
struct cvmctl_trust {
    const char *key_file;
    const char *policy_file;
    /* Take a signature this store verified before as verified (run); every check records
     * the signatures it verifies (verify-memo.h). */
    bool use_memo;
};

/* Checks the signatures attached to the image ref resolved to desc; on success `how` (256
 * bytes) says what was satisfied ("signed by key sha256:..." or "trust policy scope 'x'
 * satisfied"). *ret_input_error is set when the key or policy file itself was at fault. */
int cvmctl_check_signature(struct cvm_store *s, const struct cvm_reference *ref,
                           const struct cvm_descriptor *desc, const struct cvmctl_trust *trust,
                           char how[256], bool *ret_input_error, struct cvm_error **err);

/* "123 B", "4.5 KiB", "12.0 MiB". */
const char *cvmctl_human_size(uint64_t bytes, char out[32]);

/* The misuse message for getopt_long's ':' (missing value) or '?' (unknown option). */
int cvmctl_option_error(const struct cvmctl_command *cmd, int c, char **argv);

/* "sha256:<hex>" in a static buffer: for one use per statement. */
char *cvmctl_digest_str(const struct cvm_digest *d);

#endif
