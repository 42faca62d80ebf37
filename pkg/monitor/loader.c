/* ELF runtime loader (specs/measurement.md §1, specs/hostcall-abi.md §1): header checks,
 * segment copy, Intravisor-compatible measurement, RELATIVE/RELR relocation, symbols. */
#include "loader.h"

#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "base.h"

#define PAGE_SIZE_4K 4096ULL

const struct cvm_reloc_arch *cvm_reloc_arch_find(uint16_t machine)
{
    static const struct cvm_reloc_arch *const arches[] = {&cvm_reloc_arch_x86_64,
                                                          &cvm_reloc_arch_aarch64};
    for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
        if (arches[i]->machine == machine)
            return arches[i];
    return NULL;
}

/* a + b <= limit, without overflow. */
static int fits(uint64_t a, uint64_t b, uint64_t limit)
{
    return a <= limit && b <= limit - a;
}

/* A program finds its own program headers through AT_PHDR: they must be loaded, either where
 * PT_PHDR says or inside the segment that maps file offset e_phoff. */
static int program_phdrs(struct cvm_elf_image *img, const Elf64_Ehdr *eh, bool have_phdr,
                         struct cvm_error **err)
{
    uint64_t size = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
    if (!have_phdr) {
        for (size_t i = 0; i < img->n_seg && !have_phdr; i++) {
            const struct cvm_elf_segment *s = &img->seg[i];
            if (eh->e_phoff >= s->offset && fits(eh->e_phoff - s->offset, size, s->filesz)) {
                img->phdr_vaddr = s->vaddr + (eh->e_phoff - s->offset);
                have_phdr = true;
            }
        }
    }
    if (!have_phdr || !fits(img->phdr_vaddr, size, img->span))
        return cvm_error_set(err, CVM_E_FORMAT, "'%s': its program headers are not loaded",
                             img->name);
    return 0;
}

