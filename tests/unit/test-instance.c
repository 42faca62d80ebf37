/* The instance state folder: ids, reservation, atomic state round trips, hostile state files,
 * liveness by pid and start time, listing and removal. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base.h"
#include "instance.h"
#include "tap.h"

static char root[] = "/tmp/test-instance-XXXXXX";

static int setup(void)
{
    CHECK(mkdtemp(root) != NULL);
    int fd = -1;
    struct cvm_error *err = NULL;
    CHECK_INT(cvm_instances_open(root, true, &fd, &err), 0);
    return fd;
}

static void teardown(int fd)
{
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    CHECK_INT(system(cmd), 0);
}

static void write_text(int fd, const char *name, const char *text)
{
    int out = openat(fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(out >= 0);
    CHECK_INT(write(out, text, strlen(text)), (long long)strlen(text));
    close(out);
}

static void ids(void)
{
    CHECK(cvm_instance_id_valid("a"));
    CHECK(cvm_instance_id_valid("web_1.prod-2"));
    CHECK(!cvm_instance_id_valid(""));
    CHECK(!cvm_instance_id_valid("-a"));
    CHECK(!cvm_instance_id_valid(".a"));
    CHECK(!cvm_instance_id_valid("a/b"));
    CHECK(!cvm_instance_id_valid(".."));
    CHECK(!cvm_instance_id_valid("a b"));
    char long_id[CVM_INSTANCE_ID_MAX + 2];
    memset(long_id, 'x', sizeof(long_id));
    long_id[CVM_INSTANCE_ID_MAX] = '\0';
    CHECK(cvm_instance_id_valid(long_id));
    long_id[CVM_INSTANCE_ID_MAX] = 'x';
    long_id[CVM_INSTANCE_ID_MAX + 1] = '\0';
    CHECK(!cvm_instance_id_valid(long_id));
    char a[CVM_INSTANCE_GENERATED_LEN + 1], b[CVM_INSTANCE_GENERATED_LEN + 1];
    CHECK_INT(cvm_instance_id_generate(a, NULL), 0);
    CHECK_INT(cvm_instance_id_generate(b, NULL), 0);
    CHECK_INT(strlen(a), 12);
    CHECK_INT(strspn(a, "0123456789abcdef"), 12);
    CHECK(strcmp(a, b) != 0);
}

static void reserve_conflict(void)
{
    int dir = setup();
    struct cvm_error *err = NULL;
    int fd = -1, fd2 = -1;
    CHECK_INT(cvm_instance_reserve(dir, "web", &fd, &err), 0);
    CHECK_INT(cvm_instance_reserve(dir, "web", &fd2, &err), -CVM_E_CONFLICT);
    CHECK_STR(tap_take_error(&err), "instance name 'web' is already in use");
    CHECK_INT(fd2, -1);
    CHECK_INT(cvm_instance_reserve(dir, "../x", &fd2, &err), -CVM_E_USAGE);
    CHECK_STR(tap_take_error(&err), "invalid instance name '../x'");
    CHECK_INT(cvm_instance_open(dir, "nope", &fd2, &err), -CVM_E_NOTFOUND);
    CHECK_STR(tap_take_error(&err), "no instance 'nope'");
    CHECK_INT(cvm_instance_open(dir, "../etc", &fd2, &err), -CVM_E_NOTFOUND);
    CHECK_STR(tap_take_error(&err), "no instance '../etc'");
    /* Reserved but not yet written: being created, nothing known. */
    struct cvm_instance_state st;
    CHECK_INT(cvm_instance_read(fd, "web", &st, &err), 0);
    CHECK_INT(st.status, CVM_INSTANCE_CREATING);
    CHECK_INT(st.pid, 0);
    CHECK_STR(st.created, "");
    close(fd);
    teardown(dir);
}

