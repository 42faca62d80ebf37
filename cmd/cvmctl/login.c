/* cvmctl login and logout: registry credentials in a docker config.json-format file. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "base.h"
#include "image-cli.h"
#include "registry-cli.h"

#define PASSWORD_MAX 4096

static const char *const login_usage[] = {
    "cvmctl login [options] <registry>",
    "",
    "Checks the user name and password with the registry (host[:port]) and stores them",
    "for push and pull: in --authfile, else $REGISTRY_AUTH_FILE, else",
    "~/.config/cvmctl/auth.json (docker's config.json format, mode 0600). Without",
    "--password or --password-stdin the password is asked for on the terminal.",
    "",
    "  -u, --username <name>  the user name",
    "  -p, --password <pass>  the password (visible to other users of this machine)",
    "  --password-stdin       read the password from stdin",
    CVMCTL_REGISTRY_USAGE,
    "  -h, --help             show this help",
    NULL,
};

static const char *const logout_usage[] = {
    "cvmctl logout [--authfile <file>] <registry>",
    "",
    "Removes the stored credentials for the registry from --authfile, else",
    "$REGISTRY_AUTH_FILE, else ~/.config/cvmctl/auth.json.",
    "",
    "  --authfile <file>      credentials file",
    "  -h, --help             show this help",
    NULL,
};

enum { OPT_PASSWORD_STDIN = 2000 };

/* One line from fd without its newline; echo off when it is a terminal. */
static int read_password(int fd, bool prompt, char **ret, struct cvm_error **err)
{
    struct termios old, quiet;
    bool tty = tcgetattr(fd, &old) == 0;
    if (prompt) {
        fputs("Password: ", stderr);
        fflush(stderr);
    }
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    struct cvm_buf b;
    cvm_buf_init(&b, PASSWORD_MAX);
    int r = 0;
    for (;;) {
        char ch;
        ssize_t n = read(fd, &ch, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = cvm_error_set_errno(err, errno, "cannot read the password");
            break;
        }
        if (n == 0 || ch == '\n')
            break;
        if ((r = cvm_buf_append(&b, &ch, 1, err)) < 0)
            break;
    }
    if (tty) {
        tcsetattr(fd, TCSAFLUSH, &old);
        if (prompt)
            fputc('\n', stderr);
    }
    if (r == 0 && b.len && b.data[b.len - 1] == '\r')
        b.data[--b.len] = '\0';
    if (r == 0 && b.len == 0)
        r = cvm_error_set(err, CVM_E_USAGE, "the password is empty");
    if (r < 0) {
        cvm_buf_release(&b);
        return r;
    }
    *ret = b.data ? (char *)b.data : strdup("");
    return 0;
}

/* --authfile, else the first default file (REGISTRY_AUTH_FILE or ours). */
static char *auth_file(const struct cvmctl_registry_opts *ro)
{
    if (ro->authfile)
        return strdup(ro->authfile);
    char **files = cvm_credentials_default_files();
    char *first = files && files[0] ? strdup(files[0]) : NULL;
    cvm_credentials_files_free(files);
    return first;
}

static int login_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"username", required_argument, NULL, 'u'},
        {"password", required_argument, NULL, 'p'},
        {"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
        {"help", no_argument, NULL, 'h'},
        CVMCTL_REGISTRY_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    struct cvmctl_registry_opts ro;
    cvmctl_registry_opts_init(&ro);
    const char *user = NULL, *given_password = NULL;
    bool password_stdin = false;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:u:p:h", opts, NULL)) != -1) {
        int handled = cvmctl_registry_option(&ro, &cvmctl_cmd_login, c, optarg);
        if (handled < 0)
            return CVMCTL_EXIT_FAILED;
        if (handled)
            continue;
        switch (c) {
        case 'u': user = optarg; break;
        case 'p': given_password = optarg; break;
        case OPT_PASSWORD_STDIN: password_stdin = true; break;
        case 'h': cvmctl_print_usage(stdout, &cvmctl_cmd_login); return CVMCTL_EXIT_OK;
        default: return cvmctl_option_error(&cvmctl_cmd_login, c, argv);
        }
    }
    const char *misuse = optind != argc - 1 ? "expected one registry"
                         : !user            ? "--username is required"
                         : given_password && password_stdin
                             ? "--password and --password-stdin exclude each other"
                         : ro.o.username ? "--creds does not apply to login: use --username"
                                         : NULL;
    if (misuse)
        return cvmctl_misuse(&cvmctl_cmd_login, "%s", misuse);
    const char *host = argv[optind];
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTOFREE char *password = NULL;
    CVM_AUTOFREE char *file = auth_file(&ro);
    int res = file ? 0 : cvm_error_set_errno(&err, ENOMEM, "cannot allocate");
    if (res == 0 && given_password && !(password = strdup(given_password)))
        res = cvm_error_set_errno(&err, ENOMEM, "cannot allocate");
    else if (res == 0 && !given_password)
        res = read_password(STDIN_FILENO, !password_stdin && isatty(STDIN_FILENO), &password, &err);
    CVM_AUTO(cvm_registry_free) struct cvm_registry *r = NULL;
    if (res == 0) {
        ro.o.username = user;
        ro.o.password = password;
        res = cvm_registry_open(host, &ro.o, &r, &err);
    }
    if (res == 0)
        res = cvm_registry_check_login(r, NULL, &err);
    if (res == 0)
        res = cvm_credentials_store(file, host, user, password, &err);
    if (res < 0) {
        cvm_error_prefix(&err, "login '%s'", host);
        return cvmctl_fail(err);
    }
    printf("Login Succeeded!\n");
    return CVMCTL_EXIT_OK;
}

static int logout_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"authfile", required_argument, NULL, REGISTRY_OPT_AUTHFILE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct cvmctl_registry_opts ro;
    cvmctl_registry_opts_init(&ro);
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        if (cvmctl_registry_option(&ro, &cvmctl_cmd_logout, c, optarg) > 0)
            continue;
        if (c == 'h') {
            cvmctl_print_usage(stdout, &cvmctl_cmd_logout);
            return CVMCTL_EXIT_OK;
        }
        return cvmctl_option_error(&cvmctl_cmd_logout, c, argv);
    }
    if (optind != argc - 1)
        return cvmctl_misuse(&cvmctl_cmd_logout, "expected one registry");
    const char *host = argv[optind];
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTOFREE char *file = auth_file(&ro);
    int res = file ? cvm_credentials_erase(file, host, &err)
                   : cvm_error_set_errno(&err, ENOMEM, "cannot allocate");
    if (res == 0)
        res = cvm_error_set(&err, CVM_E_NOTFOUND, "not logged in (no credentials in '%s')", file);
    if (res < 0) {
        cvm_error_prefix(&err, "logout '%s'", host);
        return cvmctl_fail(err);
    }
    printf("Removed login credentials for %s\n", host);
    return CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_login = {
    .name = "login",
    .summary = "Store credentials for a registry",
    .usage = login_usage,
    .run = login_run,
};

const struct cvmctl_command cvmctl_cmd_logout = {
    .name = "logout",
    .summary = "Remove stored credentials for a registry",
    .usage = logout_usage,
    .run = logout_run,
};