static int parse_phdrs(struct cvm_elf_image *img, const Elf64_Ehdr *eh, struct cvm_error **err)
{
    const char *name = img->name;
    bool have_phdr = false;
    if (eh->e_phentsize != sizeof(Elf64_Phdr))
        return cvm_error_set(err, CVM_E_FORMAT, "'%s': program header size %u, expected %zu", name,
                             eh->e_phentsize, sizeof(Elf64_Phdr));
    if (eh->e_phnum == 0 || eh->e_phnum > CVM_ELF_MAX_PHDRS)
        return cvm_error_set(err, CVM_E_FORMAT, "'%s': %u program headers (1 to %d allowed)", name,
                             eh->e_phnum, CVM_ELF_MAX_PHDRS);
    if (!fits(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), img->file_len))
        return cvm_error_set(err, CVM_E_FORMAT,
                             "'%s' is truncated: program headers end past "
                             "byte %zu",
                             name, img->file_len);

    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, img->file + eh->e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
        switch (ph.p_type) {
        case PT_LOAD: {
            if (img->n_seg == CVM_ELF_MAX_LOADS)
                return cvm_error_set(err, CVM_E_LIMIT, "'%s': more than %d PT_LOAD segments", name,
                                     CVM_ELF_MAX_LOADS);
            if (ph.p_filesz > ph.p_memsz)
                return cvm_error_set(err, CVM_E_FORMAT,
                                     "'%s': segment %u has file size 0x%llx "
                                     "over its memory size 0x%llx",
                                     name, i, (unsigned long long)ph.p_filesz,
                                     (unsigned long long)ph.p_memsz);
            if (!fits(ph.p_offset, ph.p_filesz, img->file_len))
                return cvm_error_set(err, CVM_E_FORMAT,
                                     "'%s' is truncated: segment %u needs "
                                     "bytes up to 0x%llx, file has 0x%zx",
                                     name, i, (unsigned long long)(ph.p_offset + ph.p_filesz),
                                     img->file_len);
            if (!fits(ph.p_vaddr, ph.p_memsz, CVM_ELF_MAX_SPAN))
                return cvm_error_set(err, CVM_E_LIMIT,
                                     "'%s': segment %u ends past the 4 GiB "
                                     "image limit",
                                     name, i);
            if (img->n_seg) {
                const struct cvm_elf_segment *prev = &img->seg[img->n_seg - 1];
                if (ph.p_vaddr < prev->vaddr + prev->memsz)
                    return cvm_error_set(err, CVM_E_FORMAT,
                                         "'%s': segment %u at 0x%llx overlaps "
                                         "or precedes the one before it",
                                         name, i, (unsigned long long)ph.p_vaddr);
            }
            img->seg[img->n_seg++] =
                (struct cvm_elf_segment){.vaddr = ph.p_vaddr,
                                         .memsz = ph.p_memsz,
                                         .offset = ph.p_offset,
                                         .filesz = ph.p_filesz,
                                         .flags = ph.p_flags & (PF_R | PF_W | PF_X)};
            break;
        }
        case PT_DYNAMIC:
            img->dyn_vaddr = ph.p_vaddr;
            img->dyn_size = ph.p_memsz;
            break;
        case PT_INTERP:
            if (img->kind == CVM_ELF_RUNTIME)
                return cvm_error_set(err, CVM_E_UNSUPPORTED,
                                     "'%s' asks for a program interpreter; "
                                     "runtimes are loaded by the monitor",
                                     name);
            img->has_interp = true;
            break;
        case PT_TLS:
            if (img->kind == CVM_ELF_RUNTIME)
                return cvm_error_set(err, CVM_E_UNSUPPORTED,
                                     "'%s' has a TLS segment, which "
                                     "runtimes cannot use",
                                     name);
            break;
        case PT_PHDR:
            img->phdr_vaddr = ph.p_vaddr;
            have_phdr = true;
            break;
        default: break;
        }
    }
    if (img->n_seg == 0)
        return cvm_error_set(err, CVM_E_FORMAT, "'%s' has no PT_LOAD segment", name);
    const struct cvm_elf_segment *last = &img->seg[img->n_seg - 1];
    img->span = last->vaddr + last->memsz;
    if (img->span == 0)
        return cvm_error_set(err, CVM_E_FORMAT, "'%s' loads nothing", name);
    if (img->dyn_size &&
        (!fits(img->dyn_vaddr, img->dyn_size, img->span) || img->dyn_vaddr % 8 != 0))
        return cvm_error_set(err, CVM_E_FORMAT, "'%s': PT_DYNAMIC lies outside the image", name);
    img->phnum = eh->e_phnum;
    if (img->kind == CVM_ELF_PROGRAM)
        return program_phdrs(img, eh, have_phdr, err);
    return 0;
}

int cvm_elf_parse(const uint8_t *file, size_t len, const char *name, enum cvm_elf_kind kind,
                  struct cvm_elf_image *ret, struct cvm_error **err)
{
    struct cvm_elf_image img = {.name = name, .kind = kind, .file = file, .file_len = len};
    if (len < 4 || memcmp(file, ELFMAG, SELFMAG) != 0)
        return cvm_error_set(err, CVM_E_FORMAT, "'%s' is not an ELF file", name);
    if (len < sizeof(Elf64_Ehdr))
        return cvm_error_set(err, CVM_E_FORMAT,
                             "'%s' is truncated: %zu bytes, an ELF header "
                             "needs %zu",
                             name, len, sizeof(Elf64_Ehdr));
    Elf64_Ehdr eh;
    memcpy(&eh, file, sizeof(eh));
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
        eh.e_ident[EI_VERSION] != EV_CURRENT)
        return cvm_error_set(err, CVM_E_UNSUPPORTED,
                             "'%s' is not a 64-bit little-endian ELF "
                             "file",
                             name);
    img.arch = cvm_reloc_arch_find(eh.e_machine);
    if (!img.arch)
        return cvm_error_set(err, CVM_E_UNSUPPORTED,
                             "'%s' is built for ELF machine %u, which "
                             "the loader does not know",
                             name, eh.e_machine);
    if (eh.e_type != ET_DYN)
        return cvm_error_set(err, CVM_E_UNSUPPORTED,
                             "'%s' is not position-independent "
                             "(ELF type %u, runtimes must be ET_DYN)",
                             name, eh.e_type);
    int r = parse_phdrs(&img, &eh, err);
    if (r < 0)
        return r;
    int entry_ok = 0;
    for (size_t i = 0; i < img.n_seg; i++)
        if ((img.seg[i].flags & PF_X) && eh.e_entry >= img.seg[i].vaddr &&
            eh.e_entry < img.seg[i].vaddr + img.seg[i].memsz)
            entry_ok = 1;
    if (!entry_ok)
        return cvm_error_set(err, CVM_E_FORMAT,
                             "'%s': entry point 0x%llx is not in an "
                             "executable segment",
                             name, (unsigned long long)eh.e_entry);
    img.entry = eh.e_entry;
    *ret = img;
    return 0;
}

