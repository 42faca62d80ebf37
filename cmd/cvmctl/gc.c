/* cvmctl gc: deletes the blobs no name in the store reaches. */
#include <stdio.h>

#include "base.h"
#include "cli.h"
#include "image-cli.h"

static const char *const gc_usage[] = {
    "cvmctl gc",
    "",
    "Deletes every blob that no name in the store reaches (through manifests, configs,",
    "layers and signatures), and leftovers of interrupted writes. Waits until no other",
    "cvmctl uses the store. Prints 'removed <n> blobs, <size>'.",
    NULL,
};

static int gc_run(int argc, char **argv)
{
    if (argc > 1 && cvmctl_is_help(argv[1])) {
        cvmctl_print_usage(stdout, &cvmctl_cmd_gc);
        return CVMCTL_EXIT_OK;
    }
    if (argc > 1)
        return cvmctl_misuse(&cvmctl_cmd_gc, "unexpected argument '%s'", argv[1]);
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    uint64_t blobs = 0, bytes = 0;
    if (cvmctl_store_open(CVM_STORE_EXCLUSIVE, &s, &err) < 0 ||
        cvm_store_gc(s, &blobs, &bytes, &err) < 0)
        return cvmctl_fail(err);
    char human[32];
    printf("removed %llu blob%s, %s\n", (unsigned long long)blobs, blobs == 1 ? "" : "s",
           cvmctl_human_size(bytes, human));
    return CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_gc = {
    .name = "gc",
    .summary = "Delete blobs no image name reaches",
    .usage = gc_usage,
    .run = gc_run,
};
