/* cvmctl rmi: removes names; a repository's signature goes with its last name for the image.
 * Blobs stay until `cvmctl gc`. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "cli.h"
#include "image-cli.h"

static const char *const rmi_usage[] = {
    "cvmctl rmi <name>...",
    "",
    "Removes each name from the store and prints 'Untagged: <name>'. When no other tag of",
    "the repository names the same image, its signature tag is removed as well. Blobs no",
    "name reaches any more are deleted by 'cvmctl gc'.",
    NULL,
};

/* True when another (non-signature) name in repo still points at d. */
static bool repo_still_names(const struct cvm_descriptor *list, size_t n, const char *repo,
                             const struct cvm_digest *d)
{
    size_t len = strlen(repo);
    for (size_t i = 0; i < n; i++)
        if (strncmp(list[i].ref_name, repo, len) == 0 && list[i].ref_name[len] == ':' &&
            !strchr(list[i].ref_name + len + 1, '/') && !cvm_signature_tag_is(list[i].ref_name) &&
            cvm_digest_equal(&list[i].digest, d))
            return true;
    return false;
}

static int remove_one(struct cvm_store *s, const char *text, struct cvm_error **err)
{
    CVM_AUTO(cvm_reference_free) struct cvm_reference *ref = NULL;
    struct cvm_descriptor desc;
    int r = cvmctl_resolve(s, text, &ref, &desc, err);
    if (r < 0)
        return r;
    if (!ref->tag) {
        cvm_descriptor_release(&desc);
        return cvm_error_set(err, CVM_E_USAGE, "'%s': remove images by name, not by digest", text);
    }
    CVM_AUTOFREE char *name = desc.ref_name ? strdup(desc.ref_name) : NULL;
    CVM_AUTOFREE char *repo = cvm_reference_repository(ref);
    struct cvm_digest digest = desc.digest;
    cvm_descriptor_release(&desc);
    if (!name || !repo)
        return cvm_error_set(err, CVM_E_SYSTEM, "cannot allocate");
    if ((r = cvm_store_untag(s, name, err)) < 0)
        return r;
    printf("Untagged: %s\n", name);
    struct cvm_descriptor *list = NULL;
    size_t n = 0;
    if ((r = cvm_store_list(s, &list, &n, err)) < 0)
        return r;
    bool keep = repo_still_names(list, n, repo, &digest);
    cvm_store_list_free(list, n);
    CVM_AUTOFREE char *sig = cvm_signature_tag(repo, &digest);
    if (!keep && sig && !cvm_signature_tag_is(name)) {
        CVM_AUTO(cvm_error_free) struct cvm_error *e = NULL;
        if (cvm_store_untag(s, sig, &e) == 0)
            printf("Untagged: %s\n", sig);
    }
    return 0;
}

static int rmi_run(int argc, char **argv)
{
    if (argc > 1 && cvmctl_is_help(argv[1])) {
        cvmctl_print_usage(stdout, &cvmctl_cmd_rmi);
        return CVMCTL_EXIT_OK;
    }
    if (argc < 2)
        return cvmctl_misuse(&cvmctl_cmd_rmi, "no image given");
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    if (cvmctl_store_open(0, &s, &err) < 0)
        return cvmctl_fail(err);
    int status = CVMCTL_EXIT_OK;
    for (int i = 1; i < argc; i++) {
        if (remove_one(s, argv[i], &err) < 0) {
            status = cvmctl_fail(err);
            cvm_error_free(err);
            err = NULL;
        }
    }
    return status;
}

const struct cvmctl_command cvmctl_cmd_rmi = {
    .name = "rmi",
    .summary = "Remove image names from the store",
    .usage = rmi_usage,
    .run = rmi_run,
};
