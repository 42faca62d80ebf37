/* cvmctl run: from a reference to running cVMs. The image is pulled when missing, its
 * signature checked, every blob hashed as it is read, and the deployment measured twice: by
 * the loader before anything runs (as build did), and from what deploy placed in memory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "attest.h"
#include "base.h"
#include "cli.h"
#include "deploy-cli.h"
#include "image-build.h"
#include "image-cli.h"
#include "instance.h"
#include "lifecycle.h"
#include "monitor.h"
#include "registry-cli.h"
#include "run-options.h"
#include "runtime.h"

static const char *const run_usage[] = {
    "cvmctl run [options] <image> [--] [<arg>...]",
    "",
    "Runs a cVM image: pulls it when the store lacks it, checks its signature, hashes every",
    "blob it reads, measures the deployment with the monitor's loader and compares that",
    "with the measurement its signed config records, deploys it, checks what deploy placed",
    "in memory against the same record, and runs it. Prints 'measurement: sha256:<hex>'",
    "on stderr. <arg>... replace the arguments of the deployment's last cVM (the",
    "application); -e and --env-file add to its environment. The exit status is that cVM's",
    "exit code, 128+N when a cVM died of signal N, 125 when cvmctl failed.",
    "",
    "  --pull <when>          missing (default), always or never",
    "  --verify <how>         policy (default: the trust policy), key:<file.pub>, or none",
    "  --policy <file>        the trust policy to follow (default: policy.json in the store)",
    "  --platform <os/arch[/variant]>  the platform to pull from an index",
    "  -e, --env <KEY=VALUE>  set a variable (KEY alone: its value here, if set)",
    "      --env-file <file>  KEY=VALUE lines; # starts a comment line",
    "  --heap <mode>          clean-room (a private heap per cVM) or shared (the image's heap",
    "                         groups, else one group of every cVM); default: the image's",
    "  --attest-nonce <hex>   with --attest-out: write an attestation report of the deployment",
    "  --attest-out <file>    (specs/attestation.md) signed with the host key before it starts",
    "  -t, --timeout <sec>    stop every cVM after <sec> seconds (exit status 137)",
    "  -q, --quiet            print only the cVMs' own output (and errors)",
    "  -d, --detach           run as an instance in the background (cvmctl create, then",
    "                         start): prints its id; output goes to the instance's log",
    "      --name <name>      with -d: the instance's id (default: 12 random hex digits)",
    "      --rm               with -d: delete the instance when it stops",
    CVMCTL_REGISTRY_USAGE,
    "  -h, --help             show this help",
    "",
    "On the inproc backend cVMs run as threads of this process; their windows are not",
    "enforced without capability hardware.",
    NULL,
};

static const char *const create_usage[] = {
    "cvmctl create [options] <image> [--] [<arg>...]",
    "",
    "Creates an instance: does all that 'cvmctl run' does before the cVMs start (pull,",
    "signature, blobs, measurement, deploy, the in-memory measurement check, attestation)",
    "in a monitor process in the background, which then waits for 'cvmctl start'. Prints",
    "the instance's id once it is created; a failure is reported here, exit status 125,",
    "and leaves no instance. The monitor's messages and the cVMs' output go to the log in",
    "the instance's folder (ROOT/instances/<id>/log). Takes run's options, and:",
    "",
    "      --name <name>      the instance's id: letters, digits, '_', '.', '-', at most",
    "                         64 (default: 12 random hex digits)",
    "      --rm               delete the instance when it stops",
    "  -h, --help             show this help",
    NULL,
};

/* Finds ref in the store, pulling it as --pull says. */
static int find_image(struct cvm_store *s, const struct cvm_reference *ref, struct run_options *o,
                      struct cvm_descriptor *ret, struct cvm_error **err)
{
    bool found = false;
    int r = 0;
    if (o->pull != PULL_ALWAYS) {
        CVM_AUTO(cvm_error_free) struct cvm_error *e = NULL;
        r = cvm_store_resolve(s, ref, ret, &e);
        found = r == 0;
        if (r < 0 && r != -CVM_E_NOTFOUND) {
            *err = cvm_steal_ptr(&e);
            return r;
        }
        if (!found && o->pull == PULL_NEVER) {
            *err = cvm_steal_ptr(&e);
            return cvm_error_prefix(err, "--pull=never");
        }
    }
    if (found)
        return 0;
    struct cvm_pull_result pulled;
    r = cvmctl_pull(s, ref, &o->ro, &o->po, o->quiet, &pulled, err);
    if (r < 0)
        return cvm_error_prefix(err, "pull");
    return cvm_store_resolve(s, ref, ret, err);
}

