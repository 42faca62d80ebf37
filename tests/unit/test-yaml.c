/* The monitor YAML parser: the accepted forms and every error with its file:line:column. */
#include "base.h"
#include "runtime.h"
#include "tap.h"

static struct cvm_monitor_config *cfg;

static const char *parse(const char *text, unsigned flags)
{
    static char msg[CVM_ERROR_MSG_MAX];
    struct cvm_error *err = NULL;
    cvm_monitor_config_free(cfg);
    cfg = NULL;
    if (cvm_monitor_config_parse(text, strlen(text), "t.yaml", "/nonexistent", flags, &cfg, &err) ==
        0)
        return "(parsed)";
    snprintf(msg, sizeof(msg), "%s", err->message);
    cvm_error_free(err);
    return msg;
}

#define VM(name, extra)                                                                            \
    "  - name: " name "\n    runtime: lib" name ".so\n" extra                                      \
    "    isolation:\n      - base: 0x10000000\n        size: 0x10000000\n"

static void two_pure_form(void)
{
    CHECK_STR(parse("cVMs:\n"
                    "  - name: outer\n    runtime: libouter_p.so\n    callback_in: libinner_p.so\n"
                    "    wait: -1\n    isolation:\n      - base: 0x20000000\n"
                    "        size: 0x10000000\n        begin: 0x20000000\n        end: 0x30000000\n"
                    "  - name: inner\n    runtime: libinner_p.so\n    callback_out: libouter_p.so\n"
                    "    args: /ld.so  /app/main  -v\n    env: [HOME=/, TERM=dumb]\n"
                    "    clean_room: true\n"
                    "    isolation: {base: 0x10000000, size: 0x10000000}\n"
                    "capfiles:\n  - name: test1\n    size: 32\n    data: \"Hello world\\n\"\n",
                    CVM_CONFIG_NO_FILES),
              "(parsed)");
    const struct cvm_deploy_spec *s = &cfg->spec;
    CHECK_INT(s->n_vms, 2);
    CHECK_STR(s->vms[0].name, "outer");
    CHECK_INT(s->vms[0].base, 0x20000000);
    CHECK_INT(s->vms[0].size, 0x10000000);
    CHECK_INT(s->vms[0].wait_seconds, -1);
    CHECK_INT(s->vms[0].callback_in, 1);
    CHECK_INT(s->vms[0].callback_out, CVM_CALLBACK_MONITOR);
    CHECK_INT(s->vms[0].argc, 1);
    CHECK_STR(s->vms[0].argv[0], "libouter_p.so");
    CHECK_INT(s->vms[1].callback_out, 0);
    CHECK_INT(s->vms[1].argc, 3);
    CHECK_STR(s->vms[1].argv[0], "/ld.so");
    CHECK_STR(s->vms[1].argv[2], "-v");
    CHECK_INT(s->vms[1].envc, 2);
    CHECK_STR(s->vms[1].envp[1], "TERM=dumb");
    CHECK_INT(s->n_capfiles, 1);
    CHECK_STR(s->capfiles[0].name, "test1");
    CHECK_INT(s->capfiles[0].size, 32);
    CHECK_INT(s->capfiles[0].data_len, 12);
}

