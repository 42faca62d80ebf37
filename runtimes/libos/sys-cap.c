/* The /cap devices (specs/libos.md §8): CAP_Files on /cap/cf1, /cap/cf2 and streams on
 * /cap/ch1../cap/ch4, driven by ioctl, read and write and served with hostcalls 405, 406, 409-411
 * and 413. The program's buffers go to the monitor as they are: nothing is copied on the way. */
#include "cvm-cap.h"
#include "libos.h"

#define EBUSY 16
#define ENOTTY 25
#define ENOSPC 28
#define ESPIPE 29
#define ENAMETOOLONG 36
#define EDESTADDRREQ 89
#define ENOBUFS 105
#define EISCONN 106
#define ENOTCONN 107

#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

#define CAP_NAME_MAX CVM_HOSTCALL_NAME_MAX /* bytes of a name, without its NUL */
#define CAP_QUEUE_MAX 64                   /* buffers one descriptor queues at once */
#define CAP_IO_MAX 0x7ffff000L             /* bytes of one read or write, as the ramfs's */
#define CAP_IOV_MAX 1024                   /* iovecs of one readv or writev */

/* What an open /cap device is bound to, by its first ioctl. */
enum cap_state {
    CF_OWNER,  /* ADVERTISE: the program's buffer, published under the owner's handle */
    CF_PROBED, /* PROBE: a handle to someone's CAP_File */
    CH_RECV,   /* POST: the receiving side of a stream, with its queue */
    CH_SEND,   /* CONNECT: a handle to send to a stream */
};

/* A buffer POST queued: its message's length lands in done (413), written by the monitor. */
struct cap_buf {
    uintptr_t addr;
    size_t size;
    unsigned done;
};

/* The state of one open description (ramfs_cap_fd's private word), in the LibOS's memory: the
 * monitor writes the done words. Under the lock, as every description is. */
struct cap_desc {
    struct cap_desc *prev, *next; /* every bound description, for unmapping and POST */
    enum cap_state state;
    bool revoked;       /* this LibOS withdrew the name (REVOKE, close, unmapping) */
    long handle;        /* the monitor's handle: the owner's for CF_OWNER and CH_RECV */
    size_t size;        /* CAP_Files: the bytes */
    int64_t off;        /* CAP_Files: where read and write go next */
    uintptr_t addr;     /* CF_OWNER: the advertised buffer, [addr, addr + size) */
    size_t head, count; /* CH_RECV: queue[head] is the oldest of count queued buffers */
    struct cap_buf queue[CAP_QUEUE_MAX];
    char name[CAP_NAME_MAX + 1]; /* CH_RECV: the stream every POST must name */
};

static struct cap_desc *descs;

/* ---- the program's arguments (under the lock) ------------------------------------------------ */

/* Copies the NUL-terminated name at uname into buf (CAP_NAME_MAX + 1 bytes), asking about at most
 * a page at a time and reading no byte past the NUL. */
static long copy_name(uintptr_t uname, char *buf)
{
    size_t i = 0;
    while (i <= CAP_NAME_MAX) {
        size_t chunk = LIBOS_PAGE - ((uname + i) & (LIBOS_PAGE - 1));
        if (chunk > CAP_NAME_MAX + 1 - i)
            chunk = CAP_NAME_MAX + 1 - i;
        if (!libos_user_ok(uname + i, chunk, false))
            return -EFAULT;
        const volatile char *s = (const volatile char *)(uname + i);
        for (size_t k = 0; k < chunk; k++, i++) {
            buf[i] = s[k];
            if (!buf[i])
                return 0;
        }
    }
    return -ENAMETOOLONG;
}

/* The ioctl argument and its name; out: the argument is written back too. */
static long get_ioc(uintptr_t uarg, bool out, struct cvm_cap_ioc *ioc, char *name)
{
    if (!libos_user_ok(uarg, sizeof(*ioc), false) ||
        (out && !libos_user_ok(uarg, sizeof(*ioc), true)))
        return -EFAULT;
    memcpy(ioc, (const void *)uarg, sizeof(*ioc));
    return copy_name((uintptr_t)ioc->name, name);
}

