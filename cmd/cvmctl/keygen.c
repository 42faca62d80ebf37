/* cvmctl keygen: an ECDSA P-256 key pair for signing images. */
#include <getopt.h>
#include <stdio.h>

#include "base.h"
#include "cli.h"
#include "image-cli.h"

static const char *const keygen_usage[] = {
    "cvmctl keygen --out <name>",
    "",
    "Writes <name>.key (ECDSA P-256, PKCS#8 PEM, mode 0600) and <name>.pub (PKIX PEM),",
    "the key pair 'cvmctl sign --key' and 'cvmctl verify --key' (and cosign) use. Existing",
    "files are never overwritten. Prints the public key's fingerprint.",
    NULL,
};

static int keygen_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'h': cvmctl_print_usage(stdout, &cvmctl_cmd_keygen); return CVMCTL_EXIT_OK;
        default: return cvmctl_option_error(&cvmctl_cmd_keygen, c, argv);
        }
    }
    if (optind < argc)
        return cvmctl_misuse(&cvmctl_cmd_keygen, "unexpected argument '%s'", argv[optind]);
    if (!out || !out[0])
        return cvmctl_misuse(&cvmctl_cmd_keygen, "no output name given: use --out <name>");
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    if (cvm_key_generate(out, &err) < 0)
        return cvmctl_fail(err);
    CVM_AUTOFREE char *pub = NULL;
    CVM_AUTO(cvm_verify_key_free) struct cvm_verify_key *key = NULL;
    if (asprintf(&pub, "%s.pub", out) < 0 || cvm_verify_key_load(pub, &key, &err) < 0)
        return cvmctl_fail(err);
    char fp[CVM_SIGN_FINGERPRINT_SIZE];
    printf("%s.key %s.pub %s\n", out, out, cvm_verify_key_fingerprint(key, fp));
    return CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_keygen = {
    .name = "keygen",
    .summary = "Create a key pair for signing images",
    .usage = keygen_usage,
    .run = keygen_run,
};
