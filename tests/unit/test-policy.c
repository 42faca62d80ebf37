/* The trust policy: scope lookup (most specific wins, wildcards, default), key resolution, and
 * the exact message for every malformed or unsupported document. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "policy.h"
#include "sign.h"
#include "tap.h"

static struct cvm_policy *pol;
static struct cvm_error *err;
static char dir[64];

/* Parses text as "p.json" in /etc/cvm; "(parsed)" or the message. */
static const char *parse(const char *text)
{
    cvm_policy_free(pol);
    pol = NULL;
    if (cvm_policy_parse(text, strlen(text), "p.json", "/etc/cvm", &pol, &err) == 0)
        return "(parsed)";
    CHECK(pol == NULL);
    return tap_take_error(&err);
}

/* The error class of the last failed parse of text. */
static int parse_code(const char *text)
{
    struct cvm_policy *p = NULL;
    int r = cvm_policy_parse(text, strlen(text), "p.json", "/etc/cvm", &p, NULL);
    cvm_policy_free(p);
    return r;
}

static const char *describe(const struct cvm_policy_requirement *reqs, size_t n, const char *scope)
{
    static char out[4096];
    int o = snprintf(out, sizeof(out), "%s:", scope);
    for (size_t i = 0; i < n; i++) {
        const struct cvm_policy_requirement *r = &reqs[i];
        const char *what = r->type == CVM_POLICY_ACCEPT   ? "accept"
                           : r->type == CVM_POLICY_REJECT ? "reject"
                                                          : "signed";
        o += snprintf(out + o, sizeof(out) - (size_t)o, " %s", what);
        if (r->type == CVM_POLICY_SIGNED)
            o += snprintf(out + o, sizeof(out) - (size_t)o, " %s%s",
                          r->key_path ? r->key_path : "keyData",
                          r->match_repository ? " matchRepository" : "");
    }
    return out;
}

static const char *lookup(const char *repository, const char *tag)
{
    const struct cvm_policy_requirement *reqs = NULL;
    size_t n = 0;
    const char *scope = NULL;
    CHECK_INT(cvm_policy_lookup(pol, repository, tag, &reqs, &n, &scope), 0);
    return describe(reqs, n, scope);
}

#define EXAMPLE                                                                                    \
    "{ \"default\": [{\"type\": \"reject\"}],\n"                                                   \
    "  \"transports\": { \"docker\": {\n"                                                          \
    "      \"localhost/hello\": [{\"type\": \"sigstoreSigned\", \"keyPath\": "                     \
    "\"keys/hello.pub\"}],\n"                                                                      \
    "      \"registry.example:5000/team\": [{\"type\": \"sigstoreSigned\", \"keyPath\": "          \
    "\"/etc/team.pub\"}],\n"                                                                       \
    "      \"localhost\": [{\"type\": \"insecureAcceptAnything\"}] } } }\n"

static void example_lookup(void)
{
    CHECK_STR(parse(EXAMPLE), "(parsed)");
    CHECK_STR(lookup("localhost/hello", "1"), "localhost/hello: signed /etc/cvm/keys/hello.pub");
    CHECK_STR(lookup("localhost/hello", NULL), "localhost/hello: signed /etc/cvm/keys/hello.pub");
    CHECK_STR(lookup("localhost/hello", ""), "localhost/hello: signed /etc/cvm/keys/hello.pub");
    CHECK_STR(lookup("localhost/hello/sub", "1"),
              "localhost/hello: signed /etc/cvm/keys/hello.pub");
    CHECK_STR(lookup("localhost/other", "latest"), "localhost: accept");
    CHECK_STR(lookup("localhost/hellox", "latest"), "localhost: accept");
    CHECK_STR(lookup("registry.example:5000/team/app", "v1"),
              "registry.example:5000/team: signed /etc/team.pub");
    CHECK_STR(lookup("registry.example:5000/team", NULL),
              "registry.example:5000/team: signed /etc/team.pub");
    CHECK_STR(lookup("registry.example:5000/teamx/app", NULL), "default: reject");
    CHECK_STR(lookup("registry.example/team/app", NULL), "default: reject");
    CHECK_STR(lookup("registry.example:5001/team/app", NULL), "default: reject");
    CHECK_STR(lookup("quay.io/x", "latest"), "default: reject");
    CHECK_STR(lookup("localhost.evil/hello", NULL), "default: reject");

    const struct cvm_policy_requirement *reqs = NULL;
    size_t n = 7;
    const char *scope = "unchanged";
    CHECK_INT(cvm_policy_lookup(pol, "", NULL, &reqs, &n, &scope), -CVM_E_USAGE);
    CHECK_STR(scope, "unchanged");
    CHECK_INT(n, 7);
    cvm_policy_free(pol);
    pol = NULL;
    cvm_policy_free(NULL);
}

