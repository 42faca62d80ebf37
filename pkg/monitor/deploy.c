/* Deployments: validate the spec, reserve the shared heaps and fill every window, link
 * callbacks (specs/monitor-yaml.md §3-5), and tear it all down again. */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "base.h"
#include "internal.h"

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#endif

const char *cvm_monitor_backend_name(void)
{
    return "inproc";
}

bool cvm_monitor_backend_isolates(void)
{
    return false;
}

static int check_spec(const struct cvm_deploy_spec *spec, struct cvm_error **err)
{
    if (spec->n_vms == 0)
        return cvm_error_set(err, CVM_E_USAGE, "deployment has no cVMs");
    if (spec->n_vms > CVM_MAX_VMS)
        return cvm_error_set(err, CVM_E_LIMIT, "deployment has %zu cVMs, at most %d allowed",
                             spec->n_vms, CVM_MAX_VMS);
    if (spec->n_capfiles > CVM_MAX_CAPS)
        return cvm_error_set(err, CVM_E_LIMIT,
                             "deployment declares %zu CAP_Files, at most %d "
                             "allowed",
                             spec->n_capfiles, CVM_MAX_CAPS);
    for (size_t i = 0; i < spec->n_vms; i++) {
        const struct cvm_vm_spec *v = &spec->vms[i];
        if (!v->name || !v->name[0])
            return cvm_error_set(err, CVM_E_USAGE, "cVM %zu has no name", i + 1);
        for (size_t k = 0; k < i; k++)
            if (strcmp(spec->vms[k].name, v->name) == 0)
                return cvm_error_set(err, CVM_E_CONFLICT, "two cVMs are named '%s'", v->name);
        if (v->base % CVM_PAGE || v->size % CVM_PAGE || v->size == 0 || v->base == 0 ||
            v->base + v->size < v->base)
            return cvm_error_set(err, CVM_E_USAGE,
                                 "window [0x%" PRIx64 ", +0x%" PRIx64 ") of "
                                 "cVM '%s' must be non-empty, page-aligned and above 0",
                                 v->base, v->size, v->name);
        if (v->abi != CVM_ABI_CVM && v->abi != CVM_ABI_LINUX)
            return cvm_error_set(err, CVM_E_USAGE, "cVM '%s': unknown abi %d", v->name,
                                 (int)v->abi);
        if (v->abi == CVM_ABI_LINUX && v->callback_out == CVM_CALLBACK_MONITOR)
            return cvm_error_set(err, CVM_E_USAGE,
                                 "cVM '%s' runs a Linux program: its callback_out must name a "
                                 "cVM that serves Linux syscalls, such as a LibOS",
                                 v->name);
        if (v->wait_seconds < CVM_WAIT_JOIN)
            return cvm_error_set(err, CVM_E_USAGE, "cVM '%s': wait must be -1 or more", v->name);
        int links[2] = {v->callback_out, v->callback_in};
        for (int k = 0; k < 2; k++)
            if (links[k] != CVM_CALLBACK_MONITOR &&
                (links[k] < 0 || (size_t)links[k] >= spec->n_vms || (size_t)links[k] == i))
                return cvm_error_set(err, CVM_E_USAGE, "cVM '%s': %s names no other cVM", v->name,
                                     k ? "callback_in" : "callback_out");
    }
    /* Every callback_out chain must reach the monitor. */
    for (size_t i = 0; i < spec->n_vms; i++) {
        int at = (int)i;
        for (size_t steps = 0; at != CVM_CALLBACK_MONITOR; steps++) {
            if (steps > spec->n_vms)
                return cvm_error_set(err, CVM_E_USAGE,
                                     "callback_out of cVM '%s' leads into a "
                                     "cycle",
                                     spec->vms[i].name);
            at = spec->vms[at].callback_out;
        }
    }
    for (size_t i = 0; i < spec->n_capfiles; i++) {
        const struct cvm_capfile_spec *c = &spec->capfiles[i];
        size_t n = c->name ? strlen(c->name) : 0;
        if (n == 0 || n > CVM_HOSTCALL_NAME_MAX)
            return cvm_error_set(err, CVM_E_USAGE, "CAP_File %zu needs a name of 1 to %d bytes",
                                 i + 1, CVM_HOSTCALL_NAME_MAX);
        if (c->size == 0 || c->data_len > c->size || c->size > (1ULL << 32))
            return cvm_error_set(err, CVM_E_USAGE,
                                 "CAP_File '%s': size 0x%" PRIx64 " must be "
                                 "1 byte to 4 GiB and hold its %zu bytes of data",
                                 c->name, c->size, c->data_len);
        for (size_t k = 0; k < i; k++)
            if (strcmp(spec->capfiles[k].name, c->name) == 0)
                return cvm_error_set(err, CVM_E_CONFLICT, "two CAP_Files are named '%s'", c->name);
    }
    return 0;
}

