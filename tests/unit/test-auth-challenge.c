/* WWW-Authenticate parsing: the headers real registries send, the grammar's corners (escapes,
 * case, white space, several challenges, token68), and every malformed input's exact message. */
#include "auth-challenge.h"
#include "base.h"
#include "tap.h"

static struct cvm_auth_challenge ch;
static int code;

/* Parses len bytes of text; "(parsed)" or the message (code keeps the class). */
static const char *parse_n(const char *text, size_t len)
{
    struct cvm_error *err = NULL;
    cvm_auth_challenge_release(&ch);
    /* A marker that must survive a failure: outputs are written only on success. */
    struct cvm_auth_challenge out = {.scheme = CVM_AUTH_BASIC, .realm = (char *)"marker"};
    code = -cvm_auth_challenge_parse(text, len, &out, &err);
    if (code == 0) {
        ch = out;
        return "(parsed)";
    }
    CHECK(out.scheme == CVM_AUTH_BASIC && strcmp(out.realm, "marker") == 0);
    CHECK(!out.service && !out.scope);
    return tap_take_error(&err);
}

static const char *parse(const char *text)
{
    return parse_n(text, strlen(text));
}

/* The kept challenge in one line. */
static const char *got(void)
{
    const char *scheme = ch.scheme == CVM_AUTH_BEARER  ? "bearer"
                         : ch.scheme == CVM_AUTH_BASIC ? "basic"
                                                       : "none";
    return tap_fmt("%s realm=%s service=%s scope=%s", scheme, ch.realm ? ch.realm : "(null)",
                   ch.service ? ch.service : "(null)", ch.scope ? ch.scope : "(null)");
}

#define PARSES(text, want)                                                                         \
    do {                                                                                           \
        CHECK_STR(parse(text), "(parsed)");                                                        \
        CHECK_STR(got(), want);                                                                    \
    } while (0)

#define FAILS(text, want_code, want)                                                               \
    do {                                                                                           \
        CHECK_STR(parse(text), "WWW-Authenticate: " want);                                         \
        CHECK_INT(code, want_code);                                                                \
    } while (0)

/* What registries send (distribution, Docker Hub, ghcr, quay, Harbor, ECR, ACR, GAR). */
static void registries(void)
{
    PARSES("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\"",
           "bearer realm=https://auth.docker.io/token service=registry.docker.io scope=(null)");
    PARSES("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
           "scope=\"repository:library/ubuntu:pull\"",
           "bearer realm=https://auth.docker.io/token service=registry.docker.io "
           "scope=repository:library/ubuntu:pull");
    /* distribution's token challenge with an error, a scope list with ',' and ' ' inside. */
    PARSES("Bearer realm=\"https://auth.example.com/token\",service=\"registry.example.com\","
           "scope=\"repository:samalba/my-app:pull,push repository:base:pull\","
           "error=\"insufficient_scope\"",
           "bearer realm=https://auth.example.com/token service=registry.example.com "
           "scope=repository:samalba/my-app:pull,push repository:base:pull");
    PARSES("Bearer realm=\"https://ghcr.io/token\",service=\"ghcr.io\","
           "scope=\"repository:user/image:pull\"",
           "bearer realm=https://ghcr.io/token service=ghcr.io scope=repository:user/image:pull");
    PARSES("Bearer realm=\"https://quay.io/v2/auth\",service=\"quay.io\"",
           "bearer realm=https://quay.io/v2/auth service=quay.io scope=(null)");
    PARSES("Bearer realm=\"https://harbor.example.com/service/token\",service=\"harbor-registry\"",
           "bearer realm=https://harbor.example.com/service/token service=harbor-registry "
           "scope=(null)");
    PARSES("Bearer realm=\"https://myreg.azurecr.io/oauth2/token\",service=\"myreg.azurecr.io\"",
           "bearer realm=https://myreg.azurecr.io/oauth2/token service=myreg.azurecr.io "
           "scope=(null)");
    PARSES("Bearer realm=\"https://us-docker.pkg.dev/v2/token\",service=\"us-docker.pkg.dev\"",
           "bearer realm=https://us-docker.pkg.dev/v2/token service=us-docker.pkg.dev "
           "scope=(null)");
    /* A plain-http registry on a LAN. */
    PARSES("Bearer realm=\"http://10.0.0.5:5001/auth\",service=\"Docker registry\"",
           "bearer realm=http://10.0.0.5:5001/auth service=Docker registry scope=(null)");
    /* distribution with htpasswd: the Basic realm is free text. ECR adds a service. */
    PARSES("Basic realm=\"Registry Realm\"", "basic realm=Registry Realm service=(null) "
                                             "scope=(null)");
    PARSES("Basic realm=\"https://123456789012.dkr.ecr.us-east-1.amazonaws.com/\","
           "service=\"ecr.amazonaws.com\"",
           "basic realm=https://123456789012.dkr.ecr.us-east-1.amazonaws.com/ service=(null) "
           "scope=(null)");
    cvm_auth_challenge_release(&ch);
}

