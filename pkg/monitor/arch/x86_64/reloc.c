/* x86-64 relocation names; the loader applies only R_X86_64_RELATIVE (and DT_RELR). */
#include <elf.h>

#include "../../loader.h"

static const char *x86_64_type_name(uint32_t type)
{
    static const char *const names[] = {
        [R_X86_64_NONE] = "R_X86_64_NONE",
        [R_X86_64_64] = "R_X86_64_64",
        [R_X86_64_PC32] = "R_X86_64_PC32",
        [R_X86_64_GOT32] = "R_X86_64_GOT32",
        [R_X86_64_PLT32] = "R_X86_64_PLT32",
        [R_X86_64_COPY] = "R_X86_64_COPY",
        [R_X86_64_GLOB_DAT] = "R_X86_64_GLOB_DAT",
        [R_X86_64_JUMP_SLOT] = "R_X86_64_JUMP_SLOT",
        [R_X86_64_RELATIVE] = "R_X86_64_RELATIVE",
        [R_X86_64_GOTPCREL] = "R_X86_64_GOTPCREL",
        [R_X86_64_32] = "R_X86_64_32",
        [R_X86_64_32S] = "R_X86_64_32S",
        [R_X86_64_DTPMOD64] = "R_X86_64_DTPMOD64",
        [R_X86_64_DTPOFF64] = "R_X86_64_DTPOFF64",
        [R_X86_64_TPOFF64] = "R_X86_64_TPOFF64",
        [R_X86_64_IRELATIVE] = "R_X86_64_IRELATIVE",
    };
    if (type < sizeof(names) / sizeof(names[0]) && names[type])
        return names[type];
    return "unknown";
}

const struct cvm_reloc_arch cvm_reloc_arch_x86_64 = {
    .machine = EM_X86_64,
    .name = "x86-64",
    .r_none = R_X86_64_NONE,
    .r_relative = R_X86_64_RELATIVE,
    .type_name = x86_64_type_name,
};
