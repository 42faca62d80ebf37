/* The options run and create share: parsing, -e and --env-file (run-options.h). */
#include "run-options.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "cli.h"
#include "instance.h"

void cvmctl_run_options_release(struct run_options *o)
{
    free(o->env);
    for (size_t i = 0; i < o->n_env_storage; i++)
        free(o->env_storage[i]);
    free(o->env_storage);
}

static bool env_key_valid(const char *entry)
{
    size_t k = strcspn(entry, "=");
    return k > 0 && strcspn(entry, " \t") >= k;
}

/* Adds one -e value: "KEY=VALUE", or "KEY" for this process's value (skipped when unset). */
static int add_env(struct run_options *o, const char *entry, bool owned, struct cvm_error **err)
{
    if (!env_key_valid(entry))
        return cvm_error_set(err, CVM_E_USAGE, "environment entry '%.100s': no variable name",
                             entry);
    char *made = NULL;
    if (!strchr(entry, '=')) {
        const char *v = getenv(entry);
        if (!v)
            return 0;
        if (asprintf(&made, "%s=%s", entry, v) < 0)
            return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    } else if (owned && !(made = strdup(entry))) {
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    }
    if (o->n_env == RUN_ENV_MAX) {
        free(made);
        return cvm_error_set(err, CVM_E_LIMIT, "more than %d environment entries", RUN_ENV_MAX);
    }
    const char **env = realloc(o->env, (o->n_env + 1) * sizeof(*env));
    char **storage =
        made ? realloc(o->env_storage, (o->n_env_storage + 1) * sizeof(*storage)) : NULL;
    if (env)
        o->env = env;
    if (storage)
        o->env_storage = storage;
    if (!env || (made && !storage)) {
        free(made);
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    }
    if (made)
        o->env_storage[o->n_env_storage++] = made;
    o->env[o->n_env++] = made ? made : entry;
    return 0;
}

static int read_env_file(struct run_options *o, const char *path, struct cvm_error **err)
{
    struct cvm_buf text;
    cvm_buf_init(&text, RUN_ENV_FILE_MAX);
    int r = cvm_buf_read_file(&text, AT_FDCWD, path, err);
    if (r == 0 && text.len > 0 && memchr(text.data, '\0', text.len))
        r = cvm_error_set(err, CVM_E_FORMAT, "env file '%s': a NUL byte", path);
    /* The buffer is NUL-terminated: lines become strings in place. */
    char *p = (char *)text.data;
    for (size_t line = 1; r == 0 && p && *p; line++) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        if (*p && *p != '#' && (r = add_env(o, p, true, err)) < 0)
            cvm_error_prefix(err, "env file '%s', line %zu", path, line);
        p = nl ? nl + 1 : NULL;
    }
    cvm_buf_release(&text);
    return r;
}

/* The application's environment: the image's, with each given KEY replacing its entry. */
const char **cvmctl_run_env(const struct cvm_vm_spec *vm, const struct run_options *o,
                            size_t *ret_n)
{
    const char **env = calloc(vm->envc + o->n_env + 1, sizeof(*env));
    if (!env)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < vm->envc; i++)
        env[n++] = vm->envp[i];
    for (size_t i = 0; i < o->n_env; i++) {
        size_t k = strcspn(o->env[i], "="), j = 0;
        while (j < n && !(strncmp(env[j], o->env[i], k + 1) == 0))
            j++;
        env[j] = o->env[i];
        if (j == n)
            n++;
    }
    *ret_n = n;
    return env;
}