static void specificity(void)
{
    CHECK_STR(parse("{\"default\":[{\"type\":\"insecureAcceptAnything\"}],"
                    "\"transports\":{\"docker\":{"
                    "\"localhost/a/b:v1\":[{\"type\":\"reject\"}],"
                    "\"localhost/a/b\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"b.pub\"}],"
                    "\"localhost/a\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"a.pub\","
                    "\"signedIdentity\":{\"type\":\"matchRepository\"}}],"
                    "\"localhost\":[{\"type\":\"reject\"},{\"type\":\"insecureAcceptAnything\"}],"
                    "\"localhost:5000\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/p.pub\"}]"
                    "}}}"),
              "(parsed)");
    CHECK_STR(lookup("localhost/a/b", "v1"), "localhost/a/b:v1: reject");
    CHECK_STR(lookup("localhost/a/b", "v2"), "localhost/a/b: signed /etc/cvm/b.pub");
    CHECK_STR(lookup("localhost/a/b/c/d", "v1"), "localhost/a/b: signed /etc/cvm/b.pub");
    CHECK_STR(lookup("localhost/a/c", "v1"), "localhost/a: signed /etc/cvm/a.pub matchRepository");
    CHECK_STR(lookup("localhost/a", "v1"), "localhost/a: signed /etc/cvm/a.pub matchRepository");
    CHECK_STR(lookup("localhost/x", NULL), "localhost: reject accept");
    CHECK_STR(lookup("localhost:5000/a/b", "v1"), "localhost:5000: signed /p.pub");
    CHECK_STR(lookup("localhost:5001/a/b", "v1"), "default: accept");
}

static void wildcards(void)
{
    CHECK_STR(
        parse("{\"default\":[{\"type\":\"reject\"}],\"transports\":{\"docker\":{"
              "\"*.example.com\":[{\"type\":\"insecureAcceptAnything\"}],"
              "\"*.b.example.com\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"b.pub\"}],"
              "\"registry.example.com\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"r.pub\"}],"
              "\"a.example.com/team\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"t.pub\"}]"
              "}}}"),
        "(parsed)");
    CHECK_STR(lookup("registry.example.com/x", NULL),
              "registry.example.com: signed /etc/cvm/r.pub");
    CHECK_STR(lookup("c.example.com/x", NULL), "*.example.com: accept");
    CHECK_STR(lookup("c.d.example.com/x/y", "1"), "*.example.com: accept");
    CHECK_STR(lookup("a.b.example.com/x", NULL), "*.b.example.com: signed /etc/cvm/b.pub");
    CHECK_STR(lookup("x.y.b.example.com/x", NULL), "*.b.example.com: signed /etc/cvm/b.pub");
    CHECK_STR(lookup("b.example.com/x", NULL), "*.example.com: accept");
    /* A port is not part of the domain a wildcard matches. */
    CHECK_STR(lookup("c.example.com:5000/x", NULL), "*.example.com: accept");
    /* Namespaces and exact hosts come first. */
    CHECK_STR(lookup("a.example.com/team/x", NULL), "a.example.com/team: signed /etc/cvm/t.pub");
    CHECK_STR(lookup("a.example.com/other", NULL), "*.example.com: accept");
    /* The wildcard's own domain and look-alikes do not match. */
    CHECK_STR(lookup("example.com/x", NULL), "default: reject");
    CHECK_STR(lookup("example.com.evil/x", NULL), "default: reject");
    CHECK_STR(lookup("xexample.com/x", NULL), "default: reject");
    CHECK_STR(lookup("localhost/x", NULL), "default: reject");
}

