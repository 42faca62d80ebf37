/* cvmctl sign: attaches a cosign-compatible signature to an image in the store. */
#include <getopt.h>
#include <stdio.h>

#include "base.h"
#include "cli.h"
#include "image-cli.h"

static const char *const sign_usage[] = {
    "cvmctl sign --key <file.key> <image>",
    "",
    "Signs the image's manifest digest with the ECDSA P-256 key in cosign's key-based",
    "scheme (a simple-signing payload stored under the tag sha256-<hex>.sig of the",
    "image's repository) and prints 'signed <repository>@sha256:<hex> with key sha256:<fp>'.",
    NULL,
};

static int sign_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *keyfile = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': keyfile = optarg; break;
        case 'h': cvmctl_print_usage(stdout, &cvmctl_cmd_sign); return CVMCTL_EXIT_OK;
        default: return cvmctl_option_error(&cvmctl_cmd_sign, c, argv);
        }
    }
    if (!keyfile)
        return cvmctl_misuse(&cvmctl_cmd_sign, "no key given: use --key <file.key>");
    if (optind != argc - 1)
        return cvmctl_misuse(&cvmctl_cmd_sign, "expected one image");
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_signing_key_free) struct cvm_signing_key *key = NULL;
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    CVM_AUTO(cvm_reference_free) struct cvm_reference *ref = NULL;
    struct cvm_descriptor desc;
    if (cvm_signing_key_load(keyfile, &key, &err) < 0 || cvmctl_store_open(0, &s, &err) < 0 ||
        cvmctl_resolve(s, argv[optind], &ref, &desc, &err) < 0)
        return cvmctl_fail(err);
    CVM_AUTOFREE char *repo = cvm_reference_repository(ref);
    int r = repo ? cvm_image_sign(s, repo, &desc, key, &err)
                 : cvm_error_set(&err, CVM_E_SYSTEM, "cannot allocate");
    if (r == 0) {
        char fp[CVM_SIGN_FINGERPRINT_SIZE];
        printf("signed %s@%s with key %s\n", repo, cvmctl_digest_str(&desc.digest),
               cvm_signing_key_fingerprint(key, fp));
    }
    cvm_descriptor_release(&desc);
    return r < 0 ? cvmctl_fail(err) : CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_sign = {
    .name = "sign",
    .summary = "Sign an image (cosign's key-based scheme)",
    .usage = sign_usage,
    .run = sign_run,
};
