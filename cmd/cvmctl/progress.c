/* Transfer progress on stderr. On a terminal the blobs in flight each hold a live line at the
 * bottom, redrawn at most ten times a second; finished blobs, retries and manifests are
 * printed above them as a permanent log. Elsewhere only the log is printed. */
#include "progress.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base.h"
#include "image-cli.h"
#include "image.h"

#define REDRAW_NS 100000000ull /* 10 redraws a second */
#define TITLE_MAX 24           /* of a live line; the log keeps the whole title */

struct live_blob {
    struct cvm_digest digest;
    char title[TITLE_MAX + 1];
    uint64_t size, bytes;
    uint64_t start; /* cvm_clock_ns() */
};

struct cvmctl_progress {
    struct cvm_transfer_progress sink;
    bool quiet, tty;
    unsigned width; /* of the terminal: a live line that wrapped would break the redraw */
    const char *verb;
    struct live_blob *live;
    size_t n_live, cap_live;
    size_t drawn; /* live lines on screen, the cursor below them */
    uint64_t last_draw;
};

static void short_hex(const struct cvm_digest *d, char out[13])
{
    char hex[CVM_DIGEST_HEX_LEN + 1];
    cvm_digest_hex(d, hex);
    memcpy(out, hex, 12);
    out[12] = '\0';
}

static void erase_live(struct cvmctl_progress *p)
{
    if (p->drawn > 0)
        fprintf(stderr, "\033[%zuA\033[J", p->drawn);
    p->drawn = 0;
}

static void draw_live(struct cvmctl_progress *p)
{
    uint64_t now = cvm_clock_ns();
    for (size_t i = 0; i < p->n_live; i++) {
        const struct live_blob *b = &p->live[i];
        double t = (double)(now - b->start) / 1e9;
        double rate = t > 0 ? (double)b->bytes / t : 0;
        char hex[13], done[32], total[32], r[32], eta[32] = "--";
        short_hex(&b->digest, hex);
        cvmctl_human_size(b->bytes, done);
        cvmctl_human_size(b->size, total);
        cvmctl_human_size((uint64_t)rate, r);
        if (rate > 0 && b->size > b->bytes)
            snprintf(eta, sizeof(eta), "%.0f s", (double)(b->size - b->bytes) / rate);
        char line[256];
        snprintf(line, sizeof(line), "%s blob %s (%s) %s / %s, %s/s, ETA %s", p->verb, hex,
                 b->title, done, total, r, eta);
        if (p->width > 1 && strlen(line) >= p->width)
            line[p->width - 1] = '\0';
        fprintf(stderr, "%s\n", line);
    }
    p->drawn = p->n_live;
    p->last_draw = now;
}

/* One line of the permanent log, above the live lines. */
static void log_line(struct cvmctl_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void log_line(struct cvmctl_progress *p, const char *fmt, ...)
{
    if (p->tty)
        erase_live(p);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (p->tty)
        draw_live(p);
}

static struct live_blob *find_live(struct cvmctl_progress *p, const struct cvm_digest *d)
{
    for (size_t i = 0; d && i < p->n_live; i++)
        if (cvm_digest_equal(&p->live[i].digest, d))
            return &p->live[i];
    return NULL;
}

static void blob_started(struct cvmctl_progress *p, const struct cvm_transfer_event *ev)
{
    if (!p->tty || !ev->digest || find_live(p, ev->digest))
        return;
    if (p->n_live == p->cap_live) {
        size_t cap = p->cap_live ? 2 * p->cap_live : 8;
        struct live_blob *grown = realloc(p->live, cap * sizeof(*grown));
        if (!grown)
            return; /* the blob still gets its log line when done */
        p->live = grown;
        p->cap_live = cap;
    }
    struct live_blob *b = &p->live[p->n_live++];
    *b = (struct live_blob){.digest = *ev->digest, .size = ev->size, .start = cvm_clock_ns()};
    snprintf(b->title, sizeof(b->title), "%s", ev->title ? ev->title : "");
    erase_live(p);
    draw_live(p);
}

static void blob_moved(struct cvmctl_progress *p, const struct cvm_transfer_event *ev)
{
    struct live_blob *b = find_live(p, ev->digest);
    if (!b)
        return;
    /* A retried upload sends bytes again: the line never shows more than the blob. */
    b->bytes = b->size - b->bytes < ev->bytes ? b->size : b->bytes + ev->bytes;
    if (cvm_clock_ns() - p->last_draw >= REDRAW_NS) {
        erase_live(p);
        draw_live(p);
    }
}

static void blob_done(struct cvmctl_progress *p, const struct cvm_transfer_event *ev)
{
    struct live_blob *b = find_live(p, ev->digest);
    if (b) {
        size_t i = (size_t)(b - p->live);
        memmove(b, b + 1, (p->n_live - i - 1) * sizeof(*b));
        p->n_live--;
    }
    char hex[13] = "", size[32];
    if (ev->digest)
        short_hex(ev->digest, hex);
    log_line(p, "%s blob %s (%s, %s) done", p->verb, hex, ev->title ? ev->title : "",
             cvmctl_human_size(ev->size, size));
}

static void on_event(void *data, const struct cvm_transfer_event *ev)
{
    struct cvmctl_progress *p = data;
    if (p->quiet)
        return;
    char hex[13] = "";
    switch (ev->kind) {
    case CVM_TRANSFER_BLOB_SKIPPED:
        if (ev->digest)
            short_hex(ev->digest, hex);
        log_line(p, "%s blob %s (%s) skipped: already exists", p->verb, hex,
                 ev->title ? ev->title : "");
        break;
    case CVM_TRANSFER_BLOB_START: blob_started(p, ev); break;
    case CVM_TRANSFER_BLOB_BYTES: blob_moved(p, ev); break;
    case CVM_TRANSFER_BLOB_DONE: blob_done(p, ev); break;
    case CVM_TRANSFER_RETRY: log_line(p, "%s", ev->message); break;
    case CVM_TRANSFER_MANIFEST:
        log_line(p, "Writing %s", ev->title ? ev->title : "manifest");
        break;
    }
}

struct cvmctl_progress *cvmctl_progress_new(bool quiet, const char *verb)
{
    struct cvmctl_progress *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->sink.event = on_event;
    p->sink.data = p;
    p->quiet = quiet;
    p->tty = isatty(STDERR_FILENO);
    struct winsize ws;
    if (p->tty && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0)
        p->width = ws.ws_col;
    p->verb = verb;
    return p;
}

const struct cvm_transfer_progress *cvmctl_progress_sink(struct cvmctl_progress *p)
{
    return p ? &p->sink : NULL;
}

void cvmctl_progress_free(struct cvmctl_progress *p)
{
    if (!p)
        return;
    if (p->tty)
        erase_live(p);
    free(p->live);
    free(p);
}