/* What deploy placed against what the signed config records: the placed runtimes and
 * rootfs measured with the image's own spec (its args, env and heaps, whatever this run
 * changed) must give every measurement the config records. */
static int check_placed(const struct cvm_deployment *d, const struct cvm_image_bundle *b,
                        struct cvm_error **err)
{
    struct cvm_measurement as_built = {0};
    int r = cvm_deployment_measure(d, &b->deployment->spec, &as_built, err);
    if (r == 0)
        r = cvm_image_bundle_check(b, &as_built, err);
    cvm_measurement_release(&as_built);
    return r;
}

/* The application's arguments and environment (the last cVM's) applied to a copy of spec. */
struct run_spec {
    struct cvm_deploy_spec spec;
    struct cvm_vm_spec *vms;
    const char **argv, **env;
};

static void run_spec_release(struct run_spec *rs)
{
    free(rs->vms);
    free(rs->argv);
    free(rs->env);
}

static int run_spec_make(const struct cvm_deploy_spec *image, const struct run_options *o,
                         char **args, size_t n_args, struct run_spec *rs, struct cvm_error **err)
{
    *rs = (struct run_spec){.spec = *image};
    rs->vms = calloc(image->n_vms, sizeof(*rs->vms));
    rs->argv = calloc(n_args + 1, sizeof(*rs->argv));
    if (!rs->vms || !rs->argv)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    memcpy(rs->vms, image->vms, image->n_vms * sizeof(*rs->vms));
    struct cvm_vm_spec *app = &rs->vms[image->n_vms - 1];
    size_t n_env = 0;
    if (!(rs->env = cvmctl_run_env(app, o, &n_env)))
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    if (n_args > 0) {
        memcpy(rs->argv, args, n_args * sizeof(*rs->argv));
        app->argv = rs->argv;
        app->argc = n_args;
    }
    if (o->n_env > 0) {
        app->envp = rs->env;
        app->envc = n_env;
    }
    rs->spec.vms = rs->vms;
    cvm_deploy_spec_set_heap_mode(&rs->spec, o->heap);
    return 0;
}

/* The attestation report of the deployment as placed, signed with the host key. */
static int attest(struct cvm_store *s, const char *shown, const struct cvm_digest *image,
                  const struct cvm_deployment *d, const struct cvm_measurement *placed,
                  const struct run_options *o, struct cvm_error **err)
{
    CVM_AUTOFREE char *key_path = NULL;
    CVM_AUTOFREE char *name = NULL;
    if (asprintf(&key_path, "%s/%s", cvm_store_root(s), CVM_ATTEST_HOST_KEY) < 0 ||
        asprintf(&name, "%s@%s", shown, cvmctl_digest_str(image)) < 0)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    if (access(key_path, F_OK) < 0)
        return cvm_error_set(err, CVM_E_NOTFOUND,
                             "attest: no host key '%s': run 'cvmctl attest keygen'", key_path);
    CVM_AUTO(cvm_signing_key_free) struct cvm_signing_key *key = NULL;
    int r = cvm_signing_key_load(key_path, &key, err);
    if (r < 0)
        return cvm_error_prefix(err, "attest");
    size_t n = cvm_deployment_vm_count(d);
    CVM_AUTOFREE struct cvm_attest_cvm *cvms = calloc(n ? n : 1, sizeof(*cvms));
    if (!cvms)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    for (size_t i = 0; i < n; i++) {
        cvms[i].name = cvm_deployment_vm_info(d, i)->name;
        memcpy(cvms[i].measurement.bytes, placed->cvm[i], CVM_SHA256_LEN);
    }
    struct cvm_attest_report report = {
        .image = name,
        .image_digest = *image,
        .cvms = cvms,
        .n_cvms = n,
        .nonce = o->nonce,
        .time = (int64_t)time(NULL),
        .backend = cvm_monitor_backend_name(),
        .isolating = cvm_monitor_backend_isolates(),
    };
    memcpy(report.deployment.bytes, placed->deployment, CVM_SHA256_LEN);
    r = cvm_attest_report_write(o->attest_out, key, &report, err);
    return r < 0 ? cvm_error_prefix(err, "attest") : 0;
}

