/* cvmctl monitor -y FILE: deploy the cVMs an Intravisor-style YAML names and run them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "cli.h"
#include "deploy-cli.h"
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
    if (cvm_monitor_config_read_files(cfg, &err) < 0) {
        cvm_monitor_config_free(cfg);
        return cvmctl_fail(err);
    }
    struct cvm_deployment *d = NULL;
    int r = cvm_deployment_create(&cfg->spec, &d, &err);
    if (r < 0) {
        cvm_monitor_config_free(cfg);
        return cvmctl_fail(err);
    }
    if (!quiet) {
        cvmctl_warn_backend();
        cvmctl_print_deployed(d);
    }
    fflush(stdout);
    fflush(stderr);
    struct cvm_run_options ro = {.timeout_ms = (uint64_t)timeout * 1000};
    r = cvm_deployment_run(d, &ro, &err);
    int status = r < 0 ? cvmctl_fail(err) : cvmctl_deployment_status(d, timeout);
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
