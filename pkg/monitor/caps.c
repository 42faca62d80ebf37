/* Names shared between cVMs and the handles that reach them (specs/hostcall-abi.md §8):
 * hostcalls 405 cap_advertise, 406 cap_probe, 409 cap_read, 410 cap_write, 411 cap_revoke.
 * A handle is an index into the deployment's table, checked against the cVM it was issued to;
 * every access is a copy the monitor makes after checking rights and bounds. */
#include <errno.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hostcalls-impl.h"
#include "internal.h"

void cvm_caps_init(struct cvm_caps *c)
{
    pthread_mutex_init(&c->lock, NULL);
    /* A revocation must not wait behind an endless overlap of copies. */
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    for (size_t i = 0; i < CVM_MAX_CAPS; i++)
        pthread_rwlock_init(&c->caps[i].lock, &attr);
    pthread_rwlockattr_destroy(&attr);
}

void cvm_caps_destroy(struct cvm_caps *c)
{
    for (size_t i = 0; i < CVM_MAX_CAPS; i++)
        pthread_rwlock_destroy(&c->caps[i].lock);
    pthread_mutex_destroy(&c->lock);
}

struct cvm_cap *cvm_cap_find_locked(struct cvm_caps *c, const char *name)
{
    for (size_t i = 0; i < CVM_MAX_CAPS; i++)
        if (c->caps[i].live && strcmp(c->caps[i].name, name) == 0)
            return &c->caps[i];
    return NULL;
}

/* Under c->lock. */
static long handle_issue_locked(struct cvm_caps *c, struct cvm_cap *cap, struct cvm_vm *holder,
                                long rights)
{
    size_t n = atomic_load_explicit(&c->n_handles, memory_order_relaxed);
    for (size_t i = 0; i < n; i++) {
        const struct cvm_cap_handle *h = &c->handles[i];
        if (h->cap == cap && h->gen == cap->gen && h->holder == holder)
            return (long)i + 1;
    }
    if (n == CVM_MAX_CAP_HANDLES)
        return -ENOSPC;
    c->handles[n] = (struct cvm_cap_handle){cap, cap->gen, holder, rights};
    atomic_store_explicit(&c->n_handles, n + 1, memory_order_release);
    return (long)n + 1;
}

struct cvm_cap *cvm_cap_new_locked(struct cvm_caps *c, struct cvm_vm *vm, const char *name,
                                   enum cvm_cap_kind kind, long rights, long *err)
{
    /* A cVM whose names went with its end publishes no more: the revocation took c->lock
     * after it said so, so a name made before is among those it revoked. */
    *err = -EACCES;
    if (vm && atomic_load(&vm->names_revoked))
        return NULL;
    struct cvm_cap *cap = NULL;
    for (size_t i = 0; i < CVM_MAX_CAPS && !cap; i++)
        if (!c->caps[i].live)
            cap = &c->caps[i];
    *err = -ENOSPC;
    if (!cap)
        return NULL;
    /* Every right its kind allows: the owner of a stream may send to itself. */
    long owner_rights =
        CVM_CAP_OWNER | (kind == CVM_CAP_KIND_FILE   ? CVM_CAP_READ | CVM_CAP_WRITE
                         : kind == CVM_CAP_KIND_CALL ? CVM_CAP_CALL
                                                     : CVM_CAP_WRITE | CVM_CAP_STREAM);
    long h = vm ? handle_issue_locked(c, cap, vm, owner_rights) : 0;
    if (h < 0)
        return NULL;
    pthread_rwlock_wrlock(&cap->lock);
    snprintf(cap->name, sizeof(cap->name), "%s", name);
    cap->kind = kind;
    cap->rights = rights;
    cap->owner = vm;
    cap->owner_handle = h;
    cap->addr = 0;
    cap->size = 0;
    cap->head = cap->count = 0;
    pthread_rwlock_unlock(&cap->lock);
    return cap;
}

