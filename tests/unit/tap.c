/* The TAP runner: fork per test, report ok / not ok with the signal or status. */
#include "tap.h"

#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"

const char *tap_build_dir(void)
{
    const char *b = getenv("CVM_BUILD");
    return b && *b ? b : "build";
}

unsigned char *tap_read_build_file(const char *rel, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", tap_build_dir(), rel);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("# cannot open %s\n", path);
        exit(1);
    }
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap);
            if (!buf)
                exit(1);
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got);
    fclose(f);
    *len = n;
    return buf;
}

const char *tap_take_error(struct cvm_error **err)
{
    static char msg[CVM_ERROR_MSG_MAX];
    snprintf(msg, sizeof(msg), "%s", *err ? (*err)->message : "(ok)");
    cvm_error_free(*err);
    *err = NULL;
    return msg;
}

const char *tap_fmt(const char *fmt, ...)
{
    static char bufs[4][4096];
    static int next;
    char *b = bufs[next++ % 4];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof(bufs[0]), fmt, ap);
    va_end(ap);
    return b;
}

int tap_run(const struct tap_test *tests, size_t n)
{
    int failed = 0;
    printf("1..%zu\n", n);
    fflush(stdout);
    for (size_t i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            tests[i].fn();
            fflush(stdout);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            printf("ok %zu - %s\n", i + 1, tests[i].name);
        } else {
            failed++;
            if (WIFSIGNALED(status))
                printf("not ok %zu - %s (killed by signal %d)\n", i + 1, tests[i].name,
                       WTERMSIG(status));
            else
                printf("not ok %zu - %s\n", i + 1, tests[i].name);
        }
        fflush(stdout);
    }
    return failed ? 1 : 0;
}
