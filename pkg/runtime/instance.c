/* The state folder of cVM instances: reservation by mkdir, state.json replaced atomically, and
 * a monitor's liveness judged by its pid together with its start time, so a reused pid is not
 * taken for the monitor. */
#include "instance.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base.h"

static const char *const status_names[] = {"creating", "created", "running", "stopped"};

const char *cvm_instance_status_name(enum cvm_instance_status s)
{
    return (unsigned)s < 4 ? status_names[s] : "?";
}

void cvm_instance_state_init(struct cvm_instance_state *st, const char *id)
{
    *st = (struct cvm_instance_state){.status = CVM_INSTANCE_CREATING};
    snprintf(st->id, sizeof(st->id), "%s", id);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(st->created, sizeof(st->created), "%Y-%m-%dT%H:%M:%SZ", &tm);
}

bool cvm_instance_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > CVM_INSTANCE_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
            return false;
    }
    return true;
}

int cvm_instance_id_generate(char ret[CVM_INSTANCE_GENERATED_LEN + 1], struct cvm_error **err)
{
    unsigned char raw[CVM_INSTANCE_GENERATED_LEN / 2];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return cvm_error_set_errno(err, errno, "cannot read random bytes");
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(ret + 2 * i, 3, "%02x", raw[i]);
    return 0;
}

int cvm_instances_open(const char *root, bool create, int *ret_fd, struct cvm_error **err)
{
    CVM_AUTOFREE char *path = NULL;
    if (asprintf(&path, "%s/%s", root, CVM_INSTANCES_DIR) < 0)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    if (create && mkdir(path, 0700) < 0 && errno != EEXIST)
        return cvm_error_set_errno(err, errno, "cannot make folder '%s'", path);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return cvm_error_set(err, CVM_E_NOTFOUND, "no instances in '%s'", root);
    if (fd < 0)
        return cvm_error_set_errno(err, errno, "cannot open folder '%s'", path);
    *ret_fd = fd;
    return 0;
}

int cvm_instance_reserve(int dir_fd, const char *id, int *ret_fd, struct cvm_error **err)
{
    if (!cvm_instance_id_valid(id))
        return cvm_error_set(err, CVM_E_USAGE, "invalid instance name '%.100s'", id);
    if (mkdirat(dir_fd, id, 0700) < 0) {
        if (errno == EEXIST)
            return cvm_error_set(err, CVM_E_CONFLICT, "instance name '%s' is already in use", id);
        return cvm_error_set_errno(err, errno, "cannot make the folder of instance '%s'", id);
    }
    int fd = openat(dir_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return cvm_error_set_errno(err, errno, "cannot open the folder of instance '%s'", id);
    *ret_fd = fd;
    return 0;
}

int cvm_instance_open(int dir_fd, const char *id, int *ret_fd, struct cvm_error **err)
{
    if (!cvm_instance_id_valid(id))
        return cvm_error_set(err, CVM_E_NOTFOUND, "no instance '%.100s'", id);
    int fd = openat(dir_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
        return cvm_error_set(err, CVM_E_NOTFOUND, "no instance '%s'", id);
    if (fd < 0)
        return cvm_error_set_errno(err, errno, "cannot open the folder of instance '%s'", id);
    *ret_fd = fd;
    return 0;
}

/* Writes text to name in the folder fd through a temporary file and a rename. */
static int replace_file(int fd, const char *name, const char *text, struct cvm_error **err)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), ".tmp-%s-%d", name, (int)getpid());
    CVM_AUTOCLOSE int out =
        openat(fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (out < 0)
        return cvm_error_set_errno(err, errno, "cannot write '%s'", tmp);
    size_t len = strlen(text);
    ssize_t w = write(out, text, len);
    /* Synced before the rename: a crash leaves the old state or the new one, never an empty
     * file that would make the instance impossible to read or delete. */
    if (w != (ssize_t)len || fsync(out) < 0 || renameat(fd, tmp, fd, name) < 0) {
        int e = w < 0 || w == (ssize_t)len ? errno : ENOSPC;
        unlinkat(fd, tmp, 0);
        return cvm_error_set_errno(err, e, "cannot write '%s'", name);
    }
    return 0;
}

int cvm_instance_write(int fd, const struct cvm_instance_state *st, struct cvm_error **err)
{
    char start[32];
    snprintf(start, sizeof(start), "%llu", st->pid_start);
    json_auto_t *j =
        json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:b}", "id", st->id, "status",
                  cvm_instance_status_name(st->status), "pid", st->pid, "pidStart", start, "image",
                  st->image, "digest", st->digest, "measurement", st->measurement, "created",
                  st->created, "autoRemove", st->auto_remove);
    if (j && st->has_exit_code)
        json_object_set_new(j, "exitCode", json_integer(st->exit_code));
    CVM_AUTOFREE char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (!text)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    if (st->pid > 0) {
        char pid[32];
        snprintf(pid, sizeof(pid), "%d\n", st->pid);
        int r = replace_file(fd, CVM_INSTANCE_PID, pid, err);
        if (r < 0)
            return cvm_error_prefix(err, "instance '%s'", st->id);
    }
    int r = replace_file(fd, CVM_INSTANCE_STATE, text, err);
    return r < 0 ? cvm_error_prefix(err, "instance '%s'", st->id) : 0;
}

