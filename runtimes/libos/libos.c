/* The LibOS runtime (specs/libos.md): main fills the ramfs and takes over the shared heap;
 * syscall_handler serves the Linux syscalls the monitor traps in the application cVM. */
#include "libos.h"

struct libos libos;

/* READY once main has served its start; FAILED when it could not (it printed why). */
enum { STARTING, READY, FAILED };
static int state;

/* ---- the lock -------------------------------------------------------------------------------- */

/* 0 free, 1 held, 2 held and maybe waited for (hostcalls 407/408 sleep and wake on it). */
static unsigned lock_word;

long libos_lock(void)
{
    unsigned c = 0;
    if (__atomic_compare_exchange_n(&lock_word, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return 0;
    if (c != 2)
        c = __atomic_exchange_n(&lock_word, 2, __ATOMIC_ACQUIRE);
    while (c != 0) {
        if (cvm_hc(FUTEX_WAIT, &lock_word, 2, 0) == -EINTR)
            return -EINTR;
        c = __atomic_exchange_n(&lock_word, 2, __ATOMIC_ACQUIRE);
    }
    return 0;
}

void libos_unlock(void)
{
    if (__atomic_exchange_n(&lock_word, 0, __ATOMIC_RELEASE) == 2)
        cvm_hc(FUTEX_WAKE, &lock_word, 1);
}

/* ---- application pointers -------------------------------------------------------------------- */

/* The window layout of specs/hostcall-abi.md §2. */
#define STACK_SLOTS 16u
#define STACK_SLOT_SIZE (256u << 10)
#define GATE_SIZE (16u << 10)

/* [p, end) inside the application's window: 1 when the LibOS may access it, 0 when it is a
 * guard page (or the read-only gate, for a write), -1 when it is not inside the window. */
static int window_ok(uintptr_t p, uintptr_t end, bool write)
{
    uintptr_t base = libos.app.addr, top = base + libos.app.size;
    if (p < base || end > top)
        return -1;
    if (libos.app.size < STACK_SLOTS * STACK_SLOT_SIZE + GATE_SIZE)
        return 1;
    uintptr_t stacks = top - STACK_SLOTS * STACK_SLOT_SIZE;
    if (write && p < stacks && end > stacks - GATE_SIZE)
        return 0;
    for (uintptr_t guard = stacks; guard < top; guard += STACK_SLOT_SIZE)
        if (p < guard + LIBOS_PAGE && end > guard)
            return 0;
    return 1;
}

static bool in_self(uintptr_t p, uintptr_t end)
{
    return p < libos.self_base + libos.self_size && end > libos.self_base;
}

bool libos_user_ok(uintptr_t p, size_t n, bool write)
{
    if (n == 0)
        return true;
    if (p > UINTPTR_MAX - n || in_self(p, p + n))
        return false;
    int w = window_ok(p, p + n, write);
    if (w >= 0)
        return w;
    return mm_app_range(&libos.mm, p, n);
}

/* The window's pages never become the LibOS's, so they need no lock; heap pages may. */
long libos_user_check(uintptr_t p, size_t n, bool write)
{
    if (n && p <= UINTPTR_MAX - n && !in_self(p, p + n)) {
        int w = window_ok(p, p + n, write);
        if (w >= 0)
            return w ? 0 : -EFAULT;
    }
    long r = libos_lock();
    if (r < 0)
        return r;
    bool ok = libos_user_ok(p, n, write);
    libos_unlock();
    return ok ? 0 : -EFAULT;
}

long libos_copy_in(void *dst, uintptr_t src, size_t n)
{
    long r = libos_lock();
    if (r < 0)
        return r;
    bool ok = libos_user_ok(src, n, false);
    if (ok)
        memcpy(dst, (const void *)src, n);
    libos_unlock();
    return ok ? 0 : -EFAULT;
}

long libos_copy_out(uintptr_t dst, const void *src, size_t n)
{
    long r = libos_lock();
    if (r < 0)
        return r;
    bool ok = libos_user_ok(dst, n, true);
    if (ok)
        memcpy((void *)dst, src, n);
    libos_unlock();
    return ok ? 0 : -EFAULT;
}

/* ---- what the ramfs and mm need -------------------------------------------------------------- */

#define PROT_RW 0x3  /* PROT_READ | PROT_WRITE */
#define PROT_RWX 0x7 /* and PROT_EXEC */

static void *env_alloc(void *ctx, size_t n)
{
    return mm_alloc(ctx, n);
}

static void env_free(void *ctx, void *p, size_t n)
{
    mm_free(ctx, p, n);
}

/* /dev/random and /dev/urandom: hostcall 802, at most 1 MiB a call. */
static long env_random(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done < (1u << 20) ? n - done : (1u << 20);
        long r = cvm_hc(GETRANDOM, (char *)buf + done, chunk);
        if (r < 0)
            return done ? (long)done : r;
        done += (size_t)r;
    }
    return (long)done;
}

/* Both consoles go to the cVM's standard output: hostcall 1 is the only output there is. */
static long env_console_write(void *ctx, int fd, const void *buf, size_t n)
{
    (void)ctx;
    (void)fd;
    return cvm_hc(WRITE, buf, n);
}

/* A cVM has no input: standard input is at its end. */
static long env_console_read(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    (void)buf;
    (void)n;
    return 0;
}

static bool env_user_ok(void *ctx, const void *p, size_t n, bool write)
{
    (void)ctx;
    return libos_user_ok((uintptr_t)p, n, write);
}

static long env_file_read(void *ctx, int fd, void *buf, size_t n, uint64_t off)
{
    (void)ctx;
    return ramfs_pread_fd(libos.fs, fd, buf, n, off);
}

/* Code the application maps in the shared heap runs only once hostcall 803 allows it. */
static long env_protect(void *ctx, uintptr_t addr, size_t len, bool exec)
{
    (void)ctx;
    return cvm_hc(MPROTECT, addr, len, exec ? PROT_RWX : PROT_RW);
}

/* ---- the syscall handler --------------------------------------------------------------------- */

#define LOGGED_MAX 1024 /* numbers reported once; larger ones every time */
static uint64_t logged[LOGGED_MAX / 64];

static void report_unimplemented(long nr)
{
    if (!libos.debug)
        return;
    if (nr >= 0 && nr < LOGGED_MAX) {
        uint64_t bit = (uint64_t)1 << (nr % 64);
        if (__atomic_fetch_or(&logged[nr / 64], bit, __ATOMIC_RELAXED) & bit)
            return;
    }
    char msg[64];
    int len = snprintf(msg, sizeof(msg), "libos: syscall %ld is not implemented\n", nr);
    cvm_hc(WRITE, msg, len);
}

/* Called by the monitor on the application's thread for each of its syscalls, with the Linux
 * number and the six raw arguments (rdi, rsi, rdx, r10, r8, r9); the result goes to its rax. */
CVM_EXPORT long syscall_handler(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
    const long a[6] = {a0, a1, a2, a3, a4, a5};
    int st = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
    /* A program started without its LibOS ends at its first syscall, not at some fault. */
    if (st == FAILED)
        return cvm_hc(EXIT, 1);
    if (st != READY)
        return -ENOSYS;
    long r;
    if (libos_cap_syscall(nr, a, &r))
        return r;
    switch (nr) {
#define LIBOS_DISPATCH(number, name)                                                               \
    case number: return libos_sys_##name(a);
        LIBOS_SYSCALLS(LIBOS_DISPATCH)
#undef LIBOS_DISPATCH
    default: break;
    }
    r = libos_lock();
    if (r < 0)
        return r;
    r = ramfs_syscall(libos.fs, nr, a);
    libos_unlock();
    if (r == -ENOSYS)
        report_unimplemented(nr);
    return r;
}

/* ---- start ----------------------------------------------------------------------------------- */

static const char *error_text(long r)
{
    switch (-r) {
    case EPERM: return "Operation not permitted";
    case ENOENT: return "No such file or directory";
    case EINTR: return "Interrupted system call";
    case EIO: return "Input/output error";
    case ENOMEM: return "Cannot allocate memory";
    case EFAULT: return "Bad address";
    case EINVAL: return "Invalid argument";
    case ENOSYS: return "Function not implemented";
    default: return "unknown error";
    }
}

static int fail(const char *what, long r)
{
    printf("libos: error: %s: %s (%ld)\n", what, error_text(r), r);
    __atomic_store_n(&state, FAILED, __ATOMIC_RELEASE);
    return 1;
}

/* The rootfs (hostcalls 900, 901) read whole into the heap, loaded, and given back. */
static long load_rootfs(void)
{
    const struct ramfs_env env = {
        .alloc = env_alloc,
        .free = env_free,
        .random = env_random,
        .console_write = env_console_write,
        .console_read = env_console_read,
        .user_ok = env_user_ok,
        .cap_devices = true,
        .cap_close = libos_cap_close,
        .ctx = &libos.mm,
    };
    long size = cvm_hc(ROOTFS_SIZE);
    if (size == -ENOENT)
        size = 0;
    if (size < 0)
        return size;
    void *cpio = NULL;
    if (size > 0) {
        cpio = mm_alloc(&libos.mm, (size_t)size);
        if (!cpio)
            return -ENOMEM;
        long r = cvm_hc(ROOTFS_READ, cpio, size, 0);
        if (r < 0) {
            mm_free(&libos.mm, cpio, (size_t)size);
            return r;
        }
    }
    long r = ramfs_new(&env, cpio, (size_t)size, &libos.fs);
    mm_free(&libos.mm, cpio, (size_t)size);
    return r;
}

int main(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)argv;
    const struct cvm_boot *boot = cvm_boot_block;
    for (char **e = envp; e && *e; e++)
        if (strcmp(*e, "LIBOS_DEBUG=1") == 0)
            libos.debug = true;
    libos.self_base = boot->window_base;
    libos.self_size = boot->window_size;

    /* The application's memory comes from the heap: it must be the shared one, outside this
     * window (monitor-yaml.md §5), or every pointer into it would be refused. */
    uintptr_t heap = boot->heap_base;
    if (heap < libos.self_base + libos.self_size && heap + boot->heap_size > libos.self_base) {
        printf("libos: error: the heap is inside the libos's window: the libos and its "
               "application need a shared heap (heap_group)\n");
        __atomic_store_n(&state, FAILED, __ATOMIC_RELEASE);
        return 1;
    }
    const struct mm_env menv = {.file_read = env_file_read, .protect = env_protect};
    long r = mm_init(&libos.mm, heap, boot->heap_size, &menv);
    if (r < 0)
        return fail("cannot use the shared heap", r);
    r = cvm_hc(GET_MY_INNER, &libos.app);
    if (r < 0)
        return fail("cannot get the application's window (get_my_inner; callback_in missing?)", r);
    mm_set_window(&libos.mm, libos.app.addr, libos.app.size);
    r = load_rootfs();
    if (r == -EINVAL)
        return fail("cannot load the root file system: root.cpio is malformed", r);
    if (r < 0)
        return fail("cannot load the root file system", r);
    __atomic_store_n(&state, READY, __ATOMIC_RELEASE);
    return 0;
}
