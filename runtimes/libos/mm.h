/* The LibOS's memory: the shared heap region split into pages for the application's brk and
 * mmap and for the LibOS's own allocations (specs/libos.md §4). Freestanding: no libc, no
 * globals, so a host unit test links it. Not thread-safe: the LibOS calls it under its lock. */
#ifndef CVM_LIBOS_MM_H
#define CVM_LIBOS_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MM_PAGE 4096u
#define MM_SMALL_MAX 2048u /* mm_alloc serves larger sizes with whole pages */
#define MM_CLASSES 8       /* small sizes: 16, 32, ... MM_SMALL_MAX bytes */

/* What the LibOS provides: reading a file for a file-backed mmap, and page rights. */
struct mm_env {
    /* Copies up to n bytes of the file open as fd, from off, into buf (memory of the region):
     * the count, short or 0 past the end of the file, or -errno. With n == 0 it only checks that
     * fd can be mapped (buf is then NULL). NULL: every file mapping fails with -ENODEV. */
    long (*file_read)(void *ctx, int fd, void *buf, size_t n, uint64_t off);
    /* Makes the whole pages [addr, addr + len) of the region read-write-execute (exec) or
     * read-write (!exec): 0 or -errno. NULL: PROT_EXEC is accepted and has no effect. */
    long (*protect)(void *ctx, uintptr_t addr, size_t len, bool exec);
    void *ctx;
};

/* Every page of the region is free, the application's or the LibOS's (two bitmaps); a third
 * bitmap marks pages handed out since they were last known to be zero, a fourth the pages made
 * executable (only ever the application's). The bitmaps fill the region's last pages. The break
 * lies at the region's start and grows up; mmap and the LibOS take the highest free pages, so
 * the two meet only when the region is full. */
struct mm {
    struct mm_env env;
    uintptr_t base;     /* region start, page-aligned */
    size_t npages;      /* pages in the region, the bitmaps' own included */
    size_t nfree;       /* free pages */
    uint64_t *used;     /* bit set: the page is handed out */
    uint64_t *app;      /* bit set: handed out to the application (brk or mmap) */
    uint64_t *dirty;    /* bit clear: the page is zero, having never been handed out */
    uint64_t *exec;     /* bit set: the page is read-write-execute, not read-write */
    uintptr_t brk;      /* the break: [base, brk) rounded up to pages is brk memory */
    uintptr_t win_base; /* the application's window, for mprotect; size 0: none */
    size_t win_size;
    void *small[MM_CLASSES]; /* free small blocks by size class, linked through their start */
};

/* Takes over [base, base + size), both page-aligned and the memory zero-filled (as the shared
 * heap is at deploy: it is not touched here). Returns 0, -EINVAL for a misaligned or wrapping
 * region, -ENOMEM when it cannot hold its bitmaps and one more page. env may be NULL. */
long mm_init(struct mm *mm, uintptr_t base, size_t size, const struct mm_env *env);

/* The application's window: mprotect accepts ranges inside it. */
void mm_set_window(struct mm *mm, uintptr_t base, size_t size);

/* The LibOS's own memory: n zeroed bytes (at least one), or NULL when the region is full. Sizes
 * up to MM_SMALL_MAX come from pages cut into blocks of a size class; larger ones are whole
 * pages. mm_free takes the size given to mm_alloc; mm_free(mm, NULL, n) is a no-op. */
void *mm_alloc(struct mm *mm, size_t n);
void mm_free(struct mm *mm, void *p, size_t n);

/* The application's memory calls, with Linux x86-64 arguments and results (-errno). */
long mm_brk(struct mm *mm, uintptr_t addr);
long mm_mmap(struct mm *mm, uintptr_t addr, size_t len, long prot, long flags, long fd, long off);
long mm_munmap(struct mm *mm, uintptr_t addr, size_t len);
long mm_mprotect(struct mm *mm, uintptr_t addr, size_t len, long prot);
long mm_madvise(struct mm *mm, uintptr_t addr, size_t len, long advice);

/* Whether [p, p + n) (n > 0) lies in the region on pages all handed to the application. */
bool mm_app_range(const struct mm *mm, uintptr_t p, size_t n);

#endif