/* The dynamic-section values the loader uses, each checked against the span. */
struct dyn_info {
    uint64_t rela, relasz, jmprel, pltrelsz, relr, relrsz, rel, relsz;
    uint64_t symtab, strtab, strsz, hash, gnu_hash;
    uint64_t needed; /* strtab offset of the first DT_NEEDED, or UINT64_MAX */
    int has_symtab, has_strtab, has_hash, has_gnu_hash;
};

/* Reads the image at offset `off` as an object of `size` bytes, or fails. */
#define IMG_READ(dst, base, span, off)                                                             \
    (fits((off), sizeof(*(dst)), (span))                                                           \
         ? (memcpy((dst), (void *)((base) + (off)), sizeof(*(dst))), 1)                            \
         : 0)

/* A table's declared entry size must be the one the loader reads with. */
static bool entry_size_bad(const struct cvm_elf_image *img, const char *tag, uint64_t v,
                           size_t want, struct cvm_error **err)
{
    if (v == want)
        return false;
    cvm_error_set(err, CVM_E_FORMAT, "'%s': %s is %llu, expected %zu", img->name, tag,
                  (unsigned long long)v, want);
    return true;
}

static int read_dynamic(const struct cvm_elf_image *img, uintptr_t base, struct dyn_info *di,
                        struct cvm_error **err)
{
    *di = (struct dyn_info){.needed = UINT64_MAX};
    size_t n = img->dyn_size / sizeof(Elf64_Dyn);
    for (size_t i = 0; i < n; i++) {
        Elf64_Dyn d;
        memcpy(&d, (void *)(base + img->dyn_vaddr + i * sizeof(d)), sizeof(d));
        uint64_t v = d.d_un.d_val;
        switch (d.d_tag) {
        case DT_NULL: i = n; break;
        case DT_RELA: di->rela = v; break;
        case DT_RELASZ: di->relasz = v; break;
        case DT_RELAENT:
            if (entry_size_bad(img, "DT_RELAENT", v, sizeof(Elf64_Rela), err))
                return -CVM_E_FORMAT;
            break;
        case DT_REL: di->rel = v; break;
        case DT_RELSZ: di->relsz = v; break;
        case DT_JMPREL: di->jmprel = v; break;
        case DT_PLTRELSZ: di->pltrelsz = v; break;
        case DT_PLTREL:
            if (v != DT_RELA)
                return cvm_error_set(err, CVM_E_UNSUPPORTED,
                                     "'%s': PLT relocations are not "
                                     "RELA",
                                     img->name);
            break;
        case DT_RELR: di->relr = v; break;
        case DT_RELRSZ: di->relrsz = v; break;
        case DT_RELRENT:
            if (entry_size_bad(img, "DT_RELRENT", v, sizeof(uint64_t), err))
                return -CVM_E_FORMAT;
            break;
        case DT_SYMTAB:
            di->symtab = v;
            di->has_symtab = 1;
            break;
        case DT_STRTAB:
            di->strtab = v;
            di->has_strtab = 1;
            break;
        case DT_STRSZ: di->strsz = v; break;
        case DT_SYMENT:
            if (entry_size_bad(img, "DT_SYMENT", v, sizeof(Elf64_Sym), err))
                return -CVM_E_FORMAT;
            break;
        case DT_HASH:
            di->hash = v;
            di->has_hash = 1;
            break;
        case DT_GNU_HASH:
            di->gnu_hash = v;
            di->has_gnu_hash = 1;
            break;
        case DT_NEEDED:
            if (di->needed == UINT64_MAX)
                di->needed = v;
            break;
        default: break;
        }
    }
    if (di->has_strtab && !fits(di->strtab, di->strsz, img->span))
        return cvm_error_set(err, CVM_E_FORMAT, "'%s': string table lies outside the image",
                             img->name);
    return 0;
}

