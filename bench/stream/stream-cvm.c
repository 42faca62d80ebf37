/* stream-cvm: the cVM side of bench/bench-stream.sh, one baremetal runtime that two cVMs of a
 * deployment run in complementary roles over streams (specs/hostcall-abi.md §8).
 *   stream-cvm recv SIZE N BUFS  receives N messages of SIZE bytes on stream "bench" with BUFS
 *                                buffers posted; prints the bytes and the ns from the first
 *                                send to the last receive
 *   stream-cvm send SIZE N       sends N messages of SIZE bytes to stream "bench"
 *   stream-cvm ping N            N timed round trips of a 64-byte message, out on stream "ping"
 *                                and back on "pong"; prints the median round trip in ns
 *   stream-cvm pong N            sends every message of "ping" back on "pong" */
#include "cvm.h"

#define CLOCK_MONOTONIC 1
#define ENOENT 2
#define MAX_BUFS 64     /* buffers one stream may have waiting (§8) */
#define PING_SIZE 64    /* bytes of a ping-pong message */
#define WARMUP_TRIPS 64 /* round trips before the timed ones */
#define PROBE_S 20      /* seconds the sender waits for the receiver's stream */

/* The head of every message: its number, and the sender's clock when it began sending. */
struct head {
    unsigned long seq;
    unsigned long t0;
};

struct ts {
    long sec, nsec;
};

/* One done word per posted buffer (413 stores the message length there). */
static unsigned done[MAX_BUFS];

static char *heap_next, *heap_end;

static unsigned long now_ns(void)
{
    struct ts t = {0, 0};
    cvm_hc(CLOCK_GETTIME, CLOCK_MONOTONIC, &t);
    return (unsigned long)t.sec * 1000000000UL + (unsigned long)t.nsec;
}

static int fail(const char *what, long r)
{
    printf("stream-cvm %s: %s: %ld\n", cvm_boot_block->name, what, r);
    return 1;
}

/* Bytes from the heap, 64-byte aligned, touched now so that no page fault lands in a figure. */
static void *take(unsigned long size)
{
    unsigned long at = ((unsigned long)heap_next + 63) & ~63UL;
    if (size > (unsigned long)heap_end || at > (unsigned long)heap_end - size)
        return NULL;
    heap_next = (char *)(at + size);
    memset((void *)at, 0x5a, size);
    return (void *)at;
}

static int parse_count(const char *s, unsigned long *ret_n)
{
    unsigned long n = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || n > (1UL << 40))
            return -1;
        n = n * 10 + (unsigned long)(*s - '0');
    }
    if (n == 0)
        return -1;
    *ret_n = n;
    return 0;
}

/* The sender may start before the receiver has made its stream: probe until it exists. */
static long probe_stream(const char *name)
{
    struct cvm_hc_cap cap = {0, 0};
    long h = -ENOENT;
    for (int i = 0; i < PROBE_S * 10000 && h == -ENOENT; i++) {
        h = cvm_hc(CAP_PROBE, name, &cap);
        if (h == -ENOENT)
            cvm_sleep_ns(100000);
    }
    unsigned long want = CVM_CAP_WRITE | CVM_CAP_STREAM;
    if (h > 0 && (cap.rights & want) != want) {
        printf("stream-cvm %s: '%s' has rights 0x%lx, not a stream's\n", cvm_boot_block->name, name,
               cap.rights);
        return -1;
    }
    return h;
}

static long post(const char *name, void *buf, unsigned long size, unsigned *word)
{
    return cvm_hc(STREAM_POST, name, buf, size, word);
}

/* Waits for message seq in buf (size bytes) and checks its length and number; 0 or -1. */
static int receive(unsigned *word, const char *buf, unsigned long size, unsigned long seq)
{
    /* No time limit: a peer that is gone ends the deployment, or its --timeout does. */
    long got = cvm_stream_wait(word, NULL);
    if (got < 0) {
        fail("cvm_stream_wait", got);
        return -1;
    }
    const struct head *h = (const struct head *)buf;
    if ((unsigned long)got != size || h->seq != seq) {
        printf("stream-cvm %s: message %lu: %ld bytes, number %lu; expected %lu bytes\n",
               cvm_boot_block->name, seq, got, h->seq, size);
        return -1;
    }
    return 0;
}

static int recv_tput(unsigned long size, unsigned long n, unsigned long bufs)
{
    if (bufs > MAX_BUFS || size < sizeof(struct head))
        return fail("bad arguments", -1);
    if (bufs > n)
        bufs = n;
    char *mem = take(size * bufs);
    if (!mem)
        return fail("heap too small", (long)(size * bufs));
    for (unsigned long i = 0; i < bufs; i++) {
        long r = post("bench", mem + i * size, size, &done[i]);
        if (r <= 0)
            return fail("stream_post", r);
    }
    unsigned long t0 = 0;
    /* Messages land in the oldest buffer, so message k is in buffer k % bufs. */
    for (unsigned long k = 0; k < n; k++) {
        unsigned long slot = k % bufs;
        char *buf = mem + slot * size;
        if (receive(&done[slot], buf, size, k) < 0)
            return 1;
        if (k == 0)
            t0 = ((const struct head *)buf)->t0;
        if (k + bufs < n) {
            long r = post("bench", buf, size, &done[slot]);
            if (r <= 0)
                return fail("stream_post", r);
        }
    }
    unsigned long t1 = now_ns();
    printf("stream tput %lu x %lu (%lu buffers): %lu bytes in %lu ns\n", size, n, bufs, size * n,
           t1 - t0);
    return 0;
}

