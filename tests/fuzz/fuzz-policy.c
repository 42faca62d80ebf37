/* Fuzz target: the trust policy parser on arbitrary bytes, then a few lookups on what parsed
 * (key files are never read: keyPaths resolve under a folder that does not exist). */
#include <stddef.h>
#include <stdint.h>

#include "base.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const repos[] = {"localhost/hello", "registry.example:5000/team/app",
                                        "a.b.example.com/x/y", "[::1]:5000/x", "quay.io"};
    struct cvm_policy *p = NULL;
    struct cvm_error *err = NULL;
    if (cvm_policy_parse((const char *)data, size, "fuzz.json", "/nonexistent", &p, &err) == 0) {
        for (size_t i = 0; i < sizeof(repos) / sizeof(repos[0]); i++) {
            const struct cvm_policy_requirement *reqs = NULL;
            size_t n = 0;
            const char *scope = NULL;
            if (cvm_policy_lookup(p, repos[i], i % 2 ? "v1" : NULL, &reqs, &n, &scope) != 0 ||
                n == 0 || !scope)
                __builtin_trap();
        }
        cvm_policy_free(p);
    }
    cvm_error_free(err);
    return 0;
}
