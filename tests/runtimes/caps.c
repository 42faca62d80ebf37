/* caps: CAP_Files, CAP_Calls and streams between baremetal cVMs (specs/hostcall-abi.md §8).
 * One role per argv[1]; tests/e2e/t0018-monitor-caps.sh deploys them alone or in pairs, the
 * second cVM of a pair started a second after the first (`wait: 1`). */
#include "cvm.h"

#define EXIT_PROTOCOL 99 /* a handshake failed: the test shows the line before it */

static const struct cvm_boot *boot(void)
{
    return cvm_boot_block;
}

static void show(const char *what, long r)
{
    printf("%s: %ld\n", what, r);
}

/* A handle's number is the monitor's business: only its being > 0 is shown. */
static void show_handle(const char *what, long h)
{
    if (h > 0)
        printf("%s: handle\n", what);
    else
        printf("%s: %ld\n", what, h);
}

static _Noreturn void fail(const char *what, long r)
{
    printf("FAIL %s: %ld\n", what, r);
    cvm_exit(EXIT_PROTOCOL);
}

/* The bytes of buf, with \n, \0 and other unprintable bytes escaped; valid until the next call. */
static const char *quote(const void *buf, unsigned long len)
{
    static char out[512];
    const unsigned char *p = buf;
    unsigned long o = 0;
    for (unsigned long i = 0; i < len && o + 5 < sizeof(out); i++) {
        if (p[i] == '\n') {
            out[o++] = '\\', out[o++] = 'n';
        } else if (p[i] == 0) {
            out[o++] = '\\', out[o++] = '0';
        } else if (p[i] < 0x20 || p[i] >= 0x7f) {
            o += (unsigned long)snprintf(out + o, 5, "\\x%02x", p[i]);
        } else {
            out[o++] = (char)p[i];
        }
    }
    out[o] = 0;
    return out;
}

static long parse_long(const char *s)
{
    long v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    return v;
}

static long advertise(const void *addr, unsigned long size, const char *name, long rights)
{
    return cvm_hc(CAP_ADVERTISE, addr, size, name, rights);
}

static long cap_read(long h, void *buf, unsigned long len, unsigned long offset)
{
    return cvm_hc(CAP_READ, h, buf, len, offset);
}

static long cap_write(long h, const void *buf, unsigned long len, unsigned long offset)
{
    return cvm_hc(CAP_WRITE, h, buf, len, offset);
}

static long revoke(long h)
{
    return cvm_hc(CAP_REVOKE, h);
}

static long post(const char *name, void *buf, unsigned long size, unsigned *done)
{
    return cvm_hc(STREAM_POST, name, buf, size, done);
}

/* Probes name and prints "what: size S rights R"; returns the handle or the error. */
static long probe_show(const char *what, const char *name)
{
    struct cvm_hc_cap cap = {0, 0};
    long h = cvm_hc(CAP_PROBE, name, &cap);
    if (h > 0)
        printf("%s: size %lu rights %lu\n", what, cap.size, cap.rights);
    else
        show(what, h);
    return h;
}

static long probe(const char *name)
{
    struct cvm_hc_cap cap;
    return cvm_hc(CAP_PROBE, name, &cap);
}

/* Reads len bytes at offset through h and prints them quoted. */
static void read_show(const char *what, long h, unsigned long len, unsigned long offset)
{
    char buf[128];
    memset(buf, 0, sizeof(buf));
    long r = cap_read(h, buf, len, offset);
    if (r >= 0)
        printf("%s: %ld '%s'\n", what, r, quote(buf, (unsigned long)r));
    else
        show(what, r);
}

/* ---- a control channel: one stream per cVM, one buffer queued at a time -------------------
 * The owner of a channel posts its buffer before its peer may send; a sender waits until a
 * buffer is queued, so a message is never lost and the two sides take turns printing. */
struct chan {
    const char *name;
    unsigned done;
    char buf[128];
};

static void chan_post(struct chan *c)
{
    memset(c->buf, 0, sizeof(c->buf));
    long r = post(c->name, c->buf, sizeof(c->buf), &c->done);
    if (r <= 0)
        fail("post control buffer", r);
}

/* Waits for the message in the queued buffer; the buffer is not queued again. */
static const char *chan_wait(struct chan *c)
{
    long n = cvm_stream_wait(&c->done, NULL);
    if (n <= 0)
        fail("wait for a control message", n);
    return c->buf;
}

static void chan_send(long peer, const char *msg)
{
    long r = cap_write(peer, msg, strlen(msg) + 1, 0);
    if (r != (long)strlen(msg) + 1)
        fail("send a control message", r);
}

static long probe_or_fail(const char *name)
{
    long h = probe(name);
    if (h <= 0)
        fail("probe the peer's channel", h);
    return h;
}

