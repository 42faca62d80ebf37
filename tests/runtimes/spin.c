/* spin: never ends by itself; the monitor's timeout must stop it. */
#include "cvm.h"

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    printf("spinning\n");
    for (volatile unsigned long i = 0;; i++)
        ;
}