/* A NUL-terminated string at strtab offset `off`, or NULL when it is not inside the table. */
static const char *dyn_string(const struct dyn_info *di, uintptr_t base, uint64_t off)
{
    if (!di->has_strtab || off >= di->strsz)
        return NULL;
    const char *s = (const char *)(base + di->strtab + off);
    return memchr(s, 0, di->strsz - off) ? s : NULL;
}

static int reloc_write(const struct cvm_elf_image *img, uintptr_t base, uint64_t off,
                       uint64_t value, struct cvm_error **err)
{
    if (!fits(off, 8, img->span))
        return cvm_error_set(err, CVM_E_FORMAT,
                             "'%s': relocation at offset 0x%llx lies outside "
                             "the image",
                             img->name, (unsigned long long)off);
    memcpy((void *)(base + off), &value, 8);
    return 0;
}

static int apply_rela(const struct cvm_elf_image *img, uintptr_t base, uint64_t table,
                      uint64_t size, size_t *count, struct cvm_error **err)
{
    if (!size)
        return 0;
    if (!fits(table, size, img->span) || size % sizeof(Elf64_Rela) != 0)
        return cvm_error_set(err, CVM_E_FORMAT, "'%s': relocation table lies outside the image",
                             img->name);
    for (uint64_t at = 0; at < size; at += sizeof(Elf64_Rela)) {
        Elf64_Rela rel;
        memcpy(&rel, (void *)(base + table + at), sizeof(rel));
        uint32_t type = (uint32_t)ELF64_R_TYPE(rel.r_info);
        if (type == img->arch->r_none)
            continue;
        if (type != img->arch->r_relative)
            return cvm_error_set(err, CVM_E_UNSUPPORTED,
                                 "'%s': unsupported relocation type %u "
                                 "(%s) at offset 0x%llx",
                                 img->name, type, img->arch->type_name(type),
                                 (unsigned long long)rel.r_offset);
        int r = reloc_write(img, base, rel.r_offset, base + (uint64_t)rel.r_addend, err);
        if (r < 0)
            return r;
        (*count)++;
    }
    return 0;
}

/* DT_RELR: an even entry is an address to relocate; an odd entry is a bitmap whose bit k
 * (k >= 1) relocates the word (k - 1) after the current position, which then moves 63 words. */
static int relr_one(const struct cvm_elf_image *img, uintptr_t base, uint64_t off,
                    struct cvm_error **err)
{
    uint64_t v;
    if (!IMG_READ(&v, base, img->span, off))
        return cvm_error_set(err, CVM_E_FORMAT,
                             "'%s': RELR entry at offset 0x%llx lies outside "
                             "the image",
                             img->name, (unsigned long long)off);
    return reloc_write(img, base, off, v + base, err);
}

