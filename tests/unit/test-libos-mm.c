/* The LibOS's memory (runtimes/libos/mm.c) over a small region: exact addresses and results of
 * brk, mmap, munmap, mprotect and madvise, every bad input, exhaustion, zeroed reuse, and pages
 * never handed out that are never touched (they are PROT_NONE in these tests). */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>

#include "mm.h"
#include "tap.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PG 4096UL
#define NPAGES 64 /* the region: 63 pages to hand out, then one page of bitmaps */
#define USABLE 63
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define RW (PROT_READ | PROT_WRITE)

static struct mm mm;
static uintptr_t base;

/* A file for file mappings: fd 3 reads FILE_SIZE bytes of a pattern, fd 4 is open for writing
 * only, fd 5 is a folder, fd 6 fails on its second read; other fds are not open. */
#define FILE_SIZE 5000
static long reads;

static uint8_t file_byte(uint64_t off)
{
    return (uint8_t)(off * 7 + 1);
}

static long file_read(void *ctx, int fd, void *buf, size_t n, uint64_t off)
{
    CHECK(ctx == &mm);
    reads++;
    if (fd == 4)
        return -EACCES;
    if (fd == 5)
        return -ENODEV;
    if (fd == 6)
        return n ? -EIO : 0;
    if (fd != 3)
        return -EBADF;
    CHECK(n == 0 || mm_app_range(&mm, (uintptr_t)buf, n));
    size_t m = off >= FILE_SIZE ? 0 : FILE_SIZE - off;
    if (m > n)
        m = n;
    for (size_t i = 0; i < m; i++)
        ((uint8_t *)buf)[i] = file_byte(off + i);
    return (long)m;
}

/* Page rights: each call recorded and made, or failing with protect_error. */
struct protect_call {
    uintptr_t addr;
    size_t len;
    bool exec;
};
static struct protect_call calls[16];
static size_t n_calls;
static long protect_error;

static long protect(void *ctx, uintptr_t addr, size_t len, bool exec)
{
    CHECK(ctx == &mm);
    if (protect_error)
        return protect_error;
    CHECK(n_calls < 16);
    calls[n_calls++] = (struct protect_call){addr, len, exec};
    CHECK(mprotect((void *)addr, len, PROT_READ | PROT_WRITE | (exec ? PROT_EXEC : 0)) == 0);
    return 0;
}

#define CHECK_CALL(i, a, l, x)                                                                     \
    do {                                                                                           \
        CHECK((i) < n_calls);                                                                      \
        CHECK_INT(calls[i].addr, a);                                                               \
        CHECK_INT(calls[i].len, l);                                                                \
        CHECK_INT(calls[i].exec, x);                                                               \
    } while (0)

static const struct mm_env env = {.file_read = file_read, .protect = protect, .ctx = &mm};

static uintptr_t page(size_t i)
{
    return base + i * PG;
}

/* A fresh zero-filled region with pages [0, protect_below) PROT_NONE: handing one of them out
 * is fine, touching one is a crash. */
