/* Helpers shared by the image commands. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "cli.h"
#include "image-cli.h"

int cvmctl_store_open(unsigned flags, struct cvm_store **ret, struct cvm_error **err)
{
    CVM_AUTOFREE char *root = cvmctl_root ? strdup(cvmctl_root) : cvm_store_default_root();
    if (!root)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    return cvm_store_open(root, flags, ret, err);
}

int cvmctl_resolve(struct cvm_store *s, const char *text, struct cvm_reference **ret_ref,
                   struct cvm_descriptor *ret_desc, struct cvm_error **err)
{
    CVM_AUTO(cvm_reference_free) struct cvm_reference *ref = NULL;
    int r = cvm_reference_parse(text, &ref, err);
    if (r == 0)
        r = cvm_store_resolve(s, ref, ret_desc, err);
    if (r < 0)
        return r;
    if (ret_ref)
        *ret_ref = cvm_steal_ptr(&ref);
    return 0;
}

const char *cvmctl_human_size(uint64_t bytes, char out[32])
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        snprintf(out, 32, "%llu B", (unsigned long long)bytes);
        return out;
    }
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0]))
        v /= 1024, u++;
    snprintf(out, 32, "%.1f %s", v, units[u]);
    return out;
}

int cvmctl_option_error(const struct cvmctl_command *cmd, int c, char **argv)
{
    if (c == ':')
        return cvmctl_misuse(cmd, "option '%s' needs a value", argv[optind - 1]);
    return cvmctl_misuse(cmd, "unknown option '%s'", argv[optind - 1]);
}

char *cvmctl_digest_str(const struct cvm_digest *d)
{
    static char buf[CVM_DIGEST_STR_SIZE];
    return cvm_digest_format(d, buf);
}