static int apply_relr(const struct cvm_elf_image *img, uintptr_t base, uint64_t table,
                      uint64_t size, size_t *count, struct cvm_error **err)
{
    if (!size)
        return 0;
    if (!fits(table, size, img->span) || size % 8 != 0)
        return cvm_error_set(err, CVM_E_FORMAT, "'%s': RELR table lies outside the image",
                             img->name);
    uint64_t where = 0;
    int have_where = 0;
    for (uint64_t at = 0; at < size; at += 8) {
        uint64_t entry;
        memcpy(&entry, (void *)(base + table + at), 8);
        if ((entry & 1) == 0) {
            int r = relr_one(img, base, entry, err);
            if (r < 0)
                return r;
            (*count)++;
            where = entry + 8;
            have_where = 1;
            continue;
        }
        if (!have_where)
            return cvm_error_set(err, CVM_E_FORMAT, "'%s': RELR bitmap before any address",
                                 img->name);
        for (unsigned k = 1; k < 64; k++) {
            if (!(entry >> k & 1))
                continue;
            int r = relr_one(img, base, where + (uint64_t)(k - 1) * 8, err);
            if (r < 0)
                return r;
            (*count)++;
        }
        if (where > img->span)
            return cvm_error_set(err, CVM_E_FORMAT, "'%s': RELR walk leaves the image", img->name);
        where += 63 * 8;
    }
    return 0;
}

/* Number of dynamic symbols, from DT_HASH's nchain or by walking DT_GNU_HASH. */
static int symbol_count(const struct cvm_elf_image *img, uintptr_t base, const struct dyn_info *di,
                        uint64_t *ret)
{
    if (di->has_hash) {
        uint32_t h[2];
        if (!IMG_READ(&h, base, img->span, di->hash))
            return -1;
        *ret = h[1];
        return 0;
    }
    if (!di->has_gnu_hash)
        return -1;
    uint32_t h[4]; /* nbuckets, symoffset, bloom words, bloom shift */
    if (!IMG_READ(&h, base, img->span, di->gnu_hash))
        return -1;
    uint64_t buckets = di->gnu_hash + 16 + (uint64_t)h[2] * 8;
    if (!fits(buckets, (uint64_t)h[0] * 4, img->span))
        return -1;
    uint32_t max = 0;
    for (uint32_t b = 0; b < h[0]; b++) {
        uint32_t v;
        memcpy(&v, (void *)(base + buckets + (uint64_t)b * 4), 4);
        if (v > max)
            max = v;
    }
    if (max < h[1]) {
        *ret = h[1];
        return 0;
    }
    uint64_t chain = buckets + (uint64_t)h[0] * 4;
    for (uint64_t i = max;; i++) {
        uint32_t v;
        if (i - h[1] > img->span / 4 || !IMG_READ(&v, base, img->span, chain + (i - h[1]) * 4))
            return -1;
        if (v & 1) {
            *ret = i + 1;
            return 0;
        }
    }
}

/* Offset of the defined symbol `want` of `type`, 0 when absent or misplaced: a function
 * must lie in an executable segment, an object wholly in a writable one. */
static uint64_t find_symbol(const struct cvm_elf_image *img, uintptr_t base,
                            const struct dyn_info *di, const char *want, unsigned type)
{
    uint64_t count;
    if (!di->has_symtab || symbol_count(img, base, di, &count) < 0)
        return 0;
    if (count > img->span / sizeof(Elf64_Sym) ||
        !fits(di->symtab, count * sizeof(Elf64_Sym), img->span))
        return 0;
    for (uint64_t i = 1; i < count; i++) {
        Elf64_Sym s;
        memcpy(&s, (void *)(base + di->symtab + i * sizeof(s)), sizeof(s));
        if (s.st_shndx == SHN_UNDEF || ELF64_ST_TYPE(s.st_info) != type)
            continue;
        const char *nm = dyn_string(di, base, s.st_name);
        if (!nm || strcmp(nm, want) != 0)
            continue;
        uint64_t need = type == STT_FUNC ? 1 : 8;
        uint32_t flag = type == STT_FUNC ? PF_X : PF_W;
        for (size_t k = 0; k < img->n_seg; k++) {
            const struct cvm_elf_segment *g = &img->seg[k];
            if ((g->flags & flag) && s.st_value >= g->vaddr &&
                fits(s.st_value - g->vaddr, need, g->memsz))
                return s.st_value;
        }
        return 0;
    }
    return 0;
}

static void measure_span(uintptr_t base, uint64_t span, uint8_t out[CVM_SHA256_LEN])
{
    cvm_sha256((const void *)base, span, out);
}

