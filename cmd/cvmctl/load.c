/* cvmctl load: images from an OCI-layout tar, all checked before any enters the store. */
#include <getopt.h>
#include <stdio.h>

#include "base.h"
#include "cli.h"
#include "image-cli.h"

static const char *const load_usage[] = {
    "cvmctl load -i <file.tar>",
    "",
    "Reads an OCI-layout tar (as 'cvmctl save' writes it). Every blob's digest, and every",
    "manifest's references, are checked before anything enters the store; a bad tar",
    "leaves the store as it was. Prints 'Loaded image: <name>' per image name (signature",
    "tags load with their images).",
    NULL,
};

static int load_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"input", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *in = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:i:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': in = optarg; break;
        case 'h': cvmctl_print_usage(stdout, &cvmctl_cmd_load); return CVMCTL_EXIT_OK;
        default: return cvmctl_option_error(&cvmctl_cmd_load, c, argv);
        }
    }
    if (!in)
        return cvmctl_misuse(&cvmctl_cmd_load, "no input given: use -i <file.tar>");
    if (optind < argc)
        return cvmctl_misuse(&cvmctl_cmd_load, "unexpected argument '%s'", argv[optind]);
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    char **names = NULL;
    size_t n = 0;
    if (cvmctl_store_open(0, &s, &err) < 0 || cvm_image_load(s, in, &names, &n, &err) < 0)
        return cvmctl_fail(err);
    for (size_t i = 0; i < n; i++) {
        if (!cvm_signature_tag_is(names[i]))
            printf("Loaded image: %s\n", names[i]);
        free(names[i]);
    }
    free(names);
    return CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_load = {
    .name = "load",
    .summary = "Load images from an OCI-layout tar",
    .usage = load_usage,
    .run = load_run,
};
