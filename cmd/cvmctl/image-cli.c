/* Helpers shared by the image commands. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "cli.h"
#include "image-cli.h"

int cvmctl_store_open(unsigned flags, struct cvm_store **ret, struct cvm_error **err)
{
    CVM_AUTOFREE char *root = cvmctl_root ? strdup(cvmctl_root) : cvm_store_default_root();
    if (!root)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    return cvm_store_open(root, flags, ret, err);
}

int cvmctl_resolve(struct cvm_store *s, const char *text, struct cvm_reference **ret_ref,
                   struct cvm_descriptor *ret_desc, struct cvm_error **err)
{
    CVM_AUTO(cvm_reference_free) struct cvm_reference *ref = NULL;
    int r = cvm_reference_parse(text, &ref, err);
    if (r == 0)
        r = cvm_store_resolve(s, ref, ret_desc, err);
    if (r < 0)
        return r;
    if (ret_ref)
        *ret_ref = cvm_steal_ptr(&ref);
    return 0;
}

const char *cvmctl_human_size(uint64_t bytes, char out[32])
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        snprintf(out, 32, "%llu B", (unsigned long long)bytes);
        return out;
    }
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0]))
        v /= 1024, u++;
    snprintf(out, 32, "%.1f %s", v, units[u]);
    return out;
}

int cvmctl_option_error(const struct cvmctl_command *cmd, int c, char **argv)
{
    if (c == ':')
        return cvmctl_misuse(cmd, "option '%s' needs a value", argv[optind - 1]);
    return cvmctl_misuse(cmd, "unknown option '%s'", argv[optind - 1]);
}

char *cvmctl_digest_str(const struct cvm_digest *d)
{
    static char buf[CVM_DIGEST_STR_SIZE];
    return cvm_digest_format(d, buf);
}

CVM_DEFINE_CLEANUP(struct cvm_policy *, cvm_policy_free)

/* The policy file: the given one, else <root>/policy.json, which must then exist. */
static int load_policy(struct cvm_store *s, const char *given, struct cvm_policy **ret,
                       struct cvm_error **err)
{
    CVM_AUTOFREE char *path = NULL;
    if (!given) {
        if (asprintf(&path, "%s/policy.json", cvm_store_root(s)) < 0)
            return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
        if (access(path, F_OK) < 0)
            return cvm_error_set(err, CVM_E_NOTFOUND,
                                 "no trust policy: pass --key <file.pub> or --policy <file>, or "
                                 "write '%s'",
                                 path);
    }
    return cvm_policy_load(given ? given : path, ret, err);
}

int cvmctl_check_signature(struct cvm_store *s, const struct cvm_reference *ref,
                           const struct cvm_descriptor *desc, const struct cvmctl_trust *trust,
                           char how[256], bool *ret_input_error, struct cvm_error **err)
{
    CVM_AUTOFREE char *repo = cvm_reference_repository(ref);
    if (!repo)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    CVM_AUTO(cvm_verify_key_free) struct cvm_verify_key *key = NULL;
    CVM_AUTO(cvm_policy_free) struct cvm_policy *policy = NULL;
    CVM_AUTO(cvm_verify_memo_free)
    struct cvm_verify_memo *memo = cvm_verify_memo_open(
        s, CVM_VERIFY_MEMO_RECORD | (trust->use_memo ? CVM_VERIFY_MEMO_CONSULT : 0));
    int r;
    /* The key or policy file is the caller's input, not the image's: its errors stand alone. */
    if (trust->key_file) {
        char fp[CVM_SIGN_FINGERPRINT_SIZE];
        *ret_input_error = (r = cvm_verify_key_load(trust->key_file, &key, err)) < 0;
        if (r == 0 &&
            (r = cvm_image_verify_key(s, repo, &desc->digest, key, false, memo, err)) == 0)
            snprintf(how, 256, "signed by key %s", cvm_verify_key_fingerprint(key, fp));
        return r;
    }
    const char *scope = NULL;
    *ret_input_error = (r = load_policy(s, trust->policy_file, &policy, err)) < 0;
    if (r == 0 && (r = cvm_image_verify_policy(s, policy, repo, ref->tag, &desc->digest, memo,
                                               &scope, err)) == 0)
        snprintf(how, 256, "trust policy scope '%.200s' satisfied", scope);
    return r;
}
