#include "registry-cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"
#include "image-cli.h"

void cvmctl_registry_opts_init(struct cvmctl_registry_opts *ro)
{
    memset(ro, 0, sizeof(*ro));
    ro->o.http.tls_verify = true;
    ro->o.http.user_agent = "cvmctl/" CVMCTL_VERSION;
}

int cvmctl_registry_option(struct cvmctl_registry_opts *ro, const struct cvmctl_command *cmd, int c,
                           char *arg)
{
    switch (c) {
    case REGISTRY_OPT_TLS_VERIFY:
        if (strcmp(arg, "true") == 0) {
            ro->o.http.tls_verify = true;
            ro->o.allow_http = false;
        } else if (strcmp(arg, "false") == 0) {
            ro->o.http.tls_verify = false;
            ro->o.allow_http = true;
        } else {
            cvmctl_misuse(cmd, "--tls-verify takes true or false, not '%s'", arg);
            return -1;
        }
        return 1;
    case REGISTRY_OPT_CERT_DIR: ro->o.http.cert_dir = arg; return 1;
    case REGISTRY_OPT_AUTHFILE:
        ro->authfile = arg;
        ro->auth_files[0] = arg;
        ro->auth_files[1] = NULL;
        ro->o.auth_files = ro->auth_files;
        return 1;
    case REGISTRY_OPT_CREDS: {
        /* Split in place: optarg points into argv, which outlives the command. */
        char *colon = strchr(arg, ':');
        if (colon)
            *colon = '\0';
        if (!arg[0]) {
            cvmctl_misuse(cmd, "--creds needs a user name: --creds <user[:password]>");
            return -1;
        }
        ro->o.username = arg;
        ro->o.password = colon ? colon + 1 : "";
        return 1;
    }
    default: return 0;
    }
}

/* ---- progress ----------------------------------------------------------------------------- */

struct cvmctl_progress {
    struct cvm_transfer_progress sink;
    bool quiet, tty;
    const char *verb; /* "Copying", as skopeo says */
    uint64_t total, done_bytes;
    uint64_t start, last_draw; /* cvm_clock_ns() */
    bool line_open;            /* a status line is on screen, to be overwritten */
};

static double seconds_since(uint64_t t)
{
    return (double)(cvm_clock_ns() - t) / 1e9;
}

static void clear_line(struct cvmctl_progress *p)
{
    if (p->line_open) {
        fputs("\r\033[K", stderr);
        p->line_open = false;
    }
}

static void draw_status(struct cvmctl_progress *p)
{
    double t = seconds_since(p->start);
    double rate = t > 0 ? (double)p->done_bytes / t : 0;
    char done[32], total[32], r[32];
    cvmctl_human_size(p->done_bytes, done);
    cvmctl_human_size(p->total > p->done_bytes ? p->total : p->done_bytes, total);
    cvmctl_human_size((uint64_t)rate, r);
    char eta[32] = "--";
    if (rate > 0 && p->total > p->done_bytes)
        snprintf(eta, sizeof(eta), "%.0f s", (double)(p->total - p->done_bytes) / rate);
    fprintf(stderr, "\r\033[K%s %s / %s, %s/s, ETA %s", p->verb, done, total, r, eta);
    p->line_open = true;
    p->last_draw = cvm_clock_ns();
}

static void on_event(void *data, const struct cvm_transfer_event *ev)
{
    struct cvmctl_progress *p = data;
    if (p->quiet)
        return;
    char size[32];
    char hex[CVM_DIGEST_HEX_LEN + 1] = "";
    if (ev->digest)
        cvm_digest_hex(ev->digest, hex);
    hex[12] = '\0';
    switch (ev->kind) {
    case CVM_TRANSFER_BLOB_SKIPPED:
        clear_line(p);
        fprintf(stderr, "%s blob %s (%s) skipped: already exists\n", p->verb, hex,
                ev->title ? ev->title : "");
        break;
    case CVM_TRANSFER_BLOB_START: p->total += ev->size; break;
    case CVM_TRANSFER_BLOB_BYTES:
        p->done_bytes += ev->bytes;
        if (p->tty && seconds_since(p->last_draw) > 0.1)
            draw_status(p);
        break;
    case CVM_TRANSFER_BLOB_DONE:
        clear_line(p);
        fprintf(stderr, "%s blob %s (%s, %s) done\n", p->verb, hex, ev->title ? ev->title : "",
                cvmctl_human_size(ev->size, size));
        if (p->tty)
            draw_status(p);
        break;
    case CVM_TRANSFER_RETRY:
        clear_line(p);
        fprintf(stderr, "%s\n", ev->message);
        break;
    case CVM_TRANSFER_MANIFEST:
        clear_line(p);
        fprintf(stderr, "Writing %s\n", ev->title ? ev->title : "manifest");
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
    p->verb = verb;
    p->start = cvm_clock_ns();
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
    clear_line(p);
    free(p);
}
