#!/bin/sh
# Bad input to the image commands: each is refused with one line naming the thing and the
# cause, exit status 125, and the store stays as it was.
. "$(dirname "$0")/lib.sh"

export CVMCTL_ROOT="$TMP/root"
ctx="$BUILD/images/hello"
sha() { sha256sum "$1" | cut -d' ' -f1; }
digest=$("$CVMCTL" build -q -t hello "$ctx")
"$CVMCTL" keygen --out "$TMP/k" >/dev/null
"$CVMCTL" sign --key "$TMP/k.key" hello >/dev/null
"$CVMCTL" save -o "$TMP/hello.tar" hello
snapshot() { (cd "$1" && find . -type f ! -name '.*lock' | sort | xargs sha256sum); }

# References.
expect "uppercase repository" 125 "" "cvmctl: error: reference 'Hello': repository name must be lowercase
" -- "$CVMCTL" build -t Hello "$ctx"
expect "blank in a reference" 125 "" "cvmctl: error: reference 'a b': invalid character ' ' at offset 1
" -- "$CVMCTL" inspect "a b"
expect "control character in a reference is escaped" 125 "" "cvmctl: error: reference 'a\\x1b[31m': invalid character '\\x1b' at offset 1
" -- "$CVMCTL" inspect "$(printf 'a\033[31m')"
expect "short digest" 125 "" "cvmctl: error: reference 'x@sha256:12': digest 'sha256:12': expected 64 lowercase hex digits after 'sha256:'
" -- "$CVMCTL" inspect x@sha256:12
expect "unknown image" 125 "" "cvmctl: error: image 'localhost/nothere:latest' is not in store '$CVMCTL_ROOT'
" -- "$CVMCTL" measure nothere

# Build files.
mkdir "$TMP/ctx"
printf 'cVMs: [\n' >"$TMP/ctx/cvm.yaml"
expect "malformed YAML" 125 "" "cvmctl: error: $TMP/ctx/cvm.yaml:2:1: did not find expected node content
" -- "$CVMCTL" build -t bad "$TMP/ctx"
vm() { printf 'cVMs:\n  - name: a\n    runtime: %s\n    isolation: {base: 0x10000000, size: 0x10000000}\n%b' "$1" "${2:-}" >"$TMP/ctx/cvm.yaml"; }
vm ../../etc/passwd
expect "a runtime outside the context" 125 "" "cvmctl: error: $TMP/ctx/cvm.yaml:3:14: 'runtime' path '../../etc/passwd' must stay inside the folder (relative, no '..')
" -- "$CVMCTL" build -t bad "$TMP/ctx"
vm /etc/passwd
expect "an absolute runtime path" 125 "" "cvmctl: error: $TMP/ctx/cvm.yaml:3:14: 'runtime' path '/etc/passwd' must stay inside the folder (relative, no '..')
" -- "$CVMCTL" build -t bad "$TMP/ctx"
vm libhello.so "rootfs: /\n"
cp "$ctx/libhello.so" "$TMP/ctx/"
expect "a rootfs outside the context" 125 "" "cvmctl: error: $TMP/ctx/cvm.yaml:5:9: 'rootfs' path '/' must stay inside the folder (relative, no '..')
" -- "$CVMCTL" build -t bad "$TMP/ctx"
cp /etc/passwd "$TMP/ctx/x.so"
vm x.so
expect "a runtime that is not ELF" 125 "" "cvmctl: error: measure: 'x.so' is not an ELF file
" -- "$CVMCTL" build -t bad "$TMP/ctx"
vm libhello.so "rootfs: fifo-root\n"
mkdir "$TMP/ctx/fifo-root" && mkfifo "$TMP/ctx/fifo-root/pipe"
expect "a rootfs holding a FIFO" 125 "" "cvmctl: error: rootfs '$TMP/ctx/fifo-root': entry 'pipe': FIFOs are not allowed
" -- "$CVMCTL" build -t bad "$TMP/ctx"
expect "a missing build context" 125 "" "cvmctl: error: build context '$TMP/none': No such file or directory
" -- "$CVMCTL" build -t bad "$TMP/none"

