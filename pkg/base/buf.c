/* Bounded buffers and bounded whole-file reads. */
#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "error.h"

void cvm_buf_init(struct cvm_buf *b, size_t max)
{
    *b = (struct cvm_buf){.max = max};
}

void cvm_buf_release(struct cvm_buf *b)
{
    free(b->data);
    size_t max = b->max;
    *b = (struct cvm_buf){.max = max};
}

static int buf_reserve(struct cvm_buf *b, size_t need, struct cvm_error **err)
{
    if (need + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need + 1)
        cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return cvm_error_set_errno(err, ENOMEM, "cannot grow buffer to %zu bytes", cap);
    b->data = p;
    b->cap = cap;
    return 0;
}

int cvm_buf_reserve(struct cvm_buf *b, size_t extra, struct cvm_error **err)
{
    if (extra > b->max || b->len > b->max - extra)
        return cvm_error_set(err, CVM_E_LIMIT, "input exceeds the limit of %zu bytes", b->max);
    return buf_reserve(b, b->len + extra, err);
}

int cvm_buf_append(struct cvm_buf *b, const void *data, size_t len, struct cvm_error **err)
{
    if (len > b->max || b->len > b->max - len)
        return cvm_error_set(err, CVM_E_LIMIT, "input exceeds the limit of %zu bytes", b->max);
    int r = buf_reserve(b, b->len + len, err);
    if (r < 0)
        return r;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
    return 0;
}

int cvm_buf_read_file(struct cvm_buf *b, int dirfd, const char *path, struct cvm_error **err)
{
    CVM_AUTOCLOSE int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cvm_error_set_errno(err, errno, "cannot open '%s'", path);
    return cvm_buf_read_fd(b, fd, path, err);
}

int cvm_buf_read_fd(struct cvm_buf *b, int fd, const char *path, struct cvm_error **err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return cvm_error_set_errno(err, errno, "cannot stat '%s'", path);
    if (!S_ISREG(st.st_mode))
        return cvm_error_set(err, CVM_E_FORMAT, "'%s' is not a regular file", path);
    if ((uint64_t)st.st_size > b->max)
        return cvm_error_set(err, CVM_E_LIMIT, "'%s' is %lld bytes, over the limit of %zu", path,
                             (long long)st.st_size, b->max);
    int r = buf_reserve(b, (size_t)st.st_size, err);
    if (r < 0)
        return r;
    for (;;) {
        if (b->len == b->cap - 1) {
            /* The file grew after fstat; keep reading up to the limit. */
            if (b->len >= b->max) {
                cvm_buf_release(b);
                return cvm_error_set(err, CVM_E_LIMIT, "'%s' exceeds the limit of %zu bytes", path,
                                     b->max);
            }
            r = buf_reserve(b, b->len + 4096 > b->max ? b->max : b->len + 4096, err);
            if (r < 0) {
                cvm_buf_release(b);
                return r;
            }
        }
        ssize_t n = read(fd, b->data + b->len, b->cap - 1 - b->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            cvm_buf_release(b);
            return cvm_error_set_errno(err, e, "cannot read '%s'", path);
        }
        if (n == 0)
            break;
        b->len += (size_t)n;
    }
    b->data[b->len] = 0;
    return 0;
}
