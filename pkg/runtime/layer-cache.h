/* A content-addressed cache of decompressed layers in the store root
 * (specs/image-format.md §6): each compressed layer is unpacked once and mapped read-only on
 * every later run. */
#ifndef CVM_RUNTIME_LAYER_CACHE_H
#define CVM_RUNTIME_LAYER_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

struct cvm_descriptor;
struct cvm_error;
struct cvm_store;

/* Entries live in ROOT/CVM_LAYER_CACHE_DIR/<hex of the compressed layer's digest>; they are
 * written as ROOT/cache/.tmp-* first. */
#define CVM_LAYER_CACHE_DIR "cache/sha256"
/* Every entry ends with this trailer: magic, decompressed size (u64 little-endian), the
 * compressed layer's digest and the decompressed bytes' digest. */
#define CVM_LAYER_CACHE_MAGIC "cvmlc\0\0\1"
#define CVM_LAYER_CACHE_TRAILER_SIZE (8 + 8 + 2 * CVM_DIGEST_LEN)
/* Entries up to this size are mapped with MAP_POPULATE (page tables filled in one call, no
 * fault per 4 KiB page); larger ones are mapped lazily, so a huge rootfs costs only what is
 * touched. Every byte of runtimes and ldso is measured, so populating them is never waste. */
#define CVM_LAYER_CACHE_POPULATE_MAX (256u << 20)

enum cvm_layer_cache_flags {
    /* Re-hash a hit's bytes against the digest its trailer records; a mismatch is treated as
     * a stale entry and refilled. Without it a hit costs O(1) checks, not O(size). */
    CVM_LAYER_CACHE_VERIFY = 1 << 0,
};

enum cvm_layer_source {
    CVM_LAYER_HIT = 1,  /* a valid entry was mapped; nothing was decompressed */
    CVM_LAYER_FILLED,   /* there was no entry: decompressed and stored */
    CVM_LAYER_REFILLED, /* the entry was invalid (short, foreign, bad digest): replaced */
    CVM_LAYER_UNCACHED, /* the store had no room for the entry: decompressed in memory */
};

/* The decompressed bytes of a layer: read-only, valid until cvm_layer_map_release. */
struct cvm_layer_map {
    const uint8_t *data; /* not NUL-terminated (unlike cvm_buf) */
    size_t len;
    struct cvm_digest digest; /* SHA-256 of data[0..len) */
    enum cvm_layer_source source;
    void *base; /* the mapping (or heap copy for CVM_LAYER_UNCACHED) */
    size_t map_len;
};

/* The decompressed content of the zstd-compressed layer `layer` of store s, at most max bytes.
 * A miss reads the blob (its digest and its descriptor's size checked), decompresses it with
 * the bounded codec and stores the entry (temp file, fsync, rename). A hit checks the entry's
 * trailer (size, digest of the compressed layer) and that the layer's blob is still in the
 * store; an entry that fails the checks is never used but replaced. `display` names the layer
 * in messages ("layer 'x'"). flags: enum cvm_layer_cache_flags. */
int cvm_layer_cache_open(struct cvm_store *s, const struct cvm_descriptor *layer, size_t max,
                         const char *display, unsigned flags, struct cvm_layer_map *ret,
                         struct cvm_error **err);

/* Unmaps; a zeroed or released map is a no-op. */
void cvm_layer_map_release(struct cvm_layer_map *m);

#endif