# Keys.
echo garbage >"$TMP/bad.key"
expect "a key file that is not PEM" 125 "" "cvmctl: error: key '$TMP/bad.key': not a PEM file
" -- "$CVMCTL" sign --key "$TMP/bad.key" hello
expect "a private key where a public key belongs" 125 "" "cvmctl: error: key '$TMP/k.key': expected a public key, found a private key
" -- "$CVMCTL" verify --key "$TMP/k.key" hello
openssl genrsa -out "$TMP/rsa.key" 2048 2>/dev/null
expect "an RSA key" 125 "" "cvmctl: error: key '$TMP/rsa.key': unsupported key type RSA (cosign keys are ECDSA P-256)
" -- "$CVMCTL" sign --key "$TMP/rsa.key" hello
expect "verify without key or policy" 125 "" "cvmctl: error: no trust policy: pass --key <file.pub> or --policy <file>, or write '$CVMCTL_ROOT/policy.json'
" -- "$CVMCTL" verify hello
printf '{"default": [{"type": "sigstoreSigned", "keypath": "k.pub"}]}' >"$TMP/p.json"
expect "a policy with an unknown key" 125 "" "cvmctl: error: policy '$TMP/p.json': default[0]: unknown key 'keypath'
" -- "$CVMCTL" verify --policy "$TMP/p.json" hello

# Signatures: an image that is not signed, and a signature moved onto another manifest.
other=$("$CVMCTL" build -q -t other "$BUILD/images/two-pure")
expect "an unsigned image" 125 "" "cvmctl: error: verify 'localhost/other:latest': image $other of 'localhost/other' is not signed: the store has no 'localhost/other:sha256-${other#sha256:}.sig'
" -- "$CVMCTL" verify --key "$TMP/k.pub" other
cp "$CVMCTL_ROOT/index.json" "$TMP/index.saved"
sed "s/localhost\/hello:sha256-${digest#sha256:}.sig/localhost\/other:sha256-${other#sha256:}.sig/" \
    "$TMP/index.saved" >"$CVMCTL_ROOT/index.json"
expect "a signature for another manifest" 125 "" "cvmctl: error: verify 'localhost/other:latest': the signature by key sha256:$(openssl pkey -pubin -in "$TMP/k.pub" -outform DER | sha256sum | cut -d' ' -f1) is for manifest $digest, not $other: the manifest changed after signing
" -- "$CVMCTL" verify --key "$TMP/k.pub" other
cp "$TMP/index.saved" "$CVMCTL_ROOT/index.json"

# A corrupted blob in the store.
layer=$(python3 -c "import json; print(json.load(open('$CVMCTL_ROOT/blobs/sha256/${digest#sha256:}'))['layers'][1]['digest'][7:])")
cp "$CVMCTL_ROOT/blobs/sha256/$layer" "$TMP/layer.saved"
printf 'X' | dd of="$CVMCTL_ROOT/blobs/sha256/$layer" bs=1 seek=100 conv=notrunc 2>/dev/null
bad=$(sha "$CVMCTL_ROOT/blobs/sha256/$layer")
expect "verify finds a corrupted layer" 125 "" "cvmctl: error: verify 'localhost/hello:latest': blob sha256:$layer in store '$CVMCTL_ROOT' is corrupted: its content has digest sha256:$bad
" -- "$CVMCTL" verify --key "$TMP/k.pub" hello
expect "measure finds a corrupted layer" 125 "" "cvmctl: error: layer 'libhello.so': blob sha256:$layer in store '$CVMCTL_ROOT' is corrupted: its content has digest sha256:$bad
" -- "$CVMCTL" measure hello
cp "$TMP/layer.saved" "$CVMCTL_ROOT/blobs/sha256/$layer"

