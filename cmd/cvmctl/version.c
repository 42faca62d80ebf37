/* cvmctl version: the program's version and the monitor backend it carries. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "monitor.h"

static const char *const version_usage[] = {
    "cvmctl version",
    "",
    "Prints the cvmctl version and the monitor backend.",
    NULL,
};

static int version_run(int argc, char **argv)
{
    if (argc > 1 && cvmctl_is_help(argv[1])) {
        cvmctl_print_usage(stdout, &cvmctl_cmd_version);
        return CVMCTL_EXIT_OK;
    }
    if (argc > 1)
        return cvmctl_misuse(&cvmctl_cmd_version, "unexpected argument '%s'", argv[1]);
    printf("cvmctl version %s\nmonitor backend: %s\n", CVMCTL_VERSION, cvm_monitor_backend_name());
    return CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_version = {
    .name = "version",
    .summary = "Show the cvmctl version",
    .usage = version_usage,
    .run = version_run,
};
