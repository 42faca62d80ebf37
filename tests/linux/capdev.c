/* capdev: an unmodified musl program that drives the LibOS's /cap devices (specs/libos.md §8)
 * with good and bad input, for tests/e2e/t0403-cap-stream.sh. Each check prints one line
 * `name: <result>`, a result being a value or -ERRNO; no addresses.
 *   capdev files         CAP_Files on /cap/cf1 and /cap/cf2
 *   capdev streams       streams on /cap/ch1../cap/ch4
 *   capdev all KEY       files, streams, then the read-only CAP_File KEY-ro of the peer, then
 *                        sends `alive` to the peer's stream KEY
 *   capdev peer KEY N    advertises KEY-ro (read only), receives N messages on the stream KEY
 *                        and prints them
 * The bad addresses follow the deployment t0403 writes: the program's window at 0x10000000,
 * its LibOS's at 0x20000000. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../../runtimes/libos/cvm-cap.h"

#include "raw-syscall.h"

#define LIBOS_BASE 0x20000000UL /* never the program's memory */
#define BAD ((void *)1)
#define QUEUE_MAX 64 /* buffers one descriptor queues */

static const char *errname(long e)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {
        {EPERM, "EPERM"},
        {ENOENT, "ENOENT"},
        {EINTR, "EINTR"},
        {EIO, "EIO"},
        {EBADF, "EBADF"},
        {EAGAIN, "EAGAIN"},
        {ENOMEM, "ENOMEM"},
        {EACCES, "EACCES"},
        {EFAULT, "EFAULT"},
        {EBUSY, "EBUSY"},
        {EEXIST, "EEXIST"},
        {EINVAL, "EINVAL"},
        {ENOTTY, "ENOTTY"},
        {ENOSPC, "ENOSPC"},
        {ESPIPE, "ESPIPE"},
        {ENOSYS, "ENOSYS"},
        {EMSGSIZE, "EMSGSIZE"},
        {ENAMETOOLONG, "ENAMETOOLONG"},
        {EDESTADDRREQ, "EDESTADDRREQ"},
        {ENOBUFS, "ENOBUFS"},
        {EISCONN, "EISCONN"},
        {ENOTCONN, "ENOTCONN"},
    };
    static char other[32];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].code == e)
            return names[i].name;
    snprintf(other, sizeof(other), "E%ld", e);
    return other;
}

/* name: value, or name: -ERRNO */
static void put(const char *name, long r)
{
    if (r < 0 && r >= -4095)
        printf("%s: -%s\n", name, errname(-r));
    else
        printf("%s: %ld\n", name, r);
}

/* name: value 'text', the text being the first bytes of buf up to a NUL (at most n). */
static void put_text(const char *name, long r, const char *buf, size_t n)
{
    if (r < 0) {
        put(name, r);
        return;
    }
    printf("%s: %ld '%.*s'\n", name, r, (int)strnlen(buf, n), buf);
}

static long xopen(const char *path, int flags)
{
    long fd = SC(SYS_open, path, flags);
    if (fd < 0) {
        put(path, fd);
        exit(1);
    }
    return fd;
}

static long ioc(long fd, unsigned req, const char *name, void *addr, size_t size,
                unsigned long rights)
{
    struct cvm_cap_ioc arg = {.name = name, .addr = addr, .size = size, .rights = rights};
    return SC(SYS_ioctl, fd, req, &arg);
}

/* PROBE or CONNECT, printing what it reports: the size and the read and write rights. */
static void put_probe(const char *name, long fd, unsigned req, const char *key)
{
    struct cvm_cap_ioc arg = {.name = key};
    long r = SC(SYS_ioctl, fd, req, &arg);
    if (r < 0) {
        put(name, r);
        return;
    }
    printf("%s: %ld size %lu rights %s%s%s\n", name, r, arg.size,
           arg.rights & CVM_CAP_READ ? "r" : "-", arg.rights & CVM_CAP_WRITE ? "w" : "-",
           arg.rights & CVM_CAP_STREAM ? "s" : "-");
}

/* ---- CAP_Files ------------------------------------------------------------------------------- */

static char file1[64] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!?";
static char ro[16] = "read only";

