#!/bin/sh
# The real-registry harness (tests/registry/) proven with curl alone: each docker-registry
# mode takes an OCI push and serves it back, auth is enforced as configured, and every
# fault-proxy rule fires exactly once. Needs nothing built.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../registry/lib.sh"

sha() { sha256sum "$1" | cut -d' ' -f1; }
seq 1000 | head -c 1000 >"$TMP/blob"
printf '{}' >"$TMP/cfg"
blob=sha256:$(sha "$TMP/blob")
cfg=sha256:$(sha "$TMP/cfg")
oci=application/vnd.oci.image.manifest.v1+json
# cvmctl's own media types: docker-registry 2.8 takes any config and layer type.
cat >"$TMP/manifest" <<EOF
{
  "schemaVersion": 2,
  "mediaType": "$oci",
  "artifactType": "application/vnd.cvm.image.v1",
  "config": {"mediaType": "application/vnd.cvm.config.v1+json", "digest": "$cfg", "size": 2},
  "layers": [{"mediaType": "application/vnd.cvm.runtime.v1+zstd", "digest": "$blob", "size": 1000}]
}
EOF
mdigest=sha256:$(sha "$TMP/manifest")

# hdr NAME FILE: the value of header NAME in a curl -D dump.
hdr() { sed -n "s/^$1: *//ip" "$2" | tr -d '\r'; }

# req CURL-ARGS...: runs curl, body to $TMP/body, headers to $TMP/hdrs; prints the status.
req() { curl -s -o "$TMP/body" -D "$TMP/hdrs" -w '%{http_code}' "$@"; }

