/* hello: an unmodified musl program that checks the LibOS's files and devices: a file written
 * and read back, /dev/zero, /dev/random, /dev/stdout, and /etc/hostname from the image's rootfs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TEST_FILE "/tmp/hello.txt"

/* Reports a failed call on stdout, in order with the rest, and gives the exit status. */
static int fail(const char *what, const char *path)
{
    printf("%s '%s': %s\n", what, path, strerror(errno));
    return 1;
}

static int test_file(void)
{
    static const char text[] = "hello world\n";
    int fd = open(TEST_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail("cannot create", TEST_FILE);
    printf("fd = %d\n", fd);
    ssize_t n = write(fd, text, sizeof(text) - 1);
    close(fd);
    if (n != (ssize_t)sizeof(text) - 1)
        return fail("cannot write", TEST_FILE);
    printf("wrote %zd\n", n);

    char buf[64] = {0};
    fd = open(TEST_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail("cannot open", TEST_FILE);
    printf("fd = %d\n", fd);
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        return fail("cannot read", TEST_FILE);
    printf("read %zd from file = %s", n, buf);
    if (unlink(TEST_FILE) < 0)
        return fail("cannot remove", TEST_FILE);
    return 0;
}

static int test_zero(void)
{
    unsigned char buf[128];
    memset(buf, 0xff, sizeof(buf));
    printf("....testing /dev/zero\n");
    int fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail("cannot open", "/dev/zero");
    printf("/dev/zero fd = %d\n", fd);
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n < 0)
        return fail("cannot read", "/dev/zero");
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] != 0) {
            printf("byte %zd from /dev/zero is %#x\n", i, buf[i]);
            return 1;
        }
    }
    printf("read %zd bytes from /dev/zero\n", n);
    return 0;
}

static int test_random(void)
{
    unsigned char buf[8];
    printf("....testing /dev/random\n");
    int fd = open("/dev/random", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail("cannot open", "/dev/random");
    printf("/dev/random fd = %d\n", fd);
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n != (ssize_t)sizeof(buf))
        return fail("cannot read", "/dev/random");
    printf("read %zd bytes from /dev/random, rd=", n);
    for (size_t i = 0; i < sizeof(buf); i++)
        printf("%02x", buf[i]);
    printf("\n");
    return 0;
}

static int test_stdout(void)
{
    static const char text[] = "Hello /dev/stdout\n";
    printf("....testing /dev/stdout\n");
    int fd = open("/dev/stdout", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return fail("cannot open", "/dev/stdout");
    printf("/dev/stdout fd = %d\n", fd);
    printf("write %zu bytes to /dev/stdout\n", sizeof(text) - 1);
    /* stdout is fully buffered when it is not a terminal, as in a cVM: what printf holds
     * must come out before the write that bypasses it. */
    fflush(stdout);
    ssize_t n = write(fd, text, sizeof(text) - 1);
    close(fd);
    if (n != (ssize_t)sizeof(text) - 1)
        return fail("cannot write", "/dev/stdout");
    return 0;
}

/* The image's rootfs holds etc/hostname: the name printed comes from the LibOS's ramfs. */
static int test_hostname(void)
{
    char buf[256] = {0};
    printf("....testing /etc/hostname\n");
    int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail("cannot open", "/etc/hostname");
    printf("/etc/hostname fd = %d\n", fd);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        return fail("cannot read", "/etc/hostname");
    buf[strcspn(buf, "\n")] = 0;
    printf("hostname = %s\n", buf);
    /* Every host has this file; the image's rootfs does not. */
    fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    printf("/etc/passwd: %s\n", fd < 0 ? strerror(errno) : "opened");
    if (fd >= 0)
        close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    printf("hello from musl, argc = %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d] = %s\n", i, argv[i]);
    if (test_file() || test_zero() || test_random() || test_stdout() || test_hostname())
        return 1;
    printf("--------- LibOS is ok -------\n");
    return 0;
}
