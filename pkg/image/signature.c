/* cosign-compatible signatures attached to images in the store, and their verification. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base.h"
#include "policy.h"
#include "reference.h"
#include "sign.h"
#include "signature.h"
#include "store.h"
#include "verify-memo.h"

char *cvm_signature_tag(const char *repository, const struct cvm_digest *image)
{
    char hex[CVM_DIGEST_HEX_LEN + 1];
    char *out = NULL;
    return asprintf(&out, "%s:sha256-%s.sig", repository, cvm_digest_hex(image, hex)) < 0 ? NULL
                                                                                          : out;
}

bool cvm_signature_tag_is(const char *name)
{
    const char *colon = strrchr(name, ':');
    struct cvm_digest d;
    char hex[CVM_DIGEST_HEX_LEN + 1];
    if (!colon || strncmp(colon + 1, "sha256-", 7) != 0 ||
        strlen(colon + 8) != CVM_DIGEST_HEX_LEN + 4 ||
        strcmp(colon + 8 + CVM_DIGEST_HEX_LEN, ".sig"))
        return false;
    memcpy(hex, colon + 8, CVM_DIGEST_HEX_LEN);
    hex[CVM_DIGEST_HEX_LEN] = '\0';
    return cvm_digest_parse_hex(hex, &d) == 0;
}

void cvm_signatures_free(struct cvm_signature *sigs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(sigs[i].identity);
        free(sigs[i].b64);
        if (sigs[i].payload_bytes) {
            cvm_buf_release(sigs[i].payload_bytes);
            free(sigs[i].payload_bytes);
        }
    }
    free(sigs);
}

int cvm_image_signatures(struct cvm_store *s, const char *repository,
                         const struct cvm_digest *image, struct cvm_signature **ret, size_t *ret_n,
                         struct cvm_error **err)
{
    CVM_AUTOFREE char *tag = cvm_signature_tag(repository, image);
    if (!tag)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    struct cvm_descriptor desc;
    bool found = false;
    int r = cvm_store_find(s, tag, &desc, &found, err);
    if (r < 0)
        return r;
    *ret = NULL;
    *ret_n = 0;
    if (!found)
        return 0;
    struct cvm_manifest *m = NULL;
    r = cvm_store_read_manifest(s, &desc, &m, NULL, err);
    cvm_descriptor_release(&desc);
    if (r < 0)
        return cvm_error_prefix(err, "signature '%s'", tag);
    struct cvm_signature *sigs = calloc(m->n_entries ? m->n_entries : 1, sizeof(*sigs));
    size_t n = 0;
    if (!sigs)
        r = cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    if (r == 0 && m->n_entries > CVM_SIGNATURES_MAX)
        r = cvm_error_set(err, CVM_E_LIMIT, "signature '%s': %zu signatures, over the limit of %u",
                          tag, m->n_entries, CVM_SIGNATURES_MAX);
    for (size_t i = 0; r == 0 && !m->is_index && i < m->n_entries; i++) {
        const struct cvm_descriptor *l = &m->entries[i];
        if (strcmp(l->media_type, CVM_MEDIA_COSIGN_PAYLOAD) != 0 || !l->signature)
            continue;
        struct cvm_signature *sig = &sigs[n++];
        sig->payload = l->digest;
        if (!(sig->b64 = strdup(l->signature)) ||
            !(sig->payload_bytes = calloc(1, sizeof(*sig->payload_bytes)))) {
            r = cvm_error_set_errno(err, ENOMEM, "cannot allocate");
            break;
        }
        if ((r = cvm_store_read_blob(s, &l->digest, CVM_SIGN_PAYLOAD_MAX, sig->payload_bytes,
                                     err)) < 0 ||
            (r = cvm_simple_signing_parse(sig->payload_bytes->data, sig->payload_bytes->len,
                                          &sig->identity, &sig->signs, err)) < 0)
            r = cvm_error_prefix(err, "signature '%s' layer %zu", tag, i);
    }
    cvm_manifest_free(m);
    if (r < 0) {
        cvm_signatures_free(sigs, n);
        return r;
    }
    *ret = sigs;
    *ret_n = n;
    return 0;
}

/* The OCI config cosign gives signature manifests: the payloads as its diff_ids. */
static json_t *signature_config(json_t *layers)
{
    json_t *ids = json_array();
    for (size_t i = 0; ids && i < json_array_size(layers); i++)
        json_array_append(ids, json_object_get(json_array_get(layers, i), "digest"));
    return json_pack("{s:s, s:s, s:[{s:s}], s:s, s:{s:s, s:o}, s:{}}", "architecture", "",
                     "created", "0001-01-01T00:00:00Z", "history", "created",
                     "0001-01-01T00:00:00Z", "os", "", "rootfs", "type", "layers", "diff_ids", ids,
                     "config");
}

