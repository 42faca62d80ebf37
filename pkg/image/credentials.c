/* Registry credentials files: lookup over docker's and podman's files, and atomic updates that
 * keep everything else the file holds. Secrets are wiped from our buffers before they are
 * freed (jansson's own copies are not: it frees without wiping). */
#include "credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base.h"
#include "sign.h"

/* The normalised name of Docker Hub, which keys also write as docker.io, registry-1.docker.io
 * or CVM_CREDENTIALS_DOCKER_HUB_KEY. */
#define DOCKER_HUB_HOST "index.docker.io"

/* Untrusted strings in messages (cvm_shown): a credentials file's keys and values. */
#define SHOWN_MAX 64
#define SHOWN_SIZE CVM_SHOWN_SIZE(SHOWN_MAX)
static const char *shown(const char *s, char out[SHOWN_SIZE])
{
    return cvm_shown(s, SHOWN_MAX, out);
}

static void wipe_free(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void cvm_credential_release(struct cvm_credential *c)
{
    free(c->username);
    wipe_free(c->password);
    free(c->source);
    *c = (struct cvm_credential){0};
}

/* ---- hosts ------------------------------------------------------------------------------- */

static bool is_host_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr(".-_:[]", c));
}

/* A key or host argument as lower-case host[:port]: scheme and path dropped, Docker Hub's
 * names as DOCKER_HUB_HOST. False when no host is left. */
static bool normalise_host(const char *key, char out[CVM_CREDENTIALS_HOST_MAX + 1])
{
    const char *s = key;
    if (strncasecmp(s, "https://", 8) == 0)
        s += 8;
    else if (strncasecmp(s, "http://", 7) == 0)
        s += 7;
    size_t n = strcspn(s, "/");
    if (n == 0 || n > CVM_CREDENTIALS_HOST_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_host_char(s[i]))
            return false;
        out[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
    }
    out[n] = '\0';
    if (strcmp(out, "docker.io") == 0 || strcmp(out, "registry-1.docker.io") == 0)
        strcpy(out, DOCKER_HUB_HOST);
    return true;
}

/* The key store writes for a normalised host. */
static const char *store_key(const char *host)
{
    return strcmp(host, DOCKER_HUB_HOST) == 0 ? CVM_CREDENTIALS_DOCKER_HUB_KEY : host;
}

static int host_arg(const char *host, char out[CVM_CREDENTIALS_HOST_MAX + 1],
                    struct cvm_error **err)
{
    char show[SHOWN_SIZE];
    if (!host || !normalise_host(host, out))
        return cvm_error_set(err, CVM_E_USAGE, "'%s' is not a registry host",
                             shown(host ? host : "", show));
    return 0;
}

/* ---- parsing ----------------------------------------------------------------------------- */

/* Nesting of [ and { outside strings, before jansson (whose parser recurses) sees the text. */
static bool too_deep(const char *s, size_t len)
{
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > CVM_CREDENTIALS_MAX_DEPTH)
                return true;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return false;
}

/* Parses a file's bytes and checks the structure: an object whose "auths", when present, is
 * an object of objects. */
static int load_json(const char *data, size_t len, const char *display, json_t **ret,
                     struct cvm_error **err)
{
    if (len > CVM_CREDENTIALS_MAX_FILE)
        return cvm_error_set(err, CVM_E_LIMIT, "credentials '%s': %zu bytes, over the limit of %u",
                             display, len, CVM_CREDENTIALS_MAX_FILE);
    if (too_deep(data, len))
        return cvm_error_set(err, CVM_E_LIMIT, "credentials '%s': nested deeper than %d levels",
                             display, CVM_CREDENTIALS_MAX_DEPTH);
    json_error_t je;
    json_auto_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        char show[SHOWN_SIZE];
        return cvm_error_set(err, CVM_E_FORMAT,
                             "credentials '%s': invalid JSON at line %d, column %d: %s", display,
                             je.line, je.column, shown(je.text, show));
    }
    if (!json_is_object(root))
        return cvm_error_set(err, CVM_E_FORMAT, "credentials '%s': the top level is not an object",
                             display);
    json_t *auths = json_object_get(root, "auths");
    if (auths && !json_is_object(auths))
        return cvm_error_set(err, CVM_E_FORMAT, "credentials '%s': \"auths\" is not an object",
                             display);
    const char *key;
    json_t *entry;
    json_object_foreach(auths, key, entry)
    {
        char show[SHOWN_SIZE];
        if (!json_is_object(entry))
            return cvm_error_set(err, CVM_E_FORMAT, "credentials '%s': entry '%s': not an object",
                                 display, shown(key, show));
    }
    *ret = cvm_steal_ptr(&root);
    return 0;
}

