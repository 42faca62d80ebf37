/* Instances (specs/cli.md §4): the detached monitor behind create and run -d, which waits on
 * a FIFO for start, and the commands start, state, kill, delete and ps. */
#include "lifecycle.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base.h"
#include "image-cli.h"
#include "instance.h"

#define STOP_WAIT_MS 10000 /* how long kill, delete -f and start wait for the monitor */

/* ---- the monitor ---------------------------------------------------------------------------- */

/* One monitor per process: its state, shared by the main thread and the signal thread. */
static struct {
    pthread_mutex_t lock;
    struct cvm_instance_state st;
    int dirfd, fd; /* ROOT/instances and the instance's folder */
    int sync;      /* to the create command until the instance is created, else -1 */
    sigset_t stop_signals;
    const struct cvmctl_launch *launch;
    int stopped_by; /* the signal that stopped a running deployment, else 0 */
} mon = {.lock = PTHREAD_MUTEX_INITIALIZER, .sync = -1};

/* Tells the create command how creation ended: a status byte, then the error message. */
static void tell_creator(int status, const char *message)
{
    if (mon.sync < 0)
        return;
    char head = (char)status;
    if (write(mon.sync, &head, 1) == 1 && message)
        (void)!write(mon.sync, message, strlen(message));
    close(mon.sync);
    mon.sync = -1;
}

/* Records how the instance ended and leaves the process; the lock is never released, so only
 * the first thread to get here records anything. */
static _Noreturn void monitor_finish(int status, const char *why)
{
    pthread_mutex_lock(&mon.lock);
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    if (mon.st.status == CVM_INSTANCE_CREATING) {
        /* Nothing to keep: the create command reports why. */
        cvm_instance_remove(mon.dirfd, mon.st.id, mon.fd, NULL);
        tell_creator(status, why);
    } else if (mon.st.auto_remove) {
        cvm_instance_remove(mon.dirfd, mon.st.id, mon.fd, NULL);
    } else {
        mon.st.status = CVM_INSTANCE_STOPPED;
        mon.st.has_exit_code = true;
        mon.st.exit_code = status;
        if (cvm_instance_write(mon.fd, &mon.st, &err) < 0)
            cvmctl_fail(err);
    }
    fflush(stdout);
    fflush(stderr);
    exit(status);
}

/* The stopping signals are blocked in every thread (cVM threads inherit the mask); this
 * thread takes them. A running deployment is stopped through the monitor, and the instance
 * then ends with 128+N once its cVMs have; before that, the instance ends at once. */
static void *signal_thread(void *arg)
{
    (void)arg;
    int sig = 0;
    while (sigwait(&mon.stop_signals, &sig) != 0)
        ;
    pthread_mutex_lock(&mon.lock);
    bool running = mon.st.status == CVM_INSTANCE_RUNNING && mon.launch->stop;
    if (running)
        mon.stopped_by = sig;
    pthread_mutex_unlock(&mon.lock);
    if (running) {
        mon.launch->stop(mon.launch->ctx);
        return NULL;
    }
    char why[64];
    snprintf(why, sizeof(why), "stopped by SIG%s before it was created", sigabbrev_np(sig));
    monitor_finish(128 + sig, why);
}

static int set_state(enum cvm_instance_status status, struct cvm_error **err)
{
    pthread_mutex_lock(&mon.lock);
    mon.st.status = status;
    int r = cvm_instance_write(mon.fd, &mon.st, err);
    pthread_mutex_unlock(&mon.lock);
    return r;
}

static const int stop_signal_list[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM};

static bool is_stop_signal(int sig)
{
    for (size_t i = 0; i < sizeof(stop_signal_list) / sizeof(stop_signal_list[0]); i++)
        if (stop_signal_list[i] == sig)
            return true;
    return sig == SIGKILL;
}

