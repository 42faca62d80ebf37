/*
 * Hashing a file: the cost that dominates `cvmctl verify`.
 *
 * On these machines SHA-256 with the CPU's SHA extensions runs at ~1.74 GB/s over data in
 * cache, but read() + hash on one core reaches ~1.37-1.6 GB/s: the copy out of the page
 * cache takes its share. mmap is slower still (~0.8 GB/s: a page fault per 4 KiB; ~1.45 GB/s
 * even with the pages populated ahead, as the hash then reads from memory). So large files
 * are read on a second thread into a ring of buffers while this thread hashes the chunks
 * before; the two overlap and the hash runs at ~1.65 GB/s. Small files and non-files are
 * read and hashed in line, where a thread would cost more than it saves.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "digest.h"

/* A ring of 8 chunks of 256 KiB: one 2 MiB huge page, so it costs one page fault rather
 * than 512 (~10 us each on these machines, DESIGN.md §7). */
#define CHUNK_SIZE (256u << 10)
#define RING_SLOTS 8u
#define RING_BYTES ((size_t)RING_SLOTS * CHUNK_SIZE)
/* Small files are read in chunks of this size in line. */
#define INLINE_CHUNK (64u << 10)
/* Below this a thread's start-up is not repaid. */
#define PIPELINE_MIN_SIZE (4u << 20)

/*
 * Chunk k lives in slot k % RING_SLOTS. The reader fills chunks while fewer than RING_SLOTS
 * are unhashed; the hasher hashes chunks the reader has filled. Wake-ups are system calls,
 * dear on these machines, so each side sleeps only when it must and the hasher wakes a
 * sleeping reader only once half the ring is free again.
 */
struct ring {
    pthread_mutex_t lock;
    pthread_cond_t reader_wake, hasher_wake;
    bool reader_sleeps, hasher_sleeps;
    unsigned filled, hashed; /* chunks so far */
    ssize_t len[RING_SLOTS]; /* bytes read; 0 at end of file; -errno on a read error */
    uint8_t *data;
    int fd;
};

static ssize_t read_retry(int fd, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = read(fd, buf, len);
        if (n >= 0 || errno != EINTR)
            return n < 0 ? -errno : n;
    }
}

/* Fills chunks in order until end of file or a read error, which it passes on. */
static void *reader_main(void *arg)
{
    struct ring *r = arg;
    for (unsigned k = 0;; k++) {
        pthread_mutex_lock(&r->lock);
        if (k - r->hashed == RING_SLOTS) {
            r->reader_sleeps = true;
            while (k - r->hashed > RING_SLOTS / 2)
                pthread_cond_wait(&r->reader_wake, &r->lock);
            r->reader_sleeps = false;
        }
        pthread_mutex_unlock(&r->lock);

        unsigned slot = k % RING_SLOTS;
        ssize_t n = read_retry(r->fd, r->data + (size_t)slot * CHUNK_SIZE, CHUNK_SIZE);

        pthread_mutex_lock(&r->lock);
        r->len[slot] = n;
        r->filled = k + 1;
        if (r->hasher_sleeps)
            pthread_cond_signal(&r->hasher_wake);
        pthread_mutex_unlock(&r->lock);
        if (n <= 0)
            return NULL;
    }
}

/* Consumes the ring to the end; returns 0 or -errno of the reader's failed read. */
static int hash_ring(struct ring *r, struct cvm_hasher *h, uint64_t *total)
{
    for (unsigned k = 0;; k++) {
        pthread_mutex_lock(&r->lock);
        if (r->filled == k) {
            r->hasher_sleeps = true;
            while (r->filled == k)
                pthread_cond_wait(&r->hasher_wake, &r->lock);
            r->hasher_sleeps = false;
        }
        unsigned slot = k % RING_SLOTS;
        ssize_t n = r->len[slot];
        pthread_mutex_unlock(&r->lock);
        if (n <= 0)
            return (int)n;

        cvm_hasher_update(h, r->data + (size_t)slot * CHUNK_SIZE, (size_t)n);
        *total += (uint64_t)n;

        pthread_mutex_lock(&r->lock);
        r->hashed = k + 1;
        if (r->reader_sleeps && r->filled - r->hashed <= RING_SLOTS / 2)
            pthread_cond_signal(&r->reader_wake);
        pthread_mutex_unlock(&r->lock);
    }
}

/* RING_BYTES on a 2 MiB boundary, asking for a transparent huge page; NULL on failure. */
static uint8_t *ring_map(void)
{
    size_t span = 2 * RING_BYTES;
    uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uint8_t *ring = (uint8_t *)(((uintptr_t)p + RING_BYTES - 1) & ~(uintptr_t)(RING_BYTES - 1));
    if (ring > p)
        munmap(p, (size_t)(ring - p));
    if (ring + RING_BYTES < p + span)
        munmap(ring + RING_BYTES, (size_t)(p + span - (ring + RING_BYTES)));
    /* Without THP this is a no-op and the ring is merely slower to fill. */
    madvise(ring, RING_BYTES, MADV_HUGEPAGE);
    return ring;
}

/* Returns 0, -errno of a failed read, or 1 when the pipeline could not start. */
static int hash_pipelined(int fd, struct cvm_hasher *h, uint64_t *total)
{
    uint8_t *buffers = ring_map();
    if (!buffers)
        return 1;
    struct ring r = {.fd = fd, .data = buffers};
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.reader_wake, NULL);
    pthread_cond_init(&r.hasher_wake, NULL);

    pthread_t reader;
    int res = 1;
    if (pthread_create(&reader, NULL, reader_main, &r) == 0) {
        res = hash_ring(&r, h, total);
        /* The reader has stopped after the chunk that ended the ring. */
        pthread_join(reader, NULL);
    }
    pthread_cond_destroy(&r.hasher_wake);
    pthread_cond_destroy(&r.reader_wake);
    pthread_mutex_destroy(&r.lock);
    munmap(buffers, RING_BYTES);
    return res;
}

static int hash_inline(int fd, uint8_t *buffer, struct cvm_hasher *h, uint64_t *total)
{
    for (;;) {
        ssize_t n = read_retry(fd, buffer, INLINE_CHUNK);
        if (n <= 0)
            return (int)n;
        cvm_hasher_update(h, buffer, (size_t)n);
        *total += (uint64_t)n;
    }
}

CVM_DEFINE_CLEANUP(struct cvm_hasher *, cvm_hasher_free)

int cvm_digest_fd(int fd, struct cvm_digest *ret, uint64_t *ret_size, struct cvm_error **err)
{
    struct stat st;
    bool large = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= PIPELINE_MIN_SIZE;

    CVM_AUTO(cvm_hasher_free) struct cvm_hasher *h = cvm_hasher_new();
    if (!h)
        return cvm_error_set_errno(err, ENOMEM, "cannot hash");

    uint64_t total = 0;
    int res = large ? hash_pipelined(fd, h, &total) : 1;
    if (res == 1) {
        /* Small: a chunk on the stack of this thread, whose pages are already touched. */
        uint8_t buffer[INLINE_CHUNK];
        res = hash_inline(fd, buffer, h, &total);
    }
    if (res < 0)
        return cvm_error_set_errno(err, -res, "cannot read");

    cvm_hasher_final(h, ret);
    if (ret_size)
        *ret_size = total;
    return 0;
}
