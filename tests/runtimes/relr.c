/* relr: the same program as reloc.c, linked with -z pack-relative-relocs (DT_RELR). */
#include "reloc.c"