static void put_devices(void)
{
    static const char *const devs[] = {"/cap/cf1", "/cap/cf2", "/cap/ch1",
                                       "/cap/ch2", "/cap/ch3", "/cap/ch4"};
    for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
        struct stat st;
        long r = SC(SYS_stat, devs[i], &st);
        if (r < 0) {
            put(devs[i], r);
            continue;
        }
        printf("stat %s: %s %04o rdev %u:%u\n", devs[i], S_ISCHR(st.st_mode) ? "chr" : "?",
               (unsigned)st.st_mode & 07777, major(st.st_rdev), minor(st.st_rdev));
    }
    long fd = xopen("/cap", O_RDONLY | O_DIRECTORY);
    char buf[512] __attribute__((aligned(8)));
    long n = SC(SYS_getdents64, fd, buf, sizeof(buf));
    printf("getdents64 /cap:");
    for (long off = 0; off < n;) {
        unsigned short reclen;
        memcpy(&reclen, buf + off + 16, sizeof(reclen));
        printf(" %s%s", buf + off + 19, buf[off + 18] == DT_CHR ? "/c" : "/d");
        off += reclen;
    }
    printf("\n");
    SC(SYS_close, fd);
}

static void files(void)
{
    char buf[128];
    put_devices();
    long owner = xopen("/cap/cf1", O_RDWR), fd = xopen("/cap/cf2", O_RDWR);

    /* Bound to nothing yet. */
    put("read before any ioctl", SC(SYS_read, fd, buf, 8));
    put("revoke before any ioctl", SC(SYS_ioctl, fd, CVM_CAP_IOC_REVOKE));
    put("probe an unknown key", ioc(fd, CVM_CAP_IOC_PROBE, "nosuchkey", 0, 0, 0));

    /* ADVERTISE's checks, then a good one. */
    put("advertise with rights 0", ioc(owner, CVM_CAP_IOC_ADVERTISE, "file1", file1, 64, 0));
    put("advertise with rights call",
        ioc(owner, CVM_CAP_IOC_ADVERTISE, "file1", file1, 64, CVM_CAP_CALL));
    put("advertise 0 bytes", ioc(owner, CVM_CAP_IOC_ADVERTISE, "file1", file1, 0, 3));
    put("advertise a bad argument", SC(SYS_ioctl, owner, CVM_CAP_IOC_ADVERTISE, BAD));
    put("advertise a bad name", ioc(owner, CVM_CAP_IOC_ADVERTISE, BAD, file1, 64, 3));
    put("advertise the libos's memory",
        ioc(owner, CVM_CAP_IOC_ADVERTISE, "file1", (void *)LIBOS_BASE, 64, 3));
    char long_name[300];
    memset(long_name, 'n', sizeof(long_name));
    long_name[256] = 0;
    put("advertise a 256-byte name", ioc(owner, CVM_CAP_IOC_ADVERTISE, long_name, file1, 64, 3));
    long_name[255] = 0;
    put("advertise a 255-byte name", ioc(owner, CVM_CAP_IOC_ADVERTISE, long_name, file1, 64, 3));
    SC(SYS_close, owner);
    owner = xopen("/cap/cf1", O_RDWR);
    put("advertise an empty name", ioc(owner, CVM_CAP_IOC_ADVERTISE, "", file1, 64, 3));
    put("advertise file1", ioc(owner, CVM_CAP_IOC_ADVERTISE, "file1", file1, 64, 3));
    put("advertise again on its descriptor",
        ioc(owner, CVM_CAP_IOC_ADVERTISE, "file2", file1, 64, 3));
    long other = xopen("/cap/cf1", O_RDWR);
    put("advertise file1 on another descriptor",
        ioc(other, CVM_CAP_IOC_ADVERTISE, "file1", file1, 64, 3));
    SC(SYS_close, other);

    /* PROBE and the copies. */
    put_probe("probe file1", fd, CVM_CAP_IOC_PROBE, "file1");
    put("probe again on its descriptor", ioc(fd, CVM_CAP_IOC_PROBE, "file1", 0, 0, 0));
    memset(buf, 0, sizeof(buf));
    put_text("read 10", SC(SYS_read, fd, buf, 10), buf, sizeof(buf));
    memset(buf, 0, sizeof(buf));
    put_text("read 10 more", SC(SYS_read, fd, buf, 10), buf, sizeof(buf));
    put("lseek SEEK_END -4", SC(SYS_lseek, fd, -4, SEEK_END));
    memset(buf, 0, sizeof(buf));
    put_text("read 10 at 60", SC(SYS_read, fd, buf, 10), buf, sizeof(buf));
    put("read at the end", SC(SYS_read, fd, buf, 10));
    put("lseek past the end", SC(SYS_lseek, fd, 100, SEEK_SET));
    put("read past the end", SC(SYS_read, fd, buf, 10));
    put("lseek before the start", SC(SYS_lseek, fd, -1, SEEK_SET));
    put("lseek SEEK_DATA", SC(SYS_lseek, fd, 0, SEEK_DATA));
    put("pread at 1000", SC(SYS_pread64, fd, buf, 10, 1000));
    put("pread at -1", SC(SYS_pread64, fd, buf, 10, -1));
    put("pwrite at 64", SC(SYS_pwrite64, fd, "x", 1, 64));
    put("pwrite 10 at 60", SC(SYS_pwrite64, fd, "WXYZ------", 10, 60));
    put("pwrite XYZ at 0", SC(SYS_pwrite64, fd, "XYZ", 3, 0));
    printf("the owner's buffer: '%.64s'\n", file1);
    put("lseek SEEK_SET 3", SC(SYS_lseek, fd, 3, SEEK_SET));
    put("write abc", SC(SYS_write, fd, "abc", 3));
    put("lseek SEEK_CUR 0", SC(SYS_lseek, fd, 0, SEEK_CUR));
    char a[4] = "", b[5] = "";
    struct iovec iov[2] = {{a, 3}, {b, 4}};
    put("lseek SEEK_SET 0", SC(SYS_lseek, fd, 0, SEEK_SET));
    long r = SC(SYS_readv, fd, iov, 2);
    printf("readv 3+4: %ld '%s' '%s'\n", r, a, b);
    struct iovec wiov[2] = {{"[", 1}, {"]", 1}};
    put("writev 1+1 at 62", (SC(SYS_lseek, fd, 62, SEEK_SET), SC(SYS_writev, fd, wiov, 2)));
    put("writev at the end", SC(SYS_writev, fd, wiov, 2));
    memset(buf, 0, sizeof(buf));
    put_text("owner reads 64", SC(SYS_pread64, owner, buf, 100, 0), buf, 64);
    put("read into a bad buffer", SC(SYS_pread64, fd, BAD, 10, 0));
    put("read into the libos's memory", SC(SYS_pread64, fd, LIBOS_BASE, 10, 0));
    put("write from a bad buffer", SC(SYS_pwrite64, fd, BAD, 10, 0));
    put("readv of a bad iovec", SC(SYS_readv, fd, BAD, 1));

    /* ioctl's own errors. */
    put("ioctl unknown request", SC(SYS_ioctl, fd, 0x5401 /* TCGETS */, buf));
    put("ioctl a stream request", ioc(fd, CVM_CAP_IOC_POST, "file1", buf, 8, 0));
    put("probe on a bound descriptor with a bad argument",
        SC(SYS_ioctl, fd, CVM_CAP_IOC_PROBE, BAD));
    long fresh = xopen("/cap/cf2", O_RDWR);
    put("probe with a bad argument on a fresh descriptor",
        SC(SYS_ioctl, fresh, CVM_CAP_IOC_PROBE, BAD));
    put("probe with a read-only argument", SC(SYS_ioctl, fresh, CVM_CAP_IOC_PROBE, "file1"));
    SC(SYS_close, fresh);

    /* Access modes and rights. */
    long rdonly = xopen("/cap/cf2", O_RDONLY);
    put_probe("probe file1 read-only descriptor", rdonly, CVM_CAP_IOC_PROBE, "file1");
    put("write on a read-only descriptor", SC(SYS_write, rdonly, "x", 1));
    SC(SYS_close, rdonly);
    long ro_owner = xopen("/cap/cf1", O_RDWR), ro_fd = xopen("/cap/cf2", O_RDWR);
    put("advertise ro read-only", ioc(ro_owner, CVM_CAP_IOC_ADVERTISE, "ro", ro, 16, CVM_CAP_READ));
    /* The monitor gives a cVM probing its own name its own handle: writable. */
    put_probe("probe ro", ro_fd, CVM_CAP_IOC_PROBE, "ro");
    put_text("read ro", SC(SYS_pread64, ro_fd, buf, 16, 0), buf, 16);
    put("write ro through the libos's own handle", SC(SYS_pwrite64, ro_fd, "r", 1, 0));
    SC(SYS_close, ro_owner);
    put("read ro after its owner closed", SC(SYS_pread64, ro_fd, buf, 16, 0));
    SC(SYS_close, ro_fd);

    /* Revocation. */
    put("revoke through the prober", SC(SYS_ioctl, fd, CVM_CAP_IOC_REVOKE));
    put("revoke through the owner", SC(SYS_ioctl, owner, CVM_CAP_IOC_REVOKE));
    put("read after revocation", SC(SYS_pread64, fd, buf, 10, 0));
    put("write after revocation", SC(SYS_pwrite64, fd, "x", 1, 0));
    put("owner reads after revocation", SC(SYS_pread64, owner, buf, 10, 0));
    put("revoke again", SC(SYS_ioctl, owner, CVM_CAP_IOC_REVOKE));
    long again = xopen("/cap/cf1", O_RDWR);
    put("advertise file1 anew", ioc(again, CVM_CAP_IOC_ADVERTISE, "file1", file1, 32, 3));
    put("the old prober reads", SC(SYS_pread64, fd, buf, 10, 0));
    long fd2 = xopen("/cap/cf2", O_RDWR);
    put_probe("probe file1 anew", fd2, CVM_CAP_IOC_PROBE, "file1");
    SC(SYS_close, again);
    put("read after the owner closed", SC(SYS_pread64, fd2, buf, 10, 0));
    SC(SYS_close, fd2);

    /* munmap of an advertised buffer withdraws it first. */
    char *page = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(page, "mapped");
    long m_owner = xopen("/cap/cf1", O_RDWR), m_fd = xopen("/cap/cf2", O_RDWR);
    put("advertise a mapped page", ioc(m_owner, CVM_CAP_IOC_ADVERTISE, "mapped", page, 4096, 3));
    put_probe("probe mapped", m_fd, CVM_CAP_IOC_PROBE, "mapped");
    memset(buf, 0, sizeof(buf));
    put_text("read mapped", SC(SYS_pread64, m_fd, buf, 6, 0), buf, sizeof(buf));
    put("munmap it", SC(SYS_munmap, page, 4096));
    put("read mapped after munmap", SC(SYS_pread64, m_fd, buf, 6, 0));
    SC(SYS_close, m_owner);
    SC(SYS_close, m_fd);
    SC(SYS_close, owner);
    SC(SYS_close, fd);
}

