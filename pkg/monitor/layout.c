/* Layout of a window (specs/hostcall-abi.md §2): image at base, heap after it, the gate
 * (boot block) below the stack slots, stack slots with guard pages at the top; and the
 * shared heaps of heap groups, outside every window (specs/monitor-yaml.md §5). */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base.h"
#include "internal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static bool heap_name_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > CVM_HEAP_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '-' && c != '.')))
            return false;
    }
    return true;
}

static int heap_find(const struct cvm_heap_plan *p, const char *name)
{
    for (size_t i = 0; i < p->n_heaps; i++)
        if (strcmp(p->heaps[i].name, name) == 0)
            return (int)i;
    return -1;
}

static bool spec_declares_groups(const struct cvm_deploy_spec *spec)
{
    for (size_t i = 0; i < spec->n_vms; i++)
        if (!spec->vms[i].clean_room || spec->vms[i].heap_group)
            return true;
    return false;
}

bool cvm_deploy_spec_set_heap_mode(struct cvm_deploy_spec *spec, enum cvm_heap_mode mode)
{
    spec->heap_mode = mode;
    bool declared = spec_declares_groups(spec);
    return (mode == CVM_HEAP_CLEAN_ROOM && declared) || (mode == CVM_HEAP_SHARED && !declared);
}

/* The heaps as spec declares them: every cVM's heap_group resolved, no heap unused. */
static int plan_declared(const struct cvm_deploy_spec *spec, struct cvm_heap_plan *p,
                         struct cvm_error **err)
{
    if (spec->n_heaps > CVM_MAX_HEAPS)
        return cvm_error_set(err, CVM_E_LIMIT,
                             "deployment declares %zu shared heaps, at most %d "
                             "allowed",
                             spec->n_heaps, CVM_MAX_HEAPS);
    for (size_t i = 0; i < spec->n_heaps; i++) {
        const struct cvm_heap_spec *h = &spec->heaps[i];
        if (!heap_name_valid(h->name))
            return cvm_error_set(err, CVM_E_USAGE,
                                 "shared heap %zu needs a name of 1 to %d letters, digits, "
                                 "'.', '_' or '-', starting with a letter or digit",
                                 i + 1, CVM_HEAP_NAME_MAX);
        if (heap_find(p, h->name) >= 0)
            return cvm_error_set(err, CVM_E_CONFLICT, "two shared heaps are named '%s'", h->name);
        if (h->size == 0 || h->size % CVM_PAGE || h->size > CVM_HEAP_MAX_SIZE)
            return cvm_error_set(err, CVM_E_USAGE,
                                 "shared heap '%s': size 0x%" PRIx64 " must be a multiple of "
                                 "4 KiB, from 4 KiB to 64 GiB",
                                 h->name, h->size);
        if (h->base % CVM_PAGE)
            return cvm_error_set(err, CVM_E_USAGE,
                                 "shared heap '%s': base 0x%" PRIx64 " must be 4 KiB-aligned",
                                 h->name, h->base);
        p->heaps[p->n_heaps].name = h->name;
        p->heaps[p->n_heaps].base = h->base;
        p->heaps[p->n_heaps++].size = h->size;
    }
    bool used[CVM_MAX_HEAPS] = {false};
    for (size_t i = 0; i < spec->n_vms; i++) {
        const struct cvm_vm_spec *v = &spec->vms[i];
        if (v->clean_room && v->heap_group)
            return cvm_error_set(err, CVM_E_USAGE,
                                 "cVM '%s': heap_group '%s' needs clean_room: false", v->name,
                                 v->heap_group);
        if (!v->clean_room && !v->heap_group)
            return cvm_error_set(err, CVM_E_USAGE, "cVM '%s': clean_room: false needs a heap_group",
                                 v->name);
        p->of_vm[i] = v->heap_group ? heap_find(p, v->heap_group) : -1;
        if (v->heap_group && p->of_vm[i] < 0)
            return cvm_error_set(err, CVM_E_NOTFOUND,
                                 "cVM '%s': heap_group '%s' names no shared heap", v->name,
                                 v->heap_group);
        if (p->of_vm[i] >= 0)
            used[p->of_vm[i]] = true;
    }
    for (size_t k = 0; k < p->n_heaps; k++)
        if (!used[k])
            return cvm_error_set(err, CVM_E_USAGE, "shared heap '%s' has no member cVM",
                                 p->heaps[k].name);
    return 0;
}

