/* inner: its hostcalls go to the outer cVM (callback_out), which reports this message. */
#include "cvm.h"

int main(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv, (void)envp;
    static const char msg[] = "hello world from inner\n";
    cvm_write(msg, sizeof(msg) - 1);
    return 0;
}
