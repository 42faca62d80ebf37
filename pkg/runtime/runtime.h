/* Public interface of pkg/runtime: turns what the user names (today an Intravisor-style
 * monitor YAML, specs/monitor-yaml.md) into the plain deployment spec the monitor takes. */
#ifndef CVM_RUNTIME_H
#define CVM_RUNTIME_H

#include <stddef.h>

#include "monitor.h"

struct cvm_error;

#define CVM_CONFIG_MAX_YAML (1u << 20)      /* a deployment YAML larger than 1 MiB is refused */
#define CVM_CONFIG_MAX_RUNTIME (256u << 20) /* likewise a runtime file over 256 MiB */
#define CVM_CONFIG_MAX_LDSO (64u << 20)     /* an ldso over 64 MiB */
#define CVM_CONFIG_MAX_ROOTFS (4ULL << 30)  /* a root.cpio over 4 GiB */

enum cvm_config_flags {
    CVM_CONFIG_NO_FILES = 1 << 0, /* parse and resolve only: do not read runtime files */
    /* A build file or an image's deployment manifest (specs/image-format.md §3): every path
     * must stay inside the folder. */
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

/* Resolved paths: cVM i's runtime; the ldso and the rootfs (NULL if absent). */
const char *cvm_monitor_config_runtime_path(const struct cvm_monitor_config *cfg, size_t i);
const char *cvm_monitor_config_ldso_path(const struct cvm_monitor_config *cfg);
const char *cvm_monitor_config_rootfs_path(const struct cvm_monitor_config *cfg);

/* Reads the ldso and the rootfs the config names (a folder is packed as newc cpio; a file must
 * pass specs/image-format.md §4's checks) and points its spec at them. */
int cvm_monitor_config_read_files(struct cvm_monitor_config *cfg, struct cvm_error **err);

/* Points cVM i at runtime bytes the caller keeps alive (after CVM_CONFIG_NO_FILES). */
void cvm_monitor_config_set_runtime(struct cvm_monitor_config *cfg, size_t i, const uint8_t *elf,
                                    size_t len);

#endif
