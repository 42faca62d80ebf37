/* Image references: the accepted forms with their defaults, the canonical text, and every
 * error with its exact message (control characters escaped). */
#include "base.h"
#include "reference.h"
#include "tap.h"

#define HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static struct cvm_reference *ref;
static int code;

/* Parses s into ref; returns "(parsed)" or the error message, and sets code to the class. */
static const char *parse(const char *s)
{
    static char msg[CVM_ERROR_MSG_MAX];
    struct cvm_error *err = NULL;
    cvm_reference_free(ref);
    ref = NULL;
    struct cvm_reference *sentinel = (struct cvm_reference *)&code, *out = sentinel;
    int r = cvm_reference_parse(s, &out, &err);
    if (r == 0) {
        CHECK(out != sentinel && err == NULL);
        ref = out;
        code = 0;
        return "(parsed)";
    }
    CHECK(out == sentinel);
    CHECK(err != NULL);
    CHECK_INT(r, -(int)err->code);
    code = (int)err->code;
    snprintf(msg, sizeof(msg), "%s", err->message);
    cvm_error_free(err);
    /* Without an error object the class is still returned. */
    CHECK_INT(cvm_reference_parse(s, &out, NULL), r);
    CHECK(out == sentinel);
    return msg;
}

static const char *formatted(void)
{
    static char text[CVM_REFERENCE_MAX + 1];
    char *f = cvm_reference_format(ref);
    CHECK(f != NULL);
    snprintf(text, sizeof(text), "%s", f);
    free(f);
    return text;
}

static const char *repository(void)
{
    static char text[CVM_REFERENCE_MAX + 1];
    char *f = cvm_reference_repository(ref);
    CHECK(f != NULL);
    snprintf(text, sizeof(text), "%s", f);
    free(f);
    return text;
}

/* A string of n copies of c followed by suffix, in a static buffer. */
static const char *repeat(char c, size_t n, const char *suffix)
{
    static char buf[2][1024];
    static int which;
    char *b = buf[which ^= 1];
    memset(b, c, n);
    snprintf(b + n, sizeof(buf[0]) - n, "%s", suffix);
    return b;
}

static void defaults(void)
{
    CHECK_STR(parse("hello"), "(parsed)");
    CHECK_STR(ref->domain, "localhost");
    CHECK_STR(ref->path, "hello");
    CHECK_STR(ref->tag, "latest");
    CHECK(!ref->has_digest);
    CHECK_STR(formatted(), "localhost/hello:latest");
    CHECK_STR(repository(), "localhost/hello");

    CHECK_STR(parse("hello:1.0"), "(parsed)");
    CHECK_STR(ref->tag, "1.0");
    CHECK_STR(formatted(), "localhost/hello:1.0");

    CHECK_STR(parse("team/app"), "(parsed)");
    CHECK_STR(ref->domain, "localhost");
    CHECK_STR(ref->path, "team/app");
    CHECK_STR(formatted(), "localhost/team/app:latest");

    CHECK_STR(parse("localhost/x"), "(parsed)");
    CHECK_STR(ref->domain, "localhost");
    CHECK_STR(ref->path, "x");
    CHECK_STR(formatted(), "localhost/x:latest");

    /* No slash: "localhost" is the path and "5000" the tag, as in docker/distribution. */
    CHECK_STR(parse("localhost:5000"), "(parsed)");
    CHECK_STR(ref->domain, "localhost");
    CHECK_STR(ref->path, "localhost");
    CHECK_STR(ref->tag, "5000");
}

