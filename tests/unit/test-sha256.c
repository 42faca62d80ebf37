/* SHA-256: the FIPS 180-4 examples, every length and split of updates, on the portable code and
 * on the CPU's SHA instructions (where present), against fixed digests and each other. */
#include "base.h"
#include "tap.h"

/* The two ways to run: the portable code, and the code chosen by CPU. */
static const bool portable_modes[] = {true, false};
#define NMODES (sizeof(portable_modes) / sizeof(portable_modes[0]))

static const char *hex(const uint8_t d[CVM_SHA256_LEN])
{
    static char out[4][2 * CVM_SHA256_LEN + 1];
    static unsigned next;
    char *s = out[next++ % 4];
    for (unsigned i = 0; i < CVM_SHA256_LEN; i++)
        snprintf(s + 2 * i, 3, "%02x", d[i]);
    return s;
}

static const char *oneshot(const void *data, size_t len)
{
    uint8_t d[CVM_SHA256_LEN];
    cvm_sha256(data, len, d);
    return hex(d);
}

/* Deterministic bytes, the same pattern the fixed digests below were computed over. */
static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 131 + (i >> 8) * 7 + 1);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void code_paths(void)
{
    CHECK_STR(cvm_sha256_force_portable(true), "portable");
    const char *by_cpu = cvm_sha256_force_portable(false);
    CHECK(strcmp(by_cpu, "portable") == 0 || strcmp(by_cpu, "x86-sha") == 0 ||
          strcmp(by_cpu, "arm-sha2") == 0);
    printf("# the CPU's code: %s\n", by_cpu);
#if defined(__x86_64__) || defined(__aarch64__)
    if (strcmp(by_cpu, "portable") == 0)
        printf("# no SHA instructions here: only the portable code is tested\n");
#endif
}

