#!/bin/sh
# Verified signatures (image-format.md §7): run records each signature it verifies as a memo
# named by an HMAC under the user's secret, and takes a memo that holds as verified without
# opening libcrypto; memos made without the secret (a store handed over with its memos), for
# another key or for other signature bytes do not hold; verify records but never consults;
# gc drops memos of payloads it removed.
. "$(dirname "$0")/lib.sh"

export CVMCTL_ROOT="$TMP/root" XDG_STATE_HOME="$TMP/state"
secret="$TMP/state/cvmctl/verify-secret"
"$CVMCTL" keygen --out "$TMP/a" >/dev/null
"$CVMCTL" keygen --out "$TMP/b" >/dev/null
digest=$("$CVMCTL" build -q -t hello "$BUILD/images/hello")
"$CVMCTL" sign --key "$TMP/a.key" hello >/dev/null
hello_out="hello world, let's read cap 'test1'
Hello world
"
memos="$CVMCTL_ROOT/verified"

# The signature's payload digest, its bytes' digest and the key's fingerprint, read from the
# layout and the key file as the spec defines them: "payload sig_sha256 key_fingerprint".
sig_facts() { # IMAGE_TAG KEY.pub
    python3 - "$CVMCTL_ROOT" "$1" "$2" <<'PY'
import base64, hashlib, json, sys
root, tag, pub = sys.argv[1:]
index = json.load(open(f"{root}/index.json"))
image = next(m for m in index["manifests"]
             if m["annotations"]["org.opencontainers.image.ref.name"] == f"localhost/{tag}")
name = f"localhost/{tag.split(':')[0]}:sha256-{image['digest'][7:]}.sig"
sig = next(m for m in index["manifests"]
           if m["annotations"]["org.opencontainers.image.ref.name"] == name)
layer = json.load(open(f"{root}/blobs/sha256/{sig['digest'][7:]}"))["layers"][0]
sig_bytes = base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"])
der = base64.b64decode("".join(l for l in open(pub).read().splitlines() if not l.startswith("-----")))
print(layer["digest"][7:], hashlib.sha256(sig_bytes).hexdigest(), hashlib.sha256(der).hexdigest())
PY
}

# The memo name for those facts under SECRET_FILE: payload hex, '-', HMAC-SHA256 hex.
memo_name() { # SECRET_FILE PAYLOAD SIG_SHA256 KEY_FP
    python3 - "$@" <<'PY'
import hashlib, hmac, sys
secret_file, payload, sig, key = sys.argv[1:]
msg = b"cvmctl verified signature v1\0" + bytes.fromhex(key) + bytes.fromhex(payload) + bytes.fromhex(sig)
print(payload + "-" + hmac.new(open(secret_file, "rb").read(), msg, hashlib.sha256).hexdigest())
PY
}

# traced NAME ARGS...: runs cvmctl with the dynamic linker's file log in $TMP/ld.NAME.*;
# opened_libcrypto NAME: whether that run loaded libcrypto.
traced() {
    tag=$1
    shift
    rm -f "$TMP/ld.$tag".*
    LD_DEBUG=files LD_DEBUG_OUTPUT="$TMP/ld.$tag" "$CVMCTL" "$@"
}
opened_libcrypto() { grep -q 'file=libcrypto' "$TMP/ld.$1".*; }

# ---- the first run verifies and records, the next ones take the memo ---------------------------
expect "the first run verifies the signature" 0 "$hello_out" "" -- \
    traced first run -q --verify "key:$TMP/a.pub" hello
check "... opening libcrypto to do so" opened_libcrypto first
check "... and makes the user's secret: 32 bytes, mode 0600, in a folder of mode 0700" \
    test "$(stat -c '%s %a' "$secret") $(stat -c %a "$TMP/state/cvmctl")" = "32 600 700"
set -- $(sig_facts hello:latest "$TMP/a.pub")
payload=$1 sig_sha=$2 fp_a=$3
memo_a=$(memo_name "$secret" "$payload" "$sig_sha" "$fp_a")
check "... and one empty memo, named by the payload and the HMAC the spec defines" \
    test "$(ls -A "$memos" | tr '\n' ' ')" = "$memo_a " -a ! -s "$memos/$memo_a"

