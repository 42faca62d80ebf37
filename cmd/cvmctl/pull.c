/* cvmctl pull: an image and its signature from a registry into the store. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "image-cli.h"
#include "progress.h"
#include "registry-cli.h"

static const char *const pull_usage[] = {
    "cvmctl pull [options] <image>",
    "",
    "Fetches the image's manifest (from a multi-platform index, the one for --platform,",
    "else linux/" CVM_HOST_ARCHITECTURE "), every blob the store lacks, several at once, and",
    "the image's signature when the registry has one. Every blob's size and digest are",
    "checked before it enters the store; an interrupted blob resumes where it stopped.",
    "Prints the manifest digest.",
    "",
    "  --platform <os/arch[/variant]>  the platform to choose from an index",
    "  -q, --quiet            print no progress",
    CVMCTL_REGISTRY_USAGE,
    "  -h, --help             show this help",
    NULL,
};

enum { OPT_PLATFORM = 2000 };

int cvmctl_pull(struct cvm_store *s, const struct cvm_reference *ref,
                const struct cvmctl_registry_opts *ro, const struct cvm_pull_options *po,
                bool quiet, struct cvm_pull_result *ret, struct cvm_error **err)
{
    CVM_AUTO(cvm_registry_free) struct cvm_registry *r = NULL;
    int res = cvm_registry_open(ref->domain, &ro->o, &r, err);
    if (res < 0)
        return res;
    struct cvmctl_progress *progress = cvmctl_progress_new(quiet, "Copying");
    res = cvm_registry_pull(r, s, ref, po, cvmctl_progress_sink(progress), ret, err);
    cvmctl_progress_free(progress);
    return res;
}

static int pull_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"quiet", no_argument, NULL, 'q'},
        {"platform", required_argument, NULL, OPT_PLATFORM},
        {"help", no_argument, NULL, 'h'},
        CVMCTL_REGISTRY_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    struct cvmctl_registry_opts ro;
    cvmctl_registry_opts_init(&ro);
    struct cvm_pull_options po = {0};
    struct cvm_platform platform;
    bool quiet = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:qh", opts, NULL)) != -1) {
        int handled = cvmctl_registry_option(&ro, &cvmctl_cmd_pull, c, optarg);
        if (handled < 0)
            return CVMCTL_EXIT_FAILED;
        if (handled)
            continue;
        switch (c) {
        case 'q': quiet = true; break;
        case OPT_PLATFORM:
            if (cvm_platform_parse(optarg, &platform, NULL) < 0)
                return cvmctl_misuse(&cvmctl_cmd_pull,
                                     "--platform takes os/arch[/variant] of lowercase letters and "
                                     "digits, not '%s'",
                                     optarg);
            po.os = platform.os;
            po.architecture = platform.architecture;
            po.variant = platform.variant[0] ? platform.variant : NULL;
            break;
        case 'h': cvmctl_print_usage(stdout, &cvmctl_cmd_pull); return CVMCTL_EXIT_OK;
        default: return cvmctl_option_error(&cvmctl_cmd_pull, c, argv);
        }
    }
    if (optind != argc - 1)
        return cvmctl_misuse(&cvmctl_cmd_pull, "expected one image");
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_reference_free) struct cvm_reference *ref = NULL;
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    struct cvm_pull_result result;
    int res = cvm_reference_parse(argv[optind], &ref, &err);
    if (res == 0)
        res = cvmctl_store_open(0, &s, &err);
    if (res == 0)
        res = cvmctl_pull(s, ref, &ro, &po, quiet, &result, &err);
    if (res < 0) {
        cvm_error_prefix(&err, "pull '%s'", argv[optind]);
        return cvmctl_fail(err);
    }
    printf("%s\n", cvmctl_digest_str(&result.digest));
    return CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_pull = {
    .name = "pull",
    .summary = "Fetch an image and its signature from a registry",
    .usage = pull_usage,
    .run = pull_run,
};
