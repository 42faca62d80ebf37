/* The options run and create share (specs/cli.md): what to pull, how to verify, the
 * application's arguments and environment, heap mode, attestation, detaching. */
#ifndef CVMCTL_RUN_OPTIONS_H
#define CVMCTL_RUN_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "attest.h"
#include "image-cli.h"
#include "monitor.h"
#include "registry-cli.h"

#define RUN_ARGS_MAX 4096 /* arguments given after the image */
#define RUN_ENV_MAX 4096  /* -e and --env-file entries together */
#define RUN_ENV_FILE_MAX (1u << 20)

enum run_pull { PULL_MISSING, PULL_ALWAYS, PULL_NEVER };

struct run_options {
    enum run_pull pull;
    bool verify;
    struct cvmctl_trust trust;
    struct cvmctl_registry_opts ro;
    struct cvm_pull_options po;
    struct cvm_platform platform;
    bool quiet;
    unsigned timeout;
    enum cvm_heap_mode heap;              /* --heap, else the image's */
    char nonce[CVM_ATTEST_NONCE_MAX + 1]; /* "" without --attest-nonce */
    const char *attest_out;
    bool detach;
    const char *name; /* --name, else NULL */
    bool auto_remove;
    /* Environment entries "KEY=VALUE", in the order given; the strings live in argv or in
     * env_storage. */
    const char **env;
    size_t n_env;
    char **env_storage;
    size_t n_env_storage;
};

void cvmctl_run_options_release(struct run_options *o);
/* Parses argv for cmd (run or create): -1 when the command should go on (optind then names
 * the image), else the exit status (help printed, or misuse reported). */
int cvmctl_run_options_parse(const struct cvmctl_command *cmd, int argc, char **argv,
                             struct run_options *o);
/* The application's environment: vm's, with each given KEY replacing its entry (malloc'd
 * array of *ret_n strings, NULL on ENOMEM). */
const char **cvmctl_run_env(const struct cvm_vm_spec *vm, const struct run_options *o,
                            size_t *ret_n);

#endif
