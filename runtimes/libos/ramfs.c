/* The LibOS's in-memory file system and its file syscalls (ramfs.h): a tree of nodes filled from
 * root.cpio, descriptors with shared offsets, and the devices of /dev. Freestanding C11. */
#include "ramfs.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strnlen(const char *s, size_t max);

/* Linux x86-64 values: this file sees no libc header. */
#define EPERM 1
#define ENOENT 2
#define EIO 5
#define ENXIO 6
#define EBADF 9
#define ENOMEM 12
#define EACCES 13
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define ENOTDIR 20
#define EISDIR 21
#define EINVAL 22
#define EMFILE 24
#define ENOTTY 25
#define EFBIG 27
#define ENOSPC 28
#define ESPIPE 29
#define ERANGE 34
#define ENAMETOOLONG 36
#define ENOSYS 38
#define ENOTEMPTY 39
#define ELOOP 40
#define EOPNOTSUPP 95

#define O_ACCMODE 03
#define O_RDONLY 00
#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_EXCL 0200
#define O_TRUNC 01000
#define O_APPEND 02000
#define O_NONBLOCK 04000
#define O_DIRECTORY 0200000
#define O_NOFOLLOW 0400000
#define O_CLOEXEC 02000000
#define O_PATH 010000000
#define O_TMPFILE (020000000 | O_DIRECTORY)

#define AT_FDCWD (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_REMOVEDIR 0x200
#define AT_EACCESS 0x200
#define AT_NO_AUTOMOUNT 0x800
#define AT_EMPTY_PATH 0x1000

#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_DUPFD_CLOEXEC 1030
#define FD_CLOEXEC 1

#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#define SEEK_DATA 3
#define SEEK_HOLE 4

#define X_OK 1

#define S_IFMT 0170000
#define S_IFDIR 0040000
#define S_IFCHR 0020000
#define S_IFREG 0100000
#define S_IFLNK 0120000

#define DT_CHR 2
#define DT_DIR 4
#define DT_REG 8
#define DT_LNK 10

#define ST_DEV 0x1f /* st_dev of every node: one file system */
#define INT64_LIMIT INT64_MAX

/* The syscalls served, by Linux x86-64 number: declared once, dispatched from here. */
#define RAMFS_SYSCALLS(X)                                                                          \
    X(0, read)                                                                                     \
    X(1, write)                                                                                    \
    X(2, open)                                                                                     \
    X(3, close)                                                                                    \
    X(4, stat)                                                                                     \
    X(5, fstat)                                                                                    \
    X(6, lstat)                                                                                    \
    X(8, lseek)                                                                                    \
    X(16, ioctl)                                                                                   \
    X(17, pread64)                                                                                 \
    X(18, pwrite64)                                                                                \
    X(19, readv)                                                                                   \
    X(20, writev)                                                                                  \
    X(21, access)                                                                                  \
    X(32, dup)                                                                                     \
    X(33, dup2)                                                                                    \
    X(72, fcntl)                                                                                   \
    X(74, fsync)                                                                                   \
    X(75, fdatasync)                                                                               \
    X(76, truncate)                                                                                \
    X(77, ftruncate)                                                                               \
    X(79, getcwd)                                                                                  \
    X(80, chdir)                                                                                   \
    X(82, rename)                                                                                  \
    X(83, mkdir)                                                                                   \
    X(84, rmdir)                                                                                   \
    X(87, unlink)                                                                                  \
    X(89, readlink)                                                                                \
    X(217, getdents64)                                                                             \
    X(257, openat)                                                                                 \
    X(258, mkdirat)                                                                                \
    X(262, newfstatat)                                                                             \
    X(263, unlinkat)                                                                               \
    X(264, renameat)                                                                               \
    X(267, readlinkat)                                                                             \
    X(269, faccessat)                                                                              \
    X(292, dup3)                                                                                   \
    X(439, faccessat2)

/* What a character device node does. DEV_FD0..2 (/dev/stdin, stdout, stderr) are never open
 * themselves: opening one opens again what descriptor 0, 1 or 2 holds. CON_* are the console
 * streams behind descriptors 0, 1 and 2 at start; no folder names them. DEV_CAP_* are the /cap
 * devices, whose calls the LibOS serves (ramfs_cap_fd). */
enum dev_kind {
    DEV_NONE,
    DEV_NULL,
    DEV_ZERO,
    DEV_RANDOM,
    DEV_URANDOM,
    DEV_FD0,
    DEV_FD1,
    DEV_FD2,
    CON_IN,
    CON_OUT,
    CON_ERR,
    DEV_CAP_CF1,
    DEV_CAP_CF2,
    DEV_CAP_CH1,
    DEV_CAP_CH2,
    DEV_CAP_CH3,
    DEV_CAP_CH4,
};

struct rdirent;
struct rslot;

/* A file, folder, symlink or device. It lives while a folder names it (nlink > 0) or something
 * holds it (refs: open descriptions, the working folder, the fs itself for the consoles). */
struct rnode {
    struct rnode *prev, *next; /* every node, for ramfs_free */
    struct rnode *parent;      /* folders: the folder holding it (the root's is itself) */
    struct rdirent *dent;      /* the entry naming it, NULL when none does */
    uint64_t ino;
    uint32_t mode, nlink, refs, uid, gid;
    uint8_t dev; /* enum dev_kind */
    int64_t mtime;
    uint8_t *data; /* files: the contents; symlinks: the target and a NUL */
    size_t size, cap;
    struct rslot *ents;      /* folders: entries by ascending cookie, with holes */
    size_t n_ents, ents_cap; /* slots in use (holes included), slots allocated */
    size_t n_live;           /* entries: the folder is empty when 0 */
    uint64_t next_cookie;    /* getdents64 positions: 0 ".", 1 "..", then the entries' cookies */
};

/* A removed entry leaves a hole (d NULL, cookie kept, so the slots stay sorted): removal is
 * O(log n), and holes are squeezed out when the array is full. */
struct rslot {
    uint64_t cookie;
    struct rdirent *d;
};

/* One name in a folder; also a link in the fs-wide hash chain keyed by (folder, name). */
struct rdirent {
    struct rdirent *hnext;
    struct rnode *dir, *node;
    uint64_t cookie;
    uint32_t hash;
    uint16_t len;
    char name[]; /* len bytes and a NUL */
};

/* An open file description: what dup shares. */
struct rfile {
    struct rnode *node;
    int64_t off;
    uint32_t flags; /* access mode, O_APPEND, O_NONBLOCK */
    uint32_t refs;  /* descriptors that hold it */
    void *priv;     /* /cap devices: the LibOS's state (ramfs_cap_fd), given to env.cap_close */
};

struct rfd {
    struct rfile *file;
    bool cloexec;
};

/* The layout of the application's struct iovec. */
struct riov {
    uintptr_t base;
    size_t len;
};

struct ramfs {
    struct ramfs_env env;
    struct rnode *root, *cwd, *nodes;
    struct rnode *console[3];
    size_t n_nodes;
    uint64_t next_ino;
    struct rdirent **buckets; /* a power of two of them */
    size_t n_buckets, n_dents;
    struct rfd fds[RAMFS_FDS_MAX];
    /* Scratch space for one call at a time: iovecs and paths copied out of the application. */
    struct riov iov[RAMFS_IOV_MAX];
    char path[2][RAMFS_PATH_MAX];
};

/* ---- memory and the application's pointers --------------------------------------------------- */

static void *fs_alloc(struct ramfs *fs, size_t n)
{
    return fs->env.alloc(fs->env.ctx, n);
}

static void fs_release(struct ramfs *fs, void *p, size_t n)
{
    if (p)
        fs->env.free(fs->env.ctx, p, n);
}

/* An empty range is never touched, so it needs no check. */
static bool user_ok(struct ramfs *fs, uintptr_t p, size_t n, bool write)
{
    return n == 0 || fs->env.user_ok(fs->env.ctx, (const void *)p, n, write);
}

/* Copies a NUL-terminated path out of the application into dst (RAMFS_PATH_MAX bytes), asking
 * user_ok about one page at most at a time and reading no byte past the NUL. */
