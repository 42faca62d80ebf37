/* cvmctl push: an image of the store, with its signature, to a registry. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "image-cli.h"
#include "progress.h"
#include "registry-cli.h"

static const char *const push_usage[] = {
    "cvmctl push [options] <image> [<destination>]",
    "",
    "Sends the image, its blobs and its signature (the sha256-<hex>.sig tag, when the",
    "store has one) to the registry named by <destination>, or by <image> itself. Blobs",
    "the registry has are skipped; blobs of another repository of the same registry are",
    "mounted. Prints the manifest digest.",
    "",
    "  -q, --quiet            print no progress",
    CVMCTL_REGISTRY_USAGE,
    "  -h, --help             show this help",
    NULL,
};

static int push_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        CVMCTL_REGISTRY_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    struct cvmctl_registry_opts ro;
    cvmctl_registry_opts_init(&ro);
    bool quiet = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:qh", opts, NULL)) != -1) {
        int handled = cvmctl_registry_option(&ro, &cvmctl_cmd_push, c, optarg);
        if (handled < 0)
            return CVMCTL_EXIT_FAILED;
        if (handled)
            continue;
        switch (c) {
        case 'q': quiet = true; break;
        case 'h': cvmctl_print_usage(stdout, &cvmctl_cmd_push); return CVMCTL_EXIT_OK;
        default: return cvmctl_option_error(&cvmctl_cmd_push, c, argv);
        }
    }
    if (optind != argc - 1 && optind != argc - 2)
        return cvmctl_misuse(&cvmctl_cmd_push, "expected an image and an optional destination");
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_reference_free) struct cvm_reference *src = NULL, *dst = NULL;
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    CVM_AUTO(cvm_registry_free) struct cvm_registry *r = NULL;
    const char *dst_text = argv[argc - 1];
    int res = cvm_reference_parse(argv[optind], &src, &err);
    if (res == 0)
        res = cvm_reference_parse(dst_text, &dst, &err);
    if (res == 0 && dst->has_digest)
        res = cvm_error_set(&err, CVM_E_USAGE, "the destination must be a tag, not a digest");
    if (res == 0)
        res = cvmctl_store_open(0, &s, &err);
    if (res == 0)
        res = cvm_registry_open(dst->domain, &ro.o, &r, &err);
    struct cvmctl_progress *progress = res == 0 ? cvmctl_progress_new(quiet, "Copying") : NULL;
    struct cvm_push_result result;
    if (res == 0)
        res = cvm_registry_push(r, s, src, dst, cvmctl_progress_sink(progress), &result, &err);
    cvmctl_progress_free(progress);
    if (res < 0) {
        cvm_error_prefix(&err, "push '%s'", dst_text);
        return cvmctl_fail(err);
    }
    printf("%s\n", cvmctl_digest_str(&result.digest));
    return CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_push = {
    .name = "push",
    .summary = "Send an image and its signature to a registry",
    .usage = push_usage,
    .run = push_run,
};