/* Copies the string member key of j into out (size bytes with the NUL). */
static int get_string(json_t *j, const char *key, char *out, size_t size, const char *id,
                      struct cvm_error **err)
{
    const char *v = json_string_value(json_object_get(j, key));
    if (!v || strlen(v) >= size)
        return cvm_error_set(err, CVM_E_FORMAT, "instance '%s': state.json: bad '%s'", id, key);
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

static int parse_state(const char *text, size_t len, const char *id, struct cvm_instance_state *st,
                       struct cvm_error **err)
{
    json_error_t je;
    json_auto_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!j || !json_is_object(j))
        return cvm_error_set(err, CVM_E_FORMAT, "instance '%s': state.json is not a JSON object",
                             id);
    char status[16], start[32];
    int r = get_string(j, "id", st->id, sizeof(st->id), id, err);
    if (r == 0)
        r = get_string(j, "status", status, sizeof(status), id, err);
    if (r == 0)
        r = get_string(j, "pidStart", start, sizeof(start), id, err);
    if (r == 0)
        r = get_string(j, "image", st->image, sizeof(st->image), id, err);
    if (r == 0)
        r = get_string(j, "digest", st->digest, sizeof(st->digest), id, err);
    if (r == 0)
        r = get_string(j, "measurement", st->measurement, sizeof(st->measurement), id, err);
    if (r == 0)
        r = get_string(j, "created", st->created, sizeof(st->created), id, err);
    if (r < 0)
        return r;
    if (strcmp(st->id, id) != 0)
        return cvm_error_set(err, CVM_E_FORMAT, "instance '%s': state.json names '%s'", id, st->id);
    size_t s = 0;
    while (s < 4 && strcmp(status, status_names[s]) != 0)
        s++;
    if (s == 4)
        return cvm_error_set(err, CVM_E_FORMAT, "instance '%s': state.json: bad 'status'", id);
    st->status = (enum cvm_instance_status)s;
    json_t *pid = json_object_get(j, "pid");
    if (!json_is_integer(pid) || json_integer_value(pid) < 0 ||
        json_integer_value(pid) > 0x3fffffff)
        return cvm_error_set(err, CVM_E_FORMAT, "instance '%s': state.json: bad 'pid'", id);
    st->pid = (int)json_integer_value(pid);
    char *end;
    errno = 0;
    st->pid_start = strtoull(start, &end, 10);
    if (!start[0] || *end || errno)
        return cvm_error_set(err, CVM_E_FORMAT, "instance '%s': state.json: bad 'pidStart'", id);
    st->auto_remove = json_is_true(json_object_get(j, "autoRemove"));
    json_t *code = json_object_get(j, "exitCode");
    if (code) {
        if (!json_is_integer(code) || json_integer_value(code) < 0 ||
            json_integer_value(code) > 255)
            return cvm_error_set(err, CVM_E_FORMAT, "instance '%s': state.json: bad 'exitCode'",
                                 id);
        st->has_exit_code = true;
        st->exit_code = (int)json_integer_value(code);
    }
    return 0;
}

int cvm_instance_read(int fd, const char *id, struct cvm_instance_state *ret,
                      struct cvm_error **err)
{
    struct cvm_instance_state st;
    cvm_instance_state_init(&st, id);
    st.created[0] = '\0';
    struct cvm_buf text;
    cvm_buf_init(&text, CVM_INSTANCE_STATE_MAX);
    CVM_AUTO(cvm_error_free) struct cvm_error *e = NULL;
    int r = cvm_buf_read_file(&text, fd, CVM_INSTANCE_STATE, &e);
    if (r < 0 && e->code == CVM_E_SYSTEM && e->errno_value == ENOENT) {
        r = 0; /* reserved, its first state not yet written */
    } else if (r < 0) {
        *err = cvm_steal_ptr(&e);
        cvm_error_prefix(err, "instance '%s'", id);
    } else {
        r = parse_state((const char *)text.data, text.len, id, &st, err);
    }
    cvm_buf_release(&text);
    if (r < 0)
        return r;
    if (st.status != CVM_INSTANCE_STOPPED && st.pid > 0 && !cvm_instance_monitor_alive(&st)) {
        st.status = CVM_INSTANCE_STOPPED;
        st.has_exit_code = false;
    }
    *ret = st;
    return 0;
}