/* ---- streams --------------------------------------------------------------------------------- */

static char rbuf[16]; /* posted */
static char other_buf[64];

struct waiter {
    long fd;
    long r;
    char got[16];
};

static void *wait_one(void *arg)
{
    struct waiter *w = arg;
    w->r = SC(SYS_read, w->fd, w->got, sizeof(w->got));
    return NULL;
}

static void *send_one(void *arg)
{
    struct waiter *w = arg;
    w->r = SC(SYS_write, w->fd, "late", 5);
    return NULL;
}

static void streams(void)
{
    long in = xopen("/cap/ch1", O_RDWR), out = xopen("/cap/ch2", O_RDWR);

    put("read with nothing posted", SC(SYS_read, in, rbuf, sizeof(rbuf)));
    put("write unconnected", SC(SYS_write, out, "x", 1));
    put("connect to an unknown key", ioc(out, CVM_CAP_IOC_CONNECT, "nosuchkey", 0, 0, 0));
    put("post a bad argument", SC(SYS_ioctl, in, CVM_CAP_IOC_POST, BAD));
    put("post 0 bytes", ioc(in, CVM_CAP_IOC_POST, "s1", rbuf, 0, 0));
    put("post the libos's memory", ioc(in, CVM_CAP_IOC_POST, "s1", (void *)LIBOS_BASE, 16, 0));
    put("post a bad buffer", ioc(in, CVM_CAP_IOC_POST, "s1", BAD, 16, 0));
    put("ioctl unknown request", SC(SYS_ioctl, in, 0x5401, rbuf));
    put("ioctl a CAP_File request", ioc(in, CVM_CAP_IOC_PROBE, "s1", 0, 0, 0));

    /* A message, into the posted buffer. */
    put("post s1", ioc(in, CVM_CAP_IOC_POST, "s1", rbuf, sizeof(rbuf), 0));
    put_probe("connect s1", out, CVM_CAP_IOC_CONNECT, "s1");
    put("write hello", SC(SYS_write, out, "hello", 6));
    put_text("read it", SC(SYS_read, in, rbuf, sizeof(rbuf)), rbuf, sizeof(rbuf));
    put("read with no buffer queued", SC(SYS_read, in, rbuf, sizeof(rbuf)));

    /* Too large for the oldest buffer: refused, and the buffer stays queued. */
    put("post s1", ioc(in, CVM_CAP_IOC_POST, "s1", rbuf, sizeof(rbuf), 0));
    put("write 17 bytes into 16", SC(SYS_write, out, "0123456789abcdefg", 17));
    put("write 16 bytes", SC(SYS_write, out, "0123456789abcdef", 16));
    put_text("read them", SC(SYS_read, in, rbuf, sizeof(rbuf)), rbuf, sizeof(rbuf));

    /* Read into another buffer: the message is copied, cut to the count; its length returned. */
    put("post s1", ioc(in, CVM_CAP_IOC_POST, "s1", rbuf, sizeof(rbuf), 0));
    put("write 0 bytes", SC(SYS_write, out, "", 0));
    put("write from a bad buffer", SC(SYS_write, out, BAD, 4));
    put("write message", SC(SYS_write, out, "message", 8));
    memset(other_buf, 0, sizeof(other_buf));
    put("read into a bad buffer", SC(SYS_read, in, BAD, 8));
    put_text("read 3 into another buffer", SC(SYS_read, in, other_buf, 3), other_buf, 64);

    /* Two buffers in order; a reader that waits. */
    static char b1[8], b2[8];
    put("post b1", ioc(in, CVM_CAP_IOC_POST, "s1", b1, sizeof(b1), 0));
    put("post b2", ioc(in, CVM_CAP_IOC_POST, "s1", b2, sizeof(b2), 0));
    put("write one", SC(SYS_write, out, "one", 4));
    put("write two", SC(SYS_write, out, "two", 4));
    memset(other_buf, 0, sizeof(other_buf));
    put_text("read first", SC(SYS_read, in, other_buf, 64), other_buf, 64);
    put_text("read second", SC(SYS_read, in, other_buf, 64), other_buf, 64);
    printf("b1 '%s' b2 '%s'\n", b1, b2);
    put("post s1", ioc(in, CVM_CAP_IOC_POST, "s1", rbuf, sizeof(rbuf), 0));
    struct waiter w = {.fd = in};
    pthread_t t;
    pthread_create(&t, NULL, wait_one, &w);
    const struct timespec pause = {0, 100 * 1000000};
    nanosleep(&pause, NULL);
    put("write wake to a waiting reader", SC(SYS_write, out, "wake", 5));
    pthread_join(t, NULL);
    put_text("the waiting reader got", w.r, w.got, sizeof(w.got));

    /* More readers wait than the LibOS has stack slots (16): none holds one while it waits, so
     * the writes still get through. */
    enum { READERS = 24 };
    static char posted[READERS][16];
    static struct waiter ws[READERS];
    static pthread_t ts[READERS];
    long r = 0;
    for (int i = 0; i < READERS && r == 0; i++)
        r = ioc(in, CVM_CAP_IOC_POST, "s1", posted[i], 16, 0);
    put("post 24 buffers", r);
    for (int i = 0; i < READERS; i++) {
        ws[i].fd = in;
        pthread_create(&ts[i], NULL, wait_one, &ws[i]);
    }
    nanosleep(&pause, NULL);
    for (int i = 0; i < READERS && r >= 0; i++) {
        char msg[16];
        r = SC(SYS_write, out, msg, (size_t)snprintf(msg, sizeof(msg), "m%d", i) + 1);
    }
    put("write 24 messages", r);
    unsigned long seen = 0;
    for (int i = 0; i < READERS; i++) {
        pthread_join(ts[i], NULL);
        int m = ws[i].r > 0 && ws[i].got[0] == 'm' ? atoi(ws[i].got + 1) : -1;
        if (m >= 0 && m < READERS)
            seen |= 1UL << m;
    }
    printf("24 waiting readers got: %d distinct messages\n", __builtin_popcountl(seen));

    /* Binding errors. */
    put("post on the sender", ioc(out, CVM_CAP_IOC_POST, "s1", rbuf, sizeof(rbuf), 0));
    put("connect on the receiver", ioc(in, CVM_CAP_IOC_CONNECT, "s1", 0, 0, 0));
    put("connect again", ioc(out, CVM_CAP_IOC_CONNECT, "s1", 0, 0, 0));
    put("post another key on the receiver", ioc(in, CVM_CAP_IOC_POST, "s2", rbuf, 16, 0));
    long in2 = xopen("/cap/ch3", O_RDWR);
    put("post s1 on a second descriptor", ioc(in2, CVM_CAP_IOC_POST, "s1", rbuf, 16, 0));
    put("connect with a bad argument", SC(SYS_ioctl, in2, CVM_CAP_IOC_CONNECT, BAD));
    SC(SYS_close, in2);
    put("lseek", SC(SYS_lseek, in, 0, SEEK_SET));
    put("pread", SC(SYS_pread64, in, rbuf, 4, 0));
    struct iovec iov = {rbuf, 4};
    put("writev", SC(SYS_writev, out, &iov, 1));
    put("revoke through the sender", SC(SYS_ioctl, out, CVM_CAP_IOC_REVOKE));

    /* The queue's limit. */
    static char many[QUEUE_MAX + 1][4];
    r = 0;
    int queued = 0;
    for (; queued <= QUEUE_MAX && r == 0; queued++)
        r = ioc(in, CVM_CAP_IOC_POST, "s1", many[queued], 4, 0);
    printf("post %d buffers: %d queued, then ", QUEUE_MAX + 1, queued - 1);
    put("the last", r);

    /* Revocation: the queue goes, reader and sender get -EACCES. */
    put("revoke the receiver", SC(SYS_ioctl, in, CVM_CAP_IOC_REVOKE));
    put("read after revocation", SC(SYS_read, in, rbuf, sizeof(rbuf)));
    put("write after revocation", SC(SYS_write, out, "x", 1));
    put("post after revocation", ioc(in, CVM_CAP_IOC_POST, "s1", rbuf, sizeof(rbuf), 0));
    SC(SYS_close, in);
    SC(SYS_close, out);

    /* A sender waiting for a buffer when the receiver revokes. */
    in = xopen("/cap/ch1", O_RDWR);
    out = xopen("/cap/ch2", O_RDWR);
    put("post s5", ioc(in, CVM_CAP_IOC_POST, "s5", rbuf, sizeof(rbuf), 0));
    put_probe("connect s5", out, CVM_CAP_IOC_CONNECT, "s5");
    put("write early", SC(SYS_write, out, "early", 6));
    struct waiter ws5 = {.fd = out};
    pthread_create(&t, NULL, send_one, &ws5);
    nanosleep(&pause, NULL);
    put("revoke s5 while a sender waits", SC(SYS_ioctl, in, CVM_CAP_IOC_REVOKE));
    pthread_join(t, NULL);
    put("the waiting sender got", ws5.r);
    put("read after revocation", SC(SYS_read, in, rbuf, sizeof(rbuf)));
    SC(SYS_close, in);
    SC(SYS_close, out);

    /* Closing the receiver withdraws its stream; so does unmapping a queued buffer. */
    in = xopen("/cap/ch1", O_RDWR);
    out = xopen("/cap/ch2", O_RDWR);
    put("post s3", ioc(in, CVM_CAP_IOC_POST, "s3", rbuf, sizeof(rbuf), 0));
    put_probe("connect s3", out, CVM_CAP_IOC_CONNECT, "s3");
    SC(SYS_close, in);
    put("write after the receiver closed", SC(SYS_write, out, "x", 1));
    SC(SYS_close, out);
    char *page = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    in = xopen("/cap/ch1", O_RDWR);
    out = xopen("/cap/ch2", O_RDWR);
    put("post s4 in a mapped page", ioc(in, CVM_CAP_IOC_POST, "s4", page, 4096, 0));
    put_probe("connect s4", out, CVM_CAP_IOC_CONNECT, "s4");
    put("munmap it", SC(SYS_munmap, page, 4096));
    put("write after munmap", SC(SYS_write, out, "x", 1));
    put("read after munmap", SC(SYS_read, in, rbuf, sizeof(rbuf)));
    SC(SYS_close, in);
    SC(SYS_close, out);

    /* A buffer on a read-only page of the image: the monitor cannot deliver into it and drops
     * it; the sender and the read that was to take it learn it. */
    static const char image_ro[16] = "image rodata";
    in = xopen("/cap/ch1", O_RDWR);
    out = xopen("/cap/ch2", O_RDWR);
    put("post s6 in .rodata", ioc(in, CVM_CAP_IOC_POST, "s6", (void *)image_ro, 16, 0));
    put_probe("connect s6", out, CVM_CAP_IOC_CONNECT, "s6");
    put("write into it", SC(SYS_write, out, "x", 1));
    put("read the dropped buffer", SC(SYS_read, in, rbuf, sizeof(rbuf)));
    put("read with none queued", SC(SYS_read, in, rbuf, sizeof(rbuf)));
    SC(SYS_close, in);
    SC(SYS_close, out);
}