int cvm_elf_load(const struct cvm_elf_image *img, uintptr_t base, struct cvm_elf_loaded *ret,
                 struct cvm_error **err)
{
    struct cvm_elf_loaded out = {.entry = img->entry};
    for (size_t i = 0; i < img->n_seg; i++) {
        const struct cvm_elf_segment *s = &img->seg[i];
        memcpy((void *)(base + s->vaddr), img->file + s->offset, s->filesz);
    }
    /* Measured after copying and before relocating, so the value does not depend on base. */
    measure_span(base, img->span, out.measurement);

    if (img->dyn_size && img->kind == CVM_ELF_RUNTIME) {
        struct dyn_info di;
        int r = read_dynamic(img, base, &di, err);
        if (r < 0)
            return r;
        if (di.needed != UINT64_MAX) {
            const char *lib = dyn_string(&di, base, di.needed);
            return cvm_error_set(err, CVM_E_UNSUPPORTED,
                                 "'%s' needs shared library '%s'; "
                                 "runtimes must be self-contained",
                                 img->name, lib ? lib : "?");
        }
        if (di.relsz)
            return cvm_error_set(err, CVM_E_UNSUPPORTED,
                                 "'%s' uses REL relocations; %s "
                                 "runtimes use RELA",
                                 img->name, img->arch->name);
        r = apply_rela(img, base, di.rela, di.relasz, &out.n_relocs, err);
        if (r == 0)
            r = apply_rela(img, base, di.jmprel, di.pltrelsz, &out.n_relocs, err);
        if (r == 0)
            r = apply_relr(img, base, di.relr, di.relrsz, &out.n_relocs, err);
        if (r < 0)
            return r;
        out.syscall_handler = find_symbol(img, base, &di, "syscall_handler", STT_FUNC);
        out.boot_symbol = find_symbol(img, base, &di, "cvm_boot_block", STT_OBJECT);
    }
    *ret = out;
    return 0;
}

static int seg_prot(uint32_t flags)
{
    return ((flags & PF_R) ? PROT_READ : 0) | ((flags & PF_W) ? PROT_WRITE : 0) |
           ((flags & PF_X) ? PROT_EXEC : 0);
}

int cvm_elf_protect(const struct cvm_elf_image *img, uintptr_t base, struct cvm_error **err)
{
    const uint64_t mask = PAGE_SIZE_4K - 1;
    uint64_t end = (img->span + mask) & ~mask;
    /* Gaps between segments end up inaccessible; segments then get their own rights. */
    if (mprotect((void *)base, end, PROT_NONE) < 0)
        return cvm_error_set_errno(err, errno, "cannot protect '%s'", img->name);
    for (size_t i = 0; i < img->n_seg; i++) {
        const struct cvm_elf_segment *s = &img->seg[i];
        uint64_t lo = s->vaddr & ~mask, hi = (s->vaddr + s->memsz + mask) & ~mask;
        if (hi > lo && mprotect((void *)(base + lo), hi - lo, seg_prot(s->flags)) < 0)
            return cvm_error_set_errno(err, errno, "cannot protect '%s'", img->name);
    }
    /* A page that two segments share keeps the rights of every segment that touches it. */
    for (size_t i = 0; i + 1 < img->n_seg; i++) {
        const struct cvm_elf_segment *a = &img->seg[i];
        uint64_t page = img->seg[i + 1].vaddr & ~mask;
        if (page >= ((a->vaddr + a->memsz + mask) & ~mask))
            continue;
        int prot = 0;
        for (size_t k = 0; k < img->n_seg; k++) {
            const struct cvm_elf_segment *s = &img->seg[k];
            if ((s->vaddr & ~mask) <= page && s->vaddr + s->memsz > page)
                prot |= seg_prot(s->flags);
        }
        if (mprotect((void *)(base + page), PAGE_SIZE_4K, prot) < 0)
            return cvm_error_set_errno(err, errno, "cannot protect '%s'", img->name);
    }
    return 0;
}
