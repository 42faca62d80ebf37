/* zstd compression of image layers (specs/image-format.md §3): deterministic output, bounded
 * decompression of untrusted frames. */
#ifndef CVM_IMAGE_ZSTD_CODEC_H
#define CVM_IMAGE_ZSTD_CODEC_H

#include <stddef.h>

struct cvm_buf;
struct cvm_error;

/* The level every layer is compressed with; part of what makes builds reproducible. */
#define CVM_ZSTD_LEVEL 3

/* Compresses data as one zstd frame (with content size and checksum) appended to *out. */
int cvm_zstd_compress(const void *data, size_t len, struct cvm_buf *out, struct cvm_error **err);

/* Decompresses one or more concatenated frames appended to *out; output beyond out->max,
 * a truncated frame or trailing garbage is an error naming `display`. */
int cvm_zstd_decompress(const void *data, size_t len, const char *display, struct cvm_buf *out,
                        struct cvm_error **err);

#endif
