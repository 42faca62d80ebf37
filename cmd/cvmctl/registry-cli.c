/* The options push, pull, login and logout share: TLS, certificates and credentials. */
#include "registry-cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "image-cli.h"

void cvmctl_registry_opts_init(struct cvmctl_registry_opts *ro)
{
    memset(ro, 0, sizeof(*ro));
    ro->o.http.tls_verify = true;
    ro->o.http.user_agent = "cvmctl/" CVMCTL_VERSION;
}

int cvmctl_registry_option(struct cvmctl_registry_opts *ro, const struct cvmctl_command *cmd, int c,
                           char *arg)
{
    switch (c) {
    case REGISTRY_OPT_TLS_VERIFY:
        if (strcmp(arg, "true") == 0) {
            ro->o.http.tls_verify = true;
            ro->o.allow_http = false;
        } else if (strcmp(arg, "false") == 0) {
            ro->o.http.tls_verify = false;
            ro->o.allow_http = true;
        } else {
            cvmctl_misuse(cmd, "--tls-verify takes true or false, not '%s'", arg);
            return -1;
        }
        return 1;
    case REGISTRY_OPT_CERT_DIR: ro->o.http.cert_dir = arg; return 1;
    case REGISTRY_OPT_AUTHFILE:
        ro->authfile = arg;
        ro->auth_files[0] = arg;
        ro->auth_files[1] = NULL;
        ro->o.auth_files = ro->auth_files;
        return 1;
    case REGISTRY_OPT_CREDS: {
        /* Split in place: optarg points into argv, which outlives the command. */
        char *colon = strchr(arg, ':');
        if (colon)
            *colon = '\0';
        if (!arg[0]) {
            cvmctl_misuse(cmd, "--creds needs a user name: --creds <user[:password]>");
            return -1;
        }
        ro->o.username = arg;
        ro->o.password = colon ? colon + 1 : "";
        return 1;
    }
    default: return 0;
    }
}
