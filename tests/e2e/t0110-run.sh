#!/bin/sh
# cvmctl run: build -> sign -> run prints the cVMs' output and the measurement `measure`
# gives; arguments and environment reach the application; the signature, the blobs and the
# measurement of what deploy placed in memory are checked before anything starts, and every
# refusal is one line with exit 125.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../registry/lib.sh"

export CVMCTL_ROOT="$TMP/root"
"$CVMCTL" keygen --out "$TMP/k" >/dev/null
"$CVMCTL" keygen --out "$TMP/other" >/dev/null
digest=$("$CVMCTL" build -q -t hello "$BUILD/images/hello")
"$CVMCTL" sign --key "$TMP/k.key" hello >/dev/null
measurement=$("$CVMCTL" measure hello)
backend="cvmctl: backend 'inproc': cVMs are threads of this process; windows are not enforced"
hello_out="hello world, let's read cap 'test1'
Hello world
"

# ---- running as built -------------------------------------------------------------------------
expect "run prints the output and the measurement measure gives" 0 "$hello_out" "$backend
$measurement
" -- "$CVMCTL" run --verify "key:$TMP/k.pub" hello
expect "--quiet leaves only the cVMs' output" 0 "$hello_out" "" -- \
    "$CVMCTL" run -q --verify "key:$TMP/k.pub" hello
cat >"$CVMCTL_ROOT/policy.json" <<JSON
{"default": [{"type": "reject"}],
 "transports": {"docker": {"localhost/hello": [{"type": "sigstoreSigned", "keyPath": "$TMP/k.pub"}]}}}
JSON
expect "the trust policy in the root is the default" 0 "$hello_out" "" -- "$CVMCTL" run -q hello
expect "--verify=none runs, and says so" 0 "$hello_out" "cvmctl: warn: --verify=none: running 'localhost/hello:latest' without checking its signature
" -- "$CVMCTL" run -q --verify=none hello

# ---- arguments and environment go to the application ------------------------------------------
mkdir "$TMP/args"
cp "$RT/libargs.so" "$TMP/args/"
yaml "$TMP/args/cvm.yaml" app libargs.so 0x20000000 "args: one two" "env: [A=1, B=2]"
"$CVMCTL" build -q -t args "$TMP/args" >/dev/null
"$CVMCTL" sign --key "$TMP/k.key" args >/dev/null
args_measurement=$("$CVMCTL" measure args)
expect "the image's arguments and environment" 2 "argv[0]=one
argv[1]=two
env[0]=A=1
env[1]=B=2
id=1 name=app heap-inside=1
heap[1]=0
" "$backend
$args_measurement
" -- "$CVMCTL" run --verify "key:$TMP/k.pub" args
printf '# a comment\nC=3\n\nA=from-file\n' >"$TMP/env"
B=from-host "$CVMCTL" run -q --verify "key:$TMP/k.pub" -e B --env-file "$TMP/env" -e D=4 \
    -e UNSET_HERE args -- x "y z" >"$TMP/out" 2>"$TMP/err"
check "arguments after the image replace the image's" test "$?" = 2 -a "$(sed -n '1,2p' "$TMP/out")" = "argv[0]=x
argv[1]=y z"
check "-e and --env-file replace or add entries, in order" test "$(grep '^env' "$TMP/out")" = "env[0]=A=from-file
env[1]=B=from-host
env[2]=C=3
env[3]=D=4"
"$CVMCTL" run --verify "key:$TMP/k.pub" args extra >/dev/null 2>"$TMP/err"
check "a run with other arguments measures otherwise" sh -c "grep -q '^measurement: sha256:' '$TMP/err' && ! grep -qx '$args_measurement' '$TMP/err'"