static bool has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return true;
    return false;
}

/* A member that must be a string when present; *ret is "" when absent. */
static int entry_string(const char *display, const char *key, json_t *entry, const char *name,
                        const char **ret, struct cvm_error **err)
{
    json_t *v = json_object_get(entry, name);
    char show[SHOWN_SIZE];
    if (v && !json_is_string(v))
        return cvm_error_set(err, CVM_E_FORMAT,
                             "credentials '%s': entry '%s': \"%s\" is not a string", display,
                             shown(key, show), name);
    *ret = v ? json_string_value(v) : "";
    return 0;
}

/* The credential of one entry: 1 and the strings, 0 when the entry holds none we can use. */
static int entry_credential(const char *display, const char *key, json_t *entry,
                            struct cvm_credential *ret, struct cvm_error **err)
{
    const char *auth = "", *username = "", *password = "", *identity = "";
    int r = entry_string(display, key, entry, "auth", &auth, err);
    if (r == 0)
        r = entry_string(display, key, entry, "username", &username, err);
    if (r == 0)
        r = entry_string(display, key, entry, "password", &password, err);
    if (r == 0)
        r = entry_string(display, key, entry, "identitytoken", &identity, err);
    if (r < 0)
        return r;
    if (identity[0])
        return 0;

    char show[SHOWN_SIZE];
    shown(key, show);
    struct cvm_buf decoded;
    cvm_buf_init(&decoded, strlen(auth));
    const char *user = username, *pass = password;
    size_t user_len = strlen(username), pass_len = strlen(password);
    if (auth[0]) {
        r = cvm_sign_base64_decode(auth, strlen(auth), "auth", &decoded, NULL);
        const char *colon = r == 0 ? memchr(decoded.data, ':', decoded.len) : NULL;
        if (!colon) {
            if (decoded.data)
                explicit_bzero(decoded.data, decoded.len);
            cvm_buf_release(&decoded);
            if (r == -CVM_E_SYSTEM)
                return cvm_error_set_errno(err, ENOMEM, "credentials '%s': entry '%s'", display,
                                           show);
            return cvm_error_set(err, CVM_E_FORMAT,
                                 "credentials '%s': entry '%s': \"auth\" is not base64 of "
                                 "user:password",
                                 display, show);
        }
        user = (const char *)decoded.data;
        user_len = (size_t)(colon - user);
        pass = colon + 1;
        pass_len = decoded.len - user_len - 1;
    } else if (username[0]) {
        if (!json_object_get(entry, "password"))
            return cvm_error_set(err, CVM_E_FORMAT,
                                 "credentials '%s': entry '%s': \"username\" without \"password\"",
                                 display, show);
        if (strchr(username, ':'))
            return cvm_error_set(err, CVM_E_FORMAT,
                                 "credentials '%s': entry '%s': \"username\" contains ':'", display,
                                 show);
    } else if (password[0]) {
        return cvm_error_set(err, CVM_E_FORMAT,
                             "credentials '%s': entry '%s': \"password\" without \"username\"",
                             display, show);
    } else {
        return 0;
    }