static void expect_msg(const char *got, const char *want)
{
    if (strcmp(got, want) != 0) {
        printf("FAIL expected '%s', got '%s'\n", want, got);
        cvm_exit(EXIT_PROTOCOL);
    }
}

/* ---- CAP_Files between two cVMs ---------------------------------------------------------- */
static char ro_buf[32] = "owner's read-only bytes";
static char wo_buf[32];
static char rw_buf[32] = "owner's shared bytes";
static char rw2_buf[16] = "second object";

static int file_owner(void)
{
    static struct chan ctl = {.name = "file-owner"};
    show_handle("owner: advertise ro (read)", advertise(ro_buf, sizeof(ro_buf), "ro", 1));
    show_handle("owner: advertise wo (write)", advertise(wo_buf, sizeof(wo_buf), "wo", 2));
    long rw = advertise(rw_buf, sizeof(rw_buf), "rw", 3);
    show_handle("owner: advertise rw (read, write)", rw);
    chan_post(&ctl);
    printf("owner: waiting\n");
    expect_msg(chan_wait(&ctl), "written");
    long peer = probe_or_fail("file-prober");
    printf("owner: ro holds '%s'\n", quote(ro_buf, sizeof(ro_buf)));
    printf("owner: wo holds '%s'\n", quote(wo_buf, sizeof(wo_buf)));
    printf("owner: rw holds '%s'\n", quote(rw_buf, sizeof(rw_buf)));
    show("owner: revoke rw", revoke(rw));
    show("owner: revoke rw again", revoke(rw));
    char tmp[4];
    show("owner: read through its revoked handle", cap_read(rw, tmp, sizeof(tmp), 0));
    chan_post(&ctl);
    chan_send(peer, "revoked");
    expect_msg(chan_wait(&ctl), "advertise again");
    long rw2 = advertise(rw2_buf, sizeof(rw2_buf), "rw", 3);
    show_handle("owner: advertise rw again", rw2);
    show("owner: its new handle differs from the revoked one", rw2 != rw);
    chan_post(&ctl);
    chan_send(peer, "readvertised");
    expect_msg(chan_wait(&ctl), "exit");
    printf("owner: ends\n");
    return 0;
}

static int file_prober(void)
{
    static struct chan ctl = {.name = "file-prober"};
    chan_post(&ctl);
    long owner = probe_or_fail("file-owner");
    long ro = probe_show("probe ro", "ro");
    long wo = probe_show("probe wo", "wo");
    long rw = probe_show("probe rw", "rw");
    long t1 = probe_show("probe test1 (declared)", "test1");
    long big = probe_show("probe big (declared)", "big");
    show("probe ro again gives the same handle", probe("ro") == ro);

    read_show("read ro", ro, 32, 0);
    show("write ro", cap_write(ro, "x", 1, 0));
    read_show("read wo", wo, 4, 0);
    show("write wo at 2", cap_write(wo, "from prober", 11, 2));
    read_show("read rw at 8", rw, 12, 8);
    show("write rw at 0", cap_write(rw, "PROBER", 6, 0));
    read_show("read rw", rw, 32, 0);
    show("read rw, length 0", cap_read(rw, ro_buf, 0, 0));

    read_show("read test1", t1, 32, 0);
    show("write test1", cap_write(t1, "Howdy", 5, 0));
    read_show("read test1 again", t1, 12, 0);
    read_show("read big at 9998", big, 2, 9998);
    show("write big at 9999", cap_write(big, "Z", 1, 9999));
    read_show("read big at 9998 again", big, 2, 9998);
    show("revoke test1 (no owner)", revoke(t1));

    chan_send(owner, "written");
    expect_msg(chan_wait(&ctl), "revoked");
    char tmp[8];
    show("read rw after revocation", cap_read(rw, tmp, sizeof(tmp), 0));
    show("write rw after revocation", cap_write(rw, "x", 1, 0));
    show("probe rw after revocation", probe("rw"));
    read_show("read ro (not revoked)", ro, 9, 0);

    chan_post(&ctl);
    chan_send(owner, "advertise again");
    expect_msg(chan_wait(&ctl), "readvertised");
    long rw2 = probe_show("probe rw again", "rw");
    show("the new handle differs from the old", rw2 != rw);
    read_show("read the new rw", rw2, 16, 0);
    show("read the old rw", cap_read(rw, tmp, sizeof(tmp), 0));

    chan_send(owner, "exit");
    /* Nothing is queued on the owner's channel any more: this send waits for its end. */
    show("send to the owner's channel after its end", cap_write(owner, "x", 1, 0));
    show("read ro after the owner's end", cap_read(ro, tmp, sizeof(tmp), 0));
    show("write wo after the owner's end", cap_write(wo, "x", 1, 0));
    show("read the new rw after the owner's end", cap_read(rw2, tmp, sizeof(tmp), 0));
    show("probe ro after the owner's end", probe("ro"));
    show("probe the owner's channel after its end", probe("file-owner"));
    read_show("read test1 after the owner's end", t1, 12, 0);
    return 0;
}

