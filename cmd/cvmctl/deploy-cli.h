/* What monitor and run print about a deployment: its cVMs, the backend, how it ended. */
#ifndef CVMCTL_DEPLOY_CLI_H
#define CVMCTL_DEPLOY_CLI_H

#include "cli.h"

struct cvm_deployment;

/* On stderr: that the backend does not enforce windows, when it does not. */
void cvmctl_warn_backend(void);
/* On stderr: one line per cVM with its window, deploy time and runtime measurement. */
void cvmctl_print_deployed(const struct cvm_deployment *d);
/* The exit status of a deployment that ran: 128+N when a cVM died of signal N (reported on
 * stderr), 137 after the timeout, else the last cVM's exit code. */
int cvmctl_deployment_status(const struct cvm_deployment *d, unsigned timeout);

#endif
