/* cvmctl help [COMMAND]: the overview, or one command's usage. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *const help_usage[] = {
    "cvmctl help [<command>]",
    "",
    "Shows the list of commands, or the options of <command>.",
    NULL,
};

static int help_run(int argc, char **argv)
{
    if (argc > 1 && cvmctl_is_help(argv[1])) {
        cvmctl_print_usage(stdout, &cvmctl_cmd_help);
        return CVMCTL_EXIT_OK;
    }
    if (argc > 2)
        return cvmctl_misuse(&cvmctl_cmd_help, "too many arguments");
    if (argc < 2) {
        cvmctl_print_overview(stdout);
        return CVMCTL_EXIT_OK;
    }
    const struct cvmctl_command *cmd = cvmctl_find_command(argv[1]);
    if (!cmd)
        return cvmctl_misuse(&cvmctl_cmd_help, "'%s' is not a cvmctl command", argv[1]);
    cvmctl_print_usage(stdout, cmd);
    return CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_help = {
    .name = "help",
    .summary = "Show help for cvmctl or one of its commands",
    .usage = help_usage,
    .run = help_run,
};
