/* Monitor-internal model: deployments, cVMs, cVM threads, and the layout of a window
 * (specs/hostcall-abi.md §2). Shared by the files of pkg/monitor only. */
#ifndef CVM_MONITOR_INTERNAL_H
#define CVM_MONITOR_INTERNAL_H

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "abi/boot.h"
#include "abi/hostcalls.h"
#include "caps.h"
#include "loader.h"
#include "monitor.h"
#include "thread-layout.h"

#define CVM_PAGE 4096UL
#define CVM_STACK_SLOTS 16                /* stack slots at the top of each window */
#define CVM_STACK_SLOT_SIZE (256UL << 10) /* per slot, its lowest page a guard */
#define CVM_GATE_SIZE (16UL << 10)        /* boot block, argv, envp, auxv: read-only to guests */
#define CVM_MIN_HEAP (64UL << 10)
#define CVM_MAX_THREADS                                                                            \
    64                    /* a cVM's threads over its life, the main one included; a Linux         \
                             cVM's alive at once */
#define CVM_MAX_GRANTS 64 /* regions beyond its window a cVM may be granted */
#define CVM_MAX_NEST 8    /* callback depth: app -> libos -> ... -> monitor */
#define CVM_ALTSTACK_SIZE (128UL << 10) /* signal stack of a cVM thread; a power of two */
#define CVM_ALTSTACKS 4096              /* cVM threads alive in one process */
#define CVM_MAX_ROOTFS (4ULL << 30)     /* root.cpio bytes, as specs/image-format.md §4 allows */
#define CVM_MAX_VMS 64
#define CVM_GETRANDOM_MAX (1UL << 20) /* bytes of one getrandom hostcall */

