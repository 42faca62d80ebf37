/* Hostcalls 900/901 (specs/hostcall-abi.md §4): a cVM, normally a LibOS filling its ramfs,
 * reads the deployment's root.cpio from a read-only copy the monitor took at deploy time. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "base.h"
#include "hostcalls-impl.h"
#include "internal.h"

/* A read copies this much between checks for a stop request, so that a large archive does
 * not hold up the deployment's teardown. */
#define ROOTFS_CHUNK (1UL << 20)

int cvm_rootfs_attach(struct cvm_deployment *d, const uint8_t *data, size_t len,
                      struct cvm_error **err)
{
    if (!data)
        return 0;
    if (len > CVM_MAX_ROOTFS)
        return cvm_error_set(err, CVM_E_LIMIT, "rootfs archive is %zu bytes, at most %llu allowed",
                             len, (unsigned long long)CVM_MAX_ROOTFS);
    /* At least one page, so that an empty archive is still present (900 returns 0). */
    size_t map = len ? (len + CVM_PAGE - 1) & ~(CVM_PAGE - 1) : CVM_PAGE;
    /* Populated up front: every byte is written now, and one populate beats a fault a page. */
    void *mem =
        mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (mem == MAP_FAILED)
        return cvm_error_set_errno(err, errno, "cannot map %zu bytes for the rootfs archive", len);
    if (len)
        memcpy(mem, data, len);
    /* Guests see the bytes handed to the deployment for its whole life; nothing writes them. */
    if (mprotect(mem, map, PROT_READ) < 0) {
        int e = errno;
        munmap(mem, map);
        return cvm_error_set_errno(err, e, "cannot protect the rootfs archive");
    }
    d->rootfs = mem;
    d->rootfs_len = len;
    d->rootfs_map_len = map;
    return 0;
}

void cvm_rootfs_release(struct cvm_deployment *d)
{
    if (!d->rootfs)
        return;
    munmap((void *)d->rootfs, d->rootfs_map_len);
    d->rootfs = NULL;
    d->rootfs_len = d->rootfs_map_len = 0;
}

long cvm_hc_rootfs_size(struct cvm_thread *t, const long a[6])
{
    (void)a;
    const struct cvm_deployment *d = t->dep;
    return d->rootfs ? (long)d->rootfs_len : -ENOENT;
}

/* Checks in the order the spec gives: no archive, then the range, then the buffer. */
long cvm_hc_rootfs_read(struct cvm_thread *t, const long a[6])
{
    const struct cvm_deployment *d = t->dep;
    uintptr_t buf = (uintptr_t)a[0];
    uint64_t len = (uint64_t)a[1];
    uint64_t off = (uint64_t)a[2];
    if (!d->rootfs)
        return -ENOENT;
    /* Negative values arrive as huge unsigned ones and fail here; no sum can overflow. */
    if (off > d->rootfs_len || len > d->rootfs_len - off)
        return -EINVAL;
    if (!cvm_guest_ptr(t->cur, buf, len))
        return -EFAULT;
    for (uint64_t done = 0; done < len;) {
        if (cvm_thread_should_stop(t))
            return -EINTR;
        size_t n = len - done < ROOTFS_CHUNK ? (size_t)(len - done) : ROOTFS_CHUNK;
        long r = cvm_guest_write(t->cur, buf + done, d->rootfs + off + done, n);
        if (r < 0)
            return r;
        done += n;
    }
    return (long)len;
}
