/* Running cVMs on the inproc backend: one OS thread per cVM thread, guest code on stack slots
 * of its window, faults and stop requests caught on a per-thread signal stack. */
#include <asm/prctl.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "base.h"
#include "internal.h"

#define STOP_RETRY_NS (10 * 1000000L)
#define STOP_GIVE_UP_NS (10 * 1000000000LL)

static pthread_once_t handlers_once = PTHREAD_ONCE_INIT;

static int stop_signal(void)
{
    return SIGRTMIN + 3;
}

/* Runs guest code; nests, so the monitor stack pointer of the outer call is kept. */
CVM_GUEST_FS_SAFE long cvm_guest_call(uintptr_t fn, uintptr_t sp, const long args[7])
{
    struct cvm_thread *t = cvm_thread_self();
    uintptr_t saved = t->mon_sp;
    long r = cvm_arch_guest_call(fn, sp, args);
    t->mon_sp = saved;
    return r;
}

_Noreturn void cvm_thread_leave(struct cvm_thread *t, enum cvm_thread_end end, long value)
{
    cvm_thread_fs_host(t); /* siglongjmp reads the C library's TLS */
    t->end = end;
    t->value = value;
    siglongjmp(t->exit_jmp, 1);
}

bool cvm_context_in_guest(const struct cvm_deployment *d, uintptr_t ip, uintptr_t sp)
{
    if (cvm_window_contains(d, ip) || cvm_window_contains(d, sp))
        return true;
    /* A Linux program runs code it mapped into a shared heap, on stacks it allocated there. */
    for (size_t k = 0; k < d->n_heaps; k++) {
        const struct cvm_region *h = &d->heaps[k].region;
        if ((ip >= h->addr && ip - h->addr < h->size) || (sp >= h->addr && sp - h->addr < h->size))
            return true;
    }
    return false;
}

/* Called with dep->lock held when a thread has ended. */
static void thread_finished_locked(struct cvm_thread *t)
{
    struct cvm_vm *vm = t->home;
    struct cvm_deployment *d = t->dep;
    t->done = true;
    if (t->slot >= 0)
        cvm_slot_release(vm, t->slot);
    /* The thread whose end ends the cVM: a runtime's main thread; a Linux program's last. */
    bool last = t->tid == 1;
    if (t->linux_abi) {
        last = true;
        for (unsigned i = 0; i < vm->n_threads; i++)
            last &= vm->threads[i]->done;
    }
    switch (t->end) {
    case CVM_END_EXIT:
    case CVM_END_RETURN:
    case CVM_END_THREAD_EXIT:
        if (t->end == CVM_END_EXIT || last) {
            if (vm->result.outcome == CVM_VM_NOT_STARTED) {
                vm->result.outcome = CVM_VM_EXITED;
                vm->result.exit_code = (int)(t->value & 0xff);
            }
            atomic_store(&vm->exiting, true);
        }
        break;
    case CVM_END_FAULT:
        if (vm->result.outcome == CVM_VM_NOT_STARTED || vm->result.outcome == CVM_VM_EXITED) {
            vm->result.outcome = CVM_VM_FAULTED;
            vm->result.signal = t->fault_signal;
            vm->result.fault_addr = t->fault_addr;
            vm->result.fault_ip = t->fault_ip;
            vm->result.fault_cvm = t->fault_vm->name;
        }
        atomic_store(&vm->exiting, true);
        atomic_store(&d->stopping, true);
        break;
    case CVM_END_STOP:
    case CVM_END_NONE:
        if (vm->result.outcome == CVM_VM_NOT_STARTED)
            vm->result.outcome = CVM_VM_STOPPED;
        atomic_store(&vm->exiting, true);
        break;
    }
    pthread_cond_broadcast(&d->cond);
}

/* Under dep->lock: vm has ended as the owner of names: it is ending and so has every cVM it
 * serves as callback_out, since a LibOS whose main thread returned serves its program, and
 * publishes for it, until the program ends. */