static void escapes_and_tokens(void)
{
    PARSES("Bearer realm=\"https://a/t\",service=\"a \\\"b\\\" \\\\ c\\q\"",
           "bearer realm=https://a/t service=a \"b\" \\ cq scope=(null)");
    /* Unquoted token values, every tchar. */
    PARSES("Bearer realm=\"https://a/t\",service=registry.example.com,scope=!#$%&'*+-.^_`|~09az",
           "bearer realm=https://a/t service=registry.example.com scope=!#$%&'*+-.^_`|~09az");
    /* HTAB and obs-text are allowed in a quoted string, also escaped. */
    PARSES("Bearer realm=\"https://a/t\",service=\"a\tb\\\tc\xc3\xa9\"",
           "bearer realm=https://a/t service=a\tb\tc\xc3\xa9 scope=(null)");
    PARSES("Basic realm=\"\"", "basic realm= service=(null) scope=(null)");
    PARSES("Basic realm=x", "basic realm=x service=(null) scope=(null)");
    /* Only len bytes are read: no terminating NUL is needed. */
    CHECK_STR(parse_n("Basic realm=\"x\"GARBAGE", 15), "(parsed)");
    CHECK_STR(got(), "basic realm=x service=(null) scope=(null)");
    cvm_auth_challenge_release(&ch);
}

static void case_and_space(void)
{
    PARSES("BEARER Realm=\"https://x/t\",SERVICE=\"s\",sCoPe=\"p\"",
           "bearer realm=https://x/t service=s scope=p");
    PARSES("bAsIc REALM=r", "basic realm=r service=(null) scope=(null)");
    PARSES("Bearer realm=\"HTTPS://x/t\"", "bearer realm=HTTPS://x/t service=(null) scope=(null)");
    /* BWS around '=', OWS around ',', tabs, empty list elements, white space at both ends. */
    PARSES(" \tBearer  realm = \"https://x/t\" ,\tservice=\ts , scope =p\t ",
           "bearer realm=https://x/t service=s scope=p");
    PARSES(", ,Bearer realm=\"https://x/t\",,service=\"s\",", "bearer realm=https://x/t "
                                                              "service=s scope=(null)");
    /* A comma right after the scheme: the parameters still belong to it. */
    PARSES("Bearer,realm=\"https://x/t\"", "bearer realm=https://x/t service=(null) scope=(null)");
    PARSES("Bearer\trealm=\"https://x/t\"", "bearer realm=https://x/t service=(null) scope=(null)");
    cvm_auth_challenge_release(&ch);
}

static void several_challenges(void)
{
    /* Bearer wins wherever it is; the first of a scheme is kept. */
    PARSES("Basic realm=\"x\", Bearer realm=\"https://y/t\",service=\"z\"",
           "bearer realm=https://y/t service=z scope=(null)");
    PARSES("Bearer realm=\"https://1/t\", Bearer realm=\"https://2/t\",service=\"s2\"",
           "bearer realm=https://1/t service=(null) scope=(null)");
    PARSES("Basic realm=\"a\", Basic realm=\"b\"", "basic realm=a service=(null) scope=(null)");
    PARSES("Digest realm=\"d@example.org\", qop=\"auth, auth-int\", algorithm=MD5, "
           "nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", Basic realm=\"b\"",
           "basic realm=b service=(null) scope=(null)");
    PARSES("Negotiate, NTLM, Basic realm=b, Bearer realm=\"https://x/t\"",
           "bearer realm=https://x/t service=(null) scope=(null)");
    /* A token after a comma and not followed by '=' starts a challenge (RFC 7235 §4.1). */
    PARSES("Bearer realm=\"https://x/t\", service", "bearer realm=https://x/t service=(null) "
                                                    "scope=(null)");
    PARSES("Bearer realm=\"https://x/t\", Basic", "bearer realm=https://x/t service=(null) "
                                                  "scope=(null)");
    /* The same parameter in two challenges is no duplicate. */
    PARSES("Basic realm=a, Bearer realm=\"https://x/t\", Foo realm=b",
           "bearer realm=https://x/t service=(null) scope=(null)");
    cvm_auth_challenge_release(&ch);
}

