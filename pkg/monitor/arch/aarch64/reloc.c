/* AArch64 relocation names, so images for Morello hosts can be measured on any build host. */
#include <elf.h>

#include "../../loader.h"

static const char *aarch64_type_name(uint32_t type)
{
    switch (type) {
    case R_AARCH64_NONE: return "R_AARCH64_NONE";
    case R_AARCH64_ABS64: return "R_AARCH64_ABS64";
    case R_AARCH64_GLOB_DAT: return "R_AARCH64_GLOB_DAT";
    case R_AARCH64_JUMP_SLOT: return "R_AARCH64_JUMP_SLOT";
    case R_AARCH64_RELATIVE: return "R_AARCH64_RELATIVE";
    case R_AARCH64_TLS_TPREL: return "R_AARCH64_TLS_TPREL";
    case R_AARCH64_IRELATIVE: return "R_AARCH64_IRELATIVE";
    default: return "unknown";
    }
}

const struct cvm_reloc_arch cvm_reloc_arch_aarch64 = {
    .machine = EM_AARCH64,
    .name = "aarch64",
    .r_none = R_AARCH64_NONE,
    .r_relative = R_AARCH64_RELATIVE,
    .type_name = aarch64_type_name,
};