static long copy_path(struct ramfs *fs, uintptr_t src, char *dst)
{
    size_t i = 0;
    while (i < RAMFS_PATH_MAX) {
        size_t chunk = RAMFS_PAGE - ((src + i) & (RAMFS_PAGE - 1));
        if (chunk > RAMFS_PATH_MAX - i)
            chunk = RAMFS_PATH_MAX - i;
        if (!user_ok(fs, src + i, chunk, false))
            return -EFAULT;
        const volatile char *s = (const volatile char *)(src + i);
        for (size_t k = 0; k < chunk; k++, i++) {
            dst[i] = s[k];
            if (!dst[i])
                return (long)i;
        }
    }
    return -ENAMETOOLONG;
}

/* ---- nodes and folders ----------------------------------------------------------------------- */

static bool is_dir(const struct rnode *n)
{
    return (n->mode & S_IFMT) == S_IFDIR;
}

static bool is_reg(const struct rnode *n)
{
    return (n->mode & S_IFMT) == S_IFREG;
}

static bool is_lnk(const struct rnode *n)
{
    return (n->mode & S_IFMT) == S_IFLNK;
}

/* A removed folder: nothing can be looked up or made in it. */
static bool is_dead(const struct rnode *n)
{
    return n->nlink == 0;
}

static bool is_console(const struct rnode *n)
{
    return n->dev >= CON_IN && n->dev <= CON_ERR;
}

static size_t dirent_size(size_t len)
{
    return sizeof(struct rdirent) + len + 1;
}

/* A new node, not yet named; NULL when out of memory or at RAMFS_FILES_MAX. */
static struct rnode *node_new(struct ramfs *fs, uint32_t mode)
{
    if (fs->n_nodes >= RAMFS_FILES_MAX)
        return NULL;
    struct rnode *n = fs_alloc(fs, sizeof(*n));
    if (!n)
        return NULL;
    n->mode = mode;
    n->ino = fs->next_ino++;
    n->nlink = (mode & S_IFMT) == S_IFDIR ? 2 : 1;
    n->next_cookie = 2;
    n->next = fs->nodes;
    if (fs->nodes)
        fs->nodes->prev = n;
    fs->nodes = n;
    fs->n_nodes++;
    return n;
}

static void node_free(struct ramfs *fs, struct rnode *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        fs->nodes = n->next;
    if (n->next)
        n->next->prev = n->prev;
    fs->n_nodes--;
    fs_release(fs, n->data, n->cap);
    fs_release(fs, n->ents, n->ents_cap * sizeof(*n->ents));
    fs_release(fs, n, sizeof(*n));
}

static void node_put(struct ramfs *fs, struct rnode *n)
{
    if (n->nlink == 0 && n->refs == 0)
        node_free(fs, n);
}

static uint32_t name_hash(uint64_t dir_ino, const char *name, size_t len)
{
    uint32_t h = 2166136261u;
    for (int i = 0; i < 8; i++)
        h = (h ^ (uint8_t)(dir_ino >> (8 * i))) * 16777619u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)name[i]) * 16777619u;
    return h;
}

static struct rdirent *dir_lookup(struct ramfs *fs, const struct rnode *dir, const char *name,
                                  size_t len)
{
    uint32_t h = name_hash(dir->ino, name, len);
    for (struct rdirent *d = fs->buckets[h & (fs->n_buckets - 1)]; d; d = d->hnext)
        if (d->hash == h && d->dir == dir && d->len == len && memcmp(d->name, name, len) == 0)
            return d;
    return NULL;
}

/* Doubles the table when it is full; a table that cannot grow only makes chains longer. */
static void hash_grow(struct ramfs *fs)
{
    size_t n = fs->n_buckets * 2;
    struct rdirent **b = fs_alloc(fs, n * sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < fs->n_buckets; i++) {
        for (struct rdirent *d = fs->buckets[i], *next; d; d = next) {
            next = d->hnext;
            d->hnext = b[d->hash & (n - 1)];
            b[d->hash & (n - 1)] = d;
        }
    }
    fs_release(fs, fs->buckets, fs->n_buckets * sizeof(*fs->buckets));
    fs->buckets = b;
    fs->n_buckets = n;
}

static void hash_remove(struct ramfs *fs, struct rdirent *d)
{
    struct rdirent **p = &fs->buckets[d->hash & (fs->n_buckets - 1)];
    while (*p != d)
        p = &(*p)->hnext;
    *p = d->hnext;
    fs->n_dents--;
}

/* The index of the first slot of dir whose cookie is at least cookie (n_ents if none). */
static size_t dir_index(const struct rnode *dir, uint64_t cookie)
{
    size_t lo = 0, hi = dir->n_ents;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dir->ents[mid].cookie < cookie)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Names node in dir (the name is known to be free): -ENOSPC when out of memory. */
static long dir_add(struct ramfs *fs, struct rnode *dir, const char *name, size_t len,
                    struct rnode *node)
{
    struct rdirent *d = fs_alloc(fs, dirent_size(len));
    if (!d)
        return -ENOSPC;
    if (dir->n_ents == dir->ents_cap && dir->n_live <= dir->n_ents / 2) {
        size_t k = 0;
        for (size_t i = 0; i < dir->n_ents; i++)
            if (dir->ents[i].d)
                dir->ents[k++] = dir->ents[i];
        dir->n_ents = k;
    }
    if (dir->n_ents == dir->ents_cap) {
        size_t cap = dir->ents_cap ? dir->ents_cap * 2 : 8;
        struct rslot *v = fs_alloc(fs, cap * sizeof(*v));
        if (!v) {
            fs_release(fs, d, dirent_size(len));
            return -ENOSPC;
        }
        if (dir->n_ents)
            memcpy(v, dir->ents, dir->n_ents * sizeof(*v));
        fs_release(fs, dir->ents, dir->ents_cap * sizeof(*v));
        dir->ents = v;
        dir->ents_cap = cap;
    }
    memcpy(d->name, name, len);
    d->len = (uint16_t)len;
    d->dir = dir;
    d->node = node;
    d->cookie = dir->next_cookie++;
    d->hash = name_hash(dir->ino, name, len);
    dir->ents[dir->n_ents++] = (struct rslot){.cookie = d->cookie, .d = d};
    dir->n_live++;
    d->hnext = fs->buckets[d->hash & (fs->n_buckets - 1)];
    fs->buckets[d->hash & (fs->n_buckets - 1)] = d;
    if (++fs->n_dents > fs->n_buckets)
        hash_grow(fs);
    node->dent = d;
    if (is_dir(node)) {
        node->parent = dir;
        dir->nlink++;
    }
    return 0;
}

/* Removes the entry d (its node stays as it is but for dent). */
static void dir_del(struct ramfs *fs, struct rdirent *d)
{
    struct rnode *dir = d->dir;
    dir->ents[dir_index(dir, d->cookie)].d = NULL;
    if (--dir->n_live == 0)
        dir->n_ents = 0;
    hash_remove(fs, d);
    if (is_dir(d->node))
        dir->nlink--;
    if (d->node->dent == d)
        d->node->dent = NULL;
    fs_release(fs, d, dirent_size(d->len));
}

/* Removes a name and, with it, the node's only link: the node goes when nothing holds it. */
static void node_unlink(struct ramfs *fs, struct rdirent *d)
{
    struct rnode *n = d->node;
    dir_del(fs, d);
    n->nlink = 0;
    if (is_dir(n))
        n->parent = NULL;
    node_put(fs, n);
}

/* A new node named name in dir: -ENOSPC at RAMFS_FILES_MAX or out of memory. */
static long node_create(struct ramfs *fs, struct rnode *dir, const char *name, size_t len,
                        uint32_t mode, struct rnode **ret)
{
    struct rnode *n = node_new(fs, mode);
    if (!n)
        return -ENOSPC;
    long r = dir_add(fs, dir, name, len, n);
    if (r < 0) {
        node_free(fs, n);
        return r;
    }
    *ret = n;
    return 0;
}

/* ---- path lookup ----------------------------------------------------------------------------- */

