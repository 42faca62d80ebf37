/* Public interface of pkg/runtime: turns what the user names (today an Intravisor-style
 * monitor YAML, specs/monitor-yaml.md) into the plain deployment spec the monitor takes. */
#ifndef CVM_RUNTIME_H
#define CVM_RUNTIME_H

#include <stddef.h>

#include "monitor.h"

struct cvm_error;

#define CVM_CONFIG_MAX_YAML (1u << 20)      /* a deployment YAML larger than 1 MiB is refused */
#define CVM_CONFIG_MAX_RUNTIME (256u << 20) /* likewise a runtime file over 256 MiB */

enum cvm_config_flags {
    CVM_CONFIG_NO_FILES = 1 << 0, /* parse and resolve only: do not read runtime files */
    /* A build file or an image's deployment manifest (specs/image-format.md §3): also accepts
     * the top-level 'ldso' and 'rootfs' paths, and every path must stay inside the folder. */
    CVM_CONFIG_IMAGE = 1 << 1,
};

/* A parsed deployment. `spec` points into memory the config owns. */
struct cvm_monitor_config {
    struct cvm_deploy_spec spec;
    struct cvm_config_storage *storage;
};

/* Reads and parses path; relative runtime paths resolve against path's folder. */
int cvm_monitor_config_load(const char *path, unsigned flags, struct cvm_monitor_config **ret,
                            struct cvm_error **err);

/* Parses YAML text; `display` names it in messages, `base_dir` anchors relative paths. */
int cvm_monitor_config_parse(const char *text, size_t len, const char *display,
                             const char *base_dir, unsigned flags, struct cvm_monitor_config **ret,
                             struct cvm_error **err);

void cvm_monitor_config_free(struct cvm_monitor_config *cfg);

/* Resolved paths: cVM i's runtime; the ldso and rootfs of CVM_CONFIG_IMAGE (NULL if absent). */
const char *cvm_monitor_config_runtime_path(const struct cvm_monitor_config *cfg, size_t i);
const char *cvm_monitor_config_ldso_path(const struct cvm_monitor_config *cfg);
const char *cvm_monitor_config_rootfs_path(const struct cvm_monitor_config *cfg);

/* Points cVM i at runtime bytes the caller keeps alive (after CVM_CONFIG_NO_FILES). */
void cvm_monitor_config_set_runtime(struct cvm_monitor_config *cfg, size_t i, const uint8_t *elf,
                                    size_t len);

#endif
