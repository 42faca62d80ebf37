/* The hostcall table (specs/hostcall-abi.md §4): the one place hostcalls are declared.
 * The monitor's dispatcher, the guest stubs and the spec table are all generated from it.
 * Freestanding: included by guest code too. */
#ifndef CVM_ABI_HOSTCALLS_H
#define CVM_ABI_HOSTCALLS_H

/* CVM_HOSTCALL(number, NAME, name, argc, "arguments", "what it does") */
#define CVM_HOSTCALLS(X)                                                                           \
    X(1, WRITE, write, 2, "const void *buf, size_t len",                                           \
      "writes len bytes from buf to the cVM's standard output; returns the count written")         \
    X(13, EXIT, exit, 1, "int status",                                                             \
      "ends the calling thread's cVM with status (0-255); does not return")                        \
    X(39, GETID, getid, 0, "",                                                                     \
      "returns the calling thread's cVM id (1, 2, ... in deployment order)")                       \
    X(40, THREAD_CREATE, thread_create, 2, "long (*fn)(void *), void *arg",                        \
      "starts a thread of the calling cVM running fn(arg); returns its thread id (> 0)")           \
    X(41, THREAD_JOIN, thread_join, 2, "long tid, long *value",                                    \
      "waits for thread tid of the same cVM; stores its value in *value unless NULL")              \
    X(42, THREAD_EXIT, thread_exit, 1, "long value",                                               \
      "ends the calling thread with value (the main thread: as exit); does not return")            \
    X(200, NANOSLEEP, nanosleep, 2, "const struct timespec *req, struct timespec *rem",            \
      "sleeps for *req; -EINTR with *rem set if the deployment is being stopped")                  \
    X(405, CAP_ADVERTISE, cap_advertise, 4,                                                        \
      "const void *addr, size_t size, const char *name, long rights",                              \
      "publishes [addr, addr+size) of the caller's memory as CAP_File name for probers with "      \
      "rights (1 read, 2 write), or with rights 4 (call) the function at addr as CAP_Call name; "  \
      "returns the owner's handle")                                                                \
    X(406, CAP_PROBE, cap_probe, 2, "const char *name, struct cvm_hc_cap *out",                    \
      "returns the caller's handle to the CAP_File, CAP_Call or stream name and stores its size "  \
      "and rights in *out")                                                                        \
    X(407, FUTEX_WAIT, futex_wait, 3,                                                              \
      "const unsigned *addr, unsigned val, const struct timespec *timeout",                        \
      "sleeps while *addr == val, at most *timeout (NULL: no limit); 0 when woken, -EAGAIN "       \
      "if *addr != val, -ETIMEDOUT, -EINTR")                                                       \
    X(408, FUTEX_WAKE, futex_wake, 2, "const unsigned *addr, long count",                          \
      "wakes up to count threads sleeping in 407 on addr; returns how many it woke")               \
    X(409, CAP_READ, cap_read, 4, "long handle, void *buf, size_t len, size_t offset",             \
      "copies bytes [offset, offset+len) of a CAP_File into buf; returns len")                     \
    X(410, CAP_WRITE, cap_write, 4, "long handle, const void *buf, size_t len, size_t offset",     \
      "copies buf into bytes [offset, offset+len) of a CAP_File, or sends it to a stream as one "  \
      "message (offset 0); returns len")                                                           \
    X(411, CAP_REVOKE, cap_revoke, 1, "long handle",                                               \
      "with the owner's handle: withdraws the name; every handle to it fails with -EACCES from "   \
      "then on")                                                                                   \
    X(412, CAP_CALL, cap_call, 5, "long handle, long a0, long a1, long a2, long a3",               \
      "calls the CAP_Call's function with a0-a3 on a stack of its cVM; returns its value")         \
    X(413, STREAM_POST, stream_post, 4,                                                            \
      "const char *name, void *buf, size_t size, unsigned *done",                                  \
      "queues buf as a receive buffer of stream name (made on first post); the message sent into " \
      "it stores its length in *done and wakes a futex_wait on done; returns the owner's handle")  \
    X(700, GET_MY_INNER, get_my_inner, 1, "struct cvm_hc_region *out",                             \
      "grants the caller the window of its callback_in cVM and stores it in *out")                 \
    X(800, GETTIMEOFDAY, gettimeofday, 2, "struct timeval *tv, void *tz",                          \
      "stores the wall-clock time in *tv; tz must be NULL")                                        \
    X(801, CLOCK_GETTIME, clock_gettime, 2, "long clock, struct timespec *ts",                     \
      "stores the time of Linux clock `clock` (0-7) in *ts")                                       \
    X(802, GETRANDOM, getrandom, 2, "void *buf, size_t len",                                       \
      "fills buf with len random bytes (len at most 1 MiB); returns len")                          \
    X(803, MPROTECT, mprotect, 3, "void *addr, size_t len, int prot",                              \
      "sets the protection (PROT_READ, PROT_WRITE, PROT_EXEC) of whole pages of the caller's "     \
      "heap")                                                                                      \
    X(900, ROOTFS_SIZE, rootfs_size, 0, "",                                                        \
      "returns the size in bytes of the deployment's root.cpio")                                   \
    X(901, ROOTFS_READ, rootfs_read, 3, "void *buf, size_t len, size_t offset",                    \
      "copies bytes [offset, offset+len) of the deployment's root.cpio into buf; returns len")     \
    X(950, LINUX_SET_TP, linux_set_tp, 1, "unsigned long tp",                                      \
      "sets the thread pointer (%fs base) the trapped Linux thread resumes with")                  \
    X(951, LINUX_CLONE, linux_clone, 5,                                                            \
      "unsigned long flags, void *stack, int *ptid, int *ctid, unsigned long tls",                 \
      "starts a thread of the trapped Linux cVM resuming from its clone with rax 0 on stack; "     \
      "returns its tid")                                                                           \
    X(952, LINUX_SET_TID_ADDRESS, linux_set_tid_address, 1, "int *ctid",                           \
      "the trapped Linux thread's clear-child-tid address; returns its tid")                       \
    X(953, LINUX_GETTID, linux_gettid, 0, "",                                                      \
      "returns the trapped Linux thread's tid (its cVM's main thread: 1)")                         \
    X(954, LINUX_WAIT, linux_wait, 4,                                                              \
      "const unsigned *addr, unsigned val, const struct timespec *timeout, long flags",            \
      "once the handler returns, the trapped Linux thread waits as futex_wait (flags 0) or "       \
      "sleeps for *timeout (flags 1) holding no stack slot; the result is the syscall's, or with " \
      "flags 2 a wait that was woken serves the syscall again")

