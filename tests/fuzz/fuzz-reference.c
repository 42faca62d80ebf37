/* Fuzz target: image references on arbitrary bytes; whatever parses must format to a text that
 * parses again and formats identically (the canonical form is a fixed point). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "reference.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The parser takes a C string; bytes after an embedded NUL are simply not seen. */
    CVM_AUTOFREE char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    CVM_AUTO(cvm_error_free) struct cvm_error *err = NULL;
    CVM_AUTO(cvm_reference_free) struct cvm_reference *first = NULL;
    if (cvm_reference_parse(s, &first, &err) < 0) {
        /* Messages are one line of printable ASCII whatever the input. */
        for (const char *m = err->message; *m; m++)
            if ((unsigned char)*m < 0x20 || (unsigned char)*m >= 0x7f)
                abort();
        return 0;
    }
    CVM_AUTOFREE char *text = cvm_reference_format(first);
    CVM_AUTOFREE char *repo = cvm_reference_repository(first);
    if (!text || !repo)
        return 0;
    if (strlen(repo) > CVM_REFERENCE_NAME_MAX || strlen(text) > CVM_REFERENCE_MAX)
        abort();
    if (first->tag && !cvm_reference_tag_valid(first->tag))
        abort();

    CVM_AUTO(cvm_reference_free) struct cvm_reference *second = NULL;
    if (cvm_reference_parse(text, &second, &err) < 0)
        abort();
    CVM_AUTOFREE char *again = cvm_reference_format(second);
    if (again && strcmp(again, text) != 0)
        abort();
    if (strcmp(first->domain, second->domain) != 0 || strcmp(first->path, second->path) != 0 ||
        first->has_digest != second->has_digest ||
        (first->has_digest && !cvm_digest_equal(&first->digest, &second->digest)))
        abort();
    return 0;
}
