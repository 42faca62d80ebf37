/* Linux cVMs (specs/hostcall-abi.md §7): an unmodified Linux program placed in a window and
 * started as Linux starts a process, with its interpreter when it names one; its threads run
 * under Syscall User Dispatch, and each syscall they make is served by the cVM's
 * callback_out chain, normally a LibOS. */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "base.h"
#include "internal.h"

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_OFF 0
#define PR_SYS_DISPATCH_ON 1
#endif

#define LINUX_ARGS_MAX (64UL << 10) /* argv, envp and auxv on the initial stack */
#define AT_VALUES 21                /* auxv entries written, AT_NULL included */

int cvm_linux_check_host(struct cvm_error **err)
{
    static volatile unsigned char selector;
    size_t len = (size_t)(cvm_arch_sud_exempt_end - cvm_arch_sud_exempt);
    if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, cvm_arch_sud_exempt, len,
              &selector) < 0)
        return cvm_error_set_errno(err, errno,
                                   "this kernel cannot trap a Linux program's syscalls "
                                   "(Syscall User Dispatch, Linux 5.11)");
    prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
    return 0;
}

/* A downward writer over the initial stack: [lo, sp). */
struct stack_writer {
    uintptr_t lo, sp;
    bool full;
};

static uintptr_t push_bytes(struct stack_writer *w, const void *p, size_t n)
{
    if (w->full || n > w->sp - w->lo) {
        w->full = true;
        return 0;
    }
    w->sp -= n;
    memcpy((void *)w->sp, p, n);
    return w->sp;
}

static uintptr_t push_string(struct stack_writer *w, const char *s)
{
    return push_bytes(w, s, strlen(s) + 1);
}

/* The System V process stack at the top of slot 0: argc, argv, envp, auxv, then the strings
 * and AT_RANDOM's bytes above them, as Linux lays it out. */
static int build_stack(struct cvm_vm *vm, const struct cvm_vm_spec *spec, uintptr_t interp_base,
                       struct cvm_error **err)
{
    uintptr_t top = cvm_slot_top(vm, 0);
    struct stack_writer w = {.lo = top - LINUX_ARGS_MAX, .sp = top - 16};
    uint8_t random[16];
    if (getrandom(random, sizeof(random), 0) != (ssize_t)sizeof(random))
        return cvm_error_set_errno(err, errno, "cannot seed AT_RANDOM of cVM '%s'", vm->name);
    uintptr_t random_at = push_bytes(&w, random, sizeof(random));
    uintptr_t platform = push_string(&w, "x86_64");
    /* Pushed last to first, so that they lie in order from argv[0] up. */
    for (size_t i = spec->envc; i-- > 0;)
        push_string(&w, spec->envp[i]);
    for (size_t i = spec->argc; i-- > 0;)
        push_string(&w, spec->argv[i]);
    uintptr_t strings = w.sp;
    uintptr_t execfn = spec->argc ? strings : platform;
    unsigned long aux[AT_VALUES * 2] = {
        AT_PHDR,        vm->base + vm->img.phdr_vaddr,
        AT_PHENT,       sizeof(Elf64_Phdr),
        AT_PHNUM,       vm->img.phnum,
        AT_PAGESZ,      CVM_PAGE,
        AT_BASE,        interp_base,
        AT_FLAGS,       0,
        AT_ENTRY,       vm->base + vm->img.entry,
        AT_UID,         0,
        AT_EUID,        0,
        AT_GID,         0,
        AT_EGID,        0,
        AT_SECURE,      0,
        AT_CLKTCK,      100,
        AT_HWCAP,       0,
        AT_HWCAP2,      0,
        AT_PLATFORM,    platform,
        AT_RANDOM,      random_at,
        AT_EXECFN,      execfn,
        AT_MINSIGSTKSZ, 2048,
        AT_NULL,        0,
        AT_NULL,        0,
    };
    /* Below the strings: argc, argv, envp, auxv, with argc 16-byte aligned at the bottom. */
    size_t words = 1 + (spec->argc + 1) + (spec->envc + 1) + AT_VALUES * 2;
    w.sp &= ~(uintptr_t)15;
    if (!w.full && words * 8 <= w.sp - w.lo) {
        w.sp = (w.sp - words * 8) & ~(uintptr_t)15;
        unsigned long *out = (unsigned long *)w.sp;
        *out++ = spec->argc;
        for (size_t i = 0; i < spec->argc; i++, strings += strlen(spec->argv[i - 1]) + 1)
            *out++ = strings;
        *out++ = 0;
        for (size_t i = 0; i < spec->envc; i++, strings += strlen(spec->envp[i - 1]) + 1)
            *out++ = strings;
        *out++ = 0;
        memcpy(out, aux, sizeof(aux));
    } else {
        w.full = true;
    }
    if (w.full)
        return cvm_error_set(err, CVM_E_LIMIT,
                             "arguments and environment of cVM '%s' exceed %lu bytes", vm->name,
                             LINUX_ARGS_MAX);
    vm->linux_sp = w.sp;
    return 0;
}