static void token68(void)
{
    PARSES("Negotiate YWJjZA==, Basic realm=\"x\"", "basic realm=x service=(null) scope=(null)");
    PARSES("Basic dXNlcjpwYXNz", "basic realm=(null) service=(null) scope=(null)");
    PARSES("Basic abc-._~+/XYZ09=== ", "basic realm=(null) service=(null) scope=(null)");
    /* "realm=" with nothing after it is a token68, not a parameter. */
    PARSES("Basic realm=", "basic realm=(null) service=(null) scope=(null)");
    PARSES("Basic", "basic realm=(null) service=(null) scope=(null)");
    FAILS("Bearer abc.def", CVM_E_FORMAT, "bearer challenge has no realm");
    FAILS("Bearer realm", CVM_E_FORMAT, "bearer challenge has no realm");
    FAILS("Negotiate abc, realm=\"x\"", CVM_E_FORMAT,
          "parameter 'realm' at offset 15 follows a token68");
    FAILS("Bearer realm=, service=\"s\"", CVM_E_FORMAT,
          "parameter 'service' at offset 15 follows a token68");
    FAILS("Basic abc def", CVM_E_FORMAT, "expected '=' after parameter 'abc' at offset 10");
    FAILS("Basic abc==x", CVM_E_FORMAT,
          "expected a token or quoted string for parameter 'abc' at offset 10");
}

static void empty_and_unsupported(void)
{
    FAILS("", CVM_E_FORMAT, "empty header");
    FAILS(" , ,\t", CVM_E_FORMAT, "empty header");
    FAILS("Bearer", CVM_E_FORMAT, "bearer challenge has no realm");
    FAILS("Bearer service=\"s\"", CVM_E_FORMAT, "bearer challenge has no realm");
    FAILS("Digest realm=\"x\", nonce=\"y\"", CVM_E_UNSUPPORTED,
          "no Basic or Bearer challenge, only 'Digest'");
    FAILS("Negotiate, NTLM, negotiate, Digest realm=\"x\"", CVM_E_UNSUPPORTED,
          "no Basic or Bearer challenge, only 'Negotiate', 'NTLM', 'Digest'");
    FAILS("A, B, C, D, E, F, G, H, I, J", CVM_E_UNSUPPORTED,
          "no Basic or Bearer challenge, only 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', ...");
    FAILS("A, B, C, D, E, F, G, H, a", CVM_E_UNSUPPORTED,
          "no Basic or Bearer challenge, only 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'");
    FAILS("BasicBearer realm=\"https://x/t\"", CVM_E_UNSUPPORTED,
          "no Basic or Bearer challenge, only 'BasicBearer'");
    FAILS("x23456789012345678901234567890123456789", CVM_E_UNSUPPORTED,
          "no Basic or Bearer challenge, only 'x2345678901234567890123456789012...'");
}