/* ---- CAP_Calls ----------------------------------------------------------------------------- */
static long add_calls;
static long nest_handle;

static long cap_add(long a, long b, long c, long d)
{
    volatile long local = 0;
    unsigned long at = (unsigned long)&local;
    const struct cvm_boot *me = boot();
    int inside = at >= me->window_base && at - me->window_base < me->window_size;
    printf("add: in cVM %ld ('%s'), local variable in its window: %d, args %ld %ld %ld %ld\n",
           cvm_hc(GETID), me->name, inside, a, b, c, d);
    add_calls++;
    return a * 1000 + b * 100 + c * 10 + d + local;
}

static long cap_crash(long a, long b, long c, long d)
{
    (void)b, (void)c, (void)d;
    printf("crash: writing to NULL\n");
    *(volatile long *)0 = a;
    return 0;
}

/* Calls itself through its own CAP_Call depth times: nests until -ELOOP stops it. */
static long cap_nest(long depth, long b, long c, long d)
{
    (void)b, (void)c, (void)d;
    if (depth <= 0)
        return 0;
    long r = cvm_hc(CAP_CALL, nest_handle, depth - 1, 0, 0, 0);
    return r < 0 ? r : r + 1;
}

static unsigned never; /* the callee's extra threads sleep on it until the cVM ends */

static long sleeper(void *arg)
{
    (void)arg;
    return cvm_hc(FUTEX_WAIT, &never, 0, NULL);
}

static int call_callee(void)
{
    static struct chan ctl = {.name = "callee"};
    show_handle("callee: advertise add", advertise(cap_add, 0, "add", 4));
    show_handle("callee: advertise crash", advertise(cap_crash, 0, "crash", 4));
    nest_handle = advertise(cap_nest, 0, "nest", 4);
    show_handle("callee: advertise nest", nest_handle);
    chan_post(&ctl);
    printf("callee: waiting\n");
    expect_msg(chan_wait(&ctl), "fill");
    printf("callee: still running, add ran %ld times\n", add_calls);
    /* Stack slots 1-15 go to sleepers: no slot is left to lend to a call. */
    int threads = 0;
    while (threads < 20 && cvm_thread_create(sleeper, NULL) > 0)
        threads++;
    printf("callee: %d threads hold every other stack slot\n", threads);
    long peer = probe_or_fail("caller");
    chan_post(&ctl);
    chan_send(peer, "filled");
    expect_msg(chan_wait(&ctl), "done");
    printf("callee: ends, its sleeping threads with it\n");
    return 0;
}

/* The callee of CAP_Calls a syscall server makes while it serves a Linux program's trapped
 * syscall (tests/runtimes/linuxserv.c, tests/linux/trapcaps.c); ends on the message 'done'. */
static int trap_callee(void)
{
    static struct chan ctl = {.name = "trap-callee"};
    show_handle("callee: advertise add", advertise(cap_add, 0, "add", 4));
    show_handle("callee: advertise crash", advertise(cap_crash, 0, "crash", 4));
    nest_handle = advertise(cap_nest, 0, "nest", 4);
    show_handle("callee: advertise nest", nest_handle);
    chan_post(&ctl);
    expect_msg(chan_wait(&ctl), "done");
    printf("callee: ends\n");
    return 0;
}

/* The order of the checks of stream_post and of a send (hostcall-abi §8), and what a failed
 * post leaves: nothing. */
static int check_order(void)
{
    static char small[4], buf[16];
    static unsigned done;
    const struct cvm_boot *b = boot();
    show("post 'leak' with the done word in the boot block",
         post("leak", buf, sizeof(buf), (unsigned *)b));
    show("probe 'leak' afterwards", probe("leak"));
    show("post with the done word inside the buffer",
         post("inside", buf, sizeof(buf), (unsigned *)(buf + 4)));
    long h = post("ord", small, sizeof(small), &done);
    show_handle("post a 4-byte buffer", h);
    show("send 8 bytes from outside the window (-EMSGSIZE first)",
         cap_write(h, (const void *)0x1000, 8, 0));
    show("revoke", revoke(h));
    show("send 2 bytes from outside the window (-EACCES first)",
         cap_write(h, (const void *)0x1000, 2, 0));
    show("send 0 bytes after revocation", cap_write(h, "x", 0, 0));
    show("send at offset 1 after revocation", cap_write(h, "x", 1, 1));
    return 0;
}

/* A revocation while copies overlap without pause: the owner of 64 MiB ends after two seconds
 * while four threads of another cVM read 16 MiB of it in a loop; the owner's end must revoke
 * (the readers' next read fails) instead of waiting behind them for ever. */
