#!/bin/sh
# Image indexes in the store's views and in pulls: inspect lists each platform and counts every
# distinct blob once, as images does; the images an index lists resolve as
# <repository>@sha256:<hex> after rmi of their own names and after load; pull --platform without
# a variant prefers the entry without one, then the architecture's default variant; a pulled
# image verifies only with a signature of that image, not of the index.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../registry/lib.sh"

export CVMCTL_ROOT="$TMP/root"
SRC=$(dirname "$0")/../..
ctx="$BUILD/images/hello"
# oracle ROOT DIGEST: "<bytes> <blobs>" of the distinct blobs the manifest or index reaches,
# read from the layout itself.
oracle() {
    python3 - "$1" "$2" <<'PY'
import json, os, sys
root = sys.argv[1]
seen = {}
def walk(d, size):
    if d in seen:
        return
    seen[d] = size
    m = json.load(open(f"{root}/blobs/sha256/{d[7:]}"))
    for e in m.get("manifests", []):
        walk(e["digest"], e["size"])
    for e in ([m["config"]] if "config" in m else []) + m.get("layers", []):
        seen.setdefault(e["digest"], e["size"])
walk(sys.argv[2], os.path.getsize(f"{root}/blobs/sha256/{sys.argv[2][7:]}"))
print(sum(seen.values()), len(seen))
PY
}
# human BYTES: a size as cvmctl prints it.
human() {
    python3 -c "import sys; n = int(sys.argv[1]); print(f'{n} B' if n < 1024 else f'{n / 1024:.1f} KiB')" "$1"
}
bsize() { stat -c %s "$CVMCTL_ROOT/blobs/sha256/${1#sha256:}"; }
row() { printf '%-40s %-20s %.19s %10s  %s\n' "$@"; }
header=$(printf '%-40s %-20s %-19s %10s  %s' REPOSITORY TAG DIGEST SIZE SIGNED)