    if (user_len == 0)
        r = cvm_error_set(err, CVM_E_FORMAT, "credentials '%s': entry '%s': empty user name",
                          display, show);
    else if (has_control(user, user_len))
        r = cvm_error_set(err, CVM_E_FORMAT,
                          "credentials '%s': entry '%s': user name contains a control character",
                          display, show);
    else if (has_control(pass, pass_len))
        r = cvm_error_set(err, CVM_E_FORMAT,
                          "credentials '%s': entry '%s': password contains a control character",
                          display, show);
    struct cvm_credential c = {0};
    if (r == 0) {
        c.username = strndup(user, user_len);
        c.password = strndup(pass, pass_len);
        c.source = strdup(display);
        if (!c.username || !c.password || !c.source) {
            cvm_credential_release(&c);
            r = cvm_error_set_errno(err, ENOMEM, "credentials '%s': entry '%s'", display, show);
        }
    }
    if (decoded.data)
        explicit_bzero(decoded.data, decoded.len);
    cvm_buf_release(&decoded);
    if (r < 0)
        return r;
    *ret = c;
    return 1;
}

/* Looks a normalised host up in a parsed file: the key store writes first, then the other keys
 * naming the host in file order. */
static int lookup_json(json_t *root, const char *display, const char *host,
                       struct cvm_credential *ret, struct cvm_error **err)
{
    json_t *auths = json_object_get(root, "auths");
    json_t *exact = json_object_get(auths, store_key(host));
    if (exact) {
        int r = entry_credential(display, store_key(host), exact, ret, err);
        if (r != 0)
            return r;
    }
    const char *key;
    json_t *entry;
    json_object_foreach(auths, key, entry)
    {
        char norm[CVM_CREDENTIALS_HOST_MAX + 1];
        if (entry == exact || !normalise_host(key, norm) || strcmp(norm, host) != 0)
            continue;
        int r = entry_credential(display, key, entry, ret, err);
        if (r != 0)
            return r;
    }
    return 0;
}

int cvm_credentials_parse_buffer(const void *data, size_t len, const char *display,
                                 const char *host, struct cvm_credential *ret,
                                 struct cvm_error **err)
{
    char norm[CVM_CREDENTIALS_HOST_MAX + 1];
    int r = host_arg(host, norm, err);
    if (r < 0)
        return r;
    json_auto_t *root = NULL;
    r = load_json(data, len, display, &root, err);
    return r < 0 ? r : lookup_json(root, display, norm, ret, err);
}

/* Reads and parses file: 1 and *ret, 0 when it does not exist. */
static int read_file(const char *file, json_t **ret, struct cvm_error **err)
{
    CVM_AUTOCLOSE int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0)
        return cvm_error_set_errno(err, errno, "cannot open credentials '%s'", file);
    struct stat st;
    if (fstat(fd, &st) < 0)
        return cvm_error_set_errno(err, errno, "cannot stat credentials '%s'", file);
    if (!S_ISREG(st.st_mode))
        return cvm_error_set(err, CVM_E_FORMAT, "credentials '%s': not a regular file", file);
    if ((uint64_t)st.st_size > CVM_CREDENTIALS_MAX_FILE)
        return cvm_error_set(err, CVM_E_LIMIT, "credentials '%s': %lld bytes, over the limit of %u",
                             file, (long long)st.st_size, CVM_CREDENTIALS_MAX_FILE);
    struct cvm_buf b;
    cvm_buf_init(&b, CVM_CREDENTIALS_MAX_FILE);
    int r = cvm_buf_read_fd(&b, fd, file, err);
    if (r == 0)
        r = load_json(b.data ? (const char *)b.data : "", b.len, file, ret, err);
    if (b.data)
        explicit_bzero(b.data, b.len);
    cvm_buf_release(&b);
    return r < 0 ? r : 1;
}

int cvm_credentials_lookup(const char *const *files, const char *host, struct cvm_credential *ret,
                           struct cvm_error **err)
{
    char norm[CVM_CREDENTIALS_HOST_MAX + 1];
    int r = host_arg(host, norm, err);
    for (size_t i = 0; r == 0 && files && files[i]; i++) {
        json_auto_t *root = NULL;
        r = read_file(files[i], &root, err);
        if (r > 0)
            r = lookup_json(root, files[i], norm, ret, err);
    }
    return r;
}

/* ---- default files ----------------------------------------------------------------------- */

static char *home_dir(void)
{
    const char *home = getenv("HOME");
    if (home && home[0])
        return strdup(home);
    struct passwd pw, *found = NULL;
    char buf[4096];
    if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &found) != 0 || !found || !pw.pw_dir[0])
        return NULL;
    return strdup(pw.pw_dir);
}

