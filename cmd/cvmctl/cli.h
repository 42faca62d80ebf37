/* Shared pieces of the cvmctl commands: the command table entry, exit codes, messages. */
#ifndef CVMCTL_CLI_H
#define CVMCTL_CLI_H

#include <stdio.h>

struct cvm_error;

#ifndef CVMCTL_VERSION
#define CVMCTL_VERSION "0.1.0"
#endif

/* Exit codes (specs/cli.md §1); anything else is the workload's own code. */
enum {
    CVMCTL_EXIT_OK = 0,
    CVMCTL_EXIT_FAILED = 125,
    CVMCTL_EXIT_CANNOT_EXEC = 126, /* reserved, as docker uses them; not returned yet */
    CVMCTL_EXIT_NOT_FOUND = 127,
};

struct cvmctl_command {
    const char *name;
    const char *summary;
    const char *const *usage; /* lines; the first is the synopsis */
    int (*run)(int argc, char **argv);
};

extern const struct cvmctl_command cvmctl_cmd_attest;
extern const struct cvmctl_command cvmctl_cmd_build;
extern const struct cvmctl_command cvmctl_cmd_create;
extern const struct cvmctl_command cvmctl_cmd_delete;
extern const struct cvmctl_command cvmctl_cmd_gc;
extern const struct cvmctl_command cvmctl_cmd_help;
extern const struct cvmctl_command cvmctl_cmd_images;
extern const struct cvmctl_command cvmctl_cmd_inspect;
extern const struct cvmctl_command cvmctl_cmd_keygen;
extern const struct cvmctl_command cvmctl_cmd_kill;
extern const struct cvmctl_command cvmctl_cmd_load;
extern const struct cvmctl_command cvmctl_cmd_login;
extern const struct cvmctl_command cvmctl_cmd_logout;
extern const struct cvmctl_command cvmctl_cmd_manifest;
extern const struct cvmctl_command cvmctl_cmd_measure;
extern const struct cvmctl_command cvmctl_cmd_monitor;
extern const struct cvmctl_command cvmctl_cmd_ps;
extern const struct cvmctl_command cvmctl_cmd_pull;
extern const struct cvmctl_command cvmctl_cmd_push;
extern const struct cvmctl_command cvmctl_cmd_rmi;
extern const struct cvmctl_command cvmctl_cmd_run;
extern const struct cvmctl_command cvmctl_cmd_save;
extern const struct cvmctl_command cvmctl_cmd_sign;
extern const struct cvmctl_command cvmctl_cmd_start;
extern const struct cvmctl_command cvmctl_cmd_state;
extern const struct cvmctl_command cvmctl_cmd_tag;
extern const struct cvmctl_command cvmctl_cmd_verify;
extern const struct cvmctl_command cvmctl_cmd_version;

/* The store folder from the global --root option, or NULL. */
extern const char *cvmctl_root;

const struct cvmctl_command *cvmctl_find_command(const char *name);
void cvmctl_print_overview(FILE *out);
void cvmctl_print_usage(FILE *out, const struct cvmctl_command *cmd);

/* True for -h and --help. */
int cvmctl_is_help(const char *arg);

/* "cvmctl: error: <message>" on stderr. */
void cvmctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports err and returns CVMCTL_EXIT_FAILED (every error class: specs/cli.md §1). */
int cvmctl_fail(const struct cvm_error *err);
/* Misuse: one precise line plus the pointer to --help; returns 125. */
int cvmctl_misuse(const struct cvmctl_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
