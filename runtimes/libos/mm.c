/* The LibOS's memory over the shared heap region (mm.h): a page bitmap for the application's
 * brk and mmap, size classes for the LibOS's small allocations. Freestanding C11. */
#include "mm.h"

void *memset(void *dst, int c, size_t n);

/* Linux x86-64 values: this file sees no libc header. */
#define EBADF 9
#define ENOMEM 12
#define EEXIST 17
#define ENODEV 19
#define EINVAL 22
#define EOVERFLOW 75

#define PROT_READ 0x1
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4
#define PROT_SEM 0x8
#define PROT_GROWSDOWN 0x01000000
#define PROT_GROWSUP 0x02000000

#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_SHARED_VALIDATE 0x03
#define MAP_TYPE 0x0f
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_FIXED_NOREPLACE 0x100000

#define MADV_DONTNEED 4

#define NONE ((size_t)-1) /* no page index */
#define SMALL_MIN 16u     /* the smallest size class */

/* ---- pages ----------------------------------------------------------------------------------- */

static bool bit(const uint64_t *b, size_t i)
{
    return b[i / 64] >> (i % 64) & 1;
}

static void bit_set(uint64_t *b, size_t i)
{
    b[i / 64] |= (uint64_t)1 << (i % 64);
}

static void bit_clear(uint64_t *b, size_t i)
{
    b[i / 64] &= ~((uint64_t)1 << (i % 64));
}

static size_t pages_for(size_t len)
{
    return len / MM_PAGE + (len % MM_PAGE != 0);
}

static uintptr_t page_addr(const struct mm *mm, size_t i)
{
    return mm->base + i * MM_PAGE;
}

/* Whether [addr, addr + len) lies in the region. */
static bool in_region(const struct mm *mm, uintptr_t addr, size_t len)
{
    size_t size = mm->npages * MM_PAGE;
    return addr >= mm->base && len <= size && addr - mm->base <= size - len;
}

static bool is_libos(const struct mm *mm, size_t i)
{
    return bit(mm->used, i) && !bit(mm->app, i);
}

/* A page handed out before may hold anything. It is read before it is written, so a page
 * handed out but never touched costs a read fault (the kernel's zero page), not a write
 * fault; a page never handed out is not touched at all. */
static void page_zero(struct mm *mm, size_t i)
{
    if (!bit(mm->dirty, i))
        return;
    uint64_t *p = (uint64_t *)page_addr(mm, i);
    for (size_t k = 0; k < MM_PAGE / 8; k++) {
        if (p[k]) {
            memset(p + k, 0, MM_PAGE - k * 8);
            return;
        }
    }
}

/* Hands pages [first, first + n) to the application or the LibOS, zeroed; pages that were
 * the application's stay in use (MAP_FIXED replaces them). */
static void take(struct mm *mm, size_t first, size_t n, bool app)
{
    for (size_t i = first; i < first + n; i++) {
        if (!bit(mm->used, i)) {
            bit_set(mm->used, i);
            mm->nfree--;
        }
        if (app)
            bit_set(mm->app, i);
        else
            bit_clear(mm->app, i);
        page_zero(mm, i);
        bit_set(mm->dirty, i);
    }
}

/* Makes pages [first, first + n) executable or not: one env.protect call for each run of pages
 * that changes. Only the application's pages are ever made executable, and only when it asks;
 * they stay writable, so the LibOS may always zero, fill or copy into them. */
static long set_exec(struct mm *mm, size_t first, size_t n, bool exec)
{
    if (!mm->env.protect)
        return 0;
    size_t i = first, end = first + n;
    while (i < end) {
        if (bit(mm->exec, i) == exec) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < end && bit(mm->exec, j) != exec)
            j++;
        long r = mm->env.protect(mm->env.ctx, page_addr(mm, i), (j - i) * MM_PAGE, exec);
        if (r < 0)
            return r;
        for (; i < j; i++) {
            if (exec)
                bit_set(mm->exec, i);
            else
                bit_clear(mm->exec, i);
        }
    }
    return 0;
}