int cvm_linux_deploy(struct cvm_vm *vm, const struct cvm_vm_spec *spec, struct cvm_error **err)
{
    int r = cvm_linux_check_host(err);
    if (r < 0)
        return r;
    struct cvm_deployment *d = vm->dep;
    struct cvm_elf_image interp = {.span = 0};
    if (vm->img.has_interp) {
        if (!d->ldso)
            return cvm_error_set(err, CVM_E_USAGE,
                                 "'%s' needs a program interpreter; the deployment has no ldso",
                                 spec->runtime_name);
        r = cvm_elf_parse(d->ldso, d->ldso_len, "ldso", CVM_ELF_PROGRAM, &interp, err);
        if (r < 0)
            return r;
        if (interp.has_interp)
            return cvm_error_set(err, CVM_E_FORMAT, "the ldso itself asks for an interpreter");
        if (interp.arch->machine != vm->img.arch->machine)
            return cvm_error_set(err, CVM_E_UNSUPPORTED, "the ldso is built for %s; '%s' for %s",
                                 interp.arch->name, spec->runtime_name, vm->img.arch->name);
    }
    uint64_t interp_at = cvm_page_up(vm->img.span);
    vm->image_size = interp_at + cvm_page_up(interp.span);
    r = cvm_layout_prepare(vm, err);
    if (r < 0)
        return r;
    struct cvm_elf_loaded loaded, interp_loaded;
    r = cvm_elf_load(&vm->img, vm->base, &loaded, err);
    if (r == 0)
        r = cvm_elf_protect(&vm->img, vm->base, err);
    if (r == 0 && interp.span)
        r = cvm_elf_load(&interp, vm->base + interp_at, &interp_loaded, err);
    if (r == 0 && interp.span)
        r = cvm_elf_protect(&interp, vm->base + interp_at, err);
    if (r < 0)
        return r;
    memcpy(vm->info.runtime_measurement, loaded.measurement, CVM_SHA256_LEN);
    /* It starts where Linux would start it: in its interpreter, if it names one. */
    vm->entry = interp.span ? vm->base + interp_at + interp.entry : vm->base + loaded.entry;
    r = cvm_layout_write_boot(vm, spec, err);
    if (r < 0)
        return r;
    return build_stack(vm, spec, interp.span ? vm->base + interp_at : 0, err);
}

_Noreturn void cvm_linux_thread_enter(struct cvm_thread *t)
{
    size_t len = (size_t)(cvm_arch_sud_exempt_end - cvm_arch_sud_exempt);
    t->selector = 0;
    if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, cvm_arch_sud_exempt, len,
              &t->selector) < 0) {
        t->fault_signal = SIGSYS;
        t->fault_vm = t->home;
        cvm_thread_leave(t, CVM_END_FAULT, 0);
    }
    /* From here on %fs may be the guest's until a signal handler switches it back. */
    t->fs_guest = true;
    cvm_arch_linux_enter(t->start_regs, t->guest_fs, &t->selector);
}

void cvm_linux_thread_end(void)
{
    prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_OFF, 0, 0, 0);
}

/* CLONE_CHILD_CLEARTID: how pthread_join learns that the thread is gone. Called once the
 * thread is done (dep->lock held), so that a clone right after the join finds its record free. */
void cvm_linux_thread_clear_tid_locked(struct cvm_thread *t)
{
    uintptr_t at = t->clear_tid;
    const unsigned zero = 0;
    if (at && at % 4 == 0 && cvm_guest_write(t->home, at, &zero, sizeof(zero)) == 0)
        syscall(SYS_futex, (unsigned *)at, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* The wait a server asked for with hostcall 954, made now that its stack slot is free. The
 * caller has put the monitor's %fs back (cvm_thread_fs_host). */
static long wait_now(struct cvm_thread *t)
{
    t->linux_wait.pending = false;
    if (cvm_thread_should_stop(t))
        return -EINTR;
    struct timespec *timeout = t->linux_wait.has_timeout ? &t->linux_wait.timeout : NULL;
    if (t->linux_wait.sleep)
        return -clock_nanosleep(CLOCK_MONOTONIC, 0, timeout, NULL);
    long r = syscall(SYS_futex, (unsigned *)t->linux_wait.addr, FUTEX_WAIT_PRIVATE,
                     t->linux_wait.val, timeout, NULL, 0);
    return r < 0 ? -errno : 0;
}

/* A trapped syscall: served by the cVM's callback_out with the Linux number and arguments,
 * its result in rax when the program resumes. %fs is still the program's: a server that
 * answers without hostcalls costs no switch of it (the hostcall entry switches it). */
CVM_GUEST_FS_SAFE void cvm_linux_syscall(struct cvm_thread *t, void *ucontext)
{
    ucontext_t *uc = ucontext;
    greg_t *g = uc->uc_mcontext.gregs;
    const long a[6] = {g[REG_RDI], g[REG_RSI], g[REG_RDX], g[REG_R10], g[REG_R8], g[REG_R9]};
    long r;
    for (;;) {
        t->trap = uc;
        r = cvm_hostcall_forward(t, t->home->callback_out, g[REG_RAX], a);
        t->trap = NULL;
        if (!t->linux_wait.pending)
            break;
        bool restart = t->linux_wait.restart;
        cvm_thread_fs_host(t); /* before a call into code that may read TLS */
        r = wait_now(t);
        /* Woken, or the word changed before the wait: the server looks again. */
        if (!restart || (r != 0 && r != -EAGAIN) || cvm_thread_should_stop(t))
            break;
    }
    if (cvm_thread_should_stop(t))
        cvm_thread_leave(t, CVM_END_STOP, 0);
    g[REG_RAX] = r;
}
