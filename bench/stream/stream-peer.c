/* stream-peer: the native side of bench/bench-stream.sh: the exchanges of stream-cvm.c between
 * two threads of one process, through a pipe or a unix stream socket (socketpair).
 *   stream-peer tput pipe|unix SIZE N   N messages of SIZE bytes; prints the bytes and the ns
 *                                       from the first write to the last read
 *   stream-peer pingpong pipe|unix N    N timed round trips of a 64-byte message (two pipes,
 *                                       or one socketpair); prints the median in ns
 * Pipes and sockets keep the kernel's default capacities (64 KiB for a pipe). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PING_SIZE 64
#define WARMUP_TRIPS 64

/* The head of every message, as in stream-cvm.c. */
struct head {
    unsigned long seq;
    unsigned long t0;
};

struct peer {
    int rfd, wfd;        /* the other thread's ends */
    unsigned long size;  /* bytes of a message */
    unsigned long count; /* messages */
    int err;             /* errno of a failure */
};

static unsigned long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long)ts.tv_sec * 1000000000UL + (unsigned long)ts.tv_nsec;
}

static int read_all(int fd, void *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t r = read(fd, (char *)buf + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 ? EPIPE : errno;
        got += (size_t)r;
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
    for (size_t put = 0; put < len;) {
        ssize_t r = write(fd, (const char *)buf + put, len - put);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno;
        put += (size_t)r;
    }
    return 0;
}

/* Sends p->count messages, the sending clock in the first. */
static void *sender(void *arg)
{
    struct peer *p = arg;
    char *msg = malloc(p->size);
    if (!msg) {
        p->err = ENOMEM;
        return NULL;
    }
    memset(msg, 0x5a, p->size);
    struct head *hd = (struct head *)msg;
    hd->t0 = now_ns();
    for (unsigned long k = 0; k < p->count && !p->err; k++) {
        hd->seq = k;
        p->err = write_all(p->wfd, msg, p->size);
    }
    free(msg);
    return NULL;
}

/* Sends back every message it receives. */
static void *echo(void *arg)
{
    struct peer *p = arg;
    char msg[PING_SIZE];
    for (unsigned long k = 0; k < p->count && !p->err; k++) {
        p->err = read_all(p->rfd, msg, sizeof(msg));
        if (!p->err)
            p->err = write_all(p->wfd, msg, sizeof(msg));
    }
    return NULL;
}

static int cmp_ulong(const void *a, const void *b)
{
    unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
    return x < y ? -1 : x > y;
}

/* fds[0] and fds[1] of a one-way channel: a pipe, or a socketpair used one way. */
static int channel(int unix_socket, int fds[2])
{
    if (unix_socket)
        return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
    return pipe2(fds, O_CLOEXEC);
}

static int fail(const char *what, int err)
{
    fprintf(stderr, "stream-peer: %s: %s\n", what, strerror(err));
    return 1;
}

static int tput(const char *kind, int unix_socket, unsigned long size, unsigned long n)
{
    int fds[2];
    if (channel(unix_socket, fds) < 0)
        return fail(kind, errno);
    char *buf = malloc(size);
    if (!buf)
        return fail("malloc", ENOMEM);
    memset(buf, 0, size);
    struct peer p = {.wfd = fds[1], .size = size, .count = n};
    pthread_t thread;
    int e = pthread_create(&thread, NULL, sender, &p);
    if (e)
        return fail("pthread_create", e);
    unsigned long t0 = 0;
    const struct head *hd = (const struct head *)buf;
    for (unsigned long k = 0; k < n; k++) {
        e = read_all(fds[0], buf, size);
        if (e)
            break;
        if (hd->seq != k) {
            fprintf(stderr, "stream-peer: message %lu has number %lu\n", k, hd->seq);
            return 1;
        }
        if (k == 0)
            t0 = hd->t0;
    }
    unsigned long t1 = now_ns();
    if (e) {
        close(fds[0]); /* a blocked sender gets EPIPE */
        pthread_join(thread, NULL);
        return fail("read", e);
    }
    pthread_join(thread, NULL);
    if (p.err)
        return fail("write", p.err);
    printf("%s tput %lu x %lu: %lu bytes in %lu ns\n", kind, size, n, size * n, t1 - t0);
    free(buf);
    close(fds[0]);
    close(fds[1]);
    return 0;
}

static int pingpong(const char *kind, int unix_socket, unsigned long n)
{
    int there[2], back[2];
    if (channel(unix_socket, there) < 0)
        return fail(kind, errno);
    if (unix_socket) {
        back[0] = there[1]; /* one socketpair carries both directions */
        back[1] = there[0];
    } else if (channel(0, back) < 0) {
        return fail(kind, errno);
    }
    unsigned long total = WARMUP_TRIPS + n;
    unsigned long *trips = calloc(n, sizeof(*trips));
    if (!trips)
        return fail("calloc", ENOMEM);
    struct peer p = {.rfd = there[0], .wfd = back[1], .size = PING_SIZE, .count = total};
    pthread_t thread;
    int e = pthread_create(&thread, NULL, echo, &p);
    if (e)
        return fail("pthread_create", e);
    char msg[PING_SIZE];
    memset(msg, 0x5a, sizeof(msg));
    struct head *hd = (struct head *)msg;
    unsigned long t = now_ns();
    for (unsigned long k = 0; k < total && !e; k++) {
        hd->seq = k;
        e = write_all(there[1], msg, sizeof(msg));
        if (!e)
            e = read_all(back[0], msg, sizeof(msg));
        if (!e && hd->seq != k) {
            fprintf(stderr, "stream-peer: round trip %lu came back as %lu\n", k, hd->seq);
            return 1;
        }
        unsigned long t1 = now_ns();
        if (k >= WARMUP_TRIPS)
            trips[k - WARMUP_TRIPS] = t1 - t;
        t = t1;
    }
    if (e) {
        close(there[1]); /* the echo thread reads end of file */
        pthread_join(thread, NULL);
        return fail("round trip", e);
    }
    pthread_join(thread, NULL);
    if (p.err)
        return fail("echo", p.err);
    qsort(trips, n, sizeof(*trips), cmp_ulong);
    unsigned long trip = trips[n / 2];
    /* What reading the clock adds to each round trip: the median of back-to-back reads. */
    unsigned long k = n < 1001 ? n : 1001;
    t = now_ns();
    for (unsigned long i = 0; i < k; i++) {
        unsigned long t1 = now_ns();
        trips[i] = t1 - t;
        t = t1;
    }
    qsort(trips, k, sizeof(*trips), cmp_ulong);
    printf("%s pingpong %lu: median %lu ns (clock %lu ns)\n", kind, n, trip, trips[k / 2]);
    free(trips);
    return 0;
}

static int parse_count(const char *s, unsigned long *ret_n)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(s, &end, 10);
    if (errno || end == s || *end || n == 0 || s[0] == '-') {
        fprintf(stderr, "stream-peer: '%s' is not a positive count\n", s);
        return -1;
    }
    *ret_n = n;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long size, n;
    int is_unix = argc > 2 && strcmp(argv[2], "unix") == 0;
    int known = argc > 2 && (is_unix || strcmp(argv[2], "pipe") == 0);
    if (known && argc == 5 && strcmp(argv[1], "tput") == 0) {
        if (parse_count(argv[3], &size) < 0 || parse_count(argv[4], &n) < 0)
            return 2;
        if (size < sizeof(struct head)) {
            fprintf(stderr, "stream-peer: a message holds at least %zu bytes\n",
                    sizeof(struct head));
            return 2;
        }
        return tput(argv[2], is_unix, size, n);
    }
    if (known && argc == 4 && strcmp(argv[1], "pingpong") == 0) {
        if (parse_count(argv[3], &n) < 0)
            return 2;
        return pingpong(argv[2], is_unix, n);
    }
    fprintf(stderr,
            "usage: stream-peer tput pipe|unix SIZE N | stream-peer pingpong pipe|unix N\n");
    return 2;
}
