/* cvmctl attest: the host key that signs attestation reports (`keygen`) and the check of a
 * report against that key, a nonce and an expected measurement (`verify`). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest.h"
#include "base.h"
#include "cli.h"
#include "image-cli.h"

/* A report that was read and checked but is refused (specs/attestation.md §6). */
#define ATTEST_EXIT_REJECTED 1

static const char *const attest_usage[] = {
    "cvmctl attest keygen [--force]",
    "   or: cvmctl attest verify --key <host.pub> --nonce <hex> --expect sha256:<hex>",
    "                            [--format json] <report>",
    "",
    "Attestation reports (specs/attestation.md): 'cvmctl run --attest-nonce <hex>",
    "--attest-out <file>' writes one, signed by this host's key.",
    "",
    "keygen  creates the host key, <root>/attest/host.key (ECDSA P-256, mode 0600), and",
    "        host.pub beside it; prints the path of host.pub and its fingerprint. An",
    "        existing host key is kept unless --force replaces it.",
    "verify  checks that the report is signed by <host.pub>, carries the nonce <hex>",
    "        (either case) and names the deployment measurement sha256:<hex> ('cvmctl",
    "        measure <image>' prints it). Exit status 0 and one line 'verified report ...';",
    "        1 and the reason when the report is refused; 125 when it cannot be checked.",
    "",
    "  -f, --force               keygen: replace an existing host key",
    "  -k, --key <host.pub>      verify: the host's public key",
    "  -n, --nonce <hex>         verify: the nonce, 16 to 128 hex digits",
    "  -e, --expect sha256:<hex> verify: the deployment measurement",
    "      --format json         verify: print the verified payload instead",
    "  -h, --help                show this help",
    NULL,
};

CVM_DEFINE_CLEANUP(struct cvm_attest_report *, cvm_attest_report_free)

/* Generates into a private folder beside the host key, then renames over it: a failure never
 * leaves half a pair in place of the old one. */
static int replace_host_key(const char *dir, const char *key, const char *pub,
                            struct cvm_error **err)
{
    CVM_AUTOFREE char *tmp = NULL;
    CVM_AUTOFREE char *prefix = NULL;
    CVM_AUTOFREE char *new_key = NULL;
    CVM_AUTOFREE char *new_pub = NULL;
    if (asprintf(&tmp, "%s/.tmp-keygen-XXXXXX", dir) < 0)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    if (!mkdtemp(tmp))
        return cvm_error_set_errno(err, errno, "cannot create a folder in '%s'", dir);
    int r = 0;
    if (asprintf(&prefix, "%s/host", tmp) < 0 || asprintf(&new_key, "%s.key", prefix) < 0 ||
        asprintf(&new_pub, "%s.pub", prefix) < 0)
        r = cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    if (r == 0)
        r = cvm_key_generate(prefix, err);
    if (r == 0 && rename(new_pub, pub) < 0)
        r = cvm_error_set_errno(err, errno, "cannot replace '%s'", pub);
    if (r == 0 && rename(new_key, key) < 0)
        r = cvm_error_set_errno(err, errno, "cannot replace '%s'", key);
    if (new_key)
        unlink(new_key);
    if (new_pub)
        unlink(new_pub);
    rmdir(tmp);
    return r;
}

static int keygen_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool force = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:fh", opts, NULL)) != -1) {
        switch (c) {
        case 'f': force = true; break;
        case 'h': cvmctl_print_usage(stdout, &cvmctl_cmd_attest); return CVMCTL_EXIT_OK;
        default: return cvmctl_option_error(&cvmctl_cmd_attest, c, argv);
        }
    }
    if (optind < argc)
        return cvmctl_misuse(&cvmctl_cmd_attest, "unexpected argument '%s'", argv[optind]);
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    if (cvmctl_store_open(0, &s, &err) < 0)
        return cvmctl_fail(err);
    CVM_AUTOFREE char *dir = NULL;
    CVM_AUTOFREE char *prefix = NULL;
    CVM_AUTOFREE char *key = NULL;
    CVM_AUTOFREE char *pub = NULL;
    const char *root = cvm_store_root(s);
    if (asprintf(&dir, "%s/" CVM_ATTEST_DIR, root) < 0 || asprintf(&prefix, "%s/host", dir) < 0 ||
        asprintf(&key, "%s/" CVM_ATTEST_HOST_KEY, root) < 0 ||
        asprintf(&pub, "%s/" CVM_ATTEST_HOST_PUB, root) < 0) {
        cvmctl_error("cannot allocate");
        return CVMCTL_EXIT_FAILED;
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        cvm_error_set_errno(&err, errno, "cannot create '%s'", dir);
        return cvmctl_fail(err);
    }
    int r;
    if (force) {
        r = replace_host_key(dir, key, pub, &err);
    } else {
        const char *paths[] = {key, pub};
        struct stat st;
        for (size_t i = 0; i < 2; i++)
            if (lstat(paths[i], &st) == 0) {
                cvmctl_error("host key '%s' already exists (use --force to replace it)", paths[i]);
                return CVMCTL_EXIT_FAILED;
            }
        /* Creates both exclusively: a concurrent keygen makes this one fail. */
        r = cvm_key_generate(prefix, &err);
    }
    CVM_AUTO(cvm_verify_key_free) struct cvm_verify_key *vk = NULL;
    if (r < 0 || cvm_verify_key_load(pub, &vk, &err) < 0)
        return cvmctl_fail(err);
    char fp[CVM_SIGN_FINGERPRINT_SIZE];
    printf("%s %s\n", pub, cvm_verify_key_fingerprint(vk, fp));
    return CVMCTL_EXIT_OK;
}

