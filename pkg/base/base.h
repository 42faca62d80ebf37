/* Public header of pkg/base: errors, cleanup, bounded buffers, logging, paths. */
#ifndef CVM_BASE_H
#define CVM_BASE_H

#include "buf.h"
#include "cleanup.h"
#include "clock.h"
#include "dlib.h"
#include "error.h"
#include "log.h"
#include "path.h"
#include "sha256.h"
#include "shown.h"

CVM_DEFINE_CLEANUP(struct cvm_error *, cvm_error_free)

#endif
