/* The trust policy: which signatures an image needs before it runs, in a subset of
 * containers-policy.json(5) (the "docker" transport, sigstoreSigned keys) so podman users can
 * read and reuse it. */
#ifndef CVM_IMAGE_POLICY_H
#define CVM_IMAGE_POLICY_H

#include <stdbool.h>
#include <stddef.h>

struct cvm_error;

/* A policy file is read whole. */
#define CVM_POLICY_FILE_MAX (1024 * 1024)
/* A scope ("host[:port][/path][:tag]" or "*.domain"), in bytes. */
#define CVM_POLICY_SCOPE_MAX 255
/* The decoded PEM of a keyData. */
#define CVM_POLICY_KEY_DATA_MAX (64 * 1024)

enum cvm_policy_type {
    CVM_POLICY_ACCEPT, /* insecureAcceptAnything */
    CVM_POLICY_REJECT, /* reject */
    CVM_POLICY_SIGNED, /* sigstoreSigned: a signature that verifies with the key */
};

struct cvm_policy_requirement {
    enum cvm_policy_type type;
    /* CVM_POLICY_SIGNED only: either key_path (keyPath, resolved against the policy's folder;
     * not read while parsing) or key_pem/key_pem_len (keyData decoded, NUL-terminated, checked
     * to be a P-256 public key while parsing). */
    char *key_path;
    char *key_pem;
    size_t key_pem_len;
    /* signedIdentity {"type":"matchRepository"}: the signature's docker-reference must equal the
     * image's repository. false when signedIdentity is absent: no identity check, as
     * `cosign verify --key` does. */
    bool match_repository;
};

struct cvm_policy;

/* Reads and parses a policy file; relative keyPaths resolve against the file's folder made
 * absolute. */
int cvm_policy_load(const char *path, struct cvm_policy **ret, struct cvm_error **err);

/* Parses a policy document; display names it in messages (`policy '<display>': ...`), base_dir
 * is where relative keyPaths resolve. Unknown keys are CVM_E_FORMAT naming their JSON path;
 * containers-policy features not supported here (signedBy, other signedIdentity types,
 * fulcio, ...) are CVM_E_UNSUPPORTED. */
int cvm_policy_parse(const char *text, size_t len, const char *display, const char *base_dir,
                     struct cvm_policy **ret, struct cvm_error **err);

/* The requirements for an image in repository ("host[:port]/path", normalised, without tag or
 * digest) with an optional tag (NULL for none). Every requirement of the list must hold. The
 * most specific scope wins: "repo:tag", "repo", each parent namespace up to the host, then
 * "*.domain" wildcards from the longest domain down (ignoring the port), then
 * "default". *ret_scope is the matching scope's name or "default", owned by p. Returns 0, or
 * -CVM_E_USAGE when repository is empty. */
int cvm_policy_lookup(const struct cvm_policy *p, const char *repository, const char *tag,
                      const struct cvm_policy_requirement **ret_reqs, size_t *ret_n,
                      const char **ret_scope);

void cvm_policy_free(struct cvm_policy *p);

#endif