static const char *env(const char *name, bool absolute)
{
    const char *v = getenv(name);
    return v && v[0] && (!absolute || v[0] == '/') ? v : NULL;
}

/* Appends path (freed when NULL-checked here) unless the list has it; false when out of
 * memory. */
static bool add_file(char **files, size_t *n, char *path)
{
    if (!path)
        return false;
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(files[i], path) == 0) {
            free(path);
            return true;
        }
    }
    files[(*n)++] = path;
    return true;
}

static char *join(const char *a, const char *b)
{
    char *out = NULL;
    return asprintf(&out, "%s%s", a, b) < 0 ? NULL : out;
}

char **cvm_credentials_default_files(void)
{
    char **files = calloc(5, sizeof(*files));
    if (!files)
        return NULL;
    CVM_AUTOFREE char *home = home_dir();
    size_t n = 0;
    bool ok = true;
    const char *v;
    if ((v = env("REGISTRY_AUTH_FILE", false)))
        ok = add_file(files, &n, strdup(v));
    if (ok && (v = env("XDG_CONFIG_HOME", true)))
        ok = add_file(files, &n, join(v, "/cvmctl/auth.json"));
    else if (ok && home)
        ok = add_file(files, &n, join(home, "/.config/cvmctl/auth.json"));
    if (ok && (v = env("XDG_RUNTIME_DIR", true)))
        ok = add_file(files, &n, join(v, "/containers/auth.json"));
    if (ok && (v = env("DOCKER_CONFIG", false)))
        ok = add_file(files, &n, join(v, "/config.json"));
    else if (ok && home)
        ok = add_file(files, &n, join(home, "/.docker/config.json"));
    if (!ok) {
        cvm_credentials_files_free(files);
        return NULL;
    }
    return files;
}

void cvm_credentials_files_free(char **files)
{
    for (size_t i = 0; files && files[i]; i++)
        free(files[i]);
    free(files);
}

/* ---- writing ----------------------------------------------------------------------------- */

