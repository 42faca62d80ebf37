/* cvmctl build: reads the build file, packs the rootfs, measures the deployment with the
 * monitor's loader, and writes layers, config and manifest to the store. Everything that
 * goes into the image is derived from file contents only (sorted, no times, owners or host
 * paths), so the same context always gives the same manifest digest. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "cpio.h"
#include "image-build.h"
#include "runtime.h"
#include "store.h"
#include "zstd-codec.h"

/* A layer to write: its bytes before compression, title and media type. */
struct layer {
    const char *title;
    const char *media_type;
    const uint8_t *data;
    size_t len;
    bool compress;
    struct cvm_descriptor desc; /* filled when stored */
};

struct build {
    const struct cvm_build_options *o;
    struct cvm_monitor_config *cfg;
    struct cvm_buf deployment;
    struct layer layers[CVM_CONFIG_MAX_VMS + 3];
    size_t n_layers;
    struct cvm_measurement m;
    struct cvm_error **err;
};

static void build_release(struct build *b)
{
    cvm_buf_release(&b->deployment);
    for (size_t i = 0; i < b->n_layers; i++)
        cvm_descriptor_release(&b->layers[i].desc);
    cvm_measurement_release(&b->m);
    cvm_monitor_config_free(b->cfg);
}

static int add_layer(struct build *b, const char *title, const char *media_type,
                     const uint8_t *data, size_t len, bool compress)
{
    for (size_t i = 0; i < b->n_layers; i++)
        if (strcmp(b->layers[i].title, title) == 0)
            return cvm_error_set(b->err, CVM_E_CONFLICT,
                                 "two files of the image would be named '%s'", title);
    if (b->n_layers == sizeof(b->layers) / sizeof(b->layers[0]))
        return cvm_error_set(b->err, CVM_E_LIMIT, "more than %u cVMs", CVM_CONFIG_MAX_VMS);
    b->layers[b->n_layers++] = (struct layer){
        .title = title, .media_type = media_type, .data = data, .len = len, .compress = compress};
    return 0;
}

/* One layer per distinct runtime file; two different files may not share a name. */
static int add_runtimes(struct build *b)
{
    const struct cvm_deploy_spec *spec = &b->cfg->spec;
    for (size_t i = 0; i < spec->n_vms; i++) {
        const char *path = cvm_monitor_config_runtime_path(b->cfg, i);
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++) {
            if (strcmp(spec->vms[k].runtime_name, spec->vms[i].runtime_name) != 0)
                continue;
            if (strcmp(cvm_monitor_config_runtime_path(b->cfg, k), path) != 0)
                return cvm_error_set(b->err, CVM_E_CONFLICT,
                                     "cVMs '%s' and '%s' use different runtime files named '%s'",
                                     spec->vms[k].name, spec->vms[i].name,
                                     spec->vms[i].runtime_name);
            seen = true;
        }
        if (seen)
            continue;
        int r = add_layer(b, spec->vms[i].runtime_name, CVM_MEDIA_RUNTIME, spec->vms[i].runtime,
                          spec->vms[i].runtime_len, true);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- the deployment manifest layer: canonical YAML the monitor-YAML parser reads back ---- */

static int emit(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int emit(struct build *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line))
        return cvm_error_set(b->err, CVM_E_LIMIT, "deployment manifest line too long");
    return cvm_buf_append(&b->deployment, line, (size_t)n, b->err);
}

/* A double-quoted YAML scalar. Bytes >= 0x80 pass as they are: the input was UTF-8 YAML. */
static int emit_quoted(struct build *b, const char *s, size_t len)
{
    int r = cvm_buf_append(&b->deployment, "\"", 1, b->err);
    for (size_t i = 0; r == 0 && i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof(esc), "\\%c", c);
        else if (c == '\n')
            snprintf(esc, sizeof(esc), "\\n");
        else if (c < 0x20 || c == 0x7f)
            snprintf(esc, sizeof(esc), "\\x%02x", c);
        else
            esc[0] = (char)c, esc[1] = '\0';
        r = cvm_buf_append(&b->deployment, esc, strlen(esc), b->err);
    }
    return r ? r : cvm_buf_append(&b->deployment, "\"", 1, b->err);
}

static int emit_key(struct build *b, const char *indent, const char *key, const char *s)
{
    int r = emit(b, "%s%s: ", indent, key);
    if (r == 0)
        r = emit_quoted(b, s, strlen(s));
    return r ? r : emit(b, "\n");
}

static int emit_list(struct build *b, const char *key, const char *const *items, size_t n)
{
    int r = emit(b, "    %s: [", key);
    for (size_t i = 0; r == 0 && i < n; i++) {
        if (i && (r = emit(b, ", ")) < 0)
            break;
        r = emit_quoted(b, items[i], strlen(items[i]));
    }
    return r ? r : emit(b, "]\n");
}