static bool owner_gone_locked(const struct cvm_vm *vm, int depth)
{
    if (!atomic_load(&vm->exiting) || depth > CVM_MAX_NEST)
        return false;
    const struct cvm_deployment *d = vm->dep;
    for (size_t i = 0; i < d->n_vms; i++)
        if (d->vms[i].callback_out == vm && !owner_gone_locked(&d->vms[i], depth + 1))
            return false;
    return true;
}

/* Under dep->lock, once a thread of vm has ended: vm and the servers of its callback chain
 * whose names go now, each once; their number. */
static size_t names_to_revoke_locked(struct cvm_vm *vm, struct cvm_vm *gone[CVM_MAX_NEST + 1])
{
    size_t n = 0;
    for (struct cvm_vm *v = vm; v && n <= CVM_MAX_NEST; v = v->callback_out)
        if (!atomic_load(&v->names_revoked) && owner_gone_locked(v, 0)) {
            atomic_store(&v->names_revoked, true);
            gone[n++] = v;
        }
    return n;
}

void cvm_vm_end(struct cvm_vm *vm, int status)
{
    struct cvm_deployment *d = vm->dep;
    pthread_mutex_lock(&d->lock);
    if (vm->result.outcome == CVM_VM_NOT_STARTED) {
        vm->result.outcome = CVM_VM_EXITED;
        vm->result.exit_code = status & 0xff;
    }
    /* Its threads get the stop signal from the thread that waits for the deployment. */
    atomic_store(&vm->exiting, true);
    struct cvm_vm *gone[CVM_MAX_NEST + 1];
    size_t n_gone = names_to_revoke_locked(vm, gone);
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    for (size_t i = 0; i < n_gone; i++)
        cvm_caps_owner_ended(&d->caps, gone[i]);
}

/* Runs the thread's guest code until it ends, one way or another. */
static void thread_run(struct cvm_thread *t)
{
    cvm_signals_block_foreign();
    stack_t ss = {.ss_sp = t->altstack, .ss_size = CVM_ALTSTACK_SIZE};
    sigaltstack(&ss, NULL);
    if (sigsetjmp(t->exit_jmp, 1) == 0) {
        if (cvm_thread_should_stop(t))
            cvm_thread_leave(t, CVM_END_STOP, 0);
        if (t->linux_abi)
            cvm_linux_thread_enter(t);
        const long args[7] = {(long)t->arg};
        long r = cvm_guest_call(t->fn, cvm_slot_top(t->home, t->slot), args);
        t->end = CVM_END_RETURN;
        t->value = r;
    }
    /* Every way out lands here, possibly from deep inside callbacks: return lent slots. */
    while (t->n_borrowed > 0) {
        t->n_borrowed--;
        cvm_slot_release(t->borrowed[t->n_borrowed].vm, t->borrowed[t->n_borrowed].slot);
    }
    t->cur = t->home;
    if (t->linux_abi)
        cvm_linux_thread_end();
    /* The signal stack stays: the clear-child-tid write (thread_main) is a guarded copy, whose
     * fault handler finds the thread through it. */
}

static void *thread_main(void *arg)
{
    struct cvm_thread *t = arg;
    t->self = t;
    /* Before any signal can find the thread (its signal stack is set in thread_run): a handler
     * on a Linux thread compares %fs with it. */
    __asm__ volatile("movq %%fs:0, %0" : "=r"(t->host_fs));
    /* %gs finds the thread whatever %fs holds (cvm_thread_self). */
    bool ran = syscall(SYS_arch_prctl, ARCH_SET_GS, t) == 0;
    if (ran) {
        thread_run(t);
    } else {
        t->end = CVM_END_FAULT;
        t->fault_signal = SIGSYS;
        t->fault_vm = t->home;
    }
    struct cvm_deployment *d = t->dep;
    struct cvm_vm *gone[CVM_MAX_NEST + 1];
    pthread_mutex_lock(&d->lock);
    thread_finished_locked(t);
    if (ran && t->linux_abi)
        cvm_linux_thread_clear_tid_locked(t);
    size_t n_gone = names_to_revoke_locked(t->home, gone);
    pthread_mutex_unlock(&d->lock);
    /* Out of the deployment's lock: revoking waits for copies in progress. Waiting senders and
     * callers learn it now. */
    for (size_t i = 0; i < n_gone; i++)
        cvm_caps_owner_ended(&d->caps, gone[i]);
    if (ran) {
        stack_t ss = {.ss_flags = SS_DISABLE};
        sigaltstack(&ss, NULL);
    }
    return NULL;
}

