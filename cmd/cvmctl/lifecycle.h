/* Instances (specs/cli.md §4): the detached monitor that create and run -d start, and the
 * commands that start, inspect, signal and delete it. */
#ifndef CVMCTL_LIFECYCLE_H
#define CVMCTL_LIFECYCLE_H

#include <stdbool.h>

#include "cli.h"

struct cvm_error;
struct cvm_instance_state;

/* What create and run -d hand to the monitor. prepare runs in the monitor, does everything
 * up to the start and records the image, digest and measurement in st; execute runs the
 * deployment once started and returns its exit status. */
struct cvmctl_launch {
    const char *root;
    const char *name; /* NULL: a generated id */
    bool auto_remove;
    bool start; /* run -d: start at once */
    int (*prepare)(void *ctx, struct cvm_instance_state *st, struct cvm_error **err);
    int (*execute)(void *ctx);
    /* Called from another thread while execute runs: stop the deployment, execute returns. */
    void (*stop)(void *ctx);
    void *ctx;
};

/* Reserves the instance, starts its monitor in the background and waits until the instance
 * is created (and, with start, started); prints its id. Returns the exit status. */
int cvmctl_launch(const struct cvmctl_launch *l);

#endif