static int big_owner(void)
{
    long h = advertise((void *)boot()->heap_base, 64UL << 20, "big", 1);
    show_handle("owner: advertise 64 MiB", h);
    cvm_sleep_ns(2000000000L);
    printf("owner: ends\n");
    return 0;
}

static long big_handle;

static long big_reader(void *arg)
{
    char *buf = (char *)(boot()->heap_base + (unsigned long)arg * (16UL << 20));
    long r;
    while ((r = cvm_hc(CAP_READ, big_handle, buf, 16UL << 20, 0)) > 0)
        ;
    return r;
}

static int big_readers(void)
{
    big_handle = probe_or_fail("big");
    long tids[4];
    for (long i = 0; i < 4; i++)
        tids[i] = cvm_thread_create(big_reader, (void *)i);
    for (long i = 0; i < 4; i++) {
        long v = 0;
        cvm_thread_join(tids[i], &v);
        printf("reader %ld: last read %ld\n", i, v);
    }
    return 0;
}

static int call_caller(void)
{
    static struct chan ctl = {.name = "caller"};
    chan_post(&ctl);
    printf("caller: in cVM %ld ('%s')\n", cvm_hc(GETID), boot()->name);
    long callee = probe_or_fail("callee");
    long add = probe_show("probe add", "add");
    show("call add(1, 2, 3, 4)", cvm_hc(CAP_CALL, add, 1, 2, 3, 4));
    long crash = probe_show("probe crash", "crash");
    show("call crash", cvm_hc(CAP_CALL, crash, 7, 0, 0, 0));
    printf("caller: still running\n");
    show("call add(5, 6, 7, 8)", cvm_hc(CAP_CALL, add, 5, 6, 7, 8));
    long nest = probe("nest");
    show("call nest(7): 8 nested calls", cvm_hc(CAP_CALL, nest, 7, 0, 0, 0));
    show("call nest(8): 9 nested calls", cvm_hc(CAP_CALL, nest, 8, 0, 0, 0));
    show("call add(-1, 0, 0, 0)", cvm_hc(CAP_CALL, add, -1, 0, 0, 0));
    chan_send(callee, "fill");
    expect_msg(chan_wait(&ctl), "filled");
    show("call add with no free slot in the callee", cvm_hc(CAP_CALL, add, 1, 1, 1, 1));
    chan_send(callee, "done");
    /* The callee's end revokes its names: wait for it by sending to its channel. */
    show("send to the callee's channel after its end", cap_write(callee, "x", 1, 0));
    show("call add after the callee's end", cvm_hc(CAP_CALL, add, 1, 1, 1, 1));
    return 0;
}

/* ---- streams ------------------------------------------------------------------------------- */
/* Fixed heap addresses, so that the pointers printed are the same in every build. */
#define RECV_OFFSET 0x8005000UL
#define SEND_OFFSET 0x8405000UL

static int stream_single(void)
{
    char *recv = (char *)(boot()->window_base + RECV_OFFSET);
    char *send = (char *)(boot()->window_base + SEND_OFFSET);
    static unsigned done;
    memset(recv, 0, 64);
    printf("RECV:   clear ('%s') and publish ptr(%p) with key 'key1'\n", recv, (void *)recv);
    long r = post("key1", recv, 64, &done);
    if (r <= 0)
        fail("post", r);
    long h = probe("key1");
    if (h <= 0)
        fail("probe", h);
    memcpy(send, "text for ptr", 13);
    printf("SEND:   sending ptr (%p) with '%s'\n", (void *)send, send);
    r = cap_write(h, send, 13, 0);
    if (r != 13)
        fail("send", r);
    long n = cvm_stream_wait(&done, NULL);
    printf("RECV:   Check ptr (%p) after wait: '%s'\n", (void *)recv, recv);
    printf("RECV:   %ld bytes\n", n);

    /* Several buffers queued at once take the messages in order. */
    static char q[3][16];
    static unsigned qdone[3];
    static const char *const msgs[3] = {"first", "second", "third"};
    for (int i = 0; i < 3; i++)
        if ((r = post("queue", q[i], sizeof(q[i]), &qdone[i])) <= 0)
            fail("post to queue", r);
    long hq = probe("queue");
    for (int i = 0; i < 3; i++)
        if ((r = cap_write(hq, msgs[i], strlen(msgs[i]) + 1, 0)) <= 0)
            fail("send to queue", r);
    for (int i = 0; i < 3; i++) {
        n = cvm_stream_wait(&qdone[i], NULL);
        printf("queue[%d]: %ld '%s'\n", i, n, q[i]);
    }
    return 0;
}

