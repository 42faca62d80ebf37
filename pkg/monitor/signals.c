/* The monitor's signal handlers: faults of cVM code, stop requests, and the syscalls of Linux
 * cVMs trapped by Syscall User Dispatch (specs/hostcall-abi.md §6-7). They run on per-thread
 * signal stacks carved from one arena, and find their cVM thread from the stack they run on:
 * a signal may arrive while %fs holds a Linux program's thread pointer, when the monitor's
 * TLS is out of reach. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"

#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2 /* si_code of a SIGSYS raised by Syscall User Dispatch */
#endif
#define SUD_ALLOW 0

static const int fault_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};

/* The kernel's struct sigaction: installed directly so that the restorer, the code that
 * returns from a handler, is the monitor's own (the one syscall a blocked Linux thread may
 * make), not the C library's. */
struct kernel_sigaction {
    void (*handler)(int, void *, void *);
    unsigned long flags;
    void (*restorer)(void);
    uint64_t mask;
};
#define KSA_RESTORER 0x04000000UL

static struct kernel_sigaction previous_action[65];
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static uintptr_t arena;
static struct cvm_thread *_Atomic arena_owner[CVM_ALTSTACKS];

static int stop_signal(void)
{
    return SIGRTMIN + 3;
}

static long kernel_sigaction(int sig, const struct kernel_sigaction *act,
                             struct kernel_sigaction *old)
{
    return syscall(SYS_rt_sigaction, sig, act, old, sizeof(uint64_t));
}

static void arena_create(void)
{
    void *p = mmap(NULL, (size_t)CVM_ALTSTACKS * CVM_ALTSTACK_SIZE, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    arena = p == MAP_FAILED ? 0 : (uintptr_t)p;
}

void *cvm_altstack_take(struct cvm_thread *t)
{
    pthread_once(&arena_once, arena_create);
    if (!arena)
        return NULL;
    for (size_t i = 0; i < CVM_ALTSTACKS; i++) {
        struct cvm_thread *none = NULL;
        if (atomic_load_explicit(&arena_owner[i], memory_order_relaxed) ||
            !atomic_compare_exchange_strong(&arena_owner[i], &none, t))
            continue;
        void *stack = (void *)(arena + i * CVM_ALTSTACK_SIZE);
        if (mprotect(stack, CVM_ALTSTACK_SIZE, PROT_READ | PROT_WRITE) == 0)
            return stack;
        atomic_store(&arena_owner[i], NULL);
        return NULL;
    }
    return NULL;
}

void cvm_altstack_give_back(void *stack)
{
    if (!stack)
        return;
    size_t i = ((uintptr_t)stack - arena) / CVM_ALTSTACK_SIZE;
    (void)madvise(stack, CVM_ALTSTACK_SIZE, MADV_DONTNEED);
    atomic_store(&arena_owner[i], NULL);
}

/* The cVM thread whose signal stack holds sp, or NULL (another thread, or not on its signal
 * stack). Plain loads: no TLS, no calls. */
static CVM_GUEST_FS_SAFE struct cvm_thread *thread_at(uintptr_t sp)
{
    uintptr_t base = arena;
    if (!base || sp < base || sp - base >= (uintptr_t)CVM_ALTSTACKS * CVM_ALTSTACK_SIZE)
        return NULL;
    return atomic_load_explicit(&arena_owner[(sp - base) / CVM_ALTSTACK_SIZE],
                                memory_order_acquire);
}

static CVM_GUEST_FS_SAFE void set_fs(uintptr_t value)
{
    long r;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "0"((long)SYS_arch_prctl), "D"(0x1002L /* ARCH_SET_FS */), "S"(value)
                     : "rcx", "r11", "memory");
    (void)r;
}

/* The %fs base as it is: the flag fs_guest lags behind a switch by an instruction. */
static CVM_GUEST_FS_SAFE uintptr_t get_fs(void)
{
    uintptr_t value = 0;
    long r;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "0"((long)SYS_arch_prctl), "D"(0x1003L /* ARCH_GET_FS */), "S"(&value)
                     : "rcx", "r11", "memory");
    (void)r;
    return value;
}

