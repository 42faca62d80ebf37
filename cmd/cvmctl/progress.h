/* The transfer progress push and pull print on stderr: on a terminal a live line per blob in
 * flight (bytes, rate, ETA) under the log of finished ones; plain lines otherwise; nothing
 * when quiet. */
#ifndef CVMCTL_PROGRESS_H
#define CVMCTL_PROGRESS_H

#include <stdbool.h>

struct cvm_transfer_progress;
struct cvmctl_progress;

/* verb starts each blob's line ("Copying", as skopeo says). NULL when out of memory. */
struct cvmctl_progress *cvmctl_progress_new(bool quiet, const char *verb);
const struct cvm_transfer_progress *cvmctl_progress_sink(struct cvmctl_progress *p);
void cvmctl_progress_free(struct cvmctl_progress *p);

#endif
