/* cvmctl verify: an image's signature (by key or trust policy) and every blob's digest. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "cli.h"
#include "image-cli.h"

static const char *const verify_usage[] = {
    "cvmctl verify [--key <file.pub> | --policy <file>] <image>",
    "",
    "Checks that a signature attached to the image verifies and names its manifest",
    "digest, then re-hashes the manifest, config and every layer. Without --key the trust",
    "policy decides (--policy, else policy.json in the store folder; specs/image-format.md",
    "§6). Prints 'verified <name>@sha256:<hex>: <how>; <n> blobs, <bytes> bytes checked'.",
    "",
    "  -k, --key <file.pub>   require a signature by this public key",
    "  -p, --policy <file>    the trust policy to follow",
    "  -h, --help             show this help",
    NULL,
};

static int verify_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"policy", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *keyfile = NULL, *policy_file = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:k:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': keyfile = optarg; break;
        case 'p': policy_file = optarg; break;
        case 'h': cvmctl_print_usage(stdout, &cvmctl_cmd_verify); return CVMCTL_EXIT_OK;
        default: return cvmctl_option_error(&cvmctl_cmd_verify, c, argv);
        }
    }
    if (keyfile && policy_file)
        return cvmctl_misuse(&cvmctl_cmd_verify, "--key and --policy exclude each other");
    if (optind != argc - 1)
        return cvmctl_misuse(&cvmctl_cmd_verify, "expected one image");
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_error_free) struct cvm_error *blob_err = NULL;
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    CVM_AUTO(cvm_reference_free) struct cvm_reference *ref = NULL;
    struct cvm_descriptor desc = {0};
    if (cvmctl_store_open(0, &s, &err) < 0 ||
        cvmctl_resolve(s, argv[optind], &ref, &desc, &err) < 0)
        return cvmctl_fail(err);
    /* The blobs are hashed on a thread of their own while this one loads the key and checks
     * the signature: both must pass, and the hashing is most of the time. */
    struct cvm_blob_check *check = cvm_image_check_blobs_start(s, &desc);
    CVM_AUTOFREE char *repo = cvm_reference_repository(ref);
    CVM_AUTOFREE char *shown = cvm_reference_format(ref);
    char how[256];
    int r = repo && shown ? 0 : cvm_error_set(&err, CVM_E_SYSTEM, "cannot allocate");
    bool input_error = false;
    if (r == 0) {
        struct cvmctl_trust trust = {.key_file = keyfile, .policy_file = policy_file};
        r = cvmctl_check_signature(s, ref, &desc, &trust, how, &input_error, &err);
    }
    uint64_t blobs = 0, bytes = 0;
    int blob_r = cvm_image_check_blobs_finish(check, &blobs, &bytes, &blob_err);
    /* A signature that fails outranks a blob that does: it says more about the image. */
    if (r == 0 && blob_r < 0) {
        r = blob_r;
        err = cvm_steal_ptr(&blob_err);
    }
    if (r == 0)
        printf("verified %s@%s: %s; %llu blobs, %llu bytes checked\n", repo,
               cvmctl_digest_str(&desc.digest), how, (unsigned long long)blobs,
               (unsigned long long)bytes);
    if (r < 0 && !input_error)
        r = cvm_error_prefix(&err, "verify '%s'", shown ? shown : argv[optind]);
    cvm_descriptor_release(&desc);
    return r < 0 ? cvmctl_fail(err) : CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_verify = {
    .name = "verify",
    .summary = "Verify an image's signature and blobs",
    .usage = verify_usage,
    .run = verify_run,
};