static int stream_recv(long count)
{
    static char buf[64];
    static unsigned done;
    for (long i = 0; i < count; i++) {
        memset(buf, 0, sizeof(buf));
        long r = post("key1", buf, sizeof(buf), &done);
        if (r <= 0)
            fail("post", r);
        r = cvm_stream_wait(&done, NULL);
        if (r <= 0)
            fail("wait", r);
        /* "N:" padded to eight columns, as the LibOS example prints it. */
        char label[24];
        int w = snprintf(label, sizeof(label), "%ld:", i);
        while (w < 8 && w < (int)sizeof(label) - 1)
            label[w++] = ' ';
        label[w] = 0;
        printf("%srecv = '%s'\n", label, buf);
    }
    return 0;
}

static int stream_send(long count)
{
    long h = probe("key1");
    if (h <= 0)
        fail("probe", h);
    for (long i = 0; i < count; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof(msg), "send %ld", i);
        long r = cap_write(h, msg, (unsigned long)len + 1, 0);
        if (r != len + 1)
            fail("send", r);
    }
    return 0;
}

/* Several threads of one cVM send to one stream at once; the receiver keeps eight buffers
 * queued and checks that each thread's messages come in the order it sent them. */
#define SENDERS 4
#define NBUF 8

static long stream_count(long per_thread)
{
    static char bufs[NBUF][32];
    static unsigned done[NBUF];
    long next[SENDERS] = {0};
    long bad = 0;
    for (int i = 0; i < NBUF; i++) {
        long r = post("many", bufs[i], sizeof(bufs[i]), &done[i]);
        if (r <= 0)
            fail("post", r);
    }
    for (long k = 0; k < SENDERS * per_thread; k++) {
        int i = (int)(k % NBUF);
        long n = cvm_stream_wait(&done[i], NULL);
        if (n <= 0)
            fail("wait", n);
        long t = bufs[i][0] - '0';
        if (t < 0 || t >= SENDERS || parse_long(bufs[i] + 2) != next[t]++)
            bad++;
        if (k + NBUF < SENDERS * per_thread) {
            memset(bufs[i], 0, sizeof(bufs[i]));
            long r = post("many", bufs[i], sizeof(bufs[i]), &done[i]);
            if (r <= 0)
                fail("post again", r);
        }
    }
    for (int t = 0; t < SENDERS; t++)
        printf("sender %d: %ld messages\n", t, next[t]);
    printf("out of order or garbled: %ld\n", bad);
    return 0;
}

static long count_per_thread;

static long sender_thread(void *arg)
{
    long t = (long)arg;
    long h = probe("many");
    if (h <= 0)
        return h;
    for (long i = 0; i < count_per_thread; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof(msg), "%ld:%ld", t, i);
        long r = cap_write(h, msg, (unsigned long)len + 1, 0);
        if (r != len + 1)
            return r;
    }
    return 0;
}

static int stream_threads(long per_thread)
{
    long tids[SENDERS];
    count_per_thread = per_thread;
    for (long t = 0; t < SENDERS; t++)
        if ((tids[t] = cvm_thread_create(sender_thread, (void *)t)) <= 0)
            fail("thread_create", tids[t]);
    int failed = 0;
    for (int t = 0; t < SENDERS; t++) {
        long value = -1;
        long r = cvm_thread_join(tids[t], &value);
        if (r != 0 || value != 0) {
            printf("sender %d: join %ld, value %ld\n", t, r, value);
            failed = 1;
        }
    }
    return failed;
}

/* A receiver that takes one message and then never posts again: a second send waits. */
static int stream_stall(void)
{
    static char buf[64];
    static unsigned done;
    long r = post("key1", buf, sizeof(buf), &done);
    if (r <= 0)
        fail("post", r);
    printf("stall: got %ld bytes\n", cvm_stream_wait(&done, NULL));
    return (int)cvm_hc(FUTEX_WAIT, &never, 0, NULL);
}

/* ---- bad input ----------------------------------------------------------------------------- */
static char shared_buf[64];
static char bad_ro_buf[16] = "read only";
static char bad_wo_buf[16];

static long bad_target(long a, long b, long c, long d)
{
    return a + b + c + d;
}

static void long_name(char *name, unsigned long len)
{
    memset(name, 'a', len);
    name[len] = 0;
}