enum {
    WALK_FOLLOW = 1, /* follow a symlink in the last component */
    WALK_PARENT = 2, /* a missing last component is no error: w->node is then NULL */
    WALK_ENTRY = 4,  /* the last component's entry itself, even with a trailing '/' */
};

enum walk_kind { W_NORM, W_DOT, W_DOTDOT, W_ROOT };

struct walk {
    struct rnode *dir;    /* W_NORM: the folder holding the last component */
    struct rdirent *dent; /* W_NORM: its entry, NULL when missing */
    struct rnode *node;   /* what the path names, NULL when missing */
    const char *name;     /* W_NORM: the last component (in the path or a symlink target) */
    size_t len;
    enum walk_kind kind; /* how the path ends: a name, ".", "..", or only slashes */
    bool slash;          /* a '/' follows the last component */
};

/* Resolves path from cur, iteratively: each symlink followed pushes its target on a stack of
 * what is left to read, at most RAMFS_SYMLINKS_MAX in all. */
static long walk(struct ramfs *fs, struct rnode *cur, const char *path, int flags, struct walk *w)
{
    const char *stack[RAMFS_SYMLINKS_MAX + 1];
    int depth = 0, links = 0;
    stack[0] = path;
    if (*path == '/')
        cur = fs->root;
    for (;;) {
        const char *p = stack[depth];
        while (*p == '/')
            p++;
        if (!*p) {
            /* Only slashes were left: the path (or a symlink's target) named the root. */
            if (depth == 0) {
                *w = (struct walk){.node = cur, .kind = W_ROOT, .slash = true};
                return 0;
            }
            depth--;
            continue;
        }
        const char *q = p;
        while (*q && *q != '/')
            q++;
        size_t len = (size_t)(q - p);
        stack[depth] = q;
        bool last = true, slash = false;
        for (int d = depth; d >= 0; d--) {
            const char *r = stack[d];
            if (*r == '/')
                slash = true;
            while (*r == '/')
                r++;
            if (*r) {
                last = false;
                break;
            }
        }
        if (len > RAMFS_NAME_MAX)
            return -ENAMETOOLONG;
        if (!is_dir(cur))
            return -ENOTDIR;
        struct rnode *next;
        enum walk_kind kind;
        if (len == 1 && p[0] == '.') {
            next = cur;
            kind = W_DOT;
        } else if (len == 2 && p[0] == '.' && p[1] == '.') {
            if (is_dead(cur))
                return -ENOENT;
            next = cur->parent;
            kind = W_DOTDOT;
        } else {
            if (is_dead(cur))
                return -ENOENT;
            struct rdirent *d = dir_lookup(fs, cur, p, len);
            if (!d) {
                if (!last || !(flags & WALK_PARENT))
                    return -ENOENT;
                *w = (struct walk){
                    .dir = cur, .name = p, .len = len, .kind = W_NORM, .slash = slash};
                return 0;
            }
            next = d->node;
            if (is_lnk(next) &&
                (!last || (flags & WALK_FOLLOW) || (slash && !(flags & WALK_ENTRY)))) {
                if (++links > RAMFS_SYMLINKS_MAX)
                    return -ELOOP;
                const char *t = (const char *)next->data;
                if (*t == '/')
                    cur = fs->root;
                stack[++depth] = t;
                continue;
            }
            if (last) {
                if (slash && !(flags & WALK_ENTRY) && !is_dir(next))
                    return -ENOTDIR;
                *w = (struct walk){.dir = cur,
                                   .dent = d,
                                   .node = next,
                                   .name = p,
                                   .len = len,
                                   .kind = W_NORM,
                                   .slash = slash};
                return 0;
            }
            kind = W_NORM;
        }
        if (last) {
            *w = (struct walk){.node = next, .name = p, .len = len, .kind = kind, .slash = slash};
            return 0;
        }
        cur = next;
    }
}

static struct rfile *fd_file(struct ramfs *fs, long fd)
{
    int i = (int)fd;
    if (i < 0 || i >= RAMFS_FDS_MAX)
        return NULL;
    return fs->fds[i].file;
}

/* Copies the path argument into scratch slot `slot` and resolves it from dirfd (AT_FDCWD: the
 * working folder). With empty_ok, "" names dirfd's own node (AT_EMPTY_PATH). */
static long resolve(struct ramfs *fs, long dirfd, long upath, int slot, int flags, bool empty_ok,
                    struct walk *w)
{
    char *path = fs->path[slot];
    long r = copy_path(fs, (uintptr_t)upath, path);
    if (r < 0)
        return r;
    if (!path[0] && !empty_ok)
        return -ENOENT;
    struct rnode *start = fs->cwd;
    if (path[0] != '/' && (int)dirfd != AT_FDCWD) {
        struct rfile *f = fd_file(fs, dirfd);
        if (!f)
            return -EBADF;
        start = f->node;
        if (path[0] && !is_dir(start))
            return -ENOTDIR;
    }
    if (!path[0]) {
        *w = (struct walk){.node = start, .kind = W_DOT};
        return 0;
    }
    return walk(fs, start, path, flags, w);
}

/* ---- descriptors ----------------------------------------------------------------------------- */

static long fd_lowest(struct ramfs *fs, long from)
{
    for (long i = from; i < RAMFS_FDS_MAX; i++)
        if (!fs->fds[i].file)
            return i;
    return -EMFILE;
}

static void fd_install(struct ramfs *fs, long fd, struct rfile *f, bool cloexec)
{
    f->refs++;
    fs->fds[fd] = (struct rfd){.file = f, .cloexec = cloexec};
}

static void fd_close(struct ramfs *fs, long fd)
{
    struct rfile *f = fs->fds[fd].file;
    fs->fds[fd] = (struct rfd){0};
    if (--f->refs)
        return;
    if (f->priv && fs->env.cap_close)
        fs->env.cap_close(fs->env.ctx, f->priv);
    struct rnode *n = f->node;
    fs_release(fs, f, sizeof(*f));
    n->refs--;
    node_put(fs, n);
}

/* A description of n (which gains a reference) with no descriptor yet; NULL when out. */
static struct rfile *file_new(struct ramfs *fs, struct rnode *n, uint32_t flags)
{
    struct rfile *f = fs_alloc(fs, sizeof(*f));
    if (!f)
        return NULL;
    f->node = n;
    f->flags = flags & (O_ACCMODE | O_APPEND | O_NONBLOCK);
    n->refs++;
    return f;
}

/* ---- data ------------------------------------------------------------------------------------ */

static void file_truncate(struct ramfs *fs, struct rnode *n)
{
    fs_release(fs, n->data, n->cap);
    n->data = NULL;
    n->size = n->cap = 0;
}

static long file_read(struct rnode *n, uintptr_t buf, size_t len, int64_t off)
{
    if ((uint64_t)off >= n->size)
        return 0;
    size_t m = n->size - (size_t)off;
    if (m > len)
        m = len;
    memmove((void *)buf, n->data + off, m);
    return (long)m;
}

/* Writes at off, growing the file with zeros up to off; at RAMFS_FILE_MAX the write is cut short
 * (-EFBIG when nothing fits). The old buffer is freed only after the copy: buf may lie in it. */
static long file_write(struct ramfs *fs, struct rnode *n, uintptr_t buf, size_t len, int64_t off)
{
    if ((uint64_t)off >= RAMFS_FILE_MAX)
        return -EFBIG;
    if (len > RAMFS_FILE_MAX - (size_t)off)
        len = RAMFS_FILE_MAX - (size_t)off;
    size_t end = (size_t)off + len;
    uint8_t *old = NULL;
    size_t old_cap = 0;
    if (end > n->cap) {
        size_t cap = n->cap ? n->cap : 64;
        while (cap < end)
            cap *= 2;
        if (cap > RAMFS_FILE_MAX)
            cap = RAMFS_FILE_MAX;
        uint8_t *data = fs_alloc(fs, cap);
        if (!data)
            return -ENOSPC;
        if (n->size)
            memcpy(data, n->data, n->size);
        old = n->data;
        old_cap = n->cap;
        n->data = data;
        n->cap = cap;
    }
    if ((size_t)off > n->size)
        memset(n->data + n->size, 0, (size_t)off - n->size);
    memmove(n->data + off, (const void *)buf, len);
    if (end > n->size)
        n->size = end;
    fs_release(fs, old, old_cap);
    return (long)len;
}