/* ---- between cVMs ---------------------------------------------------------------------------- */

/* The peer may not have published KEY-ro or KEY yet: connect and probe try again for ten
 * seconds. */
static long retry(long fd, unsigned req, const char *key, struct cvm_cap_ioc *arg)
{
    const struct timespec ms = {0, 1000000};
    *arg = (struct cvm_cap_ioc){.name = key};
    long r;
    for (int i = 0; (r = SC(SYS_ioctl, fd, req, arg)) == -ENOENT && i < 10000; i++)
        nanosleep(&ms, NULL);
    return r;
}

/* The peer's read-only CAP_File, then `alive` to its stream: every line is out before the
 * peer prints what it receives. */
static int to_peer(const char *key)
{
    char ro_key[64], buf[32] = "";
    snprintf(ro_key, sizeof(ro_key), "%s-ro", key);
    long fd = xopen("/cap/cf1", O_RDWR);
    struct cvm_cap_ioc arg;
    long r = retry(fd, CVM_CAP_IOC_PROBE, ro_key, &arg);
    printf("probe the peer's %s: %ld size %lu rights %s\n", ro_key, r, arg.size,
           arg.rights == CVM_CAP_READ ? "r--" : "other");
    put_text("read it", SC(SYS_read, fd, buf, sizeof(buf)), buf, sizeof(buf));
    put("write it", SC(SYS_pwrite64, fd, "x", 1, 0));
    put("revoke it", SC(SYS_ioctl, fd, CVM_CAP_IOC_REVOKE));
    fflush(stdout);
    long out = xopen("/cap/ch4", O_RDWR);
    r = retry(out, CVM_CAP_IOC_CONNECT, key, &arg);
    if (r == 0)
        r = SC(SYS_write, out, "alive", 6);
    if (r < 0) {
        fprintf(stderr, "capdev: send to '%s': -%s\n", key, errname(-r));
        return 1;
    }
    return 0;
}

