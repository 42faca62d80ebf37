/* cvmctl tag: another name for an image; signatures follow it into a new repository. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "cli.h"
#include "image-cli.h"

static const char *const tag_usage[] = {
    "cvmctl tag <source> <target>",
    "",
    "Names the image <source> refers to also <target>. When <target> is in another",
    "repository, the signatures attached to the image are attached there too (they sign",
    "the manifest digest, which does not change).",
    NULL,
};

/* Copies the signature tag of digest d from one repository to another, if there is one. */
static int copy_signature(struct cvm_store *s, const char *from, const char *to,
                          const struct cvm_digest *d, struct cvm_error **err)
{
    CVM_AUTOFREE char *src = cvm_signature_tag(from, d);
    CVM_AUTOFREE char *dst = cvm_signature_tag(to, d);
    if (!src || !dst)
        return cvm_error_set(err, CVM_E_SYSTEM, "cannot allocate");
    struct cvm_descriptor sig;
    bool found = false;
    int r = cvm_store_find(s, src, &sig, &found, err);
    if (r < 0 || !found)
        return r;
    r = cvm_store_tag(s, dst, &sig, err);
    cvm_descriptor_release(&sig);
    return r;
}

static int tag_run(int argc, char **argv)
{
    if (argc > 1 && cvmctl_is_help(argv[1])) {
        cvmctl_print_usage(stdout, &cvmctl_cmd_tag);
        return CVMCTL_EXIT_OK;
    }
    if (argc != 3)
        return cvmctl_misuse(&cvmctl_cmd_tag, "expected a source and a target, got %d argument%s",
                             argc - 1, argc == 2 ? "" : "s");
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_reference_free) struct cvm_reference *src = NULL, *dst = NULL;
    if (cvm_reference_parse(argv[2], &dst, &err) < 0)
        return cvmctl_fail(err);
    if (dst->has_digest)
        return cvmctl_misuse(&cvmctl_cmd_tag, "the target must be a tag, not a digest: '%s'",
                             argv[2]);
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    struct cvm_descriptor desc;
    if (cvmctl_store_open(0, &s, &err) < 0 || cvmctl_resolve(s, argv[1], &src, &desc, &err) < 0)
        return cvmctl_fail(err);
    CVM_AUTOFREE char *name = cvm_reference_format(dst);
    CVM_AUTOFREE char *from = cvm_reference_repository(src);
    CVM_AUTOFREE char *to = cvm_reference_repository(dst);
    int r = name && from && to ? cvm_store_tag(s, name, &desc, &err)
                               : cvm_error_set(&err, CVM_E_SYSTEM, "cannot allocate");
    if (r == 0 && strcmp(from, to) != 0)
        r = copy_signature(s, from, to, &desc.digest, &err);
    cvm_descriptor_release(&desc);
    return r < 0 ? cvmctl_fail(err) : CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_tag = {
    .name = "tag",
    .summary = "Give an image another name",
    .usage = tag_usage,
    .run = tag_run,
};