/* Sets a regular file's size: bytes past the old end read as zeros, as after a write past it.
 * Shrinking to 0 gives the buffer back; other sizes keep it (its tail is never read). */
static long file_resize(struct ramfs *fs, struct rnode *n, int64_t len)
{
    if (len < 0)
        return -EINVAL;
    if ((uint64_t)len > RAMFS_FILE_MAX)
        return -EFBIG;
    size_t want = (size_t)len;
    if (want == 0) {
        file_truncate(fs, n);
        return 0;
    }
    if (want > n->cap) {
        uint8_t *data = fs_alloc(fs, want);
        if (!data)
            return -ENOSPC;
        if (n->size)
            memcpy(data, n->data, n->size);
        fs_release(fs, n->data, n->cap);
        n->data = data;
        n->cap = want;
    } else if (want > n->size) {
        memset(n->data + n->size, 0, want - n->size);
    }
    n->size = want;
    return 0;
}

/* One transfer between the application's buf and node n at off. */
static long node_rw(struct ramfs *fs, struct rnode *n, uintptr_t buf, size_t len, int64_t off,
                    bool write)
{
    const struct ramfs_env *e = &fs->env;
    long r;
    switch (n->dev) {
    case DEV_NONE: return write ? file_write(fs, n, buf, len, off) : file_read(n, buf, len, off);
    case DEV_NULL: return write ? (long)len : 0;
    case DEV_ZERO:
        if (!write)
            memset((void *)buf, 0, len);
        return (long)len;
    case DEV_RANDOM:
    case DEV_URANDOM:
        if (write)
            return (long)len;
        if (!e->random)
            return -EIO;
        r = e->random(e->ctx, (void *)buf, len);
        break;
    case CON_IN:
    case CON_OUT:
    case CON_ERR:
        if (write) {
            if (!e->console_write)
                return -EIO;
            r = e->console_write(e->ctx, n->dev == CON_ERR ? 2 : 1, (const void *)buf, len);
        } else {
            if (!e->console_read)
                return -EIO;
            r = e->console_read(e->ctx, (void *)buf, len);
        }
        break;
    default: return -EIO;
    }
    return r > (long)len ? (long)len : r;
}

/* The checks every read and write share, before the buffers: -EBADF, -EISDIR, -ESPIPE. */
static long io_prep(struct ramfs *fs, long fd, bool write, bool positional, struct rfile **ret)
{
    struct rfile *f = fd_file(fs, fd);
    if (!f)
        return -EBADF;
    uint32_t acc = f->flags & O_ACCMODE;
    if (write ? acc == O_RDONLY : acc == O_WRONLY)
        return -EBADF;
    if (is_dir(f->node))
        return -EISDIR;
    if (positional && is_console(f->node))
        return -ESPIPE;
    *ret = f;
    return 0;
}

/* Moves the n transfers in fs->iov (checked already) in order, stopping at the first short one;
 * an error after some bytes moved is dropped in favour of the count, as Linux does. */
static long io(struct ramfs *fs, struct rfile *f, size_t n, bool write, bool positional,
               int64_t pos)
{
    struct rnode *node = f->node;
    int64_t p = positional ? pos : f->off;
    if (write && (f->flags & O_APPEND) && node->dev == DEV_NONE)
        p = (int64_t)node->size;
    long total = 0;
    for (size_t i = 0; i < n; i++) {
        if (!fs->iov[i].len)
            continue;
        long r = node_rw(fs, node, fs->iov[i].base, fs->iov[i].len, p, write);
        if (r < 0) {
            if (total == 0)
                return r;
            break;
        }
        total += r;
        p += r;
        if ((size_t)r < fs->iov[i].len)
            break;
    }
    if (!positional && node->dev == DEV_NONE)
        f->off = p;
    return total;
}

static long rw_one(struct ramfs *fs, long fd, long buf, long count, bool write, bool positional,
                   int64_t pos)
{
    if (positional && pos < 0)
        return -EINVAL;
    struct rfile *f = NULL;
    long r = io_prep(fs, fd, write, positional, &f);
    if (r < 0)
        return r;
    size_t n = (size_t)count;
    if (n > (size_t)RAMFS_IO_MAX)
        n = (size_t)RAMFS_IO_MAX;
    if (!user_ok(fs, (uintptr_t)buf, n, !write))
        return -EFAULT;
    fs->iov[0] = (struct riov){.base = (uintptr_t)buf, .len = n};
    return io(fs, f, 1, write, positional, pos);
}

/* readv/writev: the iovec array is copied once, then every length and buffer is checked before
 * a byte moves, so a refused pointer changes nothing. */
static long rw_vec(struct ramfs *fs, long fd, long uiov, long cnt, bool write)
{
    struct rfile *f = NULL;
    long r = io_prep(fs, fd, write, false, &f);
    if (r < 0)
        return r;
    if (cnt < 0 || cnt > RAMFS_IOV_MAX)
        return -EINVAL;
    if (cnt == 0)
        return 0;
    size_t n = (size_t)cnt;
    if (!user_ok(fs, (uintptr_t)uiov, n * sizeof(struct riov), false))
        return -EFAULT;
    memcpy(fs->iov, (const void *)uiov, n * sizeof(struct riov));
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (fs->iov[i].len > (size_t)INT64_LIMIT)
            return -EINVAL;
        size_t room = (size_t)RAMFS_IO_MAX - total;
        if (fs->iov[i].len > room)
            fs->iov[i].len = room;
        total += fs->iov[i].len;
    }
    for (size_t i = 0; i < n; i++)
        if (!user_ok(fs, fs->iov[i].base, fs->iov[i].len, !write))
            return -EFAULT;
    return io(fs, f, n, write, false, 0);
}

/* ---- the syscalls ---------------------------------------------------------------------------- */

#define DECLARE_SYSCALL(nr, name) static long sys_##name(struct ramfs *fs, const long a[6]);
RAMFS_SYSCALLS(DECLARE_SYSCALL)
#undef DECLARE_SYSCALL

long ramfs_syscall(struct ramfs *fs, long nr, const long a[6])
{
    switch (nr) {
#define DISPATCH_SYSCALL(nr, name)                                                                 \
    case nr: return sys_##name(fs, a);
        RAMFS_SYSCALLS(DISPATCH_SYSCALL)
#undef DISPATCH_SYSCALL
    default: return -ENOSYS;
    }
}

static long sys_read(struct ramfs *fs, const long a[6])
{
    return rw_one(fs, a[0], a[1], a[2], false, false, 0);
}

static long sys_write(struct ramfs *fs, const long a[6])
{
    return rw_one(fs, a[0], a[1], a[2], true, false, 0);
}

static long sys_pread64(struct ramfs *fs, const long a[6])
{
    return rw_one(fs, a[0], a[1], a[2], false, true, a[3]);
}

static long sys_pwrite64(struct ramfs *fs, const long a[6])
{
    return rw_one(fs, a[0], a[1], a[2], true, true, a[3]);
}

static long sys_readv(struct ramfs *fs, const long a[6])
{
    return rw_vec(fs, a[0], a[1], a[2], false);
}

static long sys_writev(struct ramfs *fs, const long a[6])
{
    return rw_vec(fs, a[0], a[1], a[2], true);
}