/* The index in vm->threads a new thread takes: the next unused one; or, in a Linux cVM, which
 * may create threads without end as a process does, that of a thread that has ended, whose OS
 * thread is joined now (its record goes once the new thread has started). -1: none. */
static int thread_index_locked(struct cvm_vm *vm)
{
    if (vm->n_threads < CVM_MAX_THREADS)
        return (int)vm->n_threads;
    if (vm->abi != CVM_ABI_LINUX)
        return -1;
    for (unsigned i = 0; i < vm->n_threads; i++) {
        struct cvm_thread *old = vm->threads[i];
        if (!old->done)
            continue;
        if (!old->reaped)
            pthread_join(old->pthread, NULL); /* it has ended: done is its last act */
        old->reaped = true;
        return (int)i;
    }
    return -1;
}

/* A new thread of vm, not yet running; slot -1: it brings its own stack (Linux threads). */
static struct cvm_thread *thread_new_locked(struct cvm_vm *vm, bool needs_slot, long *ret)
{
    *ret = -EAGAIN;
    int index = thread_index_locked(vm);
    if (index < 0)
        return NULL;
    int slot = needs_slot ? cvm_slot_acquire(vm) : -1;
    if (needs_slot && slot < 0)
        return NULL;
    struct cvm_thread *t = calloc(1, sizeof(*t));
    void *alt = t ? cvm_altstack_take(t) : NULL;
    if (!t || !alt) {
        if (slot >= 0)
            cvm_slot_release(vm, slot);
        free(t);
        *ret = -ENOMEM;
        return NULL;
    }
    *t = (struct cvm_thread){.dep = vm->dep,
                             .home = vm,
                             .cur = vm,
                             .tid = (unsigned)index + 1,
                             .slot = slot,
                             .altstack = alt,
                             .linux_abi = vm->abi == CVM_ABI_LINUX};
    return t;
}

/* Drops a thread made by thread_new_locked that will not run. */
static void thread_discard_locked(struct cvm_vm *vm, struct cvm_thread *t)
{
    if (t->slot >= 0)
        cvm_slot_release(vm, t->slot);
    cvm_altstack_give_back(t->altstack);
    free(t);
}

static long thread_start_locked(struct cvm_vm *vm, struct cvm_thread *t)
{
    int e = pthread_create(&t->pthread, NULL, thread_main, t);
    if (e != 0) {
        thread_discard_locked(vm, t);
        return -e;
    }
    unsigned i = t->tid - 1;
    if (i < vm->n_threads) {
        struct cvm_thread *old = vm->threads[i]; /* ended and joined: thread_index_locked */
        cvm_altstack_give_back(old->altstack);
        free(old);
    } else {
        vm->n_threads = i + 1;
    }
    vm->threads[i] = t;
    return t->tid;
}

static long thread_spawn_locked(struct cvm_vm *vm, uintptr_t fn, uintptr_t arg)
{
    long ret;
    struct cvm_thread *t = thread_new_locked(vm, true, &ret);
    if (!t)
        return ret;
    t->fn = fn;
    t->arg = arg;
    if (t->linux_abi) {
        /* The main thread of a Linux cVM: its entry point, its process stack (linux.c). */
        t->start_regs[REG_RSP] = vm->linux_sp;
        t->start_regs[REG_RIP] = fn;
    }
    return thread_start_locked(vm, t);
}

struct cvm_thread *cvm_linux_thread_new_locked(struct cvm_vm *vm, const unsigned long regs[17],
                                               uintptr_t fs, long *ret)
{
    struct cvm_thread *t = thread_new_locked(vm, false, ret);
    if (t) {
        memcpy(t->start_regs, regs, sizeof(t->start_regs));
        t->guest_fs = fs;
    }
    return t;
}

