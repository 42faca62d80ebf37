/* cap_stream: a stream between cVMs through the LibOS's /cap devices (specs/libos.md §8).
 *   cap_stream 1          one thread posts a buffer on /cap/ch1 and sends into it on /cap/ch2
 *   cap_stream 3 COUNT    receiver: posts a buffer and reads its message, COUNT times
 *   cap_stream 4 COUNT    sender: sends `send 0`, `send 1`, ... COUNT messages
 * The receiver and the sender run in two cVMs, each on its own LibOS, and meet by the key. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cvm-cap.h"

#define KEY "key1"
#define BUF_SIZE 4096
#define CONNECT_TRIES 10000 /* 1 ms apart: how long a sender waits for its receiver's key */

static char ptr[BUF_SIZE];   /* the receive buffer */
static char dnull[BUF_SIZE]; /* the message sent */

static _Noreturn void die(const char *what)
{
    int err = errno;
    fflush(stdout);
    fprintf(stderr, "cap_stream: %s: %s\n", what, strerror(err));
    exit(1);
}

static int open_dev(const char *path)
{
    int fd = open(path, O_RDWR);
    if (fd < 0)
        die(path);
    return fd;
}

static void post(int fd, const char *key, void *buf, size_t size)
{
    struct cvm_cap_ioc ioc = {.name = key, .addr = buf, .size = size};
    if (ioctl(fd, CVM_CAP_IOC_POST, &ioc) < 0)
        die("post");
}

/* The receiver posts its key first: a sender that comes earlier tries again. */
static void connect_to(int fd, const char *key)
{
    struct cvm_cap_ioc ioc = {.name = key};
    const struct timespec ms = {0, 1000000};
    for (int i = 0; ioctl(fd, CVM_CAP_IOC_CONNECT, &ioc) < 0; i++) {
        if (errno != ENOENT || i == CONNECT_TRIES)
            die("connect");
        nanosleep(&ms, NULL);
    }
}

static void send_msg(int fd, const char *msg, size_t len)
{
    ssize_t n = write(fd, msg, len);
    if (n < 0)
        die("send");
    if ((size_t)n != len) {
        errno = EIO;
        die("send");
    }
}

static ssize_t recv_msg(int fd, void *buf, size_t size)
{
    ssize_t n = read(fd, buf, size);
    if (n < 0)
        die("receive");
    return n;
}

/* Descriptor 3 is the sending side, as the line it prints shows. */
static int single(void)
{
    printf("Testing CF_STREAMs, single thread\n");
    int fd_out = open_dev("/cap/ch2");
    int fd_in = open_dev("/cap/ch1");
    memset(ptr, 0, sizeof(ptr));
    post(fd_in, KEY, ptr, sizeof(ptr));
    printf("RECV:\tclear ('%s') and publish ptr(%p) with key '%s' via /cap/ch1\n", ptr, (void *)ptr,
           KEY);
    connect_to(fd_out, KEY);
    int len = snprintf(dnull, sizeof(dnull), "text for ptr");
    printf("SEND:\tsending ptr (%p) with '%s' via /cap/ch2 (%d)\n", (void *)dnull, dnull, fd_out);
    send_msg(fd_out, dnull, (size_t)len + 1);
    recv_msg(fd_in, ptr, sizeof(ptr));
    printf("RECV:\tCheck ptr (%p) after wait: '%s'\n", (void *)ptr, ptr);
    return 0;
}

/* Each message lands in the buffer posted for it: the read copies nothing. */
static int receiver(long count)
{
    int fd = open_dev("/cap/ch1");
    for (long i = 0; i < count; i++) {
        memset(ptr, 0, sizeof(ptr));
        post(fd, KEY, ptr, sizeof(ptr));
        recv_msg(fd, ptr, sizeof(ptr));
        printf("%ld:\trecv = '%s'\n", i, ptr);
    }
    return 0;
}

static int sender(long count)
{
    int fd = open_dev("/cap/ch1");
    connect_to(fd, KEY);
    for (long i = 0; i < count; i++) {
        int len = snprintf(dnull, sizeof(dnull), "send %ld", i);
        send_msg(fd, dnull, (size_t)len + 1);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int mode = argc > 1 ? atoi(argv[1]) : 0;
    long count = argc > 2 ? atol(argv[2]) : -1;
    if (mode == 1 && argc == 2)
        return single();
    if ((mode == 3 || mode == 4) && argc == 3 && count >= 0)
        return mode == 3 ? receiver(count) : sender(count);
    fprintf(stderr, "usage: cap_stream 1 | cap_stream 3 COUNT | cap_stream 4 COUNT\n"
                    "  1  one thread: receive and send through /cap/ch1 and /cap/ch2\n"
                    "  3  receive COUNT messages on key '" KEY "'\n"
                    "  4  send COUNT messages to key '" KEY "'\n");
    return 2;
}
