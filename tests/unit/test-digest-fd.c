/* Hashing files: the pipelined path for large files and the in-line path for small files and
 * pipes give the digest of the same bytes in memory; lazily loaded libraries fail cleanly. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "archive-lib.h"
#include "base.h"
#include "image.h"
#include "tap.h"

/* A temporary file of len pseudo-random bytes (unlinked at once; the fd keeps it). */
static int temp_file(const uint8_t *data, size_t len)
{
    char path[] = "/tmp/cvm-digest-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, data + off, len - off);
        CHECK(n > 0);
        off += (size_t)n;
    }
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    return fd;
}

static uint8_t *pattern(size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    CHECK(p);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (uint8_t)x;
    }
    return p;
}

static void check_file_of(size_t len)
{
    uint8_t *data = pattern(len);
    struct cvm_digest want, got;
    cvm_digest_of(data, len, &want);
    int fd = temp_file(data, len);
    uint64_t size = 0;
    struct cvm_error *err = NULL;
    CHECK_INT(cvm_digest_fd(fd, &got, &size, &err), 0);
    CHECK_STR(tap_take_error(&err), "(ok)");
    CHECK_INT(size, len);
    CHECK(cvm_digest_equal(&got, &want));
    close(fd);
    free(data);
}

/* Around the pipeline threshold (4 MiB) and the chunk size (256 KiB), and well past both. */
static void files_of_many_sizes(void)
{
    const size_t sizes[] = {0,
                            1,
                            (256u << 10) - 1,
                            256u << 10,
                            (4u << 20) - 1,
                            4u << 20,
                            (4u << 20) + 1,
                            (5u << 20) + 12345,
                            (37u << 20) + 7};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        check_file_of(sizes[i]);
}

/* From the current offset, as documented: the first 1 MiB + 3 is skipped. */
static void hashes_from_the_offset(void)
{
    size_t len = 9u << 20;
    uint8_t *data = pattern(len);
    size_t skip = (1u << 20) + 3;
    struct cvm_digest want, got;
    cvm_digest_of(data + skip, len - skip, &want);
    int fd = temp_file(data, len);
    CHECK(lseek(fd, (off_t)skip, SEEK_SET) == (off_t)skip);
    uint64_t size = 0;
    CHECK_INT(cvm_digest_fd(fd, &got, &size, NULL), 0);
    CHECK_INT(size, len - skip);
    CHECK(cvm_digest_equal(&got, &want));
    close(fd);
    free(data);
}

/* A pipe has no size: read in line to its end. */
static void hashes_a_pipe(void)
{
    size_t len = 3u << 20;
    uint8_t *data = pattern(len);
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        for (size_t off = 0; off < len;) {
            ssize_t n = write(p[1], data + off, len - off);
            if (n <= 0)
                _exit(1);
            off += (size_t)n;
        }
        _exit(0);
    }
    close(p[1]);
    struct cvm_digest want, got;
    cvm_digest_of(data, len, &want);
    uint64_t size = 0;
    CHECK_INT(cvm_digest_fd(p[0], &got, &size, NULL), 0);
    CHECK_INT(size, len);
    CHECK(cvm_digest_equal(&got, &want));
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && status == 0);
    close(p[0]);
    free(data);
}

static void read_error_is_reported(void)
{
    int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    struct cvm_digest got;
    struct cvm_error *err = NULL;
    CHECK_INT(cvm_digest_fd(fd, &got, NULL, &err), -CVM_E_SYSTEM);
    CHECK_STR(tap_take_error(&err), "cannot read: Is a directory");
    close(fd);
}

static void *no_such_function;
static void *real_function;

static void dlib_errors_name_the_library(void)
{
    struct cvm_error *err = NULL;
    const struct cvm_dlib_symbol missing_lib[] = {{"f", &no_such_function}};
    CHECK_INT(cvm_dlib_load("libcvm-no-such-library.so.0", missing_lib, 1, &err),
              -CVM_E_UNSUPPORTED);
    CHECK_STR(tap_take_error(&err), "libcvm-no-such-library.so.0: cannot load: "
                                    "libcvm-no-such-library.so.0: cannot open shared object file: "
                                    "No such file or directory");

    const struct cvm_dlib_symbol partly[] = {{"ZSTD_versionNumber", &real_function},
                                             {"cvm_no_such_function", &no_such_function}};
    CHECK_INT(cvm_dlib_load("libzstd.so.1", partly, 2, &err), -CVM_E_UNSUPPORTED);
    CHECK_STR(tap_take_error(&err), "libzstd.so.1: missing function cvm_no_such_function");
    /* Nothing is left half filled. */
    CHECK(real_function == NULL && no_such_function == NULL);

    const struct cvm_dlib_symbol whole[] = {{"ZSTD_versionNumber", &real_function}};
    CHECK_INT(cvm_dlib_load("libzstd.so.1", whole, 1, &err), 0);
    CHECK(real_function != NULL);
    unsigned (*version)(void) = (unsigned (*)(void))real_function;
    CHECK(version() >= 10000);
}

static void archive_lib_loads(void)
{
    struct cvm_error *err = NULL;
    CHECK_INT(cvm_archive_lib_load(&err), 0);
    CHECK(sym_archive_read_new != NULL && sym_archive_write_set_format_cpio_newc != NULL);
    /* A second load is a no-op. */
    CHECK_INT(cvm_archive_lib_load(&err), 0);
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(files_of_many_sizes),
        TAP_TEST(hashes_from_the_offset),
        TAP_TEST(hashes_a_pipe),
        TAP_TEST(read_error_is_reported),
        TAP_TEST(dlib_errors_name_the_library),
        TAP_TEST(archive_lib_loads),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