/* Frees the pages of [first, first + n) that belong to the application (app) or the LibOS
 * (!app); other pages, free ones included, stay as they are. Free pages are not executable:
 * a failure to take the right back leaves the bit set, to be tried again. */
static void release(struct mm *mm, size_t first, size_t n, bool app)
{
    for (size_t i = first; i < first + n; i++) {
        if (!bit(mm->used, i) || bit(mm->app, i) != app)
            continue;
        bit_clear(mm->used, i);
        bit_clear(mm->app, i);
        mm->nfree++;
    }
    if (app)
        (void)set_exec(mm, first, n, false);
}

/* The highest run of n free pages: its first index, or NONE. Whole words of the bitmap are
 * skipped at once when they are all free or all used. */
static size_t find_run(const struct mm *mm, size_t n)
{
    if (n == 0 || n > mm->nfree)
        return NONE;
    size_t top = mm->npages, j = mm->npages; /* pages [j, top) are free */
    while (j > 0) {
        if (j % 64 == 0) {
            uint64_t w = mm->used[j / 64 - 1];
            if (w == 0) {
                j -= 64;
                if (top - j >= n)
                    return top - n;
                continue;
            }
            if (w == ~(uint64_t)0) {
                j -= 64;
                top = j;
                continue;
            }
        }
        j--;
        if (bit(mm->used, j))
            top = j;
        else if (top - j >= n)
            return top - n;
    }
    return NONE;
}

long mm_init(struct mm *mm, uintptr_t base, size_t size, const struct mm_env *env)
{
    if (base == 0 || (base | size) % MM_PAGE || size > UINTPTR_MAX - base)
        return -EINVAL;
    size_t npages = size / MM_PAGE;
    size_t words = npages / 64 + (npages % 64 != 0);
    size_t meta = pages_for(4 * words * sizeof(uint64_t));
    if (npages <= meta)
        return -ENOMEM;
    *mm = (struct mm){.base = base, .npages = npages, .nfree = npages - meta, .brk = base};
    if (env)
        mm->env = *env;
    mm->used = (uint64_t *)page_addr(mm, npages - meta);
    mm->app = mm->used + words;
    mm->dirty = mm->app + words;
    mm->exec = mm->dirty + words;
    for (size_t i = npages - meta; i < npages; i++)
        bit_set(mm->used, i);
    return 0;
}

void mm_set_window(struct mm *mm, uintptr_t base, size_t size)
{
    mm->win_base = base;
    mm->win_size = size;
}

bool mm_app_range(const struct mm *mm, uintptr_t p, size_t n)
{
    if (n == 0 || !in_region(mm, p, n))
        return false;
    size_t first = (p - mm->base) / MM_PAGE, last = (p - mm->base + n - 1) / MM_PAGE;
    for (size_t i = first; i <= last; i++)
        if (!bit(mm->app, i))
            return false;
    return true;
}

/* ---- the LibOS's own allocations ------------------------------------------------------------- */

static unsigned size_class(size_t n)
{
    unsigned c = 0;
    while ((size_t)SMALL_MIN << c < n)
        c++;
    return c;
}

void *mm_alloc(struct mm *mm, size_t n)
{
    if (n <= MM_SMALL_MAX) {
        unsigned c = size_class(n);
        size_t bsize = (size_t)SMALL_MIN << c;
        if (!mm->small[c]) {
            /* A new page cut into blocks, listed from its start. */
            size_t i = find_run(mm, 1);
            if (i == NONE)
                return NULL;
            take(mm, i, 1, false);
            (void)set_exec(mm, i, 1, false);
            uintptr_t page = page_addr(mm, i);
            for (size_t off = MM_PAGE; off >= bsize; off -= bsize) {
                void **b = (void **)(page + off - bsize);
                *b = mm->small[c];
                mm->small[c] = b;
            }
        }
        void **b = mm->small[c];
        mm->small[c] = *b;
        memset(b, 0, bsize);
        return b;
    }
    if (n > mm->npages * MM_PAGE)
        return NULL;
    size_t pages = pages_for(n), i = find_run(mm, pages);
    if (i == NONE)
        return NULL;
    take(mm, i, pages, false);
    (void)set_exec(mm, i, pages, false);
    return (void *)page_addr(mm, i);
}