static int bad_owner(void)
{
    static struct chan ctl = {.name = "bad-owner"};
    const struct cvm_boot *b = boot();
    unsigned long end = b->window_base + b->window_size;
    long sh = advertise(shared_buf, sizeof(shared_buf), "shared", 3);
    show_handle("advertise shared", sh);
    long ro = advertise(bad_ro_buf, sizeof(bad_ro_buf), "readonly", 1);
    show_handle("advertise readonly", ro);
    show_handle("advertise writeonly", advertise(bad_wo_buf, sizeof(bad_wo_buf), "writeonly", 2));
    long fn = advertise(bad_target, 0, "fn", 4);
    show_handle("advertise fn", fn);

    static char name[300];
    static unsigned words[4];
    show("advertise an empty name", advertise(shared_buf, 8, "", 1));
    long_name(name, 256);
    show("advertise a 256-byte name", advertise(shared_buf, 8, name, 1));
    show("probe a 256-byte name", probe(name));
    show("post a 256-byte name", post(name, shared_buf, 8, &words[0]));
    long_name(name, 255);
    long h = advertise(shared_buf, 8, name, 1);
    show_handle("advertise a 255-byte name", h);
    show("revoke it", revoke(h));
    show("probe an empty name", probe(""));
    show("probe an unknown name", probe("nosuch"));
    show("probe a name outside the window", cvm_hc(CAP_PROBE, 0x1000, name));
    show("advertise outside the window", advertise((void *)0x1000, 16, "x", 1));
    show("advertise across the window end", advertise((void *)(end - 8), 16, "x", 1));
    show("advertise size 0", advertise(shared_buf, 0, "x", 1));
    show("advertise rights 0", advertise(shared_buf, 8, "x", 0));
    show("advertise rights 8", advertise(shared_buf, 8, "x", 8));
    show("advertise rights 16", advertise(shared_buf, 8, "x", 16));
    show("advertise rights 5 (call and read)", advertise(bad_target, 0, "x", 5));
    show("advertise rights -1", advertise(shared_buf, 8, "x", -1));
    show("advertise a call with size 8", advertise(bad_target, 8, "x", 4));
    show("advertise a call of data", advertise(shared_buf, 0, "x", 4));
    show("advertise a call of the heap", advertise((void *)b->heap_base, 0, "x", 4));
    show("advertise a call outside the window", advertise((void *)0x1000, 0, "x", 4));
    show("advertise the same name", advertise(bad_wo_buf, 8, "shared", 1));
    show("advertise a CAP_Call's name", advertise(bad_wo_buf, 8, "fn", 1));

    char buf[32];
    show("read with a number never issued", cap_read(999999, buf, 8, 0));
    show("read with handle 0", cap_read(0, buf, 8, 0));
    show("read with handle -1", cap_read(-1, buf, 8, 0));
    show("revoke a number never issued", revoke(999999));
    show("read length 0", cap_read(sh, buf, 0, 0));
    show("read beyond the bounds", cap_read(sh, buf, 8, 60));
    show("read at the end", cap_read(sh, buf, 1, 64));
    show("write beyond the bounds", cap_write(sh, buf, 8, 57));
    show("read with offset+len overflowing", cap_read(sh, buf, 16, -8UL));
    show("write with offset+len overflowing", cap_write(sh, buf, 16, -8UL));
    show("read into memory outside the window", cap_read(sh, (void *)0x1000, 8, 0));
    show("read into the boot block", cap_read(sh, (void *)b, 8, 0));
    show("read across the window end", cap_read(sh, (void *)(end - 4), 8, 0));
    show("write from memory outside the window", cap_write(sh, (void *)0x1000, 8, 0));
    show("call a CAP_File", cvm_hc(CAP_CALL, sh, 1, 2, 3, 4));
    show("read a CAP_Call", cap_read(fn, buf, 8, 0));
    show("write a CAP_Call", cap_write(fn, buf, 8, 0));
    show("call fn through its owner's handle", cvm_hc(CAP_CALL, fn, 1, 2, 3, 4));

    static char small4[4], small64[64];
    show("post an empty name", post("", small64, 8, &words[0]));
    show("post size 0", post("small", small64, 0, &words[0]));
    show("post a buffer outside the window", post("small", (void *)0x1000, 16, &words[0]));
    show("post a done word unaligned", post("small", small64, 8, (unsigned *)((char *)words + 1)));
    show("post a done word outside the window", post("small", small64, 8, (unsigned *)0x1000));
    show("post a done word in the boot block", post("small", small64, 8, (unsigned *)b));
    show("post under a CAP_File's name", post("shared", small64, 8, &words[0]));
    long hs = post("small", small4, sizeof(small4), &words[0]);
    show_handle("post 4 bytes to small", hs);
    show_handle("post 64 bytes to small", post("small", small64, sizeof(small64), &words[1]));
    show("advertise a stream's name", advertise(bad_wo_buf, 8, "small", 1));
    show("send 8 bytes into the 4-byte buffer", cap_write(hs, "12345678", 8, 0));
    show("send 0 bytes", cap_write(hs, "1", 0, 0));
    show("send at offset 1", cap_write(hs, "1", 1, 1));
    show("send from outside the window", cap_write(hs, (void *)0x1000, 2, 0));
    show("read a stream", cap_read(hs, buf, 1, 0));
    show("send 3 bytes", cap_write(hs, "abc", 3, 0));
    show("send 8 bytes", cap_write(hs, "12345678", 8, 0));
    long n = cvm_stream_wait(&words[0], NULL);
    printf("the 4-byte buffer got: %ld '%s'\n", n, quote(small4, 4));
    n = cvm_stream_wait(&words[1], NULL);
    printf("the 64-byte buffer got: %ld '%s'\n", n, quote(small64, 8));
    show("revoke small", revoke(hs));
    show("send to small after revocation", cap_write(hs, "abc", 3, 0));
    show("revoke small again", revoke(hs));

    /* Names: shared, readonly, writeonly and fn are in use; the rest up to 64 can be had. */
    static long handles[70];
    static char names[70][8];
    int got = 0;
    for (; got < 70; got++) {
        snprintf(names[got], sizeof(names[got]), "n%d", got);
        handles[got] = advertise(bad_wo_buf, 1, names[got], 1);
        if (handles[got] < 0)
            break;
    }
    printf("names advertised up to the limit: %d\n", got);
    show("the next name", got < 70 ? handles[got] : 0);
    show("a stream's name beyond the limit", post("many", small64, 8, &words[2]));
    int revoked = 0;
    for (int i = 0; i < got; i++)
        revoked += revoke(handles[i]) == 0;
    printf("revoked them: %d\n", revoked);

    static char bufs[65][8];
    static unsigned dones[65];
    int posted = 0;
    long hm = 0;
    for (; posted < 65; posted++) {
        long r = post("many", bufs[posted], 8, &dones[posted]);
        if (r < 0) {
            show("post the next buffer", r);
            break;
        }
        hm = r;
    }
    printf("buffers posted up to the limit: %d\n", posted);
    show("revoke many", revoke(hm));

    /* A CAP_File and a queued stream buffer on heap pages the owner then makes read-only:
     * copies into them fail with -EFAULT; the stream buffer is dropped, the next one used. */
    char *page = (char *)((b->heap_base + 0x10000) & ~0xfffUL);
    memcpy(page, "page", 5);
    show_handle("advertise guarded", advertise(page, 4096, "guarded", 3));
    static unsigned fdone[2];
    static char fbuf[16];
    show_handle("post a heap page to fragile", post("fragile", page + 4096, 16, &fdone[0]));
    show_handle("post 16 bytes to fragile", post("fragile", fbuf, sizeof(fbuf), &fdone[1]));
    show("make both pages read-only", cvm_hc(MPROTECT, page, 8192, 1));

    /* The owner's handle number, for the prober to try. */
    memcpy(shared_buf, &sh, sizeof(sh));
    chan_post(&ctl);
    printf("owner: waiting\n");
    expect_msg(chan_wait(&ctl), "revoke");
    long peer = probe_or_fail("bad-prober");
    n = cvm_stream_wait(&fdone[1], NULL);
    printf("owner: fragile's second buffer got: %ld '%s'\n", n, quote(fbuf, (unsigned long)n));
    show("owner: wait for fragile's dropped first buffer", cvm_stream_wait(&fdone[0], NULL));
    show("owner: revoke shared", revoke(sh));
    show("owner: revoke fn", revoke(fn));
    chan_post(&ctl);
    chan_send(peer, "revoked");
    expect_msg(chan_wait(&ctl), "end");
    printf("monitor survived\n");
    return 0;
}