static int send_tput(unsigned long size, unsigned long n)
{
    if (size < sizeof(struct head))
        return fail("bad arguments", -1);
    char *msg = take(size);
    if (!msg)
        return fail("heap too small", (long)size);
    long h = probe_stream("bench");
    if (h <= 0)
        return fail("cap_probe 'bench'", h);
    struct head *hd = (struct head *)msg;
    hd->t0 = now_ns();
    for (unsigned long k = 0; k < n; k++) {
        hd->seq = k;
        long r = cvm_hc(CAP_WRITE, h, msg, size, 0);
        if (r != (long)size)
            return fail("cap_write", r);
    }
    return 0;
}

/* Shell sort with Ciura's gaps: no libc here, and n is some thousands. */
static void sort(unsigned long *v, unsigned long n)
{
    static const unsigned long gaps[] = {1750, 701, 301, 132, 57, 23, 10, 4, 1};
    for (unsigned g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
        unsigned long gap = gaps[g];
        for (unsigned long i = gap; i < n; i++) {
            unsigned long x = v[i], j = i;
            for (; j >= gap && v[j - gap] > x; j -= gap)
                v[j] = v[j - gap];
            v[j] = x;
        }
    }
}

/* One side of the ping-pong: receives on stream in_name, sends on out_name; the pinger sends
 * first and times each round trip. */
static int pingpong(int pinger, unsigned long n)
{
    const char *in_name = pinger ? "pong" : "ping", *out_name = pinger ? "ping" : "pong";
    char *in = take(PING_SIZE), *out = take(PING_SIZE);
    unsigned long *trips = NULL;
    if (!in || !out || (pinger && !(trips = take(n * sizeof(*trips)))))
        return fail("heap too small", (long)n);
    long r = post(in_name, in, PING_SIZE, &done[0]);
    if (r <= 0)
        return fail("stream_post", r);
    long h = probe_stream(out_name);
    if (h <= 0)
        return fail("cap_probe", h);
    struct head *hd = (struct head *)out;
    unsigned long total = WARMUP_TRIPS + n, t = now_ns();
    for (unsigned long k = 0; k < total; k++) {
        if (pinger) {
            hd->seq = k;
            r = cvm_hc(CAP_WRITE, h, out, PING_SIZE, 0);
            if (r != PING_SIZE)
                return fail("cap_write", r);
        }
        if (receive(&done[0], in, PING_SIZE, k) < 0)
            return 1;
        /* Posted again before anything is sent, so that the next message finds it. */
        if (k + 1 < total) {
            r = post(in_name, in, PING_SIZE, &done[0]);
            if (r <= 0)
                return fail("stream_post", r);
        }
        if (!pinger) {
            hd->seq = k;
            r = cvm_hc(CAP_WRITE, h, out, PING_SIZE, 0);
            if (r != PING_SIZE)
                return fail("cap_write", r);
            continue;
        }
        unsigned long t1 = now_ns();
        if (k >= WARMUP_TRIPS)
            trips[k - WARMUP_TRIPS] = t1 - t;
        t = t1;
    }
    if (pinger) {
        sort(trips, n);
        unsigned long trip = trips[n / 2];
        /* What reading the clock adds to each round trip: the median of back-to-back reads. */
        unsigned long k = n < 1001 ? n : 1001;
        t = now_ns();
        for (unsigned long i = 0; i < k; i++) {
            unsigned long t1 = now_ns();
            trips[i] = t1 - t;
            t = t1;
        }
        sort(trips, k);
        printf("stream pingpong %lu: median %lu ns (clock %lu ns)\n", n, trip, trips[k / 2]);
    }
    return 0;
}

int main(int argc, char **argv, char **envp)
{
    (void)envp;
    const struct cvm_boot *b = cvm_boot_block;
    heap_next = (char *)b->heap_base;
    heap_end = (char *)(b->heap_base + b->heap_size);
    unsigned long size = 0, n = 0, bufs = 0;
    const char *role = argc > 1 ? argv[1] : "";
    int tput = strcmp(role, "recv") == 0 || strcmp(role, "send") == 0;
    int pp = strcmp(role, "ping") == 0 || strcmp(role, "pong") == 0;
    int recv = strcmp(role, "recv") == 0;
    if (tput && argc == (recv ? 5 : 4) && parse_count(argv[2], &size) == 0 &&
        parse_count(argv[3], &n) == 0 && (!recv || parse_count(argv[4], &bufs) == 0))
        return recv ? recv_tput(size, n, bufs) : send_tput(size, n);
    if (pp && argc == 3 && parse_count(argv[2], &n) == 0)
        return pingpong(role[1] == 'i', n);
    printf("usage: stream-cvm recv SIZE N BUFS | send SIZE N | ping N | pong N\n");
    return 2;
}