static void keys(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cvm-test-policy-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    CHECK_INT(cvm_key_generate(tap_fmt("%s/k", dir), &err), 0);
    struct cvm_buf pem;
    cvm_buf_init(&pem, 65536);
    CHECK_INT(cvm_buf_read_file(&pem, AT_FDCWD, tap_fmt("%s/k.pub", dir), &err), 0);
    char *b64 = cvm_sign_base64_encode(pem.data, pem.len);
    CHECK_STR(parse(tap_fmt("{\"default\":[{\"type\":\"sigstoreSigned\",\"keyData\":\"%s\","
                            "\"signedIdentity\":{\"type\":\"matchRepository\"}}]}",
                            b64)),
              "(parsed)");
    const struct cvm_policy_requirement *reqs = NULL;
    size_t n = 0;
    const char *scope = NULL;
    CHECK_INT(cvm_policy_lookup(pol, "localhost/x", NULL, &reqs, &n, &scope), 0);
    CHECK_STR(scope, "default");
    CHECK_INT(n, 1);
    CHECK_INT(reqs[0].type, CVM_POLICY_SIGNED);
    CHECK(reqs[0].key_path == NULL);
    CHECK(reqs[0].match_repository);
    CHECK_INT(reqs[0].key_pem_len, pem.len);
    CHECK_STR(reqs[0].key_pem, (const char *)pem.data);
    struct cvm_verify_key *vk = NULL;
    CHECK_INT(cvm_verify_key_from_pem(reqs[0].key_pem, reqs[0].key_pem_len, "keyData", &vk, &err),
              0);
    cvm_verify_key_free(vk);
    free(b64);
    cvm_buf_release(&pem);

    /* A file: relative keyPaths resolve against its folder, made absolute. */
    const char *doc = "{\"default\":[{\"type\":\"sigstoreSigned\",\"keyPath\":\"keys/k.pub\"}],"
                      "\"transports\":{\"docker\":{\"localhost/abs\":"
                      "[{\"type\":\"sigstoreSigned\",\"keyPath\":\"/abs/k.pub\"}]}}}";
    FILE *f = fopen(tap_fmt("%s/policy.json", dir), "w");
    CHECK(f != NULL);
    fputs(doc, f);
    fclose(f);
    cvm_policy_free(pol);
    pol = NULL;
    CHECK_INT(cvm_policy_load(tap_fmt("%s/policy.json", dir), &pol, &err), 0);
    CHECK_STR(lookup("localhost/x", NULL), tap_fmt("default: signed %s/keys/k.pub", dir));
    CHECK_STR(lookup("localhost/abs", NULL), "localhost/abs: signed /abs/k.pub");
    cvm_policy_free(pol);
    pol = NULL;
    CHECK(chdir(dir) == 0);
    CHECK_INT(cvm_policy_load("policy.json", &pol, &err), 0);
    CHECK_STR(lookup("localhost/x", NULL), tap_fmt("default: signed %s/keys/k.pub", dir));
    cvm_policy_free(pol);
    pol = NULL;
    CHECK(mkdir("sub", 0755) == 0);
    CHECK(rename("policy.json", "sub/policy.json") == 0);
    CHECK_INT(cvm_policy_load("sub/policy.json", &pol, &err), 0);
    CHECK_STR(lookup("localhost/x", NULL), tap_fmt("default: signed %s/sub/keys/k.pub", dir));
    cvm_policy_free(pol);
    pol = NULL;

    /* Load errors. */
    CHECK_INT(cvm_policy_load("missing.json", &pol, &err), -CVM_E_SYSTEM);
    CHECK_STR(tap_take_error(&err), "cannot open 'missing.json': No such file or directory");
    f = fopen("big.json", "w");
    CHECK(f != NULL);
    for (int i = 0; i < CVM_POLICY_FILE_MAX / 64 + 1; i++)
        fputs("                                                               \n", f);
    fclose(f);
    CHECK_INT(cvm_policy_load("big.json", &pol, &err), -CVM_E_LIMIT);
    CHECK_STR(tap_take_error(&err), "policy 'big.json': over the limit of 1048576 bytes");
    f = fopen("bad.json", "w");
    CHECK(f != NULL);
    fputs("{\"default\":[]}", f);
    fclose(f);
    CHECK_INT(cvm_policy_load("bad.json", &pol, &err), -CVM_E_FORMAT);
    CHECK_STR(tap_take_error(&err),
              "policy 'bad.json': default: the list of requirements is empty");
    CHECK(pol == NULL);
    CHECK(chdir("/") == 0);
    CHECK(system(tap_fmt("rm -rf '%s'", dir)) == 0);
}

