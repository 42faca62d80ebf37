/* cvmctl inspect: an image's manifest, config, layers, measurement and signatures; an image
 * index's platforms and manifests. */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "cli.h"
#include "image-cli.h"

static const char *const inspect_usage[] = {
    "cvmctl inspect [--format json] <image>",
    "",
    "Shows the image's name, manifest digest, platform, config, layers (title, media type,",
    "digest, size), the deployment measurement and per-cVM measurements recorded in its",
    "config, and the signatures attached (identity and payload digest; unverified: use",
    "'cvmctl verify'). For an image index: each manifest's platform, digest, size and",
    "media type. Size counts every distinct blob reached (an index's images too) once.",
    "Blobs are read through their digests.",
    "",
    "      --format json      the manifest and config as stored, plus the same facts",
    "  -h, --help             show this help",
    NULL,
};

static json_t *raw_json(const struct cvm_buf *b)
{
    return json_loadb((const char *)b->data, b->len, 0, NULL);
}

/* "os/architecture[/variant]"; "-" when os or architecture is missing. */
static const char *platform_text(const char *os, const char *arch, const char *variant,
                                 char out[CVM_PLATFORM_STR_SIZE])
{
    if (!os || !arch)
        return "-";
    snprintf(out, CVM_PLATFORM_STR_SIZE, "%.32s/%.32s%s%.32s", os, arch, variant ? "/" : "",
             variant ? variant : "");
    return out;
}

static const char *entry_platform(const struct cvm_descriptor *e, char out[CVM_PLATFORM_STR_SIZE])
{
    return platform_text(e->os, e->architecture, e->variant, out);
}

static void print_text(const struct cvm_descriptor *d, const struct cvm_manifest *m,
                       const struct cvm_image_config *cfg, uint64_t total,
                       const struct cvm_signature *sigs, size_t n_sigs)
{
    char human[32], platform[CVM_PLATFORM_STR_SIZE];
    printf("Name:          %s\n", d->ref_name ? d->ref_name : "");
    printf("Digest:        %s\n", cvmctl_digest_str(&d->digest));
    printf("Media type:    %s\n", m->media_type);
    printf("Artifact type: %s\n", m->artifact_type ? m->artifact_type : "(none)");
    if (cfg)
        printf("Platform:      %s\n",
               platform_text(cfg->os, cfg->architecture, cfg->variant, platform));
    if (!m->is_index)
        printf("Config:        %s %s (%s)\n", cvmctl_digest_str(&m->config.digest),
               m->config.media_type, cvmctl_human_size(m->config.size, human));
    printf("%s:\n", m->is_index ? "Manifests" : "Layers");
    for (size_t i = 0; i < m->n_entries; i++) {
        const struct cvm_descriptor *l = &m->entries[i];
        const char *label = m->is_index ? entry_platform(l, platform) : l->title ? l->title : "-";
        printf("  %-20s %s %s %s\n", label, cvmctl_digest_str(&l->digest),
               cvmctl_human_size(l->size, human), l->media_type);
    }
    printf("Size:          %s\n", cvmctl_human_size(total, human));
    if (cfg) {
        printf("Measurement:   %s\n", cvmctl_digest_str(&cfg->measurement));
        printf("cVMs:\n");
        for (size_t i = 0; i < cfg->n_vms; i++) {
            printf("  %s: runtime %s", cfg->vms[i].name, cfg->vms[i].runtime);
            printf(" %s,", cvmctl_digest_str(&cfg->vms[i].runtime_measurement));
            printf(" measurement %s\n", cvmctl_digest_str(&cfg->vms[i].measurement));
        }
        if (cfg->rootfs)
            printf("Rootfs:        %s, %s uncompressed, %s\n", cfg->rootfs,
                   cvmctl_human_size(cfg->rootfs_size, human),
                   cvmctl_digest_str(&cfg->rootfs_digest));
        if (cfg->ldso)
            printf("Ldso:          %s %s\n", cfg->ldso, cvmctl_digest_str(&cfg->ldso_measurement));
    }
    printf("Signatures:    %zu\n", n_sigs);
    for (size_t i = 0; i < n_sigs; i++)
        printf("  identity %s, payload %s\n", sigs[i].identity,
               cvmctl_digest_str(&sigs[i].payload));
}

