/* Scope-bound cleanup (systemd style). Initialise every such variable where it is declared,
 * and never jump past one: the cleanup runs on whatever the variable holds. */
#ifndef CVM_BASE_CLEANUP_H
#define CVM_BASE_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>

static inline void cvm_freep(void *p)
{
    free(*(void **)p);
}

static inline void cvm_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

#define CVM_AUTOFREE __attribute__((cleanup(cvm_freep)))
#define CVM_AUTOCLOSE __attribute__((cleanup(cvm_closep)))

/* CVM_AUTO(cvm_error_free) struct cvm_error *e = NULL; calls fn(e) at scope exit. */
#define CVM_DEFINE_CLEANUP(type, fn)                                                               \
    static inline void fn##p(type *p)                                                              \
    {                                                                                              \
        if (*p)                                                                                    \
            fn(*p);                                                                                \
    }
#define CVM_AUTO(fn) __attribute__((cleanup(fn##p)))

/* Hands ownership out of a cleanup variable. */
static inline void *cvm_steal_ptr_impl(void **pp)
{
    void *p = *pp;
    *pp = NULL;
    return p;
}
#define cvm_steal_ptr(pp) cvm_steal_ptr_impl((void **)(pp))

static inline int cvm_steal_fd(int *fd)
{
    int r = *fd;
    *fd = -1;
    return r;
}

#endif