static void round_trip(void)
{
    int dir = setup();
    struct cvm_error *err = NULL;
    int fd = -1;
    CHECK_INT(cvm_instance_reserve(dir, "web", &fd, &err), 0);
    struct cvm_instance_state st, got;
    cvm_instance_state_init(&st, "web");
    st.status = CVM_INSTANCE_STOPPED;
    st.pid = 4242;
    st.pid_start = 123456789012ULL;
    snprintf(st.image, sizeof(st.image), "localhost/hello:latest");
    snprintf(st.digest, sizeof(st.digest), "sha256:%064d", 1);
    snprintf(st.measurement, sizeof(st.measurement), "sha256:%064d", 2);
    st.auto_remove = true;
    st.has_exit_code = true;
    st.exit_code = 143;
    CHECK_INT(cvm_instance_write(fd, &st, &err), 0);
    CHECK_INT(cvm_instance_read(fd, "web", &got, &err), 0);
    CHECK_STR(tap_take_error(&err), "(ok)");
    CHECK_STR(got.id, "web");
    CHECK_INT(got.status, CVM_INSTANCE_STOPPED);
    CHECK_INT(got.pid, 4242);
    CHECK_INT(got.pid_start, 123456789012LL);
    CHECK_STR(got.image, st.image);
    CHECK_STR(got.digest, st.digest);
    CHECK_STR(got.measurement, st.measurement);
    CHECK_STR(got.created, st.created);
    CHECK(got.auto_remove && got.has_exit_code);
    CHECK_INT(got.exit_code, 143);
    struct cvm_buf b;
    cvm_buf_init(&b, 4096);
    CHECK_INT(cvm_buf_read_file(&b, fd, CVM_INSTANCE_PID, NULL), 0);
    CHECK_STR((const char *)b.data, "4242\n");
    cvm_buf_release(&b);
    /* The temporary files were renamed: only the two files are there. */
    CHECK(faccessat(fd, tap_fmt(".tmp-state.json-%d", (int)getpid()), F_OK, 0) < 0);
    CHECK(faccessat(fd, tap_fmt(".tmp-pid-%d", (int)getpid()), F_OK, 0) < 0);
    close(fd);
    teardown(dir);
}

static void read_bad(int fd, const char *text, const char *want)
{
    struct cvm_error *err = NULL;
    struct cvm_instance_state st;
    write_text(fd, CVM_INSTANCE_STATE, text);
    CHECK_INT(cvm_instance_read(fd, "web", &st, &err), -CVM_E_FORMAT);
    CHECK_STR(tap_take_error(&err), want);
}

#define GOOD_TAIL "\"image\":\"i\",\"digest\":\"\",\"measurement\":\"\",\"created\":\"t\""

