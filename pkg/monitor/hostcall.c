/* The hostcall dispatcher (specs/hostcall-abi.md §4): routes a call to the caller's
 * callback_out cVM or to the monitor's handler table, generated from abi/hostcalls.h. */
#include <errno.h>
#include <stdatomic.h>

#include "hostcalls-impl.h"
#include "internal.h"

typedef long (*cvm_hostcall_handler)(struct cvm_thread *t, const long a[6]);

/* Direct-indexed by number: one bounds check and one indirect call per hostcall. */
static const cvm_hostcall_handler handlers[CVM_HOSTCALL_MAX + 1] = {
#define CVM_HC_ENTRY(nr, NAME, name, argc, args, doc) [nr] = cvm_hc_##name,
    CVM_HOSTCALLS(CVM_HC_ENTRY)
#undef CVM_HC_ENTRY
};

/* Runs the target cVM's exported syscall_handler on a stack slot it lends for the call. */
/* Runs while a Linux program's syscall is served: CVM_GUEST_FS_SAFE, as everything it calls. */
CVM_GUEST_FS_SAFE long cvm_hostcall_forward(struct cvm_thread *t, struct cvm_vm *target, long nr,
                                            const long a[6])
{
    if (t->n_borrowed == CVM_MAX_NEST)
        return -ELOOP;
    int slot = cvm_slot_acquire(target);
    if (slot < 0 && t->trap) {
        cvm_thread_fs_host(t); /* before a call into code that may read TLS */
        slot = cvm_slot_acquire_wait(t, target);
    }
    if (slot < 0)
        return t->trap ? -EINTR : -EAGAIN;
    t->borrowed[t->n_borrowed].vm = target;
    t->borrowed[t->n_borrowed].slot = slot;
    t->n_borrowed++;
    struct cvm_vm *caller = t->cur;
    t->cur = target;
    const long args[7] = {nr, a[0], a[1], a[2], a[3], a[4], a[5]};
    long r = cvm_guest_call(target->syscall_handler, cvm_slot_top(target, slot), args);
    t->cur = caller;
    t->n_borrowed--;
    cvm_slot_release(target, slot);
    return r;
}

CVM_GUEST_FS_SAFE bool cvm_thread_should_stop(const struct cvm_thread *t)
{
    return atomic_load_explicit(&t->dep->stopping, memory_order_relaxed) ||
           atomic_load_explicit(&t->home->exiting, memory_order_relaxed);
}

long cvm_hostcall_dispatch(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
    struct cvm_thread *t = cvm_thread_self();
    const long a[6] = {a0, a1, a2, a3, a4, a5};
    long r;
    if (t->cur->callback_out)
        r = cvm_hostcall_forward(t, t->cur->callback_out, nr, a);
    else if (nr < 0 || nr > CVM_HOSTCALL_MAX || !handlers[nr])
        r = -ENOSYS;
    else
        r = handlers[nr](t, a);
    /* A stop request that arrived while the thread was in the monitor takes effect here,
     * before the guest runs again. */
    if (cvm_thread_should_stop(t))
        cvm_thread_leave(t, CVM_END_STOP, 0);
    return r;
}
