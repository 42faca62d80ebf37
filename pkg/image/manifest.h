/* OCI manifests, indexes and the cVM image config (specs/image-format.md §2-4): media types,
 * strict parsers for untrusted JSON, and the structs the store and build share. */
#ifndef CVM_IMAGE_MANIFEST_H
#define CVM_IMAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cleanup.h"
#include "digest.h"

struct cvm_error;

#define CVM_MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define CVM_MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define CVM_MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define CVM_MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define CVM_ARTIFACT_IMAGE "application/vnd.cvm.image.v1"
#define CVM_MEDIA_CONFIG "application/vnd.cvm.config.v1+json"
#define CVM_MEDIA_DEPLOYMENT "application/vnd.cvm.manifest.v1+yaml"
#define CVM_MEDIA_RUNTIME "application/vnd.cvm.runtime.v1+zstd"
#define CVM_MEDIA_LDSO "application/vnd.cvm.ldso.v1+zstd"
#define CVM_MEDIA_ROOTFS "application/vnd.cvm.rootfs.v1.cpio+zstd"
#define CVM_MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define CVM_MEDIA_COSIGN_PAYLOAD "application/vnd.dev.cosign.simplesigning.v1+json"
#define CVM_ANNOTATION_TITLE "org.opencontainers.image.title"
#define CVM_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"
#define CVM_ANNOTATION_COSIGN_SIGNATURE "dev.cosignproject.cosign/signature"

#define CVM_MANIFEST_MAX (4u << 20)   /* manifests, indexes and configs: as registries bound them */
#define CVM_MANIFEST_MAX_ENTRIES 4096 /* layers of a manifest, manifests of an index */
#define CVM_CONFIG_MAX_VMS 64

struct cvm_descriptor {
    char *media_type;
    struct cvm_digest digest;
    uint64_t size;
    char *artifact_type;               /* or NULL */
    char *title;                       /* annotation org.opencontainers.image.title, or NULL */
    char *signature;                   /* annotation dev.cosignproject.cosign/signature, or NULL */
    char *ref_name;                    /* annotation org.opencontainers.image.ref.name, or NULL */
    char *os, *architecture, *variant; /* platform of an index entry, or NULL */
};

struct cvm_manifest {
    bool is_index;
    char *media_type;
    char *artifact_type;            /* or NULL */
    struct cvm_descriptor config;   /* manifests only */
    struct cvm_descriptor *entries; /* a manifest's layers, or an index's manifests */
    size_t n_entries;
};

/* Parses an image manifest or index (OCI, or Docker schema 2). Unknown fields are ignored as
 * the OCI spec requires; duplicate keys, wrong types and bad digests are refused. */
int cvm_manifest_parse(const void *data, size_t len, const char *display, struct cvm_manifest **ret,
                       struct cvm_error **err);
void cvm_manifest_free(struct cvm_manifest *m);

/* An image layout's index.json: an index whose mediaType may be absent, as the image-layout
 * spec allows. */
int cvm_layout_index_parse(const void *data, size_t len, const char *display,
                           struct cvm_manifest **ret, struct cvm_error **err);
CVM_DEFINE_CLEANUP(struct cvm_manifest *, cvm_manifest_free)
void cvm_descriptor_release(struct cvm_descriptor *d);

/* The cVM image config (application/vnd.cvm.config.v1+json). */
struct cvm_config_vm {
    char *name;
    char *runtime; /* the runtime layer's title */
    struct cvm_digest runtime_measurement;
    struct cvm_digest measurement;
};

struct cvm_image_config {
    char *architecture, *os, *variant;
    char *deployment; /* title of the deployment manifest layer */
    char *ldso;       /* title of the ldso layer, or NULL */
    struct cvm_digest ldso_measurement;
    char *rootfs;                    /* title of the rootfs layer, or NULL */
    struct cvm_digest rootfs_digest; /* of the uncompressed archive */
    uint64_t rootfs_size;
    struct cvm_config_vm *vms;
    size_t n_vms;
    struct cvm_digest measurement; /* the deployment's */
};

int cvm_image_config_parse(const void *data, size_t len, const char *display,
                           struct cvm_image_config **ret, struct cvm_error **err);
void cvm_image_config_free(struct cvm_image_config *c);
CVM_DEFINE_CLEANUP(struct cvm_image_config *, cvm_image_config_free)

/* The descriptor of the layer titled `title`, or NULL. */
const struct cvm_descriptor *cvm_manifest_layer(const struct cvm_manifest *m, const char *title);

#endif
