#!/bin/sh
# push and pull against Debian's docker-registry: plain HTTP on loopback, htpasswd Basic auth
# over TLS with the test's CA, and token auth; skopeo reads what cvmctl pushed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../registry/lib.sh"

export CVMCTL_ROOT="$TMP/root"
export REGISTRY_AUTH_FILE="$TMP/auth.json"
"$CVMCTL" build -q -t hello "$BUILD/images/hello" >"$TMP/digest"
digest=$(cat "$TMP/digest")
"$CVMCTL" keygen --out "$TMP/k" >/dev/null
"$CVMCTL" sign --key "$TMP/k.key" hello >/dev/null
measurement=$("$CVMCTL" measure hello)

# ---- plain HTTP on loopback -----------------------------------------------------------------
registry_start plain
dst=$REGISTRY/team/hello:1
"$CVMCTL" push hello "$dst" >"$TMP/push.out" 2>"$TMP/push.err"
check "push prints the manifest digest" test "$(cat "$TMP/push.out")" = "$digest"
# The expected progress lines, from the manifests in the store (sizes as cvmctl prints them):
# a line per blob in the order uploads finish (sorted here), then the manifests in order.
expected_push=$(python3 - "$CVMCTL_ROOT" "$digest" <<'PY'
import json, sys
root, digest = sys.argv[1], sys.argv[2]
def blob(d):
    return json.load(open(f"{root}/blobs/sha256/{d[7:]}"))
def size(n):
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KiB"
def blobs(m):
    out = [f"Copying blob {l['digest'][7:19]} ({l.get('annotations', {}).get('org.opencontainers.image.title', 'layer')}, {size(l['size'])}) done" for l in m["layers"]]
    c = m["config"]
    out.append(f"Copying blob {c['digest'][7:19]} (config, {size(c['size'])}) done")
    return out
index = json.load(open(f"{root}/index.json"))
sig = [e for e in index["manifests"] if e["annotations"]["org.opencontainers.image.ref.name"].endswith(".sig")][0]
print("\n".join(sorted(set(blobs(blob(digest)) + blobs(blob(sig["digest"]))))))
print("Writing manifest 1")
print(f"Writing manifest sha256-{digest[7:]}.sig")
PY
)
push_lines=$( (grep '^Copying' "$TMP/push.err" | LC_ALL=C sort) && grep -v '^Copying' "$TMP/push.err")
check "push reports each blob and the manifests" test "$push_lines" = "$expected_push"
check "skopeo reads the pushed manifest byte for byte" test \
    "sha256:$(skopeo inspect --raw --tls-verify=false "docker://$dst" | sha256sum | cut -d' ' -f1)" = "$digest"
skopeo copy -q --src-tls-verify=false "docker://$dst" "dir:$TMP/skopeo-dir" >/dev/null 2>&1
check "skopeo copy keeps every digest" sh -c "cd '$TMP/skopeo-dir' && for f in \$(ls | grep -v -e manifest.json -e version); do [ \"\$(sha256sum \$f | cut -d' ' -f1)\" = \"\$f\" ] || exit 1; done && [ \"sha256:\$(sha256sum manifest.json | cut -d' ' -f1)\" = '$digest' ]"
# On a terminal each blob in flight has a live line (bytes, rate, ETA) that the finished log
# replaces: played back as a terminal would, the screen ends as the plain log.
script -qec "'$CVMCTL' push hello '$REGISTRY/team/tty:1'" /dev/null >"$TMP/tty.out"
check "a terminal shows a live line per blob" python3 - "$TMP/tty.out" "$CVMCTL_ROOT" "$digest" <<'PY'
import json, re, sys
raw = open(sys.argv[1], encoding="utf-8").read().replace("\r\n", "\n")
root, digest = sys.argv[2], sys.argv[3]
m = json.load(open(f"{root}/blobs/sha256/{digest[7:]}"))
def size(n):
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KiB"
blobs = [(l["digest"][7:19], l["annotations"]["org.opencontainers.image.title"], l["size"]) for l in m["layers"]]
blobs.append((m["config"]["digest"][7:19], "config", m["config"]["size"]))
for h, t, n in blobs:  # every blob starts with a live line at zero bytes
    assert f"Copying blob {h} ({t}) 0 B / {size(n)}, 0 B/s, ETA --\n" in raw, (h, t)
screen = []
for piece in re.split(r"(\x1b\[\d+A\x1b\[J)", raw):
    up = re.fullmatch(r"\x1b\[(\d+)A\x1b\[J", piece)
    if up:
        del screen[len(screen) - int(up.group(1)):]
    else:
        screen.extend(piece.splitlines())
screen = [l for l in screen if l.startswith("Copying")]
assert len(screen) >= len(blobs) and all(l.endswith(" done") for l in screen), screen
PY
expect "push again skips every blob" 0 "$digest
" "" -- "$CVMCTL" push -q hello "$dst"

