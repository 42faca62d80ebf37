/* Credentials files: lookup (key forms, Docker Hub's names, skipped entries, file order), every
 * malformed file's message, store/erase round trips with the exact bytes and modes on disk,
 * and the default file list from the environment. */
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base.h"
#include "credentials.h"
#include "tap.h"

static char dir[64];
static int code;

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/cvm-test-credentials-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* dir/name in one of 16 rotating buffers of its own, so lists of paths and tap_fmt's
 * messages do not overwrite each other. */
static const char *in_dir(const char *name)
{
    static char paths[16][256];
    static unsigned next;
    char *p = paths[next++ % 16];
    snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
    return p;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fwrite(text, 1, strlen(text), f) == strlen(text));
    CHECK(fclose(f) == 0);
}

static const char *read_text(const char *path)
{
    static char text[8192];
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

static int mode_of(const char *path)
{
    struct stat st;
    CHECK(stat(path, &st) == 0);
    return (int)(st.st_mode & 07777);
}

/* "user|password" of a lookup, "(none)", or the message; code keeps the class. */
static const char *result(int r, struct cvm_credential *c, struct cvm_error **err)
{
    code = r < 0 ? -r : 0;
    if (r < 0) {
        CHECK(!c->username && !c->password && !c->source);
        return tap_take_error(err);
    }
    if (r == 0) {
        CHECK(!c->username && !c->password && !c->source);
        return "(none)";
    }
    CHECK_INT(r, 1);
    static char out[4096];
    snprintf(out, sizeof(out), "%s|%s", c->username, c->password);
    cvm_credential_release(c);
    return out;
}

/* Parses text as "/x/auth.json" and looks host up. */
static const char *parse_n(const char *text, size_t len, const char *host)
{
    struct cvm_credential c = {0};
    struct cvm_error *err = NULL;
    int r = cvm_credentials_parse_buffer(text, len, "/x/auth.json", host, &c, &err);
    if (r == 1)
        CHECK_STR(c.source, "/x/auth.json");
    return result(r, &c, &err);
}

static const char *parse(const char *text, const char *host)
{
    return parse_n(text, strlen(text), host);
}

/* Looks host up in files; the source is appended as " <- file". */
static const char *lookup(const char *const *files, const char *host)
{
    struct cvm_credential c = {0};
    struct cvm_error *err = NULL;
    int r = cvm_credentials_lookup(files, host, &c, &err);
    if (r != 1)
        return result(r, &c, &err);
    static char out[8300];
    char *source = strdup(c.source);
    CHECK(source != NULL);
    snprintf(out, sizeof(out), "%s <- %s", result(r, &c, &err), source);
    free(source);
    return out;
}

static const char *store(const char *file, const char *host, const char *user, const char *pass)
{
    struct cvm_error *err = NULL;
    int r = cvm_credentials_store(file, host, user, pass, &err);
    code = r < 0 ? -r : 0;
    CHECK(r <= 0);
    return r == 0 ? "(stored)" : tap_take_error(&err);
}

static const char *erase(const char *file, const char *host)
{
    struct cvm_error *err = NULL;
    int r = cvm_credentials_erase(file, host, &err);
    code = r < 0 ? -r : 0;
    if (r < 0)
        return tap_take_error(&err);
    return r ? "(erased)" : "(none)";
}

#define AUTHS(entries) "{\"auths\":{" entries "}}"
/* base64 of "alice:s3cret" and "u:p" */
#define ALICE "{\"auth\":\"YWxpY2U6czNjcmV0\"}"
#define UP "{\"auth\":\"dTpw\"}"

static void forms(void)
{
    CHECK_STR(parse(AUTHS("\"quay.io\":" ALICE), "quay.io"), "alice|s3cret");
    /* The password keeps every ':' after the first; non-ASCII passes through. */
    CHECK_STR(parse(AUTHS("\"quay.io\":{\"auth\":\"Ym9iOnBhOnNz\"}"), "quay.io"), "bob|pa:ss");
    CHECK_STR(parse(AUTHS("\"quay.io\":{\"auth\":\"Y2Fyb2w6cMOkc3N3w7ZyZA==\"}"), "quay.io"),
              "carol|p\xc3\xa4ssw\xc3\xb6rd");
    CHECK_STR(parse(AUTHS("\"quay.io\":{\"auth\":\"dXNlcjo=\"}"), "quay.io"), "user|");
    CHECK_STR(parse(AUTHS("\"quay.io\":{\"username\":\"bob\",\"password\":\"pw\"}"), "quay.io"),
              "bob|pw");
    CHECK_STR(parse(AUTHS("\"quay.io\":{\"username\":\"bob\",\"password\":\"\"}"), "quay.io"),
              "bob|");
    /* "auth" wins over username/password; unknown members are ignored. */
    CHECK_STR(parse(AUTHS("\"quay.io\":{\"auth\":\"dTpw\",\"username\":\"x\",\"password\":\"y\","
                          "\"email\":\"a@b\",\"serveraddress\":\"quay.io\"}"),
                    "quay.io"),
              "u|p");
    /* Key forms: scheme, path, port, case. */
    static const char *const keys[] = {
        "quay.io",          "https://quay.io",   "http://quay.io", "https://quay.io/v1/",
        "quay.io/org/repo", "HTTPS://Quay.IO/x", "QUAY.IO",
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *text = tap_fmt(AUTHS("\"%s\":" UP), keys[i]);
        CHECK_STR(parse(text, "quay.io"), "u|p");
        CHECK_STR(parse(text, "Quay.io"), "u|p");
        CHECK_STR(parse(text, "https://quay.io/v2/"), "u|p");
        CHECK_STR(parse(text, "quay.io:443"), "(none)");
        CHECK_STR(parse(text, "io"), "(none)");
    }
    CHECK_STR(parse(AUTHS("\"localhost:5000\":" UP), "localhost:5000"), "u|p");
    CHECK_STR(parse(AUTHS("\"localhost:5000\":" UP), "localhost"), "(none)");
    CHECK_STR(parse(AUTHS("\"http://localhost:5000/v2/\":" UP), "localhost:5000"), "u|p");
    CHECK_STR(parse(AUTHS("\"[::1]:5000\":" UP), "[::1]:5000"), "u|p");
    CHECK_STR(parse(AUTHS("\"my_host.internal:80\":" UP), "MY_HOST.internal:80"), "u|p");
    /* No auths, other keys, credsStore and credHelpers: nothing found. */
    CHECK_STR(parse("{}", "quay.io"), "(none)");
    CHECK_STR(parse("{\"credsStore\":\"desktop\",\"credHelpers\":{\"quay.io\":\"ecr-login\"}}",
                    "quay.io"),
              "(none)");
    CHECK_STR(parse(AUTHS(""), "quay.io"), "(none)");
    CHECK_STR(parse(AUTHS("\"ghcr.io\":" UP), "quay.io"), "(none)");
}

static void docker_hub(void)
{
    static const char *const keys[] = {
        "https://index.docker.io/v1/",      "index.docker.io", "docker.io", "registry-1.docker.io",
        "https://registry-1.docker.io/v2/", "Docker.IO",
    };
    static const char *const hosts[] = {
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "DOCKER.io",
        "https://index.docker.io/v1/",
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        for (size_t j = 0; j < sizeof(hosts) / sizeof(hosts[0]); j++)
            CHECK_STR(parse(tap_fmt(AUTHS("\"%s\":" UP), keys[i]), hosts[j]), "u|p");
    CHECK_STR(parse(AUTHS("\"docker.io\":" UP), "hub.docker.io"), "(none)");
    CHECK_STR(parse(AUTHS("\"docker.io:5000\":" UP), "docker.io"), "(none)");
}

static void precedence(void)
{
    /* The key store writes wins wherever it is; otherwise file order. */
    CHECK_STR(parse(AUTHS("\"https://quay.io/\":{\"auth\":\"YTox\"},\"quay.io\":{\"auth\":"
                          "\"Yjoy\"}"),
                    "quay.io"),
              "b|2");
    CHECK_STR(parse(AUTHS("\"docker.io\":{\"auth\":\"YTox\"},\"https://index.docker.io/v1/\":"
                          "{\"auth\":\"Yjoy\"}"),
                    "docker.io"),
              "b|2");
    CHECK_STR(parse(AUTHS("\"https://quay.io\":{\"auth\":\"YTox\"},\"http://quay.io/v2\":"
                          "{\"auth\":\"Yjoy\"}"),
                    "quay.io"),
              "a|1");
    /* Skipped entries: {} (a credsStore holds it), empty "auth", identity tokens. */
    CHECK_STR(parse(AUTHS("\"quay.io\":{}"), "quay.io"), "(none)");
    CHECK_STR(parse(AUTHS("\"quay.io\":{\"auth\":\"\"}"), "quay.io"), "(none)");
    CHECK_STR(
        parse(AUTHS("\"quay.io\":{\"auth\":\"\",\"username\":\"\",\"password\":\"\"}"), "quay.io"),
        "(none)");
    CHECK_STR(parse(AUTHS("\"quay.io\":{\"auth\":\"dTpw\",\"identitytoken\":\"tok\"}"), "quay.io"),
              "(none)");
    CHECK_STR(parse(AUTHS("\"quay.io\":{\"auth\":\"dTpw\",\"identitytoken\":\"\"}"), "quay.io"),
              "u|p");
    /* A skipped entry lets the next key naming the host answer. */
    CHECK_STR(parse(AUTHS("\"quay.io\":{\"identitytoken\":\"t\"},\"https://quay.io\":{},"
                          "\"quay.io/org\":" UP),
                    "quay.io"),
              "u|p");
    /* Entries of other hosts are not decoded, and keys that name no host are never matched. */
    CHECK_STR(parse(AUTHS("\"ghcr.io\":{\"auth\":\"!!\"},\"quay.io\":" UP), "quay.io"), "u|p");
    CHECK_STR(parse(AUTHS("\"\":{\"auth\":\"!!\"},\"https://\":{\"auth\":\"!!\"},\"a b\":{\"auth\":"
                          "\"!!\"},\"quay.io\":" UP),
                    "quay.io"),
              "u|p");
}

#define BAD(text, host, want_code, want)                                                           \
    do {                                                                                           \
        CHECK_STR(parse(text, host), "credentials '/x/auth.json': " want);                         \
        CHECK_INT(code, want_code);                                                                \
    } while (0)

static void malformed(void)
{
    BAD("", "quay.io", CVM_E_FORMAT,
        "invalid JSON at line 1, column 0: '[' or '{' expected near end of file");
    BAD("{", "quay.io", CVM_E_FORMAT,
        "invalid JSON at line 1, column 1: string or '}' expected near end of file");
    BAD("{\"auths\":{},\"auths\":{}}", "quay.io", CVM_E_FORMAT,
        "invalid JSON at line 1, column 19: duplicate object key near '\"auths\"'");
    BAD(AUTHS("\"quay.io\":" UP ",\"quay.io\":" UP), "quay.io", CVM_E_FORMAT,
        "invalid JSON at line 1, column 45: duplicate object key near '\"quay.io\"'");
    BAD("{\"a\":\"\xff\"}", "quay.io", CVM_E_FORMAT,
        "invalid JSON at line 1, column 6: unable to decode byte 0xff near '\"'");
    BAD("{\"a\":\"\\u0000\"}", "quay.io", CVM_E_FORMAT,
        "invalid JSON at line 1, column 13: \\u0000 is not allowed without JSON_ALLOW_NUL near "
        "'\"\\u0000\"'");
    BAD("[]", "quay.io", CVM_E_FORMAT, "the top level is not an object");
    BAD("{\"auths\":[]}", "quay.io", CVM_E_FORMAT, "\"auths\" is not an object");
    BAD("{\"auths\":\"x\"}", "quay.io", CVM_E_FORMAT, "\"auths\" is not an object");
    /* Checked in every entry, whatever host is asked for. */
    BAD(AUTHS("\"ghcr.io\":\"dTpw\""), "quay.io", CVM_E_FORMAT, "entry 'ghcr.io': not an object");
    BAD(AUTHS("\"a\\u0001\\n\":null"), "quay.io", CVM_E_FORMAT,
        "entry 'a\\x01\\x0a': not an object");
    /* Member types and contents, in the matching entry. */
    BAD(AUTHS("\"quay.io\":{\"auth\":1}"), "quay.io", CVM_E_FORMAT,
        "entry 'quay.io': \"auth\" is not a string");
    BAD(AUTHS("\"quay.io\":{\"username\":[]}"), "quay.io", CVM_E_FORMAT,
        "entry 'quay.io': \"username\" is not a string");
    BAD(AUTHS("\"https://quay.io\":{\"password\":null}"), "quay.io", CVM_E_FORMAT,
        "entry 'https://quay.io': \"password\" is not a string");
    BAD(AUTHS("\"quay.io\":{\"identitytoken\":true}"), "quay.io", CVM_E_FORMAT,
        "entry 'quay.io': \"identitytoken\" is not a string");
    static const char *const not_b64[] = {
        "abc", "!!!!", "dTpw=", "dTp=", "dTpw\\n", " dTpw", "dXNlcg==", "dXNlcg",
    };
    for (size_t i = 0; i < sizeof(not_b64) / sizeof(not_b64[0]); i++)
        BAD(tap_fmt(AUTHS("\"quay.io\":{\"auth\":\"%s\"}"), not_b64[i]), "quay.io", CVM_E_FORMAT,
            "entry 'quay.io': \"auth\" is not base64 of user:password");
    BAD(AUTHS("\"quay.io\":{\"auth\":\"OnB3\"}"), "quay.io", CVM_E_FORMAT,
        "entry 'quay.io': empty user name");
    BAD(AUTHS("\"quay.io\":{\"auth\":\"YQE6Yg==\"}"), "quay.io", CVM_E_FORMAT,
        "entry 'quay.io': user name contains a control character");
    BAD(AUTHS("\"quay.io\":{\"auth\":\"YQBiOmM=\"}"), "quay.io", CVM_E_FORMAT,
        "entry 'quay.io': user name contains a control character");
    BAD(AUTHS("\"quay.io\":{\"auth\":\"YTpiCg==\"}"), "quay.io", CVM_E_FORMAT,
        "entry 'quay.io': password contains a control character");
    BAD(AUTHS("\"quay.io\":{\"username\":\"a:b\",\"password\":\"c\"}"), "quay.io", CVM_E_FORMAT,
        "entry 'quay.io': \"username\" contains ':'");
    BAD(AUTHS("\"quay.io\":{\"username\":\"a\\u007f\",\"password\":\"c\"}"), "quay.io",
        CVM_E_FORMAT, "entry 'quay.io': user name contains a control character");
    BAD(AUTHS("\"quay.io\":{\"username\":\"a\",\"password\":\"\\t\"}"), "quay.io", CVM_E_FORMAT,
        "entry 'quay.io': password contains a control character");
    BAD(AUTHS("\"quay.io\":{\"username\":\"a\"}"), "quay.io", CVM_E_FORMAT,
        "entry 'quay.io': \"username\" without \"password\"");
    BAD(AUTHS("\"quay.io\":{\"password\":\"p\"}"), "quay.io", CVM_E_FORMAT,
        "entry 'quay.io': \"password\" without \"username\"");
    BAD(AUTHS("\"quay.io\":{\"username\":\"\",\"password\":\"p\"}"), "quay.io", CVM_E_FORMAT,
        "entry 'quay.io': \"password\" without \"username\"");
}

static void limits(void)
{
    /* Nesting: 16 levels pass, 17 do not; brackets inside strings do not count. */
    char text[256];
    snprintf(text, sizeof(text), "{\"x\":%.15s0%.15s}", "[[[[[[[[[[[[[[[[[", "]]]]]]]]]]]]]]]]]");
    CHECK_STR(parse(text, "quay.io"), "(none)");
    snprintf(text, sizeof(text), "{\"x\":%.16s0%.16s}", "[[[[[[[[[[[[[[[[[", "]]]]]]]]]]]]]]]]]");
    BAD(text, "quay.io", CVM_E_LIMIT, "nested deeper than 16 levels");
    CHECK_STR(parse("{\"x\":\"[[[[[[[[[[[[[[[[[[[[\\\"[[[[[[\"}", "quay.io"), "(none)");
    /* Size: the limit itself passes. */
    size_t n = CVM_CREDENTIALS_MAX_FILE;
    char *big = malloc(n + 2);
    CHECK(big != NULL);
    memset(big, ' ', n + 1);
    memcpy(big, AUTHS("\"quay.io\":" UP), strlen(AUTHS("\"quay.io\":" UP)));
    big[n + 1] = '\0';
    CHECK_STR(parse_n(big, n, "quay.io"), "u|p");
    CHECK_STR(parse_n(big, n + 1, "quay.io"),
              "credentials '/x/auth.json': 1048577 bytes, over the limit of 1048576");
    CHECK_INT(code, CVM_E_LIMIT);
    make_dir();
    FILE *f = fopen(in_dir("big.json"), "wb");
    CHECK(f != NULL);
    CHECK(fwrite(big, 1, n + 1, f) == n + 1);
    CHECK(fclose(f) == 0);
    free(big);
    const char *files[] = {in_dir("big.json"), NULL};
    CHECK_STR(lookup(files, "quay.io"), tap_fmt("credentials '%s/big.json': 1048577 bytes, over "
                                                "the limit of 1048576",
                                                dir));
    CHECK_INT(code, CVM_E_LIMIT);
    /* The host argument. */
    static const char *const hosts[] = {"", "https://", "/x", "a b", "quay.io\n", "\xc3\xa9.io"};
    static const char *const shown[] = {"",    "https://",     "/x",
                                        "a b", "quay.io\\x0a", "\\xc3\\xa9.io"};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        CHECK_STR(parse("{}", hosts[i]), tap_fmt("'%s' is not a registry host", shown[i]));
        CHECK_INT(code, CVM_E_USAGE);
        CHECK_STR(lookup(files, hosts[i]), tap_fmt("'%s' is not a registry host", shown[i]));
        CHECK_STR(store(in_dir("s.json"), hosts[i], "u", "p"),
                  tap_fmt("'%s' is not a registry host", shown[i]));
        CHECK_STR(erase(in_dir("s.json"), hosts[i]),
                  tap_fmt("'%s' is not a registry host", shown[i]));
        CHECK_INT(code, CVM_E_USAGE);
    }
    char host[300];
    memset(host, 'a', sizeof(host));
    host[CVM_CREDENTIALS_HOST_MAX] = '\0';
    CHECK_STR(parse("{}", host), "(none)");
    host[CVM_CREDENTIALS_HOST_MAX] = 'a';
    host[CVM_CREDENTIALS_HOST_MAX + 1] = '\0';
    CHECK_INT(cvm_credentials_parse_buffer("{}", 2, "x", host, &(struct cvm_credential){0}, NULL),
              -CVM_E_USAGE);
    CHECK(access(in_dir("s.json"), F_OK) != 0);
    remove_dir();
}

static void file_order(void)
{
    make_dir();
    write_text(in_dir("a.json"), AUTHS("\"ghcr.io\":" UP));
    write_text(in_dir("b.json"), AUTHS("\"https://quay.io\":" ALICE));
    write_text(in_dir("c.json"), AUTHS("\"quay.io\":" UP ",\"docker.io\":" UP));
    write_text(in_dir("bad.json"), "{");
    write_text(in_dir("f"), "");
    CHECK(mkdir(in_dir("d.json"), 0700) == 0);
    const char *files[] = {in_dir("missing.json"),
                           in_dir("nodir/x.json"),
                           in_dir("a.json"),
                           in_dir("b.json"),
                           in_dir("c.json"),
                           in_dir("bad.json"),
                           NULL};
    /* Missing files are skipped, the first file with the host answers, later ones are not read. */
    CHECK_STR(lookup(files, "quay.io"), tap_fmt("alice|s3cret <- %s/b.json", dir));
    CHECK_STR(lookup(files, "ghcr.io"), tap_fmt("u|p <- %s/a.json", dir));
    CHECK_STR(lookup(files, "docker.io"), tap_fmt("u|p <- %s/c.json", dir));
    CHECK_STR(lookup(files, "gcr.io"),
              tap_fmt("credentials '%s/bad.json': invalid JSON at line 1, column 1: string or "
                      "'}' expected near end of file",
                      dir));
    CHECK_INT(code, CVM_E_FORMAT);
    files[5] = NULL;
    CHECK_STR(lookup(files, "gcr.io"), "(none)");
    const char *none[] = {NULL};
    CHECK_STR(lookup(none, "quay.io"), "(none)");
    CHECK_STR(lookup(NULL, "quay.io"), "(none)");
    /* A malformed file before the one with the host stops the lookup. */
    const char *bad_first[] = {in_dir("bad.json"), in_dir("b.json"), NULL};
    CHECK_STR(lookup(bad_first, "quay.io"),
              tap_fmt("credentials '%s/bad.json': invalid JSON at line 1, column 1: string or "
                      "'}' expected near end of file",
                      dir));
    const char *folder[] = {in_dir("d.json"), NULL};
    CHECK_STR(lookup(folder, "quay.io"),
              tap_fmt("credentials '%s/d.json': not a regular file", dir));
    CHECK_INT(code, CVM_E_FORMAT);
    const char *under_file[] = {in_dir("f/x.json"), NULL};
    CHECK_STR(lookup(under_file, "quay.io"),
              tap_fmt("cannot open credentials '%s/f/x.json': Not a directory", dir));
    CHECK_INT(code, CVM_E_SYSTEM);
    /* Unreadable: root reads anything, so a child drops to nobody. */
    CHECK(chmod(in_dir("b.json"), 0) == 0);
    CHECK(chmod(dir, 0755) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0)
            CHECK(setgid(65534) == 0 && setuid(65534) == 0);
        CHECK_STR(lookup(files, "quay.io"),
                  tap_fmt("cannot open credentials '%s/b.json': Permission denied", dir));
        CHECK_INT(code, CVM_E_SYSTEM);
        exit(0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    remove_dir();
}

/* The bytes store writes for one quay.io entry. */
#define QUAY_FILE(b64)                                                                             \
    "{\n\t\"auths\": {\n\t\t\"quay.io\": {\n\t\t\t\"auth\": \"" b64 "\"\n\t\t}\n\t}\n}\n"

static void round_trip(void)
{
    make_dir();
    const char *file = in_dir("new/folders/auth.json");
    const char *files[] = {file, NULL};
    CHECK_STR(erase(file, "quay.io"), "(none)");
    CHECK(access(file, F_OK) != 0);
    CHECK(access(in_dir("new"), F_OK) != 0);
    CHECK_STR(store(file, "Quay.IO", "alice", "s3cret"), "(stored)");
    CHECK_STR(read_text(file), QUAY_FILE("YWxpY2U6czNjcmV0"));
    CHECK_INT(mode_of(file), 0600);
    CHECK_INT(mode_of(in_dir("new")), 0700);
    CHECK_INT(mode_of(in_dir("new/folders")), 0700);
    CHECK_STR(lookup(files, "quay.io"), tap_fmt("alice|s3cret <- %s", file));
    /* Replacing, then a second host and Docker Hub; keys come out sorted. */
    CHECK_STR(store(file, "https://quay.io/v2/", "u", "p"), "(stored)");
    CHECK_STR(read_text(file), QUAY_FILE("dTpw"));
    CHECK_STR(store(file, "localhost:5000", "bob", "pa:ss"), "(stored)");
    CHECK_STR(store(file, "registry-1.docker.io", "carol", "p\xc3\xa4ssw\xc3\xb6rd"), "(stored)");
    CHECK_STR(read_text(file), "{\n"
                               "\t\"auths\": {\n"
                               "\t\t\"https://index.docker.io/v1/\": {\n"
                               "\t\t\t\"auth\": \"Y2Fyb2w6cMOkc3N3w7ZyZA==\"\n"
                               "\t\t},\n"
                               "\t\t\"localhost:5000\": {\n"
                               "\t\t\t\"auth\": \"Ym9iOnBhOnNz\"\n"
                               "\t\t},\n"
                               "\t\t\"quay.io\": {\n"
                               "\t\t\t\"auth\": \"dTpw\"\n"
                               "\t\t}\n"
                               "\t}\n"
                               "}\n");
    CHECK_STR(lookup(files, "docker.io"), tap_fmt("carol|p\xc3\xa4ssw\xc3\xb6rd <- %s", file));
    CHECK_STR(lookup(files, "localhost:5000"), tap_fmt("bob|pa:ss <- %s", file));
    /* Erasing: by any name of the host; nothing left to erase leaves the file alone. */
    CHECK_STR(erase(file, "docker.io"), "(erased)");
    CHECK_STR(erase(file, "http://localhost:5000/v2/"), "(erased)");
    CHECK_STR(read_text(file), QUAY_FILE("dTpw"));
    CHECK_STR(lookup(files, "docker.io"), "(none)");
    CHECK_STR(erase(file, "quay.io"), "(erased)");
    CHECK_STR(read_text(file), "{\n\t\"auths\": {}\n}\n");
    CHECK_INT(mode_of(file), 0600);
    struct stat before, after;
    CHECK(stat(file, &before) == 0);
    CHECK_STR(erase(file, "quay.io"), "(none)");
    CHECK(stat(file, &after) == 0);
    CHECK_INT(after.st_ino, before.st_ino);
    CHECK_STR(lookup(files, "quay.io"), "(none)");
    /* No temporary file is left behind. */
    CHECK(system(tap_fmt("test \"$(ls -A '%s/new/folders')\" = auth.json", dir)) == 0);
    remove_dir();
}

static void keeps_the_rest(void)
{
    make_dir();
    const char *file = in_dir("config.json");
    write_text(file, "{\"credsStore\": \"desktop\", \"HttpHeaders\": {\"User-Agent\": \"x\"},\n"
                     " \"auths\": {\"https://index.docker.io/v1/\": {}, \"docker.io\": {\"auth\": "
                     "\"YTox\"},\n \"other.io\": {\"auth\": \"Yjoy\", \"email\": \"e@x\"},"
                     " \"registry-1.docker.io/v2/\": {\"identitytoken\": \"t\"}, \"bad\": "
                     "{\"auth\": \"!!\"}},\n \"proxies\": {\"default\": {\"httpProxy\": "
                     "\"http://p:3128\"}}, \"n\": [1, 2.5, true, null, \"\\u00e9\\t\"], \"e\": "
                     "[], \"o\": {}}");
    CHECK(chmod(file, 0644) == 0);
    /* All of Docker Hub's keys give way to one. */
    CHECK_STR(store(file, "docker.io", "u", "p"), "(stored)");
    const char *want = "{\n"
                       "\t\"HttpHeaders\": {\n"
                       "\t\t\"User-Agent\": \"x\"\n"
                       "\t},\n"
                       "\t\"auths\": {\n"
                       "\t\t\"bad\": {\n"
                       "\t\t\t\"auth\": \"!!\"\n"
                       "\t\t},\n"
                       "\t\t\"https://index.docker.io/v1/\": {\n"
                       "\t\t\t\"auth\": \"dTpw\"\n"
                       "\t\t},\n"
                       "\t\t\"other.io\": {\n"
                       "\t\t\t\"auth\": \"Yjoy\",\n"
                       "\t\t\t\"email\": \"e@x\"\n"
                       "\t\t}\n"
                       "\t},\n"
                       "\t\"credsStore\": \"desktop\",\n"
                       "\t\"e\": [],\n"
                       "\t\"n\": [\n"
                       "\t\t1,\n"
                       "\t\t2.5,\n"
                       "\t\ttrue,\n"
                       "\t\tnull,\n"
                       "\t\t\"\xc3\xa9\\t\"\n"
                       "\t],\n"
                       "\t\"o\": {},\n"
                       "\t\"proxies\": {\n"
                       "\t\t\"default\": {\n"
                       "\t\t\t\"httpProxy\": \"http://p:3128\"\n"
                       "\t\t}\n"
                       "\t}\n"
                       "}\n";
    CHECK_STR(read_text(file), want);
    CHECK_INT(mode_of(file), 0600);
    const char *files[] = {file, NULL};
    CHECK_STR(lookup(files, "index.docker.io"), tap_fmt("u|p <- %s", file));
    CHECK_STR(lookup(files, "other.io"), tap_fmt("b|2 <- %s", file));
    /* Erasing another host keeps the rest as well. */
    CHECK_STR(erase(file, "other.io"), "(erased)");
    CHECK_STR(read_text(file), "{\n"
                               "\t\"HttpHeaders\": {\n"
                               "\t\t\"User-Agent\": \"x\"\n"
                               "\t},\n"
                               "\t\"auths\": {\n"
                               "\t\t\"bad\": {\n"
                               "\t\t\t\"auth\": \"!!\"\n"
                               "\t\t},\n"
                               "\t\t\"https://index.docker.io/v1/\": {\n"
                               "\t\t\t\"auth\": \"dTpw\"\n"
                               "\t\t}\n"
                               "\t},\n"
                               "\t\"credsStore\": \"desktop\",\n"
                               "\t\"e\": [],\n"
                               "\t\"n\": [\n"
                               "\t\t1,\n"
                               "\t\t2.5,\n"
                               "\t\ttrue,\n"
                               "\t\tnull,\n"
                               "\t\t\"\xc3\xa9\\t\"\n"
                               "\t],\n"
                               "\t\"o\": {},\n"
                               "\t\"proxies\": {\n"
                               "\t\t\"default\": {\n"
                               "\t\t\t\"httpProxy\": \"http://p:3128\"\n"
                               "\t\t}\n"
                               "\t}\n"
                               "}\n");
    remove_dir();
}

static void store_errors(void)
{
    make_dir();
    const char *file = in_dir("auth.json");
    CHECK_STR(store(file, "quay.io", "", "p"), tap_fmt("credentials '%s': empty user name", file));
    CHECK_INT(code, CVM_E_USAGE);
    CHECK_STR(store(file, "quay.io", "a:b", "p"),
              tap_fmt("credentials '%s': user name contains ':'", file));
    CHECK_INT(code, CVM_E_USAGE);
    CHECK_STR(store(file, "quay.io", "a\tb", "p"),
              tap_fmt("credentials '%s': user name contains a control character", file));
    CHECK_STR(store(file, "quay.io", "a", "p\x7f"),
              tap_fmt("credentials '%s': password contains a control character", file));
    CHECK_INT(code, CVM_E_USAGE);
    CHECK(access(file, F_OK) != 0);
    /* A malformed file is neither read past nor rewritten. */
    static const char *const bad[] = {"{", "[]", "{\"auths\":1}", "{\"auths\":{\"x\":1}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_text(file, bad[i]);
        CHECK(strncmp(store(file, "quay.io", "u", "p"), tap_fmt("credentials '%s': ", file),
                      strlen(file) + 15) == 0);
        CHECK_INT(code, CVM_E_FORMAT);
        CHECK(strncmp(erase(file, "quay.io"), tap_fmt("credentials '%s': ", file),
                      strlen(file) + 15) == 0);
        CHECK_STR(read_text(file), bad[i]);
    }
    /* Empty password is allowed. */
    write_text(file, "{\"auths\":{\"https://quay.io\":{\"auth\":\"eDp5\"}}}");
    CHECK_STR(store(file, "quay.io", "user", ""), "(stored)");
    CHECK_STR(read_text(file), QUAY_FILE("dXNlcjo="));
    /* Without "auths", one is added. */
    write_text(file, "{\"credsStore\":\"pass\"}");
    CHECK_STR(store(file, "quay.io", "u", "p"), "(stored)");
    CHECK_STR(read_text(file), "{\n\t\"auths\": {\n\t\t\"quay.io\": {\n\t\t\t\"auth\": "
                               "\"dTpw\"\n\t\t}\n\t},\n\t\"credsStore\": \"pass\"\n}\n");
    write_text(file, "{\"credsStore\":\"pass\"}");
    CHECK_STR(erase(file, "quay.io"), "(none)");
    /* Paths that cannot be a file. */
    CHECK(mkdir(in_dir("d"), 0700) == 0);
    CHECK_STR(store(in_dir("e/"), "quay.io", "u", "p"),
              tap_fmt("credentials '%s/e/': not a file name", dir));
    CHECK_INT(code, CVM_E_USAGE);
    CHECK_STR(store(in_dir("d/"), "quay.io", "u", "p"),
              tap_fmt("credentials '%s/d/': not a regular file", dir));
    CHECK_STR(store(in_dir("d"), "quay.io", "u", "p"),
              tap_fmt("credentials '%s/d': not a regular file", dir));
    CHECK_STR(store(in_dir("auth.json/x.json"), "quay.io", "u", "p"),
              tap_fmt("cannot open credentials '%s/auth.json/x.json': Not a directory", dir));
    CHECK_INT(code, CVM_E_SYSTEM);
    write_text(in_dir("f"), "");
    CHECK_STR(store(in_dir("f/g/x.json"), "quay.io", "u", "p"),
              tap_fmt("cannot open credentials '%s/f/g/x.json': Not a directory", dir));
    remove_dir();
}

static void modes(void)
{
    make_dir();
    /* The file is 0600 whatever the umask; a relative path works. */
    umask(0277);
    CHECK(chdir(dir) == 0);
    CHECK_STR(store("auth.json", "quay.io", "u", "p"), "(stored)");
    CHECK_INT(mode_of(in_dir("auth.json")), 0600);
    umask(0);
    CHECK_STR(store("sub/auth.json", "quay.io", "u", "p"), "(stored)");
    CHECK_INT(mode_of(in_dir("sub/auth.json")), 0600);
    CHECK_INT(mode_of(in_dir("sub")), 0700);
    /* An existing, more open file becomes 0600; existing folders keep their mode. */
    CHECK(chmod(in_dir("auth.json"), 0666) == 0);
    CHECK(chmod(dir, 0755) == 0);
    CHECK_STR(store(in_dir("auth.json"), "ghcr.io", "u", "p"), "(stored)");
    CHECK_INT(mode_of(in_dir("auth.json")), 0600);
    CHECK_INT(mode_of(dir), 0755);
    CHECK(chdir("/") == 0);
    remove_dir();
}

/* The default list, joined with spaces. */
static const char *defaults(void)
{
    char **files = cvm_credentials_default_files();
    CHECK(files != NULL);
    static char out[4096];
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; files[i]; i++)
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", i ? " " : "", files[i]);
    cvm_credentials_files_free(files);
    return out;
}

static void default_files(void)
{
    setenv("HOME", "/home/u", 1);
    unsetenv("REGISTRY_AUTH_FILE");
    unsetenv("XDG_CONFIG_HOME");
    unsetenv("XDG_RUNTIME_DIR");
    unsetenv("DOCKER_CONFIG");
    CHECK_STR(defaults(), "/home/u/.config/cvmctl/auth.json /home/u/.docker/config.json");
    setenv("REGISTRY_AUTH_FILE", "rel/auth.json", 1);
    setenv("XDG_CONFIG_HOME", "/cfg", 1);
    setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
    setenv("DOCKER_CONFIG", "/d", 1);
    CHECK_STR(defaults(), "rel/auth.json /cfg/cvmctl/auth.json /run/user/1000/containers/auth.json "
                          "/d/config.json");
    /* Empty variables are unset; relative XDG ones are ignored. */
    setenv("REGISTRY_AUTH_FILE", "", 1);
    setenv("XDG_CONFIG_HOME", "cfg", 1);
    setenv("XDG_RUNTIME_DIR", "", 1);
    setenv("DOCKER_CONFIG", "", 1);
    CHECK_STR(defaults(), "/home/u/.config/cvmctl/auth.json /home/u/.docker/config.json");
    setenv("XDG_RUNTIME_DIR", "run", 1);
    CHECK_STR(defaults(), "/home/u/.config/cvmctl/auth.json /home/u/.docker/config.json");
    /* A path listed twice appears once. */
    setenv("REGISTRY_AUTH_FILE", "/home/u/.docker/config.json", 1);
    CHECK_STR(defaults(), "/home/u/.docker/config.json /home/u/.config/cvmctl/auth.json");
    /* Without HOME: the password database. */
    unsetenv("REGISTRY_AUTH_FILE");
    unsetenv("HOME");
    struct passwd *pw = getpwuid(getuid());
    CHECK(pw != NULL);
    CHECK_STR(defaults(), tap_fmt("%s/.config/cvmctl/auth.json %s/.docker/config.json", pw->pw_dir,
                                  pw->pw_dir));
    setenv("HOME", "", 1);
    setenv("XDG_CONFIG_HOME", "/cfg", 1);
    setenv("DOCKER_CONFIG", "/d", 1);
    CHECK_STR(defaults(), "/cfg/cvmctl/auth.json /d/config.json");
}

static void release(void)
{
    struct cvm_credential c = {0};
    cvm_credential_release(&c);
    cvm_credential_release(&c);
    CHECK_INT(cvm_credentials_parse_buffer(AUTHS("\"quay.io\":" UP),
                                           strlen(AUTHS("\"quay.io\":" UP)), "mem", "quay.io", &c,
                                           NULL),
              1);
    CHECK_STR(c.source, "mem");
    cvm_credential_release(&c);
    CHECK(!c.username && !c.password && !c.source);
    cvm_credentials_files_free(NULL);
    /* A NULL error pointer still gets the class. */
    CHECK_INT(cvm_credentials_parse_buffer("[", 1, "mem", "quay.io", &c, NULL), -CVM_E_FORMAT);
}

int main(void)
{
    static const struct tap_test tests[] = {
        TAP_TEST(forms),      TAP_TEST(docker_hub),     TAP_TEST(precedence),
        TAP_TEST(malformed),  TAP_TEST(limits),         TAP_TEST(file_order),
        TAP_TEST(round_trip), TAP_TEST(keeps_the_rest), TAP_TEST(store_errors),
        TAP_TEST(modes),      TAP_TEST(default_files),  TAP_TEST(release),
    };
    return tap_run(tests, sizeof(tests) / sizeof(tests[0]));
}