int cvmctl_run_options_parse(const struct cvmctl_command *cmd, int argc, char **argv,
                             struct run_options *o)
{
    enum {
        OPT_PULL = 2000,
        OPT_VERIFY,
        OPT_POLICY,
        OPT_ENV_FILE,
        OPT_PLATFORM,
        OPT_ATTEST_NONCE,
        OPT_ATTEST_OUT,
        OPT_HEAP,
        OPT_NAME,
        OPT_RM
    };
    static const struct option opts[] = {
        {"pull", required_argument, NULL, OPT_PULL},
        {"verify", required_argument, NULL, OPT_VERIFY},
        {"policy", required_argument, NULL, OPT_POLICY},
        {"platform", required_argument, NULL, OPT_PLATFORM},
        {"env", required_argument, NULL, 'e'},
        {"env-file", required_argument, NULL, OPT_ENV_FILE},
        {"attest-nonce", required_argument, NULL, OPT_ATTEST_NONCE},
        {"attest-out", required_argument, NULL, OPT_ATTEST_OUT},
        {"heap", required_argument, NULL, OPT_HEAP},
        {"timeout", required_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'},
        {"detach", no_argument, NULL, 'd'},
        {"name", required_argument, NULL, OPT_NAME},
        {"rm", no_argument, NULL, OPT_RM},
        {"help", no_argument, NULL, 'h'},
        CVMCTL_REGISTRY_LONG_OPTIONS,
        {NULL, 0, NULL, 0},
    };
    bool create = cmd == &cvmctl_cmd_create;
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, create ? "+:e:t:qh" : "+:e:t:qdh", opts, NULL)) != -1) {
        int handled = cvmctl_registry_option(&o->ro, cmd, c, optarg);
        if (handled < 0)
            return CVMCTL_EXIT_FAILED;
        if (handled)
            continue;
        switch (c) {
        case OPT_PULL:
            if (strcmp(optarg, "missing") == 0)
                o->pull = PULL_MISSING;
            else if (strcmp(optarg, "always") == 0)
                o->pull = PULL_ALWAYS;
            else if (strcmp(optarg, "never") == 0)
                o->pull = PULL_NEVER;
            else
                return cvmctl_misuse(cmd, "--pull takes missing, always or never, not '%s'",
                                     optarg);
            break;
        case OPT_VERIFY:
            o->verify = true;
            o->trust.key_file = NULL;
            if (strcmp(optarg, "none") == 0)
                o->verify = false;
            else if (strncmp(optarg, "key:", 4) == 0 && optarg[4])
                o->trust.key_file = optarg + 4;
            else if (strcmp(optarg, "policy") != 0)
                return cvmctl_misuse(cmd, "--verify takes policy, key:<file.pub> or none, not '%s'",
                                     optarg);
            break;
        case OPT_POLICY: o->trust.policy_file = optarg; break;
        case OPT_PLATFORM:
            if (cvm_platform_parse(optarg, &o->platform, NULL) < 0)
                return cvmctl_misuse(cmd,
                                     "--platform takes os/arch[/variant] of lowercase letters and "
                                     "digits, not '%s'",
                                     optarg);
            o->po.os = o->platform.os;
            o->po.architecture = o->platform.architecture;
            o->po.variant = o->platform.variant[0] ? o->platform.variant : NULL;
            break;
        case 'e':
            if (add_env(o, optarg, false, &err) < 0)
                return cvmctl_misuse(cmd, "-e %s", err->message);
            break;
        case OPT_ENV_FILE:
            if (read_env_file(o, optarg, &err) < 0)
                return cvmctl_fail(err);
            break;
        case 't': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (!*optarg || *end || v == 0 || v > 86400)
                return cvmctl_misuse(cmd, "--timeout takes 1 to 86400 seconds, not '%s'", optarg);
            o->timeout = (unsigned)v;
            break;
        }
        case OPT_ATTEST_NONCE:
            if (cvm_attest_nonce_parse(optarg, o->nonce, &err) < 0)
                return cvmctl_misuse(cmd, "--attest-nonce: %s", err->message);
            break;
        case OPT_ATTEST_OUT: o->attest_out = optarg; break;
        case OPT_HEAP:
            if (strcmp(optarg, "clean-room") == 0)
                o->heap = CVM_HEAP_CLEAN_ROOM;
            else if (strcmp(optarg, "shared") == 0)
                o->heap = CVM_HEAP_SHARED;
            else
                return cvmctl_misuse(cmd, "--heap takes clean-room or shared, not '%s'", optarg);
            break;
        case 'q': o->quiet = true; break;
        case 'd':
            if (create)
                return cvmctl_option_error(cmd, '?', argv);
            o->detach = true;
            break;
        case OPT_NAME:
            if (!cvm_instance_id_valid(optarg))
                return cvmctl_misuse(cmd,
                                     "--name takes letters, digits, '_', '.' and '-' (not first), "
                                     "at most %d, not '%.100s'",
                                     CVM_INSTANCE_ID_MAX, optarg);
            o->name = optarg;
            break;
        case OPT_RM: o->auto_remove = true; break;
        case 'h': cvmctl_print_usage(stdout, cmd); return CVMCTL_EXIT_OK;
        default: return cvmctl_option_error(cmd, c, argv);
        }
    }
    if (o->trust.key_file && o->trust.policy_file)
        return cvmctl_misuse(cmd, "--verify key:<file> and --policy exclude each other");
    if (!o->verify && o->trust.policy_file)
        return cvmctl_misuse(cmd, "--verify none and --policy exclude each other");
    if (!o->nonce[0] != !o->attest_out)
        return cvmctl_misuse(cmd, "--attest-nonce and --attest-out go together");
    if (!o->detach && (o->name || o->auto_remove))
        return cvmctl_misuse(cmd, "%s needs -d: a run in the foreground keeps no instance",
                             o->name ? "--name" : "--rm");
    if (optind >= argc)
        return cvmctl_misuse(cmd, "no image given");
    return -1;
}