#define CVM_HOSTCALL_MAX 1023     /* highest number the dispatcher accepts */
#define CVM_HOSTCALL_NAME_MAX 255 /* longest CAP_File, CAP_Call or stream name, without NUL */

enum cvm_hostcall_nr {
#define CVM_HC_ENUM(nr, NAME, name, argc, args, doc) CVM_HC_##NAME = nr,
    CVM_HOSTCALLS(CVM_HC_ENUM)
#undef CVM_HC_ENUM
};

/* Rights of a CAP handle (405 for probers, 406's out->rights). The owner's handle has every right
 * its kind allows and CVM_CAP_OWNER. */
#define CVM_CAP_READ 1L
#define CVM_CAP_WRITE 2L
#define CVM_CAP_CALL 4L
#define CVM_CAP_STREAM 8L /* a stream's handle: 410 sends a message */
#define CVM_CAP_OWNER 16L /* 411 revokes */

/* What 406 reports about a handle. */
struct cvm_hc_cap {
    unsigned long size; /* a CAP_File's bytes; 0 for a CAP_Call or a stream */
    unsigned long rights;
};

/* A stream's *done word (413): 0 while the buffer waits, the message length once it is
 * delivered. A receiver that sleeps stores CVM_STREAM_WAITING first and futex-waits on that
 * value, so that a delivery wakes it and a delivery to a receiver that is not asleep costs no
 * wake-up. */
#define CVM_STREAM_WAITING 0xffffffffu
/* ...and once the monitor has dropped the buffer because a page of it could not be written. */
#define CVM_STREAM_DROPPED 0xfffffffeu
#define CVM_STREAM_MSG_MAX (1UL << 30) /* bytes of one message and of one posted buffer */

/* A memory region handed to a guest by 700. */
struct cvm_hc_region {
    unsigned long addr;
    unsigned long size;
};

#endif