static void malformed(void)
{
    FAILS("Bearer service = \"unterminated", CVM_E_FORMAT,
          "unterminated quoted string at offset 17");
    FAILS("Bearer realm=\"https://x/t\\", CVM_E_FORMAT, "unterminated quoted string at offset 13");
    FAILS("Bearer realm=\"https://x/t\\\"", CVM_E_FORMAT,
          "unterminated quoted string at offset 13");
    FAILS("Bearer realm=\"a\x01z\"", CVM_E_FORMAT,
          "control character in quoted string at offset 15");
    FAILS("Bearer realm=\"a\\\x01z\"", CVM_E_FORMAT,
          "control character in quoted string at offset 16");
    FAILS("Bearer realm=\"a\x7fz\"", CVM_E_FORMAT,
          "control character in quoted string at offset 15");
    FAILS("Bearer realm=\"a\r\nz\"", CVM_E_FORMAT,
          "control character in quoted string at offset 15");
    CHECK_STR(parse_n("Bearer realm=\"a\0z\"", 18),
              "WWW-Authenticate: control character in quoted string at offset 15");
    CHECK_STR(parse_n("Basic realm=x\0", 14), "WWW-Authenticate: expected ',' at offset 13");
    FAILS("realm=\"x\"", CVM_E_FORMAT,
          "expected a space or ',' after auth scheme 'realm' at offset 5");
    FAILS("Bearer=x", CVM_E_FORMAT,
          "expected a space or ',' after auth scheme 'Bearer' at offset 6");
    FAILS("Bearer\"x\"", CVM_E_FORMAT,
          "expected a space or ',' after auth scheme 'Bearer' at offset 6");
    FAILS("Bearer realm=\"https://x/t\" service=\"s\"", CVM_E_FORMAT, "expected ',' at offset 27");
    FAILS("Bearer realm=\"https://x/t\"\r\n", CVM_E_FORMAT, "expected ',' at offset 26");
    FAILS("Bearer realm=https://x/t", CVM_E_FORMAT, "expected ',' at offset 18");
    FAILS("Bearer \"x\"", CVM_E_FORMAT, "expected a parameter or token68 at offset 7");
    FAILS("Bearer =x", CVM_E_FORMAT, "expected a parameter or token68 at offset 7");
    FAILS("Bearer realm=<x>", CVM_E_FORMAT,
          "expected a token or quoted string for parameter 'realm' at offset 13");
    FAILS("Bearer realm = ", CVM_E_FORMAT,
          "expected a token or quoted string for parameter 'realm' at offset 15");
    FAILS("Bearer realm=\"https://x/t\", \"s\"", CVM_E_FORMAT,
          "expected an auth scheme at offset 28");
    FAILS("Bearer realm=\"https://x/t\",=s", CVM_E_FORMAT, "expected an auth scheme at offset 27");
    FAILS("\xff", CVM_E_FORMAT, "expected an auth scheme at offset 0");
    FAILS("Bearer realm=\"https://x/t\", realm=\"https://y/t\"", CVM_E_FORMAT,
          "duplicate parameter 'realm' at offset 28");
    FAILS("Basic realm=a, REALM=b", CVM_E_FORMAT, "duplicate parameter 'REALM' at offset 15");
    FAILS("Digest scope=a, Scope=b", CVM_E_FORMAT, "duplicate parameter 'Scope' at offset 16");
    FAILS("Bearer x234567890123456789012345678901234567890 a", CVM_E_FORMAT,
          "expected '=' after parameter 'x2345678901234567890123456789012...' at offset 48");
    /* After a comma, a token and white space start a challenge with a token68. */
    PARSES("Bearer realm=\"https://x/t\", x234567890123456789012345678901234567890 a",
           "bearer realm=https://x/t service=(null) scope=(null)");
    cvm_auth_challenge_release(&ch);
}

static void bearer_realms(void)
{
    FAILS("Bearer realm=\"ftp://x/t\"", CVM_E_FORMAT,
          "bearer realm 'ftp://x/t' is not an http or https URL");
    FAILS("Bearer realm=\"/token\"", CVM_E_FORMAT,
          "bearer realm '/token' is not an http or https URL");
    FAILS("Bearer realm=token", CVM_E_FORMAT, "bearer realm 'token' is not an http or https URL");
    FAILS("Bearer realm=\"\"", CVM_E_FORMAT, "bearer realm '' is not an http or https URL");
    FAILS("Bearer realm=\"https://\"", CVM_E_FORMAT,
          "bearer realm 'https://' is not an http or https URL");
    FAILS("Bearer realm=\"https://a b/t\"", CVM_E_FORMAT,
          "bearer realm 'https://a b/t' is not an http or https URL");
    FAILS("Bearer realm=\"https://a\tb/t\"", CVM_E_FORMAT,
          "bearer realm 'https://a\\x09b/t' is not an http or https URL");
    FAILS("Bearer realm=\"https://\xc3\xa9/t\"", CVM_E_FORMAT,
          "bearer realm 'https://\\xc3\\xa9/t' is not an http or https URL");
    FAILS("Bearer realm=\"https:/x\"", CVM_E_FORMAT,
          "bearer realm 'https:/x' is not an http or https URL");
    /* Only the kept challenge is checked. */
    PARSES("Bearer realm=\"https://x/t\", Bearer realm=\"ftp://y\"",
           "bearer realm=https://x/t service=(null) scope=(null)");
    cvm_auth_challenge_release(&ch);
}

/* A Bearer challenge whose quoted realm, n bytes, is https:// followed by 'a's. */
static char *with_realm_len(size_t n)
{
    char *s = malloc(n + 32);
    CHECK(s != NULL);
    size_t o = (size_t)sprintf(s, "Bearer realm=\"https://");
    memset(s + o, 'a', n - 8);
    strcpy(s + o + n - 8, "\"");
    return s;
}