static int put_json(struct cvm_store *s, json_t *j, struct cvm_digest *ret_digest, size_t *ret_size,
                    struct cvm_error **err)
{
    CVM_AUTOFREE char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    if (!text)
        return cvm_error_set_errno(err, ENOMEM, "cannot encode JSON");
    *ret_size = strlen(text);
    return cvm_store_put_blob(s, text, *ret_size, ret_digest, err);
}

static json_t *layer_json(const struct cvm_digest *d, size_t size, const char *b64)
{
    char ds[CVM_DIGEST_STR_SIZE];
    return json_pack("{s:s, s:I, s:s, s:{s:s}}", "mediaType", CVM_MEDIA_COSIGN_PAYLOAD, "size",
                     (json_int_t)size, "digest", cvm_digest_format(d, ds), "annotations",
                     CVM_ANNOTATION_COSIGN_SIGNATURE, b64);
}

int cvm_image_sign(struct cvm_store *s, const char *repository, const struct cvm_descriptor *image,
                   const struct cvm_signing_key *key, struct cvm_error **err)
{
    struct cvm_buf payload;
    cvm_buf_init(&payload, CVM_SIGN_PAYLOAD_MAX);
    int r = cvm_simple_signing_payload(repository, &image->digest, &payload, err);
    CVM_AUTOFREE char *b64 = NULL;
    struct cvm_digest payload_digest;
    if (r == 0)
        r = cvm_sign_payload(key, payload.data, payload.len, &b64, err);
    if (r == 0)
        r = cvm_store_put_blob(s, payload.data, payload.len, &payload_digest, err);
    size_t payload_len = payload.len;
    cvm_buf_release(&payload);
    if (r < 0)
        return r;
    /* Keep the signatures already attached (cosign appends); all are re-encoded from the
     * parsed manifest, which holds only what cosign's format has. */
    struct cvm_signature *old = NULL;
    size_t n_old = 0;
    if ((r = cvm_image_signatures(s, repository, &image->digest, &old, &n_old, err)) < 0)
        return r;
    json_auto_t *layers = json_array();
    for (size_t i = 0; layers && i < n_old; i++)
        json_array_append_new(layers,
                              layer_json(&old[i].payload, old[i].payload_bytes->len, old[i].b64));
    cvm_signatures_free(old, n_old);
    if (!layers || json_array_append_new(layers, layer_json(&payload_digest, payload_len, b64)) < 0)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    struct cvm_digest config_digest;
    size_t config_len = 0;
    json_auto_t *config = signature_config(layers);
    if ((r = put_json(s, config, &config_digest, &config_len, err)) < 0)
        return r;
    char cd[CVM_DIGEST_STR_SIZE];
    json_auto_t *manifest = json_pack(
        "{s:i, s:s, s:{s:s, s:I, s:s}, s:O}", "schemaVersion", 2, "mediaType",
        CVM_MEDIA_OCI_MANIFEST, "config", "mediaType", CVM_MEDIA_OCI_CONFIG, "size",
        (json_int_t)config_len, "digest", cvm_digest_format(&config_digest, cd), "layers", layers);
    struct cvm_descriptor desc = {.media_type = (char *)CVM_MEDIA_OCI_MANIFEST};
    size_t size = 0;
    if ((r = put_json(s, manifest, &desc.digest, &size, err)) < 0)
        return r;
    desc.size = size;
    CVM_AUTOFREE char *tag = cvm_signature_tag(repository, &image->digest);
    if (!tag)
        return cvm_error_set_errno(err, ENOMEM, "cannot allocate");
    return cvm_store_tag(s, tag, &desc, err);
}

/* One signature against key: taken as verified when the memo holds it, else verified (and
 * then recorded). The key is made ready on the first signature verified (*prepared): a key or
 * libcrypto that fails is *key_failed, and its error is the one to report. */
static int verify_signature(const struct cvm_verify_key *key, const struct cvm_signature *sig,
                            const struct cvm_verify_memo *memo, bool *prepared, bool *key_failed,
                            struct cvm_error **err)
{
    struct cvm_buf bytes;
    cvm_buf_init(&bytes, CVM_SIGN_B64_MAX);
    size_t b64_len = strnlen(sig->b64, CVM_SIGN_B64_MAX + 1);
    /* A signature that does not decode is for cvm_verify_payload to refuse. */
    bool decoded = memo && b64_len <= CVM_SIGN_B64_MAX &&
                   cvm_sign_base64_decode(sig->b64, b64_len, "signature", &bytes, NULL) == 0;
    int r = 0;
    if (decoded &&
        cvm_verify_memo_holds(memo, cvm_verify_key_id(key), &sig->payload, bytes.data, bytes.len)) {
        char fp[CVM_SIGN_FINGERPRINT_SIZE], pd[CVM_DIGEST_STR_SIZE];
        cvm_log(CVM_LOG_DEBUG, "the signature over payload %s verified with key %s before",
                cvm_digest_format(&sig->payload, pd), cvm_verify_key_fingerprint(key, fp));
    } else if (!*prepared && (r = cvm_verify_key_prepare(key, err)) < 0) {
        *key_failed = true;
    } else {
        *prepared = true;
        r = cvm_verify_payload(key, sig->payload_bytes->data, sig->payload_bytes->len, sig->b64,
                               err);
        if (r == 0 && decoded)
            cvm_verify_memo_add(memo, cvm_verify_key_id(key), &sig->payload, bytes.data, bytes.len);
    }
    cvm_buf_release(&bytes);
    return r;
}

