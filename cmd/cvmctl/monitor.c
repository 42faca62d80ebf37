/* cvmctl monitor -y FILE: deploy the cVMs an Intravisor-style YAML names and run them. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "cli.h"
#include "monitor.h"
#include "runtime.h"

static const char *const monitor_usage[] = {
    "cvmctl monitor -y <file.yaml> [--timeout <seconds>] [--quiet]",
    "",
    "Deploys the cVMs that <file.yaml> names (specs/monitor-yaml.md), prints one line per",
    "cVM with its window, deploy time and runtime measurement, then runs them. The exit",
    "status is the last cVM's exit code, or 128+N when a cVM died of signal N.",
    "",
    "  -y, --yaml <file>      the deployment to run",
    "  -t, --timeout <sec>    stop every cVM after <sec> seconds (exit status 137)",
    "  -q, --quiet            print only the cVMs' own output",
    "  -h, --help             show this help",
    "",
    "On the inproc backend cVMs run as threads of this process; their windows are not",
    "enforced without capability hardware.",
    NULL,
};

static void print_deployed(const struct cvm_deployment *d)
{
    for (size_t i = 0; i < cvm_deployment_vm_count(d); i++) {
        const struct cvm_vm_info *vi = cvm_deployment_vm_info(d, i);
        char hex[2 * CVM_SHA256_LEN + 1];
        for (size_t k = 0; k < CVM_SHA256_LEN; k++)
            snprintf(hex + 2 * k, 3, "%02x", vi->runtime_measurement[k]);
        fprintf(stderr,
                "cvm '%s': window 0x%" PRIx64 "-0x%" PRIx64 ", deployed in %.3f ms, "
                "runtime sha256:%s\n",
                vi->name, vi->base, vi->base + vi->size, (double)vi->deploy_ns / 1e6, hex);
    }
}

/* The exit status: a fault wins, then a timeout, else the last cVM's exit code. */
static int report_results(const struct cvm_deployment *d, unsigned timeout)
{
    size_t n = cvm_deployment_vm_count(d);
    for (size_t i = 0; i < n; i++) {
        const struct cvm_vm_result *r = cvm_deployment_vm_result(d, i);
        if (r->outcome != CVM_VM_FAULTED)
            continue;
        const char *sig = sigabbrev_np(r->signal);
        const char *name = cvm_deployment_vm_info(d, i)->name;
        /* Inside a callback the faulting code may belong to the cVM serving the call. */
        char where[128] = "";
        if (strcmp(r->fault_cvm, name) != 0)
            snprintf(where, sizeof(where), " in code of cVM '%s'", r->fault_cvm);
        cvmctl_error("cVM '%s' faulted: SIG%s at address 0x%" PRIx64 ", ip 0x%" PRIx64 "%s", name,
                     sig ? sig : "?", r->fault_addr, r->fault_ip, where);
        return 128 + r->signal;
    }
    if (cvm_deployment_timed_out(d)) {
        cvmctl_error("deployment timed out after %u s; its cVMs were stopped", timeout);
        return 128 + SIGKILL;
    }
    const struct cvm_vm_result *last = cvm_deployment_vm_result(d, n - 1);
    return last->outcome == CVM_VM_EXITED ? last->exit_code : 128 + SIGKILL;
}

static int monitor_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"yaml", required_argument, NULL, 'y'},
        {"timeout", required_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *yaml = NULL;
    unsigned timeout = 0;
    bool quiet = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+y:t:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'y': yaml = optarg; break;
        case 't': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (!*optarg || *end || v == 0 || v > 86400)
                return cvmctl_misuse(&cvmctl_cmd_monitor,
                                     "--timeout takes 1 to 86400 seconds, "
                                     "not '%s'",
                                     optarg);
            timeout = (unsigned)v;
            break;
        }
        case 'q': quiet = true; break;
        case 'h': cvmctl_print_usage(stdout, &cvmctl_cmd_monitor); return CVMCTL_EXIT_OK;
        case ':':
            return cvmctl_misuse(&cvmctl_cmd_monitor, "option '%s' needs a value",
                                 argv[optind - 1]);
        default: return cvmctl_misuse(&cvmctl_cmd_monitor, "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cvmctl_misuse(&cvmctl_cmd_monitor, "unexpected argument '%s'", argv[optind]);
    if (!yaml)
        return cvmctl_misuse(&cvmctl_cmd_monitor, "no deployment given: use -y <file.yaml>");

    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    struct cvm_monitor_config *cfg = NULL;
    if (cvm_monitor_config_load(yaml, 0, &cfg, &err) < 0)
        return cvmctl_fail(err);
    struct cvm_deployment *d = NULL;
    int r = cvm_deployment_create(&cfg->spec, &d, &err);
    if (r < 0) {
        cvm_monitor_config_free(cfg);
        return cvmctl_fail(err);
    }
    if (!quiet) {
        if (!cvm_monitor_backend_isolates())
            fprintf(stderr,
                    "cvmctl: backend '%s': cVMs are threads of this process; windows "
                    "are not enforced\n",
                    cvm_monitor_backend_name());
        print_deployed(d);
    }
    fflush(stdout);
    fflush(stderr);
    struct cvm_run_options ro = {.timeout_ms = (uint64_t)timeout * 1000};
    r = cvm_deployment_run(d, &ro, &err);
    int status = r < 0 ? cvmctl_fail(err) : report_results(d, timeout);
    cvm_deployment_free(d);
    cvm_monitor_config_free(cfg);
    return status;
}

const struct cvmctl_command cvmctl_cmd_monitor = {
    .name = "monitor",
    .summary = "Deploy and run cVMs from an Intravisor-style YAML",
    .usage = monitor_usage,
    .run = monitor_run,
};
