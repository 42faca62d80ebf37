/* reloc: data holding absolute pointers, so the image needs R_X86_64_RELATIVE relocations;
 * prints what they point at, which is only right when the loader relocated them. */
#include "cvm.h"

/* Exported, so the compiler cannot fold the pointers away: they stay in data. */
CVM_EXPORT const char *words[] = {"alpha", "beta", "gamma"};
CVM_EXPORT const char **table = words;

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    for (int i = 0; i < 3; i++)
        printf("%s%s", table[i], i < 2 ? " " : "\n");
    return 0;
}
