/* Registry credentials in the files docker (config.json) and podman/skopeo (auth.json) keep:
 * {"auths": {"<key>": {"auth": "<base64 of user:password>"}, ...}, ...other keys}. */
#ifndef CVM_IMAGE_CREDENTIALS_H
#define CVM_IMAGE_CREDENTIALS_H

#include <stddef.h>

struct cvm_error;

/* A credentials file is read whole; larger ones are CVM_E_LIMIT. */
#define CVM_CREDENTIALS_MAX_FILE (1u << 20)
/* Deepest nesting of arrays and objects accepted in a file (the auths need 3). */
#define CVM_CREDENTIALS_MAX_DEPTH 16
/* Longest registry host ("host[:port]", after the scheme and path of a key are dropped). */
#define CVM_CREDENTIALS_HOST_MAX 255
/* The key docker and podman use for Docker Hub, whichever of its names is asked for. */
#define CVM_CREDENTIALS_DOCKER_HUB_KEY "https://index.docker.io/v1/"

struct cvm_credential {
    char *username;
    char *password;
    char *source; /* the file it came from */
};

/* Wipes the password and frees the strings; a zeroed struct is fine. */
void cvm_credential_release(struct cvm_credential *c);

/* The default files, most specific first, NULL-terminated, malloc'd (NULL when out of
 * memory): $REGISTRY_AUTH_FILE if set; $XDG_CONFIG_HOME/cvmctl/auth.json (else
 * ~/.config/cvmctl/auth.json); $XDG_RUNTIME_DIR/containers/auth.json if XDG_RUNTIME_DIR is set;
 * $DOCKER_CONFIG/config.json if DOCKER_CONFIG is set, else ~/.docker/config.json. Empty
 * variables count as unset, and relative XDG_* ones are ignored (XDG Base Directory spec); ~
 * is $HOME, else the user's home in the password database, else those files are left out. A
 * path listed twice appears once. */
char **cvm_credentials_default_files(void);
void cvm_credentials_files_free(char **files);

/* Keys and the host argument of the functions below match by their normalised host: an
 * "http://" or "https://" prefix and anything from the first '/' on are dropped, the rest
 * (1 to CVM_CREDENTIALS_HOST_MAX of letters, digits, '.', '-', '_', ':', '[', ']') is compared
 * case-insensitively, and docker.io, index.docker.io and registry-1.docker.io are one host.
 * Keys that do not normalise are never matched (and kept by store and erase); a host argument
 * that does not is CVM_E_USAGE. */

/* Looks host ("host[:port]") up in each file in order; a missing file is skipped, an
 * unreadable or malformed one is an error naming it. Found: 1 and *ret filled; none: 0.
 * In a file, an entry under the key store writes wins over other keys naming the same host,
 * which are tried in file order. An entry gives "auth" (base64 of "user:password", split at
 * the first ':'), else "username" and "password". Entries without either (docker writes {} when
 * a credsStore holds the secret), with an empty "auth", or with a non-empty "identitytoken"
 * (OAuth refresh tokens, not supported) are skipped. "credsStore" and "credHelpers" are
 * ignored, as is a file without "auths". The structure (object at the top, "auths" an object
 * of objects) is checked in every file read; an entry's contents only when its key matches. */
int cvm_credentials_lookup(const char *const *files, const char *host, struct cvm_credential *ret,
                           struct cvm_error **err);

/* The same on a file's bytes (len <= CVM_CREDENTIALS_MAX_FILE), display naming it in messages
 * (`credentials '<display>': entry 'quay.io': "auth" is not base64 of user:password`) and in
 * ret->source. For fuzzing and tests. */
int cvm_credentials_parse_buffer(const void *data, size_t len, const char *display,
                                 const char *host, struct cvm_credential *ret,
                                 struct cvm_error **err);

/* Writes/replaces the entry for host in file (created with mode 0600, missing parent folders
 * 0700), keeping every other key and entry of the file; atomic (temp file in the same folder,
 * fsync, rename, fsync of the folder). Every key naming host is replaced by one key,
 * "host[:port]" in lower case (Docker Hub: CVM_CREDENTIALS_DOCKER_HUB_KEY), whose entry is
 * {"auth": "<base64 of user:password>"}. username must be non-empty without ':'; neither may
 * hold control characters (CVM_E_USAGE). The file is written as jansson's
 * JSON_INDENT(1) | JSON_SORT_KEYS output with each level indented by one tab instead of one
 * space (the layout of Go's json.MarshalIndent(v, "", "\t") that docker and podman use) and a
 * final newline; other keys keep their values, not their layout. Not locked: concurrent
 * writers may lose an update, as with docker login. */
int cvm_credentials_store(const char *file, const char *host, const char *username,
                          const char *password, struct cvm_error **err);

/* Removes host's entry (any key form that normalises to host); returns 1 removed, 0 none (a
 * missing file, or nothing to remove: the file is then not rewritten). Written as store does;
 * an "auths" left empty stays as {}. */
int cvm_credentials_erase(const char *file, const char *host, struct cvm_error **err);

#endif
