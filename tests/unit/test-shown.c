/* Untrusted text in messages: printable ASCII passes, everything else is escaped, long text is
 * cut; digests parsed from hostile input are shown the same way. */
#include "base.h"
#include "digest.h"
#include "tap.h"

static void printable_passes(void)
{
    char out[CVM_SHOWN_SIZE(16)];
    CHECK_STR(cvm_shown("sha256:abc 'x'", 16, out), "sha256:abc 'x'");
    CHECK_STR(cvm_shown("", 16, out), "");
}

static void control_and_high_bytes_are_escaped(void)
{
    char out[CVM_SHOWN_SIZE(16)];
    CHECK_STR(cvm_shown("\033[31mred\n", 16, out), "\\x1b[31mred\\x0a");
    CHECK_STR(cvm_shown("caf\xc3\xa9\x7f", 16, out), "caf\\xc3\\xa9\\x7f");
}

static void long_text_is_cut(void)
{
    char out[CVM_SHOWN_SIZE(4)];
    CHECK_STR(cvm_shown("abcdef", 4, out), "abcd...");
    CHECK_STR(cvm_shown("abcd", 4, out), "abcd");
    /* The worst case fills the buffer exactly: every byte escaped, then the ellipsis. */
    CHECK_STR(cvm_shown("\001\002\003\004\005", 4, out), "\\x01\\x02\\x03\\x04...");
}

static void hostile_digest_is_escaped(void)
{
    struct cvm_digest d;
    struct cvm_error *err = NULL;
    CHECK_INT(cvm_digest_parse("sha256:\033[2J", &d, &err), -CVM_E_FORMAT);
    CHECK_STR(tap_take_error(&err),
              "digest 'sha256:\\x1b[2J': expected 64 lowercase hex digits after 'sha256:'");
    CHECK_INT(cvm_digest_parse("md\0335:00", &d, &err), -CVM_E_UNSUPPORTED);
    CHECK_STR(tap_take_error(&err),
              "digest 'md\\x1b5:00': unsupported algorithm 'md\\x1b5' (only sha256)");
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(printable_passes),
        TAP_TEST(control_and_high_bytes_are_escaped),
        TAP_TEST(long_text_is_cut),
        TAP_TEST(hostile_digest_is_escaped),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
