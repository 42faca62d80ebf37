/* cvmctl build: a build context and its cvm.yaml into a cVM image in the store. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "cli.h"
#include "image-build.h"
#include "image-cli.h"

static const char *const build_usage[] = {
    "cvmctl build -t <name> [-f <file>] [--quiet] <context>",
    "",
    "Builds a cVM image from the folder <context> and the build file (default",
    "<context>/cvm.yaml; specs/image-format.md §3), measures the deployment with the",
    "monitor's loader, stores it and tags it <name>. Prints the manifest digest on stdout.",
    "",
    "  -t, --tag <name>     the reference to tag the image with (e.g. hello:1.0)",
    "  -f, --file <file>    the build file",
    "  -q, --quiet          print only the digest",
    "  -h, --help           show this help",
    NULL,
};

static int build_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"tag", required_argument, NULL, 't'},
        {"file", required_argument, NULL, 'f'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *tag = NULL, *file = NULL;
    bool quiet = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:t:f:qh", opts, NULL)) != -1) {
        switch (c) {
        case 't': tag = optarg; break;
        case 'f': file = optarg; break;
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
    struct cvm_build_options o = {.context = argv[optind], .file = file, .name = name};
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