int cvm_process_start_time(int pid, unsigned long long *ret, struct cvm_error **err)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    struct cvm_buf b;
    cvm_buf_init(&b, 4096);
    CVM_AUTO(cvm_error_free) struct cvm_error *e = NULL;
    if (cvm_buf_read_file(&b, AT_FDCWD, path, &e) < 0) {
        cvm_buf_release(&b);
        return cvm_error_set(err, CVM_E_NOTFOUND, "no process %d", pid);
    }
    /* The command name (field 2) may hold spaces and parentheses: count after the last ')'. */
    const char *p = b.len ? strrchr((const char *)b.data, ')') : NULL;
    unsigned long long start = 0;
    int field = 2;
    while (p && *p && field < 22) {
        p = strchr(p + 1, ' ');
        field++;
    }
    bool ok = p && field == 22 && sscanf(p, " %llu", &start) == 1;
    /* A zombie has ended; only its parent has not collected it yet. */
    const char *state = strrchr((const char *)b.data, ')');
    bool zombie = ok && (state[2] == 'Z' || state[2] == 'X');
    cvm_buf_release(&b);
    if (zombie)
        return cvm_error_set(err, CVM_E_NOTFOUND, "process %d has ended", pid);
    if (!ok)
        return cvm_error_set(err, CVM_E_FORMAT, "'%s': no start time", path);
    *ret = start;
    return 0;
}

bool cvm_instance_monitor_alive(const struct cvm_instance_state *st)
{
    unsigned long long start;
    return st->pid > 0 && cvm_process_start_time(st->pid, &start, NULL) == 0 &&
           start == st->pid_start;
}

int cvm_instance_remove(int dir_fd, const char *id, int fd, struct cvm_error **err)
{
    if (!cvm_instance_id_valid(id))
        return cvm_error_set(err, CVM_E_NOTFOUND, "no instance '%.100s'", id);
    /* The folder is moved aside first and removed only if it is the one the caller judged:
     * meanwhile an --rm monitor may have removed it and a new instance taken the name. */
    static unsigned counter;
    char tomb[CVM_INSTANCE_ID_MAX + 48];
    snprintf(tomb, sizeof(tomb), ".rm-%d-%u-%s", (int)getpid(),
             __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED), id);
    struct stat want, got;
    if (fstat(fd, &want) < 0)
        return cvm_error_set_errno(err, errno, "cannot read the folder of instance '%s'", id);
    if (renameat(dir_fd, id, dir_fd, tomb) < 0)
        return errno == ENOENT ? 0
                               : cvm_error_set_errno(
                                     err, errno, "cannot remove the folder of instance '%s'", id);
    if (fstatat(dir_fd, tomb, &got, AT_SYMLINK_NOFOLLOW) < 0 || got.st_dev != want.st_dev ||
        got.st_ino != want.st_ino) {
        renameat2(dir_fd, tomb, dir_fd, id, RENAME_NOREPLACE);
        return cvm_error_set(err, CVM_E_CONFLICT,
                             "instance '%s' was replaced while it was being removed", id);
    }
    int dup_fd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = dup_fd < 0 ? NULL : fdopendir(dup_fd);
    if (!dir) {
        if (dup_fd >= 0)
            close(dup_fd);
        return cvm_error_set_errno(err, errno, "cannot read the folder of instance '%s'", id);
    }
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(dir)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
            unlinkat(dirfd(dir), de->d_name, 0) < 0 && errno != ENOENT)
            r = cvm_error_set_errno(err, errno, "cannot remove '%s' of instance '%s'", de->d_name,
                                    id);
    closedir(dir);
    if (r == 0 && unlinkat(dir_fd, tomb, AT_REMOVEDIR) < 0 && errno != ENOENT)
        r = cvm_error_set_errno(err, errno, "cannot remove the folder of instance '%s'", id);
    return r;
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void cvm_instance_list_free(char **ids, size_t n)
{
    for (size_t i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
}

int cvm_instance_list(int dir_fd, char ***ret_ids, size_t *ret_n, struct cvm_error **err)
{
    int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd < 0 ? NULL : fdopendir(fd);
    if (!dir) {
        if (fd >= 0)
            close(fd);
        return cvm_error_set_errno(err, errno, "cannot read the instances folder");
    }
    char **ids = NULL;
    size_t n = 0;
    int r = 0;
    struct dirent *de;
    while (r == 0 && (de = readdir(dir))) {
        struct stat sb;
        if (!cvm_instance_id_valid(de->d_name) ||
            fstatat(dir_fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(sb.st_mode))
            continue;
        if (n == CVM_INSTANCE_LIST_MAX) {
            r = cvm_error_set(err, CVM_E_LIMIT, "more than %d instances", CVM_INSTANCE_LIST_MAX);
            break;
        }
        char **grown = realloc(ids, (n + 1) * sizeof(*ids));
        if (grown)
            ids = grown;
        if (!grown || !(ids[n] = strdup(de->d_name)))
            r = cvm_error_set_errno(err, ENOMEM, "cannot allocate");
        else
            n++;
    }
    closedir(dir);
    if (r < 0) {
        cvm_instance_list_free(ids, n);
        return r;
    }
    if (n > 1)
        qsort(ids, n, sizeof(*ids), compare_ids);
    *ret_ids = ids;
    *ret_n = n;
    return 0;
}