long cvm_linux_thread_start_locked(struct cvm_vm *vm, struct cvm_thread *t)
{
    return thread_start_locked(vm, t);
}

void cvm_linux_thread_discard_locked(struct cvm_vm *vm, struct cvm_thread *t)
{
    thread_discard_locked(vm, t);
}

long cvm_thread_spawn(struct cvm_vm *vm, uintptr_t fn, uintptr_t arg)
{
    struct cvm_deployment *d = vm->dep;
    pthread_mutex_lock(&d->lock);
    long ret = thread_spawn_locked(vm, fn, arg);
    pthread_mutex_unlock(&d->lock);
    return ret;
}

long cvm_thread_join_guest(struct cvm_thread *self, long tid, long *value)
{
    struct cvm_vm *vm = self->cur;
    struct cvm_deployment *d = self->dep;
    pthread_mutex_lock(&d->lock);
    if (tid < 1 || (unsigned long)tid > vm->n_threads) {
        pthread_mutex_unlock(&d->lock);
        return -ESRCH;
    }
    struct cvm_thread *t = vm->threads[tid - 1];
    if (t == self || t->joined) {
        pthread_mutex_unlock(&d->lock);
        return t == self ? -EDEADLK : -EINVAL;
    }
    t->joined = true;
    while (!t->done && !cvm_thread_should_stop(self))
        pthread_cond_wait(&d->cond, &d->lock);
    bool done = t->done;
    *value = t->value;
    pthread_mutex_unlock(&d->lock);
    return done ? 0 : -EINTR;
}

static bool vm_ended_locked(const struct cvm_vm *vm)
{
    if (vm->n_threads == 0)
        return false;
    for (unsigned i = 0; i < vm->n_threads; i++)
        if (!vm->threads[i]->done)
            return false;
    return true;
}

static bool all_ended_locked(const struct cvm_deployment *d)
{
    for (size_t i = 0; i < d->n_vms; i++)
        if (d->vms[i].n_threads && !vm_ended_locked(&d->vms[i]))
            return false;
    return true;
}