# ---- heap modes ---------------------------------------------------------------------------------
expect "--heap clean-room on a clean-room image runs as built" 2 "argv[0]=one
argv[1]=two
env[0]=A=1
env[1]=B=2
id=1 name=app heap-inside=1
heap[1]=0
" "$backend
$args_measurement
" -- "$CVMCTL" run --verify "key:$TMP/k.pub" --heap clean-room args
"$CVMCTL" run --verify "key:$TMP/k.pub" --heap shared args >"$TMP/out" 2>"$TMP/err"
check "--heap shared: the heap is a shared region outside the window" test "$?" = 2 -a "$(grep '^id=' "$TMP/out")" = "id=1 name=app heap-inside=0"
check "... and the run measures otherwise than the image" sh -c "grep -q '^measurement: sha256:' '$TMP/err' && ! grep -qx '$args_measurement' '$TMP/err'"
expect "--heap with a bad value is misuse" 125 "" "cvmctl: --heap takes clean-room or shared, not 'private'
see 'cvmctl run --help'
" -- "$CVMCTL" run --heap private args

# ---- exit statuses -----------------------------------------------------------------------------
mkdir "$TMP/crash"
cp "$RT/libcrash.so" "$TMP/crash/"
yaml "$TMP/crash/cvm.yaml" boom libcrash.so 0x10000000
"$CVMCTL" build -q -t crash "$TMP/crash" >/dev/null
off=$(nm "$RT/libcrash.so" | awk '$3 == "crash_now" { print $1 }')
expect "a cVM that faults: 128+SIGSEGV and one line" 139 "about to fault
" "cvmctl: error: cVM 'boom' faulted: SIGSEGV at address 0xdead0, ip $(printf '0x%x' $((0x10000000 + 0x$off)))
" -- "$CVMCTL" --log-level error run -q --verify=none crash

# ---- refusals ----------------------------------------------------------------------------------
expect "an image the store lacks, --pull=never" 125 "" "cvmctl: error: run 'localhost/nope:latest': --pull=never: image 'localhost/nope:latest' is not in store '$CVMCTL_ROOT'
" -- "$CVMCTL" run --pull=never nope
"$CVMCTL" build -q -t unsigned "$BUILD/images/hello" >/dev/null
expect "another key's signature" 125 "" "cvmctl: error: run 'localhost/hello:latest': no signature of image $digest verifies with key sha256:$(openssl pkey -pubin -in "$TMP/other.pub" -outform DER | sha256sum | cut -d' ' -f1) (1 signature checked)
" -- "$CVMCTL" run --verify "key:$TMP/other.pub" hello
expect "an image the policy rejects" 125 "" "cvmctl: error: run 'localhost/unsigned:latest': the trust policy rejects 'localhost/unsigned' (scope 'default')
" -- "$CVMCTL" run unsigned
expect "a key file that is not there" 125 "" "cvmctl: error: cannot open '$TMP/none.pub': No such file or directory
" -- "$CVMCTL" run --verify "key:$TMP/none.pub" hello
expect "--verify with a bad value is misuse" 125 "" "cvmctl: --verify takes policy, key:<file.pub> or none, not 'maybe'
see 'cvmctl run --help'
" -- "$CVMCTL" run --verify maybe hello
expect "--pull with a bad value is misuse" 125 "" "cvmctl: --pull takes missing, always or never, not 'sometimes'
see 'cvmctl run --help'
" -- "$CVMCTL" run --pull sometimes hello
expect "an -e without a name is misuse" 125 "" "cvmctl: -e environment entry '=x': no variable name
see 'cvmctl run --help'
" -- "$CVMCTL" run -e =x hello
expect "no image is misuse" 125 "" "cvmctl: no image given
see 'cvmctl run --help'
" -- "$CVMCTL" run -q

