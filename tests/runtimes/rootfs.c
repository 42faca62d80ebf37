/* rootfs: reads the deployment's root.cpio through hostcalls 900/901 as a LibOS would, lists
 * its newc entries (specs/image-format.md §4), then makes reads with hostile arguments. */
#include "cvm.h"

#define PIECE 999 /* an odd size, so that reads start at offsets of every alignment */

static void show(const char *what, long r)
{
    printf("%s: %ld\n", what, r);
}

static unsigned long hex8(const unsigned char *p)
{
    unsigned long v = 0;
    for (int i = 0; i < 8; i++) {
        int c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return ~0UL;
        v = v << 4 | (unsigned long)d;
    }
    return v;
}

static unsigned long align4(unsigned long v)
{
    return (v + 3) & ~3UL;
}

/* FNV-1a, 32 bits: lets the test compare what arrived with what it packed. */
static unsigned fnv1a(const unsigned char *p, unsigned long n)
{
    unsigned h = 2166136261u;
    for (unsigned long i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static const char *kind(unsigned long mode)
{
    switch (mode & 0170000) {
    case 0100000: return "file";
    case 0040000: return "dir";
    case 0120000: return "symlink";
    default: return "other";
    }
}

/* Prints one line per entry; returns the count, or -1 for an archive it cannot walk. */
static long list(const unsigned char *a, unsigned long len)
{
    long count = 0;
    unsigned long at = 0;
    for (;;) {
        if (len - at < 110 || memcmp(a + at, "070701", 6) != 0)
            return -1;
        const unsigned char *h = a + at + 6;
        unsigned long mode = hex8(h + 8), size = hex8(h + 48), namesize = hex8(h + 88);
        if (mode == ~0UL || size == ~0UL || namesize == ~0UL || namesize == 0 ||
            namesize > len - at - 110)
            return -1;
        const char *name = (const char *)a + at + 110;
        if (name[namesize - 1] != 0)
            return -1;
        unsigned long data = align4(at + 110 + namesize);
        if (data > len || size > len - data)
            return -1;
        if (strcmp(name, "TRAILER!!!") == 0)
            return count;
        printf("%s %s size %lu fnv1a %08x\n", kind(mode), name, size, fnv1a(a + data, size));
        count++;
        at = align4(data + size);
        if (at > len)
            return -1;
    }
}

static void hostile(const struct cvm_boot *b, long size)
{
    unsigned long end = b->window_base + b->window_size;
    unsigned char *buf = (unsigned char *)b->heap_base;
    show("buffer outside window", cvm_hc(ROOTFS_READ, 0x1000, 16, 0));
    show("buffer across window end", cvm_hc(ROOTFS_READ, end - 8, 16, 0));
    show("buffer in guard page", cvm_hc(ROOTFS_READ, end - 256 * 1024, 16, 0));
    show("buffer in boot block", cvm_hc(ROOTFS_READ, b, 16, 0));
    show("buffer in code", cvm_hc(ROOTFS_READ, hostile, 16, 0));
    show("null buffer, len 0", cvm_hc(ROOTFS_READ, 0, 0, 0));
    show("len past end", cvm_hc(ROOTFS_READ, buf, size + 1, 0));
    show("offset+len past end", cvm_hc(ROOTFS_READ, buf, 2, size - 1));
    show("offset past end", cvm_hc(ROOTFS_READ, buf, 0, size + 1));
    show("negative len", cvm_hc(ROOTFS_READ, buf, -1L, 0));
    show("negative offset", cvm_hc(ROOTFS_READ, buf, 1, -1L));
    show("offset+len wraps", cvm_hc(ROOTFS_READ, buf, 16, -8L));
    show("bad range and bad buffer", cvm_hc(ROOTFS_READ, 0x1000, size + 1, 0));
    show("len 0 at end", cvm_hc(ROOTFS_READ, buf, 0, size));
    show("last byte", cvm_hc(ROOTFS_READ, buf, 1, size - 1));
    show("byte at offset 1", cvm_hc(ROOTFS_READ, buf, 1, 1));
    printf("it is '%c'\n", buf[0]);
}

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    const struct cvm_boot *b = cvm_boot_block;
    long size = cvm_hc(ROOTFS_SIZE);
    show("rootfs size", size);
    if (size < 0) {
        show("read without rootfs", cvm_hc(ROOTFS_READ, b->heap_base, 16, 0));
        show("bad buffer without rootfs", cvm_hc(ROOTFS_READ, 0x1000, 16, 0));
        show("bad range without rootfs", cvm_hc(ROOTFS_READ, b->heap_base, 1, -1L));
        return 0;
    }
    if ((unsigned long)size > b->heap_size) {
        printf("archive larger than the heap\n");
        return 1;
    }
    unsigned char *a = (unsigned char *)b->heap_base;
    long got = 0;
    while (got < size) {
        long n = size - got < PIECE ? size - got : PIECE;
        long r = cvm_hc(ROOTFS_READ, a + got, n, got);
        if (r != n) {
            printf("read of %ld at %ld: %ld\n", n, got, r);
            return 1;
        }
        got += r;
    }
    printf("read %ld bytes, fnv1a %08x\n", got, fnv1a(a, (unsigned long)got));
    long n = list(a, (unsigned long)got);
    if (n < 0) {
        printf("not a newc archive\n");
        return 1;
    }
    printf("entries: %ld\n", n);
    hostile(b, size);
    return 0;
}