static long do_open(struct ramfs *fs, long dirfd, long upath, long flags, long mode)
{
    uint32_t fl = (uint32_t)flags;
    if ((fl & O_TMPFILE) == O_TMPFILE || (fl & O_PATH))
        return -EOPNOTSUPP;
    if ((fl & O_ACCMODE) == O_ACCMODE)
        return -EINVAL;
    int wf = (fl & O_NOFOLLOW) ? 0 : WALK_FOLLOW;
    if (fl & O_CREAT)
        wf = WALK_PARENT | ((fl & (O_EXCL | O_NOFOLLOW)) ? WALK_ENTRY : WALK_FOLLOW);
    struct walk w;
    long r = resolve(fs, dirfd, upath, 0, wf, false, &w);
    if (r < 0)
        return r;
    struct rnode *n = w.node;
    if (n && (fl & O_CREAT) && (fl & O_EXCL))
        return -EEXIST;
    if (!n && w.slash)
        return -EISDIR;
    if (n && n->dev >= DEV_FD0 && n->dev <= DEV_FD2) {
        struct rfile *src = fd_file(fs, n->dev - DEV_FD0);
        if (!src)
            return -ENOENT;
        n = src->node;
    }
    if (n) {
        if (is_lnk(n))
            return -ELOOP;
        if (is_dir(n) && ((fl & O_ACCMODE) != O_RDONLY || (fl & (O_CREAT | O_TRUNC))))
            return -EISDIR;
        if (!is_dir(n) && (fl & O_DIRECTORY))
            return -ENOTDIR;
    }
    long fd = fd_lowest(fs, 0);
    if (fd < 0)
        return fd;
    struct rfile *f = fs_alloc(fs, sizeof(*f));
    if (!f)
        return -ENOMEM;
    if (!n) {
        uint32_t perm = (uint32_t)mode & 07777 & ~(uint32_t)RAMFS_UMASK;
        r = node_create(fs, w.dir, w.name, w.len, S_IFREG | perm, &n);
        if (r < 0) {
            fs_release(fs, f, sizeof(*f));
            return r;
        }
    } else if ((fl & O_TRUNC) && is_reg(n) && n->dev == DEV_NONE) {
        file_truncate(fs, n);
    }
    f->node = n;
    f->flags = fl & (O_ACCMODE | O_APPEND | O_NONBLOCK);
    n->refs++;
    fd_install(fs, fd, f, fl & O_CLOEXEC);
    return fd;
}

static long sys_open(struct ramfs *fs, const long a[6])
{
    return do_open(fs, AT_FDCWD, a[0], a[1], a[2]);
}

static long sys_openat(struct ramfs *fs, const long a[6])
{
    return do_open(fs, a[0], a[1], a[2], a[3]);
}

static long sys_close(struct ramfs *fs, const long a[6])
{
    if (!fd_file(fs, a[0]))
        return -EBADF;
    fd_close(fs, (int)a[0]);
    return 0;
}

static void fill_stat(const struct rnode *n, struct ramfs_stat *st)
{
    *st = (struct ramfs_stat){
        .st_dev = ST_DEV,
        .st_ino = n->ino,
        .st_nlink = n->nlink ? n->nlink : (n->dev ? 1 : 0),
        .st_mode = n->mode,
        .st_uid = n->uid,
        .st_gid = n->gid,
        .st_blksize = 4096,
        .st_atime_sec = n->mtime,
        .st_mtime_sec = n->mtime,
        .st_ctime_sec = n->mtime,
    };
    switch (n->dev) {
    case DEV_NULL: st->st_rdev = 1 << 8 | 3; break;
    case DEV_ZERO: st->st_rdev = 1 << 8 | 5; break;
    case DEV_RANDOM: st->st_rdev = 1 << 8 | 8; break;
    case DEV_URANDOM: st->st_rdev = 1 << 8 | 9; break;
    case DEV_CAP_CF1:
    case DEV_CAP_CF2: st->st_rdev = 240 << 8 | (n->dev - DEV_CAP_CF1 + 1); break;
    case DEV_CAP_CH1:
    case DEV_CAP_CH2:
    case DEV_CAP_CH3:
    case DEV_CAP_CH4: st->st_rdev = 241 << 8 | (n->dev - DEV_CAP_CH1 + 1); break;
    case DEV_NONE: break;
    default: st->st_rdev = 5 << 8 | 1; break; /* the console */
    }
    if (is_dir(n)) {
        st->st_size = 4096;
        st->st_blocks = 8;
    } else if (is_reg(n) || is_lnk(n)) {
        st->st_size = (int64_t)n->size;
        st->st_blocks = is_reg(n) ? (int64_t)((n->size + 511) / 512) : 0;
    }
}

static long put_stat(struct ramfs *fs, const struct rnode *n, long ubuf)
{
    if (!user_ok(fs, (uintptr_t)ubuf, sizeof(struct ramfs_stat), true))
        return -EFAULT;
    struct ramfs_stat st;
    fill_stat(n, &st);
    memmove((void *)ubuf, &st, sizeof(st));
    return 0;
}

static long do_stat(struct ramfs *fs, long dirfd, long upath, long ubuf, long flags)
{
    if (flags & ~(long)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
        return -EINVAL;
    struct walk w;
    long r = resolve(fs, dirfd, upath, 0, (flags & AT_SYMLINK_NOFOLLOW) ? 0 : WALK_FOLLOW,
                     flags & AT_EMPTY_PATH, &w);
    if (r < 0)
        return r;
    return put_stat(fs, w.node, ubuf);
}

static long sys_stat(struct ramfs *fs, const long a[6])
{
    return do_stat(fs, AT_FDCWD, a[0], a[1], 0);
}

static long sys_lstat(struct ramfs *fs, const long a[6])
{
    return do_stat(fs, AT_FDCWD, a[0], a[1], AT_SYMLINK_NOFOLLOW);
}

static long sys_newfstatat(struct ramfs *fs, const long a[6])
{
    return do_stat(fs, a[0], a[1], a[2], a[3]);
}

static long sys_fstat(struct ramfs *fs, const long a[6])
{
    struct rfile *f = fd_file(fs, a[0]);
    if (!f)
        return -EBADF;
    return put_stat(fs, f->node, a[1]);
}

static long sys_lseek(struct ramfs *fs, const long a[6])
{
    struct rfile *f = fd_file(fs, a[0]);
    if (!f)
        return -EBADF;
    struct rnode *n = f->node;
    int64_t off = a[1], base;
    if (is_console(n))
        return -ESPIPE;
    if (n->dev != DEV_NONE) {
        f->off = 0;
        return 0;
    }
    switch ((unsigned int)a[2]) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = f->off; break;
    case SEEK_END:
        if (is_dir(n))
            return -EINVAL;
        base = (int64_t)n->size;
        break;
    case SEEK_DATA:
    case SEEK_HOLE:
        if (!is_reg(n))
            return -EINVAL;
        if (off < 0 || (uint64_t)off >= n->size)
            return -ENXIO;
        f->off = (unsigned int)a[2] == SEEK_DATA ? off : (int64_t)n->size;
        return f->off;
    default: return -EINVAL;
    }
    if ((off > 0 && base > INT64_LIMIT - off) || base + off < 0)
        return -EINVAL;
    f->off = base + off;
    return f->off;
}