static int bad_prober(void)
{
    static struct chan ctl = {.name = "bad-prober"};
    const struct cvm_boot *b = boot();
    chan_post(&ctl);
    long owner = probe_show("probe the owner's channel (a stream)", "bad-owner");
    if (owner <= 0)
        fail("probe", owner);
    long sh = probe_show("probe shared", "shared");
    long ro = probe_show("probe readonly", "readonly");
    long wo = probe_show("probe writeonly", "writeonly");
    long fn = probe_show("probe fn", "fn");
    show("probe into the boot block", cvm_hc(CAP_PROBE, "shared", b));
    show("probe into memory outside the window", cvm_hc(CAP_PROBE, "shared", 0x1000));
    char buf[32];
    show("write with a read-only handle", cap_write(ro, "x", 1, 0));
    show("read with a write-only handle", cap_read(wo, buf, 1, 0));
    show("call a CAP_File", cvm_hc(CAP_CALL, sh, 1, 2, 3, 4));
    show("read a CAP_Call", cap_read(fn, buf, 8, 0));
    show("call fn", cvm_hc(CAP_CALL, fn, 1, 2, 3, 4));
    show("revoke without the owner's handle", revoke(sh));
    show("revoke a CAP_Call without the owner's handle", revoke(fn));
    show("revoke a stream without the owner's handle", revoke(owner));
    show("read a stream", cap_read(owner, buf, 1, 0));
    long theirs = 0;
    if (cap_read(sh, &theirs, sizeof(theirs), 0) != sizeof(theirs))
        fail("read the owner's handle number", 0);
    show("the owner's handle number is not one of ours",
         theirs != sh && theirs != ro && theirs != wo && theirs != fn && theirs != owner);
    show("read with the owner's handle number", cap_read(theirs, buf, 8, 0));
    show("write with the owner's handle number", cap_write(theirs, buf, 8, 0));
    show("revoke with the owner's handle number", revoke(theirs));
    show("write from the boot block (read-only, as a source)", cap_write(sh, b, 8, 0));
    unsigned long guard = b->window_base + b->window_size - 256 * 1024;
    show("read into a guard page", cap_read(sh, (void *)guard, 8, 0));
    show("call a stream", cvm_hc(CAP_CALL, owner, 1, 2, 3, 4));
    long guarded = probe_show("probe guarded", "guarded");
    read_show("read guarded", guarded, 5, 0);
    show("write into guarded, read-only to its owner", cap_write(guarded, "x", 1, 0));
    long fragile = probe("fragile");
    show("send into a read-only buffer", cap_write(fragile, "lost", 5, 0));
    show("send again", cap_write(fragile, "second", 7, 0));
    unsigned long other = 0x10000000 + 0x1000; /* the owner's window */
    show("read into another cVM's window", cap_read(sh, (void *)other, 8, 0));
    show("write from another cVM's window", cap_write(sh, (void *)other, 8, 0));
    static unsigned word;
    static char pbuf[8];
    show("post to another cVM's stream", post("bad-owner", pbuf, sizeof(pbuf), &word));
    show("advertise another cVM's stream name", advertise(pbuf, 8, "bad-owner", 1));

    chan_send(owner, "revoke");
    expect_msg(chan_wait(&ctl), "revoked");
    show("read after revocation", cap_read(sh, buf, 8, 0));
    show("write after revocation", cap_write(sh, buf, 8, 0));
    show("call after revocation", cvm_hc(CAP_CALL, fn, 1, 2, 3, 4));
    show("probe after revocation", probe("shared"));
    show("read readonly (not revoked)", cap_read(ro, buf, 4, 0));
    chan_send(owner, "end");
    show("send to the owner's channel after its end", cap_write(owner, "x", 1, 0));
    printf("monitor survived\n");
    return 0;
}