static void hostile_state(void)
{
    int dir = setup();
    int fd = -1;
    CHECK_INT(cvm_instance_reserve(dir, "web", &fd, NULL), 0);
    read_bad(fd, "[]", "instance 'web': state.json is not a JSON object");
    read_bad(fd, "{", "instance 'web': state.json is not a JSON object");
    read_bad(fd, "{\"id\":\"web\",\"id\":\"web\"}",
             "instance 'web': state.json is not a JSON object");
    read_bad(fd,
             "{\"id\":\"other\",\"status\":\"running\",\"pid\":1,\"pidStart\":\"1\"," GOOD_TAIL "}",
             "instance 'web': state.json names 'other'");
    read_bad(fd,
             "{\"id\":\"web\",\"status\":\"paused\",\"pid\":1,\"pidStart\":\"1\"," GOOD_TAIL "}",
             "instance 'web': state.json: bad 'status'");
    read_bad(fd,
             "{\"id\":\"web\",\"status\":\"running\",\"pid\":-1,\"pidStart\":\"1\"," GOOD_TAIL "}",
             "instance 'web': state.json: bad 'pid'");
    read_bad(fd,
             "{\"id\":\"web\",\"status\":\"running\",\"pid\":1,\"pidStart\":\"x\"," GOOD_TAIL "}",
             "instance 'web': state.json: bad 'pidStart'");
    read_bad(fd, "{\"id\":\"web\",\"status\":\"running\",\"pid\":1,\"pidStart\":1," GOOD_TAIL "}",
             "instance 'web': state.json: bad 'pidStart'");
    read_bad(fd,
             "{\"id\":\"web\",\"status\":\"stopped\",\"pid\":1,\"pidStart\":\"1\",\"exitCode\":"
             "256," GOOD_TAIL "}",
             "instance 'web': state.json: bad 'exitCode'");
    read_bad(fd, "{\"id\":\"web\",\"status\":\"stopped\",\"pid\":1,\"pidStart\":\"1\"}",
             "instance 'web': state.json: bad 'image'");
    /* A digest longer than its field. */
    char big[512];
    snprintf(big, sizeof(big),
             "{\"id\":\"web\",\"status\":\"stopped\",\"pid\":1,\"pidStart\":\"1\",\"image\":\"i\","
             "\"digest\":\"sha256:%0100d\",\"measurement\":\"\",\"created\":\"t\"}",
             0);
    read_bad(fd, big, "instance 'web': state.json: bad 'digest'");
    /* Larger than CVM_INSTANCE_STATE_MAX. */
    int out = openat(fd, CVM_INSTANCE_STATE, O_WRONLY | O_TRUNC | O_CLOEXEC);
    CHECK(out >= 0);
    CHECK_INT(ftruncate(out, CVM_INSTANCE_STATE_MAX + 1), 0);
    close(out);
    struct cvm_error *err = NULL;
    struct cvm_instance_state st;
    CHECK_INT(cvm_instance_read(fd, "web", &st, &err), -CVM_E_LIMIT);
    CHECK(strncmp(tap_take_error(&err), "instance 'web': ", 16) == 0);
    close(fd);
    teardown(dir);
}

/* A running state naming pid with start time `start`, read back. */
static enum cvm_instance_status status_for(int fd, int pid, unsigned long long start)
{
    struct cvm_instance_state st, got;
    cvm_instance_state_init(&st, "web");
    st.status = CVM_INSTANCE_RUNNING;
    st.pid = pid;
    st.pid_start = start;
    CHECK_INT(cvm_instance_write(fd, &st, NULL), 0);
    CHECK_INT(cvm_instance_read(fd, "web", &got, NULL), 0);
    CHECK(!got.has_exit_code);
    return got.status;
}

static void liveness(void)
{
    int dir = setup();
    int fd = -1;
    CHECK_INT(cvm_instance_reserve(dir, "web", &fd, NULL), 0);
    unsigned long long self = 0;
    CHECK_INT(cvm_process_start_time(getpid(), &self, NULL), 0);
    CHECK(self > 0);
    CHECK_INT(status_for(fd, getpid(), self), CVM_INSTANCE_RUNNING);
    /* The same pid, another start time: a reused pid, not the monitor. */
    CHECK_INT(status_for(fd, getpid(), self + 1), CVM_INSTANCE_STOPPED);
    /* A child that ended but is not collected yet (a zombie), then one collected. */
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0)
        _exit(0);
    unsigned long long cstart = 0;
    siginfo_t si;
    CHECK_INT(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT), 0);
    struct cvm_error *err = NULL;
    CHECK_INT(cvm_process_start_time(child, &cstart, &err), -CVM_E_NOTFOUND);
    CHECK_STR(tap_take_error(&err), tap_fmt("process %d has ended", (int)child));
    CHECK_INT(status_for(fd, child, 1), CVM_INSTANCE_STOPPED);
    CHECK_INT(waitpid(child, NULL, 0), child);
    CHECK_INT(cvm_process_start_time(child, &cstart, &err), -CVM_E_NOTFOUND);
    CHECK_STR(tap_take_error(&err), tap_fmt("no process %d", (int)child));
    CHECK_INT(status_for(fd, child, 1), CVM_INSTANCE_STOPPED);
    /* A stopped state keeps its exit code; a created one without pid stays created. */
    struct cvm_instance_state st, got;
    cvm_instance_state_init(&st, "web");
    st.status = CVM_INSTANCE_CREATED;
    CHECK_INT(cvm_instance_write(fd, &st, NULL), 0);
    CHECK_INT(cvm_instance_read(fd, "web", &got, NULL), 0);
    CHECK_INT(got.status, CVM_INSTANCE_CREATED);
    close(fd);
    teardown(dir);
}