/* The detached monitor: in a session of its own, output to the log. */
static _Noreturn void monitor_main(const struct cvmctl_launch *l)
{
    mon.launch = l;
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int log = openat(mon.fd, CVM_INSTANCE_LOG, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (null < 0 || log < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(log, STDOUT_FILENO) < 0 ||
        dup2(log, STDERR_FILENO) < 0) {
        cvm_error_set_errno(&err, errno, "cannot open the log");
        monitor_finish(CVMCTL_EXIT_FAILED, err->message);
    }
    close(null);
    close(log);
    sigemptyset(&mon.stop_signals);
    for (size_t i = 0; i < sizeof(stop_signal_list) / sizeof(stop_signal_list[0]); i++)
        sigaddset(&mon.stop_signals, stop_signal_list[i]);
    pthread_sigmask(SIG_BLOCK, &mon.stop_signals, NULL);
    pthread_t tid;
    int e = pthread_create(&tid, NULL, signal_thread, NULL);
    if (e != 0) {
        cvm_error_set_errno(&err, e, "cannot start the signal thread");
        monitor_finish(CVMCTL_EXIT_FAILED, err->message);
    }
    pthread_mutex_lock(&mon.lock);
    mon.st.pid = (int)getpid();
    int r = cvm_process_start_time(mon.st.pid, &mon.st.pid_start, &err);
    if (r == 0)
        r = cvm_instance_write(mon.fd, &mon.st, &err);
    pthread_mutex_unlock(&mon.lock);
    /* Read and write: the open never blocks, and start finds a reader as soon as it exists. */
    int fifo = -1;
    if (r == 0 && (mkfifoat(mon.fd, CVM_INSTANCE_FIFO, 0600) < 0 ||
                   (fifo = openat(mon.fd, CVM_INSTANCE_FIFO, O_RDWR | O_CLOEXEC)) < 0))
        r = cvm_error_set_errno(&err, errno, "cannot make the start FIFO");
    struct cvm_instance_state found = mon.st;
    if (r == 0)
        r = l->prepare(l->ctx, &found, &err);
    if (r < 0)
        monitor_finish(CVMCTL_EXIT_FAILED, err->message);
    pthread_mutex_lock(&mon.lock);
    memcpy(mon.st.image, found.image, sizeof(mon.st.image));
    memcpy(mon.st.digest, found.digest, sizeof(mon.st.digest));
    memcpy(mon.st.measurement, found.measurement, sizeof(mon.st.measurement));
    pthread_mutex_unlock(&mon.lock);
    if (set_state(CVM_INSTANCE_CREATED, &err) < 0)
        monitor_finish(CVMCTL_EXIT_FAILED, err->message);
    tell_creator(0, NULL);
    /* Blocks until start writes its byte; a kill meanwhile ends the process. */
    char go;
    ssize_t n;
    while ((n = read(fifo, &go, 1)) < 0 && errno == EINTR)
        ;
    if (n != 1) {
        cvmctl_error("instance '%s': cannot read the start FIFO: %s", mon.st.id,
                     n < 0 ? strerror(errno) : "end of file");
        monitor_finish(CVMCTL_EXIT_FAILED, NULL);
    }
    if (set_state(CVM_INSTANCE_RUNNING, &err) < 0) {
        cvmctl_fail(err);
        monitor_finish(CVMCTL_EXIT_FAILED, NULL);
    }
    /* Closing the last reader is what start waits for: the state says running by then. */
    close(fifo);
    unlinkat(mon.fd, CVM_INSTANCE_FIFO, 0);
    int status = l->execute(l->ctx);
    pthread_mutex_lock(&mon.lock);
    if (mon.stopped_by)
        status = 128 + mon.stopped_by;
    pthread_mutex_unlock(&mon.lock);
    monitor_finish(status, NULL);
}

/* ---- talking to an instance ------------------------------------------------------------------ */

/* The store root's instances folder and one instance in it, with its state. */
struct target {
    int dirfd, fd;
    struct cvm_instance_state st;
};

static void target_release(struct target *t)
{
    if (t->fd >= 0)
        close(t->fd);
    if (t->dirfd >= 0)
        close(t->dirfd);
}

static int instances_dir(int *ret_fd, struct cvm_error **err)
{
    CVM_AUTO(cvm_store_free) struct cvm_store *s = NULL;
    int r = cvmctl_store_open(0, &s, err);
    return r < 0 ? r : cvm_instances_open(cvm_store_root(s), true, ret_fd, err);
}

static int target_open(const char *id, struct target *t, struct cvm_error **err)
{
    *t = (struct target){.dirfd = -1, .fd = -1};
    int r = instances_dir(&t->dirfd, err);
    if (r == 0)
        r = cvm_instance_open(t->dirfd, id, &t->fd, err);
    if (r == 0)
        r = cvm_instance_read(t->fd, id, &t->st, err);
    return r;
}

/* An --rm monitor that has ended moves its instance's folder aside, empties it, then removes
 * it: a read of its state may fail on the way. */
static bool being_removed(int fd)
{
    struct stat folder;
    if (fstat(fd, &folder) == 0 && folder.st_nlink == 0)
        return true;
    return faccessat(fd, CVM_INSTANCE_STATE, F_OK, 0) < 0 && errno == ENOENT;
}

/* cvm_instance_read, or 1 when the folder went away under it. */
static int read_unless_removed(int fd, const char *id, struct cvm_instance_state *st,
                               struct cvm_error **err)
{
    struct cvm_error *read_err = NULL;
    int r = cvm_instance_read(fd, id, st, &read_err);
    if (r < 0 && being_removed(fd)) {
        cvm_error_free(read_err);
        return 1;
    }
    if (err)
        *err = read_err;
    else
        cvm_error_free(read_err);
    return r;
}

static int start_instance(int fd, const char *id, struct cvm_error **err)
{
    struct cvm_instance_state st;
    int r = cvm_instance_read(fd, id, &st, err);
    if (r < 0)
        return r;
    if (st.status != CVM_INSTANCE_CREATED)
        return cvm_error_set(err, CVM_E_CONFLICT, "instance '%s' is %s: only a created one starts",
                             id, cvm_instance_status_name(st.status));
    CVM_AUTOCLOSE int w = openat(fd, CVM_INSTANCE_FIFO, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (w < 0)
        return cvm_error_set_errno(err, errno, "instance '%s': its monitor is not waiting", id);
    if (write(w, "1", 1) != 1)
        return cvm_error_set_errno(err, errno, "instance '%s': cannot write the start FIFO", id);
    /* POLLERR on a FIFO's writer: no reader is left. The monitor closes its end once it has
     * recorded the start, but also when it dies: the state says which. */
    struct pollfd p = {.fd = w, .events = 0};
    int n;
    while ((n = poll(&p, 1, STOP_WAIT_MS)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return cvm_error_set_errno(err, errno, "instance '%s': cannot wait for its monitor", id);
    if (n == 0)
        return cvm_error_set(err, CVM_E_SYSTEM, "instance '%s': its monitor did not start in %d s",
                             id, STOP_WAIT_MS / 1000);
    /* Started: running, or already ended with the exit status it recorded, or (with --rm)
     * already removed once it ended. A monitor that died before it recorded the start reads
     * as stopped without an exit status. */
    if (being_removed(fd))
        return 0;
    r = read_unless_removed(fd, id, &st, err);
    if (r == 1)
        return 0;
    if (r == 0 && st.status != CVM_INSTANCE_RUNNING &&
        !(st.status == CVM_INSTANCE_STOPPED && st.has_exit_code))
        r = cvm_error_set(err, CVM_E_SYSTEM, "instance '%s': its monitor ended before it started",
                          id);
    return r;
}

/* Sends sig to the instance's monitor and, for a signal that stops it, waits until it is gone.
 * The pidfd pins the process whose start time matched, so a reused pid is never signalled. */
static int signal_instance(struct target *t, int sig, struct cvm_error **err)
{
    const char *id = t->st.id;
    CVM_AUTOCLOSE int pidfd = t->st.pid > 0 ? pidfd_open(t->st.pid, 0) : -1;
    if (pidfd < 0 || !cvm_instance_monitor_alive(&t->st))
        return cvm_error_set(err, CVM_E_CONFLICT, "instance '%s' is not running", id);
    if (pidfd_send_signal(pidfd, sig, NULL, 0) < 0)
        return cvm_error_set_errno(err, errno, "instance '%s': cannot signal process %d", id,
                                   t->st.pid);
    if (!is_stop_signal(sig))
        return 0;
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    int n;
    while ((n = poll(&p, 1, STOP_WAIT_MS)) < 0 && errno == EINTR)
        ;
    if (n == 0)
        return cvm_error_set(err, CVM_E_SYSTEM, "instance '%s': its monitor did not stop in %d s",
                             id, STOP_WAIT_MS / 1000);
    /* With --rm the monitor may have removed the folder on its way out. */
    if (being_removed(t->fd))
        return 0;
    bool auto_remove = t->st.auto_remove;
    int r = read_unless_removed(t->fd, id, &t->st, err);
    if (r == 1)
        return 0;
    if (r < 0 || t->st.has_exit_code || sig != SIGKILL)
        return r;
    /* SIGKILL left the monitor no chance to record its end: what it died of is known here. */
    if (auto_remove)
        return cvm_instance_remove(t->dirfd, id, t->fd, err);
    t->st.has_exit_code = true;
    t->st.exit_code = 128 + SIGKILL;
    return cvm_instance_write(t->fd, &t->st, err);
}

int cvmctl_launch(const struct cvmctl_launch *l)
{
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTOCLOSE int dirfd = -1;
    CVM_AUTOCLOSE int fd = -1;
    char generated[CVM_INSTANCE_GENERATED_LEN + 1];
    const char *id = l->name;
    int r = cvm_instances_open(l->root, true, &dirfd, &err);
    for (int tries = 0; r == 0 && !l->name; tries++) {
        if ((r = cvm_instance_id_generate(generated, &err)) < 0)
            break;
        id = generated;
        r = cvm_instance_reserve(dirfd, id, &fd, &err);
        if (r != -CVM_E_CONFLICT || tries == 8)
            break;
        cvm_error_free(cvm_steal_ptr(&err));
        r = 0;
    }
    if (r == 0 && l->name)
        r = cvm_instance_reserve(dirfd, id, &fd, &err);
    if (r < 0)
        return cvmctl_fail(err);
    cvm_instance_state_init(&mon.st, id);
    mon.st.auto_remove = l->auto_remove;
    int sync[2];
    if (cvm_instance_write(fd, &mon.st, &err) < 0 || pipe2(sync, O_CLOEXEC) < 0) {
        if (!err)
            cvm_error_set_errno(&err, errno, "cannot make a pipe");
        cvm_instance_remove(dirfd, id, fd, NULL);
        return cvmctl_fail(err);
    }
    fflush(stdout);
    fflush(stderr);
    pid_t child = fork();
    if (child == 0) {
        /* Forked twice: the monitor is nobody's child here and outlives this command. */
        close(sync[0]);
        setsid();
        pid_t monitor = fork();
        if (monitor != 0)
            _exit(monitor < 0 ? 1 : 0);
        mon.dirfd = dirfd;
        mon.fd = fd;
        mon.sync = sync[1];
        monitor_main(l);
    }
    close(sync[1]);
    int wstatus = 0;
    if (child > 0)
        while (waitpid(child, &wstatus, 0) < 0 && errno == EINTR)
            ;
    char reply[CVM_ERROR_MSG_MAX + 2];
    size_t got = 0;
    ssize_t n;
    while (child > 0 && got < sizeof(reply) - 1 &&
           ((n = read(sync[0], reply + got, sizeof(reply) - 1 - got)) > 0 ||
            (n < 0 && errno == EINTR)))
        got += n > 0 ? (size_t)n : 0;
    close(sync[0]);
    reply[got] = '\0';
    if (got == 0) {
        cvm_instance_remove(dirfd, id, fd, NULL);
        cvmctl_error("instance '%s': its monitor ended before the instance was created", id);
        return CVMCTL_EXIT_FAILED;
    }
    if (reply[0] != 0) {
        cvmctl_error("%s", reply + 1);
        return (unsigned char)reply[0];
    }
    if (l->start && start_instance(fd, id, &err) < 0)
        return cvmctl_fail(err);
    printf("%s\n", id);
    return CVMCTL_EXIT_OK;
}

/* ---- commands ----------------------------------------------------------------------------------
 */

/* Options -h/--help only, then exactly `want` operands (want_max with optional ones). */
static int simple_args(const struct cvmctl_command *cmd, int argc, char **argv,
                       const struct option *extra, const char *shortopts, int want, int want_max,
                       int (*on_option)(int c, void *data), void *data)
{
    struct option opts[8];
    size_t n = 0;
    for (; extra && extra[n].name && n < 6; n++)
        opts[n] = extra[n];
    opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    opts[n] = (struct option){NULL, 0, NULL, 0};
    char spec[32];
    snprintf(spec, sizeof(spec), "+:%sh", shortopts);
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, spec, opts, NULL)) != -1) {
        if (c == 'h') {
            cvmctl_print_usage(stdout, cmd);
            return CVMCTL_EXIT_OK;
        }
        if (c == ':' || c == '?' || !on_option)
            return cvmctl_option_error(cmd, c, argv);
        int r = on_option(c, data);
        if (r >= 0)
            return r;
    }
    int left = argc - optind;
    if (left < want)
        return cvmctl_misuse(cmd, "no instance given");
    if (left > want_max)
        return cvmctl_misuse(cmd, "unexpected argument '%s'", argv[optind + want_max]);
    return -1;
}

static const char *const start_usage[] = {
    "cvmctl start <instance>",
    "",
    "Starts a created instance: its monitor runs the deployment it has deployed and",
    "measured. Returns once the instance is running.",
    "",
    "  -h, --help             show this help",
    NULL,
};

static int start_run(int argc, char **argv)
{
    int status = simple_args(&cvmctl_cmd_start, argc, argv, NULL, "", 1, 1, NULL, NULL);
    if (status >= 0)
        return status;
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    struct target t;
    int r = target_open(argv[optind], &t, &err);
    if (r == 0)
        r = start_instance(t.fd, t.st.id, &err);
    target_release(&t);
    return r < 0 ? cvmctl_fail(err) : CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_start = {
    .name = "start",
    .summary = "Start a created instance",
    .usage = start_usage,
    .run = start_run,
};

static json_t *state_json(const struct cvm_instance_state *st)
{
    bool live = st->status == CVM_INSTANCE_CREATED || st->status == CVM_INSTANCE_RUNNING;
    json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "id", st->id, "status",
                          cvm_instance_status_name(st->status), "pid", live ? st->pid : 0, "image",
                          st->image, "digest", st->digest, "measurement", st->measurement,
                          "created", st->created);
    if (j && st->status == CVM_INSTANCE_STOPPED && st->has_exit_code)
        json_object_set_new(j, "exitCode", json_integer(st->exit_code));
    return j;
}

static const char *const state_usage[] = {
    "cvmctl state <instance>",
    "",
    "Prints the state of an instance as JSON: id, status (creating, created, running or",
    "stopped), pid of its monitor (0 unless created or running), image, digest,",
    "measurement, created (RFC 3339, UTC) and, once stopped, exitCode when it is known.",
    "",
    "  -h, --help             show this help",
    NULL,
};

static int state_run(int argc, char **argv)
{
    int status = simple_args(&cvmctl_cmd_state, argc, argv, NULL, "", 1, 1, NULL, NULL);
    if (status >= 0)
        return status;
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    struct target t;
    int r = target_open(argv[optind], &t, &err);
    target_release(&t);
    if (r < 0)
        return cvmctl_fail(err);
    json_auto_t *j = state_json(&t.st);
    json_dumpf(j, stdout, JSON_INDENT(2));
    putchar('\n');
    return CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_state = {
    .name = "state",
    .summary = "Show the state of an instance as JSON",
    .usage = state_usage,
    .run = state_run,
};

static const char *const kill_usage[] = {
    "cvmctl kill <instance> [<signal>]",
    "",
    "Sends <signal> (default TERM; a name with or without SIG, or a number) to the",
    "instance's monitor. HUP, INT, QUIT, TERM, USR1, USR2, ALRM and KILL stop the instance",
    "with exit status 128+N; kill then returns once it has stopped.",
    "",
    "  -h, --help             show this help",
    NULL,
};

static int parse_signal(const char *text)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (*text && !*end)
        return v >= 1 && v < SIGRTMIN ? (int)v : -1;
    const char *name = strncmp(text, "SIG", 3) == 0 ? text + 3 : text;
    for (int s = 1; s < SIGRTMIN; s++) {
        const char *abbrev = sigabbrev_np(s);
        if (abbrev && strcmp(abbrev, name) == 0)
            return s;
    }
    return -1;
}

static int kill_run(int argc, char **argv)
{
    int status = simple_args(&cvmctl_cmd_kill, argc, argv, NULL, "", 1, 2, NULL, NULL);
    if (status >= 0)
        return status;
    int sig = SIGTERM;
    if (argc - optind == 2 && (sig = parse_signal(argv[optind + 1])) < 0)
        return cvmctl_misuse(&cvmctl_cmd_kill, "unknown signal '%s'", argv[optind + 1]);
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    struct target t;
    int r = target_open(argv[optind], &t, &err);
    if (r == 0)
        r = signal_instance(&t, sig, &err);
    target_release(&t);
    return r < 0 ? cvmctl_fail(err) : CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_kill = {
    .name = "kill",
    .summary = "Send a signal to an instance",
    .usage = kill_usage,
    .run = kill_run,
};

static const char *const delete_usage[] = {
    "cvmctl delete [-f] <instance>",
    "",
    "Removes a stopped instance's folder: its state and log.",
    "",
    "  -f, --force            kill it first (SIGKILL) when it is not stopped",
    "  -h, --help             show this help",
    NULL,
};

static int delete_option(int c, void *data)
{
    (void)c;
    *(bool *)data = true;
    return -1;
}

static int delete_run(int argc, char **argv)
{
    static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
    bool force = false;
    int status =
        simple_args(&cvmctl_cmd_delete, argc, argv, opts, "f", 1, 1, delete_option, &force);
    if (status >= 0)
        return status;
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    struct target t;
    int r = target_open(argv[optind], &t, &err);
    const char *id = argv[optind];
    if (r == 0 && t.st.status != CVM_INSTANCE_STOPPED) {
        if (!force)
            r = cvm_error_set(&err, CVM_E_CONFLICT,
                              "instance '%s' is %s: stop it with 'cvmctl kill' or use -f", id,
                              cvm_instance_status_name(t.st.status));
        else if (cvm_instance_monitor_alive(&t.st))
            r = signal_instance(&t, SIGKILL, &err);
    }
    if (r == 0)
        r = cvm_instance_remove(t.dirfd, id, t.fd, &err);
    target_release(&t);
    return r < 0 ? cvmctl_fail(err) : CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_delete = {
    .name = "delete",
    .summary = "Remove a stopped instance",
    .usage = delete_usage,
    .run = delete_run,
};

static const char *const ps_usage[] = {
    "cvmctl ps [--format json]",
    "",
    "Lists every instance: id, image, status (stopped with its exit status, '?' when",
    "unknown), creation time (UTC) and the pid of its monitor ('-' once stopped).",
    "",
    "      --format json      a JSON array of what 'cvmctl state' prints",
    "  -h, --help             show this help",
    NULL,
};

static int ps_option(int c, void *data)
{
    (void)c;
    if (strcmp(optarg, "json") != 0)
        return cvmctl_misuse(&cvmctl_cmd_ps, "unknown format '%s' (only 'json')", optarg);
    *(bool *)data = true;
    return -1;
}

static int ps_run(int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'F'},
                                         {NULL, 0, NULL, 0}};
    bool json = false;
    int status = simple_args(&cvmctl_cmd_ps, argc, argv, opts, "", 0, 0, ps_option, &json);
    if (status >= 0)
        return status;
    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTOCLOSE int dirfd = -1;
    char **ids = NULL;
    size_t n = 0;
    if (instances_dir(&dirfd, &err) < 0 || cvm_instance_list(dirfd, &ids, &n, &err) < 0)
        return cvmctl_fail(err);
    json_auto_t *out = json_array();
    if (!json)
        printf("%-20s %-40s %-14s %-20s %s\n", "ID", "IMAGE", "STATUS", "CREATED", "PID");
    for (size_t i = 0; i < n; i++) {
        CVM_AUTO(cvm_error_free) struct cvm_error *e = NULL;
        CVM_AUTOCLOSE int fd = -1;
        struct cvm_instance_state st;
        /* One that went away meanwhile, or whose state cannot be read, is left out. */
        if (cvm_instance_open(dirfd, ids[i], &fd, &e) < 0 ||
            cvm_instance_read(fd, ids[i], &st, &e) < 0)
            continue;
        if (json) {
            json_array_append_new(out, state_json(&st));
            continue;
        }
        char shown[32], pid[16] = "-";
        snprintf(shown, sizeof(shown), "%s", cvm_instance_status_name(st.status));
        if (st.status == CVM_INSTANCE_STOPPED && st.has_exit_code)
            snprintf(shown, sizeof(shown), "stopped (%d)", st.exit_code);
        else if (st.status == CVM_INSTANCE_STOPPED)
            snprintf(shown, sizeof(shown), "stopped (?)");
        else if (st.pid > 0)
            snprintf(pid, sizeof(pid), "%d", st.pid);
        printf("%-20s %-40s %-14s %-20s %s\n", st.id, st.image[0] ? st.image : "-", shown,
               st.created[0] ? st.created : "-", pid);
    }
    cvm_instance_list_free(ids, n);
    if (json) {
        json_dumpf(out, stdout, JSON_INDENT(2));
        putchar('\n');
    }
    return CVMCTL_EXIT_OK;
}

const struct cvmctl_command cvmctl_cmd_ps = {
    .name = "ps",
    .summary = "List instances",
    .usage = ps_usage,
    .run = ps_run,
};