traced second --log-level debug run -q --verify "key:$TMP/a.pub" hello >"$TMP/out" 2>"$TMP/err"
check "the second run succeeds" test "$?" = 0 -a "$(cat "$TMP/out")" = "$(printf '%s' "$hello_out")"
check "... taking the memo" grep -qx "cvmctl: debug: the signature over payload sha256:$payload verified with key sha256:$fp_a before" "$TMP/err"
check "... without opening libcrypto" sh -c "! grep -q 'file=libcrypto' '$TMP/ld.second'.*"
cat >"$CVMCTL_ROOT/policy.json" <<JSON
{"default": [{"type": "reject"}],
 "transports": {"docker": {"localhost/hello": [{"type": "sigstoreSigned", "keyPath": "$TMP/a.pub"}]}}}
JSON
expect "a policy's key takes the same memo" 0 "$hello_out" "" -- traced policy run -q hello
check "... without opening libcrypto" sh -c "! grep -q 'file=libcrypto' '$TMP/ld.policy'.*"
expect "verify checks the signature itself all the same" 0 "" "" -- \
    sh -c "LD_DEBUG=files LD_DEBUG_OUTPUT='$TMP/ld.verify' '$CVMCTL' verify --key '$TMP/a.pub' hello >/dev/null"
check "... opening libcrypto" opened_libcrypto verify

# ---- what does not hold -------------------------------------------------------------------------
set -- $(sig_facts hello:latest "$TMP/b.pub")
fp_b=$3
expect "a memo for key a does not vouch for key b" 125 "" \
    "cvmctl: error: run 'localhost/hello:latest': no signature of image $digest verifies with key sha256:$fp_b (1 signature checked)
" -- "$CVMCTL" run -q --verify "key:$TMP/b.pub" hello

# An image signed by key b, and memos claiming key a signed it: made without the secret (the
# plain hash of what the HMAC covers, or the HMAC under another secret), they do not hold.
"$CVMCTL" build -q -t evil "$BUILD/images/two-pure" >/dev/null
"$CVMCTL" sign --key "$TMP/b.key" evil >/dev/null
set -- $(sig_facts evil:latest "$TMP/a.pub")
evil_payload=$1 evil_sig=$2
head -c 32 /dev/zero >"$TMP/zero-secret"
touch "$memos/$(memo_name "$TMP/zero-secret" "$evil_payload" "$evil_sig" "$fp_a")"
touch "$memos/$evil_payload-$(printf 'cvmctl verified signature v1' | sha256sum | cut -c1-64)"
"$CVMCTL" run -q --verify "key:$TMP/a.pub" evil >"$TMP/out" 2>"$TMP/err"
check "memos made without the secret do not hold: exit 125, nothing ran" \
    test "$?" = 125 -a ! -s "$TMP/out"
check "... the signature was checked with key a and failed" grep -q "^cvmctl: error: run 'localhost/evil:latest': no signature of image sha256:[0-9a-f]\{64\} verifies with key sha256:$fp_a (1 signature checked)\$" "$TMP/err"
# The secret is what a memo stands on: one made with it holds, whatever the signature.
touch "$memos/$(memo_name "$secret" "$evil_payload" "$evil_sig" "$fp_a")"
check "a memo made with the user's secret holds (the secret is the whole of its trust)" \
    sh -c "'$CVMCTL' run -q --verify 'key:$TMP/a.pub' evil >/dev/null 2>&1"
rm "$memos/$(memo_name "$secret" "$evil_payload" "$evil_sig" "$fp_a")"

# A store handed over with its memos: another user's secret makes none of them hold, and the
# signature is verified again; the same with the secret replaced.
cp -r "$CVMCTL_ROOT" "$TMP/copy"
expect "a copied store, another user: its memos do not hold, the signature is verified again" 0 \
    "$hello_out" "" -- env CVMCTL_ROOT="$TMP/copy" XDG_STATE_HOME="$TMP/other-user" sh -c \
    "LD_DEBUG=files LD_DEBUG_OUTPUT='$TMP/ld.copy' '$CVMCTL' run -q --verify 'key:$TMP/a.pub' hello"
