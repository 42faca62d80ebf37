/* The ELF loader against real runtimes and hostile variations of them. */
#include <elf.h>
#include <stdint.h>
#include <sys/mman.h>

#include "base.h"
#include "loader.h"
#include "tap.h"

static const char *parse_error(const unsigned char *buf, size_t len)
{
    static char msg[CVM_ERROR_MSG_MAX];
    struct cvm_elf_image img;
    struct cvm_error *err = NULL;
    if (cvm_elf_parse(buf, len, "t.so", CVM_ELF_RUNTIME, &img, &err) == 0)
        return "(parsed)";
    snprintf(msg, sizeof(msg), "%s", err->message);
    cvm_error_free(err);
    return msg;
}

static unsigned char *hello(size_t *len)
{
    return tap_read_build_file("images/hello/libhello.so", len);
}

static void not_elf(void)
{
    CHECK_STR(parse_error((const unsigned char *)"#!/bin/sh\n", 10), "'t.so' is not an ELF file");
    CHECK_STR(parse_error((const unsigned char *)"\177EL", 3), "'t.so' is not an ELF file");
}

static void truncated(void)
{
    size_t len;
    unsigned char *b = hello(&len);
    CHECK_STR(parse_error(b, 40), "'t.so' is truncated: 40 bytes, an ELF header needs 64");
    CHECK_STR(parse_error(b, 100), "'t.so' is truncated: program headers end past byte 100");
    /* keep the headers, drop the segment contents */
    CHECK(strstr(parse_error(b, 1024), "'t.so' is truncated: segment ") != NULL);
    free(b);
}

static void foreign_machine(void)
{
    size_t len;
    unsigned char *b = hello(&len);
    ((Elf64_Ehdr *)b)->e_machine = EM_ARM;
    CHECK_STR(parse_error(b, len), "'t.so' is built for ELF machine 40, which the loader does "
                                   "not know");
    b[EI_CLASS] = ELFCLASS32;
    CHECK_STR(parse_error(b, len), "'t.so' is not a 64-bit little-endian ELF file");
    free(b);
}

static void not_pie(void)
{
    size_t len;
    unsigned char *b = hello(&len);
    ((Elf64_Ehdr *)b)->e_type = ET_EXEC;
    CHECK_STR(parse_error(b, len), "'t.so' is not position-independent (ELF type 2, runtimes "
                                   "must be ET_DYN)");
    free(b);
}

static Elf64_Phdr *first_load(unsigned char *b)
{
    Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
    for (int i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr *ph = (Elf64_Phdr *)(b + eh->e_phoff) + i;
        if (ph->p_type == PT_LOAD)
            return ph;
    }
    return NULL;
}

static void hostile_headers(void)
{
    size_t len;
    unsigned char *b = hello(&len);
    Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
    eh->e_phnum = 65;
    CHECK_STR(parse_error(b, len), "'t.so': 65 program headers (1 to 64 allowed)");
    free(b);

    b = hello(&len);
    eh = (Elf64_Ehdr *)b;
    eh->e_phoff = UINT64_MAX - 8;
    char want[128];
    snprintf(want, sizeof(want), "'t.so' is truncated: program headers end past byte %zu", len);
    CHECK_STR(parse_error(b, len), want);
    free(b);

    b = hello(&len);
    Elf64_Phdr *ph = first_load(b);
    ph->p_filesz = ph->p_memsz + 1;
    CHECK(strstr(parse_error(b, len), "has file size 0x") != NULL);
    free(b);

    b = hello(&len);
    ph = first_load(b);
    ph->p_memsz = 1ULL << 40;
    CHECK(strstr(parse_error(b, len), "ends past the 4 GiB image limit") != NULL);
    free(b);

    b = hello(&len);
    ph = first_load(b);
    ph[1].p_vaddr = ph->p_vaddr; /* the second PT_LOAD now overlaps the first */
    CHECK(strstr(parse_error(b, len), "overlaps or precedes the one before it") != NULL);
    free(b);

    b = hello(&len);
    ((Elf64_Ehdr *)b)->e_entry = 0x10;
    CHECK_STR(parse_error(b, len), "'t.so': entry point 0x10 is not in an executable segment");
    free(b);
}

/* Loads `rel` at a fresh mapping and returns its measurement and the base used. */
static void load_at(const char *rel, unsigned char digest[32], uintptr_t *ret_base)
{
    size_t len;
    unsigned char *b = tap_read_build_file(rel, &len);
    struct cvm_elf_image img;
    struct cvm_error *err = NULL;
    CHECK_INT(cvm_elf_parse(b, len, rel, CVM_ELF_RUNTIME, &img, &err), 0);
    void *mem =
        mmap(NULL, img.span + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(mem != MAP_FAILED);
    struct cvm_elf_loaded loaded;
    CHECK_INT(cvm_elf_load(&img, (uintptr_t)mem, &loaded, &err), 0);
    CHECK_INT(loaded.n_relocs, 4);
    memcpy(digest, loaded.measurement, 32);
    *ret_base = (uintptr_t)mem;
    free(b);
}

static void measurement_independent_of_base(void)
{
    unsigned char d1[32], d2[32], d3[32];
    uintptr_t b1, b2;
    load_at("tests/runtimes/libreloc.so", d1, &b1);
    load_at("tests/runtimes/libreloc.so", d2, &b2);
    CHECK(b1 != b2);
    CHECK(memcmp(d1, d2, 32) == 0);
    size_t len;
    unsigned char *b = tap_read_build_file("tests/runtimes/libreloc.so", &len);
    struct cvm_error *err = NULL;
    CHECK_INT(cvm_runtime_measure(b, len, "libreloc.so", CVM_ABI_CVM, d3, &err), 0);
    CHECK(memcmp(d1, d3, 32) == 0);
    free(b);
}

static void relr_applied(void)
{
    unsigned char d[32];
    uintptr_t base;
    /* librelr.so packs the same 4 relocations as libreloc.so into DT_RELR; load_at checks the
     * count, and tests/e2e/t0013 runs both and compares their output. */
    load_at("tests/runtimes/librelr.so", d, &base);
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(not_elf),         TAP_TEST(truncated),
        TAP_TEST(foreign_machine), TAP_TEST(not_pie),
        TAP_TEST(hostile_headers), TAP_TEST(measurement_independent_of_base),
        TAP_TEST(relr_applied),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