/* At debug level: the monitor's own deploy time (reserve, load, measure, relocate, lay out). */
static void log_deploy_time(const struct cvm_deployment *d)
{
    uint64_t ns = 0;
    size_t n = cvm_deployment_vm_count(d);
    for (size_t i = 0; i < n; i++)
        ns += cvm_deployment_vm_info(d, i)->deploy_ns;
    cvm_log(CVM_LOG_DEBUG, "deployed %zu cVMs in %.3f ms", n, (double)ns / 1e6);
}

/* One run: what the command line names, and what preparing it made. */
struct run_ctx {
    struct run_options o;
    struct cvm_store *s; /* released once prepared: a long-lived instance must not hold it */
    struct cvm_reference *ref;
    char *shown;
    char **args;
    size_t n_args;
    struct cvm_image_bundle *b;
    struct run_spec rs;
    struct cvm_deployment *d;
    struct cvm_measurement placed;
    struct cvm_digest image;
};

static void run_ctx_release(struct run_ctx *c)
{
    cvm_measurement_release(&c->placed);
    cvm_deployment_free(c->d);
    run_spec_release(&c->rs);
    cvm_image_bundle_free(c->b);
    free(c->shown);
    cvm_reference_free(c->ref);
    cvm_store_free(c->s);
    cvmctl_run_options_release(&c->o);
}

/* Everything before the cVMs start: find, verify, load, deploy, measure what was placed,
 * attest. On failure *err is the whole message (without "cvmctl: error: "). */
static int run_prepare(struct run_ctx *c, struct cvm_error **err)
{
    CVM_AUTO(cvm_error_free) struct cvm_error *blob_err = NULL;
    struct run_options *o = &c->o;
    struct cvm_descriptor desc = {0};
    if (find_image(c->s, c->ref, o, &desc, err) < 0)
        return cvm_error_prefix(err, "run '%s'", c->shown);
    /* Every blob of the image is hashed on a thread of its own while this one checks the
     * signature, reads the layers (from the layer cache, which does not re-hash them) and
     * deploys; nothing starts before both agree. */
    struct cvm_blob_check *check = cvm_image_check_blobs_start(c->s, &desc);
    char how[256];
    bool input_error = false, signature_failed = false;
    int r = 0;
    if (o->verify)
        signature_failed = (r = cvmctl_check_signature(c->s, c->ref, &desc, &o->trust, how,
                                                       &input_error, err)) < 0;
    else
        cvm_log(CVM_LOG_WARN, "--verify=none: running '%s' without checking its signature",
                c->shown);
    if (r == 0 && o->verify)
        cvm_log(CVM_LOG_INFO, "'%s': %s", c->shown, how);
    if (r == 0)
        r = cvm_image_bundle_load(c->s, &desc, CVM_BUNDLE_LAYER_CACHE | CVM_BUNDLE_MEASURE_PLACED,
                                  &c->b, err);
    if (r == 0)
        r = run_spec_make(&c->b->deployment->spec, o, c->args, c->n_args, &c->rs, err);
    if (r == 0)
        r = cvm_deployment_create(&c->rs.spec, &c->d, err);
    if (r == 0)
        log_deploy_time(c->d);
    if (r == 0)
        r = check_placed(c->d, c->b, err);
    if (r == 0)
        r = cvm_deployment_measure(c->d, &c->rs.spec, &c->placed, err);
    c->image = desc.digest;
    /* A blob that does not match explains any later failure: it outranks them all but a
     * signature that failed. */
    int blob_r = cvm_image_check_blobs_finish(check, NULL, NULL, &blob_err);
    if (blob_r < 0 && !signature_failed) {
        r = blob_r;
        cvm_error_free(*err);
        *err = cvm_steal_ptr(&blob_err);
    }
    cvm_descriptor_release(&desc);
    /* Attested only once every check has passed, and before anything runs. */
    if (r == 0 && o->attest_out)
        r = attest(c->s, c->shown, &c->image, c->d, &c->placed, o, err);
    if (r < 0 && !input_error)
        cvm_error_prefix(err, "run '%s'", c->shown);
    return r;
}