static int capfiles_create(struct cvm_deployment *d, const struct cvm_deploy_spec *spec,
                           struct cvm_error **err)
{
    size_t total = 0;
    for (size_t i = 0; i < spec->n_capfiles; i++)
        total += (spec->capfiles[i].size + CVM_PAGE - 1) & ~(CVM_PAGE - 1);
    if (total == 0)
        return 0;
    void *mem = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return cvm_error_set_errno(err, errno, "cannot map %zu bytes of CAP_Files", total);
    d->capfile_mem = mem;
    d->capfile_mem_len = total;
    uintptr_t at = (uintptr_t)mem;
    for (size_t i = 0; i < spec->n_capfiles; i++) {
        const struct cvm_capfile_spec *c = &spec->capfiles[i];
        if (c->data_len)
            memcpy((void *)at, c->data, c->data_len);
        /* Name length and count are checked in check_spec. */
        (void)cvm_caps_declare_file(&d->caps, c->name, at, c->size);
        at += (c->size + CVM_PAGE - 1) & ~(CVM_PAGE - 1);
    }
    return 0;
}

/* Every heap of the plan, reserved at its address before any window. */
static int heaps_create(struct cvm_deployment *d, const struct cvm_heap_plan *plan,
                        struct cvm_error **err)
{
    for (size_t k = 0; k < plan->n_heaps; k++) {
        struct cvm_heap *h = &d->heaps[k];
        d->n_heaps = k + 1;
        if (!(h->name = strdup(plan->heaps[k].name)))
            return cvm_error_set_errno(err, ENOMEM, "cannot allocate deployment");
        h->region = (struct cvm_region){.addr = plan->heaps[k].base, .size = plan->heaps[k].size};
        int r = cvm_heap_reserve(h, err);
        if (r < 0)
            return r;
    }
    for (size_t i = 0; i < d->n_vms; i++)
        if (plan->of_vm[i] >= 0)
            d->vms[i].heap = &d->heaps[plan->of_vm[i]];
    return 0;
}

/* What every deployed cVM reports (cvm_vm_info). */
static int vm_deployed(struct cvm_vm *vm, uint64_t t0)
{
    vm->img.file = NULL; /* the caller's bytes are not needed past deployment */
    vm->info.image_size = vm->img.span;
    vm->info.heap_base = vm->heap_base;
    vm->info.heap_size = vm->heap_size;
    vm->info.heap_group = vm->heap ? vm->heap->name : NULL;
    vm->info.has_syscall_handler = vm->syscall_handler != 0;
    vm->info.deploy_ns = cvm_clock_ns() - t0;
    return 0;
}

