/* Public interface of pkg/monitor: the trusted core that deploys and runs cVMs.
 * It receives plain structs; it parses no YAML or JSON and prints nothing. */
#ifndef CVM_MONITOR_H
#define CVM_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi/hostcalls.h"

struct cvm_buf;
struct cvm_error;

#include "sha256.h"
#define CVM_CALLBACK_MONITOR (-1) /* callback_out target: the monitor itself */
#define CVM_WAIT_JOIN (-1)        /* wait_seconds: join this cVM before starting the next */
#define CVM_CAPFILE_NAME_MAX CVM_HOSTCALL_NAME_MAX
#define CVM_HEAP_NAME_MAX 63               /* a heap group's name, as a cVM's */
#define CVM_MAX_HEAPS 16                   /* shared heaps of one deployment */
#define CVM_HEAP_MAX_SIZE (64ULL << 30)    /* bytes of one shared heap */
#define CVM_HEAP_SHARED_SIZE (64ULL << 20) /* the heap CVM_HEAP_SHARED adds to a spec of none */
#define CVM_HEAP_SHARED_NAME "shared"      /* and its name */

/* What a cVM's runtime is (specs/hostcall-abi.md). CVM_ABI_CVM: a runtime the monitor loads,
 * relocates and starts with a boot block; it calls the monitor through hostcalls. CVM_ABI_LINUX:
 * an unmodified Linux program (a static PIE, or a dynamic PIE run by the deployment's ldso)
 * started as Linux starts a process; its syscalls are trapped and served by its callback_out
 * cVM (specs/hostcall-abi.md §7). */
enum cvm_vm_abi {
    CVM_ABI_CVM = 0,
    CVM_ABI_LINUX,
};

/* One cVM of a deployment. Strings and buffers stay owned by the caller. */
struct cvm_vm_spec {
    const char *name;
    const char *runtime_name; /* file name, for messages and callback lookup */
    const uint8_t *runtime;   /* the runtime ELF file's bytes */
    size_t runtime_len;
    const char *const *argv; /* argc strings; argv[0] is conventionally the runtime name */
    size_t argc;
    const char *const *envp; /* envc "KEY=VALUE" strings */
    size_t envc;
    uint64_t base; /* window [base, base + size), page-aligned */
    uint64_t size;
    int callback_out; /* index of the cVM serving this one's hostcalls, or -1 */
    int callback_in;  /* index of the inner cVM (hostcall 700), or -1 */
    int wait_seconds; /* CVM_WAIT_JOIN, 0 (start the next at once) or N seconds */
    /* true: a private zero-filled heap inside the window. false: the heap is the shared
     * region of the heap group named heap_group (specs/monitor-yaml.md §5). */
    bool clean_room;
    const char *heap_group; /* a name in cvm_deploy_spec.heaps; NULL with clean_room */
    enum cvm_vm_abi abi;
};

/* A heap region shared by the cVMs whose heap_group names it: [base, base + size), outside
 * every window, zero-filled at deploy (specs/hostcall-abi.md §2). */
struct cvm_heap_spec {
    const char *name; /* 1-63 of [A-Za-z0-9._-], starting with a letter or digit */
    uint64_t base;    /* page-aligned; 0: placed by the monitor above every window */
    uint64_t size;    /* page-aligned, 4 KiB to CVM_HEAP_MAX_SIZE */
};

/* Which heaps a deployment gets (cvmctl run --heap): as its spec declares them, every cVM
 * clean-room, or shared (the spec's heap groups; a spec declaring none gets one heap group
 * CVM_HEAP_SHARED_NAME of CVM_HEAP_SHARED_SIZE bytes holding every cVM, placed as a heap
 * without a base is). Zero, the default, is as declared. */
enum cvm_heap_mode {
    CVM_HEAP_DECLARED = 0,
    CVM_HEAP_CLEAN_ROOM,
    CVM_HEAP_SHARED,
};

/* A CAP_File declared by the deployment: size bytes, starting with data. */
struct cvm_capfile_spec {
    const char *name;
    uint64_t size;
    const uint8_t *data;
    size_t data_len; /* <= size */
};

struct cvm_deploy_spec {
    const struct cvm_vm_spec *vms;
    size_t n_vms;
    const struct cvm_capfile_spec *capfiles;
    size_t n_capfiles;
    const struct cvm_heap_spec *heaps; /* shared heaps, named by cVMs' heap_group */
    size_t n_heaps;
    enum cvm_heap_mode heap_mode; /* set with cvm_deploy_spec_set_heap_mode */
    /* Deployment-wide files (specs/image-format.md §4): musl's dynamic loader and the root
     * file system archive, each optional (NULL) and measured into every cVM. */
    const uint8_t *ldso;
    size_t ldso_len;
    const uint8_t *rootfs; /* a newc cpio archive */
    size_t rootfs_len;
    int stdout_fd; /* where hostcall 1 writes; -1 for STDOUT_FILENO */
};

/* Sets spec's heap mode (cvmctl run --heap). Returns whether the heaps now differ from what
 * spec declares, that is whether the deployment measures differently from spec as built. */
bool cvm_deploy_spec_set_heap_mode(struct cvm_deploy_spec *spec, enum cvm_heap_mode mode);

