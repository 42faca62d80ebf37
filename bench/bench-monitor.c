/* Monitor benchmarks, each against a peer measured in the same run (medians; the machines
 * are noisy, so compare ratios, not absolute times):
 *   deploy:   cvm_deployment_create + free of images/hello   vs  dlopen + dlclose of the same .so
 *   hostcall: a guest loop of N getid hostcalls             vs  N indirect calls in the guest,
 *                                                               and N raw getpid syscalls
 * Usage: bench-monitor BUILD_DIR [runs] */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base.h"
#include "monitor.h"
#include "runtime.h"

#define HOSTCALL_LOOP 2000000L

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct cvm_monitor_config *load(const char *path)
{
    struct cvm_monitor_config *cfg = NULL;
    struct cvm_error *err = NULL;
    if (cvm_monitor_config_load(path, 0, &cfg, &err) < 0) {
        fprintf(stderr, "bench: %s\n", err->message);
        exit(1);
    }
    return cfg;
}

/* Runs a one-cVM deployment of libhcloop.so with argv {hcloop, mode, n}; returns ns per op. */
static double guest_loop(struct cvm_monitor_config *cfg, const char *mode, long n)
{
    char count[32];
    snprintf(count, sizeof(count), "%ld", n);
    const char *argv[] = {"hcloop", mode, count};
    struct cvm_vm_spec vm = cfg->spec.vms[0];
    vm.argv = argv;
    vm.argc = 3;
    struct cvm_deploy_spec spec = cfg->spec;
    spec.vms = &vm;
    struct cvm_deployment *d = NULL;
    struct cvm_error *err = NULL;
    if (cvm_deployment_create(&spec, &d, &err) < 0) {
        fprintf(stderr, "bench: %s\n", err->message);
        exit(1);
    }
    double t0 = now_ns();
    cvm_deployment_run(d, NULL, &err);
    double t = now_ns() - t0;
    if (cvm_deployment_vm_result(d, 0)->exit_code != 0) {
        fprintf(stderr, "bench: hcloop %s failed\n", mode);
        exit(1);
    }
    cvm_deployment_free(d);
    return t / (double)n;
}

int main(int argc, char **argv)
{
    const char *build = argc > 1 ? argv[1] : "build";
    int runs = argc > 2 ? atoi(argv[2]) : 25;
    if (runs < 20)
        runs = 20;
    char path[4096];

    /* deploy: reserve + load + measure + relocate + lay out + release, in-process */
    snprintf(path, sizeof(path), "%s/images/hello/hello.yaml", build);
    struct cvm_monitor_config *hello = load(path);
    double *deploy = calloc((size_t)runs, sizeof(double));
    double *peer = calloc((size_t)runs, sizeof(double));
    snprintf(path, sizeof(path), "%s/images/hello/libhello.so", build);
    for (int i = 0; i < runs + 3; i++) {
        struct cvm_deployment *d = NULL;
        struct cvm_error *err = NULL;
        double t0 = now_ns();
        if (cvm_deployment_create(&hello->spec, &d, &err) < 0) {
            fprintf(stderr, "bench: %s\n", err->message);
            return 1;
        }
        cvm_deployment_free(d);
        double t1 = now_ns();
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (h)
            dlclose(h);
        double t2 = now_ns();
        if (i >= 3) { /* the first runs warm caches and OpenSSL's lazy set-up */
            deploy[i - 3] = t1 - t0;
            peer[i - 3] = t2 - t1;
        }
    }
    double dm = median(deploy, runs), pm = median(peer, runs);
    printf("deploy hello (create+free): median %.1f us over %d runs; dlopen+dlclose peer "
           "%.1f us; ratio %.2f; target <= 1000 us\n",
           dm / 1e3, runs, pm / 1e3, dm / pm);

    snprintf(path, sizeof(path), "%s/tests/runtimes/hcloop.yaml", build);
    FILE *f = fopen(path, "w");
    if (!f)
        return 1;
    fprintf(f, "cVMs:\n  - name: hcloop\n    runtime: libhcloop.so\n    isolation: "
               "{base: 0x10000000, size: 0x10000000}\n");
    fclose(f);
    struct cvm_monitor_config *loop = load(path);
    int hruns = 9;
    double hc[9], call[9], sys[9];
    for (int i = 0; i < hruns; i++) {
        hc[i] = guest_loop(loop, "hostcall", HOSTCALL_LOOP);
        call[i] = guest_loop(loop, "call", HOSTCALL_LOOP);
        double t0 = now_ns();
        for (long k = 0; k < HOSTCALL_LOOP / 20; k++)
            syscall(SYS_getpid);
        sys[i] = (now_ns() - t0) / (double)(HOSTCALL_LOOP / 20);
    }
    double hm = median(hc, hruns), cm = median(call, hruns), sm = median(sys, hruns);
    printf("hostcall round trip (getid): median %.1f ns over %d runs of %ld; indirect call "
           "peer %.1f ns; raw getpid syscall peer %.1f ns; hostcall/syscall %.3f; target "
           "<= 20 ns\n",
           hm, hruns, HOSTCALL_LOOP, cm, sm, hm / sm);
    cvm_monitor_config_free(loop);
    cvm_monitor_config_free(hello);
    free(deploy);
    free(peer);
    return 0;
}