/* Creates the missing folders of path's parent with mode 0700. */
static int make_parents(const char *dir, struct cvm_error **err)
{
    CVM_AUTOFREE char *copy = strdup(dir);
    if (!copy)
        return cvm_error_set_errno(err, ENOMEM, "cannot create folder '%s'", dir);
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(copy, 0700) < 0 && errno != EEXIST)
            return cvm_error_set_errno(err, errno, "cannot create folder '%s'", copy);
        *p = c;
        if (!c)
            return 0;
    }
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Writes text to a new temporary file next to file and renames it over file. */
static int replace_file(const char *file, const char *text, struct cvm_error **err)
{
    const char *base = cvm_path_basename(file);
    if (!base[0] || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return cvm_error_set(err, CVM_E_USAGE, "credentials '%s': not a file name", file);
    CVM_AUTOFREE char *dir = cvm_path_dirname(file);
    if (!dir)
        return cvm_error_set_errno(err, ENOMEM, "credentials '%s'", file);
    int r = make_parents(dir, err);
    if (r < 0)
        return r;
    CVM_AUTOCLOSE int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return cvm_error_set_errno(err, errno, "cannot open folder '%s'", dir);

    static unsigned counter;
    char tmp[64];
    CVM_AUTOCLOSE int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
        snprintf(tmp, sizeof(tmp), ".%.24s.tmp-%d-%u", base, (int)getpid(),
                 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0)
        return cvm_error_set_errno(err, errno, "cannot create a temporary file in '%s'", dir);
    /* The umask may have taken bits away; the file must be exactly 0600. */
    if (fchmod(fd, 0600) < 0 || write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0)
        r = cvm_error_set_errno(err, errno, "cannot write credentials '%s'", file);
    else if (close(cvm_steal_fd(&fd)) < 0)
        r = cvm_error_set_errno(err, errno, "cannot write credentials '%s'", file);
    else if (renameat(dirfd, tmp, dirfd, base) < 0)
        r = cvm_error_set_errno(err, errno, "cannot rename into credentials '%s'", file);
    if (r < 0) {
        unlinkat(dirfd, tmp, 0);
        return r;
    }
    if (fsync(dirfd) < 0)
        return cvm_error_set_errno(err, errno, "cannot sync folder '%s'", dir);
    return 0;
}

/* Serialises root in the layout of Go's json.MarshalIndent(v, "", "\t"): jansson indents each
 * level by one space after a newline, and raw newlines occur only there (strings escape them),
 * so the spaces after each newline become tabs. */
static int write_json(const char *file, json_t *root, struct cvm_error **err)
{
    char *dumped = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (!dumped)
        return cvm_error_set_errno(err, ENOMEM, "cannot serialise credentials '%s'", file);
    size_t n = strlen(dumped);
    char *text = malloc(n + 2);
    if (text) {
        memcpy(text, dumped, n);
        memcpy(text + n, "\n", 2);
        for (char *p = text; (p = strchr(p, '\n'));)
            for (p++; *p == ' '; p++)
                *p = '\t';
    }
    wipe_free(dumped);
    if (!text)
        return cvm_error_set_errno(err, ENOMEM, "cannot serialise credentials '%s'", file);
    int r = replace_file(file, text, err);
    wipe_free(text);
    return r;
}

/* Removes every key of auths naming host; returns how many. */
static int remove_host(json_t *auths, const char *host)
{
    int removed = 0;
    const char *key;
    json_t *entry;
    void *tmp;
    json_object_foreach_safe(auths, tmp, key, entry)
    {
        char norm[CVM_CREDENTIALS_HOST_MAX + 1];
        if (normalise_host(key, norm) && strcmp(norm, host) == 0) {
            json_object_del(auths, key);
            removed++;
        }
    }
    return removed;
}

int cvm_credentials_store(const char *file, const char *host, const char *username,
                          const char *password, struct cvm_error **err)
{
    char norm[CVM_CREDENTIALS_HOST_MAX + 1];
    int r = host_arg(host, norm, err);
    if (r < 0)
        return r;
    if (!username[0])
        return cvm_error_set(err, CVM_E_USAGE, "credentials '%s': empty user name", file);
    if (strchr(username, ':'))
        return cvm_error_set(err, CVM_E_USAGE, "credentials '%s': user name contains ':'", file);
    if (has_control(username, strlen(username)))
        return cvm_error_set(err, CVM_E_USAGE,
                             "credentials '%s': user name contains a control character", file);
    if (has_control(password, strlen(password)))
        return cvm_error_set(err, CVM_E_USAGE,
                             "credentials '%s': password contains a control character", file);

    json_auto_t *root = NULL;
    r = read_file(file, &root, err);
    if (r < 0)
        return r;
    if (!root && !(root = json_object()))
        return cvm_error_set_errno(err, ENOMEM, "credentials '%s'", file);
    json_t *auths = json_object_get(root, "auths");
    if (!auths && json_object_set_new(root, "auths", auths = json_object()) < 0)
        return cvm_error_set_errno(err, ENOMEM, "credentials '%s'", file);
    remove_host(auths, norm);

    char *pair = NULL;
    if (asprintf(&pair, "%s:%s", username, password) < 0)
        return cvm_error_set_errno(err, ENOMEM, "credentials '%s'", file);
    char *b64 = cvm_sign_base64_encode(pair, strlen(pair));
    wipe_free(pair);
    json_t *entry = b64 ? json_pack("{s:s}", "auth", b64) : NULL;
    wipe_free(b64);
    if (!entry || json_object_set_new(auths, store_key(norm), entry) < 0)
        return cvm_error_set_errno(err, ENOMEM, "credentials '%s'", file);
    return write_json(file, root, err);
}

int cvm_credentials_erase(const char *file, const char *host, struct cvm_error **err)
{
    char norm[CVM_CREDENTIALS_HOST_MAX + 1];
    int r = host_arg(host, norm, err);
    if (r < 0)
        return r;
    json_auto_t *root = NULL;
    r = read_file(file, &root, err);
    if (r <= 0)
        return r;
    json_t *auths = json_object_get(root, "auths");
    if (!auths || remove_host(auths, norm) == 0)
        return 0;
    r = write_json(file, root, err);
    return r < 0 ? r : 1;
}