static void list_remove(void)
{
    int dir = setup();
    struct cvm_error *err = NULL;
    const char *names[] = {"zeta", "alpha", "m-1"};
    for (size_t i = 0; i < 3; i++) {
        int fd = -1;
        CHECK_INT(cvm_instance_reserve(dir, names[i], &fd, NULL), 0);
        write_text(fd, CVM_INSTANCE_LOG, "x");
        CHECK_INT(mkfifoat(fd, CVM_INSTANCE_FIFO, 0600), 0);
        close(fd);
    }
    write_text(dir, "a-file", "not an instance");
    CHECK_INT(mkdirat(dir, ".tmp-x", 0700), 0);
    CHECK_INT(symlinkat("/tmp", dir, "link"), 0);
    char **list = NULL;
    size_t n = 0;
    CHECK_INT(cvm_instance_list(dir, &list, &n, &err), 0);
    CHECK_INT(n, 3);
    CHECK_STR(list[0], "alpha");
    CHECK_STR(list[1], "m-1");
    CHECK_STR(list[2], "zeta");
    cvm_instance_list_free(list, n);
    int m1 = openat(dir, "m-1", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int zeta = openat(dir, "zeta", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CHECK(m1 >= 0 && zeta >= 0);
    /* A name that now holds another folder than the one judged is left alone. */
    CHECK_INT(cvm_instance_remove(dir, "m-1", zeta, &err), -CVM_E_CONFLICT);
    CHECK_STR(tap_take_error(&err), "instance 'm-1' was replaced while it was being removed");
    CHECK_INT(faccessat(dir, "m-1/" CVM_INSTANCE_LOG, F_OK, AT_SYMLINK_NOFOLLOW), 0);
    CHECK_INT(cvm_instance_remove(dir, "m-1", m1, &err), 0);
    CHECK(faccessat(dir, "m-1", F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT);
    CHECK_INT(cvm_instance_remove(dir, "m-1", m1, &err), 0); /* already gone: not an error */
    CHECK_INT(cvm_instance_remove(dir, "../x", m1, &err), -CVM_E_NOTFOUND);
    CHECK_STR(tap_take_error(&err), "no instance '../x'");
    close(m1);
    close(zeta);
    CHECK_INT(cvm_instance_list(dir, &list, &n, &err), 0);
    CHECK_INT(n, 2);
    cvm_instance_list_free(list, n);
    cvm_instance_list_free(NULL, 0);
    teardown(dir);
}

static void instances_folder(void)
{
    char tmp[] = "/tmp/test-instance-root-XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    struct cvm_error *err = NULL;
    int fd = -1;
    CHECK_INT(cvm_instances_open(tmp, false, &fd, &err), -CVM_E_NOTFOUND);
    CHECK_STR(tap_take_error(&err), tap_fmt("no instances in '%s'", tmp));
    CHECK_INT(cvm_instances_open(tmp, true, &fd, &err), 0);
    struct stat sb;
    CHECK_INT(fstat(fd, &sb), 0);
    CHECK_INT(sb.st_mode & 0777, 0700);
    close(fd);
    CHECK_INT(cvm_instances_open(tmp, true, &fd, &err), 0); /* again: it exists */
    close(fd);
    CHECK_STR(cvm_instance_status_name(CVM_INSTANCE_CREATING), "creating");
    CHECK_STR(cvm_instance_status_name(CVM_INSTANCE_STOPPED), "stopped");
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    CHECK_INT(system(cmd), 0);
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(ids),
        TAP_TEST(reserve_conflict),
        TAP_TEST(round_trip),
        TAP_TEST(hostile_state),
        TAP_TEST(liveness),
        TAP_TEST(list_remove),
        TAP_TEST(instances_folder),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
