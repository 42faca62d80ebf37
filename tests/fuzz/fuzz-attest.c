/* Fuzz target: attestation report verification on arbitrary bytes, with a fixed host key, and
 * the payload parser alone, whose every accepted input must re-encode to itself. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "base.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The public half of the key the corpus's reports are signed with. */
static const char host_pub[] = "-----BEGIN PUBLIC KEY-----\n"
                               "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEAKsoLDXzVJHG5Sbg55DOzmZKY+iy\n"
                               "lHzvgUSA9DM7MQagY5Bii5mqeBWRUD7zgtzK1WWVE1iyrBv/r06s8wjX0A==\n"
                               "-----END PUBLIC KEY-----\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cvm_verify_key *key;
    if (!key && cvm_verify_key_from_pem(host_pub, strlen(host_pub), "fuzz.pub", &key, NULL) < 0)
        abort();
    /* The corpus's nonce and deployment measurement (the sample of test-attest). */
    static const char deployment[] =
        "sha256:aee50b18a03c89e4883a5acadf5c8614dd7fd2f111c3b616e1a8d6427edc3e3f";
    struct cvm_digest expect;
    if (cvm_digest_parse(deployment, &expect, NULL) < 0)
        abort();
    struct cvm_attest_report *r = NULL;
    struct cvm_error *err = NULL;
    if (cvm_attest_report_verify(data, size, key, "00112233445566778899aabbccddeeff", &expect, &r,
                                 &err) == 0)
        cvm_attest_report_free(r);
    cvm_error_free(err);
    err = NULL;
    r = NULL;

    if (cvm_attest_payload_parse(data, size, &r, &err) == 0) {
        struct cvm_buf b;
        cvm_buf_init(&b, CVM_ATTEST_REPORT_MAX);
        if (cvm_attest_report_encode(r, &b, NULL) < 0 || b.len != size ||
            memcmp(b.data, data, size) != 0)
            abort();
        cvm_buf_release(&b);
        cvm_attest_report_free(r);
    }
    cvm_error_free(err);
    return 0;
}