/* Handles are issued at most 1024 times over a deployment's life. */
static int handles(void)
{
    static char byte[1];
    long i = 0;
    for (; i < 4096; i++) {
        long h = advertise(byte, 1, "h", 1);
        if (h < 0) {
            printf("handles issued: %ld\n", i);
            show("the next advertise", h);
            show("probe an unknown name still", probe("nosuch"));
            show("probe a declared CAP_File", probe("decl"));
            static char buf[8];
            static unsigned done;
            show("post to a new stream", post("new", buf, sizeof(buf), &done));
            return 0;
        }
        long r = revoke(h);
        if (r != 0)
            fail("revoke", r);
    }
    printf("handles issued: %ld, no limit\n", i);
    return 1;
}

int main(int argc, char **argv, char **envp)
{
    (void)envp;
    const char *role = argc > 1 ? argv[1] : "";
    long count = argc > 2 ? parse_long(argv[2]) : 0;
    if (strcmp(role, "file-owner") == 0)
        return file_owner();
    if (strcmp(role, "file-prober") == 0)
        return file_prober();
    if (strcmp(role, "call-callee") == 0)
        return call_callee();
    if (strcmp(role, "call-caller") == 0)
        return call_caller();
    if (strcmp(role, "trap-callee") == 0)
        return trap_callee();
    if (strcmp(role, "check-order") == 0)
        return check_order();
    if (strcmp(role, "big-owner") == 0)
        return big_owner();
    if (strcmp(role, "big-readers") == 0)
        return big_readers();
    if (strcmp(role, "stream-single") == 0)
        return stream_single();
    if (strcmp(role, "stream-recv") == 0)
        return stream_recv(count);
    if (strcmp(role, "stream-send") == 0)
        return stream_send(count);
    if (strcmp(role, "stream-count") == 0)
        return stream_count(count);
    if (strcmp(role, "stream-threads") == 0)
        return stream_threads(count);
    if (strcmp(role, "stream-stall") == 0)
        return stream_stall();
    if (strcmp(role, "bad-owner") == 0)
        return bad_owner();
    if (strcmp(role, "bad-prober") == 0)
        return bad_prober();
    if (strcmp(role, "handles") == 0)
        return handles();
    printf("usage: caps file-owner | file-prober | call-callee | call-caller | trap-callee |\n"
           "       check-order | big-owner | big-readers | stream-single |\n"
           "       stream-recv N | stream-send N | stream-count N | stream-threads N |\n"
           "       stream-stall | bad-owner | bad-prober | handles\n");
    return 2;
}
