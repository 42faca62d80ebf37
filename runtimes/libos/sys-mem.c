/* Memory syscalls of the application: libos.mm under the LibOS's lock (specs/libos.md §4). */
#include "libos.h"

long libos_sys_brk(const long a[6])
{
    long r = libos_lock();
    if (r < 0)
        return r;
    libos_cap_unmapping(12, a); /* under the same hold as the pages it frees */
    r = mm_brk(&libos.mm, (uintptr_t)a[0]);
    libos_unlock();
    return r;
}

/* A file mapping is a copy made through ramfs_pread_fd, under the same lock as the ramfs. */
long libos_sys_mmap(const long a[6])
{
    long r = libos_lock();
    if (r < 0)
        return r;
    r = mm_mmap(&libos.mm, (uintptr_t)a[0], (size_t)a[1], a[2], a[3], a[4], a[5]);
    libos_unlock();
    return r;
}

long libos_sys_munmap(const long a[6])
{
    long r = libos_lock();
    if (r < 0)
        return r;
    libos_cap_unmapping(11, a);
    r = mm_munmap(&libos.mm, (uintptr_t)a[0], (size_t)a[1]);
    libos_unlock();
    return r;
}

long libos_sys_mprotect(const long a[6])
{
    long r = libos_lock();
    if (r < 0)
        return r;
    r = mm_mprotect(&libos.mm, (uintptr_t)a[0], (size_t)a[1], a[2]);
    libos_unlock();
    return r;
}

long libos_sys_madvise(const long a[6])
{
    long r = libos_lock();
    if (r < 0)
        return r;
    r = mm_madvise(&libos.mm, (uintptr_t)a[0], (size_t)a[1], a[2]);
    libos_unlock();
    return r;
}

/* musl's realloc copies when mremap fails. */
long libos_sys_mremap(const long a[6])
{
    (void)a;
    return -ENOSYS;
}