#define DEF "\"default\":[{\"type\":\"reject\"}]"
#define SCOPE(req) "{" DEF ",\"transports\":{\"docker\":{\"localhost/hello\":[" req "]}}}"
#define AT "policy 'p.json': transports.docker.\"localhost/hello\"[0]: "

static void malformed(void)
{
    /* Not a policy document. */
    CHECK_STR(parse(""),
              "policy 'p.json': invalid JSON at line 1, column 0: '[' or '{' expected near end of "
              "file");
    CHECK_STR(parse("default: reject"),
              "policy 'p.json': invalid JSON at line 1, column 7: '[' or '{' expected near "
              "'default'");
    CHECK_STR(parse("{" DEF "} x"),
              "policy 'p.json': invalid JSON at line 1, column 33: end of file expected near 'x'");
    CHECK_STR(parse("{" DEF "}}"),
              "policy 'p.json': invalid JSON at line 1, column 32: end of file expected near '}'");
    CHECK_STR(
        parse("{" DEF ",}"),
        "policy 'p.json': invalid JSON at line 1, column 32: string or '}' expected near '}'");
    CHECK_STR(parse("{" DEF "," DEF "}"),
              "policy 'p.json': invalid JSON at line 1, column 40: duplicate object key near "
              "'\"default\"'");
    CHECK_STR(parse("{\"default\":[{\"type\":\"re\xffject\"}]}"),
              "policy 'p.json': invalid JSON at line 1, column 23: unable to decode byte 0xff near "
              "'\"re'");
    CHECK_STR(parse("[]"), "policy 'p.json': the document must be a JSON object");
    CHECK_STR(parse("{}"), "policy 'p.json': missing 'default'");
    CHECK_STR(parse("{" DEF ",\"defaults\":[]}"), "policy 'p.json': unknown key 'defaults'");
    CHECK_STR(parse("{" DEF ",\"x\\u001b[31m\":1}"), "policy 'p.json': unknown key 'x\\x1b[31m'");

    /* Requirement lists. */
    CHECK_STR(parse("{\"default\":{}}"),
              "policy 'p.json': default: must be an array of requirements");
    CHECK_STR(parse("{\"default\":[]}"),
              "policy 'p.json': default: the list of requirements is empty");
    CHECK_STR(parse("{\"default\":[\"reject\"]}"),
              "policy 'p.json': default[0]: must be an object");
    CHECK_STR(parse("{\"default\":[{\"type\":\"reject\"},{}]}"),
              "policy 'p.json': default[1]: missing 'type'");
    CHECK_STR(parse("{\"default\":[{\"type\":1}]}"),
              "policy 'p.json': default[0].type: must be a string");
    CHECK_STR(parse("{\"default\":[{\"type\":\"rejected\"}]}"),
              "policy 'p.json': default[0]: unknown requirement type 'rejected'");
    CHECK_STR(parse("{\"default\":[{\"type\":\"reject\",\"keyPath\":\"x\"}]}"),
              "policy 'p.json': default[0]: unknown key 'keyPath'");
    CHECK_STR(parse("{\"default\":[{\"type\":\"insecureAcceptAnything\",\"x\":1}]}"),
              "policy 'p.json': default[0]: unknown key 'x'");

    /* sigstoreSigned. */
    CHECK_STR(parse(SCOPE("{\"type\":\"sigstoreSigned\",\"keypath\":\"k.pub\"}")),
              AT "unknown key 'keypath'");
    CHECK_STR(parse(SCOPE("{\"type\":\"sigstoreSigned\"}")),
              AT "sigstoreSigned needs 'keyPath' or 'keyData'");
    CHECK_STR(parse(SCOPE("{\"type\":\"sigstoreSigned\",\"keyPath\":\"a\",\"keyData\":\"b\"}")),
              AT "sigstoreSigned takes 'keyPath' or 'keyData', not both");
    CHECK_STR(parse(SCOPE("{\"type\":\"sigstoreSigned\",\"keyPath\":7}")),
              "policy 'p.json': transports.docker.\"localhost/hello\"[0].keyPath: must be a "
              "non-empty string");
    CHECK_STR(parse(SCOPE("{\"type\":\"sigstoreSigned\",\"keyPath\":\"\"}")),
              "policy 'p.json': transports.docker.\"localhost/hello\"[0].keyPath: must be a "
              "non-empty string");
    CHECK_STR(parse(SCOPE("{\"type\":\"sigstoreSigned\",\"keyData\":null}")),
              "policy 'p.json': transports.docker.\"localhost/hello\"[0].keyData: must be a "
              "non-empty string");
    CHECK_STR(parse(SCOPE("{\"type\":\"sigstoreSigned\",\"keyData\":\"not base64\"}")),
              AT "keyData is not valid base64");
    /* base64 of "hello\n": no PEM */
    CHECK_STR(parse(SCOPE("{\"type\":\"sigstoreSigned\",\"keyData\":\"aGVsbG8K\"}")),
              AT "key 'keyData': not a PEM file");
    /* base64 of a PEM private key block header: the wrong half */
    const char *priv_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    char *priv = cvm_sign_base64_encode(priv_pem, strlen(priv_pem));
    CHECK_STR(parse(tap_fmt(SCOPE("{\"type\":\"sigstoreSigned\",\"keyData\":\"%s\"}"), priv)),
              AT "key 'keyData': expected a public key, found a private key");
    free(priv);
    CHECK_STR(parse(SCOPE("{\"type\":\"sigstoreSigned\",\"keyPath\":\"k\",\"fulcio\":{}}")),
              AT "'fulcio' is not supported");
    CHECK_INT(parse_code(SCOPE("{\"type\":\"sigstoreSigned\",\"keyPath\":\"k\",\"fulcio\":{}}")),
              -CVM_E_UNSUPPORTED);
    CHECK_STR(parse(SCOPE("{\"type\":\"sigstoreSigned\",\"keyPaths\":[\"k\"]}")),
              AT "'keyPaths' is not supported");
    CHECK_STR(parse(SCOPE("{\"type\":\"signedBy\",\"keyType\":\"GPGKeys\",\"keyPath\":\"k\"}")),
              AT "requirement type 'signedBy' is not supported (use sigstoreSigned)");
    CHECK_INT(parse_code(SCOPE("{\"type\":\"signedBy\"}")), -CVM_E_UNSUPPORTED);
    CHECK_INT(parse_code(SCOPE("{\"type\":\"sigstoreSigned\",\"keypath\":\"k\"}")), -CVM_E_FORMAT);

    /* signedIdentity. */
    CHECK_STR(parse(SCOPE("{\"type\":\"sigstoreSigned\",\"keyPath\":\"k\","
                          "\"signedIdentity\":{\"type\":\"matchExact\"}}")),
              "policy 'p.json': transports.docker.\"localhost/hello\"[0].signedIdentity: "
              "signedIdentity type 'matchExact' is not supported (only matchRepository)");
    CHECK_INT(parse_code(SCOPE("{\"type\":\"sigstoreSigned\",\"keyPath\":\"k\","
                               "\"signedIdentity\":{\"type\":\"remapIdentity\"}}")),
              -CVM_E_UNSUPPORTED);
    CHECK_STR(parse(SCOPE("{\"type\":\"sigstoreSigned\",\"keyPath\":\"k\","
                          "\"signedIdentity\":{\"type\":\"matchAnything\"}}")),
              "policy 'p.json': transports.docker.\"localhost/hello\"[0].signedIdentity: "
              "unknown signedIdentity type 'matchAnything'");
    CHECK_STR(parse(SCOPE("{\"type\":\"sigstoreSigned\",\"keyPath\":\"k\","
                          "\"signedIdentity\":\"matchRepository\"}")),
              "policy 'p.json': transports.docker.\"localhost/hello\"[0].signedIdentity: must be "
              "an object");
    CHECK_STR(parse(SCOPE("{\"type\":\"sigstoreSigned\",\"keyPath\":\"k\","
                          "\"signedIdentity\":{\"type\":\"matchRepository\",\"x\":1}}")),
              "policy 'p.json': transports.docker.\"localhost/hello\"[0].signedIdentity: unknown "
              "key 'x'");
    CHECK_STR(parse(SCOPE("{\"type\":\"sigstoreSigned\",\"keyPath\":\"k\","
                          "\"signedIdentity\":{}}")),
              "policy 'p.json': transports.docker.\"localhost/hello\"[0].signedIdentity: missing "
              "'type'");

    /* Transports and scopes. */
    CHECK_STR(parse("{" DEF ",\"transports\":[]}"),
              "policy 'p.json': transports: must be an object");
    CHECK_STR(parse("{" DEF ",\"transports\":{\"oci\":{}}}"),
              "policy 'p.json': transports: unsupported transport 'oci' (only 'docker')");
    CHECK_INT(parse_code("{" DEF ",\"transports\":{\"oci\":{}}}"), -CVM_E_UNSUPPORTED);
    CHECK_STR(parse("{" DEF ",\"transports\":{\"docker\":[]}}"),
              "policy 'p.json': transports.docker: must be an object");
    CHECK_STR(parse("{" DEF ",\"transports\":{\"docker\":{\"localhost\":[]}}}"),
              "policy 'p.json': transports.docker.localhost: the list of requirements is empty");
    CHECK_STR(parse("{" DEF ",\"transports\":{\"docker\":{\"localhost\":{\"type\":\"reject\"}}}}"),
              "policy 'p.json': transports.docker.localhost: must be an array of requirements");
    static const char *const bad_scopes[] = {
        "Local Host",      "localhost/",    "/hello",       "localhost//a",    "localhost/A",
        "localhost:",      "localhost:x",   "localhost/a:", "localhost/a:b/c", "localhost/a:b:c",
        "a*b/c",           "[::1",          "[]:5000",      "[::g]/x",         "[::1]x/a",
        "localhost/a:b c", "host\\u0001/x",
    };
    for (size_t i = 0; i < sizeof(bad_scopes) / sizeof(bad_scopes[0]); i++) {
        const char *s = bad_scopes[i];
        CHECK_INT(parse_code(tap_fmt("{" DEF ",\"transports\":{\"docker\":{\"%s\":[{\"type\":"
                                     "\"reject\"}]}}}",
                                     s)),
                  -CVM_E_FORMAT);
    }
    CHECK_STR(
        parse("{" DEF ",\"transports\":{\"docker\":{\"Local Host\":[{\"type\":\"reject\"}]}}}"),
        "policy 'p.json': transports.docker.\"Local Host\": invalid scope (expected "
        "host[:port][/path][:tag] or *.domain)");
    CHECK_STR(parse("{" DEF ",\"transports\":{\"docker\":{\"a\\\"b\":[{\"type\":\"reject\"}]}}}"),
              "policy 'p.json': transports.docker.\"a\\\"b\": invalid scope (expected "
              "host[:port][/path][:tag] or *.domain)");
    CHECK_STR(parse("{" DEF ",\"transports\":{\"docker\":{\"\":[{\"type\":\"reject\"}]}}}"),
              "policy 'p.json': transports.docker.\"\": empty scope");
    static const char *const bad_wildcards[] = {"*.",       "*..com", "*.example.com/x",
                                                "*.a:5000", "*.com.", "*.a_b.com"};
    for (size_t i = 0; i < sizeof(bad_wildcards) / sizeof(bad_wildcards[0]); i++)
        CHECK_STR(parse(tap_fmt("{" DEF ",\"transports\":{\"docker\":{\"%s\":[{\"type\":"
                                "\"reject\"}]}}}",
                                bad_wildcards[i])),
                  tap_fmt("policy 'p.json': transports.docker.\"%s\": invalid scope (expected '*.' "
                          "and a domain)",
                          bad_wildcards[i]));
    CHECK_STR(parse("{" DEF ",\"transports\":{\"docker\":{\"localhost/a@sha256:00\":"
                    "[{\"type\":\"reject\"}]}}}"),
              "policy 'p.json': transports.docker.\"localhost/a@sha256:00\": digest scopes are "
              "not supported");
    char long_scope[CVM_POLICY_SCOPE_MAX + 2];
    memset(long_scope, 'a', sizeof(long_scope) - 1);
    long_scope[sizeof(long_scope) - 1] = '\0';
    CHECK_STR(
        parse(tap_fmt("{" DEF ",\"transports\":{\"docker\":{\"%s\":[{\"type\":\"reject\"}]}}}",
                      long_scope)),
        "policy 'p.json': transports.docker.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaa...: scope over the limit of 255 bytes");
    long_scope[CVM_POLICY_SCOPE_MAX] = '\0';
    CHECK_STR(
        parse(tap_fmt("{" DEF ",\"transports\":{\"docker\":{\"%s\":[{\"type\":\"reject\"}]}}}",
                      long_scope)),
        "(parsed)");

    /* Bounded. */
    size_t n = CVM_POLICY_FILE_MAX + 1;
    char *big = malloc(n);
    memset(big, ' ', n);
    struct cvm_policy *p = NULL;
    CHECK_INT(cvm_policy_parse(big, n, "p.json", "/", &p, &err), -CVM_E_LIMIT);
    CHECK_STR(tap_take_error(&err), "policy 'p.json': 1048577 bytes, over the limit of 1048576");
    free(big);
}