/* Runs the prepared deployment; returns the exit status. */
static int run_execute(struct run_ctx *c)
{
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    if (!c->o.quiet) {
        struct cvm_digest m;
        memcpy(m.bytes, c->placed.deployment, sizeof(m.bytes));
        cvmctl_warn_backend();
        fprintf(stderr, "measurement: %s\n", cvmctl_digest_str(&m));
    }
    fflush(stdout);
    fflush(stderr);
    struct cvm_run_options ro = {.timeout_ms = (uint64_t)c->o.timeout * 1000};
    int r = cvm_deployment_run(c->d, &ro, &err);
    return r < 0 ? cvmctl_fail(err) : cvmctl_deployment_status(c->d, c->o.timeout);
}

/* The monitor's side of create and run -d (lifecycle.h). */
static int launch_prepare(void *data, struct cvm_instance_state *st, struct cvm_error **err)
{
    struct run_ctx *c = data;
    int r = run_prepare(c, err);
    cvm_store_free(c->s);
    c->s = NULL;
    if (r < 0)
        return r;
    struct cvm_digest m;
    memcpy(m.bytes, c->placed.deployment, sizeof(m.bytes));
    snprintf(st->image, sizeof(st->image), "%s", c->shown);
    cvm_digest_format(&c->image, st->digest);
    cvm_digest_format(&m, st->measurement);
    return 0;
}

static void launch_stop(void *data)
{
    struct run_ctx *c = data;
    cvm_deployment_stop(c->d);
}

/* The context is not released: the instance's process ends right after, and its signal
 * thread may still be asking this deployment to stop. */
static int launch_execute(void *data)
{
    return run_execute(data);
}

static int run_main(const struct cvmctl_command *cmd, int argc, char **argv)
{
    struct run_ctx c = {.o = {.pull = PULL_MISSING, .verify = true, .trust.use_memo = true}};
    cvmctl_registry_opts_init(&c.o.ro);
    c.o.detach = cmd == &cvmctl_cmd_create;
    int status = cvmctl_run_options_parse(cmd, argc, argv, &c.o);
    if (status >= 0) {
        cvmctl_run_options_release(&c.o);
        return status;
    }
    const char *image = argv[optind];
    c.args = argv + optind + 1;
    c.n_args = (size_t)(argc - optind - 1);
    if (c.n_args > 0 && strcmp(c.args[0], "--") == 0)
        c.args++, c.n_args--;
    if (c.n_args > RUN_ARGS_MAX) {
        cvmctl_run_options_release(&c.o);
        return cvmctl_misuse(cmd, "more than %d arguments", RUN_ARGS_MAX);
    }
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    if (cvm_reference_parse(image, &c.ref, &err) < 0 || cvmctl_store_open(0, &c.s, &err) < 0 ||
        !(c.shown = cvm_reference_format(c.ref))) {
        run_ctx_release(&c);
        return err ? cvmctl_fail(err) : CVMCTL_EXIT_FAILED;
    }
    if (c.o.detach) {
        struct cvmctl_launch l = {
            .root = cvm_store_root(c.s),
            .name = c.o.name,
            .auto_remove = c.o.auto_remove,
            .start = cmd == &cvmctl_cmd_run,
            .prepare = launch_prepare,
            .execute = launch_execute,
            .stop = launch_stop,
            .ctx = &c,
        };
        /* The store stays locked (shared) by the monitor until it is prepared. */
        status = cvmctl_launch(&l);
    } else if (run_prepare(&c, &err) < 0) {
        status = cvmctl_fail(err);
    } else {
        status = run_execute(&c);
    }
    run_ctx_release(&c);
    return status;
}

static int run_run(int argc, char **argv)
{
    return run_main(&cvmctl_cmd_run, argc, argv);
}

static int create_run(int argc, char **argv)
{
    return run_main(&cvmctl_cmd_create, argc, argv);
}

const struct cvmctl_command cvmctl_cmd_run = {
    .name = "run",
    .summary = "Run a signed cVM image (pulling it when missing)",
    .usage = run_usage,
    .run = run_run,
};

const struct cvmctl_command cvmctl_cmd_create = {
    .name = "create",
    .summary = "Create an instance of an image, deployed and waiting for start",
    .usage = create_usage,
    .run = create_run,
};