check "... opening libcrypto" opened_libcrypto copy
check "... and recording a memo of its own" \
    test -f "$TMP/copy/verified/$(memo_name "$TMP/other-user/cvmctl/verify-secret" "$payload" "$sig_sha" "$fp_a")"
head -c 32 /dev/urandom >"$TMP/other-user/cvmctl/verify-secret"
expect "a replaced secret: the memos do not hold, the signature is verified again" 0 \
    "$hello_out" "" -- env CVMCTL_ROOT="$TMP/copy" XDG_STATE_HOME="$TMP/other-user" sh -c \
    "LD_DEBUG=files LD_DEBUG_OUTPUT='$TMP/ld.newsecret' '$CVMCTL' run -q --verify 'key:$TMP/a.pub' hello"
check "... opening libcrypto" opened_libcrypto newsecret
chmod 644 "$TMP/other-user/cvmctl/verify-secret"
env CVMCTL_ROOT="$TMP/copy" XDG_STATE_HOME="$TMP/other-user" "$CVMCTL" --log-level debug run -q \
    --verify "key:$TMP/a.pub" hello >"$TMP/out" 2>"$TMP/err"
check "a secret others may read is not used: the run verifies the signature" \
    test "$?" = 0 -a "$(cat "$TMP/out")" = "$(printf '%s' "$hello_out")"
check "... and says why at debug level" grep -qx "cvmctl: debug: no memos of verified signatures: secret '$TMP/other-user/cvmctl/verify-secret': others than its owner may read it" "$TMP/err"
rm "$TMP/other-user/cvmctl/verify-secret"
mkfifo -m 600 "$TMP/other-user/cvmctl/verify-secret"
env CVMCTL_ROOT="$TMP/copy" XDG_STATE_HOME="$TMP/other-user" timeout 20 "$CVMCTL" \
    --log-level debug run -q --verify "key:$TMP/a.pub" hello >"$TMP/out" 2>"$TMP/err"
check "a FIFO for a secret does not hang the run: it is not used" \
    test "$?" = 0 -a "$(cat "$TMP/out")" = "$(printf '%s' "$hello_out")"
check "... and the debug log says why" grep -qx "cvmctl: debug: no memos of verified signatures: secret '$TMP/other-user/cvmctl/verify-secret': it is not a file of 32 bytes" "$TMP/err"

# A key whose point is not on the curve is refused as the key it is, not taken for a
# signature that does not verify.
python3 - "$TMP/a.pub" "$TMP/off-curve.pub" <<'PY'
import base64, sys
lines = open(sys.argv[1]).read().splitlines()
der = base64.b64decode("".join(l for l in lines if not l.startswith("-----")))
b64 = base64.b64encode(der[:27] + b"\x01" * 64).decode()
open(sys.argv[2], "w").write("-----BEGIN PUBLIC KEY-----\n" + b64[:64] + "\n" + b64[64:] +
                             "\n-----END PUBLIC KEY-----\n")
PY
expect "a key off the curve: refused, naming the key" 125 "" \
    "cvmctl: error: run 'localhost/hello:latest': key '$TMP/off-curve.pub': cannot decode the 'PUBLIC KEY' PEM block
" -- "$CVMCTL" run -q --verify "key:$TMP/off-curve.pub" hello

# ---- gc -----------------------------------------------------------------------------------------
"$CVMCTL" rmi evil >/dev/null
: >"$memos/.tmp-1-deadbeef"
: >"$memos/stray"
evil_memos=$(ls "$memos" | grep -c "^$evil_payload-")
"$CVMCTL" gc >/dev/null
check "gc removes the memos of a payload it removed, and strays, and keeps the rest" \
    test "$evil_memos" = 2 -a "$(ls -A "$memos" | tr '\n' ' ')" = "$memo_a "

finish
