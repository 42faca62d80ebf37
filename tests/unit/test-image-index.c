/* OCI image indexes of cVM images: platform syntax, the exact bytes of an index, duplicate
 * platforms, amending an existing index, and index entries read from a store. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "image-index.h"
#include "layout-tar.h"
#include "store.h"
#include "tap.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define INDEX_HEAD "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","

static struct cvm_error *err;

/* "(ok) os architecture variant" or the error message. */
static const char *parse(const char *text)
{
    struct cvm_platform p;
    memset(&p, 'x', sizeof(p));
    p.os[0] = '\0';
    if (cvm_platform_parse(text, &p, &err) < 0) {
        CHECK(p.os[0] == '\0'); /* untouched */
        return tap_take_error(&err);
    }
    char shown[CVM_PLATFORM_STR_SIZE];
    return tap_fmt("(ok) %s %s %s %s", p.os, p.architecture, p.variant[0] ? p.variant : "-",
                   cvm_platform_format(&p, shown));
}

static void platform_syntax(void)
{
    CHECK_STR(parse("linux/amd64"), "(ok) linux amd64 - linux/amd64");
    CHECK_STR(parse("linux/arm64/v8"), "(ok) linux arm64 v8 linux/arm64/v8");
    CHECK_STR(parse("a/b/c"), "(ok) a b c a/b/c");
    static const char *const bad[] = {
        "",
        "linux",
        "linux/",
        "/amd64",
        "linux//v8",
        "linux/amd64/",
        "linux/arm64/v8/x",
        "Linux/amd64",
        "linux/x86_64",
        "linux/amd 64",
        "linux/arm64/v8.1",
        "linux/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 33 bytes */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_STR(parse(bad[i]), tap_fmt("platform '%s' is not os/architecture[/variant] of "
                                         "lowercase letters and digits",
                                         bad[i]));
    CHECK_STR(
        parse("linux/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        "(ok) linux aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa - linux/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    struct cvm_platform p;
    CHECK_INT(cvm_platform_parse("linux", &p, NULL), -CVM_E_USAGE);
}

/* A descriptor of hex's manifest for os/arch[/variant] (arch NULL: no platform). */
static struct cvm_descriptor entry(const char *hex, uint64_t size, const char *os, const char *arch,
                                   const char *variant)
{
    struct cvm_descriptor d = {.media_type = (char *)MANIFEST,
                               .size = size,
                               .os = (char *)os,
                               .architecture = (char *)arch,
                               .variant = (char *)variant};
    CHECK(cvm_digest_parse_hex(hex, &d.digest) == 0);
    return d;
}

static const char *encode(const struct cvm_image_index *ix)
{
    static char out[4096];
    struct cvm_buf b;
    CHECK_INT(cvm_image_index_encode(ix, &b, &err), 0);
    CHECK(b.len < sizeof(out));
    memcpy(out, b.data, b.len + 1);
    cvm_buf_release(&b);
    return out;
}

static const char *add(struct cvm_image_index *ix, struct cvm_descriptor d, const char *name)
{
    if (cvm_image_index_add(ix, &d, name, &err) < 0)
        return tap_take_error(&err);
    return "(ok)";
}

#define E_A_AMD64                                                                                  \
    "{\"mediaType\":\"" MANIFEST "\",\"digest\":\"sha256:" HEX_A "\",\"size\":705,"                \
    "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}"
#define E_B_ARM64_V8                                                                               \
    "{\"mediaType\":\"" MANIFEST "\",\"digest\":\"sha256:" HEX_B "\",\"size\":704,"                \
    "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\"}}"
#define E_C_ARM64                                                                                  \
    "{\"mediaType\":\"" MANIFEST "\",\"digest\":\"sha256:" HEX_C "\",\"size\":12,"                 \
    "\"platform\":{\"architecture\":\"arm64\",\"os\":\"linux\"}}"

static void exact_bytes(void)
{
    struct cvm_image_index ix;
    cvm_image_index_init(&ix);
    CHECK_STR(encode(&ix), INDEX_HEAD "\"manifests\":[]}");
    CHECK_STR(add(&ix, entry(HEX_A, 705, "linux", "amd64", NULL), "a"), "(ok)");
    CHECK_STR(add(&ix, entry(HEX_B, 704, "linux", "arm64", "v8"), "b"), "(ok)");
    /* Another variant is another platform. */
    CHECK_STR(add(&ix, entry(HEX_C, 12, "linux", "arm64", NULL), "c"), "(ok)");
    const char *want = INDEX_HEAD "\"manifests\":[" E_A_AMD64 "," E_B_ARM64_V8 "," E_C_ARM64 "]}";
    CHECK_STR(encode(&ix), want);
    CHECK_INT(ix.n_entries, 3);
    CHECK_STR(ix.names[1], "b");
    /* The same entries in the same order: the same bytes; another order: other bytes. */
    struct cvm_image_index again, other;
    cvm_image_index_init(&again);
    cvm_image_index_init(&other);
    CHECK_STR(add(&again, entry(HEX_A, 705, "linux", "amd64", NULL), "x"), "(ok)");
    CHECK_STR(add(&again, entry(HEX_B, 704, "linux", "arm64", "v8"), "y"), "(ok)");
    CHECK_STR(add(&again, entry(HEX_C, 12, "linux", "arm64", NULL), "z"), "(ok)");
    CHECK_STR(encode(&again), want);
    CHECK_STR(add(&other, entry(HEX_B, 704, "linux", "arm64", "v8"), "b"), "(ok)");
    CHECK_STR(add(&other, entry(HEX_A, 705, "linux", "amd64", NULL), "a"), "(ok)");
    CHECK_STR(encode(&other), INDEX_HEAD "\"manifests\":[" E_B_ARM64_V8 "," E_A_AMD64 "]}");
    cvm_image_index_release(&ix);
    cvm_image_index_release(&again);
    cvm_image_index_release(&other);
    CHECK_INT(ix.n_entries, 0);
    cvm_image_index_release(&ix); /* twice is harmless */
}

static void duplicate_platform(void)
{
    struct cvm_image_index ix;
    cvm_image_index_init(&ix);
    CHECK_STR(add(&ix, entry(HEX_A, 705, "linux", "amd64", NULL), "localhost/a:1"), "(ok)");
    CHECK_STR(add(&ix, entry(HEX_B, 704, "linux", "arm64", "v8"), "localhost/b:1"), "(ok)");
    CHECK_STR(add(&ix, entry(HEX_C, 12, "linux", "amd64", NULL), "localhost/c:1"),
              "images 'localhost/a:1' and 'localhost/c:1' are both for linux/amd64");
    CHECK_STR(add(&ix, entry(HEX_B, 704, "linux", "arm64", "v8"), "localhost/b:2"),
              "images 'localhost/b:1' and 'localhost/b:2' are both for linux/arm64/v8");
    CHECK_STR(add(&ix, entry(HEX_C, 12, NULL, NULL, NULL), "localhost/c:1"),
              "'localhost/c:1' has no platform");
    /* A failed add changes nothing. */
    CHECK_INT(ix.n_entries, 2);
    CHECK_STR(encode(&ix), INDEX_HEAD "\"manifests\":[" E_A_AMD64 "," E_B_ARM64_V8 "]}");
    struct cvm_descriptor d = entry(HEX_C, 12, "linux", "amd64", NULL);
    CHECK_INT(cvm_image_index_add(&ix, &d, "c", NULL), -CVM_E_CONFLICT);
    cvm_image_index_release(&ix);
}

static void amend(void)
{
    /* An existing index with fields of its own and an entry without a platform. */
    static const char existing[] =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
        "\"annotations\":{\"x\":\"y\"},\"manifests\":["
        "{\"mediaType\":\"" MANIFEST "\",\"digest\":\"sha256:" HEX_C "\",\"size\":12,"
        "\"annotations\":{\"z\":\"w\"},\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\","
        "\"os.version\":\"6\"}},"
        "{\"mediaType\":\"" MANIFEST "\",\"digest\":\"sha256:" HEX_B "\",\"size\":9}]}";
    struct cvm_manifest *m = NULL;
    CHECK_INT(cvm_manifest_parse(existing, strlen(existing), "existing", &m, &err), 0);
    struct cvm_image_index ix;
    CHECK_INT(cvm_image_index_init_from(&ix, m, &err), 0);
    cvm_manifest_free(m);
    CHECK_INT(ix.n_entries, 2);
    CHECK(ix.names[0] == NULL && ix.names[1] == NULL);
    /* Only media type, digest, size and platform are kept. */
    CHECK_STR(encode(&ix),
              INDEX_HEAD "\"manifests\":[{\"mediaType\":\"" MANIFEST "\",\"digest\":\"sha256:" HEX_C
                         "\",\"size\":12,\"platform\":"
                         "{\"architecture\":\"amd64\",\"os\":\"linux\"}},{\"mediaType\":"
                         "\"" MANIFEST "\",\"digest\":\"sha256:" HEX_B "\",\"size\":9}]}");
    /* The amd64 entry is replaced where it was; arm64 goes at the end. */
    CHECK_STR(add(&ix, entry(HEX_B, 704, "linux", "arm64", "v8"), "b"), "(ok)");
    CHECK_STR(add(&ix, entry(HEX_A, 705, "linux", "amd64", NULL), "a"), "(ok)");
    CHECK_STR(encode(&ix),
              INDEX_HEAD "\"manifests\":[" E_A_AMD64 ",{\"mediaType\":\"" MANIFEST
                         "\",\"digest\":\"sha256:" HEX_B "\",\"size\":9}," E_B_ARM64_V8 "]}");
    /* Once replaced, the platform belongs to an image given this time. */
    CHECK_STR(add(&ix, entry(HEX_C, 12, "linux", "amd64", NULL), "c"),
              "images 'a' and 'c' are both for linux/amd64");
    cvm_image_index_release(&ix);

    /* Only an index can be amended. */
    static const char image[] = "{\"schemaVersion\":2,\"mediaType\":\"" MANIFEST
                                "\",\"config\":{\"mediaType\":\"a/b\",\"digest\":\"sha256:" HEX_A
                                "\",\"size\":1},\"layers\":[]}";
    CHECK_INT(cvm_manifest_parse(image, strlen(image), "image", &m, &err), 0);
    CHECK_INT(cvm_image_index_init_from(&ix, m, &err), -CVM_E_FORMAT);
    CHECK_STR(tap_take_error(&err), "not an image index (media type '" MANIFEST "')");
    CHECK_INT(ix.n_entries, 0);
    cvm_manifest_free(m);
}

static char root[] = "/tmp/test-image-index-XXXXXX";

static void remove_root(void)
{
    cvm_dir_remove_tree(AT_FDCWD, root, NULL);
}

/* Stores text as a blob; *ret describes it with media type mt. */
static void put(struct cvm_store *s, const char *text, const char *mt, struct cvm_descriptor *ret)
{
    *ret = (struct cvm_descriptor){.media_type = (char *)mt, .size = strlen(text)};
    CHECK_INT(cvm_store_put_blob(s, text, strlen(text), &ret->digest, &err), 0);
}

static const char *config_text(const char *platform)
{
    return tap_fmt("{%s,\"cvm\":{\"version\":1,\"deployment\":\"cvm.yaml\",\"cvms\":[{\"name\":"
                   "\"a\",\"runtime\":\"r\",\"runtime_measurement\":\"sha256:" HEX_A
                   "\",\"measurement\":\"sha256:" HEX_A "\"}],\"measurement\":\"sha256:" HEX_A
                   "\"}}",
                   platform);
}

/* Stores a manifest whose config (of media type mt) is text; *ret describes the manifest. */
static void put_image(struct cvm_store *s, const char *config, const char *mt,
                      struct cvm_descriptor *ret)
{
    struct cvm_descriptor c;
    put(s, config, mt, &c);
    char d[CVM_DIGEST_STR_SIZE];
    put(s,
        tap_fmt("{\"schemaVersion\":2,\"mediaType\":\"" MANIFEST "\",\"config\":{\"mediaType\":"
                "\"%s\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[]}",
                mt, cvm_digest_format(&c.digest, d), strlen(config)),
        MANIFEST, ret);
}

static const char *entry_of(struct cvm_store *s, const struct cvm_descriptor *desc)
{
    struct cvm_descriptor e = {0};
    if (cvm_image_index_entry(s, desc, "img", &e, &err) < 0) {
        CHECK(e.media_type == NULL);
        return tap_take_error(&err);
    }
    char d[CVM_DIGEST_STR_SIZE];
    const char *out =
        tap_fmt("%s %s %llu %s/%s/%s", e.media_type, cvm_digest_format(&e.digest, d),
                (unsigned long long)e.size, e.os, e.architecture, e.variant ? e.variant : "-");
    CHECK(cvm_digest_equal(&e.digest, &desc->digest));
    cvm_descriptor_release(&e);
    return out;
}

static void entries_from_store(void)
{
    CHECK(mkdtemp(root) != NULL);
    atexit(remove_root); /* when a check fails */
    struct cvm_store *s = NULL;
    CHECK_INT(cvm_store_open(root, 0, &s, &err), 0);
    char d[CVM_DIGEST_STR_SIZE];

    struct cvm_descriptor arm, amd;
    put_image(s, config_text("\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\""),
              CVM_MEDIA_CONFIG, &arm);
    CHECK_STR(entry_of(s, &arm),
              tap_fmt(MANIFEST " %s %llu linux/arm64/v8", cvm_digest_format(&arm.digest, d),
                      (unsigned long long)arm.size));
    put_image(s, config_text("\"architecture\":\"amd64\",\"os\":\"linux\""), CVM_MEDIA_CONFIG,
              &amd);
    CHECK_STR(entry_of(s, &amd),
              tap_fmt(MANIFEST " %s %llu linux/amd64/-", cvm_digest_format(&amd.digest, d),
                      (unsigned long long)amd.size));

    /* The index of both, written to the store, then refused as an entry itself. */
    struct cvm_image_index ix;
    cvm_image_index_init(&ix);
    struct cvm_descriptor e1 = {0}, e2 = {0}, index = {0};
    CHECK_INT(cvm_image_index_entry(s, &amd, "amd", &e1, &err), 0);
    CHECK_INT(cvm_image_index_entry(s, &arm, "arm", &e2, &err), 0);
    CHECK_INT(cvm_image_index_add(&ix, &e1, "amd", &err), 0);
    CHECK_INT(cvm_image_index_add(&ix, &e2, "arm", &err), 0);
    CHECK_INT(cvm_image_index_write(s, &ix, &index, &err), 0);
    CHECK_STR(index.media_type, CVM_MEDIA_OCI_INDEX);
    struct cvm_buf b;
    CHECK_INT(cvm_image_index_encode(&ix, &b, &err), 0);
    struct cvm_digest want;
    cvm_digest_of(b.data, b.len, &want);
    CHECK(cvm_digest_equal(&index.digest, &want));
    CHECK_INT(index.size, b.len);
    cvm_buf_release(&b);
    CHECK_STR(entry_of(s, &index), "'img' is an image index, not an image manifest");
    cvm_descriptor_release(&e1);
    cvm_descriptor_release(&e2);
    cvm_descriptor_release(&index);
    cvm_image_index_release(&ix);

    /* Not a cVM image; a config platform of another syntax; sizes that disagree; missing. */
    struct cvm_descriptor sig, odd, missing;
    put_image(s, "{}", "application/vnd.oci.image.config.v1+json", &sig);
    CHECK_STR(entry_of(s, &sig), "'img' is not a cVM image (config media type "
                                 "'application/vnd.oci.image.config.v1+json')");
    put_image(s, config_text("\"architecture\":\"x86_64\",\"os\":\"linux\""), CVM_MEDIA_CONFIG,
              &odd);
    CHECK_STR(entry_of(s, &odd), "'img': the platform of its config is not "
                                 "os/architecture[/variant] of lowercase letters and digits");
    put_image(s, "{\"os\":\"linux\"}", CVM_MEDIA_CONFIG, &odd);
    CHECK_STR(entry_of(s, &odd), "config of 'img': 'architecture': missing");
    amd.size++;
    CHECK_STR(entry_of(s, &amd),
              tap_fmt("'img': manifest %s has %llu bytes, but the store says %llu",
                      cvm_digest_format(&amd.digest, d), (unsigned long long)amd.size - 1,
                      (unsigned long long)amd.size));
    missing = amd;
    CHECK(cvm_digest_parse_hex(HEX_C, &missing.digest) == 0);
    CHECK_STR(entry_of(s, &missing),
              tap_fmt("'img': blob sha256:" HEX_C " is missing from store '%s'", root));
    cvm_store_free(s);
    remove_root(); /* the runner leaves a passing test with _exit, past atexit */
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(platform_syntax), TAP_TEST(exact_bytes),        TAP_TEST(duplicate_platform),
        TAP_TEST(amend),           TAP_TEST(entries_from_store),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
