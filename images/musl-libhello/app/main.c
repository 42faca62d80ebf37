/* main: a dynamically linked musl program that loads /usr/lib/libhello.so from the rootfs with
 * dlopen() and calls its hello(). */
#include <dlfcn.h>
#include <stdio.h>

#define LIB "/usr/lib/libhello.so"

int main(void)
{
    printf("app main\n");
    void *lib = dlopen(LIB, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        printf("cannot load '%s': %s\n", LIB, dlerror());
        return 1;
    }
    void (*hello)(void);
    /* POSIX's way to turn dlsym's object pointer into a function pointer. */
    *(void **)&hello = dlsym(lib, "hello");
    if (!hello) {
        printf("no function 'hello' in '%s': %s\n", LIB, dlerror());
        return 1;
    }
    hello();
    dlclose(lib);
    return 0;
}
