/* Options shared by the commands that talk to registries (push, pull, login, logout), in
 * podman's spelling. */
#ifndef CVMCTL_REGISTRY_CLI_H
#define CVMCTL_REGISTRY_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "image.h"

/* getopt_long codes of the shared options (beyond any short option letter). */
enum {
    REGISTRY_OPT_TLS_VERIFY = 1000,
    REGISTRY_OPT_CERT_DIR,
    REGISTRY_OPT_AUTHFILE,
    REGISTRY_OPT_CREDS,
};

#define CVMCTL_REGISTRY_LONG_OPTIONS                                                               \
    {"tls-verify", required_argument, NULL, REGISTRY_OPT_TLS_VERIFY},                              \
        {"cert-dir", required_argument, NULL, REGISTRY_OPT_CERT_DIR},                              \
        {"authfile", required_argument, NULL, REGISTRY_OPT_AUTHFILE},                              \
    {                                                                                              \
        "creds", required_argument, NULL, REGISTRY_OPT_CREDS                                       \
    }

#define CVMCTL_REGISTRY_USAGE                                                                      \
    "  --tls-verify=<bool>    check the registry's TLS certificate (default true); false",         \
        "                         also allows plain HTTP",                                         \
        "  --cert-dir <dir>       trust the CA certificates (*.crt) in <dir> too",                 \
        "  --authfile <file>      credentials file (default: $REGISTRY_AUTH_FILE, then",           \
        "                         ~/.config/cvmctl/auth.json, containers' auth.json, docker's",    \
        "                         config.json)",                                                   \
        "  --creds <user[:pass]>  credentials for this command only"

struct cvmctl_registry_opts {
    struct cvm_registry_options o;
    const char *authfile;
    const char *auth_files[2];
};

void cvmctl_registry_opts_init(struct cvmctl_registry_opts *ro);
/* Handles one of the shared options; 1 when c was one, 0 when not, -1 after a misuse
 * message (the command then exits 125). */
int cvmctl_registry_option(struct cvmctl_registry_opts *ro, const struct cvmctl_command *cmd, int c,
                           char *arg);

/* Pulls ref into the store with progress on stderr (unless quiet): pull's work, for run too. */
int cvmctl_pull(struct cvm_store *s, const struct cvm_reference *ref,
                const struct cvmctl_registry_opts *ro, const struct cvm_pull_options *po,
                bool quiet, struct cvm_pull_result *ret, struct cvm_error **err);

#endif