static int peer(const char *key, long count)
{
    static char ro_data[16] = "peer data", msg[256];
    char ro_key[64];
    snprintf(ro_key, sizeof(ro_key), "%s-ro", key);
    long cf = xopen("/cap/cf1", O_RDWR), fd = xopen("/cap/ch1", O_RDWR);
    long r = ioc(cf, CVM_CAP_IOC_ADVERTISE, ro_key, ro_data, sizeof(ro_data), CVM_CAP_READ);
    for (long i = 0; r == 0 && i < count; i++) {
        memset(msg, 0, sizeof(msg));
        r = ioc(fd, CVM_CAP_IOC_POST, key, msg, sizeof(msg), 0);
        if (r == 0)
            r = SC(SYS_read, fd, msg, sizeof(msg));
        put_text("peer received", r, msg, sizeof(msg));
        r = r < 0 ? r : 0;
    }
    if (r < 0) {
        fprintf(stderr, "capdev: peer '%s': -%s\n", key, errname(-r));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "files") == 0 && argc == 2) {
        files();
        return 0;
    }
    if (strcmp(mode, "streams") == 0 && argc == 2) {
        streams();
        return 0;
    }
    if (strcmp(mode, "all") == 0 && argc == 3) {
        files();
        streams();
        return to_peer(argv[2]);
    }
    if (strcmp(mode, "peer") == 0 && argc == 4)
        return peer(argv[2], atol(argv[3]));
    fprintf(stderr, "usage: capdev files | streams | all KEY | peer KEY N\n");
    return 2;
}