/* One step of a bounded spin: tells the CPU (and a hypervisor) that this is a wait loop. */
static inline void cvm_cpu_relax(void)
{
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static inline uint64_t cvm_page_up(uint64_t v)
{
    return (v + CVM_PAGE - 1) & ~(uint64_t)(CVM_PAGE - 1);
}

struct cvm_region {
    uintptr_t addr;
    uint64_t size;
};

/* The heaps a spec deploys with once its heap mode is applied and every base placed
 * (specs/monitor-yaml.md §5): the same for deploy and for the measurement. */
struct cvm_heap_plan {
    size_t n_heaps;
    struct {
        const char *name;
        uint64_t base, size;
    } heaps[CVM_MAX_HEAPS];
    int of_vm[CVM_MAX_VMS]; /* index into heaps, or -1: clean-room */
};

/* A shared heap of a deployment, reserved by deploy. */
struct cvm_heap {
    char *name;
    struct cvm_region region;
    bool reserved;
};

enum cvm_thread_end {
    CVM_END_NONE,
    CVM_END_RETURN,      /* entry returned: value is the result */
    CVM_END_EXIT,        /* hostcall 13: the whole cVM ends */
    CVM_END_THREAD_EXIT, /* hostcall 42 */
    CVM_END_FAULT,
    CVM_END_STOP,
};

struct cvm_vm;
struct cvm_deployment;

struct cvm_thread {
    /* Read by the world switch through %gs (thread-layout.h): keep first, in this order. */
    uintptr_t mon_sp;        /* monitor stack pointer of the innermost guest call */
    struct cvm_thread *self; /* this thread */
    uintptr_t host_fs;       /* the monitor's thread pointer */
    volatile bool fs_guest;  /* true before %fs is switched to guest_fs, false after */
    struct cvm_deployment *dep;
    struct cvm_vm *home; /* the cVM the thread belongs to */
    struct cvm_vm *cur;  /* the cVM whose code runs now: differs inside a callback */
    unsigned tid;        /* 1-based within home; the main thread is 1 */
    int slot;            /* home stack slot, released when the thread ends */
    uintptr_t fn, arg;
    pthread_t pthread;
    bool done;           /* under dep->lock */
    bool reaped;         /* its OS thread is joined already (a Linux cVM's, run.c) */
    bool joined;         /* a guest joined it (hostcall 41) */
    sigjmp_buf exit_jmp; /* where exit, thread exit, faults and stops land */
    enum cvm_thread_end end;
    long value;
    struct {
        struct cvm_vm *vm;
        int slot;
    } borrowed[CVM_MAX_NEST]; /* stack slots lent by callback targets, innermost last */
    int n_borrowed;
    void *altstack; /* from the arena of signal stacks: signals find the thread by it */
    int fault_signal;
    uintptr_t fault_addr, fault_ip;
    struct cvm_vm *fault_vm;
    /* Threads of a Linux cVM (specs/hostcall-abi.md §7). Their code runs with the guest's
     * thread pointer in %fs and the selector at BLOCK, so that every syscall traps. Signal
     * handlers read these fields, found through the signal stack, never through TLS. */
    bool linux_abi;
    /* Syscall User Dispatch: 0 allow, 1 block. Aligned: its address carries two flags to
     * cvm_arch_signal_entry. */
    _Alignas(4) volatile unsigned char selector;
    uintptr_t guest_fs;  /* the guest's thread pointer */
    uintptr_t clear_tid; /* set_tid_address: zeroed and woken when it ends */
    void *trap;          /* the ucontext_t of the syscall being served, or NULL */
    struct {
        bool pending, sleep; /* hostcall 954: a wait to make once the server has returned */
        bool restart;        /* then serve the syscall again if woken */
        uintptr_t addr;
        unsigned val;
        bool has_timeout;
        struct timespec timeout;
    } linux_wait;
    unsigned long start_regs[17]; /* where it starts, in ucontext gregs order up to rip */
    /* A copy between cVMs' memory that may fault (cvm_copy_guarded): the fault handler lands
     * here instead of ending the cVM. */
    volatile bool guard_active;
    uintptr_t guard_fault_addr;
    sigjmp_buf guard_jmp;
    struct cvm_call_frame *call_frame; /* the innermost CAP_Call in progress, or NULL */
};

/* A CAP_Call in progress on a thread (hc-capcall.c): a fault in the callee lands here. */
struct cvm_call_frame {
    sigjmp_buf jmp;
    struct cvm_call_frame *outer;
    struct cvm_vm *caller, *callee;
    int n_borrowed; /* the thread's, before the call lent it a slot */
    uintptr_t mon_sp;
    int signal; /* the fault's */
    uintptr_t fault_addr, fault_ip;
};

struct cvm_vm {
    struct cvm_deployment *dep;
    struct cvm_vm_info info;
    char *name;
    char *runtime_name;
    struct cvm_elf_image img;
    enum cvm_vm_abi abi;
    uint64_t image_size; /* runtime, and a Linux program's interpreter after it: page-aligned */
    uintptr_t linux_sp;  /* a Linux cVM: its main thread's initial stack pointer */
    uintptr_t base, end; /* the window */
    uintptr_t entry;     /* absolute */
    uintptr_t syscall_handler;                       /* absolute, 0 if none */
    uintptr_t heap_base, heap_size, gate, stacks_lo; /* heap_*: as the boot block says */
    struct cvm_heap *heap;                           /* its heap group's region, or NULL */
    struct cvm_vm *callback_out;                     /* NULL: the monitor */
    struct cvm_vm *callback_in;
    int wait_seconds;
    bool reserved;
    atomic_uint slots_used;   /* bitmap of CVM_STACK_SLOTS */
    atomic_uint slots_open;   /* slots made read-write so far (layout.c) */
    atomic_uint slot_waiters; /* threads waiting for a slot: futex on slots_used */
    struct cvm_thread *threads[CVM_MAX_THREADS]; /* by tid - 1, under dep->lock */
    unsigned n_threads;
    atomic_bool exiting;       /* its main thread ended: stop the others */
    atomic_bool names_revoked; /* its names went with its end (run.c); set under dep->lock */
    struct cvm_vm_result result;
    pthread_mutex_t grant_lock; /* writers only: readers scan the first n_grants entries */
    struct cvm_region grants[CVM_MAX_GRANTS];
    atomic_size_t n_grants;
};

struct cvm_deployment {
    struct cvm_vm *vms;
    size_t n_vms;
    int stdout_fd;
    void *capfile_mem; /* backing of the deployment's declared CAP_Files */
    size_t capfile_mem_len;
    struct cvm_caps caps;
    const uint8_t *ldso; /* the spec's, while the deployment is being created only */
    size_t ldso_len;
    const uint8_t *rootfs; /* read-only copy of root.cpio (hostcalls 900/901); NULL: none */
    size_t rootfs_len;
    size_t rootfs_map_len;
    struct cvm_heap heaps[CVM_MAX_HEAPS];
    size_t n_heaps;
    pthread_mutex_t lock; /* thread lifecycle; cond signals every change of it */
    pthread_cond_t cond;
    bool ran;
    atomic_bool stopping;
    bool timed_out;
    bool threads_alive; /* a stop failed: windows must stay mapped */
};

_Static_assert(offsetof(struct cvm_thread, mon_sp) == CVM_THREAD_MON_SP, "thread-layout.h");
_Static_assert(offsetof(struct cvm_thread, self) == CVM_THREAD_SELF, "thread-layout.h");
_Static_assert(offsetof(struct cvm_thread, host_fs) == CVM_THREAD_HOST_FS, "thread-layout.h");
_Static_assert(offsetof(struct cvm_thread, fs_guest) == CVM_THREAD_FS_GUEST, "thread-layout.h");

/* Code that may run while %fs holds a Linux program's thread pointer (hostcall-abi.md §7):
 * it must not touch the monitor's TLS, so no stack-protector canary (read through %fs) and no
 * sanitizer runtime; and it calls only code that keeps to the same rule. */
#if defined(__has_attribute)
#if __has_attribute(no_stack_protector)
#define CVM_NO_STACK_PROTECTOR __attribute__((no_stack_protector))
#endif
#endif
#ifndef CVM_NO_STACK_PROTECTOR
#define CVM_NO_STACK_PROTECTOR
#endif
#define CVM_GUEST_FS_SAFE                                                                          \
    CVM_NO_STACK_PROTECTOR __attribute__((no_sanitize("address", "undefined")))

/* The cVM thread running on this OS thread: %gs holds it on every cVM thread, and only
 * there. Unlike TLS it is reachable whatever %fs holds. */
static inline CVM_GUEST_FS_SAFE struct cvm_thread *cvm_thread_self(void)
{
    struct cvm_thread *t;
    __asm__ volatile("movq %%gs:%c1, %0" : "=r"(t) : "i"(CVM_THREAD_SELF));
    return t;
}

/* Puts the monitor's thread pointer back in %fs if it may hold the guest's: before any code
 * that reads TLS (the C library, errno, siglongjmp). */
void cvm_thread_fs_host(struct cvm_thread *t);

/* Reserves [lo, hi) at that address with MAP_FIXED_NOREPLACE (anonymous, zero-filled, backed
 * where written); `what` names the range in errors ("window [..) of cVM 'x'"), and an
 * occupied range names the mapping in the way. */
#define CVM_RANGE_WHAT_SIZE 384
int cvm_range_reserve(uintptr_t lo, uintptr_t hi, int prot, const char *what,
                      struct cvm_error **err);

/* window.c */
int cvm_window_reserve(const struct cvm_vm *vm, const struct cvm_deployment *dep,
                       struct cvm_error **err);
void cvm_window_release(struct cvm_vm *vm);
bool cvm_window_contains(const struct cvm_deployment *dep, uintptr_t addr);

/* layout.c */
int cvm_heap_plan_make(const struct cvm_deploy_spec *spec, struct cvm_heap_plan *ret,
                       struct cvm_error **err);
int cvm_heap_reserve(struct cvm_heap *h, struct cvm_error **err);
void cvm_heap_release(struct cvm_heap *h);
int cvm_layout_prepare(struct cvm_vm *vm, struct cvm_error **err);
int cvm_layout_write_boot(struct cvm_vm *vm, const struct cvm_vm_spec *spec,
                          struct cvm_error **err);
int cvm_slot_acquire(struct cvm_vm *vm);
void cvm_slot_release(struct cvm_vm *vm, int slot);
uintptr_t cvm_slot_top(const struct cvm_vm *vm, int slot);
int cvm_slots_open_all(struct cvm_vm *vm, struct cvm_error **err);
/* A slot of vm for thread t, waiting while all are lent; -1 once t is to stop. */
int cvm_slot_acquire_wait(struct cvm_thread *t, struct cvm_vm *vm);

/* guest.c: every guest pointer goes through these (specs/hostcall-abi.md §3). */
void *cvm_guest_ptr(struct cvm_vm *vm, uintptr_t addr, uint64_t len);
long cvm_guest_string(struct cvm_vm *vm, uintptr_t addr, char *out, size_t out_size);
int cvm_grant(struct cvm_vm *vm, struct cvm_region r);
long cvm_guest_read(struct cvm_vm *vm, void *dst, uintptr_t src, size_t len);
long cvm_guest_write(struct cvm_vm *vm, uintptr_t dst, const void *src, size_t len);
/* A struct timespec the guest passes: -EFAULT as any pointer, -EINVAL for a negative time or
 * tv_nsec outside [0, 1e9). */
long cvm_guest_timespec(struct cvm_vm *vm, uintptr_t addr, struct timespec *ts);
/* Copies len bytes between memory of cVMs, both ranges checked by the caller, on thread t; a
 * fault (a guard page, a read-only page) makes it -EFAULT, with the faulting address in
 * *fault_addr unless NULL. A cVM's read-only page cannot take a write this way. */
long cvm_copy_guarded(struct cvm_thread *t, void *dst, const void *src, size_t len,
                      uintptr_t *fault_addr);
/* Atomically stores value in a checked guest word and gives its old value in *old unless
 * NULL; -EFAULT if the word's page cannot be written. */
long cvm_xchg_guarded(struct cvm_thread *t, unsigned *word, unsigned value, unsigned *old);
/* -EFAULT unless the checked guest word's page may be written; the word is left as it is. */
long cvm_touch_guarded(struct cvm_thread *t, unsigned *word);

/* hc-rootfs.c: the deployment keeps its own copy of the archive, so the caller's bytes are
 * not needed once it is created. data NULL: no rootfs. */
int cvm_rootfs_attach(struct cvm_deployment *d, const uint8_t *data, size_t len,
                      struct cvm_error **err);
void cvm_rootfs_release(struct cvm_deployment *d);

/* run.c */
long cvm_guest_call(uintptr_t fn, uintptr_t sp, const long args[7]);
_Noreturn void cvm_thread_leave(struct cvm_thread *t, enum cvm_thread_end end, long value);
long cvm_thread_spawn(struct cvm_vm *vm, uintptr_t fn, uintptr_t arg);
long cvm_thread_join_guest(struct cvm_thread *t, long tid, long *value);
bool cvm_context_in_guest(const struct cvm_deployment *d, uintptr_t ip, uintptr_t sp);
/* A Linux thread of vm that will start at regs (gregs order up to rip) with thread pointer fs,
 * made (its tid known) but not running: start or discard it. The caller holds vm->dep->lock. */
struct cvm_thread *cvm_linux_thread_new_locked(struct cvm_vm *vm, const unsigned long regs[17],
                                               uintptr_t fs, long *ret);
long cvm_linux_thread_start_locked(struct cvm_vm *vm, struct cvm_thread *t);
void cvm_linux_thread_discard_locked(struct cvm_vm *vm, struct cvm_thread *t);

/* hc-capcall.c: ends the thread's innermost CAP_Call with -ECANCELED; end_callee: and the
 * callee's cVM with status. */
_Noreturn void cvm_call_leave(struct cvm_thread *t, bool end_callee, int status);
/* run.c: ends vm as its exit with status would, from another cVM's thread. */
void cvm_vm_end(struct cvm_vm *vm, int status);

/* signals.c: the monitor's signal handlers, on per-thread signal stacks of one arena. */
void cvm_signals_install(void);
void *cvm_altstack_take(struct cvm_thread *t);
void cvm_altstack_give_back(void *stack);
void cvm_signals_block_foreign(void);

/* linux.c: Linux cVMs (specs/hostcall-abi.md §7) */
int cvm_linux_deploy(struct cvm_vm *vm, const struct cvm_vm_spec *spec, struct cvm_error **err);
int cvm_linux_check_host(struct cvm_error **err);
_Noreturn void cvm_linux_thread_enter(struct cvm_thread *t);
void cvm_linux_thread_end(void);
void cvm_linux_thread_clear_tid_locked(struct cvm_thread *t);
void cvm_linux_syscall(struct cvm_thread *t, void *ucontext);

/* hostcall.c */
bool cvm_thread_should_stop(const struct cvm_thread *t);
long cvm_hostcall_dispatch(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
long cvm_hostcall_forward(struct cvm_thread *t, struct cvm_vm *target, long nr, const long a[6]);

/* arch/<arch>/switch.S */
long cvm_arch_guest_call(uintptr_t fn, uintptr_t sp, const long args[7]);
long cvm_arch_hostcall_entry(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
extern const char cvm_arch_hostcall_entry_end[];
void cvm_arch_signal_entry(int sig, void *info, void *ucontext);
void cvm_arch_sigreturn(void);
extern const char cvm_arch_sud_exempt[], cvm_arch_sud_exempt_end[];
long cvm_arch_sigaltstack_from(const stack_t *ss, uintptr_t sp);
_Noreturn void cvm_arch_linux_enter(const unsigned long regs[17], uintptr_t fs,
                                    volatile unsigned char *selector);

#endif
