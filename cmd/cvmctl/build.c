/* cvmctl build: a build context and its cvm.yaml into a cVM image in the store. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "cli.h"
#include "image-build.h"
#include "image-cli.h"
#include "image-index.h"

static const char *const build_usage[] = {
    "cvmctl build -t <name> [-f <file>] [--platform <os/arch[/variant]>] [--quiet] <context>",
    "",
    "Builds a cVM image from the folder <context> and the build file (default",
    "<context>/cvm.yaml; specs/image-format.md §3), measures the deployment with the",
    "monitor's loader, stores it and tags it <name>. Prints the manifest digest on stdout.",
    "An image is for one architecture: every runtime and the ldso must be built for it.",
    "",
    "  -t, --tag <name>     the reference to tag the image with (e.g. hello:1.0)",
    "  -f, --file <file>    the build file",
    "      --platform <os/arch[/variant]>",
    "                       the platform the image is for: os linux, arch amd64 or arm64",
    "                       (the runtimes' architecture), the variant recorded in the",
    "                       config (e.g. linux/arm64/v8); default: the first runtime's",
    "  -q, --quiet          print only the digest",
    "  -h, --help           show this help",
    NULL,
};

enum { OPT_PLATFORM = 2000 };

/* --platform: the syntax, then what cVM images can be for (specs/image-format.md §5); 0 or
 * the misuse exit code. */
static int parse_platform(const char *text, struct cvm_platform *ret)
{
    if (cvm_platform_parse(text, ret, NULL) < 0)
        return cvmctl_misuse(&cvmctl_cmd_build,
                             "--platform takes os/arch[/variant] of lowercase letters and "
                             "digits, not '%s'",
                             text);
    if (strcmp(ret->os, "linux") != 0)
        return cvmctl_misuse(&cvmctl_cmd_build, "--platform: unsupported os '%s' (only linux)",
                             ret->os);
    if (strcmp(ret->architecture, "amd64") != 0 && strcmp(ret->architecture, "arm64") != 0)
        return cvmctl_misuse(&cvmctl_cmd_build,
                             "--platform: unsupported architecture '%s' (amd64 or arm64)",
                             ret->architecture);
    return 0;
}

static int build_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tag", required_argument, NULL, 't'},
        {"file", required_argument, NULL, 'f'},
        {"platform", required_argument, NULL, OPT_PLATFORM},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *tag = NULL, *file = NULL;
    struct cvm_platform platform;
    bool quiet = false, has_platform = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:t:f:qh", opts, NULL)) != -1) {
        switch (c) {
        case 't': tag = optarg; break;
        case 'f': file = optarg; break;
        case OPT_PLATFORM: {
            int r = parse_platform(optarg, &platform);
            if (r != 0)
                return r;
            has_platform = true;
            break;
        }
        case 'q': quiet = true; break;
        case 'h': cvmctl_print_usage(stdout, &cvmctl_cmd_build); return CVMCTL_EXIT_OK;
        default: return cvmctl_option_error(&cvmctl_cmd_build, c, argv);
        }
    }
    if (!tag)
        return cvmctl_misuse(&cvmctl_cmd_build, "no name given: use -t <name>");
    if (optind != argc - 1)
        return cvmctl_misuse(&cvmctl_cmd_build, optind >= argc ? "no build context given"
                                                               : "more than one build context");
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_reference_free) struct cvm_reference *ref = NULL;
    if (cvm_reference_parse(tag, &ref, &err) < 0)
        return cvmctl_fail(err);
    if (ref->has_digest)
        return cvmctl_misuse(&cvmctl_cmd_build, "-t takes a tag, not a digest: '%s'", tag);
    CVM_AUTOFREE char *name = cvm_reference_format(ref);
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    if (!name || cvmctl_store_open(0, &s, &err) < 0)
        return cvmctl_fail(err);
    struct cvm_build_options o = {.context = argv[optind],
                                  .file = file,
                                  .name = name,
                                  .platform = has_platform ? &platform : NULL};
    struct cvm_build_result res;
    if (cvm_image_build(s, &o, &res, &err) < 0)
        return cvmctl_fail(err);
    printf("%s\n", cvmctl_digest_str(&res.manifest.digest));
    if (!quiet) {
        struct cvm_digest m;
        memcpy(m.bytes, res.measurement, sizeof(m.bytes));
        char size[32];
        fprintf(stderr, "built '%s': %zu layers, %s, measurement %s\n", name, res.n_layers,
                cvmctl_human_size(res.layer_bytes, size), cvmctl_digest_str(&m));
    }
    cvm_descriptor_release(&res.manifest);
    return CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_build = {
    .name = "build",
    .summary = "Build a cVM image from a folder and its cvm.yaml",
    .usage = build_usage,
    .run = build_run,
};
