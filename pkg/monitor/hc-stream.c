/* Streams (specs/hostcall-abi.md §8): hostcall 413 queues a receiver's buffer; 410 on a
 * stream's handle copies a message once, from the sender's memory straight into the oldest
 * queued buffer, and wakes the receiver if it sleeps on the buffer's done word. */
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hostcalls-impl.h"
#include "internal.h"

#define SENDER_SPINS 2000 /* pauses before a sender sleeps: a few microseconds */

static void futex_wake_all(void *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

long cvm_hc_stream_post(struct cvm_thread *t, const long a[6])
{
    struct cvm_vm *vm = t->cur;
    char name[CVM_HOSTCALL_NAME_MAX + 1];
    long r = cvm_guest_string(vm, (uintptr_t)a[0], name, sizeof(name));
    if (r < 0)
        return r;
    uintptr_t buf = (uintptr_t)a[1], done = (uintptr_t)a[3];
    uint64_t size = (uint64_t)a[2];
    /* A done word inside the buffer would be overwritten by the message it announces. */
    bool overlap = done < buf + size && buf < done + 4;
    if (r == 0 || size == 0 || size > CVM_STREAM_MSG_MAX || done % 4 || overlap)
        return -EINVAL;
    if (!cvm_guest_ptr(vm, buf, size) || !cvm_guest_ptr(vm, done, 4) ||
        cvm_touch_guarded(t, (unsigned *)done) < 0)
        return -EFAULT;
    struct cvm_caps *c = &t->dep->caps;
    pthread_mutex_lock(&c->lock);
    struct cvm_cap *cap = cvm_cap_find_locked(c, name);
    if (cap && (cap->kind != CVM_CAP_KIND_STREAM || cap->owner != vm)) {
        pthread_mutex_unlock(&c->lock);
        return -EEXIST;
    }
    if (!cap) {
        cap = cvm_cap_new_locked(c, vm, name, CVM_CAP_KIND_STREAM, CVM_CAP_WRITE | CVM_CAP_STREAM,
                                 &r);
        if (!cap) {
            pthread_mutex_unlock(&c->lock);
            return r;
        }
        cap->live = true;
    }
    unsigned gen = cap->gen;
    pthread_mutex_unlock(&c->lock);
    /* The names are free again: a send may hold the stream through a long copy. */
    pthread_rwlock_wrlock(&cap->lock);
    r = cap->owner_handle;
    if (cap->gen != gen) {
        r = -EACCES; /* revoked meanwhile */
    } else if (cap->count == CVM_STREAM_POSTS) {
        r = -ENOSPC;
    } else if (cvm_xchg_guarded(t, (unsigned *)done, 0, NULL) < 0) {
        r = -EFAULT;
    } else {
        cap->posts[(cap->head + cap->count) % CVM_STREAM_POSTS] =
            (struct cvm_stream_post){buf, size, done};
        cap->count++;
        atomic_fetch_add(&cap->posted, 1);
    }
    pthread_rwlock_unlock(&cap->lock);
    if (r > 0 && atomic_load(&cap->senders_waiting))
        futex_wake_all(&cap->posted);
    return r;
}

/* Waits, without the lock, until the stream has a buffer queued or is revoked; returns with
 * the lock held for writing, or -EINTR without it once the deployment is being stopped. */
static long wait_for_buffer(struct cvm_thread *t, struct cvm_cap *cap, unsigned h_gen)
{
    for (;;) {
        pthread_rwlock_wrlock(&cap->lock);
        unsigned seen = atomic_load(&cap->posted);
        if (cap->count > 0 || !cap->live || cap->gen != h_gen)
            return 0;
        pthread_rwlock_unlock(&cap->lock);
        /* A receiver that is running posts again within microseconds: a short spin catches
         * that without the two syscalls and the wake-up of a sleep. */
        for (int i = 0; i < SENDER_SPINS && atomic_load(&cap->posted) == seen; i++)
            cvm_cpu_relax();
        if (atomic_load(&cap->posted) != seen)
            continue;
        atomic_fetch_add(&cap->senders_waiting, 1);
        /* The stop signal interrupts the wait; one that came just before it is sent again. */
        if (!cvm_thread_should_stop(t))
            syscall(SYS_futex, &cap->posted, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
        atomic_fetch_sub(&cap->senders_waiting, 1);
        if (cvm_thread_should_stop(t))
            return -EINTR;
    }
}

long cvm_stream_send(struct cvm_thread *t, const struct cvm_cap_handle *h, uintptr_t buf,
                     uint64_t len, uint64_t offset)
{
    struct cvm_cap *cap = h->cap;
    /* An early look, without the lock: revocation only ever moves gen on, and it is looked at
     * again under the lock before anything is written. */
    if (__atomic_load_n(&cap->gen, __ATOMIC_ACQUIRE) != h->gen)
        return -EACCES;
    if (len == 0 || offset != 0)
        return -EINVAL;
    long r = wait_for_buffer(t, cap, h->gen);
    if (r < 0)
        return r;
    if (cap->gen != h->gen) {
        pthread_rwlock_unlock(&cap->lock);
        return -EACCES;
    }
    struct cvm_stream_post p = cap->posts[cap->head];
    if (len > p.size) {
        pthread_rwlock_unlock(&cap->lock);
        return -EMSGSIZE;
    }
    if (!cvm_guest_ptr(t->cur, buf, len)) {
        pthread_rwlock_unlock(&cap->lock);
        return -EFAULT;
    }
    uintptr_t fault = 0;
    r = cvm_copy_guarded(t, (void *)p.buf, (const void *)buf, len, &fault);
    bool dropped = r == 0 || (fault >= p.buf && fault - p.buf < p.size);
    unsigned before = 0;
    if (dropped) {
        cap->head = (cap->head + 1) % CVM_STREAM_POSTS;
        cap->count--;
        /* Still under the lock, as every write of the receiver's memory: once a revocation
         * has the lock, nothing more is written. The buffer is the receiver's again; it
         * sleeps only after saying so in the word. */
        if (cvm_xchg_guarded(t, (unsigned *)p.done, r < 0 ? CVM_STREAM_DROPPED : (unsigned)len,
                             &before) < 0)
            before = 0;
    }
    pthread_rwlock_unlock(&cap->lock);
    if (before == CVM_STREAM_WAITING)
        futex_wake_all((void *)p.done); /* at worst a spurious wake-up of a reused word */
    return r < 0 ? r : (long)len;
}