static int vm_deploy(struct cvm_vm *vm, const struct cvm_vm_spec *spec, struct cvm_error **err)
{
    uint64_t t0 = cvm_clock_ns();
    enum cvm_elf_kind kind = spec->abi == CVM_ABI_LINUX ? CVM_ELF_PROGRAM : CVM_ELF_RUNTIME;
    int r =
        cvm_elf_parse(spec->runtime, spec->runtime_len, spec->runtime_name, kind, &vm->img, err);
    if (r < 0)
        return r;
    if (vm->img.arch->machine != HOST_MACHINE)
        return cvm_error_set(err, CVM_E_UNSUPPORTED,
                             "'%s' is built for %s; this monitor runs "
                             "%s runtimes",
                             spec->runtime_name, vm->img.arch->name,
                             cvm_reloc_arch_find(HOST_MACHINE)->name);
    r = cvm_window_reserve(vm, vm->dep, err);
    if (r < 0)
        return r;
    vm->reserved = true;
    if (spec->abi == CVM_ABI_LINUX) {
        r = cvm_linux_deploy(vm, spec, err);
        if (r < 0)
            return r;
        return vm_deployed(vm, t0);
    }
    vm->image_size = cvm_page_up(vm->img.span);
    r = cvm_layout_prepare(vm, err);
    if (r < 0)
        return r;
    struct cvm_elf_loaded loaded;
    r = cvm_elf_load(&vm->img, vm->base, &loaded, err);
    if (r == 0 && loaded.boot_symbol) {
        /* Lets a syscall_handler make hostcalls even when it runs before the entry point. */
        uintptr_t gate = vm->gate;
        memcpy((void *)(vm->base + loaded.boot_symbol), &gate, sizeof(gate));
    }
    if (r == 0)
        r = cvm_elf_protect(&vm->img, vm->base, err);
    if (r < 0)
        return r;
    vm->entry = vm->base + loaded.entry;
    vm->syscall_handler = loaded.syscall_handler ? vm->base + loaded.syscall_handler : 0;
    r = cvm_layout_write_boot(vm, spec, err);
    if (r < 0)
        return r;
    memcpy(vm->info.runtime_measurement, loaded.measurement, CVM_SHA256_LEN);
    return vm_deployed(vm, t0);
}

static int link_callbacks(struct cvm_deployment *d, const struct cvm_deploy_spec *spec,
                          struct cvm_error **err)
{
    for (size_t i = 0; i < d->n_vms; i++) {
        struct cvm_vm *vm = &d->vms[i];
        const struct cvm_vm_spec *s = &spec->vms[i];
        if (s->callback_out != CVM_CALLBACK_MONITOR) {
            struct cvm_vm *out = &d->vms[s->callback_out];
            if (!out->syscall_handler)
                return cvm_error_set(err, CVM_E_FORMAT,
                                     "cVM '%s' sends its hostcalls to '%s', "
                                     "whose runtime '%s' exports no syscall_handler",
                                     vm->name, out->name, out->runtime_name);
            vm->callback_out = out;
            int r = cvm_slots_open_all(out, err);
            if (r < 0)
                return r;
        }
        if (s->callback_in != CVM_CALLBACK_MONITOR)
            vm->callback_in = &d->vms[s->callback_in];
    }
    return 0;
}