/* A buffer of 1 byte to CVM_STREAM_MSG_MAX the program may have read (and written). */
static long check_buf(const struct cvm_cap_ioc *ioc, bool write)
{
    if (ioc->size == 0 || ioc->size > CVM_STREAM_MSG_MAX)
        return -EINVAL;
    return libos_user_ok((uintptr_t)ioc->addr, ioc->size, write) ? 0 : -EFAULT;
}

/* ---- descriptions ---------------------------------------------------------------------------- */

static long desc_new(void **priv, enum cap_state state, struct cap_desc **ret)
{
    struct cap_desc *d = mm_alloc(&libos.mm, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->state = state;
    d->next = descs;
    if (descs)
        descs->prev = d;
    descs = d;
    *priv = d;
    *ret = d;
    return 0;
}

static void desc_free(struct cap_desc *d)
{
    if (d->prev)
        d->prev->next = d->next;
    else
        descs = d->next;
    if (d->next)
        d->next->prev = d->prev;
    mm_free(&libos.mm, d, sizeof(*d));
}

/* Withdraws what d owns (hostcall 411) and lets every reader sleeping on its queue go: each
 * done word leaves CVM_STREAM_WAITING before the wake, so that a reader not yet asleep does not
 * sleep either. Once 411 has returned the monitor writes none of the program's memory for d. */
static long desc_revoke(struct cap_desc *d)
{
    long r = cvm_hc(CAP_REVOKE, d->handle);
    d->revoked = true;
    for (size_t i = 0; i < d->count; i++) {
        unsigned *done = &d->queue[(d->head + i) % CAP_QUEUE_MAX].done;
        __atomic_store_n(done, 0, __ATOMIC_RELEASE);
        cvm_hc(FUTEX_WAKE, done, 0x7fffffffL);
    }
    d->count = 0;
    return r;
}

/* ramfs's cap_close: the last descriptor of a description is gone. What it owns is withdrawn,
 * so that no name outlives its descriptor and the monitor writes no memory the LibOS frees. */
void libos_cap_close(void *ctx, void *priv)
{
    (void)ctx;
    struct cap_desc *d = priv;
    if ((d->state == CF_OWNER || d->state == CH_RECV) && !d->revoked)
        (void)desc_revoke(d);
    desc_free(d);
}

/* ---- CAP_Files ------------------------------------------------------------------------------- */

static long cf_advertise(const struct ramfs_cap *c, uintptr_t uarg)
{
    if (*c->priv)
        return -EBUSY;
    struct cvm_cap_ioc ioc;
    char name[CAP_NAME_MAX + 1];
    long r = get_ioc(uarg, false, &ioc, name);
    if (r < 0)
        return r;
    if (ioc.rights == 0 || (ioc.rights & ~(unsigned long)(CVM_CAP_READ | CVM_CAP_WRITE)))
        return -EINVAL;
    if ((r = check_buf(&ioc, ioc.rights & CVM_CAP_WRITE)) < 0)
        return r;
    long h = cvm_hc(CAP_ADVERTISE, ioc.addr, ioc.size, name, ioc.rights);
    if (h < 0)
        return h;
    struct cap_desc *d;
    if ((r = desc_new(c->priv, CF_OWNER, &d)) < 0) {
        (void)cvm_hc(CAP_REVOKE, h);
        return r;
    }
    d->handle = h;
    d->addr = (uintptr_t)ioc.addr;
    d->size = ioc.size;
    return 0;
}

/* A name that is a stream or a CAP_Call is refused: its handle stays unused. */
static long cf_probe(const struct ramfs_cap *c, uintptr_t uarg)
{
    if (*c->priv)
        return -EBUSY;
    struct cvm_cap_ioc ioc;
    char name[CAP_NAME_MAX + 1];
    long r = get_ioc(uarg, true, &ioc, name);
    if (r < 0)
        return r;
    struct cvm_hc_cap out;
    long h = cvm_hc(CAP_PROBE, name, &out);
    if (h < 0)
        return h;
    if (!(out.rights & (CVM_CAP_READ | CVM_CAP_WRITE)) ||
        (out.rights & (CVM_CAP_CALL | CVM_CAP_STREAM)))
        return -EINVAL;
    struct cap_desc *d;
    if ((r = desc_new(c->priv, CF_PROBED, &d)) < 0)
        return r;
    d->handle = h;
    d->size = out.size;
    ioc.size = out.size;
    ioc.rights = out.rights;
    memcpy((void *)uarg, &ioc, sizeof(ioc));
    return 0;
}

/* One copy at off, cut at the CAP_File's end: 0 there for a read, -ENOSPC for a write. The
 * buffer is checked and the copy made under the lock, so its pages cannot change hands. */
static long cf_io(struct cap_desc *d, uintptr_t buf, size_t len, int64_t off, bool write)
{
    if (len > (size_t)CAP_IO_MAX)
        len = (size_t)CAP_IO_MAX;
    if (len == 0)
        return 0;
    if ((uint64_t)off >= d->size)
        return write ? -ENOSPC : 0;
    if (len > d->size - (size_t)off)
        len = d->size - (size_t)off;
    if (!libos_user_ok(buf, len, !write))
        return -EFAULT;
    return write ? cvm_hc(CAP_WRITE, d->handle, buf, len, off)
                 : cvm_hc(CAP_READ, d->handle, buf, len, off);
}

/* read, write, pread64, pwrite64, readv, writev and lseek on a CAP_File. */
static long cf_call(const struct ramfs_cap *c, long nr, const long a[6])
{
    struct cap_desc *d = *c->priv;
    bool write = nr == 1 || nr == 18 || nr == 20;
    if (nr != 8 && !(write ? c->write : c->read))
        return -EBADF;
    if (!d)
        return -ENOTCONN;
    if (nr == 17 || nr == 18) {
        if (a[3] < 0)
            return -EINVAL;
        return cf_io(d, (uintptr_t)a[1], (size_t)a[2], a[3], write);
    }
    if (nr == 0 || nr == 1) {
        long r = cf_io(d, (uintptr_t)a[1], (size_t)a[2], d->off, write);
        if (r > 0)
            d->off += r;
        return r;
    }
    if (nr == 8) {
        int whence = (int)a[2];
        int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? d->off : (int64_t)d->size;
        if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
            return -EINVAL;
        if ((a[1] > 0 && base > INT64_MAX - a[1]) || base + a[1] < 0)
            return -EINVAL;
        return d->off = base + a[1];
    }
    /* readv, writev: the iovecs in order, as many reads or writes, up to the first short one;
     * each is read once and its buffer checked as one read's or write's is. */
    struct {
        uintptr_t base;
        size_t len;
    } iov;
    long cnt = a[2];
    if (cnt < 0 || cnt > CAP_IOV_MAX)
        return -EINVAL;
    if (!libos_user_ok((uintptr_t)a[1], (size_t)cnt * sizeof(iov), false))
        return -EFAULT;
    long total = 0;
    for (long i = 0; i < cnt; i++) {
        memcpy(&iov, (const char *)a[1] + i * sizeof(iov), sizeof(iov));
        size_t len =
            iov.len < (size_t)(CAP_IO_MAX - total) ? iov.len : (size_t)(CAP_IO_MAX - total);
        long r = cf_io(d, iov.base, len, d->off, write);
        if (r < 0)
            return total ? total : r;
        total += r;
        d->off += r;
        if ((size_t)r < iov.len)
            break;
    }
    return total;
}

/* ---- streams --------------------------------------------------------------------------------- */

static long ch_post(const struct ramfs_cap *c, uintptr_t uarg)
{
    struct cap_desc *d = *c->priv;
    if (d && d->state != CH_RECV)
        return -EINVAL;
    if (d && d->revoked)
        return -EACCES;
    struct cvm_cap_ioc ioc;
    char name[CAP_NAME_MAX + 1];
    long r = get_ioc(uarg, false, &ioc, name);
    if (r < 0)
        return r;
    if (d && strcmp(name, d->name) != 0)
        return -EINVAL;
    /* Two descriptions of this LibOS receiving one stream would not know whose buffer a
     * message filled: the monitor sees one owner, this LibOS. */
    for (struct cap_desc *o = descs; !d && o; o = o->next)
        if (o->state == CH_RECV && !o->revoked && strcmp(o->name, name) == 0)
            return -EBUSY;
    if (d && d->count == CAP_QUEUE_MAX)
        return -ENOSPC;
    if ((r = check_buf(&ioc, true)) < 0)
        return r;
    bool first = !d;
    if (first) {
        if ((r = desc_new(c->priv, CH_RECV, &d)) < 0)
            return r;
        memcpy(d->name, name, strlen(name) + 1);
    }
    struct cap_buf *b = &d->queue[(d->head + d->count) % CAP_QUEUE_MAX];
    *b = (struct cap_buf){.addr = (uintptr_t)ioc.addr, .size = ioc.size};
    long h = cvm_hc(STREAM_POST, name, ioc.addr, ioc.size, &b->done);
    if (h < 0) {
        if (first) {
            *c->priv = NULL;
            desc_free(d);
        }
        return h;
    }
    d->handle = h;
    d->count++;
    return 0;
}

static long ch_connect(const struct ramfs_cap *c, uintptr_t uarg)
{
    struct cap_desc *d = *c->priv;
    if (d)
        return d->state == CH_SEND ? -EISCONN : -EINVAL;
    struct cvm_cap_ioc ioc;
    char name[CAP_NAME_MAX + 1];
    long r = get_ioc(uarg, true, &ioc, name);
    if (r < 0)
        return r;
    struct cvm_hc_cap out;
    long h = cvm_hc(CAP_PROBE, name, &out);
    if (h < 0)
        return h;
    if (!(out.rights & CVM_CAP_STREAM))
        return -EINVAL;
    if ((r = desc_new(c->priv, CH_SEND, &d)) < 0)
        return r;
    d->handle = h;
    ioc.size = out.size;
    ioc.rights = out.rights;
    memcpy((void *)uarg, &ioc, sizeof(ioc));
    return 0;
}

/* The oldest queued buffer's message: its length, once copied to buf unless buf is that buffer.
 * Until it arrives the thread waits without a stack slot of the LibOS (hostcall 954, restarting:
 * the read is served again once the monitor's delivery wakes it). */
static long ch_read(struct cap_desc *d, uintptr_t buf, size_t n)
{
    if (d && d->revoked)
        return -EACCES;
    if (!d || d->count == 0)
        return -ENOBUFS;
    struct cap_buf *b = &d->queue[d->head];
    unsigned len = __atomic_load_n(&b->done, __ATOMIC_ACQUIRE);
    if (len == 0 && __atomic_compare_exchange_n(&b->done, &len, CVM_STREAM_WAITING, false,
                                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        len = CVM_STREAM_WAITING;
    if (len == CVM_STREAM_WAITING)
        return cvm_hc(LINUX_WAIT, &b->done, CVM_STREAM_WAITING, 0, LIBOS_WAIT_RESTART);
    if (len == CVM_STREAM_DROPPED) {
        /* The monitor could not write the buffer: it is no longer queued. */
        d->head = (d->head + 1) % CAP_QUEUE_MAX;
        d->count--;
        return -EFAULT;
    }
    size_t m = n < len ? n : len;
    if (buf != b->addr && m) {
        if (!libos_user_ok(buf, m, true) || !libos_user_ok(b->addr, m, false))
            return -EFAULT;
        memmove((void *)buf, (const void *)b->addr, m);
    }
    d->head = (d->head + 1) % CAP_QUEUE_MAX;
    d->count--;
    return len;
}

/* What a stream write sends, once the lock is let go: the monitor may wait for a buffer. */
struct ch_send {
    long handle;
    uintptr_t buf;
    size_t len;
};

static long ch_call(const struct ramfs_cap *c, long nr, const long a[6], struct ch_send *send)
{
    struct cap_desc *d = *c->priv;
    switch (nr) {
    case 0:
        if (!c->read)
            return -EBADF;
        return ch_read(d, (uintptr_t)a[1], (size_t)a[2]);
    case 1:
        if (!c->write)
            return -EBADF;
        if (!d || d->state != CH_SEND)
            return -EDESTADDRREQ;
        if (!libos_user_ok((uintptr_t)a[1], (size_t)a[2], false))
            return -EFAULT;
        *send = (struct ch_send){d->handle, (uintptr_t)a[1], (size_t)a[2]};
        return 0;
    case 19:
    case 20: return -EINVAL; /* a message is one buffer */
    default: return -ESPIPE; /* pread64, pwrite64, lseek */
    }
}

/* ---- ioctl and the entry --------------------------------------------------------------------- */

static long cap_ioctl(const struct ramfs_cap *c, unsigned long req, uintptr_t uarg)
{
    struct cap_desc *d = *c->priv;
    if (req == CVM_CAP_IOC_REVOKE) {
        if (!d)
            return -ENOTCONN;
        if (d->state == CF_PROBED || d->state == CH_SEND)
            return -EPERM;
        if (d->revoked)
            return -EACCES;
        return desc_revoke(d);
    }
    if (c->kind == RAMFS_CAP_CF) {
        if (req == CVM_CAP_IOC_ADVERTISE)
            return cf_advertise(c, uarg);
        if (req == CVM_CAP_IOC_PROBE)
            return cf_probe(c, uarg);
    } else {
        if (req == CVM_CAP_IOC_POST)
            return ch_post(c, uarg);
        if (req == CVM_CAP_IOC_CONNECT)
            return ch_connect(c, uarg);
    }
    return -ENOTTY;
}

/* Whether d lets the monitor write the program's bytes [lo, hi): an advertised buffer, or a
 * queued one whose message has not come. */
static bool desc_writes(struct cap_desc *d, uintptr_t lo, uintptr_t hi)
{
    if (d->revoked)
        return false;
    if (d->state == CF_OWNER)
        return d->addr < hi && d->addr + d->size > lo;
    for (size_t i = 0; d->state == CH_RECV && i < d->count; i++) {
        struct cap_buf *b = &d->queue[(d->head + i) % CAP_QUEUE_MAX];
        unsigned done = __atomic_load_n(&b->done, __ATOMIC_ACQUIRE);
        if ((done == 0 || done == CVM_STREAM_WAITING) && b->addr < hi && b->addr + b->size > lo)
            return true;
    }
    return false;
}

static uintptr_t page_up(uintptr_t p)
{
    return p > UINTPTR_MAX - (LIBOS_PAGE - 1) ? UINTPTR_MAX & ~(uintptr_t)(LIBOS_PAGE - 1)
                                              : (p + LIBOS_PAGE - 1) & ~(uintptr_t)(LIBOS_PAGE - 1);
}

/* munmap and brk give pages of the region back, which may become the LibOS's: every CAP_File
 * and stream that could still write there is withdrawn first, under the same hold of the lock
 * as the unmapping, so that no ADVERTISE or POST comes in between. Window pages never change
 * hands. */
void libos_cap_unmapping(long nr, const long a[6])
{
    struct mm *mm = &libos.mm;
    uintptr_t end = mm->base + mm->npages * LIBOS_PAGE, lo = (uintptr_t)a[0], hi = lo;
    if (nr == 11 && lo % LIBOS_PAGE == 0)
        hi = (size_t)a[1] > UINTPTR_MAX - lo ? UINTPTR_MAX : page_up(lo + (size_t)a[1]);
    if (nr == 12 && lo >= mm->base && lo < mm->brk) {
        lo = page_up(lo);
        hi = page_up(mm->brk);
    }
    lo = lo > mm->base ? lo : mm->base;
    hi = hi < end ? hi : end;
    for (struct cap_desc *d = descs; d && lo < hi; d = d->next)
        if (desc_writes(d, lo, hi))
            (void)desc_revoke(d);
}

bool libos_cap_syscall(long nr, const long a[6], long *ret)
{
    switch (nr) {
    case 0:
    case 1:
    case 8:
    case 16:
    case 17:
    case 18:
    case 19:
    case 20: break;
    default: return false;
    }
    long r = libos_lock();
    if (r < 0) {
        *ret = r;
        return true;
    }
    struct ramfs_cap c;
    if (ramfs_cap_fd(libos.fs, a[0], &c) != 1) {
        libos_unlock();
        return false;
    }
    struct ch_send send = {0};
    if (nr == 16)
        r = cap_ioctl(&c, (unsigned int)a[1], (uintptr_t)a[2]);
    else if (c.kind == RAMFS_CAP_CF)
        r = cf_call(&c, nr, a);
    else
        r = ch_call(&c, nr, a, &send);
    libos_unlock();
    if (send.handle)
        r = cvm_hc(CAP_WRITE, send.handle, send.buf, send.len, 0);
    *ret = r;
    return true;
}
