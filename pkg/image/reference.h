/* Image references `[domain/]path[:tag][@sha256:<hex>]` after docker/distribution's grammar,
 * with `localhost` as the default domain: cVM images live locally or on private registries. */
#ifndef CVM_IMAGE_REFERENCE_H
#define CVM_IMAGE_REFERENCE_H

#include <stdbool.h>

#include "cleanup.h"
#include "digest.h"

struct cvm_error;

/* Longest input accepted. The longest valid reference is 456 bytes: a 255-byte name, ':',
 * a 128-byte tag, '@' and a 71-byte digest; anything longer is rejected before parsing. */
#define CVM_REFERENCE_MAX 512
/* Longest "domain/path", counting the default domain when it applies. */
#define CVM_REFERENCE_NAME_MAX 255
#define CVM_REFERENCE_TAG_MAX 128
#define CVM_DEFAULT_DOMAIN "localhost"
#define CVM_DEFAULT_TAG "latest"

struct cvm_reference {
    char *domain; /* "localhost", "registry.example.com:5000", "[::1]:5000"; as written */
    char *path;   /* "hello", "team/app" */
    char *tag;    /* NULL when only a digest was given; "latest" when neither was */
    bool has_digest;
    struct cvm_digest digest;
};

/* Parses s. The first '/'-separated component is the domain when it contains '.' or ':', is
 * "localhost" or has an uppercase letter; otherwise the domain is CVM_DEFAULT_DOMAIN.
 * Errors are CVM_E_FORMAT ("reference 'x:': empty tag", control characters escaped as \xNN),
 * or CVM_E_UNSUPPORTED for a digest algorithm other than sha256. */
int cvm_reference_parse(const char *s, struct cvm_reference **ret, struct cvm_error **err);
void cvm_reference_free(struct cvm_reference *r);
CVM_DEFINE_CLEANUP(struct cvm_reference *, cvm_reference_free)

/* "domain/path", malloc'd; NULL when out of memory. */
char *cvm_reference_repository(const struct cvm_reference *r);
/* The canonical text, malloc'd ("domain/path:tag", "domain/path@sha256:<hex>" or
 * "domain/path:tag@sha256:<hex>"); it parses back to an equal reference. NULL when out of
 * memory. */
char *cvm_reference_format(const struct cvm_reference *r);
/* True when s is a valid tag, `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}` (e.g. "sha256-<hex>.sig"). */
bool cvm_reference_tag_valid(const char *s);

#endif
