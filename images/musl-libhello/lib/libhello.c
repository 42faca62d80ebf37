/* libhello.so: the shared library the musl-libhello program loads from the rootfs. */
#include <stdio.h>

void hello(void);

void hello(void)
{
    printf("hello world from lib\n");
}