/* What the monitor reports of one deployed cVM. */
struct cvm_vm_info {
    const char *name;
    unsigned id;
    uint64_t base, size;
    uint64_t image_size;           /* the measured span */
    uint64_t heap_base, heap_size; /* as its boot block gives them */
    const char *heap_group;        /* NULL: clean-room */
    uint64_t deploy_ns;            /* reserve + load + measure + relocate + lay out */
    uint8_t runtime_measurement[CVM_SHA256_LEN];
    bool has_syscall_handler;
};

enum cvm_vm_outcome {
    CVM_VM_NOT_STARTED,
    CVM_VM_EXITED,  /* exit hostcall or return from the entry point */
    CVM_VM_FAULTED, /* a signal on one of its threads */
    CVM_VM_STOPPED, /* stopped by the monitor: timeout or another cVM's fault */
};

struct cvm_vm_result {
    enum cvm_vm_outcome outcome;
    int exit_code; /* CVM_VM_EXITED */
    int signal;    /* CVM_VM_FAULTED */
    uint64_t fault_addr;
    uint64_t fault_ip;
    const char *fault_cvm; /* the cVM whose code was running (may differ when nested) */
};

struct cvm_run_options {
    uint64_t timeout_ms; /* 0: none; else stop every cVM after this long */
};

struct cvm_deployment;

/* Name of the backend cVMs run on, and whether it enforces windows in hardware. */
const char *cvm_monitor_backend_name(void);
bool cvm_monitor_backend_isolates(void);

/* Reserves every window, loads, measures and relocates each runtime, lays out stacks,
 * heap and boot blocks, and links callbacks. Nothing runs yet. */
int cvm_deployment_create(const struct cvm_deploy_spec *spec, struct cvm_deployment **ret,
                          struct cvm_error **err);

size_t cvm_deployment_vm_count(const struct cvm_deployment *d);
const struct cvm_vm_info *cvm_deployment_vm_info(const struct cvm_deployment *d, size_t i);

/* Starts the cVMs in order, honouring each one's wait, and returns when all have ended
 * (or one faulted, or the timeout passed). Per-cVM results are then available. Runs once. */
int cvm_deployment_run(struct cvm_deployment *d, const struct cvm_run_options *opts,
                       struct cvm_error **err);
const struct cvm_vm_result *cvm_deployment_vm_result(const struct cvm_deployment *d, size_t i);
bool cvm_deployment_timed_out(const struct cvm_deployment *d);

/* Asks a running deployment to stop, from another thread: cvm_deployment_run then stops
 * every cVM as it does at a timeout (their outcome CVM_VM_STOPPED) and returns. A deployment
 * not yet run starts nothing. Not for signal handlers. */
void cvm_deployment_stop(struct cvm_deployment *d);

/* Stops anything still running, releases every window. NULL is a no-op. */
void cvm_deployment_free(struct cvm_deployment *d);

/* Runtime measurement of an ELF file without running it (specs/measurement.md §1): loads it
 * into a scratch window with the deploy loader and hashes the span. abi: how the file is
 * loaded (an ldso is a Linux program, CVM_ABI_LINUX). */
int cvm_runtime_measure(const uint8_t *elf, size_t len, const char *name, enum cvm_vm_abi abi,
                        uint8_t ret_digest[CVM_SHA256_LEN], struct cvm_error **err);

/* What a deployment measures to (specs/measurement.md §2-3). */
struct cvm_measurement {
    size_t n_vms;
    uint8_t (*runtime)[CVM_SHA256_LEN]; /* per cVM: the runtime measurement */
    uint8_t (*cvm)[CVM_SHA256_LEN];     /* per cVM: the hash of its measurement log */
    bool has_ldso, has_rootfs;
    uint8_t ldso[CVM_SHA256_LEN];   /* the ldso's runtime measurement */
    uint8_t rootfs[CVM_SHA256_LEN]; /* SHA-256 of the rootfs archive's bytes */
    uint8_t deployment[CVM_SHA256_LEN];
};

/* The measurement log of cVM i (specs/measurement.md §2), given its runtime measurement and
 * the deployment's ldso measurement and rootfs digest (NULL when absent); appended to *log. */
int cvm_measure_vm_log(const struct cvm_deploy_spec *spec, size_t i,
                       const uint8_t runtime[CVM_SHA256_LEN], const uint8_t *ldso,
                       const uint8_t *rootfs, struct cvm_buf *log, struct cvm_error **err);

/* The deployment's log (specs/measurement.md §3) from its cVMs' measurements. */
int cvm_measure_deployment_log(const struct cvm_deploy_spec *spec,
                               const uint8_t (*cvm)[CVM_SHA256_LEN], struct cvm_buf *log,
                               struct cvm_error **err);

/* The expected measurement of spec, computed without running anything: the runtimes and the
 * ldso go through the deploy loader (cvm_runtime_measure). Free with cvm_measurement_release. */
int cvm_measure_spec(const struct cvm_deploy_spec *spec, struct cvm_measurement *ret,
                     struct cvm_error **err);
void cvm_measurement_release(struct cvm_measurement *m);

/* The measurement of a created deployment from what deploy placed in memory: the runtime
 * measurements taken as each image was copied into its window, the deployment's own copy of
 * the rootfs, and spec's args, env, files (spec: the one the deployment was created from). */
int cvm_deployment_measure(const struct cvm_deployment *d, const struct cvm_deploy_spec *spec,
                           struct cvm_measurement *ret, struct cvm_error **err);

#endif