static void domains(void)
{
    CHECK_STR(parse("registry.example.com:5000/a/b:v1"), "(parsed)");
    CHECK_STR(ref->domain, "registry.example.com:5000");
    CHECK_STR(ref->path, "a/b");
    CHECK_STR(ref->tag, "v1");
    CHECK_STR(formatted(), "registry.example.com:5000/a/b:v1");
    CHECK_STR(repository(), "registry.example.com:5000/a/b");

    CHECK_STR(parse("127.0.0.1:5000/x"), "(parsed)");
    CHECK_STR(ref->domain, "127.0.0.1:5000");
    CHECK_STR(ref->path, "x");
    CHECK_STR(ref->tag, "latest");

    CHECK_STR(parse("[::1]:5000/x:t"), "(parsed)");
    CHECK_STR(ref->domain, "[::1]:5000");
    CHECK_STR(ref->path, "x");
    CHECK_STR(ref->tag, "t");
    CHECK_STR(formatted(), "[::1]:5000/x:t");

    CHECK_STR(parse("[2001:db8::1]/x"), "(parsed)");
    CHECK_STR(ref->domain, "[2001:db8::1]");

    CHECK_STR(parse("Foo.bar/x"), "(parsed)");
    CHECK_STR(ref->domain, "Foo.bar");
    CHECK_STR(ref->path, "x");

    /* An uppercase letter alone makes the first component a domain. */
    CHECK_STR(parse("Foo/x"), "(parsed)");
    CHECK_STR(ref->domain, "Foo");

    CHECK_STR(parse("a-b.c/x"), "(parsed)");
    CHECK_STR(ref->domain, "a-b.c");

    CHECK_STR(parse("localhost:1/x"), "(parsed)");
    CHECK_STR(parse("localhost:65535/x"), "(parsed)");
    CHECK_STR(ref->domain, "localhost:65535");
}

static void digests(void)
{
    CHECK_STR(parse("x@sha256:" HEX), "(parsed)");
    CHECK_STR(ref->domain, "localhost");
    CHECK_STR(ref->path, "x");
    CHECK(ref->tag == NULL);
    CHECK(ref->has_digest);
    CHECK_INT(ref->digest.bytes[0], 0x01);
    CHECK_INT(ref->digest.bytes[31], 0xef);
    CHECK_STR(formatted(), "localhost/x@sha256:" HEX);
    CHECK_STR(repository(), "localhost/x");

    CHECK_STR(parse("x:t@sha256:" HEX), "(parsed)");
    CHECK_STR(ref->tag, "t");
    CHECK(ref->has_digest);
    CHECK_STR(formatted(), "localhost/x:t@sha256:" HEX);

    CHECK_STR(parse("example.com:443/a/b:v2@sha256:" HEX), "(parsed)");
    CHECK_STR(formatted(), "example.com:443/a/b:v2@sha256:" HEX);
}

static void separators(void)
{
    CHECK_STR(parse("a__b"), "(parsed)");
    CHECK_STR(ref->path, "a__b");
    CHECK_STR(parse("a-----b"), "(parsed)");
    CHECK_STR(ref->path, "a-----b");
    CHECK_STR(parse("x/a.b_c-d/e0/9"), "(parsed)");
    CHECK_STR(ref->path, "x/a.b_c-d/e0/9");
    CHECK_STR(parse("x:_T.1-2_"), "(parsed)");
    CHECK_STR(ref->tag, "_T.1-2_");

    CHECK_STR(parse("a..b"),
              "reference 'a..b': path component 'a..b' has invalid separator '..' at offset 1");
    CHECK_STR(parse("x/a___b"),
              "reference 'x/a___b': path component 'a___b' has invalid separator '___' at "
              "offset 3");
    CHECK_STR(parse("a_-b"),
              "reference 'a_-b': path component 'a_-b' has invalid separator '_-' at offset 1");
    CHECK_STR(parse("a-.b"),
              "reference 'a-.b': path component 'a-.b' has invalid separator '-.' at offset 1");
    CHECK_INT(code, CVM_E_FORMAT);
}

