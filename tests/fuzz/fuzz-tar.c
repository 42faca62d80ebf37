/* Fuzz target: the OCI-layout tar extractor on arbitrary bytes, into a staging folder under
 * $TMPDIR (or /tmp) made once per process and emptied after every input. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "layout-tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char tmp_path[4096];
static int tmp_fd = -1;

static void remove_tmp(void)
{
    cvm_dir_remove_tree(AT_FDCWD, tmp_path, NULL);
}

static int tmp_dir(void)
{
    if (tmp_fd >= 0)
        return tmp_fd;
    const char *base = getenv("TMPDIR");
    snprintf(tmp_path, sizeof(tmp_path), "%s/fuzz-tar.XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmp_path))
        abort();
    tmp_fd = open(tmp_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tmp_fd < 0)
        abort();
    atexit(remove_tmp);
    return tmp_fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int parent = tmp_dir();
    if (mkdirat(parent, "s", 0755) < 0)
        abort();
    int staging = openat(parent, "s", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (staging < 0)
        abort();
    struct cvm_error *err = NULL;
    cvm_layout_tar_extract_mem(data, size, "fuzz.tar", staging, NULL, &err);
    cvm_error_free(err);
    close(staging);
    /* Whatever the input made must go, or the next input would meet it. */
    if (cvm_dir_remove_tree(parent, "s", NULL) < 0)
        abort();
    return 0;
}
