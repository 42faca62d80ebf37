/* Layout of a window (specs/hostcall-abi.md §2): image at base, heap after it, the gate
 * (boot block) below the stack slots, stack slots with guard pages at the top. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "base.h"
#include "internal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static uintptr_t page_up(uintptr_t v)
{
    return (v + CVM_PAGE - 1) & ~(CVM_PAGE - 1);
}

/* Makes slot `slot` usable: all but its lowest page, which stays a guard. Only the thread
 * that acquired the slot calls this, so each slot is opened by one thread at a time. */
static int slot_open(struct cvm_vm *vm, int slot)
{
    unsigned bit = 1u << slot;
    if (atomic_load(&vm->slots_open) & bit)
        return 0;
    uintptr_t lo = vm->end - (uintptr_t)(slot + 1) * CVM_STACK_SLOT_SIZE + CVM_PAGE;
    if (mprotect((void *)lo, CVM_STACK_SLOT_SIZE - CVM_PAGE, PROT_READ | PROT_WRITE) < 0)
        return -1;
    atomic_fetch_or(&vm->slots_open, bit);
    return 0;
}

int cvm_layout_prepare(struct cvm_vm *vm, struct cvm_error **err)
{
    uint64_t image = page_up(vm->img.span);
    uint64_t fixed = (uint64_t)CVM_STACK_SLOTS * CVM_STACK_SLOT_SIZE + CVM_GATE_SIZE;
    uint64_t size = vm->end - vm->base;
    if (image > size || size - image < fixed + CVM_MIN_HEAP)
        return cvm_error_set(err, CVM_E_LIMIT,
                             "window of cVM '%s' is 0x%" PRIx64 " bytes; "
                             "runtime '%s' needs at least 0x%" PRIx64,
                             vm->name, size, vm->runtime_name, image + fixed + CVM_MIN_HEAP);
    vm->stacks_lo = vm->end - (uintptr_t)CVM_STACK_SLOTS * CVM_STACK_SLOT_SIZE;
    vm->gate = vm->stacks_lo - CVM_GATE_SIZE;
    vm->heap_base = vm->base + image;
    vm->heap_size = vm->gate - vm->heap_base;

    /* The image is written now: populate it in one call rather than fault page by page. */
    if (mprotect((void *)vm->base, image, PROT_READ | PROT_WRITE) < 0)
        return cvm_error_set_errno(err, errno, "cannot map image of cVM '%s'", vm->name);
    (void)madvise((void *)vm->base, image, MADV_POPULATE_WRITE);
    /* Heap and gate stay lazy: a guest pays only for the pages it touches. Stack slots open
     * when first used (slot 0 for the main thread now), so guard pages cost no syscalls. */
    if (mprotect((void *)vm->heap_base, vm->stacks_lo - vm->heap_base, PROT_READ | PROT_WRITE) < 0)
        return cvm_error_set_errno(err, errno, "cannot map heap of cVM '%s'", vm->name);
    if (slot_open(vm, 0) < 0)
        return cvm_error_set_errno(err, errno, "cannot map stacks of cVM '%s'", vm->name);
    return 0;
}

/* A bump allocator over the gate, failing once it is full. */
struct gate_alloc {
    uintptr_t next, end;
};

static void *gate_take(struct gate_alloc *g, size_t len, size_t align)
{
    uintptr_t at = (g->next + align - 1) & ~(uintptr_t)(align - 1);
    if (at > g->end || len > g->end - at)
        return NULL;
    g->next = at + len;
    return (void *)at;
}

static char *gate_strdup(struct gate_alloc *g, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = gate_take(g, n, 1);
    if (p)
        memcpy(p, s, n);
    return p;
}

static int boot_overflow(struct cvm_vm *vm, struct cvm_error **err)
{
    return cvm_error_set(err, CVM_E_LIMIT,
                         "arguments and environment of cVM '%s' exceed "
                         "the %lu-byte boot block",
                         vm->name, CVM_GATE_SIZE);
}

int cvm_layout_write_boot(struct cvm_vm *vm, const struct cvm_vm_spec *spec, struct cvm_error **err)
{
    struct gate_alloc g = {.next = vm->gate, .end = vm->gate + CVM_GATE_SIZE};
    struct cvm_boot *boot = gate_take(&g, sizeof(*boot), 16);
    char **argv = gate_take(&g, (spec->argc + 1) * sizeof(char *), 8);
    char **envp = gate_take(&g, (spec->envc + 1) * sizeof(char *), 8);
    unsigned long *auxv = gate_take(&g, 10 * sizeof(unsigned long), 8);
    uint8_t *random = gate_take(&g, 16, 16);
    const char *name = gate_strdup(&g, vm->name);
    if (!boot || !argv || !envp || !auxv || !random || !name)
        return boot_overflow(vm, err);
    for (size_t i = 0; i < spec->argc; i++)
        if (!(argv[i] = gate_strdup(&g, spec->argv[i])))
            return boot_overflow(vm, err);
    argv[spec->argc] = NULL;
    for (size_t i = 0; i < spec->envc; i++)
        if (!(envp[i] = gate_strdup(&g, spec->envp[i])))
            return boot_overflow(vm, err);
    envp[spec->envc] = NULL;
    if (getrandom(random, 16, 0) != 16)
        return cvm_error_set_errno(err, errno, "cannot seed AT_RANDOM of cVM '%s'", vm->name);
    unsigned long aux[] = {CVM_AT_PAGESZ, CVM_PAGE,  CVM_AT_BASE,   vm->base,
                           CVM_AT_ENTRY,  vm->entry, CVM_AT_RANDOM, (unsigned long)random,
                           CVM_AT_NULL,   0};
    memcpy(auxv, aux, sizeof(aux));
    *boot = (struct cvm_boot){
        .magic = CVM_BOOT_MAGIC,
        .version = CVM_BOOT_VERSION,
        .cvm_id = vm->info.id,
        .name = name,
        .window_base = vm->base,
        .window_size = vm->end - vm->base,
        .heap_base = vm->heap_base,
        .heap_size = vm->heap_size,
        .hostcall = cvm_arch_hostcall_entry,
        .argc = (long)spec->argc,
        .argv = argv,
        .envp = envp,
        .auxv = auxv,
    };
    /* The gate belongs to the monitor: guests read it, never write it. */
    if (mprotect((void *)vm->gate, CVM_GATE_SIZE, PROT_READ) < 0)
        return cvm_error_set_errno(err, errno, "cannot seal boot block of cVM '%s'", vm->name);
    return 0;
}

int cvm_slot_acquire(struct cvm_vm *vm)
{
    unsigned used = atomic_load(&vm->slots_used);
    for (;;) {
        unsigned free_bits = ~used & ((1u << CVM_STACK_SLOTS) - 1);
        if (!free_bits)
            return -1;
        int slot = __builtin_ctz(free_bits);
        if (!atomic_compare_exchange_weak(&vm->slots_used, &used, used | (1u << slot)))
            continue;
        if (slot_open(vm, slot) < 0) {
            cvm_slot_release(vm, slot);
            return -1;
        }
        return slot;
    }
}

void cvm_slot_release(struct cvm_vm *vm, int slot)
{
    atomic_fetch_and(&vm->slots_used, ~(1u << slot));
}

uintptr_t cvm_slot_top(const struct cvm_vm *vm, int slot)
{
    return vm->end - (uintptr_t)slot * CVM_STACK_SLOT_SIZE;
}