static long do_access(struct ramfs *fs, long dirfd, long upath, long mode, long flags)
{
    if (mode & ~7L)
        return -EINVAL;
    if (flags & ~(long)(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
        return -EINVAL;
    struct walk w;
    long r = resolve(fs, dirfd, upath, 0, (flags & AT_SYMLINK_NOFOLLOW) ? 0 : WALK_FOLLOW,
                     flags & AT_EMPTY_PATH, &w);
    if (r < 0)
        return r;
    /* Everything runs as root: only execution needs an x bit (folders are searchable). */
    if ((mode & X_OK) && !is_dir(w.node) && !(w.node->mode & 0111))
        return -EACCES;
    return 0;
}

static long sys_access(struct ramfs *fs, const long a[6])
{
    return do_access(fs, AT_FDCWD, a[0], a[1], 0);
}

static long sys_faccessat(struct ramfs *fs, const long a[6])
{
    return do_access(fs, a[0], a[1], a[2], 0);
}

static long sys_faccessat2(struct ramfs *fs, const long a[6])
{
    return do_access(fs, a[0], a[1], a[2], a[3]);
}

static long sys_dup(struct ramfs *fs, const long a[6])
{
    struct rfile *f = fd_file(fs, a[0]);
    if (!f)
        return -EBADF;
    long fd = fd_lowest(fs, 0);
    if (fd >= 0)
        fd_install(fs, fd, f, false);
    return fd;
}

static long do_dup3(struct ramfs *fs, long old, long new_fd, bool cloexec)
{
    struct rfile *f = fd_file(fs, old);
    if (!f)
        return -EBADF;
    int fd = (int)new_fd;
    if (fd < 0 || fd >= RAMFS_FDS_MAX)
        return -EBADF;
    if (fs->fds[fd].file == f) {
        fs->fds[fd].cloexec = cloexec;
        return fd;
    }
    if (fs->fds[fd].file)
        fd_close(fs, fd);
    fd_install(fs, fd, f, cloexec);
    return fd;
}

static long sys_dup2(struct ramfs *fs, const long a[6])
{
    if ((int)a[0] == (int)a[1])
        return fd_file(fs, a[0]) ? (int)a[0] : -EBADF;
    return do_dup3(fs, a[0], a[1], false);
}

static long sys_dup3(struct ramfs *fs, const long a[6])
{
    if ((int)a[2] & ~O_CLOEXEC)
        return -EINVAL;
    if ((int)a[0] == (int)a[1])
        return -EINVAL;
    return do_dup3(fs, a[0], a[1], (int)a[2] & O_CLOEXEC);
}

static long sys_fcntl(struct ramfs *fs, const long a[6])
{
    struct rfile *f = fd_file(fs, a[0]);
    if (!f)
        return -EBADF;
    struct rfd *d = &fs->fds[(int)a[0]];
    unsigned long arg = (unsigned long)a[2];
    long fd;
    switch ((int)a[1]) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        if (arg >= RAMFS_FDS_MAX)
            return -EINVAL;
        fd = fd_lowest(fs, (long)arg);
        if (fd >= 0)
            fd_install(fs, fd, f, (int)a[1] == F_DUPFD_CLOEXEC);
        return fd;
    case F_GETFD: return d->cloexec ? FD_CLOEXEC : 0;
    case F_SETFD: d->cloexec = arg & FD_CLOEXEC; return 0;
    case F_GETFL: return f->flags;
    case F_SETFL:
        f->flags = (f->flags & ~(uint32_t)(O_APPEND | O_NONBLOCK)) |
                   ((uint32_t)arg & (O_APPEND | O_NONBLOCK));
        return 0;
    default: return -EINVAL;
    }
}

/* No node is a terminal: the consoles behave as pipes do, so TIOCGWINSZ and TCGETS (what
 * isatty asks) fail like every other request. */
static long sys_ioctl(struct ramfs *fs, const long a[6])
{
    return fd_file(fs, a[0]) ? -ENOTTY : -EBADF;
}

/* Everything is in memory already. */
static long sys_fsync(struct ramfs *fs, const long a[6])
{
    return fd_file(fs, a[0]) ? 0 : -EBADF;
}

static long sys_fdatasync(struct ramfs *fs, const long a[6])
{
    return sys_fsync(fs, a);
}

static long sys_truncate(struct ramfs *fs, const long a[6])
{
    if (a[1] < 0)
        return -EINVAL;
    struct walk w;
    long r = resolve(fs, AT_FDCWD, a[0], 0, WALK_FOLLOW, false, &w);
    if (r < 0)
        return r;
    if (is_dir(w.node))
        return -EISDIR;
    if (!is_reg(w.node) || w.node->dev != DEV_NONE)
        return -EINVAL;
    return file_resize(fs, w.node, a[1]);
}

static long sys_ftruncate(struct ramfs *fs, const long a[6])
{
    if (a[1] < 0)
        return -EINVAL;
    struct rfile *f = fd_file(fs, a[0]);
    if (!f)
        return -EBADF;
    if (!is_reg(f->node) || f->node->dev != DEV_NONE || (f->flags & O_ACCMODE) == O_RDONLY)
        return -EINVAL;
    return file_resize(fs, f->node, a[1]);
}

/* Builds the working folder's path backwards in scratch slot 0, from its entries' names. */
static long sys_getcwd(struct ramfs *fs, const long a[6])
{
    char *buf = fs->path[0];
    size_t pos = RAMFS_PATH_MAX;
    struct rnode *n = fs->cwd;
    if (is_dead(n))
        return -ENOENT;
    buf[--pos] = 0;
    if (n == fs->root)
        buf[--pos] = '/';
    for (; n != fs->root; n = n->parent) {
        const struct rdirent *d = n->dent;
        if (pos < (size_t)d->len + 1)
            return -ENAMETOOLONG;
        pos -= d->len;
        memcpy(buf + pos, d->name, d->len);
        buf[--pos] = '/';
    }
    size_t len = RAMFS_PATH_MAX - pos;
    if ((size_t)a[1] < len)
        return -ERANGE;
    if (!user_ok(fs, (uintptr_t)a[0], len, true))
        return -EFAULT;
    memmove((void *)a[0], buf + pos, len);
    return (long)len;
}

static long sys_chdir(struct ramfs *fs, const long a[6])
{
    struct walk w;
    long r = resolve(fs, AT_FDCWD, a[0], 0, WALK_FOLLOW, false, &w);
    if (r < 0)
        return r;
    if (!is_dir(w.node))
        return -ENOTDIR;
    struct rnode *old = fs->cwd;
    fs->cwd = w.node;
    w.node->refs++;
    old->refs--;
    node_put(fs, old);
    return 0;
}

static long do_mkdir(struct ramfs *fs, long dirfd, long upath, long mode)
{
    struct walk w;
    long r = resolve(fs, dirfd, upath, 0, WALK_PARENT | WALK_ENTRY, false, &w);
    if (r < 0)
        return r;
    if (w.node)
        return -EEXIST;
    struct rnode *n;
    return node_create(fs, w.dir, w.name, w.len,
                       S_IFDIR | ((uint32_t)mode & 01777 & ~(uint32_t)RAMFS_UMASK), &n);
}

static long sys_mkdir(struct ramfs *fs, const long a[6])
{
    return do_mkdir(fs, AT_FDCWD, a[0], a[1]);
}

static long sys_mkdirat(struct ramfs *fs, const long a[6])
{
    return do_mkdir(fs, a[0], a[1], a[2]);
}

static long do_unlink(struct ramfs *fs, long dirfd, long upath, bool folder)
{
    struct walk w;
    long r = resolve(fs, dirfd, upath, 0, WALK_ENTRY, false, &w);
    if (r < 0)
        return r;
    if (folder) {
        if (w.kind == W_DOT)
            return -EINVAL;
        if (w.kind == W_DOTDOT)
            return -ENOTEMPTY;
        if (w.kind == W_ROOT)
            return -EBUSY;
        if (!is_dir(w.node))
            return -ENOTDIR;
        if (w.node->n_live)
            return -ENOTEMPTY;
    } else {
        if (w.kind != W_NORM || is_dir(w.node))
            return -EISDIR;
        if (w.slash)
            return -ENOTDIR;
    }
    node_unlink(fs, w.dent);
    return 0;
}

static long sys_unlink(struct ramfs *fs, const long a[6])
{
    return do_unlink(fs, AT_FDCWD, a[0], false);
}

static long sys_rmdir(struct ramfs *fs, const long a[6])
{
    return do_unlink(fs, AT_FDCWD, a[0], true);
}

static long sys_unlinkat(struct ramfs *fs, const long a[6])
{
    if (a[2] & ~(long)AT_REMOVEDIR)
        return -EINVAL;
    return do_unlink(fs, a[0], a[1], a[2] & AT_REMOVEDIR);
}

static long do_rename(struct ramfs *fs, long olddir, long oldpath, long newdir, long newpath)
{
    struct walk o, t;
    long r = resolve(fs, olddir, oldpath, 0, WALK_ENTRY, false, &o);
    if (r < 0)
        return r;
    r = resolve(fs, newdir, newpath, 1, WALK_PARENT | WALK_ENTRY, false, &t);
    if (r < 0)
        return r;
    if (o.kind != W_NORM || t.kind != W_NORM)
        return -EBUSY;
    struct rnode *n = o.node;
    if (!is_dir(n) && (o.slash || t.slash))
        return -ENOTDIR;
    if (t.node == n)
        return 0;
    if (is_dir(n)) {
        if (t.node && !is_dir(t.node))
            return -ENOTDIR;
        if (t.node && t.node->n_live)
            return -ENOTEMPTY;
        /* A folder cannot move below itself. */
        for (struct rnode *x = t.dir; x != fs->root; x = x->parent)
            if (x == n)
                return -EINVAL;
    } else if (t.node && is_dir(t.node)) {
        return -EISDIR;
    }
    /* The new name is made first (beside the one it replaces, for a moment): failing there
     * leaves everything as it was. */
    r = dir_add(fs, t.dir, t.name, t.len, n);
    if (r < 0)
        return r;
    if (t.dent)
        node_unlink(fs, t.dent);
    dir_del(fs, o.dent);
    return 0;
}

static long sys_rename(struct ramfs *fs, const long a[6])
{
    return do_rename(fs, AT_FDCWD, a[0], AT_FDCWD, a[1]);
}

static long sys_renameat(struct ramfs *fs, const long a[6])
{
    return do_rename(fs, a[0], a[1], a[2], a[3]);
}

static long do_readlink(struct ramfs *fs, long dirfd, long upath, long ubuf, long size)
{
    if ((int)size <= 0)
        return -EINVAL;
    struct walk w;
    long r = resolve(fs, dirfd, upath, 0, 0, false, &w);
    if (r < 0)
        return r;
    if (!is_lnk(w.node))
        return -EINVAL;
    size_t m = w.node->size < (size_t)(int)size ? w.node->size : (size_t)(int)size;
    if (!user_ok(fs, (uintptr_t)ubuf, m, true))
        return -EFAULT;
    memmove((void *)ubuf, w.node->data, m);
    return (long)m;
}

static long sys_readlink(struct ramfs *fs, const long a[6])
{
    return do_readlink(fs, AT_FDCWD, a[0], a[1], a[2]);
}

static long sys_readlinkat(struct ramfs *fs, const long a[6])
{
    return do_readlink(fs, a[0], a[1], a[2], a[3]);
}

static uint8_t dirent_type(const struct rnode *n)
{
    switch (n->mode & S_IFMT) {
    case S_IFDIR: return DT_DIR;
    case S_IFREG: return DT_REG;
    case S_IFLNK: return DT_LNK;
    default: return DT_CHR;
    }
}

/* struct linux_dirent64 records from the description's position: 0 is ".", 1 "..", then the
 * entries by cookie. d_off is the position after the record, so a listing resumes there. */
static long sys_getdents64(struct ramfs *fs, const long a[6])
{
    struct rfile *f = fd_file(fs, a[0]);
    if (!f)
        return -EBADF;
    struct rnode *dir = f->node;
    if (!is_dir(dir))
        return -ENOTDIR;
    size_t count = (unsigned int)a[2];
    if (count > (size_t)RAMFS_IO_MAX)
        count = (size_t)RAMFS_IO_MAX;
    uint8_t *out = (uint8_t *)(uintptr_t)a[1];
    if (!user_ok(fs, (uintptr_t)out, count, true))
        return -EFAULT;
    if (is_dead(dir))
        return -ENOENT;
    size_t used = 0;
    uint64_t pos = (uint64_t)f->off;
    for (;;) {
        const char *name;
        size_t len;
        const struct rnode *n;
        uint64_t next;
        if (pos == 0 || pos == 1) {
            name = "..";
            len = pos + 1;
            n = pos == 0 ? dir : dir->parent;
            next = pos + 1;
        } else {
            size_t i = dir_index(dir, pos);
            while (i < dir->n_ents && !dir->ents[i].d)
                i++;
            if (i == dir->n_ents)
                break;
            const struct rdirent *d = dir->ents[i].d;
            name = d->name;
            len = d->len;
            n = d->node;
            next = d->cookie + 1;
        }
        size_t reclen = (19 + len + 1 + 7) & ~(size_t)7;
        if (reclen > count - used) {
            if (used == 0)
                return -EINVAL;
            break;
        }
        uint8_t rec[24];
        uint64_t ino = n->ino;
        int64_t off = (int64_t)next;
        uint16_t rl = (uint16_t)reclen;
        memcpy(rec, &ino, 8);
        memcpy(rec + 8, &off, 8);
        memcpy(rec + 16, &rl, 2);
        rec[18] = dirent_type(n);
        memmove(out + used, rec, 19);
        memmove(out + used + 19, name, len);
        memset(out + used + 19 + len, 0, reclen - 19 - len);
        used += reclen;
        pos = next;
    }
    f->off = (int64_t)pos;
    return (long)used;
}

long ramfs_cap_fd(struct ramfs *fs, long fd, struct ramfs_cap *ret)
{
    struct rfile *f = fd_file(fs, fd);
    if (!f)
        return -EBADF;
    uint8_t dev = f->node->dev;
    if (dev < DEV_CAP_CF1 || dev > DEV_CAP_CH4)
        return 0;
    uint32_t acc = f->flags & O_ACCMODE;
    *ret = (struct ramfs_cap){
        .kind = dev <= DEV_CAP_CF2 ? RAMFS_CAP_CF : RAMFS_CAP_CH,
        .priv = &f->priv,
        .read = acc != O_WRONLY,
        .write = acc != O_RDONLY,
    };
    return 1;
}

/* mmap's copy of a file: LibOS memory, so no user_ok and no RAMFS_IO_MAX cut. */
long ramfs_pread_fd(struct ramfs *fs, int fd, void *buf, size_t n, uint64_t off)
{
    struct rfile *f = fd_file(fs, fd);
    if (!f)
        return -EBADF;
    if ((f->flags & O_ACCMODE) == O_WRONLY)
        return -EACCES;
    struct rnode *node = f->node;
    if (node->dev == DEV_ZERO) {
        memset(buf, 0, n);
        return (long)n;
    }
    if (!is_reg(node) || node->dev != DEV_NONE)
        return -ENODEV;
    if (off >= node->size)
        return 0;
    size_t m = node->size - (size_t)off;
    if (m > n)
        m = n;
    memcpy(buf, node->data + off, m);
    return (long)m;
}

/* ---- the archive ----------------------------------------------------------------------------- */

/* newc: a 110-byte ASCII header ("070701" and 13 fields of 8 hex digits), the NUL-terminated
 * name, zeros to a multiple of 4, the data, zeros to a multiple of 4; "TRAILER!!!" ends it. */
#define NEWC_HEADER 110
enum { F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_FILESIZE, F_NAMESIZE = 11, F_COUNT = 13 };

static size_t align4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

static bool hex8(const uint8_t *p, uint32_t *ret)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        uint8_t c = p[i];
        uint32_t digit;
        if (c >= '0' && c <= '9')
            digit = (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            digit = (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            digit = (uint32_t)(c - 'A' + 10);
        else
            return false;
        v = v << 4 | digit;
    }
    *ret = v;
    return true;
}

/* Load-time errors: the node limit is the archive's fault (-EINVAL), memory is not. */
static long load_error(struct ramfs *fs)
{
    return fs->n_nodes >= RAMFS_FILES_MAX ? -EINVAL : -ENOMEM;
}

/* Descends into the folder name in *dir, making it (0755) when missing. */
static long load_dir(struct ramfs *fs, struct rnode **dir, const char *name, size_t len)
{
    struct rdirent *d = dir_lookup(fs, *dir, name, len);
    if (d) {
        if (!is_dir(d->node))
            return -EINVAL;
        *dir = d->node;
        return 0;
    }
    struct rnode *n;
    if (node_create(fs, *dir, name, len, S_IFDIR | 0755, &n) < 0)
        return load_error(fs);
    *dir = n;
    return 0;
}

struct entry {
    const char *name;
    size_t len;
    uint32_t f[F_COUNT];
    const uint8_t *data;
};

static long load_entry(struct ramfs *fs, const struct entry *e)
{
    uint32_t mode = e->f[F_MODE], type = mode & S_IFMT, size = e->f[F_FILESIZE];
    if (mode & ~(uint32_t)0177777)
        return -EINVAL;
    if (type != S_IFREG && type != S_IFDIR && type != S_IFLNK)
        return -EINVAL;
    if (type == S_IFDIR && size)
        return -EINVAL;
    if (type == S_IFREG && size > RAMFS_FILE_MAX)
        return -EINVAL;
    if (type != S_IFDIR && e->f[F_NLINK] > 1)
        return -EINVAL;
    if (type == S_IFLNK &&
        (size == 0 || size > RAMFS_TARGET_MAX || strnlen((const char *)e->data, size) != size))
        return -EINVAL;

    /* Every component but the last is a folder, made when missing. */
    struct rnode *dir = fs->root;
    const char *p = e->name, *end = e->name + e->len, *last = NULL;
    size_t last_len = 0;
    for (;;) {
        while (p < end && *p == '/')
            p++;
        if (p == end)
            break;
        const char *q = p;
        while (q < end && *q != '/')
            q++;
        size_t len = (size_t)(q - p);
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return -EINVAL;
        if (len > RAMFS_NAME_MAX)
            return -EINVAL;
        if (!(len == 1 && p[0] == '.')) {
            if (last) {
                long r = load_dir(fs, &dir, last, last_len);
                if (r < 0)
                    return r;
            }
            last = p;
            last_len = len;
        }
        p = q;
    }

    struct rnode *n = fs->root;
    if (!last) {
        if (type != S_IFDIR)
            return -EINVAL;
    } else {
        struct rdirent *old = dir_lookup(fs, dir, last, last_len);
        if (old && (old->node->dev || (is_dir(old->node) && type != S_IFDIR)))
            return -EINVAL;
        if (old && is_dir(old->node)) {
            n = old->node;
        } else {
            if (old)
                node_unlink(fs, old);
            n = node_new(fs, type);
            if (!n)
                return load_error(fs);
            if (size) {
                size_t cap = (size_t)size + (type == S_IFLNK);
                n->data = fs_alloc(fs, cap);
                if (!n->data) {
                    node_free(fs, n);
                    return -ENOMEM;
                }
                memcpy(n->data, e->data, size);
                n->size = size;
                n->cap = cap;
            }
            if (dir_add(fs, dir, last, last_len, n) < 0) {
                node_free(fs, n);
                return -ENOMEM;
            }
        }
    }
    n->mode = type | (mode & 07777);
    n->uid = e->f[F_UID];
    n->gid = e->f[F_GID];
    n->mtime = e->f[F_MTIME];
    return 0;
}

static long load(struct ramfs *fs, const uint8_t *d, size_t len)
{
    size_t off = 0, entries = 0;
    for (;;) {
        size_t left = len - off;
        if (left < NEWC_HEADER || memcmp(d + off, "070701", 6) != 0)
            return -EINVAL;
        struct entry e;
        for (int i = 0; i < F_COUNT; i++)
            if (!hex8(d + off + 6 + 8 * i, &e.f[i]))
                return -EINVAL;
        uint32_t namesize = e.f[F_NAMESIZE];
        if (namesize == 0 || namesize > RAMFS_PATH_MAX || namesize > left - NEWC_HEADER)
            return -EINVAL;
        e.name = (const char *)d + off + NEWC_HEADER;
        e.len = namesize - 1;
        if (strnlen(e.name, namesize) != e.len)
            return -EINVAL;
        size_t head = align4(NEWC_HEADER + (size_t)namesize);
        if (head > left)
            return -EINVAL;
        uint32_t size = e.f[F_FILESIZE];
        if (e.len == 10 && memcmp(e.name, "TRAILER!!!", 10) == 0) {
            if (size)
                return -EINVAL;
            for (size_t i = off + head; i < len; i++)
                if (d[i])
                    return -EINVAL;
            return 0;
        }
        if (++entries > RAMFS_FILES_MAX)
            return -EINVAL;
        if (align4(size) > left - head)
            return -EINVAL;
        e.data = d + off + head;
        long r = load_entry(fs, &e);
        if (r < 0)
            return r;
        off += head + align4(size);
    }
}

/* ---- building and freeing -------------------------------------------------------------------- */

static const struct builtin_dev {
    char name[8];
    uint8_t dev;
    uint16_t perm;
} builtin_devs[] = {
    {"null", DEV_NULL, 0666},       {"zero", DEV_ZERO, 0666}, {"random", DEV_RANDOM, 0666},
    {"urandom", DEV_URANDOM, 0666}, {"stdin", DEV_FD0, 0620}, {"stdout", DEV_FD1, 0620},
    {"stderr", DEV_FD2, 0620},
};

static const struct builtin_dev cap_devs[] = {
    {"cf1", DEV_CAP_CF1, 0666}, {"cf2", DEV_CAP_CF2, 0666}, {"ch1", DEV_CAP_CH1, 0666},
    {"ch2", DEV_CAP_CH2, 0666}, {"ch3", DEV_CAP_CH3, 0666}, {"ch4", DEV_CAP_CH4, 0666},
};

/* The devices of table b (n of them) in a new folder name of the root. */
static long make_devs(struct ramfs *fs, const char *name, const struct builtin_dev *b, size_t n)
{
    struct rnode *dir;
    if (node_create(fs, fs->root, name, strnlen(name, 8), S_IFDIR | 0755, &dir) < 0)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct rnode *d;
        if (node_create(fs, dir, b[i].name, strnlen(b[i].name, sizeof(b[i].name)),
                        S_IFCHR | b[i].perm, &d) < 0)
            return -ENOMEM;
        d->dev = b[i].dev;
    }
    return 0;
}