static int emit_deployment(struct build *b)
{
    const struct cvm_deploy_spec *spec = &b->cfg->spec;
    cvm_buf_init(&b->deployment, CVM_CONFIG_MAX_YAML);
    int r = emit(b, "cVMs:\n");
    for (size_t i = 0; r == 0 && i < spec->n_vms; i++) {
        const struct cvm_vm_spec *vm = &spec->vms[i];
        if ((r = emit_key(b, "  - ", "name", vm->name)) < 0 ||
            (r = emit_key(b, "    ", "runtime", vm->runtime_name)) < 0 ||
            (r = emit_list(b, "args", vm->argv, vm->argc)) < 0 ||
            (r = emit_list(b, "env", vm->envp, vm->envc)) < 0)
            break;
        if (vm->callback_out >= 0 &&
            (r = emit_key(b, "    ", "callback_out", spec->vms[vm->callback_out].name)) < 0)
            break;
        if (vm->callback_in >= 0 &&
            (r = emit_key(b, "    ", "callback_in", spec->vms[vm->callback_in].name)) < 0)
            break;
        if (vm->heap_group && (r = emit_key(b, "    ", "heap_group", vm->heap_group)) < 0)
            break;
        if (vm->abi == CVM_ABI_LINUX && (r = emit_key(b, "    ", "abi", "linux")) < 0)
            break;
        r = emit(b,
                 "    wait: %d\n    clean_room: %s\n    isolation: {base: 0x%llx, size: 0x%llx}\n",
                 vm->wait_seconds, vm->clean_room ? "true" : "false", (unsigned long long)vm->base,
                 (unsigned long long)vm->size);
    }
    /* Shared heaps as declared: a heap without a base is placed by the same rule again. */
    if (r == 0 && spec->n_heaps)
        r = emit(b, "heaps:\n");
    for (size_t i = 0; r == 0 && i < spec->n_heaps; i++) {
        const struct cvm_heap_spec *h = &spec->heaps[i];
        if ((r = emit_key(b, "  - ", "name", h->name)) < 0 ||
            (h->base && (r = emit(b, "    base: 0x%llx\n", (unsigned long long)h->base)) < 0))
            break;
        r = emit(b, "    size: 0x%llx\n", (unsigned long long)h->size);
    }
    if (r == 0 && spec->n_capfiles)
        r = emit(b, "capfiles:\n");
    for (size_t i = 0; r == 0 && i < spec->n_capfiles; i++) {
        const struct cvm_capfile_spec *c = &spec->capfiles[i];
        if ((r = emit_key(b, "  - ", "name", c->name)) < 0 ||
            (r = emit(b, "    size: %llu\n", (unsigned long long)c->size)) < 0)
            break;
        if (c->data && ((r = emit(b, "    data: ")) < 0 ||
                        (r = emit_quoted(b, (const char *)c->data, c->data_len)) < 0 ||
                        (r = emit(b, "\n")) < 0))
            break;
    }
    const char *ldso = cvm_monitor_config_ldso_path(b->cfg);
    if (r == 0 && ldso)
        r = emit_key(b, "", "ldso", cvm_path_basename(ldso));
    if (r == 0 && cvm_monitor_config_rootfs_path(b->cfg))
        r = emit_key(b, "", "rootfs", CVM_ROOTFS_TITLE);
    return r;
}

/* ---- config and manifest ---------------------------------------------------------------- */

static const char *elf_architecture(const uint8_t *elf, size_t len)
{
    /* Runtimes passed the loader's checks already; e_machine sits at the same offset in
     * ELF32 and ELF64 headers. */
    uint16_t machine = len >= 20 ? (uint16_t)(elf[18] | elf[19] << 8) : 0;
    return machine == EM_AARCH64 ? "arm64" : machine == EM_X86_64 ? "amd64" : "unknown";
}

/* An image is for one architecture: the platform's, else the first runtime's. Every
 * runtime and the ldso must be built for it. */
static int check_architectures(struct build *b)
{
    const struct cvm_deploy_spec *spec = &b->cfg->spec;
    const struct cvm_platform *p = b->o->platform;
    char shown[CVM_PLATFORM_STR_SIZE];
    const char *want =
        p ? p->architecture : elf_architecture(spec->vms[0].runtime, spec->vms[0].runtime_len);
    for (size_t i = 0; i <= spec->n_vms; i++) {
        bool ldso = i == spec->n_vms;
        const char *path = ldso ? cvm_monitor_config_ldso_path(b->cfg)
                                : cvm_monitor_config_runtime_path(b->cfg, i);
        if (!path)
            continue;
        const char *arch = ldso ? elf_architecture(spec->ldso, spec->ldso_len)
                                : elf_architecture(spec->vms[i].runtime, spec->vms[i].runtime_len);
        if (strcmp(arch, want) == 0)
            continue;
        if (p)
            return cvm_error_set(
                b->err, CVM_E_CONFLICT, "%s '%s' is for %s, but the image is for %s",
                ldso ? "ldso" : "runtime", path, arch, cvm_platform_format(p, shown));
        return cvm_error_set(b->err, CVM_E_CONFLICT,
                             "%s '%s' is for %s, but runtime '%s' is for %s: an image is for one "
                             "architecture",
                             ldso ? "ldso" : "runtime", path, arch,
                             cvm_monitor_config_runtime_path(b->cfg, 0), want);
    }
    return 0;
}

