/* Public interface of pkg/image: references, digests, the OCI layout store, manifests and
 * configs, cpio, layer compression, signing, trust policy, verified signatures and layout
 * tars. */
#ifndef CVM_IMAGE_H
#define CVM_IMAGE_H

#include "auth-challenge.h"
#include "cpio.h"
#include "credentials.h"
#include "digest.h"
#include "image-check.h"
#include "image-index.h"
#include "layout-tar.h"
#include "manifest.h"
#include "policy.h"
#include "reference.h"
#include "registry.h"
#include "sign.h"
#include "signature.h"
#include "store.h"
#include "transfer.h"
#include "verify-memo.h"
#include "zstd-codec.h"

#endif
