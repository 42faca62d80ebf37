#!/bin/sh
# What the network gets wrong: a host that does not resolve, a token server's garbage, a
# manifest that is not the one asked for, redirects to blob storage (which get no
# credentials), tokens that expire or are refused; then images skopeo pushed from our store
# pull, verify and measure as built. A failed pull leaves no blob, no name, no temporary file.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../registry/lib.sh"

export CVMCTL_ROOT="$TMP/root"
digest=$("$CVMCTL" build -q -t hello "$BUILD/images/hello")
hex=${digest#sha256:}
sig_tag=sha256-$hex.sig
"$CVMCTL" keygen --out "$TMP/k" >/dev/null
"$CVMCTL" sign --key "$TMP/k.key" hello >/dev/null
measurement=$("$CVMCTL" measure hello)
keyid=sha256:$(openssl pkey -pubin -in "$TMP/k.pub" -outform DER | sha256sum | cut -d' ' -f1)
# The config, the first layer, the libhello.so layer, the signature manifest, and the bytes
# verify checks.
python3 - "$CVMCTL_ROOT" "$digest" >"$TMP/facts" <<'PY'
import json, os, sys
root, digest = sys.argv[1], sys.argv[2]
def path(d):
    return f"{root}/blobs/sha256/{d[7:]}"
m = json.load(open(path(digest)))
so = [l for l in m["layers"] if l["annotations"]["org.opencontainers.image.title"] == "libhello.so"]
index = json.load(open(f"{root}/index.json"))
names = {e["annotations"]["org.opencontainers.image.ref.name"]: e["digest"]
         for e in index["manifests"]}
sig = [d for n, d in names.items() if n.endswith(".sig")]
checked = os.path.getsize(path(digest)) + sum(d["size"] for d in [m["config"]] + m["layers"])
print(m["config"]["digest"], m["layers"][0]["digest"], so[0]["digest"], sig[0], checked)
PY
read -r cfg layer0 so sig_digest checked <"$TMP/facts"
creds=cvm:s3cret

# clean_store ROOT: nothing at all came in: no blob, no name, no temporary file.
clean_store() {
    { [ ! -d "$1/blobs/sha256" ] || [ -z "$(ls -A "$1/blobs/sha256")" ]; } && clean_of "$1" none
}
# clean_of ROOT BLOB: the failing BLOB is not there, nor a name or a temporary file.
clean_of() {
    for _f in "$1"/.tmp-*; do [ ! -e "$_f" ] || return 1; done
    [ ! -e "$1/blobs/sha256/${2#sha256:}" ] && ! grep -q ref.name "$1/index.json" 2>/dev/null
}
# tokens SCOPE: how many tokens the token server issued for SCOPE (as its log writes it).
tokens() { grep -c "^GET /token?service=cvm-registry&scope=$1 200\$" "$TOKEN_LOG"; }

# ---- a host that does not resolve ---------------------------------------------------------
expect "pull from a host that does not resolve" 125 "" "cvmctl: error: pull 'nohost.invalid:5000/x:1': GET https://nohost.invalid:5000/v2/: Couldn't resolve host name
" -- env CVMCTL_ROOT="$TMP/nohost" "$CVMCTL" pull -q nohost.invalid:5000/x:1
check "... leaves the store clean" clean_store "$TMP/nohost"
expect "push to a host that does not resolve" 125 "" "cvmctl: error: push 'nohost.invalid:5000/x:1': GET https://nohost.invalid:5000/v2/: Couldn't resolve host name
" -- "$CVMCTL" push -q hello nohost.invalid:5000/x:1

# ---- a token registry whose token server misbehaves for some repositories ------------------
# Tokens for exp*/ say they live 12 s (the JWT itself lives 300 s), so the client keeps them
# 2 s at most; short/ ones say 5 s, less than the client's 10 s margin.
registry_start token --bad-answer 'not-json:bad/notjson' --bad-answer 'no-token:bad/notoken' \
    --bad-answer 'token-not-string:bad/number' --answer-expires-in '12:^repository:exp' \
    --answer-expires-in '5:^repository:short/(hello:pull|push:pull,push)$'
TR=$REGISTRY
for r in red/hello exp/hello exp2/hello ref/hello short/hello; do
    "$CVMCTL" push -q --creds "$creds" hello "$TR/$r:1" >/dev/null
done
realm=$TOKEN_REALM
expect "a token answer that is not JSON" 125 "" "cvmctl: error: pull '$TR/bad/notjson:1': token server '$realm': answer is not JSON: '[' or '{' expected near '<'
" -- env CVMCTL_ROOT="$TMP/notjson" "$CVMCTL" pull -q --creds "$creds" "$TR/bad/notjson:1"
check "... leaves the store clean" clean_store "$TMP/notjson"
expect "a token answer without token or access_token" 125 "" "cvmctl: error: pull '$TR/bad/notoken:1': token server '$realm': answer has no token
" -- env CVMCTL_ROOT="$TMP/notoken" "$CVMCTL" pull -q --creds "$creds" "$TR/bad/notoken:1"
check "... leaves the store clean" clean_store "$TMP/notoken"
expect "a token answer whose token is not a string" 125 "" "cvmctl: error: pull '$TR/bad/number:1': token server '$realm': answer has no token
" -- env CVMCTL_ROOT="$TMP/number" "$CVMCTL" pull -q --creds "$creds" "$TR/bad/number:1"
check "... leaves the store clean" clean_store "$TMP/number"
expect "a push meeting a token answer that is not JSON" 125 "" "cvmctl: error: push '$TR/bad/notjson:1': blob $layer0: token server '$realm': answer is not JSON: '[' or '{' expected near '<'
" -- "$CVMCTL" push -q --creds "$creds" hello "$TR/bad/notjson:1"

# ---- a plain registry, and a manifest that is not the one asked for -------------------------
registry_start plain
PR=$REGISTRY
"$CVMCTL" push -q hello "$PR/team/hello:1" >/dev/null
"$CVMCTL" push -q hello "$PR/red/hello:1" >/dev/null
proxy_start "$PR" --rewrite "manifests/$digest\$=>manifests/$sig_digest" \
    --fake-digest 'manifests/1$'
expect "pull by digest answered with another manifest" 125 "" "cvmctl: error: pull '$PROXY/team/hello@$digest': manifest '$digest': the registry sent bytes with digest $sig_digest
" -- env CVMCTL_ROOT="$TMP/swapped" "$CVMCTL" pull -q "$PROXY/team/hello@$digest"
check "... leaves the store clean" clean_store "$TMP/swapped"
expect "a Docker-Content-Digest that the bytes do not have" 125 "" "cvmctl: error: pull '$PROXY/team/hello:1': manifest '1': the registry says its digest is 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', but the bytes it sent have digest $digest
" -- env CVMCTL_ROOT="$TMP/header" "$CVMCTL" pull -q "$PROXY/team/hello:1"
check "... leaves the store clean" clean_store "$TMP/header"
check "... both faults fired" test "$(grep -c ' 200 \(rewrite\|fake-digest\)$' "$PROXY_LOG")" = 2

# ---- redirects: blob storage elsewhere gets no credentials ----------------------------------
# The token registry redirects libhello.so to another origin (a proxy in front of the plain
# registry, which holds the same image) and the config to its own origin.
proxy_start "$PR"
STORAGE=$PROXY STORAGE_HEADERS=$PROXY_HEADER_LOG
proxy_start "$TR" --redirect "blobs/$so:http://$STORAGE" --redirect "blobs/$cfg:"
expect "pull with blobs redirected" 0 "$digest
" "" -- env CVMCTL_ROOT="$TMP/redirected" "$CVMCTL" pull -q --creds "$creds" "$PROXY/red/hello:1"
check "... both redirects were answered" test "$(grep -c ' 307 redirect$' "$PROXY_LOG")" = 2
check "... the registry got the token for the blob it redirected" \
    grep -q "^GET /v2/red/hello/blobs/$so Bearer\$" "$PROXY_HEADER_LOG"
check "... the other origin got the blob request without Authorization" \
    test "$(cat "$STORAGE_HEADERS")" = "GET /v2/red/hello/blobs/$so -"
check "... the same-origin redirect kept it" \
    test "$(grep -c "^GET /v2/red/hello/blobs/$cfg Bearer\$" "$PROXY_HEADER_LOG")" = 2
check "... and the blob from elsewhere is whole" \
    test "sha256:$(sha256sum "$TMP/redirected/blobs/sha256/${so#sha256:}" | cut -d' ' -f1)" = "$so"

# ---- tokens that expire or are refused ------------------------------------------------------
# A 2 s wait on the config blob outlives the first token: the signature manifest after it
# needs a fresh one, which then serves the signature's blobs.
proxy_start "$TR" --delay "blobs/$cfg:2000"
expect "pull across a token's expiry" 0 "$digest
" "" -- env CVMCTL_ROOT="$TMP/expired" "$CVMCTL" pull -q --creds "$creds" "$PROXY/exp/hello:1"
check "... two tokens: one before the wait, one after" \
    test "$(tokens repository%3Aexp%2Fhello%3Apull)" = 2
# The wait is on the manifest (its first, anonymous request passes at once): the three blobs
# after it meet the expired token together and renew it once.
proxy_start "$TR" --delay 'manifests/1:0' --delay 'manifests/1:2000'
expect "pull whose parallel blobs meet an expired token" 0 "$digest
" "" -- env CVMCTL_ROOT="$TMP/expired2" "$CVMCTL" pull -q --creds "$creds" "$PROXY/exp2/hello:1"
check "... renew it once" test "$(tokens repository%3Aexp2%2Fhello%3Apull)" = 2
expect "a token whose expires_in is within the margin serves its own request" 0 "$digest
" "" -- env CVMCTL_ROOT="$TMP/short" "$CVMCTL" pull -q --creds "$creds" "$TR/short/hello:1"
expect "... and a push" 0 "$digest
" "" -- "$CVMCTL" push -q --creds "$creds" hello "$TR/short/push:1"

pull_scope=repository%3Aref%2Fhello%3Apull
push_scope=repository%3Aref%2Fhello%3Apull%2Cpush
proxy_start "$TR" --reject-token "manifests/$sig_tag\$" --reject-token "blobs/$so\$"
expect "pull whose cached token is refused at a blob, the next at the signature" 0 "$digest
" "" -- env CVMCTL_ROOT="$TMP/refused" "$CVMCTL" pull -q --creds "$creds" "$PROXY/ref/hello:1"
check "... fetches a fresh token each time" test "$(tokens "$pull_scope")" = 3
check "... after invalid_token challenges" \
    test "$(grep -c ' 401 reject-token$' "$PROXY_LOG")" = 2
before=$(tokens "$pull_scope")
proxy_start "$TR" --reject-token "blobs/$so\$" --reject-token "blobs/$so\$"
expect "a fresh token refused again fails the pull" 125 "" "cvmctl: error: pull '$PROXY/ref/hello:1': blob $so: HTTP 401, registry says UNAUTHORIZED: authentication required
" -- env CVMCTL_ROOT="$TMP/refused2" "$CVMCTL" pull -q --creds "$creds" "$PROXY/ref/hello:1"
check "... after its first token and one fresh one" test "$(tokens "$pull_scope")" = $((before + 2))
check "... and leaves the store clean" clean_of "$TMP/refused2" "$so"
before=$(tokens "$push_scope")
proxy_start "$TR" --reject-token 'manifests/1$'
expect "push whose cached token is refused once" 0 "$digest
" "" -- "$CVMCTL" push -q --creds "$creds" hello "$PROXY/ref/hello:1"
check "... fetches one fresh token" test "$(tokens "$push_scope")" = $((before + 2))
proxy_start "$TR" --reject-token 'manifests/1$' --reject-token 'manifests/1$'
expect "a fresh token refused again fails the push" 125 "" "cvmctl: error: push '$PROXY/ref/hello:1': manifest '1': HTTP 401, registry says UNAUTHORIZED: authentication required
" -- "$CVMCTL" push -q --creds "$creds" hello "$PROXY/ref/hello:1"

# ---- skopeo pushes from our store; we pull, verify and measure ------------------------------
# verified REPOSITORY: what cvmctl verify prints for the pulled image.
verified() {
    echo "verified $PR/$1@$digest: signed by key $keyid; 4 blobs, $checked bytes checked"
}
skopeo copy -q --dest-tls-verify=false "oci:$CVMCTL_ROOT:localhost/hello:latest" \
    "docker://$PR/rev/hello:1" >/dev/null 2>&1
skopeo copy -q --dest-tls-verify=false "oci:$CVMCTL_ROOT:localhost/hello:$sig_tag" \
    "docker://$PR/rev/hello:$sig_tag" >/dev/null 2>&1
export CVMCTL_ROOT="$TMP/reverse"
expect "pull what skopeo copied from our store" 0 "$digest
" "" -- "$CVMCTL" pull -q "$PR/rev/hello:1"
expect "... it verifies with the signature skopeo copied" 0 "$(verified rev/hello)
" "" -- "$CVMCTL" verify --key "$TMP/k.pub" "$PR/rev/hello:1"
expect "... and has the built measurement" 0 "$measurement
" "" -- "$CVMCTL" measure "$PR/rev/hello:1"
skopeo copy -q "oci:$TMP/root:localhost/hello:latest" "dir:$TMP/dir-image" >/dev/null 2>&1
skopeo copy -q "oci:$TMP/root:localhost/hello:$sig_tag" "dir:$TMP/dir-sig" >/dev/null 2>&1
skopeo copy -q --dest-tls-verify=false "dir:$TMP/dir-image" "docker://$PR/rev/dir:1" \
    >/dev/null 2>&1
skopeo copy -q --dest-tls-verify=false "dir:$TMP/dir-sig" "docker://$PR/rev/dir:$sig_tag" \
    >/dev/null 2>&1
expect "pull what skopeo pushed from a dir: copy" 0 "$digest
" "" -- "$CVMCTL" pull -q "$PR/rev/dir:1"
expect "... it verifies" 0 "$(verified rev/dir)
" "" -- "$CVMCTL" verify --key "$TMP/k.pub" "$PR/rev/dir:1"
expect "... and has the built measurement" 0 "$measurement
" "" -- "$CVMCTL" measure "$PR/rev/dir:1"
# ---- credentials stay with their origin; a refused token server ends the request ---------------
export CVMCTL_ROOT="$TMP/root"
odd_start upload-elsewhere
"$CVMCTL" push -q --creds u:pw hello "$ODD/team/hello:1" >/dev/null 2>"$TMP/err"
check "an upload Location on another origin: the push fails" test "$?" = 125
check "... with one line naming the blob and the 400" grep -qx "cvmctl: error: push '$ODD/team/hello:1': blob sha256:[0-9a-f]\{64\}: upload: HTTP 400" "$TMP/err"
check "... and the other origin never saw the credentials" sh -c "grep -q '^PUT /upload/elsewhere -\$' '$ODD_LOG' && ! grep -v ' -\$' '$ODD_LOG'"
odd_start deny-all
expect "a token server that refuses everyone: one line, no loop" 125 "" "cvmctl: error: pull '$ODD/team/hello:1': registry '$ODD' requires a login: run 'cvmctl login $ODD' (token server: HTTP 401)
" -- env CVMCTL_ROOT="$TMP/odd" "$CVMCTL" pull -q "$ODD/team/hello:1"

# A push from one repository of a token registry to another: the token covers no pull of the
# source, so the mount is refused and the blobs are uploaded.
registry_start token
creds=$REGISTRY_USER:$REGISTRY_PASS
"$CVMCTL" push -q --creds "$creds" hello "$REGISTRY/team/a:1" >/dev/null
"$CVMCTL" --root "$TMP/mount" pull -q --creds "$creds" "$REGISTRY/team/a:1" >/dev/null
expect "push between repositories of a token registry" 0 "$digest
" "" -- "$CVMCTL" --root "$TMP/mount" push -q --creds "$creds" "$REGISTRY/team/a:1" "$REGISTRY/team/b:1"
check "... which then has the image" test \
    "sha256:$(skopeo inspect --raw --tls-verify=false --creds "$creds" "docker://$REGISTRY/team/b:1" | sha256sum | cut -d' ' -f1)" = "$digest"
finish
