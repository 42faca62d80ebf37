/* cVM windows: reserved whole with MAP_FIXED_NOREPLACE, never MAP_FIXED, so a window can
 * never silently replace another mapping. Overlaps are reported with both ranges. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "base.h"
#include "internal.h"

/* Finds a mapping of this process that intersects [lo, hi) to name it in the error. */
static bool find_occupant(uintptr_t lo, uintptr_t hi, uintptr_t *ret_lo, uintptr_t *ret_hi)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f)
        return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f)) {
        uintptr_t a, b;
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &a, &b) == 2 && a < hi && b > lo) {
            *ret_lo = a;
            *ret_hi = b;
            found = true;
        }
    }
    fclose(f);
    return found;
}

int cvm_range_reserve(uintptr_t lo, uintptr_t hi, int prot, const char *what,
                      struct cvm_error **err)
{
    size_t len = hi - lo;
    void *p = mmap((void *)lo, len, prot,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != MAP_FAILED && (uintptr_t)p != lo) {
        munmap(p, len); /* kernels before 4.17 treat the flag as a hint */
        p = MAP_FAILED;
        errno = EEXIST;
    }
    if (p == MAP_FAILED && errno == EEXIST) {
        uintptr_t a = 0, b = 0;
        if (find_occupant(lo, hi, &a, &b))
            return cvm_error_set(
                err, CVM_E_CONFLICT,
                "%s overlaps mapping [0x%" PRIxPTR ", 0x%" PRIxPTR ") of this process", what, a, b);
        return cvm_error_set(err, CVM_E_CONFLICT, "%s is occupied", what);
    }
    if (p == MAP_FAILED)
        return cvm_error_set_errno(err, errno, "cannot reserve %s", what);
    return 0;
}

int cvm_window_reserve(const struct cvm_vm *vm, const struct cvm_deployment *dep,
                       struct cvm_error **err)
{
    for (size_t i = 0; i < dep->n_vms; i++) {
        const struct cvm_vm *o = &dep->vms[i];
        if (o == vm || !o->reserved)
            continue;
        if (vm->base < o->end && o->base < vm->end)
            return cvm_error_set(err, CVM_E_CONFLICT,
                                 "window [0x%" PRIxPTR ", 0x%" PRIxPTR
                                 ") of cVM '%s' overlaps window [0x%" PRIxPTR ", 0x%" PRIxPTR
                                 ") of cVM '%s'",
                                 vm->base, vm->end, vm->name, o->base, o->end, o->name);
    }
    char what[CVM_RANGE_WHAT_SIZE];
    snprintf(what, sizeof(what), "window [0x%" PRIxPTR ", 0x%" PRIxPTR ") of cVM '%s'", vm->base,
             vm->end, vm->name);
    return cvm_range_reserve(vm->base, vm->end, PROT_NONE, what, err);
}

void cvm_window_release(struct cvm_vm *vm)
{
    if (!vm->reserved)
        return;
    munmap((void *)vm->base, vm->end - vm->base);
    vm->reserved = false;
}

bool cvm_window_contains(const struct cvm_deployment *dep, uintptr_t addr)
{
    for (size_t i = 0; i < dep->n_vms; i++)
        if (dep->vms[i].reserved && addr >= dep->vms[i].base && addr < dep->vms[i].end)
            return true;
    return false;
}
