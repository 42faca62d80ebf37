/* The state folder of cVM instances (specs/cli.md §4): ROOT/instances/<id>/ with state.json,
 * pid, log and the start FIFO; atomic state updates and the liveness of each monitor. */
#ifndef CVM_RUNTIME_INSTANCE_H
#define CVM_RUNTIME_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cvm_error;

#define CVM_INSTANCES_DIR "instances"
#define CVM_INSTANCE_STATE "state.json"
#define CVM_INSTANCE_PID "pid"
#define CVM_INSTANCE_LOG "log"
#define CVM_INSTANCE_FIFO "start" /* the monitor reads one byte from it to start */

#define CVM_INSTANCE_ID_MAX 64             /* [A-Za-z0-9][A-Za-z0-9_.-]* up to 64 characters */
#define CVM_INSTANCE_GENERATED_LEN 12      /* generated ids: 12 lowercase hex digits */
#define CVM_INSTANCE_IMAGE_MAX 1024        /* the image reference recorded */
#define CVM_INSTANCE_STATE_MAX (64u << 10) /* a larger state.json is refused */
#define CVM_INSTANCE_LIST_MAX 100000       /* instances listed at most */

enum cvm_instance_status {
    CVM_INSTANCE_CREATING, /* the monitor is pulling, checking, deploying */
    CVM_INSTANCE_CREATED,  /* deployed and measured, waiting for start */
    CVM_INSTANCE_RUNNING,
    CVM_INSTANCE_STOPPED,
};

struct cvm_instance_state {
    char id[CVM_INSTANCE_ID_MAX + 1];
    enum cvm_instance_status status;
    int pid;                      /* the monitor process; 0 when not known */
    unsigned long long pid_start; /* its start time (/proc/<pid>/stat field 22) */
    char image[CVM_INSTANCE_IMAGE_MAX + 1];
    char digest[72];      /* "sha256:<hex>" of the manifest, "" before it is known */
    char measurement[72]; /* "sha256:<hex>" of what runs, "" before it is known */
    char created[32];     /* RFC 3339 UTC, seconds */
    bool auto_remove;     /* --rm: the folder goes when the instance stops */
    bool has_exit_code;   /* stopped with a known exit status */
    int exit_code;
};

const char *cvm_instance_status_name(enum cvm_instance_status s);

/* A fresh state: status creating, created now. */
void cvm_instance_state_init(struct cvm_instance_state *st, const char *id);

bool cvm_instance_id_valid(const char *id);
/* CVM_INSTANCE_GENERATED_LEN random lowercase hex digits. */
int cvm_instance_id_generate(char ret[CVM_INSTANCE_GENERATED_LEN + 1], struct cvm_error **err);

/* Opens ROOT/instances (made when create is set; else a missing folder is CVM_E_NOTFOUND). */
int cvm_instances_open(const char *root, bool create, int *ret_fd, struct cvm_error **err);

/* Makes the folder of a new instance: CVM_E_CONFLICT when the id is taken. */
int cvm_instance_reserve(int dir_fd, const char *id, int *ret_fd, struct cvm_error **err);
/* Opens an instance's folder: CVM_E_NOTFOUND "no instance '<id>'". */
int cvm_instance_open(int dir_fd, const char *id, int *ret_fd, struct cvm_error **err);

/* Replaces state.json (and the pid file when st->pid is set) with a temporary file renamed
 * into place, so a reader sees the old state or the new one, never a part. */
int cvm_instance_write(int fd, const struct cvm_instance_state *st, struct cvm_error **err);

/* Reads an instance's state. A folder without state.json is an instance being created. A
 * created or running instance whose monitor is gone (no such process, or another process
 * with that pid: its start time differs) reads as stopped, exit status unknown. */
int cvm_instance_read(int fd, const char *id, struct cvm_instance_state *ret,
                      struct cvm_error **err);

/* Whether the process st records is still the monitor that wrote it. */
bool cvm_instance_monitor_alive(const struct cvm_instance_state *st);

/* Removes the instance's folder with everything in it, if the name id in dir_fd still is the
 * folder open as fd (the one the caller judged); a missing folder is not an error. */
int cvm_instance_remove(int dir_fd, const char *id, int fd, struct cvm_error **err);

/* The ids of every instance, sorted; entries that are not instance folders are skipped. */
int cvm_instance_list(int dir_fd, char ***ret_ids, size_t *ret_n, struct cvm_error **err);
void cvm_instance_list_free(char **ids, size_t n);

/* The start time of process pid, in clock ticks after boot; CVM_E_NOTFOUND when it is gone
 * (a zombie counts as gone). */
int cvm_process_start_time(int pid, unsigned long long *ret, struct cvm_error **err);

#endif