export CVMCTL_ROOT="$TMP/root2"
expect "pull into a fresh store" 0 "$digest
" "" -- "$CVMCTL" pull -q "$dst"
expect "the pulled image verifies with its pulled signature" 0 "verified $REGISTRY/team/hello@$digest: signed by key sha256:$(openssl pkey -pubin -in "$TMP/k.pub" -outform DER | sha256sum | cut -d' ' -f1); 4 blobs, $(skopeo inspect --raw "oci:$TMP/root:localhost/hello:latest" | python3 -c 'import json,sys; m=json.load(sys.stdin); print(sum(d["size"] for d in [m["config"]] + m["layers"]) + len(json.dumps(m, separators=(",", ":"))))') bytes checked
" "" -- "$CVMCTL" verify --key "$TMP/k.pub" "$dst"
expect "the pulled image has the built measurement" 0 "$measurement
" "" -- "$CVMCTL" measure "$dst"
"$CVMCTL" pull "$dst" >/dev/null 2>"$TMP/pull2.err"
check "pull again fetches nothing" test "$(grep -c 'skipped: already exists' "$TMP/pull2.err")" = 5
expect "pull by digest" 0 "$digest
" "" -- "$CVMCTL" pull -q "$REGISTRY/team/hello@$digest"
expect "an unknown tag" 125 "" "cvmctl: error: pull '$REGISTRY/team/hello:2': manifest '2': HTTP 404, registry says MANIFEST_UNKNOWN: manifest unknown
" -- "$CVMCTL" pull -q "$REGISTRY/team/hello:2"
expect "an unknown repository" 125 "" "cvmctl: error: pull '$REGISTRY/team/nope:1': manifest '1': HTTP 404, registry says MANIFEST_UNKNOWN: manifest unknown
" -- "$CVMCTL" pull -q "$REGISTRY/team/nope:1"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect "a refused connection" 125 "" "cvmctl: error: pull '127.0.0.1:$port/team/hello:1': GET https://127.0.0.1:$port/v2/: Couldn't connect to server
" -- "$CVMCTL" pull -q "127.0.0.1:$port/team/hello:1"
check "a failed pull names nothing" sh -c "! '$CVMCTL' images | grep -q ':$port/'"

# ---- TLS with Basic auth ----------------------------------------------------------------------
registry_start tls
export CVMCTL_ROOT="$TMP/root"
expect "login with a wrong password" 125 "" "cvmctl: error: login '$REGISTRY': registry '$REGISTRY' refused the credentials for user cvm
" -- "$CVMCTL" login --cert-dir "$REGISTRY_CERT_DIR" -u cvm -p wrong "$REGISTRY"
check "a refused login stores nothing" test ! -e "$REGISTRY_AUTH_FILE"
expect "login without the CA fails on the certificate" 125 "" "cvmctl: error: login '$REGISTRY': GET https://$REGISTRY/v2/: SSL certificate problem: unable to get local issuer certificate
" -- "$CVMCTL" login -u cvm -p "$REGISTRY_PASS" "$REGISTRY"
expect "login" 0 "Login Succeeded!
" "" -- sh -c "printf '%s\n' '$REGISTRY_PASS' | '$CVMCTL' login --cert-dir '$REGISTRY_CERT_DIR' -u cvm --password-stdin '$REGISTRY'"
check "the credentials file holds the login, mode 0600" sh -c "[ \"\$(stat -c %a '$REGISTRY_AUTH_FILE')\" = 600 ] && grep -q \"\\\"$REGISTRY\\\"\" '$REGISTRY_AUTH_FILE' && grep -q '\"auth\": \"$(printf 'cvm:%s' "$REGISTRY_PASS" | base64)\"' '$REGISTRY_AUTH_FILE'"
expect "push over TLS with the stored login" 0 "$digest
" "" -- "$CVMCTL" push -q --cert-dir "$REGISTRY_CERT_DIR" hello "$REGISTRY/team/hello:1"
expect "pull over TLS into a fresh store" 0 "$digest
" "" -- env CVMCTL_ROOT="$TMP/root3" "$CVMCTL" pull -q --cert-dir "$REGISTRY_CERT_DIR" "$REGISTRY/team/hello:1"
expect "--tls-verify=false accepts the unknown CA" 0 "$digest
" "" -- env CVMCTL_ROOT="$TMP/root4" "$CVMCTL" pull -q --tls-verify=false "$REGISTRY/team/hello:1"
expect "logout" 0 "Removed login credentials for $REGISTRY
" "" -- "$CVMCTL" logout "$REGISTRY"
expect "pull without a login" 125 "" "cvmctl: error: pull '$REGISTRY/team/hello:1': registry '$REGISTRY' requires a login: run 'cvmctl login $REGISTRY'
" -- env CVMCTL_ROOT="$TMP/root5" "$CVMCTL" pull -q --cert-dir "$REGISTRY_CERT_DIR" "$REGISTRY/team/hello:1"
expect "logout again" 125 "" "cvmctl: error: logout '$REGISTRY': not logged in (no credentials in '$REGISTRY_AUTH_FILE')
" -- "$CVMCTL" logout "$REGISTRY"

# ---- token auth -------------------------------------------------------------------------------
registry_start token
expect "login to a token registry" 0 "Login Succeeded!
" "" -- "$CVMCTL" login -u cvm -p "$REGISTRY_PASS" "$REGISTRY"
expect "push with tokens" 0 "$digest
" "" -- "$CVMCTL" push -q hello "$REGISTRY/team/hello:1"
check "one token served the whole push" test "$(grep -c '^GET /token?.*scope=repository%3Ateam%2Fhello%3Apull%2Cpush 200' "$TOKEN_LOG")" = 1
expect "pull with tokens" 0 "$digest
" "" -- env CVMCTL_ROOT="$TMP/root6" "$CVMCTL" pull -q "$REGISTRY/team/hello:1"
expect "a wrong password at the token server" 125 "" "cvmctl: error: pull '$REGISTRY/team/hello:1': registry '$REGISTRY' refused the credentials from --creds for user 'cvm' (token server: HTTP 401)
" -- env CVMCTL_ROOT="$TMP/root7" "$CVMCTL" pull -q --creds cvm:wrong "$REGISTRY/team/hello:1"
finish
