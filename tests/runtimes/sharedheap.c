/* sharedheap: members of a heap group pass a message through their shared heap, which
 * hostcalls accept as their memory; an outsider's pointer into it gets -EFAULT.
 *   sharedheap write | read | outside <shared heap address in hex> */
#include "cvm.h"

static void show(const char *what, long r)
{
    printf("%s: %ld\n", what, r);
}

static unsigned long parse_hex(const char *s)
{
    unsigned long v = 0;
    for (s += s[0] == '0' && s[1] == 'x' ? 2 : 0; *s; s++)
        v = v * 16 + (unsigned long)(*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
    return v;
}

static int zero(const char *p, unsigned long len)
{
    for (unsigned long i = 0; i < len; i++)
        if (p[i])
            return 0;
    return 1;
}

int main(int argc, char **argv, char **envp)
{
    (void)envp;
    const struct cvm_boot *b = cvm_boot_block;
    const char *role = argc > 1 ? argv[1] : "";
    char *heap = (char *)b->heap_base;
    int inside = b->heap_base >= b->window_base && b->heap_base - b->window_base < b->window_size;
    if (inside)
        printf("%s: heap inside its window\n", b->name);
    else
        printf("%s: heap 0x%lx+0x%lx\n", b->name, b->heap_base, b->heap_size);
    if (strcmp(role, "write") == 0) {
        static const char msg[] = "a message through the shared heap\n";
        printf("zero-filled: %d\n", zero(heap, 8192) && zero(heap + b->heap_size - 4096, 4096));
        memcpy(heap, msg, sizeof(msg));
        heap[b->heap_size - 1] = '!';
        return 0;
    }
    if (strcmp(role, "read") == 0) {
        printf("last byte: %c\n", heap[b->heap_size - 1]);
        show("write from the shared heap", cvm_hc(WRITE, heap, strlen(heap)));
        show("gettimeofday into the shared heap", cvm_hc(GETTIMEOFDAY, heap + 4096, 0));
        show("write across its end", cvm_hc(WRITE, b->heap_base + b->heap_size - 2, 4));
        show("write past its end", cvm_hc(WRITE, b->heap_base + b->heap_size, 1));
        show("write before its start", cvm_hc(WRITE, b->heap_base - 1, 1));
        return 0;
    }
    if (strcmp(role, "outside") == 0 && argc > 2) {
        unsigned long shared = parse_hex(argv[2]);
        show("outsider's write from the shared heap", cvm_hc(WRITE, shared, 4));
        show("outsider's gettimeofday into it", cvm_hc(GETTIMEOFDAY, shared + 4096, 0));
        return 0;
    }
    printf("usage: sharedheap write | read | outside <address>\n");
    return 2;
}
