/* CAP_File hostcalls 405/406 and the inner-window grant 700: the only ways a cVM gains
 * access to memory beyond its window. */
#include <errno.h>
#include <string.h>

#include "hostcalls-impl.h"
#include "internal.h"

static struct cvm_capfile *capfile_find(struct cvm_deployment *d, const char *name)
{
    size_t n = atomic_load_explicit(&d->n_capfiles, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (strcmp(d->capfiles[i].name, name) == 0)
            return &d->capfiles[i];
    return NULL;
}

long cvm_hc_capfile_advertise(struct cvm_thread *t, const long a[6])
{
    struct cvm_vm *vm = t->cur;
    uintptr_t addr = (uintptr_t)a[0];
    uint64_t size = (uint64_t)a[1];
    char name[CVM_HOSTCALL_NAME_MAX + 1];
    long r = cvm_guest_string(vm, (uintptr_t)a[2], name, sizeof(name));
    if (r < 0)
        return r;
    if (r == 0 || size == 0)
        return -EINVAL;
    /* Only memory of the caller's own window can be published, not memory granted to it. */
    if (addr < vm->base || addr >= vm->end || size > vm->end - addr)
        return -EFAULT;
    struct cvm_deployment *d = t->dep;
    pthread_mutex_lock(&d->capfile_lock);
    size_t n = atomic_load_explicit(&d->n_capfiles, memory_order_relaxed);
    if (capfile_find(d, name)) {
        r = -EEXIST;
    } else if (n == CVM_MAX_CAPFILES) {
        r = -ENOSPC;
    } else {
        struct cvm_capfile *c = &d->capfiles[n];
        memcpy(c->name, name, sizeof(name));
        c->region = (struct cvm_region){.addr = addr, .size = size};
        c->owner = vm;
        atomic_store_explicit(&d->n_capfiles, n + 1, memory_order_release);
        r = 0;
    }
    pthread_mutex_unlock(&d->capfile_lock);
    return r;
}

static long grant_and_report(struct cvm_vm *vm, uintptr_t out, struct cvm_region r)
{
    if (!cvm_guest_ptr(vm, out, sizeof(struct cvm_hc_region)))
        return -EFAULT;
    int e = cvm_grant(vm, r);
    if (e < 0)
        return e;
    struct cvm_hc_region reg = {.addr = r.addr, .size = r.size};
    return cvm_guest_write(vm, out, &reg, sizeof(reg));
}

long cvm_hc_capfile_probe(struct cvm_thread *t, const long a[6])
{
    char name[CVM_HOSTCALL_NAME_MAX + 1];
    long r = cvm_guest_string(t->cur, (uintptr_t)a[0], name, sizeof(name));
    if (r < 0)
        return r;
    const struct cvm_capfile *c = capfile_find(t->dep, name);
    if (!c)
        return -ENOENT;
    return grant_and_report(t->cur, (uintptr_t)a[1], c->region);
}

long cvm_hc_get_my_inner(struct cvm_thread *t, const long a[6])
{
    const struct cvm_vm *inner = t->cur->callback_in;
    if (!inner)
        return -ENOENT;
    struct cvm_region w = {.addr = inner->base, .size = inner->end - inner->base};
    return grant_and_report(t->cur, (uintptr_t)a[0], w);
}