static void fips_examples(void)
{
    static const char msg448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    static const char msg896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                                 "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    for (size_t m = 0; m < NMODES; m++) {
        cvm_sha256_force_portable(portable_modes[m]);
        CHECK_STR(oneshot(NULL, 0),
                  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        CHECK_STR(oneshot("", 0),
                  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        CHECK_STR(oneshot("abc", 3),
                  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        CHECK_STR(oneshot(msg448, strlen(msg448)),
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
        CHECK_STR(oneshot(msg896, strlen(msg896)),
                  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    }
}

static void million_a(void)
{
    static const char want[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    char *a = malloc(1000000);
    CHECK(a != NULL);
    memset(a, 'a', 1000000);
    for (size_t m = 0; m < NMODES; m++) {
        cvm_sha256_force_portable(portable_modes[m]);
        CHECK_STR(oneshot(a, 1000000), want);

        /* 1000 updates of 1000 bytes: never a whole number of blocks. */
        struct cvm_hasher *h = cvm_hasher_new();
        CHECK(h != NULL);
        for (unsigned i = 0; i < 1000; i++)
            cvm_hasher_update(h, a + 1000 * i, 1000);
        uint8_t d[CVM_SHA256_LEN];
        cvm_hasher_final_bytes(h, d);
        CHECK_STR(hex(d), want);
        cvm_hasher_free(h);
    }
    free(a);
}

/* Lengths 0..300 cross every padding case (55, 56, 63, 64 mod 64 bytes) several times. */
static void every_length(void)
{
    uint8_t buf[301], all[NMODES][301][CVM_SHA256_LEN];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = pattern(i);
    for (size_t m = 0; m < NMODES; m++) {
        cvm_sha256_force_portable(portable_modes[m]);
        for (size_t n = 0; n <= 300; n++)
            cvm_sha256(buf, n, all[m][n]);
        /* The SHA-256 of the 301 digests one after another, from an independent
         * implementation. */
        uint8_t d[CVM_SHA256_LEN];
        cvm_sha256(all[m], sizeof(all[m]), d);
        CHECK_STR(hex(d), "6d12f75bf70f91d333dcdbd0adb477b7f61d720eb2a9f2f68beb3a61910a57b0");
    }
    for (size_t n = 0; n <= 300; n++)
        CHECK_STR(hex(all[1][n]), hex(all[0][n]));
}

/* Random messages at random alignments, fed in random pieces (empty ones too), on both
 * code paths: every split gives the one-shot digest of the portable code. */
static void random_splits(void)
{
    enum { MAX_LEN = 5000 };
    uint8_t *buf = malloc(MAX_LEN + 16);
    CHECK(buf != NULL);
    for (size_t i = 0; i < MAX_LEN + 16; i++)
        buf[i] = (uint8_t)rng();
    struct cvm_hasher *h = cvm_hasher_new();
    CHECK(h != NULL);
    for (unsigned round = 0; round < 400; round++) {
        size_t off = rng() % 16, len = rng() % (MAX_LEN + 1);
        if (round % 4 == 0)
            len = rng() % 200; /* many short messages: the block buffer's edge cases */
        uint8_t want[CVM_SHA256_LEN];
        cvm_sha256_force_portable(true);
        cvm_sha256(buf + off, len, want);
        for (size_t m = 0; m < NMODES; m++) {
            cvm_sha256_force_portable(portable_modes[m]);
            uint8_t d[CVM_SHA256_LEN];
            cvm_sha256(buf + off, len, d);
            CHECK_STR(hex(d), hex(want));
            size_t done = 0;
            while (done < len) {
                size_t max_piece = rng() % 3 == 0 ? 8 : 300;
                size_t piece = rng() % (max_piece + 1);
                if (piece > len - done)
                    piece = len - done;
                cvm_hasher_update(h, buf + off + done, piece);
                done += piece;
            }
            cvm_hasher_final_bytes(h, d);
            if (memcmp(d, want, sizeof(d)) != 0)
                printf("# round %u: %zu bytes at offset %zu, %s\n", round, len, off,
                       portable_modes[m] ? "portable" : "by CPU");
            CHECK_STR(hex(d), hex(want));
        }
    }
    cvm_hasher_free(h);
    free(buf);
}

/* final_bytes leaves the hasher as new; switching code between updates changes nothing. */
static void reuse_and_switch(void)
{
    struct cvm_hasher *h = cvm_hasher_new();
    CHECK(h != NULL);
    uint8_t d[CVM_SHA256_LEN];
    cvm_hasher_final_bytes(h, d);
    CHECK_STR(hex(d), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    cvm_hasher_update(h, "ab", 2);
    cvm_hasher_update(h, NULL, 0);
    cvm_hasher_update(h, "c", 1);
    cvm_hasher_final_bytes(h, d);
    CHECK_STR(hex(d), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    static const char msg896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                                 "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    cvm_sha256_force_portable(true);
    cvm_hasher_update(h, msg896, 70);
    cvm_sha256_force_portable(false);
    cvm_hasher_update(h, msg896 + 70, 42);
    cvm_hasher_final_bytes(h, d);
    CHECK_STR(hex(d), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    cvm_hasher_free(h);
    cvm_hasher_free(NULL);
}

/* 513 MiB of zeros: the length in bits no longer fits 32 bits. The code chosen by CPU only,
 * to keep the test short. */
static void long_message(void)
{
    enum { CHUNK = 1 << 20 };
    uint8_t *zeros = calloc(1, CHUNK);
    CHECK(zeros != NULL);
    cvm_sha256_force_portable(false);
    struct cvm_hasher *h = cvm_hasher_new();
    CHECK(h != NULL);
    for (unsigned i = 0; i < 513; i++)
        cvm_hasher_update(h, zeros, CHUNK);
    uint8_t d[CVM_SHA256_LEN];
    cvm_hasher_final_bytes(h, d);
    CHECK_STR(hex(d), "a3e2acbb469e4e59dde406f912e754c933c1ac0fb0092a3634d61d5073309c0c");
    cvm_hasher_free(h);
    free(zeros);
}

/* RFC 4231's test cases 1-4, 6 and 7 (5 truncates the output), a key exactly one block
 * long, and an empty key. */
static void hmac_vectors(void)
{
    static const char *const text7 =
        "This is a test using a larger than block-size key and a larger than block-size data. The "
        "key needs to be hashed before being used by the HMAC algorithm.";
    static const char *const text6 = "Test Using Larger Than Block-Size Key - Hash Key First";
    uint8_t k0b[20], kaa[131], k4[25], d50dd[50], d50cd[50], k64[64];
    memset(k0b, 0x0b, sizeof(k0b));
    memset(kaa, 0xaa, sizeof(kaa));
    for (unsigned i = 0; i < sizeof(k4); i++)
        k4[i] = (uint8_t)(i + 1);
    memset(d50dd, 0xdd, sizeof(d50dd));
    memset(d50cd, 0xcd, sizeof(d50cd));
    memset(k64, 'k', sizeof(k64));
    const struct {
        const void *key;
        size_t key_len;
        const void *msg;
        size_t msg_len;
        const char *want;
    } cases[] = {
        {k0b, 20, "Hi There", 8,
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
        {"Jefe", 4, "what do ya want for nothing?", 28,
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
        {kaa, 20, d50dd, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
        {k4, 25, d50cd, 50, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
        {kaa, 131, text6, strlen(text6),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
        {kaa, 131, text7, strlen(text7),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
        {k64, 64, "", 0, "83026a325aaee70e36cfe607536aa1054104ad1077c36134810d4ccded1ccd3b"},
        {"", 0, "msg", 3, "5f576a8d68fe4fb7eb823227246353c0870c3b0e878997341db1226b4bd88d61"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t d[CVM_SHA256_LEN];
        CHECK_INT(
            cvm_hmac_sha256(cases[i].key, cases[i].key_len, cases[i].msg, cases[i].msg_len, d), 0);
        CHECK_STR(hex(d), cases[i].want);
    }
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(code_paths),   TAP_TEST(fips_examples), TAP_TEST(million_a),
        TAP_TEST(every_length), TAP_TEST(random_splits), TAP_TEST(reuse_and_switch),
        TAP_TEST(long_message), TAP_TEST(hmac_vectors),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
