/* A small TAP harness: each test runs in a forked child, so a crash is one `not ok`. */
#ifndef CVM_TEST_TAP_H
#define CVM_TEST_TAP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tap_test {
    const char *name;
    void (*fn)(void);
};

#define TAP_TEST(fn)                                                                               \
    {                                                                                              \
#fn, fn                                                                                    \
    }

/* Runs every test, prints the plan and one line per test; returns the exit status. */
int tap_run(const struct tap_test *tests, size_t n);

/* Where the build put test runtimes and images (CVM_BUILD, default "build"). */
const char *tap_build_dir(void);
/* Reads build/<rel> into a malloc'd buffer; fails the test when it cannot. */
unsigned char *tap_read_build_file(const char *rel, size_t *len);

struct cvm_error;

/* The message of *err (then freed and reset), or "(ok)" when there is none. */
const char *tap_take_error(struct cvm_error **err);

/* printf into one of four rotating static buffers, so a few can be live in one CHECK. */
const char *tap_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                      \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_INT(got, want)                                                                       \
    do {                                                                                           \
        long long g_ = (long long)(got), w_ = (long long)(want);                                   \
        if (g_ != w_) {                                                                            \
            printf("# %s:%d: %s is %lld, expected %lld\n", __FILE__, __LINE__, #got, g_, w_);      \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_STR(got, want)                                                                       \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        if (!g_ || strcmp(g_, w_) != 0) {                                                          \
            printf("# %s:%d: %s is\n#   '%s'\n# expected\n#   '%s'\n", __FILE__, __LINE__, #got,   \
                   g_ ? g_ : "(null)", w_);                                                        \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#endif