static void valid_scopes(void)
{
    static const char *const good[] = {
        "localhost",
        "localhost:5000",
        "localhost:5000/a/b:tag",
        "[::1]:5000/x",
        "[::1]",
        "Registry.Example.com/x",
        "docker.io/library/alpine:3.19",
        "a.b/c_d/e-f/g.h:V1.0_rc-1",
        "*.example.com",
        "*.com",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        CHECK_STR(parse(tap_fmt("{" DEF ",\"transports\":{\"docker\":{\"%s\":[{\"type\":"
                                "\"insecureAcceptAnything\"}]}}}",
                                good[i])),
                  "(parsed)");
    CHECK_STR(parse("{" DEF ",\"transports\":{\"docker\":{\"[::1]:5000/x\":[{\"type\":"
                    "\"insecureAcceptAnything\"}]}}}"),
              "(parsed)");
    CHECK_STR(lookup("[::1]:5000/x", NULL), "[::1]:5000/x: accept");
    CHECK_STR(lookup("[::1]:5000/y", NULL), "default: reject");
    /* An empty transports or docker object is allowed. */
    CHECK_STR(parse("{" DEF ",\"transports\":{}}"), "(parsed)");
    CHECK_STR(parse("{" DEF ",\"transports\":{\"docker\":{}}}"), "(parsed)");
    CHECK_STR(lookup("localhost/x", NULL), "default: reject");
    cvm_policy_free(pol);
    pol = NULL;
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(example_lookup), TAP_TEST(specificity), TAP_TEST(wildcards),
        TAP_TEST(keys),           TAP_TEST(malformed),   TAP_TEST(valid_scopes),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