static json_t *facts_json(const struct cvm_descriptor *d, const struct cvm_manifest *m,
                          json_t *manifest, json_t *config, const struct cvm_image_config *cfg,
                          uint64_t total, const struct cvm_signature *sigs, size_t n_sigs)
{
    char digest[CVM_DIGEST_STR_SIZE], platform[CVM_PLATFORM_STR_SIZE];
    json_t *j =
        json_pack("{s:s, s:s, s:I, s:o, s:o}", "name", d->ref_name ? d->ref_name : "", "digest",
                  cvm_digest_format(&d->digest, digest), "size", (json_int_t)total, "manifest",
                  manifest ? manifest : json_null(), "config", config ? config : json_null());
    if (j && cfg) {
        json_object_set_new(
            j, "platform",
            json_string(platform_text(cfg->os, cfg->architecture, cfg->variant, platform)));
        json_object_set_new(j, "measurement",
                            json_string(cvm_digest_format(&cfg->measurement, digest)));
    }
    json_t *platforms = m->is_index ? json_array() : NULL;
    for (size_t i = 0; platforms && i < m->n_entries; i++) {
        const struct cvm_descriptor *e = &m->entries[i];
        json_array_append_new(platforms,
                              json_pack("{s:s, s:s, s:I}", "platform", entry_platform(e, platform),
                                        "digest", cvm_digest_format(&e->digest, digest), "size",
                                        (json_int_t)e->size));
    }
    if (j && platforms)
        json_object_set_new(j, "platforms", platforms);
    json_t *list = json_array();
    for (size_t i = 0; list && i < n_sigs; i++)
        json_array_append_new(list, json_pack("{s:s, s:s}", "identity", sigs[i].identity, "payload",
                                              cvm_digest_format(&sigs[i].payload, digest)));
    if (j)
        json_object_set_new(j, "signatures", list);
    return j;
}

static int inspect_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'F'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (c) {
        case 'F':
            if (strcmp(optarg, "json") != 0)
                return cvmctl_misuse(&cvmctl_cmd_inspect, "unknown format '%s' (only 'json')",
                                     optarg);
            json = true;
            break;
        case 'h': cvmctl_print_usage(stdout, &cvmctl_cmd_inspect); return CVMCTL_EXIT_OK;
        default: return cvmctl_option_error(&cvmctl_cmd_inspect, c, argv);
        }
    }
    if (optind != argc - 1)
        return cvmctl_misuse(&cvmctl_cmd_inspect, "expected one image");
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    CVM_AUTO(cvm_reference_free) struct cvm_reference *ref = NULL;
    CVM_AUTO(cvm_manifest_free) struct cvm_manifest *m = NULL;
    CVM_AUTO(cvm_image_config_free) struct cvm_image_config *cfg = NULL;
    struct cvm_descriptor desc = {0};
    struct cvm_buf raw = {0}, config_raw = {0};
    if (cvmctl_store_open(0, &s, &err) < 0 ||
        cvmctl_resolve(s, argv[optind], &ref, &desc, &err) < 0)
        return cvmctl_fail(err);
    int r = cvm_store_read_manifest(s, &desc, &m, &raw, &err);
    bool cvm_image = r == 0 && !m->is_index && strcmp(m->config.media_type, CVM_MEDIA_CONFIG) == 0;
    if (cvm_image)
        r = cvm_store_read_blob(s, &m->config.digest, CVM_MANIFEST_MAX, &config_raw, &err);
    if (r == 0 && cvm_image)
        r = cvm_image_config_parse(config_raw.data, config_raw.len, "config", &cfg, &err);
    uint64_t total = 0;
    if (r == 0)
        r = cvm_store_count_blobs(s, &desc, NULL, &total, &err);
    struct cvm_signature *sigs = NULL;
    size_t n_sigs = 0;
    CVM_AUTOFREE char *repo = cvm_reference_repository(ref);
    if (r == 0)
        r = repo ? cvm_image_signatures(s, repo, &desc.digest, &sigs, &n_sigs, &err)
                 : cvm_error_set(&err, CVM_E_SYSTEM, "cannot allocate");
    if (r == 0 && json) {
        json_auto_t *j =
            facts_json(&desc, m, raw_json(&raw), cvm_image ? raw_json(&config_raw) : NULL, cfg,
                       total, sigs, n_sigs);
        json_dumpf(j, stdout, JSON_INDENT(2));
        putchar('\n');
    } else if (r == 0) {
        print_text(&desc, m, cfg, total, sigs, n_sigs);
    }
    cvm_signatures_free(sigs, n_sigs);
    cvm_buf_release(&raw);
    cvm_buf_release(&config_raw);
    cvm_descriptor_release(&desc);
    return r < 0 ? cvmctl_fail(err) : CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_inspect = {
    .name = "inspect",
    .summary = "Show an image's manifest, layers, measurement and signatures",
    .usage = inspect_usage,
    .run = inspect_run,
};