static void limits(void)
{
    /* The whole value: 8192 bytes pass (padded with trailing white space), 8193 do not. */
    char *s = malloc(CVM_AUTH_CHALLENGE_MAX + 2);
    CHECK(s != NULL);
    snprintf(s, CVM_AUTH_CHALLENGE_MAX + 2, "Basic realm=x");
    memset(s + 13, ' ', CVM_AUTH_CHALLENGE_MAX - 13);
    s[CVM_AUTH_CHALLENGE_MAX] = ' ';
    s[CVM_AUTH_CHALLENGE_MAX + 1] = '\0';
    CHECK_STR(parse_n(s, CVM_AUTH_CHALLENGE_MAX), "(parsed)");
    CHECK_STR(parse_n(s, CVM_AUTH_CHALLENGE_MAX + 1),
              "WWW-Authenticate: 8193 bytes, over the limit of 8192");
    CHECK_INT(code, CVM_E_LIMIT);
    free(s);

    /* A value: 4096 bytes pass, 4097 do not; escapes count once. */
    s = with_realm_len(CVM_AUTH_CHALLENGE_VALUE_MAX);
    CHECK_STR(parse(s), "(parsed)");
    CHECK_INT(strlen(ch.realm), CVM_AUTH_CHALLENGE_VALUE_MAX);
    free(s);
    s = with_realm_len(CVM_AUTH_CHALLENGE_VALUE_MAX + 1);
    CHECK_STR(parse(s), "WWW-Authenticate: value of parameter 'realm' at offset 13 is 4097 bytes, "
                        "over the limit of 4096");
    CHECK_INT(code, CVM_E_LIMIT);
    free(s);
    s = with_realm_len(CVM_AUTH_CHALLENGE_VALUE_MAX);
    for (size_t i = 0; i < 100; i++)
        s[22 + 2 * i] = '\\';
    CHECK_STR(parse(s), "(parsed)");
    CHECK_INT(strlen(ch.realm), CVM_AUTH_CHALLENGE_VALUE_MAX - 100);
    free(s);
    s = malloc(CVM_AUTH_CHALLENGE_VALUE_MAX + 32);
    CHECK(s != NULL);
    size_t o = (size_t)sprintf(s, "Basic realm=");
    memset(s + o, 'v', CVM_AUTH_CHALLENGE_VALUE_MAX + 1);
    s[o + CVM_AUTH_CHALLENGE_VALUE_MAX + 1] = '\0';
    CHECK_STR(parse(s), "WWW-Authenticate: value of parameter 'realm' at offset 12 is 4097 bytes, "
                        "over the limit of 4096");
    free(s);

    /* Parameters: 64 over all challenges pass, 65 do not. */
    char buf[2048];
    o = (size_t)sprintf(buf, "Bearer realm=\"https://x/t\"");
    for (int i = 1; i < CVM_AUTH_CHALLENGE_PARAMS_MAX; i++)
        o += (size_t)sprintf(buf + o, i == 32 ? ", Other p%d=v" : ",p%d=v", i);
    CHECK_STR(parse(buf), "(parsed)");
    sprintf(buf + o, ",last=v");
    CHECK_STR(parse(buf), "WWW-Authenticate: more than 64 parameters");
    CHECK_INT(code, CVM_E_LIMIT);
    cvm_auth_challenge_release(&ch);
}

static void release(void)
{
    struct cvm_auth_challenge c = {0};
    cvm_auth_challenge_release(&c);
    cvm_auth_challenge_release(&c);
    CHECK_INT(
        cvm_auth_challenge_parse("Bearer realm=\"https://x/t\",service=s,scope=p", 44, &c, NULL),
        0);
    CHECK_STR(c.scope, "p");
    cvm_auth_challenge_release(&c);
    CHECK(c.scheme == CVM_AUTH_NONE && !c.realm && !c.service && !c.scope);
    /* A NULL error pointer still gets the class. */
    CHECK_INT(cvm_auth_challenge_parse("Digest", 6, &c, NULL), -CVM_E_UNSUPPORTED);
    CHECK_INT(cvm_auth_challenge_parse(NULL, 0, &c, NULL), -CVM_E_FORMAT);
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(registries),     TAP_TEST(escapes_and_tokens),
        TAP_TEST(case_and_space), TAP_TEST(several_challenges),
        TAP_TEST(token68),        TAP_TEST(empty_and_unsupported),
        TAP_TEST(malformed),      TAP_TEST(bearer_realms),
        TAP_TEST(limits),         TAP_TEST(release),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