static long make_builtin(struct ramfs *fs)
{
    struct rnode *root = node_new(fs, S_IFDIR | 0755);
    if (!root)
        return -ENOMEM;
    fs->root = root;
    root->parent = root;
    fs->cwd = root;
    root->refs++;
    if (make_devs(fs, "dev", builtin_devs, sizeof(builtin_devs) / sizeof(builtin_devs[0])) < 0)
        return -ENOMEM;
    if (fs->env.cap_devices &&
        make_devs(fs, "cap", cap_devs, sizeof(cap_devs) / sizeof(cap_devs[0])) < 0)
        return -ENOMEM;
    for (int i = 0; i < 3; i++) {
        struct rnode *n = node_new(fs, S_IFCHR | 0620);
        if (!n)
            return -ENOMEM;
        n->dev = (uint8_t)(CON_IN + i);
        n->nlink = 0;
        n->refs = 1; /* the fs's own hold: no folder names a console */
        fs->console[i] = n;
        struct rfile *f = file_new(fs, n, i == 0 ? O_RDONLY : O_WRONLY);
        if (!f)
            return -ENOMEM;
        fd_install(fs, i, f, false);
    }
    return 0;
}

long ramfs_new(const struct ramfs_env *env, const void *cpio, size_t len, struct ramfs **ret)
{
    if (!env || !env->alloc || !env->free || !env->user_ok || !ret || (!cpio && len))
        return -EINVAL;
    struct ramfs *fs = env->alloc(env->ctx, sizeof(*fs));
    if (!fs)
        return -ENOMEM;
    fs->env = *env;
    fs->next_ino = 1;
    fs->n_buckets = 256;
    fs->buckets = fs_alloc(fs, fs->n_buckets * sizeof(*fs->buckets));
    long r = fs->buckets ? make_builtin(fs) : -ENOMEM;
    if (r == 0 && cpio)
        r = load(fs, cpio, len);
    if (r < 0) {
        ramfs_free(fs);
        return r;
    }
    *ret = fs;
    return 0;
}

void ramfs_free(struct ramfs *fs)
{
    if (!fs)
        return;
    for (int i = 0; i < RAMFS_FDS_MAX; i++)
        if (fs->fds[i].file)
            fd_close(fs, i);
    for (struct rnode *n = fs->nodes; n; n = n->next)
        for (size_t i = 0; i < n->n_ents; i++)
            if (n->ents[i].d)
                fs_release(fs, n->ents[i].d, dirent_size(n->ents[i].d->len));
    while (fs->nodes)
        node_free(fs, fs->nodes);
    if (fs->buckets)
        fs_release(fs, fs->buckets, fs->n_buckets * sizeof(*fs->buckets));
    struct ramfs_env env = fs->env;
    env.free(env.ctx, fs, sizeof(*fs));
}
