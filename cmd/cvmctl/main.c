/* cvmctl: the command table and the dispatch to one subcommand per file. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "cli.h"
#include "monitor.h"

/* Sorted by name; `cvmctl --help` lists them in this order. */
static const struct cvmctl_command *const commands[] = {
    &cvmctl_cmd_attest, &cvmctl_cmd_build,    &cvmctl_cmd_create,  &cvmctl_cmd_delete,
    &cvmctl_cmd_gc,     &cvmctl_cmd_help,     &cvmctl_cmd_images,  &cvmctl_cmd_inspect,
    &cvmctl_cmd_keygen, &cvmctl_cmd_kill,     &cvmctl_cmd_load,    &cvmctl_cmd_login,
    &cvmctl_cmd_logout, &cvmctl_cmd_manifest, &cvmctl_cmd_measure, &cvmctl_cmd_monitor,
    &cvmctl_cmd_ps,     &cvmctl_cmd_pull,     &cvmctl_cmd_push,    &cvmctl_cmd_rmi,
    &cvmctl_cmd_run,    &cvmctl_cmd_save,     &cvmctl_cmd_sign,    &cvmctl_cmd_start,
    &cvmctl_cmd_state,  &cvmctl_cmd_tag,      &cvmctl_cmd_verify,  &cvmctl_cmd_version,
};

const struct cvmctl_command *cvmctl_find_command(const char *name)
{
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

void cvmctl_print_overview(FILE *out)
{
    fprintf(out,
            "usage: cvmctl [--help | --version] [--root <dir>] [--log-level <level>] <command>\n"
            "              [<args>]\n\n"
            "Build, sign, distribute and run cVMs: compartments that share one address\n"
            "space, each confined to its own window of memory.\n\n"
            "Commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out,
            "\nThe image store is --root <dir>, else $CVMCTL_ROOT, else $XDG_DATA_HOME/cvmctl,\n"
            "else ~/.local/share/cvmctl. --log-level (error, warn, info, debug; default warn)\n"
            "chooses which messages reach stderr.\n");
    fprintf(out, "\nBackend '%s': %s\n\nSee 'cvmctl help <command>' for a command's options.\n",
            cvm_monitor_backend_name(),
            cvm_monitor_backend_isolates()
                ? "windows are enforced by hardware capabilities."
                : "cVMs run as threads of the cvmctl process and their windows are\n"
                  "not enforced: this machine has no capability hardware.");
}

void cvmctl_print_usage(FILE *out, const struct cvmctl_command *cmd)
{
    fprintf(out, "usage: %s\n", cmd->usage[0]);
    for (size_t i = 1; cmd->usage[i]; i++)
        fprintf(out, "%s\n", cmd->usage[i]);
}

int cvmctl_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

void cvmctl_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cvmctl: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cvmctl_fail(const struct cvm_error *err)
{
    cvmctl_error("%s", err ? err->message : "unknown failure");
    return CVMCTL_EXIT_FAILED;
}

int cvmctl_misuse(const struct cvmctl_command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("cvmctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nsee 'cvmctl %s --help'\n", cmd->name);
    va_end(ap);
    return CVMCTL_EXIT_FAILED;
}

const char *cvmctl_root;

static const char *const log_level_names[] = {"error", "warn", "info", "debug"};

static void log_to_stderr(enum cvm_log_level level, const char *message, void *data)
{
    (void)data;
    fprintf(stderr, "cvmctl: %s: %s\n", log_level_names[level], message);
}

/* Matches "--name value" or "--name=value" at argv[1]: 1 and *value set (and the arguments
 * used dropped), 0 when argv[1] is another option, -1 (reported) when the value is missing. */
static int global_option(int *argc, char ***argv, const char *name, const char *what,
                         const char **value)
{
    size_t n = strlen(name);
    const char *arg = (*argv)[1];
    if (strncmp(arg, name, n) != 0 || (arg[n] != '=' && arg[n] != '\0'))
        return 0;
    int used = 1;
    if (arg[n] == '=') {
        *value = arg + n + 1;
    } else if (*argc >= 3) {
        *value = (*argv)[2];
        used = 2;
    } else {
        fprintf(stderr, "cvmctl: option '%s' needs %s\nsee 'cvmctl --help'\n", name, what);
        return -1;
    }
    if (!(*value)[0]) {
        fprintf(stderr, "cvmctl: '%s' needs %s\nsee 'cvmctl --help'\n", name, what);
        return -1;
    }
    *argc -= used;
    *argv += used;
    return 1;
}

int main(int argc, char **argv)
{
    enum cvm_log_level level = CVM_LOG_WARN;
    /* Global options come before the command, as with podman. */
    while (argc >= 2 && strncmp(argv[1], "--", 2) == 0 && argv[1][2]) {
        const char *level_name = NULL;
        int r = global_option(&argc, &argv, "--root", "a folder", &cvmctl_root);
        if (r == 0)
            r = global_option(&argc, &argv, "--log-level", "a level", &level_name);
        if (r < 0)
            return CVMCTL_EXIT_FAILED;
        if (r == 0)
            break;
        if (level_name) {
            size_t i = 0;
            while (i < 4 && strcmp(level_name, log_level_names[i]) != 0)
                i++;
            if (i == 4) {
                fprintf(stderr,
                        "cvmctl: unknown log level '%s' (error, warn, info or debug)\n"
                        "see 'cvmctl --help'\n",
                        level_name);
                return CVMCTL_EXIT_FAILED;
            }
            level = (enum cvm_log_level)i;
        }
    }
    cvm_log_set_sink(log_to_stderr, NULL, level);
    if (argc < 2) {
        cvmctl_print_overview(stderr);
        return CVMCTL_EXIT_FAILED;
    }
    const char *name = argv[1];
    if (cvmctl_is_help(name)) {
        cvmctl_print_overview(stdout);
        return CVMCTL_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0)
        name = "version";
    const struct cvmctl_command *cmd = cvmctl_find_command(name);
    if (!cmd) {
        fprintf(stderr, "cvmctl: '%s' is not a cvmctl command\nsee 'cvmctl --help'\n", name);
        return CVMCTL_EXIT_FAILED;
    }
    return cmd->run(argc - 1, argv + 1);
}