CVM_GUEST_FS_SAFE void cvm_thread_fs_host(struct cvm_thread *t)
{
    if (t->fs_guest) {
        set_fs(t->host_fs);
        t->fs_guest = false; /* only once %fs is the monitor's: see fs_guest */
    }
}

/* What the interrupted code of a Linux thread had: its selector, its fs_guest flag and, but
 * for a trapped syscall, its %fs base. A handler gives all back as it found them
 * (cvm_arch_signal_entry): the interrupted code may be between a switch of %fs and the update
 * of the flag, so the base is read, not inferred from the flag. */
struct signal_state {
    unsigned char selector;
    bool fs_guest;
    bool trap;
    uintptr_t fs;
};

struct signal_resume {
    uintptr_t fs;
    uintptr_t ctl; /* 0, or the selector's address | 1: set %fs | 2: the selector's value */
};

/* A syscall of a Linux program, served without switching %fs: see cvm_linux_syscall. */
static CVM_GUEST_FS_SAFE bool is_trap(const struct cvm_thread *t, int sig, const siginfo_t *si)
{
    return sig == SIGSYS && si->si_code == SYS_USER_DISPATCH && t && t->linux_abi;
}

/* Entering a handler: syscalls allowed and, but for a trapped syscall, the monitor's %fs
 * back, so that the handler is ordinary C code. */
static CVM_GUEST_FS_SAFE __attribute__((noinline)) struct cvm_thread *
signal_enter(int sig, const siginfo_t *si, struct signal_state *st)
{
    struct cvm_thread *t = thread_at((uintptr_t)__builtin_frame_address(0));
    *st = (struct signal_state){0, false, false, 0};
    if (!t || !t->linux_abi)
        return t;
    *st = (struct signal_state){t->selector, t->fs_guest, is_trap(t, sig, si), 0};
    t->selector = SUD_ALLOW;
    if (st->trap)
        return t;
    st->fs = get_fs();
    if (st->fs != t->host_fs) {
        set_fs(t->host_fs);
        t->fs_guest = false;
    }
    return t;
}

static CVM_GUEST_FS_SAFE struct signal_resume signal_resume(struct cvm_thread *t,
                                                            const struct signal_state *st)
{
    if (!t || !t->linux_abi)
        return (struct signal_resume){0, 0};
    /* A trapped syscall resumes with the program's thread pointer, set_tp's if it changed;
     * anything else with the base it was interrupted with. */
    bool set = st->trap ? st->fs_guest && !t->fs_guest : st->fs != t->host_fs;
    uintptr_t fs = st->trap ? t->guest_fs : st->fs;
    t->fs_guest = set ? true : st->fs_guest; /* before %fs changes: see fs_guest */
    uintptr_t ctl = (uintptr_t)&t->selector | (set ? 1 : 0) | (st->selector ? 2 : 0);
    return (struct signal_resume){fs, ctl};
}

static struct cvm_vm *vm_at(const struct cvm_deployment *d, uintptr_t addr)
{
    for (size_t i = 0; i < d->n_vms; i++)
        if (addr >= d->vms[i].base && addr < d->vms[i].end)
            return &d->vms[i];
    return NULL;
}

/* True when the interrupted context ran cVM code: its instruction or stack pointer lies in a
 * window or a shared heap, or it was in the hostcall trampoline. */
static bool in_guest(const struct cvm_thread *t, const ucontext_t *uc)
{
    uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    if (ip >= (uintptr_t)cvm_arch_hostcall_entry && ip < (uintptr_t)cvm_arch_hostcall_entry_end)
        return true;
    return cvm_context_in_guest(t->dep, ip, sp);
}

