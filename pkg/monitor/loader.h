/* ELF runtime images: parsing (file-level checks) and loading (copy, measure, relocate).
 * Every field is untrusted: the loader bounds-checks before it reads or writes. */
#ifndef CVM_MONITOR_LOADER_H
#define CVM_MONITOR_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor.h"

#define CVM_ELF_MAX_LOADS 16
#define CVM_ELF_MAX_PHDRS 64
#define CVM_ELF_MAX_SPAN (1ULL << 32) /* 4 GiB: larger images are refused */

/* Relocation knowledge of one architecture (arch/<arch>/reloc.c). */
struct cvm_reloc_arch {
    uint16_t machine; /* EM_* */
    const char *name;
    uint32_t r_none;
    uint32_t r_relative;
    const char *(*type_name)(uint32_t type);
};

const struct cvm_reloc_arch *cvm_reloc_arch_find(uint16_t machine);
extern const struct cvm_reloc_arch cvm_reloc_arch_x86_64;
extern const struct cvm_reloc_arch cvm_reloc_arch_aarch64;

struct cvm_elf_segment {
    uint64_t vaddr, memsz, offset, filesz;
    uint32_t flags; /* PF_R | PF_W | PF_X */
};

/* What an ELF file is to the loader. A runtime is loaded, relocated and linked to the monitor
 * by it (specs/hostcall-abi.md §1); a Linux program is only placed and measured, and relocates
 * itself or is relocated by its interpreter, as under Linux (specs/hostcall-abi.md §7). */
enum cvm_elf_kind {
    CVM_ELF_RUNTIME,
    CVM_ELF_PROGRAM,
};

struct cvm_elf_image {
    const char *name; /* for messages; borrowed */
    enum cvm_elf_kind kind;
    const uint8_t *file;
    size_t file_len;
    const struct cvm_reloc_arch *arch;
    struct cvm_elf_segment seg[CVM_ELF_MAX_LOADS];
    size_t n_seg;
    uint64_t span;                /* last PT_LOAD vaddr + memsz: the measured, loaded extent */
    uint64_t entry;               /* offset from the load base */
    uint64_t dyn_vaddr, dyn_size; /* dyn_size 0: no PT_DYNAMIC */
    /* Programs: where the program headers are once loaded (offset from the base, for
     * AT_PHDR), how many, and whether it names an interpreter (PT_INTERP). */
    uint64_t phdr_vaddr;
    uint16_t phnum;
    bool has_interp;
};

/* What loading produced: offsets are relative to the load base. */
struct cvm_elf_loaded {
    uint8_t measurement[CVM_SHA256_LEN];
    uint64_t entry;
    uint64_t syscall_handler; /* 0 when the runtime exports none */
    uint64_t boot_symbol;     /* `cvm_boot_block`, a pointer the monitor presets; 0: none */
    size_t n_relocs;          /* relocations applied */
};

int cvm_elf_parse(const uint8_t *file, size_t len, const char *name, enum cvm_elf_kind kind,
                  struct cvm_elf_image *ret, struct cvm_error **err);

/* Copies the segments to [base, base + span), which must be mapped read-write and zero,
 * measures the span, then (runtimes only) applies relocations and finds the exported
 * symbols. */
int cvm_elf_load(const struct cvm_elf_image *img, uintptr_t base, struct cvm_elf_loaded *ret,
                 struct cvm_error **err);

/* Gives each segment's pages their final protection; pages between segments get none. */
int cvm_elf_protect(const struct cvm_elf_image *img, uintptr_t base, struct cvm_error **err);

#endif