int cvm_caps_declare_file(struct cvm_caps *c, const char *name, uintptr_t addr, uint64_t size)
{
    long err;
    pthread_mutex_lock(&c->lock);
    struct cvm_cap *cap =
        cvm_cap_new_locked(c, NULL, name, CVM_CAP_KIND_FILE, CVM_CAP_READ | CVM_CAP_WRITE, &err);
    if (cap) {
        cap->addr = addr;
        cap->size = size;
        cap->live = true;
    }
    pthread_mutex_unlock(&c->lock);
    return cap ? 0 : (int)err;
}

/* Under c->lock. Waiting senders of a stream learn it from the changed futex word. */
static void revoke_locked(struct cvm_cap *cap)
{
    pthread_rwlock_wrlock(&cap->lock);
    cap->live = false;
    __atomic_store_n(&cap->gen, cap->gen + 1, __ATOMIC_RELEASE); /* read early by senders */
    cap->count = 0;
    atomic_fetch_add(&cap->posted, 1);
    pthread_rwlock_unlock(&cap->lock);
    if (atomic_load(&cap->senders_waiting))
        syscall(SYS_futex, &cap->posted, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

void cvm_caps_owner_ended(struct cvm_caps *c, struct cvm_vm *vm)
{
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < CVM_MAX_CAPS; i++)
        if (c->caps[i].live && c->caps[i].owner == vm)
            revoke_locked(&c->caps[i]);
    pthread_mutex_unlock(&c->lock);
}

const struct cvm_cap_handle *cvm_cap_handle_get(struct cvm_thread *t, long h, long *err)
{
    struct cvm_caps *c = &t->dep->caps;
    size_t n = atomic_load_explicit(&c->n_handles, memory_order_acquire);
    *err = -EBADF;
    if (h < 1 || (unsigned long)h > n || c->handles[h - 1].holder != t->cur)
        return NULL;
    return &c->handles[h - 1];
}

/* A function of the caller's own image, in a segment it may execute. */
static bool in_exec_segment(const struct cvm_vm *vm, uintptr_t fn)
{
    for (size_t i = 0; i < vm->img.n_seg; i++) {
        const struct cvm_elf_segment *s = &vm->img.seg[i];
        uintptr_t lo = vm->base + s->vaddr;
        if ((s->flags & 1 /* PF_X */) && fn >= lo && fn - lo < s->memsz)
            return true;
    }
    return false;
}

long cvm_hc_cap_advertise(struct cvm_thread *t, const long a[6])
{
    struct cvm_vm *vm = t->cur;
    uintptr_t addr = (uintptr_t)a[0];
    uint64_t size = (uint64_t)a[1];
    long rights = a[3];
    char name[CVM_HOSTCALL_NAME_MAX + 1];
    long r = cvm_guest_string(vm, (uintptr_t)a[2], name, sizeof(name));
    if (r < 0)
        return r;
    bool call = rights == CVM_CAP_CALL;
    if (r == 0 || (!call && (rights & ~(CVM_CAP_READ | CVM_CAP_WRITE) || !rights)))
        return -EINVAL;
    if (call ? size != 0 : size == 0 || size > CVM_CAP_FILE_MAX)
        return -EINVAL;
    if (call ? !in_exec_segment(vm, addr) : !cvm_guest_ptr(vm, addr, size))
        return -EFAULT;
    struct cvm_caps *c = &t->dep->caps;
    pthread_mutex_lock(&c->lock);
    struct cvm_cap *cap = NULL;
    if (cvm_cap_find_locked(c, name))
        r = -EEXIST;
    else
        cap = cvm_cap_new_locked(c, vm, name, call ? CVM_CAP_KIND_CALL : CVM_CAP_KIND_FILE, rights,
                                 &r);
    if (cap) {
        cap->addr = addr;
        cap->size = size;
        cap->live = true;
        r = cap->owner_handle;
    }
    pthread_mutex_unlock(&c->lock);
    return r;
}

long cvm_hc_cap_probe(struct cvm_thread *t, const long a[6])
{
    char name[CVM_HOSTCALL_NAME_MAX + 1];
    long r = cvm_guest_string(t->cur, (uintptr_t)a[0], name, sizeof(name));
    if (r < 0)
        return r;
    if (r == 0)
        return -EINVAL;
    uintptr_t out = (uintptr_t)a[1];
    if (!cvm_guest_ptr(t->cur, out, sizeof(struct cvm_hc_cap)))
        return -EFAULT;
    struct cvm_caps *c = &t->dep->caps;
    pthread_mutex_lock(&c->lock);
    struct cvm_cap *cap = cvm_cap_find_locked(c, name);
    struct cvm_hc_cap info = {0, 0};
    r = -ENOENT;
    if (cap) {
        /* The owner probing its own name gets its own handle back. */
        long rights = cap->owner == t->cur ? c->handles[cap->owner_handle - 1].rights : cap->rights;
        r = cap->owner == t->cur ? cap->owner_handle : handle_issue_locked(c, cap, t->cur, rights);
        info = (struct cvm_hc_cap){cap->kind == CVM_CAP_KIND_FILE ? cap->size : 0,
                                   (unsigned long)rights};
    }
    pthread_mutex_unlock(&c->lock);
    if (r < 0)
        return r;
    long w = cvm_guest_write(t->cur, out, &info, sizeof(info));
    return w < 0 ? w : r;
}

/* 409/410 on a CAP_File: copies between it and the caller's buffer while revocation waits. */
static long file_copy(struct cvm_thread *t, const struct cvm_cap_handle *h, const long a[6],
                      bool to_file)
{
    uintptr_t buf = (uintptr_t)a[1];
    uint64_t len = (uint64_t)a[2], offset = (uint64_t)a[3];
    struct cvm_cap *cap = h->cap;
    long r = 0;
    pthread_rwlock_rdlock(&cap->lock);
    if (cap->gen != h->gen)
        r = -EACCES;
    else if (cap->kind != CVM_CAP_KIND_FILE ||
             !(h->rights & (to_file ? CVM_CAP_WRITE : CVM_CAP_READ)))
        r = -EPERM;
    else if (offset > cap->size || len > cap->size - offset)
        r = -EINVAL;
    else if (!cvm_guest_ptr(t->cur, buf, len))
        r = -EFAULT;
    else if (len) {
        void *file = (void *)(cap->addr + offset);
        r = to_file ? cvm_copy_guarded(t, file, (const void *)buf, len, NULL)
                    : cvm_copy_guarded(t, (void *)buf, file, len, NULL);
    }
    pthread_rwlock_unlock(&cap->lock);
    return r < 0 ? r : (long)len;
}

long cvm_hc_cap_read(struct cvm_thread *t, const long a[6])
{
    long r;
    const struct cvm_cap_handle *h = cvm_cap_handle_get(t, a[0], &r);
    return h ? file_copy(t, h, a, false) : r;
}

long cvm_hc_cap_write(struct cvm_thread *t, const long a[6])
{
    long r;
    const struct cvm_cap_handle *h = cvm_cap_handle_get(t, a[0], &r);
    if (!h)
        return r;
    if (h->rights & CVM_CAP_STREAM)
        return cvm_stream_send(t, h, (uintptr_t)a[1], (uint64_t)a[2], (uint64_t)a[3]);
    return file_copy(t, h, a, true);
}

long cvm_hc_cap_revoke(struct cvm_thread *t, const long a[6])
{
    long r;
    const struct cvm_cap_handle *h = cvm_cap_handle_get(t, a[0], &r);
    if (!h)
        return r;
    struct cvm_caps *c = &t->dep->caps;
    pthread_mutex_lock(&c->lock);
    if (h->cap->gen != h->gen)
        r = -EACCES;
    else if (!(h->rights & CVM_CAP_OWNER))
        r = -EPERM;
    else {
        revoke_locked(h->cap);
        r = 0;
    }
    pthread_mutex_unlock(&c->lock);
    return r;
}