static int heap_overlap(const struct cvm_heap_plan *p, size_t k, const char *what, uint64_t base,
                        uint64_t end, const char *name, struct cvm_error **err)
{
    uint64_t hb = p->heaps[k].base, he = hb + p->heaps[k].size;
    if (hb < end && base < he)
        return cvm_error_set(err, CVM_E_CONFLICT,
                             "shared heap '%s' [0x%" PRIx64 ", 0x%" PRIx64 ") overlaps %s "
                             "[0x%" PRIx64 ", 0x%" PRIx64 ") of '%s'",
                             p->heaps[k].name, hb, he, what, base, end, name);
    return 0;
}

int cvm_heap_plan_make(const struct cvm_deploy_spec *spec, struct cvm_heap_plan *ret,
                       struct cvm_error **err)
{
    struct cvm_heap_plan p = {.n_heaps = 0};
    if (spec->n_vms > CVM_MAX_VMS)
        return cvm_error_set(err, CVM_E_LIMIT, "deployment has %zu cVMs, at most %d allowed",
                             spec->n_vms, CVM_MAX_VMS);
    int r = 0;
    if (spec->heap_mode == CVM_HEAP_CLEAN_ROOM) {
        for (size_t i = 0; i < spec->n_vms; i++)
            p.of_vm[i] = -1;
    } else if (spec->heap_mode == CVM_HEAP_SHARED && !spec_declares_groups(spec)) {
        p.n_heaps = 1;
        p.heaps[0].name = CVM_HEAP_SHARED_NAME;
        p.heaps[0].size = CVM_HEAP_SHARED_SIZE;
        for (size_t i = 0; i < spec->n_vms; i++)
            p.of_vm[i] = 0;
    } else if (spec->heap_mode != CVM_HEAP_DECLARED && spec->heap_mode != CVM_HEAP_SHARED) {
        return cvm_error_set(err, CVM_E_USAGE, "unknown heap mode %d", (int)spec->heap_mode);
    } else {
        r = plan_declared(spec, &p, err);
    }
    if (r < 0)
        return r;
    /* A heap without a base goes right above every window and every heap placed before it,
     * in declaration order: the address follows from the spec alone, so it is measurable. */
    uint64_t next = 0;
    for (size_t i = 0; i < spec->n_vms; i++)
        if (spec->vms[i].base + spec->vms[i].size > next)
            next = spec->vms[i].base + spec->vms[i].size;
    for (size_t k = 0; k < p.n_heaps; k++) {
        if (!p.heaps[k].base)
            p.heaps[k].base = next;
        uint64_t end = p.heaps[k].base + p.heaps[k].size;
        if (end < p.heaps[k].base)
            return cvm_error_set(err, CVM_E_USAGE,
                                 "shared heap '%s': base 0x%" PRIx64 " + size 0x%" PRIx64
                                 " wraps around",
                                 p.heaps[k].name, p.heaps[k].base, p.heaps[k].size);
        if (end > next)
            next = end;
    }
    for (size_t k = 0; k < p.n_heaps; k++) {
        for (size_t i = 0; r == 0 && i < spec->n_vms; i++)
            r = heap_overlap(&p, k, "the window", spec->vms[i].base,
                             spec->vms[i].base + spec->vms[i].size, spec->vms[i].name, err);
        for (size_t j = 0; r == 0 && j < k; j++)
            r = heap_overlap(&p, k, "shared heap", p.heaps[j].base,
                             p.heaps[j].base + p.heaps[j].size, p.heaps[j].name, err);
        if (r < 0)
            return r;
    }
    *ret = p;
    return 0;
}

/* Reserved like a window, with MAP_FIXED_NOREPLACE at its declared address; anonymous memory
 * is zero-filled, and backed only where a member writes. */