/* The verified report: one summary line, or the payload bytes with --format json. */
static int print_report(const char *path, const struct cvm_attest_report *rep, bool json)
{
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    if (json) {
        struct cvm_buf b;
        cvm_buf_init(&b, CVM_ATTEST_REPORT_MAX);
        int r = cvm_attest_report_encode(rep, &b, &err);
        if (r == 0)
            printf("%s\n", (const char *)b.data);
        cvm_buf_release(&b);
        return r < 0 ? cvmctl_fail(err) : CVMCTL_EXIT_OK;
    }
    char deployment[CVM_DIGEST_STR_SIZE], host_key[CVM_DIGEST_STR_SIZE];
    char when[CVM_ATTEST_TIME_SIZE];
    printf("verified report '%s': %s, deployment %s, %zu cVM%s, backend %s (%s), %s, host key "
           "%s\n",
           path, rep->image, cvm_digest_format(&rep->deployment, deployment), rep->n_cvms,
           rep->n_cvms == 1 ? "" : "s", rep->backend,
           rep->isolating ? "isolating" : "not isolating", cvm_attest_time_format(rep->time, when),
           cvm_digest_format(&rep->host_key, host_key));
    return CVMCTL_EXIT_OK;
}

static int verify_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},    {"nonce", required_argument, NULL, 'n'},
        {"expect", required_argument, NULL, 'e'}, {"format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *keyfile = NULL, *nonce_text = NULL, *expect_text = NULL;
    bool json = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:k:n:e:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': keyfile = optarg; break;
        case 'n': nonce_text = optarg; break;
        case 'e': expect_text = optarg; break;
        case 'F':
            if (strcmp(optarg, "json") != 0)
                return cvmctl_misuse(&cvmctl_cmd_attest, "unknown format '%s' (only 'json')",
                                     optarg);
            json = true;
            break;
        case 'h': cvmctl_print_usage(stdout, &cvmctl_cmd_attest); return CVMCTL_EXIT_OK;
        default: return cvmctl_option_error(&cvmctl_cmd_attest, c, argv);
        }
    }
    if (!keyfile)
        return cvmctl_misuse(&cvmctl_cmd_attest, "no host key given: use --key <host.pub>");
    if (!nonce_text)
        return cvmctl_misuse(&cvmctl_cmd_attest, "no nonce given: use --nonce <hex>");
    if (!expect_text)
        return cvmctl_misuse(&cvmctl_cmd_attest, "no measurement given: use --expect sha256:<hex>");
    if (optind != argc - 1)
        return cvmctl_misuse(&cvmctl_cmd_attest, "expected one report file");
    const char *path = argv[optind];
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    char nonce[CVM_ATTEST_NONCE_MAX + 1];
    struct cvm_digest expect;
    if (cvm_attest_nonce_parse(nonce_text, nonce, &err) < 0)
        return cvmctl_misuse(&cvmctl_cmd_attest, "--nonce: %s", err->message);
    if (cvm_digest_parse(expect_text, &expect, &err) < 0)
        return cvmctl_misuse(&cvmctl_cmd_attest, "--expect: %s", err->message);

    CVM_AUTO(cvm_verify_key_free) struct cvm_verify_key *key = NULL;
    if (cvm_verify_key_load(keyfile, &key, &err) < 0)
        return cvmctl_fail(err);
    struct cvm_buf b;
    cvm_buf_init(&b, CVM_ATTEST_REPORT_MAX);
    int r = cvm_buf_read_file(&b, AT_FDCWD, path, &err);
    if (r == -CVM_E_LIMIT) {
        cvmctl_error("report '%s': over the limit of %d bytes", path, CVM_ATTEST_REPORT_MAX);
        return ATTEST_EXIT_REJECTED;
    }
    if (r < 0)
        return cvmctl_fail(err);
    CVM_AUTO(cvm_attest_report_free) struct cvm_attest_report *rep = NULL;
    r = cvm_attest_report_verify(b.data, b.len, key, nonce, &expect, &rep, &err);
    cvm_buf_release(&b);
    if (r == -CVM_E_SYSTEM)
        return cvmctl_fail(err);
    if (r < 0) {
        cvmctl_error("report '%s': %s", path, err->message);
        return ATTEST_EXIT_REJECTED;
    }
    return print_report(path, rep, json);
}

static int attest_run(int argc, char **argv)
{
    if (argc < 2)
        return cvmctl_misuse(&cvmctl_cmd_attest, "no subcommand given (keygen or verify)");
    if (cvmctl_is_help(argv[1])) {
        cvmctl_print_usage(stdout, &cvmctl_cmd_attest);
        return CVMCTL_EXIT_OK;
    }
    if (strcmp(argv[1], "keygen") == 0)
        return keygen_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "verify") == 0)
        return verify_run(argc - 1, argv + 1);
    return cvmctl_misuse(&cvmctl_cmd_attest, "unknown subcommand '%s' (keygen or verify)", argv[1]);
}

const struct cvmctl_command cvmctl_cmd_attest = {
    .name = "attest",
    .summary = "Create the host key; verify attestation reports",
    .usage = attest_usage,
    .run = attest_run,
};