static void unknown_keys(void)
{
    CHECK_STR(parse("cVMs:\n" VM("a", "    disk: x.img\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:4:5: unknown key 'disk' in cVM 'a'");
    CHECK_STR(parse("cVMs:\n" VM("a", "") "net: tap0\n", CVM_CONFIG_NO_FILES),
              "t.yaml:7:1: unknown key 'net' at the top level");
    CHECK_STR(parse("cVMs:\n  - name: a\n    runtime: x\n    isolation: {base: 0x1000, size: "
                    "0x1000, bse: 1}\n",
                    CVM_CONFIG_NO_FILES),
              "t.yaml:4:45: unknown key 'bse' in 'isolation' of cVM 'a'");
    CHECK_STR(parse("cVMs:\n" VM("a", "") "capfiles:\n  - name: c\n    colour: red\n",
                    CVM_CONFIG_NO_FILES),
              "t.yaml:9:5: unknown key 'colour' in a capfile");
    CHECK_STR(parse("cVMs:\n" VM("a", "    name: b\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:4:5: duplicate key 'name' in a cVM");
}

static void bad_numbers(void)
{
    CHECK_STR(parse("cVMs:\n  - name: a\n    runtime: x\n    isolation:\n      - base: 0x2g\n"
                    "        size: 0x1000\n",
                    CVM_CONFIG_NO_FILES),
              "t.yaml:5:15: bad number '0x2g' for 'base'");
    CHECK_STR(parse("cVMs:\n" VM("a", "    wait: soon\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:4:11: bad number 'soon' for 'wait'");
    CHECK_STR(parse("cVMs:\n" VM("a", "    wait: -2\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:4:11: 'wait' must be -1 (join) or 0 to 86400 seconds");
    CHECK_STR(parse("cVMs:\n  - name: a\n    runtime: x\n    isolation: {base: "
                    "0x99999999999999999999, size: 1}\n",
                    CVM_CONFIG_NO_FILES),
              "t.yaml:4:23: bad number '0x99999999999999999999' for 'base'");
    CHECK_STR(parse("cVMs:\n  - name: a\n    runtime: x\n    isolation: {base: 0x1001, "
                    "size: 0x1000}\n",
                    CVM_CONFIG_NO_FILES),
              "t.yaml:4:23: window of cVM 'a' must have a non-zero, 4 KiB-aligned base and size");
    CHECK_STR(parse("cVMs:\n  - name: a\n    runtime: x\n    isolation: {base: 0x1000, "
                    "size: 0x1000, begin: 0x2000}\n",
                    CVM_CONFIG_NO_FILES),
              "t.yaml:4:52: 'begin' of cVM 'a' must equal 'base' (0x1000)");
    CHECK_STR(parse("cVMs:\n" VM("a", "    clean_room: maybe\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:4:17: 'clean_room' must be true or false");
}

static void callbacks(void)
{
    CHECK_STR(parse("cVMs:\n" VM("a", "    callback_out: nosuch\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:4:19: callback_out 'nosuch' of cVM 'a' names no cVM");
    CHECK_STR(parse("cVMs:\n" VM("a", "    callback_in: a\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:4:18: callback_in of cVM 'a' names the cVM itself");
    CHECK_STR(parse("cVMs:\n" VM("a", "    callback_out: monitor\n")
                        VM("b", "    callback_out: liba.so\n"),
                    CVM_CONFIG_NO_FILES),
              "(parsed)");
    CHECK_INT(cfg->spec.vms[0].callback_out, CVM_CALLBACK_MONITOR);
    CHECK_INT(cfg->spec.vms[1].callback_out, 0);
}

static void structure(void)
{
    CHECK_STR(parse("", CVM_CONFIG_NO_FILES), "t.yaml: empty document");
    CHECK_STR(parse("- a\n", CVM_CONFIG_NO_FILES),
              "t.yaml:1:1: the document must be a mapping with 'cVMs'");
    CHECK_STR(parse("cVMs: []\n", CVM_CONFIG_NO_FILES),
              "t.yaml:1:7: 'cVMs' must be a non-empty list");
    CHECK_STR(parse("cVMs:\n  - name: a\n    isolation: {base: 0x1000, size: 0x1000}\n",
                    CVM_CONFIG_NO_FILES),
              "t.yaml:2:5: cVM 'a' has no 'runtime'");
    CHECK_STR(parse("cVMs:\n  - runtime: x\n", CVM_CONFIG_NO_FILES),
              "t.yaml:2:5: cVM 1 has no 'name'");
    CHECK_STR(parse("cVMs:\n" VM("a", "") VM("a", ""), CVM_CONFIG_NO_FILES),
              "t.yaml:7:5: two cVMs are named 'a'");
    CHECK_STR(parse("cVMs:\n  - name: 'a b'\n", CVM_CONFIG_NO_FILES),
              "t.yaml:2:5: cVM name 'a b' must be 1-63 letters, digits, '.', '_' or '-', "
              "starting with a letter or digit");
    CHECK_STR(parse("cVMs:\n  - name: [a\n", CVM_CONFIG_NO_FILES),
              "t.yaml:3:1: did not find expected ',' or ']'");
    CHECK_STR(parse("cVMs:\n" VM("a", "    env: [NOEQUALS]\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:4:11: 'env' entry 'NOEQUALS' is not KEY=VALUE");
    CHECK_STR(parse("cVMs:\n" VM("a", "") "capfiles:\n  - name: c\n    size: 2\n    data: abc\n",
                    CVM_CONFIG_NO_FILES),
              "t.yaml:9:11: capfile 'c' size must be 1 byte to 4 GiB and hold its 3 bytes of "
              "data");
}

static void shared_heaps(void)
{
    CHECK_STR(parse("cVMs:\n" VM("libos", "    heap_group: g\n")
                        VM("app", "    clean_room: false\n    heap_group: g\n")
                            VM("other", "    clean_room: true\n") "heaps:\n"
                                                                  "  - name: g\n"
                                                                  "    base: 0x40000000\n"
                                                                  "    size: 0x100000\n",
                    CVM_CONFIG_NO_FILES),
              "(parsed)");
    const struct cvm_deploy_spec *s = &cfg->spec;
    CHECK_INT(s->n_heaps, 1);
    CHECK_STR(s->heaps[0].name, "g");
    CHECK_INT(s->heaps[0].base, 0x40000000);
    CHECK_INT(s->heaps[0].size, 0x100000);
    CHECK(!s->vms[0].clean_room); /* a heap_group alone makes the heap shared */
    CHECK_STR(s->vms[0].heap_group, "g");
    CHECK(!s->vms[1].clean_room);
    CHECK_STR(s->vms[1].heap_group, "g");
    CHECK(s->vms[2].clean_room);
    CHECK(s->vms[2].heap_group == NULL);
    CHECK_INT(s->heap_mode, CVM_HEAP_DECLARED);
    /* No base: 0, placed by the monitor. */
    CHECK_STR(parse("cVMs:\n" VM("a", "    heap_group: g\n") "heaps: [{name: g, size: 4096}]\n",
                    CVM_CONFIG_NO_FILES),
              "(parsed)");
    CHECK_INT(cfg->spec.heaps[0].base, 0);
    CHECK_INT(cfg->spec.heaps[0].size, 4096);
    CHECK_STR(parse("cVMs:\n" VM("a", ""), CVM_CONFIG_NO_FILES), "(parsed)");
    CHECK_INT(cfg->spec.n_heaps, 0);
    CHECK(cfg->spec.heaps == NULL);
}

static void shared_heap_errors(void)
{
    CHECK_STR(parse("cVMs:\n" VM("a", "    heap_group: nosuch\n") "heaps:\n  - {name: g, "
                                                                  "size: 0x1000}\n",
                    CVM_CONFIG_NO_FILES),
              "t.yaml:4:17: heap_group 'nosuch' of cVM 'a' names no heap in 'heaps'");
    CHECK_STR(parse("cVMs:\n" VM("a", "    heap_group: g\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:4:17: heap_group 'g' of cVM 'a' names no heap in 'heaps'");
    CHECK_STR(parse("cVMs:\n" VM("a", "    clean_room: true\n    heap_group: g\n") "heaps:\n"
                                                                                   "  - {name: "
                                                                                   "g, size: "
                                                                                   "0x1000}\n",
                    CVM_CONFIG_NO_FILES),
              "t.yaml:5:17: heap_group 'g' of cVM 'a' needs clean_room: false");
    CHECK_STR(parse("cVMs:\n" VM("a", "    clean_room: false\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:2:5: cVM 'a' has clean_room: false but no 'heap_group'");
    CHECK_STR(
        parse("cVMs:\n" VM("a", "") "heaps:\n  - {name: g, size: 0x1000}\n", CVM_CONFIG_NO_FILES),
        "t.yaml:8:5: heap 'g' is the heap_group of no cVM");
#define G(heap) "cVMs:\n" VM("a", "    heap_group: g\n") "heaps:\n" heap
    CHECK_STR(parse(G("  - {name: g, size: 0x1800}\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:9:21: heap 'size' must be a multiple of 4 KiB, from 4 KiB to 64 GiB");
    CHECK_STR(parse(G("  - {name: g, size: 0}\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:9:21: heap 'size' must be a multiple of 4 KiB, from 4 KiB to 64 GiB");
    CHECK_STR(parse(G("  - {name: g, size: 0x1000001000}\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:9:21: heap 'size' must be a multiple of 4 KiB, from 4 KiB to 64 GiB");
    CHECK_STR(parse(G("  - {name: g, base: 0x800, size: 0x1000}\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:9:21: heap 'base' must be non-zero and 4 KiB-aligned");
    CHECK_STR(parse(G("  - {name: g, base: -4096, size: 0x1000}\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:9:21: bad number '-4096' for 'base'");
    CHECK_STR(parse(G("  - {name: g}\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:9:5: heap 'g' has no 'size'");
    CHECK_STR(parse(G("  - {size: 0x1000}\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:9:5: heap has no 'name'");
    CHECK_STR(parse(G("  - {name: g, size: 0x1000, colour: red}\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:9:29: unknown key 'colour' in a heap");
    CHECK_STR(parse(G("  - {name: g, size: 0x1000, size: 0x2000}\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:9:29: duplicate key 'size' in a heap");
    CHECK_STR(
        parse(G("  - {name: g, size: 0x1000}\n  - {name: g, size: 0x1000}\n"), CVM_CONFIG_NO_FILES),
        "t.yaml:10:5: two heaps are named 'g'");
    CHECK_STR(parse(G("  - {name: '-g', size: 0x1000}\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:9:12: heap name '-g' must be 1-63 letters, digits, '.', '_' or '-', "
              "starting with a letter or digit");
    CHECK_STR(parse(G("  - g\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:9:5: each entry of 'heaps' must be a mapping");
    CHECK_STR(parse("cVMs:\n" VM("a", "    heap_group: g\n") "heaps: g\n", CVM_CONFIG_NO_FILES),
              "t.yaml:8:8: 'heaps' must be a list");
    CHECK_STR(parse("cVMs:\n" VM("a", "    heap_group: [g]\n"), CVM_CONFIG_NO_FILES),
              "t.yaml:4:17: 'heap_group' must be a string");
    char text[4096];
    int n = snprintf(text, sizeof(text), "cVMs:\n" VM("a", "    heap_group: g0\n") "heaps:\n");
    for (int i = 0; i <= CVM_MAX_HEAPS; i++)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "  - {name: g%d, size: 4096}\n", i);
    CHECK_STR(parse(text, CVM_CONFIG_NO_FILES), "t.yaml:9:3: 'heaps' holds 17 entries, at most 16 "
                                                "allowed");
#undef G
}

static void missing_runtime_file(void)
{
    CHECK_STR(parse("cVMs:\n" VM("a", ""), 0),
              "t.yaml:3:14: runtime of cVM 'a': cannot open '/nonexistent/liba.so': No such "
              "file or directory");
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(two_pure_form), TAP_TEST(unknown_keys),       TAP_TEST(bad_numbers),
        TAP_TEST(callbacks),     TAP_TEST(structure),          TAP_TEST(missing_runtime_file),
        TAP_TEST(shared_heaps),  TAP_TEST(shared_heap_errors),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