int cvm_heap_reserve(struct cvm_heap *h, struct cvm_error **err)
{
    uintptr_t lo = h->region.addr, hi = lo + h->region.size;
    char what[CVM_RANGE_WHAT_SIZE];
    snprintf(what, sizeof(what), "shared heap '%s' [0x%" PRIxPTR ", 0x%" PRIxPTR ")", h->name, lo,
             hi);
    int r = cvm_range_reserve(lo, hi, PROT_READ | PROT_WRITE, what, err);
    if (r == 0)
        h->reserved = true;
    return r;
}

void cvm_heap_release(struct cvm_heap *h)
{
    if (h->reserved)
        munmap((void *)h->region.addr, h->region.size);
    h->reserved = false;
    free(h->name);
    h->name = NULL;
}

/* Makes slot `slot` usable: all but its lowest page, which stays a guard. Only the thread
 * that acquired the slot calls this, so each slot is opened by one thread at a time. Once
 * open it makes no call: the slots of a syscall server are all opened at deploy
 * (cvm_slots_open_all), because they are lent while a Linux program's %fs is in place. */
static CVM_GUEST_FS_SAFE int slot_open(struct cvm_vm *vm, int slot)
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
    uint64_t image = vm->image_size;
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
    /* A heap group's member is told of the shared region instead; the range above stays
     * read-write memory of its window, as every page of the window between image and gate. */
    if (vm->heap) {
        vm->heap_base = vm->heap->region.addr;
        vm->heap_size = vm->heap->region.size;
    }
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

CVM_GUEST_FS_SAFE int cvm_slot_acquire(struct cvm_vm *vm)
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

/* FUTEX_WAKE_PRIVATE of every waiter, without the C library: a Linux program's %fs may still
 * be in place (errno is TLS). */
static CVM_GUEST_FS_SAFE void wake_all(atomic_uint *word)
{
    long r;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "0"((long)SYS_futex), "D"(word), "S"((long)FUTEX_WAKE_PRIVATE),
                       "d"((long)INT_MAX)
                     : "rcx", "r11", "memory");
    (void)r;
}

CVM_GUEST_FS_SAFE void cvm_slot_release(struct cvm_vm *vm, int slot)
{
    atomic_fetch_and(&vm->slots_used, ~(1u << slot));
    if (atomic_load(&vm->slot_waiters))
        wake_all(&vm->slots_used);
}

/* A Linux program's syscall waits for a slot of its server rather than fail: every slot
 * holder runs a bounded piece of work (futex waits and sleeps are made without a slot,
 * hostcall 954). The timed wait also notices a stop request. The caller has put the monitor's
 * %fs back (cvm_thread_fs_host). */
int cvm_slot_acquire_wait(struct cvm_thread *t, struct cvm_vm *vm)
{
    int slot;
    while ((slot = cvm_slot_acquire(vm)) < 0 && !cvm_thread_should_stop(t)) {
        atomic_fetch_add(&vm->slot_waiters, 1);
        unsigned used = atomic_load(&vm->slots_used);
        struct timespec tick = {0, 10 * 1000000L};
        if (used == (1u << CVM_STACK_SLOTS) - 1)
            syscall(SYS_futex, (unsigned *)&vm->slots_used, FUTEX_WAIT_PRIVATE, used, &tick, NULL,
                    0);
        atomic_fetch_sub(&vm->slot_waiters, 1);
    }
    return slot;
}

CVM_GUEST_FS_SAFE uintptr_t cvm_slot_top(const struct cvm_vm *vm, int slot)
{
    return vm->end - (uintptr_t)slot * CVM_STACK_SLOT_SIZE;
}

int cvm_slots_open_all(struct cvm_vm *vm, struct cvm_error **err)
{
    for (int slot = 0; slot < CVM_STACK_SLOTS; slot++)
        if (slot_open(vm, slot) < 0)
            return cvm_error_set_errno(err, errno, "cannot map stacks of cVM '%s'", vm->name);
    return 0;
}
