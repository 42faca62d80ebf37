/* cvmctl measure: recomputes an image's deployment measurement from its blobs. */
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "cli.h"
#include "image-build.h"
#include "image-cli.h"

static const char *const measure_usage[] = {
    "cvmctl measure <image>",
    "",
    "Reads the image from the store (checking every blob's digest), measures its",
    "deployment with the monitor's loader (specs/measurement.md) and prints",
    "'measurement: sha256:<hex>'. A value that differs from the one recorded in the",
    "image's config is an error that shows both.",
    NULL,
};

static int measure_run(int argc, char **argv)
{
    if (argc > 1 && cvmctl_is_help(argv[1])) {
        cvmctl_print_usage(stdout, &cvmctl_cmd_measure);
        return CVMCTL_EXIT_OK;
    }
    if (argc != 2)
        return cvmctl_misuse(&cvmctl_cmd_measure, "expected one image");
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    struct cvm_descriptor desc = {0};
    struct cvm_image_bundle *b = NULL;
    if (cvmctl_store_open(0, &s, &err) < 0 || cvmctl_resolve(s, argv[1], NULL, &desc, &err) < 0)
        return cvmctl_fail(err);
    int r = cvm_image_bundle_load(s, &desc, 0, &b, &err);
    cvm_descriptor_release(&desc);
    if (r < 0)
        return cvmctl_fail(err);
    struct cvm_digest m;
    memcpy(m.bytes, b->measurement.deployment, sizeof(m.bytes));
    printf("measurement: %s\n", cvmctl_digest_str(&m));
    cvm_image_bundle_free(b);
    return CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_measure = {
    .name = "measure",
    .summary = "Print an image's deployment measurement",
    .usage = measure_usage,
    .run = measure_run,
};