static void path_errors(void)
{
    CHECK_STR(parse(""), "reference '': empty reference");
    CHECK_INT(code, CVM_E_FORMAT);
    CHECK_STR(parse("Hello"), "reference 'Hello': repository name must be lowercase");
    CHECK_STR(parse("team/App"), "reference 'team/App': repository name must be lowercase");
    CHECK_STR(parse("-a"), "reference '-a': path component '-a' must start with a letter or digit");
    CHECK_STR(parse("a-"), "reference 'a-': path component 'a-' must end with a letter or digit");
    CHECK_STR(parse("x/.a"),
              "reference 'x/.a': path component '.a' must start with a letter or digit");
    CHECK_STR(parse("a//b"), "reference 'a//b': empty path component at offset 2");
    CHECK_STR(parse("/a"), "reference '/a': repository path must not start with '/'");
    CHECK_STR(parse("a/"), "reference 'a/': repository path must not end with '/'");
    CHECK_STR(parse("a/:t"), "reference 'a/:t': repository path must not end with '/'");
    CHECK_STR(parse("localhost/"), "reference 'localhost/': empty repository path");
    CHECK_STR(parse("a/b:c/d"), "reference 'a/b:c/d': invalid character ':' at offset 3");
    CHECK_STR(parse("a[b]"), "reference 'a[b]': invalid character '[' at offset 1");
    CHECK_STR(parse(":tag"), "reference ':tag': missing repository name");
    CHECK_STR(parse("@sha256:" HEX), "reference '@sha256:" HEX "': missing repository name");
    CHECK_INT(code, CVM_E_FORMAT);
}

static void length_limits(void)
{
    char want[CVM_ERROR_MSG_MAX];

    /* "localhost/" + 245 = 255 bytes; one more is too long, with or without a domain. */
    CHECK_STR(parse(repeat('a', 245, "")), "(parsed)");
    CHECK_INT(strlen(repository()), 255);
    snprintf(want, sizeof(want), "reference '%s': repository name is longer than 255 bytes",
             repeat('a', 80, "..."));
    CHECK_STR(parse(repeat('a', 246, "")), want);
    CHECK_INT(code, CVM_E_FORMAT);
    char name[300];
    snprintf(name, sizeof(name), "example.com/%s", repeat('b', 244, ""));
    snprintf(want, sizeof(want),
             "reference 'example.com/%s': repository name is longer than 255 "
             "bytes",
             repeat('b', 68, "..."));
    CHECK_STR(parse(name), want);
    name[strlen(name) - 1] = '\0';
    CHECK_STR(parse(name), "(parsed)");

    CHECK_STR(parse(repeat('t', 128, "")), "(parsed)");
    char tagged[300];
    snprintf(tagged, sizeof(tagged), "x:%s", repeat('t', 128, ""));
    CHECK_STR(parse(tagged), "(parsed)");
    CHECK_INT(strlen(ref->tag), 128);
    snprintf(tagged, sizeof(tagged), "x:%s", repeat('t', 129, ""));
    snprintf(want, sizeof(want), "reference 'x:%s': tag is longer than 128 characters",
             repeat('t', 78, "..."));
    CHECK_STR(parse(tagged), want);

    snprintf(want, sizeof(want), "reference '%s': longer than 512 bytes", repeat('a', 80, "..."));
    CHECK_STR(parse(repeat('a', 513, "")), want);
    CHECK_INT(code, CVM_E_FORMAT);

    /* The longest valid reference (456 bytes) parses and formats back to itself. */
    char longest[CVM_REFERENCE_MAX + 1];
    snprintf(longest, sizeof(longest), "example.com/%s:%s@sha256:" HEX, repeat('p', 243, ""),
             repeat('T', 128, ""));
    CHECK_INT(strlen(longest), 456);
    CHECK_STR(parse(longest), "(parsed)");
    CHECK_STR(formatted(), longest);
}

