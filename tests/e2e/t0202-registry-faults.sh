#!/bin/sh
# Pulls through a fault-injecting proxy: a connection dropped in the middle of a blob, a
# truncated body and a 503 are survived; a corrupted, oversized or garbage answer fails with
# one line, exit 125, and leaves no blob, no name and no temporary file in the store.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../registry/lib.sh"

export CVMCTL_ROOT="$TMP/root"
digest=$("$CVMCTL" build -q -t hello "$BUILD/images/hello")
registry_start plain
"$CVMCTL" push -q hello "$REGISTRY/team/hello:1" >/dev/null
so=$(skopeo inspect --raw "oci:$CVMCTL_ROOT:localhost/hello:latest" |
    python3 -c 'import json,sys; m=json.load(sys.stdin); print([l for l in m["layers"] if l["annotations"]["org.opencontainers.image.title"] == "libhello.so"][0]["digest"])')
so_size=$(stat -c %s "$CVMCTL_ROOT/blobs/sha256/${so#sha256:}")

# pull_via NAME FAULTS...: a fresh store and a fresh proxy with these faults.
pull_via() {
    root=$TMP/$1
    shift
    proxy_start "$REGISTRY" "$@"
    CVMCTL_ROOT=$root "$CVMCTL" pull "$PROXY/team/hello:1" >"$TMP/out" 2>"$TMP/err"
    status=$?
}
clean_store() {
    [ ! -e "$1/blobs/sha256/${so#sha256:}" ] && ! ls -A "$1" | grep -q '^\.tmp-' &&
        ! grep -q ref.name "$1/index.json"
}

pull_via dropped --drop-mid-body "blobs/$so:4000"
check "a blob cut off mid-body: the pull completes" test "$status" = 0 -a "$(cat "$TMP/out")" = "$digest"
check "... it says it resumes at byte 4000" grep -q "^blob $so: GET http://$PROXY/v2/team/hello/blobs/$so: .*; resuming at byte 4000; retrying in 0.2 s (attempt 2 of 5)\$" "$TMP/err"
check "... with a Range request" grep -q "^GET /v2/team/hello/blobs/$so 206 -\$" "$PROXY_LOG"
check "... and the blob is whole" test "$(sha256sum "$TMP/dropped/blobs/sha256/${so#sha256:}" | cut -d' ' -f1)" = "${so#sha256:}"

pull_via truncated --truncate-body "blobs/$so:100"
check "a truncated body: the pull completes" test "$status" = 0 -a "$(cat "$TMP/out")" = "$digest"
check "... resuming at byte 100" grep -q "resuming at byte 100; retrying" "$TMP/err"

pull_via busy --fail-once "GET:manifests/1:503"
check "a 503 once: the pull completes" test "$status" = 0 -a "$(cat "$TMP/out")" = "$digest"
check "... after the Retry-After second" grep -q "^GET http://$PROXY/v2/team/hello/manifests/1: HTTP 503, registry says UNAVAILABLE: injected by fault-proxy; retrying in 1.0 s (attempt 2 of 5)\$" "$TMP/err"

pull_via corrupt --corrupt-body "blobs/$so"
check "a corrupted blob fails the pull" test "$status" = 125
check "... naming the blob and what arrived" grep -q "^cvmctl: error: pull '$PROXY/team/hello:1': blob $so: the registry sent bytes with digest sha256:[0-9a-f]\{64\}\$" "$TMP/err"
check "... and leaves the store clean" clean_store "$TMP/corrupt"

pull_via oversize --oversize-body "blobs/$so:10"
check "a blob larger than its descriptor fails the pull" test "$status" = 125
check "... with one line" test "$(grep -v '^Copying\|^Writing' "$TMP/err")" = "cvmctl: error: pull '$PROXY/team/hello:1': blob $so: the registry sent more than the $so_size bytes of its descriptor"
check "... and leaves the store clean" clean_store "$TMP/oversize"

pull_via garbage --garbage "manifests/1"
check "a manifest that is not JSON fails the pull" test "$status" = 125
check "... with one line naming the manifest" test "$(cat "$TMP/err")" = "cvmctl: error: pull '$PROXY/team/hello:1': manifest '1': invalid JSON at line 1 column 1: '[' or '{' expected near '<'"
check "... and leaves the store clean" clean_store "$TMP/garbage"
# ---- push -------------------------------------------------------------------------------------
proxy_start "$REGISTRY" --fail-once "PUT:/blobs/uploads/:500"
"$CVMCTL" push hello "$PROXY/team/retried:1" >"$TMP/out" 2>"$TMP/err"
check "a 500 to a blob upload once: the push completes" test "$?" = 0 -a "$(cat "$TMP/out")" = "$digest"
check "... sending the blob again in a new session" grep -q "^PUT http://$PROXY/v2/team/retried/blobs/uploads/[^ ]*: HTTP 500, registry says UNAVAILABLE: injected by fault-proxy; retrying in [0-9.]* s (attempt 2 of 5)\$" "$TMP/err"
check "... and the registry has the image" test \
    "sha256:$(skopeo inspect --raw --tls-verify=false "docker://$REGISTRY/team/retried:1" | sha256sum | cut -d' ' -f1)" = "$digest"

# A blob whose bytes no longer match its digest: the registry refuses it, the other uploads
# finish or stop, and no manifest is written.
cp -r "$CVMCTL_ROOT" "$TMP/bad-root"
chmod u+w "$TMP/bad-root/blobs/sha256/${so#sha256:}"
printf 'X' | dd of="$TMP/bad-root/blobs/sha256/${so#sha256:}" bs=1 seek=100 conv=notrunc 2>/dev/null
expect "a store blob that does not match its digest fails the push" 125 "" "cvmctl: error: push '$REGISTRY/team/bad:1': blob $so: upload: HTTP 400, registry says DIGEST_INVALID: provided digest did not match uploaded content
" -- env CVMCTL_ROOT="$TMP/bad-root" "$CVMCTL" push -q hello "$REGISTRY/team/bad:1"
check "... and the registry names nothing" test "$(curl -s -o /dev/null -w '%{http_code}' "$REGISTRY_URL/v2/team/bad/manifests/1")" = 404
finish
