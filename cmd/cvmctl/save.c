/* cvmctl save: images and their signatures into an OCI-layout tar. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "cli.h"
#include "image-cli.h"

static const char *const save_usage[] = {
    "cvmctl save -o <file.tar> <image>...",
    "",
    "Writes the images, with their signatures, as one OCI image layout in a tar file",
    "(readable by 'cvmctl load', and by skopeo as oci-archive:). The file appears only when",
    "complete.",
    NULL,
};

static int save_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
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
        case 'h': cvmctl_print_usage(stdout, &cvmctl_cmd_save); return CVMCTL_EXIT_OK;
        default: return cvmctl_option_error(&cvmctl_cmd_save, c, argv);
        }
    }
    if (!out)
        return cvmctl_misuse(&cvmctl_cmd_save, "no output given: use -o <file.tar>");
    if (optind >= argc)
        return cvmctl_misuse(&cvmctl_cmd_save, "no image given");
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    if (cvmctl_store_open(0, &s, &err) < 0)
        return cvmctl_fail(err);
    size_t n = (size_t)(argc - optind);
    struct cvm_descriptor *images = calloc(n, sizeof(*images));
    int r = images ? 0 : cvm_error_set(&err, CVM_E_SYSTEM, "cannot allocate");
    for (size_t i = 0; r == 0 && i < n; i++) {
        CVM_AUTO(cvm_reference_free) struct cvm_reference *ref = NULL;
        r = cvmctl_resolve(s, argv[optind + (int)i], &ref, &images[i], &err);
        /* An image resolved by digest alone is saved under the name the store gives it. */
    }
    if (r == 0)
        r = cvm_image_save(s, images, n, out, &err);
    for (size_t i = 0; images && i < n; i++)
        cvm_descriptor_release(&images[i]);
    free(images);
    return r < 0 ? cvmctl_fail(err) : CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_save = {
    .name = "save",
    .summary = "Write images to an OCI-layout tar",
    .usage = save_usage,
    .run = save_run,
};
