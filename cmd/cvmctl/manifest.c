/* cvmctl manifest: multi-platform images. `create` writes an OCI image index of cVM images
 * and names it; `inspect` prints a stored manifest or index byte for byte. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "cli.h"
#include "image-cli.h"
#include "image-index.h"

static const char *const manifest_usage[] = {
    "cvmctl manifest create [--amend] <list> <image>...",
    "   or: cvmctl manifest inspect <image>",
    "",
    "A multi-platform image is an OCI image index listing one cVM image per platform",
    "(specs/image-format.md §2); 'cvmctl push' sends it with its images and 'cvmctl pull",
    "--platform' chooses one of them.",
    "",
    "create   writes an index of the <image>s, in the order given, each entry with the",
    "         platform its config records (os, architecture, variant); two images for one",
    "         platform are an error. Names the index <list> and prints its digest. The",
    "         same images in the same order always give the same digest.",
    "inspect  prints the stored bytes of the manifest or index <image> names, as",
    "         'skopeo inspect --raw' does.",
    "",
    "  -a, --amend    start from the index <list> names: an <image> replaces the entry for",
    "                 its platform, or is added after the entries there are",
    "  -h, --help     show this help",
    NULL,
};

/* Reads the index `name` names (for --amend) into ix. */
static int load_amended(struct cvm_store *s, const char *name, struct cvm_image_index *ix,
                        struct cvm_error **err)
{
    struct cvm_descriptor desc = {0};
    bool found = false;
    int r = cvm_store_find(s, name, &desc, &found, err);
    if (r < 0)
        return r;
    if (!found)
        return cvm_error_set(err, CVM_E_NOTFOUND, "--amend: there is no '%s' in store '%s'", name,
                             cvm_store_root(s));
    CVM_AUTO(cvm_manifest_free) struct cvm_manifest *m = NULL;
    r = cvm_store_read_manifest(s, &desc, &m, NULL, err);
    cvm_descriptor_release(&desc);
    if (r == 0 && !m->is_index)
        return cvm_error_set(err, CVM_E_FORMAT, "--amend: '%s' is an image, not an image index",
                             name);
    return r < 0 ? r : cvm_image_index_init_from(ix, m, err);
}

/* Resolves image text and adds its entry to ix under its canonical name. */
static int add_image(struct cvm_store *s, const char *text, struct cvm_image_index *ix,
                     struct cvm_error **err)
{
    CVM_AUTO(cvm_reference_free) struct cvm_reference *ref = NULL;
    struct cvm_descriptor desc = {0}, entry = {0};
    int r = cvmctl_resolve(s, text, &ref, &desc, err);
    if (r < 0)
        return r;
    CVM_AUTOFREE char *name = cvm_reference_format(ref);
    r = name ? cvm_image_index_entry(s, &desc, name, &entry, err)
             : cvm_error_set(err, CVM_E_SYSTEM, "cannot allocate");
    if (r == 0)
        r = cvm_image_index_add(ix, &entry, name, err);
    cvm_descriptor_release(&entry);
    cvm_descriptor_release(&desc);
    return r;
}

static int create_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"amend", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool amend = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:ah", opts, NULL)) != -1) {
        switch (c) {
        case 'a': amend = true; break;
        case 'h': cvmctl_print_usage(stdout, &cvmctl_cmd_manifest); return CVMCTL_EXIT_OK;
        default: return cvmctl_option_error(&cvmctl_cmd_manifest, c, argv);
        }
    }
    if (optind >= argc)
        return cvmctl_misuse(&cvmctl_cmd_manifest, "no list given");
    if (optind == argc - 1)
        return cvmctl_misuse(&cvmctl_cmd_manifest, "no image given for list '%s'", argv[optind]);
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_reference_free) struct cvm_reference *ref = NULL;
    if (cvm_reference_parse(argv[optind], &ref, &err) < 0)
        return cvmctl_fail(err);
    if (ref->has_digest)
        return cvmctl_misuse(&cvmctl_cmd_manifest, "the list must be a tag, not a digest: '%s'",
                             argv[optind]);
    CVM_AUTOFREE char *name = cvm_reference_format(ref);
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    if (!name || cvmctl_store_open(0, &s, &err) < 0)
        return cvmctl_fail(err);
    struct cvm_image_index ix;
    cvm_image_index_init(&ix);
    int r = amend ? load_amended(s, name, &ix, &err) : 0;
    for (int i = optind + 1; r == 0 && i < argc; i++)
        r = add_image(s, argv[i], &ix, &err);
    /* Nothing is written before every image checked out. */
    struct cvm_descriptor index = {0};
    if (r == 0)
        r = cvm_image_index_write(s, &ix, &index, &err);
    if (r == 0)
        r = cvm_store_tag(s, name, &index, &err);
    if (r == 0)
        printf("%s\n", cvmctl_digest_str(&index.digest));
    cvm_descriptor_release(&index);
    cvm_image_index_release(&ix);
    if (r < 0) {
        cvm_error_prefix(&err, "manifest create '%s'", name);
        return cvmctl_fail(err);
    }
    return CVMCTL_EXIT_OK;
}

static int inspect_run(int argc, char **argv)
{
    if (argc > 1 && cvmctl_is_help(argv[1])) {
        cvmctl_print_usage(stdout, &cvmctl_cmd_manifest);
        return CVMCTL_EXIT_OK;
    }
    if (argc != 2)
        return cvmctl_misuse(&cvmctl_cmd_manifest, "manifest inspect takes one image");
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    CVM_AUTO(cvm_manifest_free) struct cvm_manifest *m = NULL;
    struct cvm_descriptor desc = {0};
    if (cvmctl_store_open(0, &s, &err) < 0 || cvmctl_resolve(s, argv[1], NULL, &desc, &err) < 0)
        return cvmctl_fail(err);
    /* Parsed too, so that only a manifest or an index is printed. */
    struct cvm_buf raw;
    int r = cvm_store_read_manifest(s, &desc, &m, &raw, &err);
    cvm_descriptor_release(&desc);
    if (r < 0)
        return cvmctl_fail(err);
    bool ok = fwrite(raw.data, 1, raw.len, stdout) == raw.len && fflush(stdout) == 0;
    cvm_buf_release(&raw);
    if (!ok) {
        cvmctl_error("cannot write to stdout");
        return CVMCTL_EXIT_FAILED;
    }
    return CVMCTL_EXIT_OK;
}

static int manifest_run(int argc, char **argv)
{
    if (argc < 2)
        return cvmctl_misuse(&cvmctl_cmd_manifest, "no subcommand given (create or inspect)");
    if (cvmctl_is_help(argv[1])) {
        cvmctl_print_usage(stdout, &cvmctl_cmd_manifest);
        return CVMCTL_EXIT_OK;
    }
    if (strcmp(argv[1], "create") == 0)
        return create_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "inspect") == 0)
        return inspect_run(argc - 1, argv + 1);
    return cvmctl_misuse(&cvmctl_cmd_manifest, "unknown subcommand '%s' (create or inspect)",
                         argv[1]);
}

const struct cvmctl_command cvmctl_cmd_manifest = {
    .name = "manifest",
    .summary = "Create and inspect multi-platform image indexes",
    .usage = manifest_usage,
    .run = manifest_run,
};
