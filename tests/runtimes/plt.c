/* plt: calls an exported function without -Bsymbolic, so the call goes through the PLT and
 * needs an R_X86_64_JUMP_SLOT relocation, which the loader refuses. */
#include "cvm.h"

CVM_EXPORT int plt_target(int x)
{
    return x + 1;
}

int main(int argc, char **argv, char **envp)
{
    (void)argv, (void)envp;
    return plt_target(argc);
}
