/* cVM and deployment measurements: canonical, versioned logs hashed with SHA-256
 * (specs/measurement.md §2-3). The same code computes the expected value at build time and
 * the actual one at deploy, so the two can only differ when the bytes differ. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "internal.h"
#include "loader.h"
#include "monitor.h"

/* Appends "key value\n" lines; strings as netstrings (length, ':', bytes) so that no value
 * can imitate a line of another. */
struct log_writer {
    struct cvm_buf *buf;
    struct cvm_error **err;
    int r;
};

static void put(struct log_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct log_writer *w, const char *fmt, ...)
{
    if (w->r < 0)
        return;
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* Formats carry only keys, numbers and digests; strings go through put_string. */
    if (n < 0 || (size_t)n >= sizeof(line))
        w->r = cvm_error_set(w->err, CVM_E_LIMIT, "measurement log line too long");
    else
        w->r = cvm_buf_append(w->buf, line, (size_t)n, w->err);
}

static void put_string(struct log_writer *w, const char *key, const char *s)
{
    put(w, "%s %zu:", key, strlen(s));
    if (w->r >= 0)
        w->r = cvm_buf_append(w->buf, s, strlen(s), w->err);
    put(w, "\n");
}

static void put_digest(struct log_writer *w, const char *key, const uint8_t *d)
{
    if (!d) {
        put(w, "%s none\n", key);
        return;
    }
    char hex[2 * CVM_SHA256_LEN + 1];
    for (size_t i = 0; i < CVM_SHA256_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    put(w, "%s sha256:%s\n", key, hex);
}

static void put_link(struct log_writer *w, const struct cvm_deploy_spec *spec, const char *key,
                     int target, const char *none)
{
    if (target < 0)
        put(w, "%s %s\n", key, none);
    else
        put_string(w, key, spec->vms[target].name);
}

int cvm_measure_vm_log(const struct cvm_deploy_spec *spec, size_t i,
                       const uint8_t runtime[CVM_SHA256_LEN], const uint8_t *ldso,
                       const uint8_t *rootfs, struct cvm_buf *log, struct cvm_error **err)
{
    const struct cvm_vm_spec *vm = &spec->vms[i];
    struct cvm_heap_plan plan;
    int r = cvm_heap_plan_make(spec, &plan, err);
    if (r < 0)
        return r;
    struct log_writer w = {.buf = log, .err = err};
    put(&w, "cvm-measurement-v1\n");
    put_string(&w, "name", vm->name);
    if (vm->abi == CVM_ABI_LINUX)
        put(&w, "abi linux\n");
    put_digest(&w, "runtime", runtime);
    put_digest(&w, "ldso", ldso);
    put_digest(&w, "rootfs", rootfs);
    put(&w, "window 0x%" PRIx64 " 0x%" PRIx64 "\n", vm->base, vm->size);
    /* The heap as deployed: the spec's heap mode applied, a shared heap's base placed. */
    int h = plan.of_vm[i];
    if (h < 0) {
        put(&w, "heap clean-room\n");
    } else {
        const char *group = plan.heaps[h].name;
        put(&w, "heap shared %zu:", strlen(group));
        if (w.r >= 0)
            w.r = cvm_buf_append(w.buf, group, strlen(group), w.err);
        put(&w, " 0x%" PRIx64 " 0x%" PRIx64 "\n", plan.heaps[h].base, plan.heaps[h].size);
    }
    put_link(&w, spec, "callback_out", vm->callback_out, "monitor");
    put_link(&w, spec, "callback_in", vm->callback_in, "none");
    put(&w, "wait %d\n", vm->wait_seconds);
    put(&w, "argc %zu\n", vm->argc);
    for (size_t k = 0; k < vm->argc; k++)
        put_string(&w, "arg", vm->argv[k]);
    put(&w, "envc %zu\n", vm->envc);
    for (size_t k = 0; k < vm->envc; k++)
        put_string(&w, "env", vm->envp[k]);
    return w.r;
}

int cvm_measure_deployment_log(const struct cvm_deploy_spec *spec,
                               const uint8_t (*cvm)[CVM_SHA256_LEN], struct cvm_buf *log,
                               struct cvm_error **err)
{
    struct log_writer w = {.buf = log, .err = err};
    put(&w, "cvm-deployment-v1\n");
    put(&w, "cvms %zu\n", spec->n_vms);
    for (size_t i = 0; i < spec->n_vms; i++)
        put_digest(&w, "cvm", cvm[i]);
    put(&w, "capfiles %zu\n", spec->n_capfiles);
    for (size_t i = 0; i < spec->n_capfiles; i++) {
        const struct cvm_capfile_spec *c = &spec->capfiles[i];
        uint8_t data[CVM_SHA256_LEN];
        cvm_sha256(c->data ? c->data : (const uint8_t *)"", c->data_len, data);
        put_string(&w, "capfile", c->name);
        put(&w, "size %" PRIu64 "\n", c->size);
        put_digest(&w, "data", data);
    }
    return w.r;
}

void cvm_measurement_release(struct cvm_measurement *m)
{
    free(m->runtime);
    free(m->cvm);
    *m = (struct cvm_measurement){0};
}

/* A log is small: args and env are bounded by the YAML's size. */
#define MEASURE_LOG_MAX (4u << 20)

/* The measurement of spec; each cVM's runtime measurement comes from placed[i] when given
 * (what deploy put in memory), else from loading the runtime into a scratch window; the
 * rootfs hashed is `rootfs` (the deployment's own copy) when given, else spec's. */
static int measure(const struct cvm_deploy_spec *spec, const uint8_t (*placed)[CVM_SHA256_LEN],
                   const uint8_t *rootfs, size_t rootfs_len, struct cvm_measurement *ret,
                   struct cvm_error **err)
{
    struct cvm_measurement m = {.n_vms = spec->n_vms};
    m.runtime = calloc(spec->n_vms ? spec->n_vms : 1, sizeof(*m.runtime));
    m.cvm = calloc(spec->n_vms ? spec->n_vms : 1, sizeof(*m.cvm));
    if (!m.runtime || !m.cvm) {
        cvm_measurement_release(&m);
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate a measurement");
    }
    int r = 0;
    if (spec->ldso) {
        r = cvm_runtime_measure(spec->ldso, spec->ldso_len, "ldso", CVM_ABI_LINUX, m.ldso, err);
        m.has_ldso = true;
    }
    if (!rootfs) {
        rootfs = spec->rootfs;
        rootfs_len = spec->rootfs_len;
    }
    if (r == 0 && rootfs) {
        cvm_sha256(rootfs, rootfs_len, m.rootfs);
        m.has_rootfs = true;
    }
    struct cvm_buf log;
    cvm_buf_init(&log, MEASURE_LOG_MAX);
    for (size_t i = 0; r == 0 && i < spec->n_vms; i++) {
        const struct cvm_vm_spec *vm = &spec->vms[i];
        if (placed)
            memcpy(m.runtime[i], placed[i], CVM_SHA256_LEN);
        else
            r = cvm_runtime_measure(vm->runtime, vm->runtime_len, vm->runtime_name, vm->abi,
                                    m.runtime[i], err);
        if (r == 0)
            r = cvm_measure_vm_log(spec, i, m.runtime[i], m.has_ldso ? m.ldso : NULL,
                                   m.has_rootfs ? m.rootfs : NULL, &log, err);
        if (r == 0)
            cvm_sha256(log.data, log.len, m.cvm[i]);
        log.len = 0;
    }
    if (r == 0)
        r = cvm_measure_deployment_log(spec, (const uint8_t(*)[CVM_SHA256_LEN])m.cvm, &log, err);
    if (r == 0)
        cvm_sha256(log.data, log.len, m.deployment);
    cvm_buf_release(&log);
    if (r < 0) {
        cvm_measurement_release(&m);
        return r;
    }
    *ret = m;
    return 0;
}

int cvm_measure_spec(const struct cvm_deploy_spec *spec, struct cvm_measurement *ret,
                     struct cvm_error **err)
{
    return measure(spec, NULL, NULL, 0, ret, err);
}

int cvm_deployment_measure(const struct cvm_deployment *d, const struct cvm_deploy_spec *spec,
                           struct cvm_measurement *ret, struct cvm_error **err)
{
    size_t n = cvm_deployment_vm_count(d);
    if (n != spec->n_vms)
        return cvm_error_set(err, CVM_E_USAGE, "the deployment has %zu cVMs, the spec %zu", n,
                             spec->n_vms);
    uint8_t(*placed)[CVM_SHA256_LEN] = calloc(n ? n : 1, sizeof(*placed));
    if (!placed)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate a measurement");
    for (size_t i = 0; i < n; i++)
        memcpy(placed[i], cvm_deployment_vm_info(d, i)->runtime_measurement, CVM_SHA256_LEN);
    int r =
        measure(spec, (const uint8_t(*)[CVM_SHA256_LEN])placed, d->rootfs, d->rootfs_len, ret, err);
    free(placed);
    return r;
}
