/* The baremetal cVM runtime: what a freestanding program inside a cVM can call.
 * Programs define `int main(int argc, char **argv, char **envp)`. */
#ifndef CVM_BAREMETAL_H
#define CVM_BAREMETAL_H

#include <stdarg.h>
#include <stddef.h>

#include "boot.h"
#include "hostcalls.h"

#define CVM_EXPORT __attribute__((visibility("default")))

/* The boot block this cVM was started with: set by the monitor at deploy time. */
extern CVM_EXPORT const struct cvm_boot *cvm_boot_block;

/* Raw hostcall through the entry in the boot block: nr and up to six arguments. */
long cvm_hostcall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

/* cvm_hc(NAME, args...): a hostcall from abi/hostcalls.h by name, missing arguments as 0. */
#define CVM_HC_PAD_(nr, a0, a1, a2, a3, a4, a5, ...)                                               \
    cvm_hostcall(nr, (long)(a0), (long)(a1), (long)(a2), (long)(a3), (long)(a4), (long)(a5))
#define cvm_hc(NAME, ...) CVM_HC_PAD_(CVM_HC_##NAME, ##__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)

/* Typed wrappers for the common calls. */
long cvm_write(const void *buf, size_t len);
_Noreturn void cvm_exit(int status);
long cvm_thread_create(long (*fn)(void *), void *arg);
long cvm_thread_join(long tid, long *value);
long cvm_sleep_ns(long ns);

/* Waits until the stream buffer whose done word this is has its message (hostcall 413) and
 * returns the message length; -EFAULT if the monitor dropped the buffer, which it could not
 * write; or the futex_wait error (timeout: a struct timespec, or NULL). */
long cvm_stream_wait(unsigned *done, const void *timeout);

/* Formatted output to the cVM's standard output: %d %i %u %x %X %p %s %c %% with the l and
 * z length modifiers and a field width (0-padded or space-padded). */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int puts(const char *s);

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

#endif