int cvm_deployment_create(const struct cvm_deploy_spec *spec, struct cvm_deployment **ret,
                          struct cvm_error **err)
{
    struct cvm_heap_plan plan;
    int r = check_spec(spec, err);
    if (r == 0)
        r = cvm_heap_plan_make(spec, &plan, err);
    if (r < 0)
        return r;
    struct cvm_deployment *d = calloc(1, sizeof(*d));
    if (!d || !(d->vms = calloc(spec->n_vms, sizeof(*d->vms)))) {
        free(d);
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate deployment");
    }
    d->n_vms = spec->n_vms;
    d->stdout_fd = spec->stdout_fd < 0 ? 1 : spec->stdout_fd;
    pthread_mutex_init(&d->lock, NULL);
    cvm_caps_init(&d->caps);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->cond, &ca);
    pthread_condattr_destroy(&ca);
    for (size_t i = 0; i < d->n_vms; i++) {
        struct cvm_vm *vm = &d->vms[i];
        const struct cvm_vm_spec *s = &spec->vms[i];
        vm->dep = d;
        vm->name = strdup(s->name);
        vm->runtime_name = strdup(s->runtime_name ? s->runtime_name : s->name);
        vm->base = s->base;
        vm->end = s->base + s->size;
        vm->wait_seconds = s->wait_seconds;
        vm->abi = s->abi;
        vm->info = (struct cvm_vm_info){
            .name = vm->name, .id = (unsigned)i + 1, .base = s->base, .size = s->size};
        pthread_mutex_init(&vm->grant_lock, NULL);
        if (!vm->name || !vm->runtime_name) {
            r = cvm_error_set_errno(err, ENOMEM, "cannot allocate deployment");
            goto fail;
        }
    }
    r = capfiles_create(d, spec, err);
    if (r == 0)
        r = heaps_create(d, &plan, err);
    if (r == 0)
        r = cvm_rootfs_attach(d, spec->rootfs, spec->rootfs_len, err);
    d->ldso = spec->ldso;
    d->ldso_len = spec->ldso_len;
    for (size_t i = 0; r == 0 && i < d->n_vms; i++) {
        r = vm_deploy(&d->vms[i], &spec->vms[i], err);
        if (r < 0)
            cvm_error_prefix(err, "deploy cVM '%s'", d->vms[i].name);
    }
    if (r == 0)
        r = link_callbacks(d, spec, err);
    d->ldso = NULL;
    if (r < 0)
        goto fail;
    *ret = d;
    return 0;
fail:
    cvm_deployment_free(d);
    return r;
}

size_t cvm_deployment_vm_count(const struct cvm_deployment *d)
{
    return d->n_vms;
}

const struct cvm_vm_info *cvm_deployment_vm_info(const struct cvm_deployment *d, size_t i)
{
    return i < d->n_vms ? &d->vms[i].info : NULL;
}

const struct cvm_vm_result *cvm_deployment_vm_result(const struct cvm_deployment *d, size_t i)
{
    return i < d->n_vms ? &d->vms[i].result : NULL;
}

void cvm_deployment_free(struct cvm_deployment *d)
{
    if (!d)
        return;
    if (d->threads_alive)
        return; /* a thread would not stop: leaking beats unmapping memory it runs on */
    for (size_t i = 0; i < d->n_vms; i++) {
        struct cvm_vm *vm = &d->vms[i];
        for (unsigned k = 0; k < vm->n_threads; k++) {
            cvm_altstack_give_back(vm->threads[k]->altstack);
            free(vm->threads[k]);
        }
        cvm_window_release(vm);
        pthread_mutex_destroy(&vm->grant_lock);
        free(vm->name);
        free(vm->runtime_name);
    }
    if (d->capfile_mem)
        munmap(d->capfile_mem, d->capfile_mem_len);
    for (size_t k = 0; k < d->n_heaps; k++)
        cvm_heap_release(&d->heaps[k]);
    cvm_rootfs_release(d);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
    cvm_caps_destroy(&d->caps);
    free(d->vms);
    free(d);
}

int cvm_runtime_measure(const uint8_t *elf, size_t len, const char *name, enum cvm_vm_abi abi,
                        uint8_t ret_digest[CVM_SHA256_LEN], struct cvm_error **err)
{
    struct cvm_elf_image img;
    enum cvm_elf_kind kind = abi == CVM_ABI_LINUX ? CVM_ELF_PROGRAM : CVM_ELF_RUNTIME;
    int r = cvm_elf_parse(elf, len, name, kind, &img, err);
    if (r < 0)
        return r;
    size_t span = (img.span + CVM_PAGE - 1) & ~(CVM_PAGE - 1);
    /* The measurement does not depend on the base, so any free address serves. */
    void *mem = mmap(NULL, span, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED)
        return cvm_error_set_errno(err, errno, "cannot map %zu bytes to measure '%s'", span, name);
    struct cvm_elf_loaded loaded;
    r = cvm_elf_load(&img, (uintptr_t)mem, &loaded, err);
    munmap(mem, span);
    if (r < 0)
        return r;
    memcpy(ret_digest, loaded.measurement, CVM_SHA256_LEN);
    return 0;
}
