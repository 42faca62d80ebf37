/* Bounded byte buffers: every untrusted input is read through one with a mandatory maximum. */
#ifndef CVM_BASE_BUF_H
#define CVM_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct cvm_error;

struct cvm_buf {
    uint8_t *data; /* NUL-terminated after data[len] for convenience; never counted in len */
    size_t len;
    size_t cap;
    size_t max; /* appends that would exceed max fail with CVM_E_LIMIT */
};

void cvm_buf_init(struct cvm_buf *b, size_t max);
void cvm_buf_release(struct cvm_buf *b);
/* Makes room for `extra` more bytes (within max) so they can be written at data + len. */
int cvm_buf_reserve(struct cvm_buf *b, size_t extra, struct cvm_error **err);
int cvm_buf_append(struct cvm_buf *b, const void *data, size_t len, struct cvm_error **err);

/* Reads a whole file (relative to dirfd, AT_FDCWD for none) into *b, which must be fresh.
 * Files larger than b->max fail with CVM_E_LIMIT naming the file; *b is empty on failure. */
int cvm_buf_read_file(struct cvm_buf *b, int dirfd, const char *path, struct cvm_error **err);

/* The same for an open file, read from its current offset; `path` names it in messages. */
int cvm_buf_read_fd(struct cvm_buf *b, int fd, const char *path, struct cvm_error **err);

#endif
