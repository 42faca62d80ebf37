/* cvmctl build and the image bundle: a build context becomes a signed-ready cVM image, and an
 * image in the store becomes a measured deployment spec (specs/image-format.md §3-4). */
#ifndef CVM_RUNTIME_IMAGE_BUILD_H
#define CVM_RUNTIME_IMAGE_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "image-index.h"
#include "manifest.h"
#include "monitor.h"

struct cvm_error;
struct cvm_store;
#include "runtime.h"

struct cvm_monitor_config;

#define CVM_BUILD_FILE "cvm.yaml"            /* default build file inside the context */
#define CVM_DEPLOYMENT_TITLE "cvm.yaml"      /* title of the deployment manifest layer */
#define CVM_ROOTFS_TITLE "root.cpio"         /* title of the rootfs layer */
#define CVM_ROOTFS_MAX CVM_CONFIG_MAX_ROOTFS /* an uncompressed rootfs over 4 GiB is refused */
#define CVM_LDSO_MAX CVM_CONFIG_MAX_LDSO

struct cvm_build_options {
    const char *context; /* the folder file paths resolve against */
    const char *file;    /* the build file; NULL for CONTEXT/cvm.yaml */
    const char *name;    /* canonical reference the image is tagged with */
    /* The platform the image is for: every runtime and the ldso must be for its
     * architecture, and its variant goes into the config. NULL: the architecture of the
     * first runtime, which every other runtime and the ldso must share. */
    const struct cvm_platform *platform;
};

struct cvm_build_result {
    struct cvm_descriptor manifest; /* release with cvm_descriptor_release */
    size_t n_layers;
    uint64_t layer_bytes; /* sum of the layer blobs' sizes */
    uint8_t measurement[CVM_SHA256_LEN];
};

/* Builds the image, stores its blobs and tags it o->name. A runtime or ldso for another
 * architecture than the platform's (or the first runtime's) is CVM_E_CONFLICT naming the
 * file and both architectures; nothing is written then. */
int cvm_image_build(struct cvm_store *s, const struct cvm_build_options *o,
                    struct cvm_build_result *ret, struct cvm_error **err);

/* An image read back from the store with every blob's digest checked: its manifest, config,
 * the deployment spec (runtimes, ldso and rootfs decompressed) and the measurement the
 * deployment spec has, recomputed with the monitor's loader. */
struct cvm_image_bundle {
    struct cvm_manifest *manifest;
    struct cvm_image_config *config;
    struct cvm_monitor_config *deployment; /* deployment->spec points into the bundle */
    struct cvm_measurement measurement;
    struct cvm_bundle_storage *storage;
};

/* Loads the image `desc` names (for an index, its linux image of this host's architecture);
 * a measurement that differs from the one its config records
 * is CVM_E_DIGEST with both values. */
enum cvm_bundle_flags {
    /* Map compressed layers from the store's layer cache, filling it on a miss (run), instead
     * of decompressing them into memory each time (measure, which leaves the store as is). */
    CVM_BUNDLE_LAYER_CACHE = 1 << 0,
    /* Leave `measurement` empty: the caller measures what deploy placed in memory instead
     * (cvm_deployment_measure with the bundle's own spec) and passes that to
     * cvm_image_bundle_check, so the runtimes are not loaded twice. */
    CVM_BUNDLE_MEASURE_PLACED = 1 << 1,
};

int cvm_image_bundle_load(struct cvm_store *s, const struct cvm_descriptor *desc, unsigned flags,
                          struct cvm_image_bundle **ret, struct cvm_error **err);
void cvm_image_bundle_free(struct cvm_image_bundle *b);

/* Compares a measurement of the image as built (its own args, env and heaps) with the one
 * its config records: rootfs, each cVM, the deployment. A difference is CVM_E_DIGEST with
 * both values. */
int cvm_image_bundle_check(const struct cvm_image_bundle *b, const struct cvm_measurement *m,
                           struct cvm_error **err);

#endif