# ---- an aarch64 runtime, cross-built as t0204 does -----------------------------------------
arm="$TMP/arm64"
mkdir "$arm"
cp "$ctx/cvm.yaml" "$arm/"
if ! clang --target=aarch64-linux-gnu -mno-outline-atomics -std=gnu11 -O2 -ffreestanding \
    -fno-stack-protector -fPIC \
    -fvisibility=hidden -fno-asynchronous-unwind-tables -I"$SRC/pkg/monitor/abi" \
    -I"$SRC/runtimes/baremetal" -shared -nostdlib -fuse-ld=lld -Wl,-Bsymbolic -Wl,-e,_start \
    -Wl,-z,noexecstack -Wl,--no-undefined -Wl,--hash-style=gnu -o "$arm/libhello.so" \
    "$SRC/images/hello/hello.c" "$SRC"/runtimes/baremetal/*.c 2>"$TMP/cc.err"; then
    echo "Bail out! clang cannot cross-build an aarch64 runtime: $(head -n 1 "$TMP/cc.err")"
    exit 1
fi

amd=$("$CVMCTL" build -q -t hello:amd64 --platform linux/amd64 "$ctx")
arm64=$("$CVMCTL" build -q -t hello:arm64 --platform linux/arm64/v8 "$arm")
arm_measurement=$("$CVMCTL" measure hello:arm64)
index=$("$CVMCTL" manifest create multi hello:amd64 hello:arm64)
read -r index_bytes index_blobs <<EOF
$(oracle "$CVMCTL_ROOT" "$index")
EOF
read -r amd_bytes _ <<EOF
$(oracle "$CVMCTL_ROOT" "$amd")
EOF
read -r arm_bytes arm_blobs <<EOF
$(oracle "$CVMCTL_ROOT" "$arm64")
EOF
# Both images carry the same deployment layer (the same cvm.yaml): the index reaches 8 blobs,
# not 9, and counts that layer once.
check "the index reaches 8 distinct blobs" [ "$index_blobs" = 8 ]
check "the index's size is less than its parts" \
    [ "$index_bytes" -lt "$(($(bsize "$index") + amd_bytes + arm_bytes))" ]

# ---- inspect and images of an index ----------------------------------------------------------
expect "inspect lists each platform with its digest and counts each blob once" 0 "Name:          localhost/multi:latest
Digest:        $index
Media type:    application/vnd.oci.image.index.v1+json
Artifact type: (none)
Manifests:
  linux/amd64          $amd $(bsize "$amd") B application/vnd.oci.image.manifest.v1+json
  linux/arm64/v8       $arm64 $(bsize "$arm64") B application/vnd.oci.image.manifest.v1+json
Size:          $(human "$index_bytes")
Signatures:    0
" "" -- "$CVMCTL" inspect multi
expect "inspect --format json: the index's size and its platforms" 0 "localhost/multi:latest $index $index_bytes None True
linux/amd64 $amd $(bsize "$amd")
linux/arm64/v8 $arm64 $(bsize "$arm64")
" "" -- sh -c "'$CVMCTL' inspect --format json multi | python3 -c '
import json, sys
j = json.load(sys.stdin)
raw = json.load(open(\"$CVMCTL_ROOT/blobs/sha256/${index#sha256:}\"))
print(j[\"name\"], j[\"digest\"], j[\"size\"], j[\"config\"], j[\"manifest\"] == raw and \"measurement\" not in j)
for p in j[\"platforms\"]:
    print(p[\"platform\"], p[\"digest\"], p[\"size\"])'"
expect "inspect --format json of an image: its size and platform" 0 "$amd_bytes linux/amd64 False
" "" -- sh -c "'$CVMCTL' inspect --format json hello:amd64 | python3 -c '
import json, sys
j = json.load(sys.stdin)
print(j[\"size\"], j[\"platform\"], \"platforms\" in j)'"
expect "images shows the index's distinct blobs" 0 "$header
$(row localhost/hello amd64 "$amd" "$(human "$amd_bytes")" no)
$(row localhost/hello arm64 "$arm64" "$(human "$arm_bytes")" no)
$(row localhost/multi latest "$index" "$(human "$index_bytes")" no)
" "" -- "$CVMCTL" images
expect "images --format json: sizes in bytes" 0 "localhost/hello:amd64 $amd_bytes
localhost/hello:arm64 $arm_bytes
localhost/multi:latest $index_bytes
" "" -- sh -c "'$CVMCTL' images --format json | python3 -c '
import json, sys
for i in json.load(sys.stdin):
    print(i[\"name\"], i[\"size\"])'"

# An image whose two layers are the same blob (one runtime under two names) counts it once.
mkdir "$TMP/twin"
cp "$ctx/libhello.so" "$TMP/twin/libhello.so"
cp "$ctx/libhello.so" "$TMP/twin/libcopy.so"
yaml "$TMP/twin/cvm.yaml" a libhello.so 0x20000000
printf '  - name: b\n    runtime: libcopy.so\n    isolation: {base: 0x30000000, size: 0x10000000}\n' \
    >>"$TMP/twin/cvm.yaml"
twin=$("$CVMCTL" build -q -t twin "$TMP/twin")
read -r twin_bytes twin_blobs <<EOF
$(oracle "$CVMCTL_ROOT" "$twin")
EOF
check "the twin image's two runtime layers are one blob" [ "$twin_blobs" = 4 ]
expect "inspect counts a blob two layers share once" 0 "Size:          $(human "$twin_bytes")
" "" -- sh -c "'$CVMCTL' inspect twin | grep '^Size:'"
expect "images counts it once too" 0 "$twin_bytes
" "" -- sh -c "'$CVMCTL' images --format json | python3 -c '
import json, sys
print([i[\"size\"] for i in json.load(sys.stdin) if i[\"name\"] == \"localhost/twin:latest\"][0])'"
"$CVMCTL" rmi twin >/dev/null

# ---- the images an index lists, by <repository>@<digest> --------------------------------------
"$CVMCTL" manifest create other:x hello:arm64 >/dev/null
index_amd_only=$("$CVMCTL" manifest create multi:amd-only hello:amd64)
expect "rmi of the arm64 image's own name" 0 "Untagged: localhost/hello:arm64
" "" -- "$CVMCTL" rmi hello:arm64
"$CVMCTL" gc >/dev/null
expect "inspect <list>@<child> shows the image the index lists" 0 "Name:          localhost/multi@$arm64
Digest:        $arm64
Media type:    application/vnd.oci.image.manifest.v1+json
Artifact type: application/vnd.cvm.image.v1
Platform:      linux/arm64/v8
" "" -- sh -c "'$CVMCTL' inspect 'multi@$arm64' | head -n 5"
expect "its size is the image's" 0 "Size:          $(human "$arm_bytes")
" "" -- sh -c "'$CVMCTL' inspect 'multi@$arm64' | grep '^Size:'"
expect "measure <list>@<child>" 0 "$arm_measurement
" "" -- "$CVMCTL" measure "multi@$arm64"
expect "manifest inspect <list>@<child> prints the image manifest" 0 \
    "$(cat "$CVMCTL_ROOT/blobs/sha256/${arm64#sha256:}")" "" -- "$CVMCTL" manifest inspect "multi@$arm64"
expect "<list>:<tag>@<child> resolves through that tag's index" 0 "Digest:        $arm64
" "" -- sh -c "'$CVMCTL' inspect 'multi:latest@$arm64' | grep '^Digest:'"
expect "any index named in the repository will do" 0 "Name:          localhost/other@$arm64
" "" -- sh -c "'$CVMCTL' inspect 'other@$arm64' | head -n 1"
expect "a repository whose indexes do not list the digest" 125 "" "cvmctl: error: image 'localhost/hello@$arm64' is not in store '$CVMCTL_ROOT'
" -- "$CVMCTL" inspect "hello@$arm64"
zero=sha256:0000000000000000000000000000000000000000000000000000000000000000
expect "a digest the index does not list" 125 "" "cvmctl: error: image 'localhost/multi@$zero' is not in store '$CVMCTL_ROOT'
" -- "$CVMCTL" inspect "multi@$zero"
expect "a tag whose index does not list the digest" 125 "" "cvmctl: error: image 'localhost/multi:amd-only@$arm64': the store's 'localhost/multi:amd-only' is $index_amd_only
" -- "$CVMCTL" inspect "multi:amd-only@$arm64"
expect "a tag the store lacks, with the digest of an image its repository's index lists" 125 "" "cvmctl: error: image 'localhost/multi:nope@$arm64' is not in store '$CVMCTL_ROOT'
" -- "$CVMCTL" inspect "multi:nope@$arm64"
expect "tag <list>@<child> names the image again" 0 "" "" -- "$CVMCTL" tag "multi@$arm64" hello:arm64-again
expect "the new name is the image" 0 "localhost/hello:arm64-again $arm64
" "" -- sh -c "'$CVMCTL' images --format json | python3 -c '
import json, sys
for i in json.load(sys.stdin):
    if i[\"tag\"] == \"arm64-again\":
        print(i[\"name\"], i[\"digest\"])'"

# After load only the index has a name; its images resolve through it.
"$CVMCTL" save -o "$TMP/multi.tar" multi
env CVMCTL_ROOT="$TMP/root-load" "$CVMCTL" load -i "$TMP/multi.tar" >/dev/null
expect "after load, inspect <list>@<child>" 0 "Name:          localhost/multi@$arm64
Digest:        $arm64
" "" -- sh -c "CVMCTL_ROOT='$TMP/root-load' '$CVMCTL' inspect 'multi@$arm64' | head -n 2"
expect "after load, measure <list>@<child>" 0 "$arm_measurement
" "" -- env CVMCTL_ROOT="$TMP/root-load" "$CVMCTL" measure "multi@$arm64"
expect "after load, images shows the index's size" 0 "$header
$(row localhost/multi latest "$index" "$(human "$index_bytes")" no)
" "" -- env CVMCTL_ROOT="$TMP/root-load" "$CVMCTL" images

# A missing image blob: images shows '?', inspect names the blob.
cp -r "$TMP/root-load" "$TMP/root-broken"
rm "$TMP/root-broken/blobs/sha256/${arm64#sha256:}"
expect "images of an index whose image is missing" 0 "$header
$(row localhost/multi latest "$index" "?" no)
" "" -- env CVMCTL_ROOT="$TMP/root-broken" "$CVMCTL" images
expect "inspect of that index" 125 "" "cvmctl: error: blob ${arm64} is missing from store '$TMP/root-broken'
" -- env CVMCTL_ROOT="$TMP/root-broken" "$CVMCTL" inspect multi

# ---- pull --platform: the best match, not the first ----------------------------------------
arm_plain=$("$CVMCTL" build -q -t hello:arm64-plain --platform linux/arm64 "$arm")
arm_v9=$("$CVMCTL" build -q -t hello:arm64-v9 --platform linux/arm64/v9 "$arm")
"$CVMCTL" build -q -t hello:amd64-v3 --platform linux/amd64/v3 "$ctx" >/dev/null
amd_v1=$("$CVMCTL" build -q -t hello:amd64-v1 --platform linux/amd64/v1 "$ctx")
"$CVMCTL" tag "multi@$arm64" hello:arm64 >/dev/null
"$CVMCTL" manifest create v8-first hello:arm64 hello:arm64-plain >/dev/null
"$CVMCTL" manifest create v9-first hello:arm64-v9 hello:arm64 >/dev/null
"$CVMCTL" manifest create v9-only hello:arm64-v9 >/dev/null
"$CVMCTL" manifest create amd-v3-first hello:amd64-v3 hello:amd64 >/dev/null
"$CVMCTL" manifest create amd-v1 hello:amd64-v3 hello:amd64-v1 >/dev/null
registry_start plain
for list in v8-first v9-first v9-only amd-v3-first amd-v1 multi; do
    "$CVMCTL" push -q "$list" "$REGISTRY/team/$list:1" >/dev/null
done
pulled() { env CVMCTL_ROOT="$TMP/root-pull" "$CVMCTL" pull -q "$@"; }
expect "linux/arm64 prefers the entry without a variant to an earlier v8" 0 "$arm_plain
" "" -- pulled --platform linux/arm64 "$REGISTRY/team/v8-first:1"
expect "linux/arm64/v8 takes the v8 entry" 0 "$arm64
" "" -- pulled --platform linux/arm64/v8 "$REGISTRY/team/v8-first:1"
expect "linux/arm64 prefers the default variant v8 to an earlier v9" 0 "$arm64
" "" -- pulled --platform linux/arm64 "$REGISTRY/team/v9-first:1"
expect "linux/arm64 takes another variant when there is nothing better" 0 "$arm_v9
" "" -- pulled --platform linux/arm64 "$REGISTRY/team/v9-only:1"
expect "linux/arm64/v8 does not take v9" 125 "" "cvmctl: error: pull '$REGISTRY/team/v9-only:1': no image for platform linux/arm64/v8 in the index (it has linux/arm64/v9)
" -- pulled --platform linux/arm64/v8 "$REGISTRY/team/v9-only:1"
expect "linux/amd64 prefers the entry without a variant to an earlier v3" 0 "$amd
" "" -- pulled --platform linux/amd64 "$REGISTRY/team/amd-v3-first:1"
expect "linux/amd64 prefers the default variant v1 to an earlier v3" 0 "$amd_v1
" "" -- pulled --platform linux/amd64 "$REGISTRY/team/amd-v1:1"

# ---- signatures of an index and of its images -------------------------------------------------
"$CVMCTL" keygen --out "$TMP/k" >/dev/null
fp=$(openssl pkey -pubin -in "$TMP/k.pub" -outform DER | sha256sum | cut -d' ' -f1)
"$CVMCTL" sign --key "$TMP/k.key" multi >/dev/null
dst=$REGISTRY/team/signed:1
"$CVMCTL" push -q multi "$dst" >/dev/null
expect "pull of the signed index's arm64 image" 0 "$arm64
" "" -- env CVMCTL_ROOT="$TMP/root-sig1" "$CVMCTL" pull -q --platform linux/arm64 "$dst"
expect "the index's signature does not come with it" 0 "[]
" "" -- sh -c "CVMCTL_ROOT='$TMP/root-sig1' '$CVMCTL' images --all --format json | python3 -c '
import json, sys
print([i[\"tag\"] for i in json.load(sys.stdin) if i[\"tag\"].endswith(\".sig\")])'"
expect "so the pulled image does not verify" 125 "" "cvmctl: error: verify '$dst': image $arm64 of '$REGISTRY/team/signed' is not signed: the store has no '$REGISTRY/team/signed:sha256-${arm64#sha256:}.sig'
" -- env CVMCTL_ROOT="$TMP/root-sig1" "$CVMCTL" verify --key "$TMP/k.pub" "$dst"
expect "sign the arm64 image through the index" 0 "signed localhost/multi@$arm64 with key sha256:$fp
" "" -- "$CVMCTL" sign --key "$TMP/k.key" "multi@$arm64"
expect "push it with its signature into the index's repository" 0 "$arm64
" "" -- "$CVMCTL" push -q "multi@$arm64" "$REGISTRY/team/signed:arm64"
expect "pull --platform fetches the signature of the image it stores" 0 "$arm64
" "" -- env CVMCTL_ROOT="$TMP/root-sig2" "$CVMCTL" pull -q --platform linux/arm64 "$dst"
expect "the pulled image verifies with its own signature" 0 "verified $REGISTRY/team/signed@$arm64: signed by key sha256:$fp; $arm_blobs blobs, $arm_bytes bytes checked
" "" -- env CVMCTL_ROOT="$TMP/root-sig2" "$CVMCTL" verify --key "$TMP/k.pub" "$dst"
finish