# A tampered runtime layer in the store: the blob's digest says so, nothing runs.
cp -r "$CVMCTL_ROOT" "$TMP/tampered"
so=$(python3 -c "
import json
m = json.load(open('$TMP/tampered/blobs/sha256/${digest#sha256:}'))
print([l for l in m['layers'] if l['annotations']['org.opencontainers.image.title'] == 'libhello.so'][0]['digest'])")
chmod u+w "$TMP/tampered/blobs/sha256/${so#sha256:}"
printf 'X' | dd of="$TMP/tampered/blobs/sha256/${so#sha256:}" bs=1 seek=200 conv=notrunc 2>/dev/null
CVMCTL_ROOT="$TMP/tampered" "$CVMCTL" run --verify "key:$TMP/k.pub" hello >"$TMP/out" 2>"$TMP/err"
check "a tampered layer: exit 125, nothing ran" test "$?" = 125 -a ! -s "$TMP/out"
check "... one line naming the blob and the digest its bytes have" grep -qx "cvmctl: error: run 'localhost/hello:latest': blob $so in store '$TMP/tampered' is corrupted: its content has digest sha256:[0-9a-f]\{64\}" "$TMP/err"

# The layer cache: one entry per compressed layer, named by its digest, filled by the first
# run; an entry changed in place is caught by the measurement, nothing runs.
check "run filled the layer cache with the runtime" test -f "$CVMCTL_ROOT/cache/sha256/${so#sha256:}"
check "measure leaves the cache alone" sh -c "rm -rf '$TMP/m-root' && cp -r '$CVMCTL_ROOT' '$TMP/m-root' && rm -rf '$TMP/m-root/cache' && CVMCTL_ROOT='$TMP/m-root' '$CVMCTL' measure hello >/dev/null && test ! -e '$TMP/m-root/cache'"
cp -r "$CVMCTL_ROOT" "$TMP/stale"
entry="$TMP/stale/cache/sha256/${so#sha256:}"
chmod u+w "$entry"
printf 'X' | dd of="$entry" bs=1 seek=300 conv=notrunc 2>/dev/null
CVMCTL_ROOT="$TMP/stale" "$CVMCTL" run --verify "key:$TMP/k.pub" hello >"$TMP/out" 2>"$TMP/err"
check "a cache entry changed in place: exit 125, nothing ran" test "$?" = 125 -a ! -s "$TMP/out"
check "... the runtime measures otherwise than the config records" grep -qx "cvmctl: error: run 'localhost/hello:latest': cVM 'hello': its runtime: the image measures sha256:[0-9a-f]\{64\}, its config records $(python3 -c "
import json
m = json.load(open('$CVMCTL_ROOT/blobs/sha256/${digest#sha256:}'))
c = json.load(open('$CVMCTL_ROOT/blobs/sha256/' + m['config']['digest'][7:]))
print(c['cvm']['cvms'][0]['runtime_measurement'])")" "$TMP/err"
: >"$TMP/stale/cache/.tmp-1-2-0123456789abcdef"
rm "$entry"
expect "a leftover temporary file is ignored; a missing entry is filled again" 0 "$hello_out" "" -- \
    env CVMCTL_ROOT="$TMP/stale" "$CVMCTL" run -q --verify "key:$TMP/k.pub" hello
# In a new pid namespace cvmctl is pid 1 on every run: a fill that crashed there left the
# temporary name the next run would pick first.
rm "$entry"
short=$(printf '%s' "${so#sha256:}" | cut -c1-16)
: >"$TMP/stale/cache/.tmp-1-0-$short"
: >"$TMP/stale/cache/.tmp-1-1-$short"
expect "a leftover temporary file with this very name is skipped" 0 "$hello_out" "" -- \
    env CVMCTL_ROOT="$TMP/stale" unshare -pf --mount-proc "$CVMCTL" run -q --verify "key:$TMP/k.pub" hello

# A config whose recorded measurement was edited, signed all the same: the loader's
# measurement differs, nothing runs. edit_config NAME FIELD: hello's config with FIELD
# ("measurement", or the first cVM's "runtime_measurement") zeroed, stored as NAME; prints the
# new manifest's digest.
edit_config() {
    python3 - "$CVMCTL_ROOT" "$digest" "$1" "$2" <<'PY'
import hashlib, json, os, sys
root, digest, name, field = sys.argv[1:]
def blob(d):
    return f"{root}/blobs/sha256/{d[7:]}"
def put(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(blob(d), "wb") as f:
        f.write(data)
    return d, len(data)
m = json.load(open(blob(digest)))
c = json.load(open(blob(m["config"]["digest"])))
(c["cvm"] if field == "measurement" else c["cvm"]["cvms"][0])[field] = "sha256:" + "0" * 64
m["config"]["digest"], m["config"]["size"] = put(json.dumps(c, separators=(",", ":")).encode())
d, size = put(json.dumps(m, separators=(",", ":")).encode())
index = json.load(open(f"{root}/index.json"))
index["manifests"].append({"mediaType": m["mediaType"], "digest": d, "size": size,
                           "annotations": {"org.opencontainers.image.ref.name": f"localhost/{name}:latest"}})
with open(f"{root}/index.json", "w") as f:
    json.dump(index, f)
print(d)
PY
}
edited=$(edit_config edited measurement)
"$CVMCTL" sign --key "$TMP/k.key" edited >/dev/null
expect "a config whose measurement was edited" 125 "" "cvmctl: error: run 'localhost/edited:latest': deployment: the image measures ${measurement#measurement: }, its config records sha256:0000000000000000000000000000000000000000000000000000000000000000
" -- "$CVMCTL" run --verify "key:$TMP/k.pub" edited
check "the edited image is the one signed" test -n "$edited"
edit_config runtime-edited runtime_measurement >/dev/null
"$CVMCTL" sign --key "$TMP/k.key" runtime-edited >/dev/null
"$CVMCTL" run --verify "key:$TMP/k.pub" runtime-edited >"$TMP/out" 2>"$TMP/err"
check "a config whose runtime measurement was edited: exit 125, nothing ran" \
    test "$?" = 125 -a ! -s "$TMP/out"
check "... naming the runtime and both values" grep -qx "cvmctl: error: run 'localhost/runtime-edited:latest': cVM 'hello': its runtime: the image measures sha256:[0-9a-f]\{64\}, its config records sha256:0\{64\}" "$TMP/err"

# ---- attestation ------------------------------------------------------------------------------
nonce=00112233445566778899aabbccddeeff
expect "--attest-out without a host key" 125 "" "cvmctl: error: run 'localhost/hello:latest': attest: no host key '$CVMCTL_ROOT/attest/host.key': run 'cvmctl attest keygen'
" -- "$CVMCTL" run -q --verify "key:$TMP/k.pub" --attest-nonce $nonce --attest-out "$TMP/report" hello
"$CVMCTL" attest keygen >/dev/null
expect "run writes a report before the cVMs start" 0 "$hello_out" "" -- \
    "$CVMCTL" run -q --verify "key:$TMP/k.pub" --attest-nonce $nonce --attest-out "$TMP/report" hello
expect "the report verifies with the host key, the nonce and the measurement" 0 "" "" -- sh -c \
    "'$CVMCTL' attest verify --key '$CVMCTL_ROOT/attest/host.pub' --nonce $nonce --expect '${measurement#measurement: }' '$TMP/report' >/dev/null"
expect "the report names the image, its digest and each cVM's measurement" 0 "localhost/hello:latest@$digest $digest ${measurement#measurement: } hello $nonce inproc False
" "" -- sh -c "'$CVMCTL' attest verify --key '$CVMCTL_ROOT/attest/host.pub' --nonce $nonce --expect '${measurement#measurement: }' --format json '$TMP/report' | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(r[\"image\"], r[\"image_digest\"], r[\"deployment\"], r[\"cvms\"][0][\"name\"], r[\"nonce\"], r[\"backend\"], r[\"isolating\"])'"
python3 - "$TMP/report" "$TMP/changed" <<'PY'
import base64, json, sys
env = json.load(open(sys.argv[1]))
payload = bytearray(base64.b64decode(env["payload"]))
payload[payload.index(b'"hello"') + 1] ^= 0x20  # "hello" -> "Hello"
env["payload"] = base64.b64encode(bytes(payload)).decode()
open(sys.argv[2], "w").write(json.dumps(env, separators=(",", ":")) + "\n")
PY
"$CVMCTL" attest verify --key "$CVMCTL_ROOT/attest/host.pub" --nonce $nonce \
    --expect "${measurement#measurement: }" "$TMP/changed" >/dev/null 2>"$TMP/err"
check "a report with a changed byte fails verification: exit 1" test "$?" = 1
check "... saying the signature does not verify" grep -q "^cvmctl: error: report '$TMP/changed': signature does not verify with key sha256:" "$TMP/err"
expect "--attest-nonce without --attest-out is misuse" 125 "" "cvmctl: --attest-nonce and --attest-out go together
see 'cvmctl run --help'
" -- "$CVMCTL" run --attest-nonce $nonce hello

# A window already taken: with address randomization off this process's own image sits at
# 0x555555554000, inside the window the image declares. Refused at deploy, nothing runs.
mkdir "$TMP/taken"
cp "$BUILD/images/hello/libhello.so" "$TMP/taken/"
printf 'cVMs:\n  - name: app\n    runtime: libhello.so\n    isolation: {base: 0x555555000000, size: 0x1000000}\n' >"$TMP/taken/cvm.yaml"
"$CVMCTL" build -q -t taken "$TMP/taken" >/dev/null
setarch -R "$CVMCTL" --log-level error run -q --verify=none taken >"$TMP/out" 2>"$TMP/err"
check "a window already taken: exit 125, nothing ran" test "$?" = 125 -a ! -s "$TMP/out"
check "... naming the window and the mapping in its way" grep -qx "cvmctl: error: run 'localhost/taken:latest': deploy cVM 'app': window \[0x555555000000, 0x555556000000) of cVM 'app' overlaps mapping \[0x555555554000, 0x[0-9a-f]*) of this process" "$TMP/err"

# A manifest without the runtime layer its deployment names.
python3 - "$CVMCTL_ROOT" "$digest" <<'PY'
import hashlib, json, sys
root, digest = sys.argv[1], sys.argv[2]
def blob(d):
    return f"{root}/blobs/sha256/{d[7:]}"
m = json.load(open(blob(digest)))
m["layers"] = [l for l in m["layers"] if l["annotations"]["org.opencontainers.image.title"] != "libhello.so"]
data = json.dumps(m, separators=(",", ":")).encode()
d = "sha256:" + hashlib.sha256(data).hexdigest()
open(blob(d), "wb").write(data)
index = json.load(open(f"{root}/index.json"))
index["manifests"].append({"mediaType": m["mediaType"], "digest": d, "size": len(data),
                           "annotations": {"org.opencontainers.image.ref.name": "localhost/noruntime:latest"}})
json.dump(index, open(f"{root}/index.json", "w"))
PY
expect "a manifest missing the runtime layer" 125 "" "cvmctl: error: run 'localhost/noruntime:latest': the image has no layer 'libhello.so'
" -- "$CVMCTL" --log-level error run -q --verify=none noruntime

# ---- pulled when missing -----------------------------------------------------------------------
registry_start plain
"$CVMCTL" push -q hello "$REGISTRY/team/hello:1" >/dev/null
expect "run pulls an image the store lacks, with its signature" 0 "$hello_out" "" -- \
    env CVMCTL_ROOT="$TMP/fresh" "$CVMCTL" run -q --verify "key:$TMP/k.pub" "$REGISTRY/team/hello:1"
expect "... and the next run finds it" 0 "$hello_out" "" -- \
    env CVMCTL_ROOT="$TMP/fresh" "$CVMCTL" run -q --pull=never --verify "key:$TMP/k.pub" "$REGISTRY/team/hello:1"
expect "a missing tag on the registry" 125 "" "cvmctl: error: run '$REGISTRY/team/hello:2': pull: manifest '2': HTTP 404, registry says MANIFEST_UNKNOWN: manifest unknown
" -- env CVMCTL_ROOT="$TMP/fresh" "$CVMCTL" run -q "$REGISTRY/team/hello:2"
finish