int cvm_image_verify_key(struct cvm_store *s, const char *repository,
                         const struct cvm_digest *image, const struct cvm_verify_key *key,
                         bool match_repository, const struct cvm_verify_memo *memo,
                         struct cvm_error **err)
{
    struct cvm_signature *sigs = NULL;
    size_t n = 0;
    int r = cvm_image_signatures(s, repository, image, &sigs, &n, err);
    if (r < 0)
        return r;
    char fp[CVM_SIGN_FINGERPRINT_SIZE], want[CVM_DIGEST_STR_SIZE], got[CVM_DIGEST_STR_SIZE];
    cvm_verify_key_fingerprint(key, fp);
    cvm_digest_format(image, want);
    if (n == 0) {
        CVM_AUTOFREE char *tag = cvm_signature_tag(repository, image);
        return cvm_error_set(err, CVM_E_SIGNATURE,
                             "image %s of '%s' is not signed: the store has no '%s'", want,
                             repository, tag ? tag : "signature");
    }
    /* The most telling failure wins: a signature by the key for another manifest says the
     * manifest changed; otherwise no signature was made with this key. */
    int verdict = 0; /* 1: ok, 2: digest differs, 3: identity differs */
    struct cvm_signature *bad = NULL;
    bool prepared = false, key_failed = false;
    for (size_t i = 0; i < n && verdict != 1; i++) {
        CVM_AUTO(cvm_error_free) struct cvm_error *e = NULL;
        if (verify_signature(key, &sigs[i], memo, &prepared, &key_failed, &e) < 0) {
            if (!key_failed)
                continue;
            cvm_signatures_free(sigs, n);
            int code = e->code;
            if (err && !*err)
                *err = cvm_steal_ptr(&e);
            return -code;
        }
        if (!cvm_digest_equal(&sigs[i].signs, image))
            verdict = 2, bad = &sigs[i];
        else if (match_repository && strcmp(sigs[i].identity, repository) != 0)
            verdict = verdict ? verdict : 3, bad = bad ? bad : &sigs[i];
        else
            verdict = 1;
    }
    if (verdict == 1)
        r = 0;
    else if (verdict == 2)
        r = cvm_error_set(err, CVM_E_SIGNATURE,
                          "the signature by key %s is for manifest %s, not %s: the manifest "
                          "changed after signing",
                          fp, cvm_digest_format(&bad->signs, got), want);
    else if (verdict == 3)
        r = cvm_error_set(err, CVM_E_SIGNATURE,
                          "the signature by key %s names repository '%.255s', not '%s'", fp,
                          bad->identity, repository);
    else
        r = cvm_error_set(err, CVM_E_SIGNATURE,
                          "no signature of image %s verifies with key %s (%zu signature%s "
                          "checked)",
                          want, fp, n, n == 1 ? "" : "s");
    cvm_signatures_free(sigs, n);
    return r;
}

int cvm_image_verify_policy(struct cvm_store *s, const struct cvm_policy *p, const char *repository,
                            const char *tag, const struct cvm_digest *image,
                            const struct cvm_verify_memo *memo, const char **ret_scope,
                            struct cvm_error **err)
{
    const struct cvm_policy_requirement *reqs = NULL;
    size_t n = 0;
    const char *scope = NULL;
    int r = cvm_policy_lookup(p, repository, tag, &reqs, &n, &scope);
    if (r < 0)
        return cvm_error_set(err, CVM_E_FORMAT, "policy lookup for '%s' failed", repository);
    /* Every requirement of the scope must hold, as in containers-policy.json(5). */
    for (size_t i = 0; i < n && r == 0; i++) {
        const struct cvm_policy_requirement *q = &reqs[i];
        if (q->type == CVM_POLICY_REJECT) {
            r = cvm_error_set(err, CVM_E_SIGNATURE, "the trust policy rejects '%s' (scope '%s')",
                              repository, scope);
        } else if (q->type == CVM_POLICY_SIGNED) {
            struct cvm_verify_key *key = NULL;
            r = q->key_path
                    ? cvm_verify_key_load(q->key_path, &key, err)
                    : cvm_verify_key_from_pem(q->key_pem, q->key_pem_len, "keyData", &key, err);
            if (r == 0)
                r = cvm_image_verify_key(s, repository, image, key, q->match_repository, memo, err);
            cvm_verify_key_free(key);
            if (r < 0)
                r = cvm_error_prefix(err, "trust policy scope '%s'", scope);
        }
    }
    if (r == 0 && ret_scope)
        *ret_scope = scope;
    return r;
}