static void setup(size_t protect_below)
{
    void *p = mmap(NULL, NPAGES * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    base = (uintptr_t)p;
    if (protect_below)
        CHECK(mprotect(p, protect_below * PG, PROT_NONE) == 0);
    CHECK_INT(mm_init(&mm, base, NPAGES * PG, &env), 0);
    reads = 0;
    n_calls = 0;
    protect_error = 0;
}

static long map(uintptr_t addr, size_t len, long prot, long flags)
{
    return mm_mmap(&mm, addr, len, prot, flags, -1, 0);
}

static bool all_bytes(uintptr_t p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (((const uint8_t *)p)[i] != v)
            return false;
    return true;
}

/* ---- init ------------------------------------------------------------------------------------ */

static void init_checks(void)
{
    struct mm m;
    static uint64_t words[3 * 8 + 512]; /* room for a two-page region's bitmaps, page-aligned */
    uintptr_t a = ((uintptr_t)words + PG - 1) & ~(PG - 1);
    CHECK_INT(mm_init(&m, 0, 2 * PG, NULL), -EINVAL);
    CHECK_INT(mm_init(&m, a + 1, 2 * PG, NULL), -EINVAL);
    CHECK_INT(mm_init(&m, a, 2 * PG + 1, NULL), -EINVAL);
    CHECK_INT(mm_init(&m, UINTPTR_MAX & ~(PG - 1), 2 * PG, NULL), -EINVAL);
    CHECK_INT(mm_init(&m, a, 0, NULL), -ENOMEM);
    CHECK_INT(mm_init(&m, a, PG, NULL), -ENOMEM);

    setup(0);
    CHECK_INT(mm.npages, NPAGES);
    CHECK_INT(mm.nfree, USABLE);
    CHECK_INT((uintptr_t)mm.used, page(63));
    CHECK_INT(mm.brk, base);
    /* 2^18 pages (1 GiB) need 4 * 4096 words of bitmaps: 32 pages. */
    void *big = mmap(NULL, 1UL << 30, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(big != MAP_FAILED);
    CHECK_INT(mm_init(&m, (uintptr_t)big, 1UL << 30, NULL), 0);
    CHECK_INT(m.nfree, (1UL << 18) - 32);
    CHECK_INT((uintptr_t)m.used, (uintptr_t)big + (1UL << 30) - 32 * PG);
    CHECK_INT(mm_mmap(&m, 0, PG, RW, ANON, -1, 0), (uintptr_t)big + (1UL << 30) - 33 * PG);
}

/* ---- brk ------------------------------------------------------------------------------------- */

static void brk_calls(void)
{
    setup(0);
    CHECK_INT(mm_brk(&mm, 0), base);
    CHECK_INT(mm_brk(&mm, base - 1), base);
    CHECK_INT(mm_brk(&mm, base + 100), base + 100);
    CHECK_INT(mm.nfree, USABLE - 1);
    CHECK(mm_app_range(&mm, base, PG));
    CHECK(!mm_app_range(&mm, base, PG + 1));
    memset((void *)base, 0xab, 100);
    /* Shrinking within the page keeps it and its bytes, as Linux does. */
    CHECK_INT(mm_brk(&mm, base + 10), base + 10);
    CHECK_INT(mm_brk(&mm, base + 100), base + 100);
    CHECK(all_bytes(base, 100, 0xab));
    /* Growth over two more pages, then back: the pages are free again. */
    CHECK_INT(mm_brk(&mm, page(3)), page(3));
    CHECK_INT(mm.nfree, USABLE - 3);
    memset((void *)page(1), 0xcd, 2 * PG);
    CHECK_INT(mm_brk(&mm, page(1)), page(1));
    CHECK_INT(mm.nfree, USABLE - 1);
    CHECK(!mm_app_range(&mm, page(1), 1));
    /* Grown again, they read as zeros. */
    CHECK_INT(mm_brk(&mm, page(3)), page(3));
    CHECK(all_bytes(page(1), 2 * PG, 0));
    /* Past the region, or over a page in use, the break stays. */
    CHECK_INT(mm_brk(&mm, page(NPAGES) + 1), page(3));
    CHECK_INT(mm_brk(&mm, page(63) + 1), page(3)); /* the bitmaps' page */
    CHECK_INT(mm_brk(&mm, page(63)), page(63));
    CHECK_INT(mm.nfree, 0);
    CHECK_INT(mm_brk(&mm, page(3)), page(3));
    CHECK_INT(mm_brk(&mm, page(NPAGES)), page(3));
    CHECK_INT(map(page(5), PG, RW, ANON | MAP_FIXED), page(5));
    CHECK_INT(mm_brk(&mm, page(6)), page(3));
    CHECK_INT(mm_brk(&mm, page(5)), page(5));
    CHECK_INT(mm.nfree, USABLE - 6);
    /* To the region's start: nothing is left. */
    CHECK_INT(mm_brk(&mm, base), base);
    CHECK_INT(mm.nfree, USABLE - 1);
}

/* ---- mmap ------------------------------------------------------------------------------------ */

static void mmap_anonymous(void)
{
    setup(50);
    /* The highest free pages first. */
    CHECK_INT(map(0, 1, RW, ANON), page(62));
    CHECK_INT(map(0, PG, PROT_NONE, ANON), page(61));
    CHECK_INT(map(0, 2 * PG + 1, RW, ANON), page(58));
    CHECK_INT(map(0x1234000, PG, RW, MAP_SHARED | MAP_ANONYMOUS), page(57)); /* a mere hint */
    CHECK_INT(mm.nfree, USABLE - 6);
    CHECK(all_bytes(page(58), 5 * PG, 0));
    CHECK(mm_app_range(&mm, page(57), 6 * PG));
    CHECK(!mm_app_range(&mm, page(57), 6 * PG + 1));
    /* Bad arguments change nothing. */
    CHECK_INT(map(0, 0, RW, ANON), -EINVAL);
    CHECK_INT(mm_mmap(&mm, 0, PG, RW, ANON, -1, 1), -EINVAL);
    CHECK_INT(mm_mmap(&mm, 0, PG, RW, ANON, -1, PG / 2), -EINVAL);
    CHECK_INT(map(0, PG, RW, MAP_ANONYMOUS), -EINVAL);
    CHECK_INT(map(0, PG, RW, MAP_ANONYMOUS | 0x4), -EINVAL);
    CHECK_INT(map(0, PG, 0x10, ANON), -EINVAL);
    CHECK_INT(map(0, SIZE_MAX, RW, ANON), -ENOMEM);
    CHECK_INT(map(0, SIZE_MAX - PG + 2, RW, ANON), -ENOMEM);
    CHECK_INT(map(0, 58 * PG, RW, ANON), -ENOMEM);
    CHECK_INT(mm.nfree, USABLE - 6);
    /* Contiguous runs only: with page 55 taken, 7 pages fit only below it. */
    CHECK_INT(map(page(55), PG, RW, ANON | MAP_FIXED), page(55));
    CHECK_INT(map(0, PG, RW, ANON), page(56));
    CHECK_INT(map(0, 2 * PG, RW, ANON), page(53));
}

static void mmap_fixed(void)
{
    setup(40);
    long a = map(0, 3 * PG, RW, ANON);
    CHECK_INT(a, page(60));
    memset((void *)page(60), 0x77, 3 * PG);
    /* MAP_FIXED replaces the application's pages: zeroed, no page more in use. */
    CHECK_INT(map(page(61), PG, RW, ANON | MAP_FIXED), page(61));
    CHECK_INT(mm.nfree, USABLE - 3);
    CHECK(all_bytes(page(61), PG, 0));
    CHECK(all_bytes(page(60), PG, 0x77) && all_bytes(page(62), PG, 0x77));
    /* Over free pages it takes them. */
    CHECK_INT(map(page(45), 2 * PG, RW, ANON | MAP_FIXED), page(45));
    CHECK_INT(mm.nfree, USABLE - 5);
    CHECK(all_bytes(page(45), 2 * PG, 0));
    /* Unaligned, outside the region, partly outside, wrapping, over the LibOS's pages. */
    CHECK_INT(map(page(45) + 1, PG, RW, ANON | MAP_FIXED), -EINVAL);
    CHECK_INT(map(base - PG, PG, RW, ANON | MAP_FIXED), -ENOMEM);
    CHECK_INT(map(base - PG, 2 * PG, RW, ANON | MAP_FIXED), -ENOMEM);
    CHECK_INT(map(page(NPAGES), PG, RW, ANON | MAP_FIXED), -ENOMEM);
    CHECK_INT(map(page(62), 2 * PG, RW, ANON | MAP_FIXED), -ENOMEM);
    CHECK_INT(map(UINTPTR_MAX & ~(PG - 1), 2 * PG, RW, ANON | MAP_FIXED), -ENOMEM);
    CHECK_INT(map(page(63), PG, RW, ANON | MAP_FIXED), -ENOMEM);
    void *own = mm_alloc(&mm, 3000);
    CHECK_INT((uintptr_t)own, page(59));
    CHECK_INT(map(page(58), 2 * PG, RW, ANON | MAP_FIXED), -ENOMEM);
    CHECK_INT(mm.nfree, USABLE - 6);
    CHECK(!mm_app_range(&mm, page(58), PG));
    /* MAP_FIXED_NOREPLACE: only over free pages, with or without MAP_FIXED. */
    CHECK_INT(map(page(61), PG, RW, ANON | MAP_FIXED_NOREPLACE), -EEXIST);
    CHECK_INT(map(page(61), PG, RW, ANON | MAP_FIXED_NOREPLACE | MAP_FIXED), -EEXIST);
    CHECK_INT(map(page(58), 2 * PG, RW, ANON | MAP_FIXED_NOREPLACE), -EEXIST);
    CHECK_INT(map(page(56), 2 * PG, RW, ANON | MAP_FIXED_NOREPLACE), page(56));
    CHECK_INT(map(page(64), PG, RW, ANON | MAP_FIXED_NOREPLACE), -ENOMEM);
    CHECK_INT(mm.nfree, USABLE - 8);
}

static void mmap_file(void)
{
    setup(50);
    /* Whole pages of the file; zeros past its end. */
    long a = mm_mmap(&mm, 0, 2 * PG, PROT_READ, MAP_PRIVATE, 3, 0);
    CHECK_INT(a, page(61));
    for (size_t i = 0; i < 2 * PG; i++)
        CHECK_INT(((uint8_t *)a)[i], i < FILE_SIZE ? file_byte(i) : 0);
    a = mm_mmap(&mm, 0, 100, PROT_READ | PROT_EXEC, MAP_PRIVATE, 3, PG);
    CHECK_INT(a, page(60));
    for (size_t i = 0; i < PG; i++)
        CHECK_INT(((uint8_t *)a)[i], i < FILE_SIZE - PG ? file_byte(PG + i) : 0);
    /* Past the end: a page of zeros. Shared but read-only: a copy too. */
    CHECK_INT(mm_mmap(&mm, 0, PG, PROT_READ, MAP_PRIVATE, 3, 4 * PG), page(59));
    CHECK(all_bytes(page(59), PG, 0));
    CHECK_INT(mm_mmap(&mm, 0, PG, PROT_READ, MAP_SHARED, 3, 0), page(58));
    CHECK_INT(*(uint8_t *)page(58), file_byte(0));
    /* Over an application page with MAP_FIXED: replaced by the file. */
    memset((void *)page(59), 0xee, PG);
    CHECK_INT(mm_mmap(&mm, page(59), 10, PROT_READ, MAP_PRIVATE | MAP_FIXED, 3, PG), page(59));
    CHECK_INT(*(uint8_t *)page(59), file_byte(PG));
    CHECK(all_bytes(page(59) + FILE_SIZE - PG, PG - (FILE_SIZE - PG), 0));
    CHECK_INT(mm.nfree, USABLE - 5);
    /* Refusals, before any page is taken. */
    long r0 = reads;
    CHECK_INT(mm_mmap(&mm, 0, PG, PROT_READ, MAP_PRIVATE, 9, 0), -EBADF);
    CHECK_INT(mm_mmap(&mm, 0, PG, PROT_READ, MAP_PRIVATE, 0x100000003L, 0), -EBADF);
    CHECK_INT(mm_mmap(&mm, 0, PG, PROT_READ, MAP_PRIVATE, 4, 0), -EACCES);
    CHECK_INT(mm_mmap(&mm, 0, PG, PROT_READ, MAP_PRIVATE, 5, 0), -ENODEV);
    CHECK_INT(mm_mmap(&mm, 0, PG, RW, MAP_SHARED, 3, 0), -ENODEV);
    CHECK_INT(mm_mmap(&mm, 0, PG, RW, MAP_SHARED_VALIDATE, 3, 0), -ENODEV);
    CHECK_INT(reads - r0, 5);
    CHECK_INT(mm_mmap(&mm, 0, PG, PROT_READ, MAP_PRIVATE, 3, -PG), -EOVERFLOW);
    CHECK_INT(mm_mmap(&mm, 0, PG, PROT_READ, MAP_PRIVATE, 3, 100), -EINVAL);
    CHECK_INT(mm_mmap(&mm, 0, 0, PROT_READ, MAP_PRIVATE, 3, 0), -EINVAL);
    CHECK_INT(reads - r0, 5);
    CHECK_INT(mm.nfree, USABLE - 5);
    /* A read that fails after the check gives the pages back. */
    CHECK_INT(mm_mmap(&mm, 0, 2 * PG, PROT_READ, MAP_PRIVATE, 6, 0), -EIO);
    CHECK_INT(mm.nfree, USABLE - 5);
    CHECK(!mm_app_range(&mm, page(56), PG));
    /* Without a file_read, files cannot be mapped. */
    struct mm_env none = {0};
    setup(0);
    CHECK_INT(mm_init(&mm, base, NPAGES * PG, &none), 0);
    CHECK_INT(mm_mmap(&mm, 0, PG, PROT_READ, MAP_PRIVATE, 3, 0), -ENODEV);
    CHECK_INT(map(0, PG, RW, ANON), page(62));
    /* Nor page rights: PROT_EXEC is accepted and does nothing. */
    CHECK_INT(map(0, PG, PROT_READ | PROT_EXEC, ANON), page(61));
    CHECK_INT(mm_mprotect(&mm, page(61), 2 * PG, PROT_EXEC), 0);
    CHECK_INT(n_calls, 0);
}

/* ---- munmap ---------------------------------------------------------------------------------- */

static void munmap_calls(void)
{
    setup(50);
    CHECK_INT(map(0, 4 * PG, RW, ANON), page(59));
    memset((void *)page(59), 0x11, 4 * PG);
    CHECK_INT(mm_munmap(&mm, page(60), 2 * PG - 5), 0);
    CHECK_INT(mm.nfree, USABLE - 2);
    CHECK(mm_app_range(&mm, page(59), PG) && mm_app_range(&mm, page(62), PG));
    CHECK(!mm_app_range(&mm, page(60), 1) && !mm_app_range(&mm, page(61), 1));
    /* Twice, or over free pages: nothing changes, as on Linux. */
    CHECK_INT(mm_munmap(&mm, page(60), 2 * PG), 0);
    CHECK_INT(mm_munmap(&mm, page(10), PG), 0);
    CHECK_INT(mm.nfree, USABLE - 2);
    /* Reused: the highest free run, zeroed. */
    CHECK_INT(map(0, 2 * PG, RW, ANON), page(60));
    CHECK(all_bytes(page(60), 2 * PG, 0));
    CHECK(all_bytes(page(59), PG, 0x11) && all_bytes(page(62), PG, 0x11));
    /* Bad arguments. */
    CHECK_INT(mm_munmap(&mm, page(60) + 1, PG), -EINVAL);
    CHECK_INT(mm_munmap(&mm, page(60), 0), -EINVAL);
    CHECK_INT(mm_munmap(&mm, page(60), SIZE_MAX), -EINVAL);
    CHECK_INT(mm_munmap(&mm, 0x7ffffffff000UL, PG), -EINVAL);
    CHECK_INT(mm_munmap(&mm, UINTPTR_MAX & ~(PG - 1), 2 * PG), -EINVAL);
    CHECK_INT(mm.nfree, USABLE - 4);
    /* Outside the region: accepted, nothing freed; a range across its start frees its part. */
    CHECK_INT(mm_munmap(&mm, 0x10000000, PG), 0);
    CHECK_INT(mm_brk(&mm, page(2)), page(2));
    CHECK_INT(mm_munmap(&mm, base - 4 * PG, 5 * PG), 0);
    CHECK(!mm_app_range(&mm, page(0), 1) && mm_app_range(&mm, page(1), PG));
    CHECK_INT(mm.nfree, USABLE - 5);
    /* The LibOS's pages are not the application's to unmap. */
    uint8_t *own = mm_alloc(&mm, 2 * PG);
    CHECK_INT((uintptr_t)own, page(57));
    own[0] = 1;
    CHECK_INT(mm_munmap(&mm, page(57), PG), 0);
    CHECK_INT(mm_munmap(&mm, page(63), PG), 0);
    CHECK_INT(mm.nfree, USABLE - 7);
    CHECK_INT(own[0], 1);
    CHECK_INT(map(0, PG, RW, ANON), page(56));
}

/* ---- mprotect, madvise ----------------------------------------------------------------------- */

static void mprotect_calls(void)
{
    setup(0);
    mm_set_window(&mm, 0x10000000, 0x100000);
    CHECK_INT(map(0, 2 * PG, RW, ANON), page(61));
    CHECK_INT(mm_mprotect(&mm, page(61), 2 * PG, PROT_READ), 0);
    CHECK_INT(mm_mprotect(&mm, page(61), PG + 1, PROT_NONE), 0);
    CHECK_INT(mm_mprotect(&mm, page(60), 2 * PG, PROT_READ), -ENOMEM);
    CHECK_INT(mm_mprotect(&mm, page(62), 2 * PG, PROT_READ), -ENOMEM);
    CHECK_INT(mm_mprotect(&mm, page(10), PG, PROT_READ), -ENOMEM);
    CHECK_INT(mm_mprotect(&mm, 0x10000000, 0x100000, PROT_READ | PROT_EXEC), 0);
    CHECK_INT(mm_mprotect(&mm, 0x100ff000, PG, RW), 0);
    CHECK_INT(mm_mprotect(&mm, 0x100ff000, PG + 1, RW), -ENOMEM);
    CHECK_INT(mm_mprotect(&mm, 0x0ffff000, 2 * PG, RW), -ENOMEM);
    CHECK_INT(mm_mprotect(&mm, 0x20000000, PG, RW), -ENOMEM);
    CHECK_INT(mm_mprotect(&mm, page(61) + 1, PG, RW), -EINVAL);
    CHECK_INT(mm_mprotect(&mm, page(61), PG, 0x10), -EINVAL);
    CHECK_INT(mm_mprotect(&mm, page(61), PG, PROT_READ | PROT_GROWSDOWN), 0);
    CHECK_INT(mm_mprotect(&mm, page(61), PG, PROT_GROWSDOWN | PROT_GROWSUP), -EINVAL);
    CHECK_INT(mm_mprotect(&mm, page(61), 0, RW), 0);
    CHECK_INT(mm_mprotect(&mm, page(10), 0, RW), 0);
    CHECK_INT(mm_mprotect(&mm, page(61), SIZE_MAX, RW), -ENOMEM);
    CHECK_INT(mm_mprotect(&mm, UINTPTR_MAX & ~(PG - 1), 2 * PG, RW), -ENOMEM);
    /* The pages stay as they were: read-write. */
    memset((void *)page(61), 1, 2 * PG);
}

static void madvise_calls(void)
{
    setup(50);
    CHECK_INT(map(0, 3 * PG, RW, ANON), page(60));
    memset((void *)page(60), 0x22, 3 * PG);
    uint8_t *own = mm_alloc(&mm, PG + 1);
    CHECK_INT((uintptr_t)own, page(58));
    own[0] = 7;
    CHECK_INT(mm_madvise(&mm, page(60), PG, MADV_WILLNEED), 0);
    CHECK(all_bytes(page(60), 3 * PG, 0x22));
    /* MADV_DONTNEED: the application's pages read back as zeros; the LibOS's are left. */
    CHECK_INT(mm_madvise(&mm, page(58), 3 * PG + 1, MADV_DONTNEED), 0);
    CHECK(all_bytes(page(60), 2 * PG, 0));
    CHECK(all_bytes(page(62), PG, 0x22));
    CHECK_INT(own[0], 7);
    CHECK(mm_app_range(&mm, page(60), 3 * PG));
    CHECK_INT(mm_madvise(&mm, page(60) + 8, PG, MADV_DONTNEED), -EINVAL);
    CHECK_INT(mm_madvise(&mm, page(60), SIZE_MAX, MADV_DONTNEED), -EINVAL);
    CHECK_INT(mm_madvise(&mm, UINTPTR_MAX & ~(PG - 1), 2 * PG, MADV_DONTNEED), -EINVAL);
    CHECK_INT(mm_madvise(&mm, page(60), 0, MADV_DONTNEED), 0);
    CHECK_INT(mm_madvise(&mm, 0x10000000, PG, MADV_DONTNEED), 0);
    CHECK(all_bytes(page(62), PG, 0x22));
}

/* PROT_EXEC makes the application's pages executable (and still writable) through env.protect,
 * one call per run of pages that changes; freed pages lose it. */
static void exec_pages(void)
{
    setup(0);
    mm_set_window(&mm, 0x10000000, 0x100000);
    CHECK_INT(map(0, 2 * PG, PROT_READ | PROT_EXEC, ANON), page(61));
    CHECK_INT(n_calls, 1);
    CHECK_CALL(0, page(61), 2 * PG, true);
    CHECK_INT(map(0, PG, RW, ANON), page(60));
    CHECK_INT(n_calls, 1);
    CHECK_INT(mm_mprotect(&mm, page(60), 3 * PG, PROT_READ | PROT_EXEC), 0);
    CHECK_INT(n_calls, 2);
    CHECK_CALL(1, page(60), PG, true);
    CHECK_INT(mm_mprotect(&mm, page(61), PG, PROT_READ), 0);
    CHECK_CALL(2, page(61), PG, false);
    CHECK_INT(mm_mprotect(&mm, page(60), 3 * PG, PROT_EXEC), 0);
    CHECK_CALL(3, page(61), PG, true);
    CHECK_INT(n_calls, 4);
    /* Still writable: the LibOS zeroes and fills them. */
    memset((void *)page(60), 0x44, 3 * PG);
    CHECK_INT(map(page(62), PG, RW, ANON | MAP_FIXED), page(62));
    CHECK_CALL(4, page(62), PG, false);
    CHECK(all_bytes(page(62), PG, 0));
    CHECK_INT(mm_mmap(&mm, page(62), PG, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, 3, 0),
              page(62));
    CHECK_CALL(5, page(62), PG, true);
    CHECK_INT(*(uint8_t *)page(62), file_byte(0));
    /* The window keeps its own rights; brk and the LibOS's memory are never executable. */
    CHECK_INT(mm_mprotect(&mm, 0x10000000, PG, PROT_READ | PROT_EXEC), 0);
    CHECK_INT(mm_brk(&mm, page(2)), page(2));
    CHECK(mm_alloc(&mm, 3 * PG) != NULL);
    CHECK(mm_alloc(&mm, 10) != NULL);
    CHECK_INT(n_calls, 6);
    /* Unmapped, in one call for the run; unmapped again, nothing. */
    CHECK_INT(mm_munmap(&mm, page(60), 3 * PG), 0);
    CHECK_INT(n_calls, 7);
    CHECK_CALL(6, page(60), 3 * PG, false);
    CHECK_INT(mm_munmap(&mm, page(60), 3 * PG), 0);
    CHECK_INT(n_calls, 7);
    /* A failing env.protect fails the call, and the pages go back. */
    protect_error = -ENOSYS;
    size_t nfree = mm.nfree;
    CHECK_INT(map(0, PG, PROT_READ | PROT_EXEC, ANON), -ENOSYS);
    CHECK_INT(mm.nfree, nfree);
    CHECK(!mm_app_range(&mm, page(62), 1));
    CHECK_INT(map(0, PG, RW, ANON), page(62));
    CHECK_INT(mm_mprotect(&mm, page(62), PG, PROT_READ | PROT_EXEC), -ENOSYS);
    CHECK_INT(mm_mprotect(&mm, page(62), PG, PROT_READ), 0);
    /* A page that could not lose the right keeps its bit until it is handed out again. */
    protect_error = 0;
    CHECK_INT(mm_mprotect(&mm, page(62), PG, PROT_READ | PROT_EXEC), 0);
    CHECK_CALL(7, page(62), PG, true);
    protect_error = -ENOSYS;
    CHECK_INT(mm_munmap(&mm, page(62), PG), 0);
    protect_error = 0;
    CHECK_INT(map(0, PG, RW, ANON), page(62));
    CHECK_INT(n_calls, 9);
    CHECK_CALL(8, page(62), PG, false);
}

/* ---- the LibOS's allocations ----------------------------------------------------------------- */

static void small_allocations(void)
{
    setup(50);
    /* Sizes 1..16 share a class: a page cut into 256 blocks, handed out from its start. */
    uint8_t *a = mm_alloc(&mm, 1), *b = mm_alloc(&mm, 16), *c = mm_alloc(&mm, 0);
    CHECK_INT((uintptr_t)a, page(62));
    CHECK_INT((uintptr_t)b, page(62) + 16);
    CHECK_INT((uintptr_t)c, page(62) + 32);
    CHECK_INT(mm.nfree, USABLE - 1);
    uint8_t *d = mm_alloc(&mm, 17), *e = mm_alloc(&mm, MM_SMALL_MAX), *f = mm_alloc(&mm, 2000);
    CHECK_INT((uintptr_t)d, page(61));
    CHECK_INT((uintptr_t)e, page(60));
    CHECK_INT((uintptr_t)f, page(60) + 2048);
    CHECK_INT(mm.nfree, USABLE - 3);
    CHECK(all_bytes((uintptr_t)e, MM_SMALL_MAX, 0) && all_bytes((uintptr_t)f, 2048, 0));
    /* Freed blocks come back first, zeroed. */
    memset(b, 0xff, 16);
    mm_free(&mm, b, 16);
    CHECK_INT((uintptr_t)mm_alloc(&mm, 9), (uintptr_t)b);
    CHECK(all_bytes((uintptr_t)b, 16, 0));
    memset(e, 0xff, MM_SMALL_MAX);
    mm_free(&mm, e, MM_SMALL_MAX);
    mm_free(&mm, f, 2000);
    CHECK_INT((uintptr_t)mm_alloc(&mm, 1500), (uintptr_t)f);
    CHECK_INT((uintptr_t)mm_alloc(&mm, 1025), (uintptr_t)e);
    CHECK(all_bytes((uintptr_t)e, MM_SMALL_MAX, 0));
    CHECK_INT((uintptr_t)mm_alloc(&mm, 2048), page(59));
    mm_free(&mm, NULL, 16);
    mm_free(&mm, NULL, 1 << 20);
    /* Blocks are the LibOS's: never an application range. */
    CHECK(!mm_app_range(&mm, (uintptr_t)a, 1));
    (void)c;
    (void)d;
}

static void large_allocations(void)
{
    setup(40);
    uint8_t *a = mm_alloc(&mm, MM_SMALL_MAX + 1);
    CHECK_INT((uintptr_t)a, page(62));
    uint8_t *b = mm_alloc(&mm, 3 * PG);
    CHECK_INT((uintptr_t)b, page(59));
    CHECK_INT(mm.nfree, USABLE - 4);
    memset(b, 0x33, 3 * PG);
    mm_free(&mm, b, 3 * PG);
    CHECK_INT(mm.nfree, USABLE - 1);
    /* Handed out again, zeroed; to the application too. */
    CHECK_INT(map(0, PG, RW, ANON), page(61));
    CHECK(all_bytes(page(61), PG, 0));
    uint8_t *c = mm_alloc(&mm, 2 * PG);
    CHECK_INT((uintptr_t)c, page(59));
    CHECK(all_bytes((uintptr_t)c, 2 * PG, 0));
    /* Too large, or larger than the region: NULL, nothing taken. */
    CHECK(mm_alloc(&mm, SIZE_MAX) == NULL);
    CHECK(mm_alloc(&mm, NPAGES * PG) == NULL);
    CHECK(mm_alloc(&mm, 60 * PG) == NULL);
    CHECK_INT(mm.nfree, USABLE - 4);
    /* A free that does not name an allocation of the region is ignored. */
    mm_free(&mm, (void *)(page(61) + 1), 3 * PG);
    mm_free(&mm, (void *)0x1000, 3 * PG);
    mm_free(&mm, (void *)page(61), PG); /* the application's page: not the LibOS's */
    CHECK_INT(mm.nfree, USABLE - 4);
    CHECK(mm_app_range(&mm, page(61), PG));
}

/* ---- exhaustion and untouched pages ---------------------------------------------------------- */

static void exhaustion(void)
{
    setup(0);
    size_t n = 0;
    long a;
    while ((a = map(0, PG, RW, ANON)) > 0) {
        CHECK_INT(a, page(62 - n));
        n++;
    }
    CHECK_INT(a, -ENOMEM);
    CHECK_INT(n, USABLE);
    CHECK_INT(mm.nfree, 0);
    CHECK(mm_alloc(&mm, 1) == NULL);
    CHECK(mm_alloc(&mm, 2 * PG) == NULL);
    CHECK_INT(mm_brk(&mm, base + 1), base);
    CHECK_INT(mm_mmap(&mm, 0, PG, PROT_READ, MAP_PRIVATE, 3, 0), -ENOMEM);
    CHECK_INT(mm_munmap(&mm, page(30), PG), 0);
    CHECK_INT(map(0, 2 * PG, RW, ANON), -ENOMEM);
    CHECK_INT(map(0, PG, RW, ANON), page(30));
    CHECK_INT(mm_munmap(&mm, page(0), PG), 0);
    CHECK_INT(mm_brk(&mm, base + 1), base + 1);
    CHECK_INT(mm_brk(&mm, page(1) + 1), base + 1);
    /* Every page was handed out and written to by nobody: all zero. */
    CHECK(all_bytes(base, USABLE * PG, 0));
}

/* Pages never handed out are never read or written (they are PROT_NONE here); pages handed out
 * and not written are read when handed out again, not written. */
static void untouched_pages(void)
{
    setup(60);
    CHECK_INT(map(0, 3 * PG, RW, ANON), page(60));
    CHECK_INT(mm_munmap(&mm, page(60), 3 * PG), 0);
    CHECK(mprotect((void *)page(60), 3 * PG, PROT_READ) == 0);
    CHECK_INT(map(0, 3 * PG, RW, ANON), page(60));
    CHECK_INT(map(page(61), PG, RW, ANON | MAP_FIXED), page(61));
    CHECK_INT(mm_madvise(&mm, page(60), 3 * PG, MADV_DONTNEED), 0);
    CHECK(mprotect((void *)page(60), 3 * PG, RW) == 0);
    /* Handing out, checking and freeing pages 0..59 touches none of them. */
    CHECK_INT(mm_brk(&mm, page(5)), page(5));
    CHECK_INT(mm_brk(&mm, base), base);
    CHECK_INT(map(page(20), 10 * PG, RW, ANON | MAP_FIXED), page(20));
    CHECK(mm_app_range(&mm, page(20), 10 * PG));
    CHECK_INT(mm_mprotect(&mm, page(20), 10 * PG, PROT_NONE), 0);
    CHECK_INT(mm_munmap(&mm, page(20), 10 * PG), 0);
    CHECK_INT(map(page(40), 10 * PG, RW, ANON | MAP_FIXED), page(40));
    CHECK_INT(mm.nfree, USABLE - 13);
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(init_checks),       TAP_TEST(brk_calls),         TAP_TEST(mmap_anonymous),
        TAP_TEST(mmap_fixed),        TAP_TEST(mmap_file),         TAP_TEST(munmap_calls),
        TAP_TEST(mprotect_calls),    TAP_TEST(madvise_calls),     TAP_TEST(exec_pages),
        TAP_TEST(small_allocations), TAP_TEST(large_allocations), TAP_TEST(exhaustion),
        TAP_TEST(untouched_pages),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
