/* The names a deployment's cVMs share (specs/hostcall-abi.md §8): CAP_Files, CAP_Calls and
 * streams, and the handles through which the monitor lets other cVMs use them. */
#ifndef CVM_MONITOR_CAPS_H
#define CVM_MONITOR_CAPS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "abi/hostcalls.h"

#define CVM_MAX_CAPS 64          /* names at once, declared CAP_Files included */
#define CVM_MAX_CAP_HANDLES 1024 /* handles a deployment issues over its life */
#define CVM_STREAM_POSTS 64      /* buffers queued at once on one stream */
#define CVM_CAP_FILE_MAX (1UL << 30)

struct cvm_vm;

enum cvm_cap_kind {
    CVM_CAP_KIND_FILE,
    CVM_CAP_KIND_CALL,
    CVM_CAP_KIND_STREAM,
};

struct cvm_stream_post {
    uintptr_t buf;
    uint64_t size;
    uintptr_t done; /* the receiver's word: the message length once delivered */
};

/* One name. A revoked name's entry is free for another, under a new generation: handles carry
 * the generation they were issued for, so those of a revoked name never match again. */
struct cvm_cap {
    /* Under caps->lock, and for writing under `lock` too: */
    bool live;
    char name[CVM_HOSTCALL_NAME_MAX + 1];
    enum cvm_cap_kind kind;
    long rights;          /* a prober's */
    struct cvm_vm *owner; /* NULL: declared by the deployment */
    long owner_handle;
    unsigned gen;
    uintptr_t addr; /* a CAP_File's bytes, a CAP_Call's function */
    uint64_t size;
    /* A copy holds `lock` for reading, a stream's send or post and a revocation for writing:
     * once a revocation has it, no copy touches the owner's memory. */
    pthread_rwlock_t lock;
    struct cvm_stream_post posts[CVM_STREAM_POSTS]; /* a ring: head, then count more */
    unsigned head, count;
    _Atomic unsigned posted; /* futex word of waiting senders: changes at each post and revoke */
    atomic_uint senders_waiting;
};

struct cvm_cap_handle {
    struct cvm_cap *cap;
    unsigned gen;
    struct cvm_vm *holder; /* the only cVM that may use it */
    long rights;
};

struct cvm_caps {
    pthread_mutex_t lock; /* names: advertise, probe, post, revoke */
    struct cvm_cap caps[CVM_MAX_CAPS];
    /* Published entries never change: readers take the first n_handles without the lock. */
    struct cvm_cap_handle handles[CVM_MAX_CAP_HANDLES];
    atomic_size_t n_handles;
};

struct cvm_deployment;
struct cvm_thread;

void cvm_caps_init(struct cvm_caps *c);
void cvm_caps_destroy(struct cvm_caps *c);
/* A CAP_File the deployment declares: no owner, read and write, never revoked. */
int cvm_caps_declare_file(struct cvm_caps *c, const char *name, uintptr_t addr, uint64_t size);
/* vm has ended: its names are revoked. */
void cvm_caps_owner_ended(struct cvm_caps *c, struct cvm_vm *vm);

/* For hc-stream.c and hc-capcall.c: the handle h of the calling cVM, or NULL with *err set
 * (-EBADF). */
const struct cvm_cap_handle *cvm_cap_handle_get(struct cvm_thread *t, long h, long *err);
/* Under caps->lock: the live name, or NULL. */
struct cvm_cap *cvm_cap_find_locked(struct cvm_caps *c, const char *name);
/* Under caps->lock: a free entry for a new name of vm, its owner handle issued; NULL with
 * *err set (-ENOSPC). The caller fills in what its kind needs and sets live. */
struct cvm_cap *cvm_cap_new_locked(struct cvm_caps *c, struct cvm_vm *vm, const char *name,
                                   enum cvm_cap_kind kind, long rights, long *err);
/* hc-stream.c: 410 on a stream's handle. */
long cvm_stream_send(struct cvm_thread *t, const struct cvm_cap_handle *h, uintptr_t buf,
                     uint64_t len, uint64_t offset);

#endif