static _Noreturn void fault(struct cvm_thread *t, int sig, const siginfo_t *si,
                            const ucontext_t *uc)
{
    uintptr_t ip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    struct cvm_vm *where = vm_at(t->dep, ip);
    t->fault_signal = sig;
    t->fault_addr = (uintptr_t)si->si_addr;
    t->fault_ip = ip;
    t->fault_vm = where ? where : t->cur;
    struct cvm_call_frame *f = t->call_frame;
    if (f) {
        /* In a CAP_Call: the call fails, the callee's cVM and the deployment run on. */
        f->signal = sig;
        f->fault_addr = t->fault_addr;
        f->fault_ip = ip;
        siglongjmp(f->jmp, 1);
    }
    cvm_thread_leave(t, CVM_END_FAULT, 0);
}

static void fault_signal(struct cvm_thread *t, int sig, siginfo_t *si, ucontext_t *uc)
{
    /* A copy between cVMs that met a page it may not touch: the copy fails, nothing else. */
    if (t && t->guard_active && (sig == SIGSEGV || sig == SIGBUS)) {
        t->guard_active = false;
        t->guard_fault_addr = (uintptr_t)si->si_addr;
        siglongjmp(t->guard_jmp, 1);
    }
    if (t && in_guest(t, uc))
        fault(t, sig, si, uc);
    /* Not a cVM: a monitor bug. Let the previous disposition (default, or a sanitizer's) see it
     * when the instruction runs again. */
    kernel_sigaction(sig, &previous_action[sig], NULL);
}

static void stop_signal_handler(struct cvm_thread *t, ucontext_t *uc)
{
    if (t && cvm_thread_should_stop(t) && in_guest(t, uc))
        cvm_thread_leave(t, CVM_END_STOP, 0);
    /* Otherwise the thread is in the monitor: the dispatcher stops it before it returns. */
}

/* Ordinary C code: runs once %fs is the monitor's again. */
static __attribute__((noinline)) void handle(struct cvm_thread *t, int sig, siginfo_t *si,
                                             ucontext_t *uc)
{
    int saved_errno = errno;
    if (sig == stop_signal())
        stop_signal_handler(t, uc);
    else
        fault_signal(t, sig, si, uc);
    errno = saved_errno;
}

CVM_GUEST_FS_SAFE struct signal_resume cvm_signal_dispatch(int sig, siginfo_t *si, void *ucv);

/* Called by cvm_arch_signal_entry. signal_enter and handle are separate calls so that no TLS
 * access (errno's address, say) can be scheduled before %fs is switched back. */
CVM_GUEST_FS_SAFE struct signal_resume cvm_signal_dispatch(int sig, siginfo_t *si, void *ucv)
{
    struct signal_state st;
    struct cvm_thread *t = signal_enter(sig, si, &st);
    if (is_trap(t, sig, si))
        cvm_linux_syscall(t, ucv);
    else
        handle(t, sig, si, ucv);
    return signal_resume(t, &st);
}

void cvm_signals_install(void)
{
    struct kernel_sigaction sa = {
        .handler = (void (*)(int, void *, void *))cvm_arch_signal_entry,
        .flags = SA_SIGINFO | SA_ONSTACK | KSA_RESTORER,
        .restorer = cvm_arch_sigreturn,
    };
    for (size_t i = 0; i < sizeof(fault_signals) / sizeof(fault_signals[0]); i++)
        kernel_sigaction(fault_signals[i], &sa, &previous_action[fault_signals[i]]);
    kernel_sigaction(SIGSYS, &sa, &previous_action[SIGSYS]);
    kernel_sigaction(stop_signal(), &sa, NULL);
}

/* cVM threads take only the signals the monitor handles on them: a signal meant for the
 * process (SIGINT to cvmctl, say) must not run a handler while %fs is a guest's. */
void cvm_signals_block_foreign(void)
{
    sigset_t set;
    sigfillset(&set);
    for (size_t i = 0; i < sizeof(fault_signals) / sizeof(fault_signals[0]); i++)
        sigdelset(&set, fault_signals[i]);
    sigdelset(&set, SIGSYS);
    sigdelset(&set, stop_signal());
    pthread_sigmask(SIG_SETMASK, &set, NULL);
}
