/*
 * Signatures this store has already verified (specs/image-format.md §7, "Verified
 * signatures"), so that running an image again does not repeat its ECDSA verification, whose
 * first use in a process costs ~5 ms here (opening libcrypto, its start-up, the verify).
 *
 * Whether a signature verifies with a key is a fixed fact about three byte strings: the key,
 * the payload and the signature. A memo records that fact as an empty file
 * ROOT/verified/<payload hex>-<tag hex>, where tag is HMAC-SHA256, under the user's secret
 * ($XDG_STATE_HOME/cvmctl/verify-secret, else ~/.local/state/cvmctl/verify-secret: 32 random
 * bytes, mode 0600), of the key's fingerprint, the payload's digest and the SHA-256 of the
 * signature's bytes. The secret lives outside the store, so that nothing that can write into
 * the store (another OCI tool, a store copied, restored or handed over from elsewhere, a damaged
 * disk) can make a memo that holds; only code running as the user can, which could as well
 * replace cvmctl. Everything else about a signature (which manifest it names, its identity,
 * the policy) is checked on every run, as are the image's blobs.
 */
#ifndef CVM_IMAGE_VERIFY_MEMO_H
#define CVM_IMAGE_VERIFY_MEMO_H

#include <stdbool.h>
#include <stddef.h>

#include "cleanup.h"
#include "digest.h"

struct cvm_error;
struct cvm_store;

#define CVM_VERIFY_MEMO_DIR "verified"
#define CVM_VERIFY_MEMO_SECRET "verify-secret"
#define CVM_VERIFY_MEMO_SECRET_LEN 32

enum cvm_verify_memo_mode {
    CVM_VERIFY_MEMO_RECORD = 1 << 0,  /* record signatures that verified */
    CVM_VERIFY_MEMO_CONSULT = 1 << 1, /* and take recorded ones as verified */
};

struct cvm_verify_memo;

/* The memos of the store s under the user's secret (the store must outlive it), creating the
 * folder and the secret on first use. Never fails: where either cannot be made or read
 * (read-only, full, another user's), or the secret is not a 32-byte file that only its owner
 * may read, there are no memos (NULL) and every signature is verified; the reason is logged
 * at debug level. */
struct cvm_verify_memo *cvm_verify_memo_open(struct cvm_store *s, unsigned mode);
void cvm_verify_memo_free(struct cvm_verify_memo *m);
CVM_DEFINE_CLEANUP(struct cvm_verify_memo *, cvm_verify_memo_free)

/* True when m consults and records that sig (its bytes) over the payload with digest payload
 * verified with the key whose fingerprint is key_id. m may be NULL (false). */
bool cvm_verify_memo_holds(const struct cvm_verify_memo *m, const struct cvm_digest *key_id,
                           const struct cvm_digest *payload, const void *sig, size_t sig_len);
/* Records that it verified, when m records (m may be NULL). A memo that cannot be written is
 * only a later verification: logged at debug level. */
void cvm_verify_memo_add(const struct cvm_verify_memo *m, const struct cvm_digest *key_id,
                         const struct cvm_digest *payload, const void *sig, size_t sig_len);

/* For gc, under the store's exclusive lock: removes each memo whose payload blob the store no
 * longer has, and anything else in the folder but memos. */
int cvm_verify_memo_sweep(struct cvm_store *s, struct cvm_error **err);

#endif
