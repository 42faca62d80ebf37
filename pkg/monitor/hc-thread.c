/* Thread hostcalls 40-42: threads of a cVM run on stack slots of its window. */
#include <errno.h>

#include "hostcalls-impl.h"
#include "internal.h"

long cvm_hc_thread_create(struct cvm_thread *t, const long a[6])
{
    uintptr_t fn = (uintptr_t)a[0];
    if (!cvm_guest_ptr(t->cur, fn, 1))
        return -EFAULT;
    return cvm_thread_spawn(t->cur, fn, (uintptr_t)a[1]);
}

long cvm_hc_thread_join(struct cvm_thread *t, const long a[6])
{
    uintptr_t out = (uintptr_t)a[1];
    if (out && !cvm_guest_ptr(t->cur, out, sizeof(long)))
        return -EFAULT;
    long value = 0;
    long r = cvm_thread_join_guest(t, a[0], &value);
    if (r < 0)
        return r;
    return out ? cvm_guest_write(t->cur, out, &value, sizeof(value)) : 0;
}

long cvm_hc_thread_exit(struct cvm_thread *t, const long a[6])
{
    if (t->call_frame)
        cvm_call_leave(t, false, 0);
    cvm_thread_leave(t, CVM_END_THREAD_EXIT, a[0]);
}