static void domain_errors(void)
{
    CHECK_STR(parse("localhost:99999/x"), "reference 'localhost:99999/x': port out of range");
    CHECK_STR(parse("localhost:0/x"), "reference 'localhost:0/x': port out of range");
    CHECK_STR(parse("localhost:65536/x"), "reference 'localhost:65536/x': port out of range");
    CHECK_STR(parse("localhost:99999999999999999999999/x"),
              "reference 'localhost:99999999999999999999999/x': port out of range");
    CHECK_STR(parse("localhost:/x"), "reference 'localhost:/x': empty port");
    CHECK_STR(parse("localhost:http/x"),
              "reference 'localhost:http/x': port 'http' is not a decimal number");
    CHECK_STR(parse("a:1:2/x"), "reference 'a:1:2/x': port '1:2' is not a decimal number");
    CHECK_STR(parse(":5000/x"), "reference ':5000/x': empty domain component at offset 0");
    CHECK_STR(parse("a..com/x"), "reference 'a..com/x': empty domain component at offset 2");
    CHECK_STR(parse("a.com./x"), "reference 'a.com./x': empty domain component at offset 6");
    CHECK_STR(parse("-a.com/x"),
              "reference '-a.com/x': domain component '-a' must start and end with a letter or "
              "digit");
    CHECK_STR(parse("a.b-:1/x"),
              "reference 'a.b-:1/x': domain component 'b-' must start and end with a letter or "
              "digit");
    CHECK_STR(parse("a_b.com/x"), "reference 'a_b.com/x': invalid character '_' at offset 1");
    /* A '.' makes the first component a domain, where '_' is not allowed. */
    CHECK_STR(parse("a.b_c/x"), "reference 'a.b_c/x': invalid character '_' at offset 3");
    CHECK_STR(parse("[::1/x"), "reference '[::1/x': unterminated IPv6 address");
    CHECK_STR(parse("[::g]/x"), "reference '[::g]/x': invalid IPv6 address '::g'");
    CHECK_STR(parse("[]:5/x"), "reference '[]:5/x': invalid IPv6 address ''");
    CHECK_STR(parse("[1.2.3.4]/x"), "reference '[1.2.3.4]/x': invalid IPv6 address '1.2.3.4'");
    CHECK_STR(parse("[::1]x:1/y"), "reference '[::1]x:1/y': invalid character 'x' at offset 5");
    CHECK_STR(parse("[::1]:0/y"), "reference '[::1]:0/y': port out of range");
    CHECK_INT(code, CVM_E_FORMAT);
}

static void tag_errors(void)
{
    CHECK_STR(parse("x:"), "reference 'x:': empty tag");
    CHECK_INT(code, CVM_E_FORMAT);
    CHECK_STR(parse("x:@sha256:" HEX), "reference 'x:@sha256:" HEX "': empty tag");
    CHECK_STR(parse("x:-a"), "reference 'x:-a': tag '-a' must start with a letter, digit or '_'");
    CHECK_STR(parse("x:.a"), "reference 'x:.a': tag '.a' must start with a letter, digit or '_'");
    CHECK_STR(parse("x:a:b"), "reference 'x:a:b': invalid character ':' at offset 3");
    CHECK_STR(parse("x:a]"), "reference 'x:a]': invalid character ']' at offset 3");
}

static void digest_errors(void)
{
    CHECK_STR(parse("x@"), "reference 'x@': empty digest");
    CHECK_STR(parse("x@sha256:12"),
              "reference 'x@sha256:12': digest 'sha256:12': expected 64 lowercase hex digits "
              "after 'sha256:'");
    CHECK_INT(code, CVM_E_FORMAT);
    CHECK_STR(parse("x@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"),
              "reference 'x@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcd"
              "ef': digest 'sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcd"
              "ef': expected 64 lowercase hex digits after 'sha256:'");
    CHECK_STR(parse("x@sha256:" HEX "@y"), "reference 'x@sha256:" HEX "@y': digest 'sha256:" HEX
                                           "@y': expected 64 lowercase hex digits after 'sha256:'");
    CHECK_STR(parse("x@" HEX),
              "reference 'x@" HEX "': digest '" HEX "': expected 'sha256:<64 hex digits>'");
    CHECK_INT(code, CVM_E_FORMAT);
    CHECK_STR(parse("x@sha512:abcd"),
              "reference 'x@sha512:abcd': digest 'sha512:abcd': unsupported algorithm 'sha512' "
              "(only sha256)");
    CHECK_INT(code, CVM_E_UNSUPPORTED);
    parse("x:t@sha512:" HEX HEX);
    CHECK_INT(code, CVM_E_UNSUPPORTED);
}

