/* Prints the hostcall table of specs/hostcall-abi.md §4 from abi/hostcalls.h, so that the spec
 * can be checked against the code (tests/e2e/t0020-spec-hostcalls.sh). */
#include <stdio.h>

#include "abi/hostcalls.h"

int main(void)
{
    printf("| number | name | arguments | returns and effect |\n");
    printf("|---:|---|---|---|\n");
#define ROW(nr, NAME, name, argc, args, doc)                                                       \
    printf("| %d | `%s` | `%s` | %s |\n", nr, #name, (args)[0] ? (args) : "void", doc);
    CVM_HOSTCALLS(ROW)
#undef ROW
    return 0;
}