void mm_free(struct mm *mm, void *p, size_t n)
{
    if (!p)
        return;
    if (n <= MM_SMALL_MAX) {
        unsigned c = size_class(n);
        void **b = p;
        *b = mm->small[c];
        mm->small[c] = b;
        return;
    }
    uintptr_t a = (uintptr_t)p;
    if (a % MM_PAGE || !in_region(mm, a, n))
        return;
    release(mm, (a - mm->base) / MM_PAGE, pages_for(n), false);
}

/* ---- the application's memory ---------------------------------------------------------------- */

long mm_brk(struct mm *mm, uintptr_t addr)
{
    /* Linux answers a break it cannot set, brk(0) included, with the current one. */
    if (addr < mm->base || addr - mm->base > mm->npages * MM_PAGE)
        return (long)mm->brk;
    size_t have = pages_for(mm->brk - mm->base), want = pages_for(addr - mm->base);
    if (want > have) {
        for (size_t i = have; i < want; i++)
            if (bit(mm->used, i))
                return (long)mm->brk;
        take(mm, have, want - have, true);
        (void)set_exec(mm, have, want - have, false);
    } else {
        release(mm, want, have - want, true);
    }
    mm->brk = addr;
    return (long)mm->brk;
}

/* Checks in Linux's order where it matters to callers: the offset, the length, the type, the
 * file, the address. Of prot, only PROT_EXEC has an effect (see mm_mprotect). */
long mm_mmap(struct mm *mm, uintptr_t addr, size_t len, long prot, long flags, long fd, long off)
{
    uint64_t uoff = (uint64_t)off;
    long type = flags & MAP_TYPE;
    bool anon = flags & MAP_ANONYMOUS;
    if (uoff % MM_PAGE)
        return -EINVAL;
    if (len == 0)
        return -EINVAL;
    if (type != MAP_SHARED && type != MAP_PRIVATE && type != MAP_SHARED_VALIDATE)
        return -EINVAL;
    if (prot & ~(long)(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM))
        return -EINVAL;
    if (len > SIZE_MAX - (MM_PAGE - 1))
        return -ENOMEM;
    size_t n = pages_for(len), bytes = n * MM_PAGE;
    if (!anon) {
        if (uoff + bytes < uoff)
            return -EOVERFLOW;
        if (!mm->env.file_read)
            return -ENODEV;
        if ((int)fd != fd)
            return -EBADF;
        long r = mm->env.file_read(mm->env.ctx, (int)fd, NULL, 0, uoff);
        if (r < 0)
            return r;
        /* The mapping is a copy: a shared writable one could not reach the file. */
        if (type != MAP_PRIVATE && (prot & PROT_WRITE))
            return -ENODEV;
    }
    size_t first;
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
        if (addr % MM_PAGE)
            return -EINVAL;
        if (!in_region(mm, addr, bytes))
            return -ENOMEM;
        first = (addr - mm->base) / MM_PAGE;
        bool noreplace = flags & MAP_FIXED_NOREPLACE;
        for (size_t i = first; i < first + n; i++) {
            if (noreplace && bit(mm->used, i))
                return -EEXIST;
            if (is_libos(mm, i))
                return -ENOMEM;
        }
    } else {
        /* The hint, like Linux's when it is taken, is only a hint. */
        first = find_run(mm, n);
        if (first == NONE)
            return -ENOMEM;
    }
    take(mm, first, n, true);
    long r = 0;
    /* Whole pages of the file, zeros past its end. */
    if (!anon)
        r = mm->env.file_read(mm->env.ctx, (int)fd, (void *)page_addr(mm, first), bytes, uoff);
    if (r >= 0)
        r = set_exec(mm, first, n, prot & PROT_EXEC);
    if (r < 0) {
        release(mm, first, n, true);
        return r;
    }
    return (long)page_addr(mm, first);
}