static void hostile_characters(void)
{
    CHECK_STR(parse("a b"), "reference 'a b': invalid character ' ' at offset 1");
    CHECK_STR(parse("hello\n"), "reference 'hello\\x0a': invalid character '\\x0a' at offset 5");
    CHECK_STR(parse("a\tb"), "reference 'a\\x09b': invalid character '\\x09' at offset 1");
    CHECK_STR(parse("a\x01z"), "reference 'a\\x01z': invalid character '\\x01' at offset 1");
    CHECK_STR(parse("\x1b[2J\x1b[Hok"),
              "reference '\\x1b[2J\\x1b[Hok': invalid character '\\x1b' at offset 0");
    CHECK_STR(parse("x:t\x7f"), "reference 'x:t\\x7f': invalid character '\\x7f' at offset 3");
    CHECK_STR(parse("caf\xc3\xa9"),
              "reference 'caf\\xc3\\xa9': invalid character '\\xc3' at offset 3");
    CHECK_STR(parse("it's"), "reference 'it\\'s': invalid character '\\'' at offset 2");
    CHECK_STR(parse("a\\b"), "reference 'a\\\\b': invalid character '\\\\' at offset 1");
    CHECK_INT(code, CVM_E_FORMAT);

    /* A long hostile input is cut after 80 bytes, escapes included. */
    char evil[200], want[CVM_ERROR_MSG_MAX];
    memset(evil, '\x1b', 100);
    evil[100] = '\0';
    char esc[400] = "";
    for (int i = 0; i < 80; i++)
        strcat(esc, "\\x1b");
    snprintf(want, sizeof(want), "reference '%s...': invalid character '\\x1b' at offset 0", esc);
    CHECK_STR(parse(evil), want);
}

static void round_trip(void)
{
    static const char *const inputs[] = {
        "hello",
        "hello:1.0",
        "team/app",
        "registry.example.com:5000/a/b:v1",
        "127.0.0.1:5000/x",
        "localhost/x",
        "localhost:5000",
        "[::1]:5000/x:t",
        "Foo.bar/x",
        "Foo/x",
        "a__b",
        "a-----b/c.d_e",
        "x@sha256:" HEX,
        "x:t@sha256:" HEX,
        "[::ffff:1.2.3.4]/y:Z@sha256:" HEX,
    };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        CHECK_STR(parse(inputs[i]), "(parsed)");
        struct cvm_reference *first = ref;
        ref = NULL;
        char *text = cvm_reference_format(first);
        CHECK(text != NULL);
        CHECK_STR(parse(text), "(parsed)");
        CHECK_STR(ref->domain, first->domain);
        CHECK_STR(ref->path, first->path);
        CHECK_INT(ref->tag == NULL, first->tag == NULL);
        if (first->tag)
            CHECK_STR(ref->tag, first->tag);
        CHECK_INT(ref->has_digest, first->has_digest);
        CHECK(cvm_digest_equal(&ref->digest, &first->digest));
        CHECK_STR(formatted(), text);
        free(text);
        cvm_reference_free(first);
    }
}

static void tag_valid(void)
{
    CHECK(cvm_reference_tag_valid("latest"));
    CHECK(cvm_reference_tag_valid("sha256-" HEX ".sig"));
    CHECK(cvm_reference_tag_valid("_"));
    CHECK(cvm_reference_tag_valid("V1.0-rc_1"));
    CHECK(cvm_reference_tag_valid(repeat('t', 128, "")));
    CHECK(!cvm_reference_tag_valid(repeat('t', 129, "")));
    CHECK(!cvm_reference_tag_valid(repeat('t', 600, "")));
    CHECK(!cvm_reference_tag_valid(""));
    CHECK(!cvm_reference_tag_valid(NULL));
    CHECK(!cvm_reference_tag_valid("-a"));
    CHECK(!cvm_reference_tag_valid(".a"));
    CHECK(!cvm_reference_tag_valid("a:b"));
    CHECK(!cvm_reference_tag_valid("a/b"));
    CHECK(!cvm_reference_tag_valid("a b"));
    CHECK(!cvm_reference_tag_valid("sha256:" HEX));
    cvm_reference_free(NULL);
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(defaults),           TAP_TEST(domains),     TAP_TEST(digests),
        TAP_TEST(separators),         TAP_TEST(path_errors), TAP_TEST(length_limits),
        TAP_TEST(domain_errors),      TAP_TEST(tag_errors),  TAP_TEST(digest_errors),
        TAP_TEST(hostile_characters), TAP_TEST(round_trip),  TAP_TEST(tag_valid),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
