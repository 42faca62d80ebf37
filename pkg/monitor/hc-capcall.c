/* CAP_Calls (specs/hostcall-abi.md §8): hostcall 412 carries the calling thread into the
 * cVM that advertised a function, on a stack slot that cVM lends, as a callback does (§5). A
 * fault there ends the call, not the deployment: the signal handler jumps back to the frame
 * this call set up (signals.c), and the call returns -ECANCELED, as it does when the callee
 * exits. */
#include <errno.h>
#include <signal.h>

#include "hostcalls-impl.h"
#include "internal.h"

#define NESTED_STACK_MIN (32UL << 10) /* a signal frame and the fault handler's frames */
#define NESTED_STACK_GAP 1024UL       /* the guest call's own frames, below this function's */

/* Registers the part of t's signal stack below the caller's frames, and below the part an
 * outer call registered, as the signal stack, keeping the old one in *outer; false if too
 * little of it is left. */
static __attribute__((noinline)) bool nest_signal_stack(struct cvm_thread *t, stack_t *outer,
                                                        uintptr_t elsewhere)
{
    if (sigaltstack(NULL, outer) < 0)
        return false;
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    uintptr_t lo = (uintptr_t)t->altstack, hi = lo + CVM_ALTSTACK_SIZE;
    uintptr_t registered = (uintptr_t)outer->ss_sp + outer->ss_size;
    if ((uintptr_t)outer->ss_sp != lo || sp < lo + NESTED_STACK_MIN + NESTED_STACK_GAP || sp >= hi)
        return false;
    uintptr_t top = (sp - NESTED_STACK_GAP) & ~(uintptr_t)63;
    if (top > registered)
        top = registered; /* an outer call's frames lie above that */
    if (top < lo + NESTED_STACK_MIN)
        return false;
    stack_t inner = {.ss_sp = outer->ss_sp, .ss_size = top - lo};
    return cvm_arch_sigaltstack_from(&inner, elsewhere) == 0;
}

long cvm_hc_cap_call(struct cvm_thread *t, const long a[6])
{
    long r;
    const struct cvm_cap_handle *h = cvm_cap_handle_get(t, a[0], &r);
    if (!h)
        return r;
    struct cvm_cap *cap = h->cap;
    pthread_rwlock_rdlock(&cap->lock);
    uintptr_t fn = cap->addr;
    struct cvm_vm *callee = cap->owner;
    r = cap->gen != h->gen ? -EACCES : !(h->rights & CVM_CAP_CALL) ? -EPERM : 0;
    pthread_rwlock_unlock(&cap->lock);
    if (r < 0)
        return r;
    if (t->n_borrowed == CVM_MAX_NEST)
        return -ELOOP;
    int slot = cvm_slot_acquire(callee);
    if (slot < 0)
        return -EAGAIN;
    /* volatile: read again after the jump back from a fault. */
    struct cvm_call_frame frame = {.outer = t->call_frame,
                                   .caller = t->cur,
                                   .callee = callee,
                                   .n_borrowed = t->n_borrowed,
                                   .mon_sp = t->mon_sp};
    struct cvm_call_frame *volatile f = &frame;
    /* Serving a trapped syscall, the thread runs on its signal stack, where the SIGSYS frame
     * lives: a fault in the callee, whose stack is elsewhere, would be delivered at the top of
     * that stack, over the frames this call returns to. The signal stack shrinks to below them
     * for the call. */
    t->borrowed[t->n_borrowed].vm = callee; /* a stop from here on gives the slot back */
    t->borrowed[t->n_borrowed].slot = slot;
    t->n_borrowed++;
    stack_t outer_stack;
    bool nested = t->trap != NULL;
    if (nested && !nest_signal_stack(t, &outer_stack, cvm_slot_top(callee, slot))) {
        t->n_borrowed--;
        cvm_slot_release(callee, slot);
        return -ELOOP;
    }
    t->cur = callee;
    t->call_frame = f;
    if (sigsetjmp(f->jmp, 0) == 0) {
        const long args[7] = {a[1], a[2], a[3], a[4]};
        r = cvm_guest_call(fn, cvm_slot_top(callee, slot), args);
    } else {
        /* The handler left the fault's signal blocked (no mask is saved: a syscall less on
         * every call) and the monitor stack pointer of the guest call. */
        if (f->signal) {
            sigset_t s;
            sigemptyset(&s);
            sigaddset(&s, f->signal);
            pthread_sigmask(SIG_UNBLOCK, &s, NULL);
        }
        t->mon_sp = f->mon_sp;
        r = -ECANCELED;
    }
    if (nested)
        sigaltstack(&outer_stack, NULL); /* made from above the inner stack: allowed */
    t->call_frame = f->outer;
    t->cur = f->caller;
    /* Ours, and those of callbacks the fault cut short. */
    while (t->n_borrowed > f->n_borrowed) {
        t->n_borrowed--;
        cvm_slot_release(t->borrowed[t->n_borrowed].vm, t->borrowed[t->n_borrowed].slot);
    }
    return r;
}

/* exit or thread_exit inside a CAP_Call: the thread belongs to the caller, so it is the call
 * that ends, and with exit the callee's cVM too. */
_Noreturn void cvm_call_leave(struct cvm_thread *t, bool end_callee, int status)
{
    struct cvm_call_frame *f = t->call_frame;
    if (end_callee)
        cvm_vm_end(f->callee, status);
    f->signal = 0;
    siglongjmp(f->jmp, 1);
}
