/* libos-bench: the cost of Linux syscalls and of small files, natively or inside a cVM whose
 * syscalls a LibOS serves (bench/bench-libos.sh runs both).
 *   libos-bench syscall N        N getppid() syscalls; prints ns per call
 *   libos-bench files N DIR      create and write, read back, delete N files of 100 bytes in
 *                                DIR; prints the total in ms */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FILE_SIZE 100

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int usage(void)
{
    printf("usage: libos-bench syscall N | libos-bench files N DIR\n");
    return 2;
}

static int parse_count(const char *s, long *ret_n)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno || end == s || *end || n <= 0) {
        printf("libos-bench: '%s' is not a positive count\n", s);
        return -1;
    }
    *ret_n = n;
    return 0;
}

static int bench_syscall(long n)
{
    /* syscall() rather than getppid(), so that nothing between the loop and the kernel (or
     * the LibOS) could cache the answer. */
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
    double t1 = now_ns();
    printf("syscall: %ld calls, %.1f ns per call\n", n, (t1 - t0) / (double)n);
    return 0;
}

static int fail(const char *what, const char *path)
{
    printf("libos-bench: cannot %s '%s': %s\n", what, path, strerror(errno));
    return 1;
}

/* Three passes, so that the folder holds all N files while they are read back. */
static int bench_files(long n, const char *dir)
{
    char path[4096], data[FILE_SIZE], back[FILE_SIZE];
    for (int i = 0; i < FILE_SIZE; i++)
        data[i] = (char)('a' + i % 26);
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/f%ld", dir, i);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            return fail("create", path);
        ssize_t w = write(fd, data, FILE_SIZE);
        close(fd);
        if (w != FILE_SIZE)
            return fail("write", path);
    }
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/f%ld", dir, i);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return fail("open", path);
        ssize_t r = read(fd, back, FILE_SIZE);
        close(fd);
        if (r != FILE_SIZE || memcmp(back, data, FILE_SIZE) != 0)
            return fail("read back", path);
    }
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/f%ld", dir, i);
        if (unlink(path) < 0)
            return fail("delete", path);
    }
    double t1 = now_ns();
    printf("files: %ld files of %d bytes in '%s', %.3f ms\n", n, FILE_SIZE, dir, (t1 - t0) / 1e6);
    return 0;
}

int main(int argc, char **argv)
{
    long n;
    if (argc == 3 && strcmp(argv[1], "syscall") == 0) {
        if (parse_count(argv[2], &n) < 0)
            return 2;
        return bench_syscall(n);
    }
    if (argc == 4 && strcmp(argv[1], "files") == 0) {
        if (parse_count(argv[2], &n) < 0)
            return 2;
        return bench_files(n, argv[3]);
    }
    return usage();
}