# Hostile and broken tars: load refuses them and the fresh store stays empty.
export CVMCTL_ROOT="$TMP/fresh"
"$CVMCTL" images >/dev/null
snapshot "$CVMCTL_ROOT" >"$TMP/before"
mkdir "$TMP/x" && (cd "$TMP/x" && tar xf "$TMP/hello.tar")
head -c 5000 "$TMP/hello.tar" >"$TMP/trunc.tar"
first=$(tar tf "$TMP/hello.tar" | grep '^blobs/sha256/.' | head -1)
expect "a truncated tar" 125 "" "cvmctl: error: tar '$TMP/trunc.tar': member '$first': truncated
" -- "$CVMCTL" load -i "$TMP/trunc.tar"
(cd "$TMP/x" && tar cf "$TMP/trav.tar" -P oci-layout index.json ../hello.tar)
expect "path traversal" 125 "" "cvmctl: error: tar '$TMP/trav.tar': member '../hello.tar': path leaves the layout
" -- "$CVMCTL" load -i "$TMP/trav.tar"
(cd "$TMP/x" && tar cf "$TMP/abs.tar" -P oci-layout "$TMP/k.pub")
expect "an absolute member" 125 "" "cvmctl: error: tar '$TMP/abs.tar': member '$TMP/k.pub': path is absolute
" -- "$CVMCTL" load -i "$TMP/abs.tar"
(cd "$TMP/x" && ln -s /etc/passwd blobs/sha256/link && tar cf "$TMP/link.tar" oci-layout index.json blobs/sha256/link && rm blobs/sha256/link)
expect "a symbolic link" 125 "" "cvmctl: error: tar '$TMP/link.tar': member 'blobs/sha256/link': is a symbolic link
" -- "$CVMCTL" load -i "$TMP/link.tar"
python3 - "$TMP/huge.tar" <<'PY'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.GNU_FORMAT) as t:
    i = tarfile.TarInfo("blobs/sha256/" + "0" * 64)
    i.size = 1 << 40
    t.addfile(i)
PY
expect "a member declaring 1 TiB" 125 "" "cvmctl: error: tar '$TMP/huge.tar': member 'blobs/sha256/0000000000000000000000000000000000000000000000000000000000000000': size 1099511627776 exceeds the limit of 17179869184 bytes
" -- "$CVMCTL" load -i "$TMP/huge.tar"
cp -r "$TMP/x" "$TMP/y" && printf Z >>"$TMP/y/blobs/sha256/$layer"
(cd "$TMP/y" && tar cf "$TMP/changed.tar" oci-layout index.json blobs)
expect "a blob whose content does not match its name" 125 "" "cvmctl: error: tar '$TMP/changed.tar': blob sha256:$layer: content has digest sha256:$(sha "$TMP/y/blobs/sha256/$layer")
" -- "$CVMCTL" load -i "$TMP/changed.tar"
rm "$TMP/y/blobs/sha256/$layer" && (cd "$TMP/y" && tar cf "$TMP/missing.tar" oci-layout index.json blobs)
expect "a manifest whose layer is missing" 125 "" "cvmctl: error: tar '$TMP/missing.tar': index.json entry 0: blob sha256:$layer is missing
" -- "$CVMCTL" load -i "$TMP/missing.tar"
echo '{"schemaVersion": 2, "manifests": [' >"$TMP/x/index.json" && (cd "$TMP/x" && tar cf "$TMP/json.tar" oci-layout index.json blobs)
expect "malformed index.json" 125 "" "cvmctl: error: tar '$TMP/json.tar': index.json: invalid JSON at line 2 column 0: ']' expected near end of file
" -- "$CVMCTL" load -i "$TMP/json.tar"
gzip -c "$TMP/hello.tar" >"$TMP/hello.tar.gz"
expect "a compressed tar" 125 "" "cvmctl: error: tar '$TMP/hello.tar.gz': gzip-compressed archive: only plain tar is supported, decompress it first
" -- "$CVMCTL" load -i "$TMP/hello.tar.gz"
snapshot "$CVMCTL_ROOT" >"$TMP/after"
check "no refused tar left anything in the store" cmp -s "$TMP/before" "$TMP/after"
check "no staging folder is left behind" [ -z "$(find "$CVMCTL_ROOT" -name '.load-*')" ]

# Leftovers of an interrupted write never carry a digest name, and gc removes them.
printf 'partial' >"$CVMCTL_ROOT/blobs/sha256/.tmp-1-0-abc"
expect "gc removes leftovers of interrupted writes" 0 "removed 1 blob, 7 B
" "" -- "$CVMCTL" gc
finish
