/* Layer compression bounds and the measurement logs' exact bytes. */
#include <string.h>

#include "base.h"
#include "image.h"
#include "monitor.h"
#include "tap.h"

static const char *decompress(const void *z, size_t len, size_t max, struct cvm_buf *out)
{
    static char msg[CVM_ERROR_MSG_MAX];
    struct cvm_error *err = NULL;
    cvm_buf_init(out, max);
    if (cvm_zstd_decompress(z, len, "layer 'x'", out, &err) == 0)
        return "(ok)";
    snprintf(msg, sizeof(msg), "%s", err->message);
    cvm_error_free(err);
    return msg;
}

static void zstd_round_trip_and_bounds(void)
{
    static uint8_t data[300000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 31 / 7);
    struct cvm_buf z, z2, out;
    cvm_buf_init(&z, 1u << 20);
    cvm_buf_init(&z2, 1u << 20);
    CHECK_INT(cvm_zstd_compress(data, sizeof(data), &z, NULL), 0);
    CHECK_INT(cvm_zstd_compress(data, sizeof(data), &z2, NULL), 0);
    CHECK(z.len == z2.len && memcmp(z.data, z2.data, z.len) == 0);
    CHECK_STR(decompress(z.data, z.len, sizeof(data), &out), "(ok)");
    CHECK(out.len == sizeof(data) && memcmp(out.data, data, sizeof(data)) == 0);
    cvm_buf_release(&out);
    CHECK_STR(decompress(z.data, z.len, sizeof(data) - 1, &out),
              "layer 'x': decompresses to more than 299999 bytes");
    cvm_buf_release(&out);
    CHECK_STR(decompress(z.data, z.len - 10, sizeof(data), &out),
              "layer 'x': truncated zstd frame");
    cvm_buf_release(&out);
    CHECK_STR(decompress("garbage!", 8, 100, &out), "layer 'x': zstd: Unknown frame descriptor");
    cvm_buf_release(&out);
    CHECK_STR(decompress("", 0, 100, &out), "layer 'x': empty zstd stream");
    cvm_buf_release(&out);
    cvm_buf_release(&z);
    cvm_buf_release(&z2);
}

static void measurement_logs_exact(void)
{
    const char *argv[] = {"/ld.so", "a\nb"};
    const char *envp[] = {"HOME=/"};
    struct cvm_vm_spec vms[2] = {
        {.name = "outer",
         .argv = argv,
         .argc = 1,
         .base = 0x20000000,
         .size = 0x10000000,
         .callback_out = -1,
         .callback_in = 1,
         .wait_seconds = -1,
         .clean_room = true},
        {.name = "inner",
         .argv = argv,
         .argc = 2,
         .envp = envp,
         .envc = 1,
         .base = 0x10000000,
         .size = 0x10000000,
         .callback_out = 0,
         .callback_in = -1,
         .clean_room = true},
    };
    struct cvm_capfile_spec cap = {
        .name = "test1", .size = 32, .data = (const uint8_t *)"hi", .data_len = 2};
    struct cvm_deploy_spec spec = {.vms = vms, .n_vms = 2, .capfiles = &cap, .n_capfiles = 1};
    uint8_t rt[CVM_SHA256_LEN], fs[CVM_SHA256_LEN];
    memset(rt, 0xab, sizeof(rt));
    memset(fs, 0x01, sizeof(fs));
    struct cvm_buf log;
    cvm_buf_init(&log, 4096);
    CHECK_INT(cvm_measure_vm_log(&spec, 1, rt, NULL, fs, &log, NULL), 0);
    CHECK_STR((const char *)log.data,
              "cvm-measurement-v1\nname 5:inner\n"
              "runtime sha256:abababababababababababababababababababababababababababababababab\n"
              "ldso none\n"
              "rootfs sha256:0101010101010101010101010101010101010101010101010101010101010101\n"
              "window 0x10000000 0x10000000\nheap clean-room\ncallback_out 5:outer\n"
              "callback_in none\nwait 0\nargc 2\narg 6:/ld.so\narg 3:a\nb\nenvc 1\n"
              "env 6:HOME=/\n");
    log.len = 0;
    uint8_t cvm[2][CVM_SHA256_LEN];
    memset(cvm[0], 0x11, CVM_SHA256_LEN);
    memset(cvm[1], 0x22, CVM_SHA256_LEN);
    CHECK_INT(cvm_measure_deployment_log(&spec, (const uint8_t(*)[CVM_SHA256_LEN])cvm, &log, NULL),
              0);
    CHECK_STR((const char *)log.data,
              "cvm-deployment-v1\ncvms 2\n"
              "cvm sha256:1111111111111111111111111111111111111111111111111111111111111111\n"
              "cvm sha256:2222222222222222222222222222222222222222222222222222222222222222\n"
              "capfiles 1\ncapfile 5:test1\nsize 32\n"
              "data sha256:8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4\n");
    cvm_buf_release(&log);
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(zstd_round_trip_and_bounds),
        TAP_TEST(measurement_logs_exact),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
