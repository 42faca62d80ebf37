/* Fuzz target: the ELF loader. Whatever parses is loaded (copied, measured, relocated, symbols
 * looked up) into a scratch mapping and protected, as the monitor would at deploy; the same
 * bytes go through again as a Linux program (placed and measured only). */
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

#include "base.h"
#include "loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load(const uint8_t *data, size_t size, enum cvm_elf_kind kind)
{
    struct cvm_elf_image img;
    struct cvm_error *err = NULL;
    if (cvm_elf_parse(data, size, "fuzz.so", kind, &img, &err) == 0 && img.span <= (64u << 20)) {
        size_t len = (img.span + 4095) & ~(size_t)4095;
        void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mem != MAP_FAILED) {
            struct cvm_elf_loaded loaded;
            if (cvm_elf_load(&img, (uintptr_t)mem, &loaded, &err) == 0)
                cvm_elf_protect(&img, (uintptr_t)mem, &err);
            munmap(mem, len);
        }
    }
    cvm_error_free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load(data, size, CVM_ELF_RUNTIME);
    load(data, size, CVM_ELF_PROGRAM);
    return 0;
}