/* The user address space's end on x86-64 (4-level paging): munmap refuses ranges beyond. */
#define USER_TOP ((uintptr_t)0x7ffffffff000)

/* Frees the application's pages in the range. Pages outside the region (the application's
 * window) stay mapped; pages that are free or the LibOS's are left alone: from the
 * application's side they are not mapped, and unmapping nothing succeeds on Linux too. */
long mm_munmap(struct mm *mm, uintptr_t addr, size_t len)
{
    if (addr % MM_PAGE || len == 0 || len > USER_TOP)
        return -EINVAL;
    size_t bytes = pages_for(len) * MM_PAGE;
    if (addr > USER_TOP - bytes)
        return -EINVAL;
    uintptr_t end = mm->base + mm->npages * MM_PAGE;
    uintptr_t lo = addr > mm->base ? addr : mm->base, hi = addr + bytes < end ? addr + bytes : end;
    if (lo < hi)
        release(mm, (lo - mm->base) / MM_PAGE, (hi - lo) / MM_PAGE, true);
    return 0;
}

/* Only PROT_EXEC is carried out, on the region's pages (env.protect): the pages stay readable
 * and writable whatever prot says, so PROT_NONE guard pages and read-only relocations protect
 * nothing, and the LibOS never faults on them. The window keeps the rights its loader gave it.
 * What is checked is that the range is mapped: the window, or the application's pages. */
long mm_mprotect(struct mm *mm, uintptr_t addr, size_t len, long prot)
{
    if (addr % MM_PAGE)
        return -EINVAL;
    if (prot &
        ~(long)(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP))
        return -EINVAL;
    if ((prot & PROT_GROWSDOWN) && (prot & PROT_GROWSUP))
        return -EINVAL;
    if (len == 0)
        return 0;
    if (len > SIZE_MAX - (MM_PAGE - 1))
        return -ENOMEM;
    size_t bytes = pages_for(len) * MM_PAGE;
    if (addr + bytes < addr)
        return -ENOMEM;
    if (mm->win_size && addr >= mm->win_base && bytes <= mm->win_size &&
        addr - mm->win_base <= mm->win_size - bytes)
        return 0;
    if (!mm_app_range(mm, addr, bytes))
        return -ENOMEM;
    return set_exec(mm, (addr - mm->base) / MM_PAGE, bytes / MM_PAGE, prot & PROT_EXEC);
}

/* Advice is taken as given, except that MADV_DONTNEED makes the application's pages of the
 * region read back as zeros, as it does for private anonymous memory on Linux. */
long mm_madvise(struct mm *mm, uintptr_t addr, size_t len, long advice)
{
    if (addr % MM_PAGE || len > SIZE_MAX - (MM_PAGE - 1))
        return -EINVAL;
    size_t bytes = pages_for(len) * MM_PAGE;
    if (addr + bytes < addr)
        return -EINVAL;
    if (advice != MADV_DONTNEED || bytes == 0)
        return 0;
    uintptr_t end = mm->base + mm->npages * MM_PAGE;
    uintptr_t lo = addr > mm->base ? addr : mm->base, hi = addr + bytes < end ? addr + bytes : end;
    for (uintptr_t p = lo; p < hi; p += MM_PAGE) {
        size_t i = (p - mm->base) / MM_PAGE;
        if (bit(mm->app, i))
            page_zero(mm, i);
    }
    return 0;
}