static struct timespec mono_after(int64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t total = ts.tv_nsec + ns % 1000000000LL;
    ts.tv_sec += (time_t)(ns / 1000000000LL + total / 1000000000LL);
    ts.tv_nsec = (long)(total % 1000000000LL);
    return ts;
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* True while some cVM whose main thread ended still has live threads: those get the stop
 * signal again on every wake-up, so a signal that raced with a hostcall is never lost. */
static bool resend_stops_locked(struct cvm_deployment *d)
{
    bool pending = false;
    for (size_t i = 0; i < d->n_vms; i++) {
        struct cvm_vm *vm = &d->vms[i];
        if (!atomic_load(&vm->exiting))
            continue;
        for (unsigned k = 0; k < vm->n_threads; k++)
            if (!vm->threads[k]->done) {
                pthread_kill(vm->threads[k]->pthread, stop_signal());
                pending = true;
            }
    }
    return pending;
}

/* Waits (dep->lock held) until done(d, arg) holds, the deployment is stopping, or `until`
 * (NULL: no limit) passes. Returns false on timeout. */
static bool wait_locked(struct cvm_deployment *d, bool (*done)(struct cvm_deployment *, void *),
                        void *arg, const struct timespec *until)
{
    for (;;) {
        bool pending = resend_stops_locked(d);
        if ((done && done(d, arg)) || atomic_load(&d->stopping))
            return true;
        struct timespec tick = mono_after(STOP_RETRY_NS);
        const struct timespec *limit = until;
        if (pending && (!limit || before(&tick, limit)))
            limit = &tick;
        if (!limit) {
            pthread_cond_wait(&d->cond, &d->lock);
            continue;
        }
        if (pthread_cond_timedwait(&d->cond, &d->lock, limit) == ETIMEDOUT && limit == until)
            return false;
    }
}

static bool vm_done_pred(struct cvm_deployment *d, void *arg)
{
    (void)d;
    return vm_ended_locked(arg);
}

static bool all_done_pred(struct cvm_deployment *d, void *arg)
{
    (void)arg;
    return all_ended_locked(d);
}

/* Stops every live thread: signal, wake blocked hostcalls, repeat until all have ended. */
static int stop_all_locked(struct cvm_deployment *d, struct cvm_error **err)
{
    atomic_store(&d->stopping, true);
    struct timespec give_up = mono_after(STOP_GIVE_UP_NS);
    for (;;) {
        bool live = false;
        for (size_t i = 0; i < d->n_vms; i++)
            for (unsigned k = 0; k < d->vms[i].n_threads; k++)
                if (!d->vms[i].threads[k]->done) {
                    live = true;
                    pthread_kill(d->vms[i].threads[k]->pthread, stop_signal());
                }
        if (!live)
            return 0;
        pthread_cond_broadcast(&d->cond);
        struct timespec retry = mono_after(STOP_RETRY_NS);
        if (!before(&retry, &give_up)) {
            d->threads_alive = true;
            return cvm_error_set(err, CVM_E_SYSTEM, "cVM threads did not stop within 10 s");
        }
        pthread_cond_timedwait(&d->cond, &d->lock, &retry);
    }
}

int cvm_deployment_run(struct cvm_deployment *d, const struct cvm_run_options *opts,
                       struct cvm_error **err)
{
    if (d->ran)
        return cvm_error_set(err, CVM_E_USAGE, "deployment has already run");
    d->ran = true;
    pthread_once(&handlers_once, cvm_signals_install);
    struct timespec deadline = {0};
    bool has_deadline = opts && opts->timeout_ms;
    if (has_deadline)
        deadline = mono_after((int64_t)opts->timeout_ms * 1000000);
    int ret = 0;

    pthread_mutex_lock(&d->lock);
    for (size_t i = 0; i < d->n_vms && !atomic_load(&d->stopping); i++) {
        struct cvm_vm *vm = &d->vms[i];
        pthread_mutex_unlock(&d->lock);
        long tid = cvm_thread_spawn(vm, vm->entry, vm->gate);
        pthread_mutex_lock(&d->lock);
        if (tid < 0) {
            ret = cvm_error_set_errno(err, (int)-tid, "cannot start cVM '%s'", vm->name);
            atomic_store(&d->stopping, true);
            break;
        }
        if (vm->wait_seconds == CVM_WAIT_JOIN) {
            if (!wait_locked(d, vm_done_pred, vm, has_deadline ? &deadline : NULL))
                d->timed_out = true;
        } else if (vm->wait_seconds > 0) {
            struct timespec until = mono_after((int64_t)vm->wait_seconds * 1000000000LL);
            bool deadline_first = has_deadline && before(&deadline, &until);
            if (!wait_locked(d, NULL, NULL, deadline_first ? &deadline : &until) && deadline_first)
                d->timed_out = true;
        }
        if (d->timed_out)
            break;
    }
    if (!d->timed_out && !wait_locked(d, all_done_pred, NULL, has_deadline ? &deadline : NULL))
        d->timed_out = true;
    if (!all_ended_locked(d) || atomic_load(&d->stopping) || d->timed_out) {
        int r = stop_all_locked(d, err);
        if (ret == 0)
            ret = r;
    }
    pthread_mutex_unlock(&d->lock);
    if (ret < 0 && d->threads_alive)
        return ret; /* cvm_deployment_free will not unmap windows under running threads */
    for (size_t i = 0; i < d->n_vms; i++)
        for (unsigned k = 0; k < d->vms[i].n_threads; k++)
            if (!d->vms[i].threads[k]->reaped)
                pthread_join(d->vms[i].threads[k]->pthread, NULL);
    return 0;
}

void cvm_deployment_stop(struct cvm_deployment *d)
{
    pthread_mutex_lock(&d->lock);
    atomic_store(&d->stopping, true);
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

bool cvm_deployment_timed_out(const struct cvm_deployment *d)
{
    return d->timed_out;
}
