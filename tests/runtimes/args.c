/* args: prints its arguments, environment, id and heap as the boot block gives them. */
#include "cvm.h"

int main(int argc, char **argv, char **envp)
{
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    for (int i = 0; envp[i]; i++)
        printf("env[%d]=%s\n", i, envp[i]);
    const struct cvm_boot *b = cvm_boot_block;
    printf("id=%ld name=%s heap-inside=%d\n", cvm_hc(GETID), b->name,
           b->heap_base > b->window_base &&
               b->heap_base + b->heap_size <= b->window_base + b->window_size);
    /* the heap is zero-filled and writable */
    volatile char *heap = (volatile char *)b->heap_base;
    heap[0] = 'x';
    printf("heap[1]=%d\n", heap[1]);
    return argc;
}
