/* What monitor and run print about a deployment: its cVMs, the backend, how it ended. */
#include "deploy-cli.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "monitor.h"

void cvmctl_warn_backend(void)
{
    if (!cvm_monitor_backend_isolates())
        fprintf(stderr,
                "cvmctl: backend '%s': cVMs are threads of this process; windows are not "
                "enforced\n",
                cvm_monitor_backend_name());
}

void cvmctl_print_deployed(const struct cvm_deployment *d)
{
    for (size_t i = 0; i < cvm_deployment_vm_count(d); i++) {
        const struct cvm_vm_info *vi = cvm_deployment_vm_info(d, i);
        char hex[2 * CVM_SHA256_LEN + 1];
        for (size_t k = 0; k < CVM_SHA256_LEN; k++)
            snprintf(hex + 2 * k, 3, "%02x", vi->runtime_measurement[k]);
        fprintf(stderr,
                "cvm '%s': window 0x%" PRIx64 "-0x%" PRIx64 ", deployed in %.3f ms, "
                "runtime sha256:%s\n",
                vi->name, vi->base, vi->base + vi->size, (double)vi->deploy_ns / 1e6, hex);
    }
}

int cvmctl_deployment_status(const struct cvm_deployment *d, unsigned timeout)
{
    size_t n = cvm_deployment_vm_count(d);
    for (size_t i = 0; i < n; i++) {
        const struct cvm_vm_result *r = cvm_deployment_vm_result(d, i);
        if (r->outcome != CVM_VM_FAULTED)
            continue;
        const char *sig = sigabbrev_np(r->signal);
        const char *name = cvm_deployment_vm_info(d, i)->name;
        /* Inside a callback the faulting code may belong to the cVM serving the call. */
        char where[128] = "";
        if (strcmp(r->fault_cvm, name) != 0)
            snprintf(where, sizeof(where), " in code of cVM '%s'", r->fault_cvm);
        cvmctl_error("cVM '%s' faulted: SIG%s at address 0x%" PRIx64 ", ip 0x%" PRIx64 "%s", name,
                     sig ? sig : "?", r->fault_addr, r->fault_ip, where);
        return 128 + r->signal;
    }
    if (cvm_deployment_timed_out(d)) {
        cvmctl_error("deployment timed out after %u s; its cVMs were stopped", timeout);
        return 128 + SIGKILL;
    }
    const struct cvm_vm_result *last = cvm_deployment_vm_result(d, n - 1);
    return last->outcome == CVM_VM_EXITED ? last->exit_code : 128 + SIGKILL;
}
