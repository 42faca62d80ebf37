/* cvmctl images: the names in the store, with digest, size and whether they are signed. */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "cli.h"
#include "image-cli.h"

static const char *const images_usage[] = {
    "cvmctl images [--all] [--format json]",
    "",
    "Lists the images in the store: repository, tag, manifest digest (shortened), the",
    "total size of manifest, config and layers (for an image index, of every blob its",
    "images reach, each once), and whether a signature is attached.",
    "",
    "  -a, --all              also list signature tags (sha256-<hex>.sig)",
    "      --format json      one JSON array, with full digests and sizes in bytes",
    "  -h, --help             show this help",
    NULL,
};

/* Every distinct blob the name reaches (an index's images too); 0 when a manifest cannot be
 * read (shown as '?'). */
static uint64_t image_size(struct cvm_store *s, const struct cvm_descriptor *d)
{
    CVM_AUTO(cvm_error_free) struct cvm_error *e = NULL;
    uint64_t bytes = 0;
    return cvm_store_count_blobs(s, d, NULL, &bytes, &e) < 0 ? 0 : bytes;
}

static bool is_signed(const struct cvm_descriptor *list, size_t n, const char *repo,
                      const struct cvm_digest *d)
{
    CVM_AUTOFREE char *tag = cvm_signature_tag(repo, d);
    for (size_t i = 0; tag && i < n; i++)
        if (strcmp(list[i].ref_name, tag) == 0)
            return true;
    return false;
}

static int images_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'},
        {"format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool all = false, json = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:ah", opts, NULL)) != -1) {
        switch (c) {
        case 'a': all = true; break;
        case 'F':
            if (strcmp(optarg, "json") != 0)
                return cvmctl_misuse(&cvmctl_cmd_images, "unknown format '%s' (only 'json')",
                                     optarg);
            json = true;
            break;
        case 'h': cvmctl_print_usage(stdout, &cvmctl_cmd_images); return CVMCTL_EXIT_OK;
        default: return cvmctl_option_error(&cvmctl_cmd_images, c, argv);
        }
    }
    if (optind < argc)
        return cvmctl_misuse(&cvmctl_cmd_images, "unexpected argument '%s'", argv[optind]);
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    struct cvm_descriptor *list = NULL;
    size_t n = 0;
    if (cvmctl_store_open(0, &s, &err) < 0 || cvm_store_list(s, &list, &n, &err) < 0)
        return cvmctl_fail(err);
    json_auto_t *out = json_array();
    if (!json)
        printf("%-40s %-20s %-19s %10s  %s\n", "REPOSITORY", "TAG", "DIGEST", "SIZE", "SIGNED");
    for (size_t i = 0; i < n; i++) {
        const char *name = list[i].ref_name;
        if (!all && cvm_signature_tag_is(name))
            continue;
        /* Names in the index are canonical "repository:tag"; the tag follows the last ':'. */
        const char *colon = strrchr(name, ':');
        if (!colon || strchr(colon, '/'))
            colon = name + strlen(name); /* a hand-made name without a tag */
        CVM_AUTOFREE char *repo = strndup(name, (size_t)(colon - name));
        const char *tag = *colon ? colon + 1 : "";
        uint64_t size = image_size(s, &list[i]);
        bool sig = repo && is_signed(list, n, repo, &list[i].digest);
        char digest[CVM_DIGEST_STR_SIZE], human[32];
        cvm_digest_format(&list[i].digest, digest);
        if (json) {
            json_array_append_new(out,
                                  json_pack("{s:s, s:s, s:s, s:s, s:I, s:b}", "name", name,
                                            "repository", repo ? repo : "", "tag", tag, "digest",
                                            digest, "size", (json_int_t)size, "signed", sig));
        } else {
            printf("%-40s %-20s %.19s %10s  %s\n", repo ? repo : "?", tag, digest,
                   size ? cvmctl_human_size(size, human) : "?", sig ? "yes" : "no");
        }
    }
    cvm_store_list_free(list, n);
    if (json) {
        json_dumpf(out, stdout, JSON_INDENT(2));
        putchar('\n');
    }
    return CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_images = {
    .name = "images",
    .summary = "List the images in the store",
    .usage = images_usage,
    .run = images_run,
};