# push_blob URL-BASE REPO FILE [CURL-OPTIONS...]: the monolithic OCI upload (POST, then PUT
# ?digest= on the Location); prints the PUT status.
push_blob() {
    _b=$1 _r=$2 _f=$3
    shift 3
    req -X POST "$@" "$_b/v2/$_r/blobs/uploads/" >/dev/null
    _loc=$(hdr Location "$TMP/hdrs")
    case $_loc in /*) _loc=$_b$_loc ;; esac
    case $_loc in *\?*) _loc="$_loc&" ;; *) _loc="$_loc?" ;; esac
    req -X PUT -H 'Content-Type: application/octet-stream' --data-binary "@$_f" "$@" \
        "${_loc}digest=sha256:$(sha "$_f")"
}

# roundtrip MODE URL-BASE REPO [CURL-OPTIONS...]: push the blob, config and manifest; read
# them back. Results are gathered first since check takes one simple command.
roundtrip() {
    _m=$1 _base=$2 _repo=$3
    shift 3
    check "$_m: blob upload is 201" [ "$(push_blob "$_base" "$_repo" "$TMP/blob" "$@")" = 201 ]
    check "$_m: config upload is 201" [ "$(push_blob "$_base" "$_repo" "$TMP/cfg" "$@")" = 201 ]
    got="$(req -I "$@" "$_base/v2/$_repo/blobs/$blob") $(hdr Content-Length "$TMP/hdrs")"
    got="$got $(hdr Docker-Content-Digest "$TMP/hdrs")"
    check "$_m: HEAD blob gives its size and digest" [ "$got" = "200 1000 $blob" ]
    got="$(req "$@" "$_base/v2/$_repo/blobs/$blob") sha256:$(sha "$TMP/body")"
    check "$_m: GET blob gives its exact bytes" [ "$got" = "200 $blob" ]
    got=$(req -X PUT -H "Content-Type: $oci" --data-binary "@$TMP/manifest" "$@" \
        "$_base/v2/$_repo/manifests/v1")
    check "$_m: manifest PUT is 201 with its digest" \
        [ "$got $(hdr Docker-Content-Digest "$TMP/hdrs")" = "201 $mdigest" ]
    got=$(req -H "Accept: $oci" "$@" "$_base/v2/$_repo/manifests/v1")
    got="$got sha256:$(sha "$TMP/body")"
    check "$_m: manifest GET by tag gives its exact bytes and type" \
        [ "$got $(hdr Content-Type "$TMP/hdrs")" = "200 $mdigest $oci" ]
}

# token: the "token" member of the JSON answer in $TMP/body.
token() {
    /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])' <"$TMP/body"
}

# Plain HTTP.
registry_start plain
plain=$REGISTRY
roundtrip plain "$REGISTRY_URL" plain/repo
got=$(req -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "$REGISTRY_URL/v2/plain/repo/manifests/v1")
check "plain: a GET not accepting OCI is 404 (2.8 never converts)" [ "$got" = 404 ]

# TLS with Basic auth.
registry_start tls
tls="--cacert $REGISTRY_CA"
# shellcheck disable=SC2086
roundtrip tls "$REGISTRY_URL" tls/repo $tls -u "$REGISTRY_USER:$REGISTRY_PASS"
# shellcheck disable=SC2086
check "tls: no credentials is 401" \
    [ "$(req $tls "$REGISTRY_URL/v2/tls/repo/blobs/$blob")" = 401 ]
# shellcheck disable=SC2086
check "tls: a wrong password is 401" \
    [ "$(req $tls -u cvm:wrong "$REGISTRY_URL/v2/tls/repo/blobs/$blob")" = 401 ]
check "tls: the certificate does not verify without the CA" [ "$(req "$REGISTRY_URL/v2/")" = 000 ]
skopeo inspect --raw --cert-dir "$REGISTRY_CERT_DIR" --creds "$REGISTRY_USER:$REGISTRY_PASS" \
    "docker://$REGISTRY/tls/repo:v1" >"$TMP/body" 2>"$TMP/err"
check "tls: skopeo reads the manifest with --cert-dir" cmp -s "$TMP/body" "$TMP/manifest"

# Token auth, the Bearer flow by hand: 401 -> WWW-Authenticate -> realm with Basic -> token.
registry_start token
check "token: a push without a token is 401" \
    [ "$(req -X POST "$REGISTRY_URL/v2/tok/repo/blobs/uploads/")" = 401 ]
challenge=$(hdr Www-Authenticate "$TMP/hdrs")
param() { printf '%s' "$challenge" | sed -n "s/.*$1=\"\([^\"]*\)\".*/\1/p"; }
# The order of the actions in scope varies from run to run (a Go map).
check "token: the challenge names the realm, service and scope" \
    [ "$(param realm) $(param service) $(param scope | sed 's/push,pull/pull,push/')" = \
    "$TOKEN_REALM cvm-registry repository:tok/repo:pull,push" ]
token_url="$(param realm)?service=$(param service)&scope=$(param scope)"
got=$(req -u "$REGISTRY_USER:wrong" "$token_url")
check "token: a wrong password is 401 at the token server, with a JSON error" \
    [ "$got $(cat "$TMP/body")" = \
    '401 {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}' ]
check "token: the right password gets a token" \
    [ "$(req -u "$REGISTRY_USER:$REGISTRY_PASS" "$token_url")" = 200 ]
roundtrip token "$REGISTRY_URL" tok/repo -H "Authorization: Bearer $(token)"
check "token: an anonymous request still gets a token" [ "$(req "$token_url&account=x")" = 200 ]
check "token: ... that grants no pull without --anonymous-pull" \
    [ "$(req -H "Authorization: Bearer $(token)" "$REGISTRY_URL/v2/tok/repo/blobs/$blob")" = 401 ]
skopeo inspect --raw --tls-verify=false --creds "$REGISTRY_USER:$REGISTRY_PASS" \
    "docker://$REGISTRY/tok/repo:v1" >"$TMP/body" 2>"$TMP/err"
check "token: skopeo (containers/image) does the flow with --creds" \
    cmp -s "$TMP/body" "$TMP/manifest"
check "token: the server logged its requests" [ "$(grep -c '^GET /token?' "$TOKEN_LOG")" -ge 4 ]

# The fault proxy, in front of the plain registry; each repository gets its own rule.
for r in drop trunc corrupt over fail range; do
    push_blob "http://$plain" "f/$r" "$TMP/blob" >/dev/null
done
proxy_start "$plain" --drop-mid-body '/f/drop/blobs/:100' --truncate-body '/f/trunc/blobs/:300' \
    --corrupt-body '/f/corrupt/blobs/' --oversize-body '/f/over/blobs/:7' \
    --fail-once 'GET:/f/fail/blobs/:503' --fail-once 'HEAD:/f/fail/blobs/:429' \
    --garbage '/plain/repo/manifests/' --corrupt-body '/f/range/blobs/'
P=http://$PROXY
# get REPO: the blob through the proxy into $TMP/body; prints curl's exit code (56: connection
# reset, 18: closed with bytes missing), the size and whether the bytes are the blob's.
get() {
    curl -s -o "$TMP/body" "$P/v2/f/$1/blobs/$blob"
    _s=$?
    _same=differs
    [ "sha256:$(sha "$TMP/body")" != "$blob" ] || _same=same
    echo "$_s $(wc -c <"$TMP/body") $_same"
}
check "proxy: drop-mid-body resets after 100 bytes" [ "$(get drop)" = "56 100 differs" ]
check "proxy: ... and the next GET is whole" [ "$(get drop)" = "0 1000 same" ]
check "proxy: truncate-body closes after 300 of 1000 bytes" [ "$(get trunc)" = "18 300 differs" ]
check "proxy: ... and the next GET is whole" [ "$(get trunc)" = "0 1000 same" ]
check "proxy: corrupt-body keeps the size, not the digest" [ "$(get corrupt)" = "0 1000 differs" ]
check "proxy: ... and the next GET is exact" [ "$(get corrupt)" = "0 1000 same" ]
check "proxy: oversize-body appends 7 bytes" [ "$(get over)" = "0 1007 differs" ]
head -c 1000 "$TMP/body" >"$TMP/head"
check "proxy: ... to the blob's own bytes" cmp -s "$TMP/head" "$TMP/blob"
check "proxy: ... and the next GET is exact" [ "$(get over)" = "0 1000 same" ]
check "proxy: fail-once answers 503, then the upstream's 200" \
    [ "$(req "$P/v2/f/fail/blobs/$blob") $(req "$P/v2/f/fail/blobs/$blob")" = "503 200" ]
got="$(req -I "$P/v2/f/fail/blobs/$blob") $(hdr Retry-After "$TMP/hdrs")"
check "proxy: a 429 for HEAD carries Retry-After, then 200" \
    [ "$got $(req -I "$P/v2/f/fail/blobs/$blob")" = "429 1 200" ]
got="$(req -H "Accept: $oci" "$P/v2/plain/repo/manifests/v1") $(hdr Content-Type "$TMP/hdrs")"
check "proxy: garbage is a 200 application/json answer" [ "$got" = "200 application/json" ]
/usr/bin/python3 -c 'import json, sys; json.load(sys.stdin)' <"$TMP/body" 2>/dev/null
check "proxy: ... that does not parse" [ $? = 1 ]
got=$(req -H 'Range: bytes=100-' "$P/v2/f/range/blobs/$blob")
check "proxy: Range passes untouched while a body rule waits: 206, the right bytes" \
    [ "$got $(sha256sum <"$TMP/body")" = "206 $(tail -c +101 "$TMP/blob" | sha256sum)" ]
check "proxy: ... and the rule fires on the next plain GET" [ "$(get range)" = "0 1000 differs" ]
req -X POST "$P/v2/f/pushed/blobs/uploads/" >/dev/null
loc=$(hdr Location "$TMP/hdrs")
check "proxy: upload Locations point at the proxy" \
    [ "${loc%%/v2/f/pushed/blobs/uploads/*}" = "$P" ]
check "proxy: a push through it follows them" [ "$(push_blob "$P" f/pushed "$TMP/cfg")" = 201 ]
got=$(grep -v ' -$' "$PROXY_LOG" | cut -d' ' -f4 | sort | tr '\n' ' ')
check "proxy: the log names each fault once" [ "$got" = "$(printf '%s ' corrupt-body \
    corrupt-body drop-mid-body fail-once fail-once garbage oversize-body truncate-body)" ]
finish