static char *hexdigest(const uint8_t d[CVM_SHA256_LEN], char out[CVM_DIGEST_STR_SIZE])
{
    struct cvm_digest dg;
    memcpy(dg.bytes, d, CVM_SHA256_LEN);
    return cvm_digest_format(&dg, out);
}

static json_t *config_json(struct build *b)
{
    const struct cvm_deploy_spec *spec = &b->cfg->spec;
    char d1[CVM_DIGEST_STR_SIZE], d2[CVM_DIGEST_STR_SIZE];
    json_t *vms = json_array();
    for (size_t i = 0; vms && i < spec->n_vms; i++)
        json_array_append_new(vms, json_pack("{s:s, s:s, s:s, s:s}", "name", spec->vms[i].name,
                                             "runtime", spec->vms[i].runtime_name,
                                             "runtime_measurement", hexdigest(b->m.runtime[i], d1),
                                             "measurement", hexdigest(b->m.cvm[i], d2)));
    json_t *cvm = json_pack("{s:i, s:s}", "version", 1, "deployment", CVM_DEPLOYMENT_TITLE);
    const char *ldso = cvm_monitor_config_ldso_path(b->cfg);
    if (cvm && ldso)
        json_object_set_new(cvm, "ldso",
                            json_pack("{s:s, s:s}", "title", cvm_path_basename(ldso), "measurement",
                                      hexdigest(b->m.ldso, d1)));
    if (cvm && b->m.has_rootfs)
        json_object_set_new(cvm, "rootfs",
                            json_pack("{s:s, s:s, s:I}", "title", CVM_ROOTFS_TITLE, "digest",
                                      hexdigest(b->m.rootfs, d1), "size",
                                      (json_int_t)b->cfg->spec.rootfs_len));
    if (cvm) {
        json_object_set_new(cvm, "cvms", vms);
        json_object_set_new(cvm, "measurement", json_string(hexdigest(b->m.deployment, d1)));
    } else {
        json_decref(vms);
    }
    /* check_architectures made the platform's architecture the runtimes' one. */
    const struct cvm_platform *p = b->o->platform;
    const struct cvm_vm_spec *vm0 = &spec->vms[0];
    json_t *j =
        cvm ? json_pack("{s:s, s:s}", "architecture",
                        elf_architecture(vm0->runtime, vm0->runtime_len), "os", p ? p->os : "linux")
            : NULL;
    if (j && p && p->variant[0] && json_object_set_new(j, "variant", json_string(p->variant)) < 0) {
        json_decref(j);
        j = NULL;
    }
    if (!j) {
        json_decref(cvm);
        return NULL;
    }
    /* json_object_set_new takes cvm's reference even when it fails. */
    if (json_object_set_new(j, "cvm", cvm) < 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static json_t *descriptor_json(const struct cvm_descriptor *d)
{
    char digest[CVM_DIGEST_STR_SIZE];
    json_t *j = json_pack("{s:s, s:s, s:I}", "mediaType", d->media_type, "digest",
                          cvm_digest_format(&d->digest, digest), "size", (json_int_t)d->size);
    if (j && d->title)
        json_object_set_new(j, "annotations", json_pack("{s:s}", CVM_ANNOTATION_TITLE, d->title));
    return j;
}

/* Stores bytes as a blob and describes them. */
static int put(struct cvm_store *s, const void *data, size_t len, const char *media_type,
               const char *title, struct cvm_descriptor *ret, struct cvm_error **err)
{
    struct cvm_descriptor d = {.size = len};
    int r = cvm_store_put_blob(s, data, len, &d.digest, err);
    if (r < 0)
        return r;
    if (!(d.media_type = strdup(media_type)) || (title && !(d.title = strdup(title)))) {
        cvm_descriptor_release(&d);
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    }
    *ret = d;
    return 0;
}

static int put_json(struct cvm_store *s, json_t *j, const char *media_type,
                    struct cvm_descriptor *ret, struct cvm_error **err)
{
    CVM_AUTOFREE char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return cvm_error_set_errno(err, ENOMEM, "cannot encode JSON");
    return put(s, text, strlen(text), media_type, NULL, ret, err);
}

static int store_layers(struct build *b, struct cvm_store *s)
{
    for (size_t i = 0; i < b->n_layers; i++) {
        struct layer *l = &b->layers[i];
        if (!l->compress) {
            int r = put(s, l->data, l->len, l->media_type, l->title, &l->desc, b->err);
            if (r < 0)
                return r;
            continue;
        }
        struct cvm_buf z;
        cvm_buf_init(&z, SIZE_MAX / 2);
        int r = cvm_zstd_compress(l->data, l->len, &z, b->err);
        if (r == 0)
            r = put(s, z.data, z.len, l->media_type, l->title, &l->desc, b->err);
        cvm_buf_release(&z);
        if (r < 0)
            return cvm_error_prefix(b->err, "layer '%s'", l->title);
    }
    return 0;
}

static int read_inputs(struct build *b, const char *file)
{
    struct cvm_buf text;
    cvm_buf_init(&text, CVM_CONFIG_MAX_YAML);
    int r = cvm_buf_read_file(&text, AT_FDCWD, file, b->err);
    if (r < 0)
        return cvm_error_prefix(b->err, "build file");
    r = cvm_monitor_config_parse((const char *)text.data, text.len, file, b->o->context,
                                 CVM_CONFIG_IMAGE, &b->cfg, b->err);
    cvm_buf_release(&text);
    if (r < 0)
        return r;
    return cvm_monitor_config_read_files(b->cfg, b->err);
}

int cvm_image_build(struct cvm_store *s, const struct cvm_build_options *o,
                    struct cvm_build_result *ret, struct cvm_error **err)
{
    CVM_AUTOFREE char *default_file = NULL;
    const char *file = o->file;
    if (!file) {
        if (!(default_file = cvm_path_resolve(o->context, CVM_BUILD_FILE)))
            return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
        file = default_file;
    }
    struct stat st;
    if (stat(o->context, &st) < 0)
        return cvm_error_set_errno(err, errno, "build context '%s'", o->context);
    if (!S_ISDIR(st.st_mode))
        return cvm_error_set(err, CVM_E_USAGE, "build context '%s' is not a folder", o->context);
    struct build b = {.o = o, .err = err};
    int r = read_inputs(&b, file);
    if (r == 0 && (r = cvm_measure_spec(&b.cfg->spec, &b.m, err)) < 0)
        r = cvm_error_prefix(err, "measure");
    /* After the loader accepted every ELF file, before anything is written. */
    if (r == 0)
        r = check_architectures(&b);
    if (r == 0)
        r = emit_deployment(&b);
    if (r == 0)
        r = add_layer(&b, CVM_DEPLOYMENT_TITLE, CVM_MEDIA_DEPLOYMENT, b.deployment.data,
                      b.deployment.len, false);
    if (r == 0)
        r = add_runtimes(&b);
    const char *ldso = r == 0 ? cvm_monitor_config_ldso_path(b.cfg) : NULL;
    if (ldso)
        r = add_layer(&b, cvm_path_basename(ldso), CVM_MEDIA_LDSO, b.cfg->spec.ldso,
                      b.cfg->spec.ldso_len, true);
    if (r == 0 && b.cfg->spec.rootfs)
        r = add_layer(&b, CVM_ROOTFS_TITLE, CVM_MEDIA_ROOTFS, b.cfg->spec.rootfs,
                      b.cfg->spec.rootfs_len, true);
    if (r == 0)
        r = store_layers(&b, s);
    struct cvm_descriptor config = {0}, manifest = {0};
    if (r == 0)
        r = put_json(s, config_json(&b), CVM_MEDIA_CONFIG, &config, err);
    if (r == 0) {
        json_t *layers = json_array();
        for (size_t i = 0; layers && i < b.n_layers; i++)
            json_array_append_new(layers, descriptor_json(&b.layers[i].desc));
        json_t *m = layers ? json_pack("{s:i, s:s, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType",
                                       CVM_MEDIA_OCI_MANIFEST, "artifactType", CVM_ARTIFACT_IMAGE,
                                       "config", descriptor_json(&config), "layers", layers)
                           : NULL;
        r = put_json(s, m, CVM_MEDIA_OCI_MANIFEST, &manifest, err);
    }
    if (r == 0 && (manifest.artifact_type = strdup(CVM_ARTIFACT_IMAGE)) == NULL)
        r = cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    if (r == 0)
        r = cvm_store_tag(s, o->name, &manifest, err);
    if (r == 0) {
        *ret = (struct cvm_build_result){.manifest = manifest, .n_layers = b.n_layers};
        for (size_t i = 0; i < b.n_layers; i++)
            ret->layer_bytes += b.layers[i].desc.size;
        memcpy(ret->measurement, b.m.deployment, CVM_SHA256_LEN);
    } else {
        cvm_descriptor_release(&manifest);
    }
    cvm_descriptor_release(&config);
    build_release(&b);
    return r;
}
