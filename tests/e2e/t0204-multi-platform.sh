#!/bin/sh
# Multi-platform images: the hello image built for amd64 and, from a cross-built aarch64
# runtime, for arm64; 'manifest create' makes an OCI image index of both, which a plain
# registry and skopeo take as is and 'pull --platform' chooses from. Every bad input of
# 'build --platform' and 'manifest create' is one line and leaves the store as it was.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../registry/lib.sh"

export CVMCTL_ROOT="$TMP/root"
SRC=$(dirname "$0")/../..
ctx="$BUILD/images/hello"
misuse=125
blob() { echo "$CVMCTL_ROOT/blobs/sha256/${1#sha256:}"; }
# The store's names and blobs, to show that a refused command changed nothing.
state() { { cat "$1/index.json" && ls -a "$1/blobs/sha256"; } | sha256sum; }
# config DIGEST: the platform keys of the image's config and their order.
config() {
    python3 - "$CVMCTL_ROOT" "$1" <<'PY'
import json, sys
blob = lambda d: f"{sys.argv[1]}/blobs/sha256/{d[7:]}"
c = json.load(open(blob(json.load(open(blob(sys.argv[2])))["config"]["digest"])))
print(" ".join(list(c)), c["architecture"], c["os"], c.get("variant", "-"))
PY
}

# ---- an aarch64 runtime, cross-built as the Makefile builds the x86-64 one -------------------
arm="$TMP/arm64"
mkdir "$arm"
cp "$ctx/cvm.yaml" "$arm/"
if ! clang --target=aarch64-linux-gnu -mno-outline-atomics -std=gnu11 -O2 -ffreestanding \
    -fno-stack-protector -fPIC \
    -fvisibility=hidden -fno-asynchronous-unwind-tables -I"$SRC/pkg/monitor/abi" \
    -I"$SRC/runtimes/baremetal" -shared -nostdlib -fuse-ld=lld -Wl,-Bsymbolic -Wl,-e,_start \
    -Wl,-z,noexecstack -Wl,--no-undefined -Wl,--hash-style=gnu -o "$arm/libhello.so" \
    "$SRC/images/hello/hello.c" "$SRC"/runtimes/baremetal/*.c 2>"$TMP/cc.err"; then
    # clang and lld are build dependencies (scripts/install-deps.sh): no reason to skip.
    echo "Bail out! clang cannot cross-build an aarch64 runtime: $(head -n 1 "$TMP/cc.err")"
    exit 1
fi
expect "the cross-built runtime is for ELF machine 183 (aarch64)" 0 "183
" "" -- sh -c "od -An -j18 -N2 -tu2 '$arm/libhello.so' | tr -d ' '"

# ---- build --platform ------------------------------------------------------------------------
amd=$("$CVMCTL" build -q -t hello:amd64 --platform linux/amd64 "$ctx")
expect "without --platform the build gives the same image" 0 "$amd
" "" -- "$CVMCTL" build -q -t hello "$ctx"
expect "the amd64 config: architecture and os, no variant" 0 "architecture os cvm amd64 linux -
" "" -- config "$amd"
"$CVMCTL" build -t hello:arm64 --platform linux/arm64/v8 "$arm" >"$TMP/arm.out" 2>"$TMP/arm.err"
arm64=$(cat "$TMP/arm.out")
expect "the arm64 config records the variant" 0 "architecture os variant cvm arm64 linux v8
" "" -- config "$arm64"
arm_measurement=$(sed -n 's/^built .localhost\/hello:arm64.: 2 layers, .*, measurement //p' "$TMP/arm.err")
check "the arm64 build reports its measurement" [ "${#arm_measurement}" = 71 ]
plain=$("$CVMCTL" build -q -t hello:arm64-any "$arm")
expect "without --platform the architecture is the runtime's" 0 "architecture os cvm arm64 linux -
" "" -- config "$plain"
check "the variant makes another image" [ "$plain" != "$arm64" ]
amd_measurement=$("$CVMCTL" measure hello:amd64)

# The arm64 measurement, recomputed by the independent oracle from the ELF file.
"$(dirname "$0")/hello-measurement.py" "$arm/libhello.so" >"$TMP/oracle"
expect "the arm64 image measures as the oracle says" 0 "$(cat "$TMP/oracle")
" "" -- "$CVMCTL" measure hello:arm64
check "build printed that measurement" [ "measurement: $arm_measurement" = "$(cat "$TMP/oracle")" ]

# Bad --platform values are misuse; a runtime or ldso of another architecture is refused.
before=$(state "$CVMCTL_ROOT")
for p in linux linux/ /amd64 linux//v8 linux/amd64/ linux/arm64/v8/x Linux/amd64 linux/x86_64 \
    linux/arm64/v8.1 ""; do
    expect "--platform '$p' is misuse" $misuse "" "cvmctl: --platform takes os/arch[/variant] of lowercase letters and digits, not '$p'
see 'cvmctl build --help'
" -- "$CVMCTL" build -q -t bad --platform "$p" "$ctx"
done
expect "an os other than linux" $misuse "" "cvmctl: --platform: unsupported os 'windows' (only linux)
see 'cvmctl build --help'
" -- "$CVMCTL" build -q -t bad --platform windows/amd64 "$ctx"
expect "an unknown architecture" $misuse "" "cvmctl: --platform: unsupported architecture 'riscv64' (amd64 or arm64)
see 'cvmctl build --help'
" -- "$CVMCTL" build -q -t bad --platform linux/riscv64 "$ctx"
expect "--platform without a value" $misuse "" "cvmctl: option '--platform' needs a value
see 'cvmctl build --help'
" -- "$CVMCTL" build -q -t bad --platform
expect "an amd64 runtime for linux/arm64" 125 "" "cvmctl: error: runtime '$ctx/libhello.so' is for amd64, but the image is for linux/arm64
" -- "$CVMCTL" build -q -t bad --platform linux/arm64 "$ctx"
expect "an arm64 runtime for linux/amd64" 125 "" "cvmctl: error: runtime '$arm/libhello.so' is for arm64, but the image is for linux/amd64/v3
" -- "$CVMCTL" build -q -t bad --platform linux/amd64/v3 "$arm"
mkdir "$TMP/mixed"
cp "$ctx/libhello.so" "$TMP/mixed/libhello.so"
cp "$arm/libhello.so" "$TMP/mixed/libarm.so"
yaml "$TMP/mixed/cvm.yaml" a libhello.so 0x20000000
printf '  - name: b\n    runtime: libarm.so\n    isolation: {base: 0x30000000, size: 0x10000000}\n' \
    >>"$TMP/mixed/cvm.yaml"
expect "runtimes of two architectures" 125 "" "cvmctl: error: runtime '$TMP/mixed/libarm.so' is for arm64, but runtime '$TMP/mixed/libhello.so' is for amd64: an image is for one architecture
" -- "$CVMCTL" build -q -t bad "$TMP/mixed"
expect "runtimes of two architectures with --platform" 125 "" "cvmctl: error: runtime '$TMP/mixed/libarm.so' is for arm64, but the image is for linux/amd64
" -- "$CVMCTL" build -q -t bad --platform linux/amd64 "$TMP/mixed"
yaml "$TMP/mixed/ldso.yaml" a libhello.so 0x20000000
echo "ldso: libarm.so" >>"$TMP/mixed/ldso.yaml"
expect "an ldso of another architecture" 125 "" "cvmctl: error: ldso '$TMP/mixed/libarm.so' is for arm64, but runtime '$TMP/mixed/libhello.so' is for amd64: an image is for one architecture
" -- "$CVMCTL" build -q -t bad -f "$TMP/mixed/ldso.yaml" "$TMP/mixed"
expect "an ldso of another architecture than --platform" 125 "" "cvmctl: error: ldso '$TMP/mixed/libarm.so' is for arm64, but the image is for linux/amd64
" -- "$CVMCTL" build -q -t bad --platform linux/amd64 -f "$TMP/mixed/ldso.yaml" "$TMP/mixed"
check "the refused builds left the store as it was" [ "$(state "$CVMCTL_ROOT")" = "$before" ]

# ---- manifest create / inspect ---------------------------------------------------------------
index=$("$CVMCTL" manifest create multi hello:amd64 hello:arm64)
python3 - "$CVMCTL_ROOT" "$amd" "$arm64" >"$TMP/want-index" <<'PY'
import json, os, sys
root, amd, arm = sys.argv[1:]
def entry(d, platform):
    size = os.path.getsize(f"{root}/blobs/sha256/{d[7:]}")
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d,
            "size": size, "platform": platform}
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [entry(amd, {"architecture": "amd64", "os": "linux"}),
                       entry(arm, {"architecture": "arm64", "os": "linux", "variant": "v8"})]}
sys.stdout.write(json.dumps(index, separators=(",", ":")))
PY
check "manifest create prints the digest of the index blob" \
    [ "sha256:$(sha256sum "$(blob "$index")" | cut -d' ' -f1)" = "$index" ]
check "the index is exactly the OCI image index of both images" cmp -s "$(blob "$index")" "$TMP/want-index"
expect "manifest inspect prints the index bytes" 0 "$(cat "$TMP/want-index")" "" -- \
    "$CVMCTL" manifest inspect multi
expect "manifest inspect prints an image manifest's bytes" 0 "$(cat "$(blob "$arm64")")" "" -- \
    "$CVMCTL" manifest inspect "localhost/hello@$arm64"
skopeo inspect --raw "oci:$CVMCTL_ROOT:localhost/multi:latest" >"$TMP/skopeo-raw"
check "skopeo reads the index from the store byte for byte" cmp -s "$TMP/skopeo-raw" "$TMP/want-index"
skopeo copy -q --override-arch arm64 "oci:$CVMCTL_ROOT:localhost/multi:latest" "dir:$TMP/oci-arm" >/dev/null 2>&1
check "skopeo picks the arm64 image from the stored index" \
    [ "sha256:$(sha256sum "$TMP/oci-arm/manifest.json" | cut -d' ' -f1)" = "$arm64" ]
expect "the store names the index with its media type and size" 0 "application/vnd.oci.image.index.v1+json $index $(stat -c %s "$(blob "$index")")
" "" -- python3 -c "
import json
for e in json.load(open('$CVMCTL_ROOT/index.json'))['manifests']:
    if e['annotations']['org.opencontainers.image.ref.name'] == 'localhost/multi:latest':
        print(e['mediaType'], e['digest'], e['size'])"
expect "the same images give the same index" 0 "$index
" "" -- "$CVMCTL" manifest create multi:again hello:amd64 hello:arm64
other=$("$CVMCTL" manifest create multi:reversed hello:arm64 hello:amd64)
check "another order gives another index" [ "$other" != "$index" ]
"$CVMCTL" manifest create multi:amend hello:amd64 >/dev/null
expect "--amend adds a platform after the entries there are" 0 "$index
" "" -- "$CVMCTL" manifest create --amend multi:amend hello:arm64
two=$("$CVMCTL" build -q -t two:amd64 --platform linux/amd64 "$BUILD/images/two-pure")
"$CVMCTL" manifest create -a multi:amend two:amd64 hello:arm64-any >/dev/null
expect "--amend replaces the entry of the same platform in place" 0 "$two linux/amd64
$arm64 linux/arm64/v8
$plain linux/arm64
" "" -- sh -c "'$CVMCTL' manifest inspect multi:amend | python3 -c '
import json, sys
for m in json.load(sys.stdin)[\"manifests\"]:
    p = m[\"platform\"]
    print(m[\"digest\"], \"/\".join([p[\"os\"], p[\"architecture\"]] + ([p[\"variant\"]] if \"variant\" in p else [])))'"

# An index runs (and measures) as its image for this host: linux/amd64 here.
expect "measure of an index measures the host's image" 0 "$amd_measurement
" "" -- "$CVMCTL" measure multi
"$CVMCTL" manifest create arm-only hello:arm64 >/dev/null
expect "an index without the host's platform" 125 "" "cvmctl: error: the index has no linux/amd64 image (it has: linux/arm64/v8)
" -- "$CVMCTL" measure arm-only
"$CVMCTL" rmi arm-only >/dev/null

"$CVMCTL" keygen --out "$TMP/k" >/dev/null
expect "sign an image" 0 "signed localhost/hello@$amd with key sha256:$(openssl pkey -pubin -in "$TMP/k.pub" -outform DER | sha256sum | cut -d' ' -f1)
" "" -- "$CVMCTL" sign --key "$TMP/k.key" hello:amd64
before=$(state "$CVMCTL_ROOT")
expect "an image that is not in the store" 125 "" "cvmctl: error: manifest create 'localhost/bad:latest': image 'localhost/nope:latest' is not in store '$CVMCTL_ROOT'
" -- "$CVMCTL" manifest create bad hello:amd64 nope
expect "an index as an image" 125 "" "cvmctl: error: manifest create 'localhost/bad:latest': 'localhost/multi:latest' is an image index, not an image manifest
" -- "$CVMCTL" manifest create bad multi
expect "two images for one platform" 125 "" "cvmctl: error: manifest create 'localhost/bad:latest': images 'localhost/hello:amd64' and 'localhost/two:amd64' are both for linux/amd64
" -- "$CVMCTL" manifest create bad hello:amd64 hello:arm64 two:amd64
expect "one image twice" 125 "" "cvmctl: error: manifest create 'localhost/bad:latest': images 'localhost/hello:arm64' and 'localhost/hello:arm64' are both for linux/arm64/v8
" -- "$CVMCTL" manifest create bad hello:arm64 hello:arm64
expect "a manifest that is not a cVM image" 125 "" "cvmctl: error: manifest create 'localhost/bad:latest': 'localhost/hello:sha256-${amd#sha256:}.sig' is not a cVM image (config media type 'application/vnd.oci.image.config.v1+json')
" -- "$CVMCTL" manifest create bad "hello:sha256-${amd#sha256:}.sig"
expect "--amend of a name the store lacks" 125 "" "cvmctl: error: manifest create 'localhost/bad:latest': --amend: there is no 'localhost/bad:latest' in store '$CVMCTL_ROOT'
" -- "$CVMCTL" manifest create --amend bad hello:amd64
expect "--amend of an image" 125 "" "cvmctl: error: manifest create 'localhost/hello:amd64': --amend: 'localhost/hello:amd64' is an image, not an image index
" -- "$CVMCTL" manifest create --amend hello:amd64 hello:arm64
expect "an invalid list name" 125 "" "cvmctl: error: reference 'Bad': repository name must be lowercase
" -- "$CVMCTL" manifest create Bad hello:amd64
expect "an invalid image reference" 125 "" "cvmctl: error: manifest create 'localhost/bad:latest': reference 'a b': invalid character ' ' at offset 1
" -- "$CVMCTL" manifest create bad 'a b'
expect "a list given by digest" $misuse "" "cvmctl: the list must be a tag, not a digest: 'multi@$index'
see 'cvmctl manifest --help'
" -- "$CVMCTL" manifest create "multi@$index" hello:amd64
expect "no list" $misuse "" "cvmctl: no list given
see 'cvmctl manifest --help'
" -- "$CVMCTL" manifest create --amend
expect "no image" $misuse "" "cvmctl: no image given for list 'bad'
see 'cvmctl manifest --help'
" -- "$CVMCTL" manifest create bad
expect "an unknown option" $misuse "" "cvmctl: unknown option '--all'
see 'cvmctl manifest --help'
" -- "$CVMCTL" manifest create --all bad hello:amd64
expect "no subcommand" $misuse "" "cvmctl: no subcommand given (create or inspect)
see 'cvmctl manifest --help'
" -- "$CVMCTL" manifest
expect "an unknown subcommand" $misuse "" "cvmctl: unknown subcommand 'rm' (create or inspect)
see 'cvmctl manifest --help'
" -- "$CVMCTL" manifest rm multi
expect "manifest inspect of two images" $misuse "" "cvmctl: manifest inspect takes one image
see 'cvmctl manifest --help'
" -- "$CVMCTL" manifest inspect multi hello
expect "manifest inspect of an unknown image" 125 "" "cvmctl: error: image 'localhost/nope:latest' is not in store '$CVMCTL_ROOT'
" -- "$CVMCTL" manifest inspect nope
check "the refused commands left the store as it was" [ "$(state "$CVMCTL_ROOT")" = "$before" ]
"$CVMCTL" manifest --help >"$TMP/help"
check "manifest --help shows both synopses" [ "$(head -n 2 "$TMP/help")" = "usage: cvmctl manifest create [--amend] <list> <image>...
   or: cvmctl manifest inspect <image>" ]

# ---- push the index, pull one platform -------------------------------------------------------
registry_start plain
dst=$REGISTRY/team/multi:1
expect "push sends the index" 0 "$index
" "" -- "$CVMCTL" push -q multi "$dst"
skopeo inspect --raw --tls-verify=false "docker://$dst" >"$TMP/remote-raw"
check "skopeo reads the pushed index byte for byte" cmp -s "$TMP/remote-raw" "$TMP/want-index"
# skopeo inspect without --raw refuses artifacts whose config is not an OCI image config;
# skopeo copy chooses an index entry the same way.
skopeo copy -q --override-arch arm64 --src-tls-verify=false "docker://$dst" "dir:$TMP/reg-arm" \
    >/dev/null 2>&1
check "skopeo --override-arch arm64 picks the arm64 image" \
    [ "sha256:$(sha256sum "$TMP/reg-arm/manifest.json" | cut -d' ' -f1)" = "$arm64" ]
skopeo copy -q --override-arch amd64 --src-tls-verify=false "docker://$dst" "dir:$TMP/reg-amd" \
    >/dev/null 2>&1
check "skopeo --override-arch amd64 picks the amd64 image" \
    [ "sha256:$(sha256sum "$TMP/reg-amd/manifest.json" | cut -d' ' -f1)" = "$amd" ]

expect "pull --platform linux/arm64 stores the arm64 image" 0 "$arm64
" "" -- env CVMCTL_ROOT="$TMP/root-arm" "$CVMCTL" pull -q --platform linux/arm64 "$dst"
expect "the pulled arm64 image has the built measurement" 0 "measurement: $arm_measurement
" "" -- env CVMCTL_ROOT="$TMP/root-arm" "$CVMCTL" measure "$dst"
expect "pull --platform linux/arm64/v8 chooses it too" 0 "$arm64
" "" -- env CVMCTL_ROOT="$TMP/root-arm" "$CVMCTL" pull -q --platform linux/arm64/v8 "$dst"
expect "pull without --platform stores the host's amd64 image" 0 "$amd
" "" -- env CVMCTL_ROOT="$TMP/root-amd" "$CVMCTL" pull -q "$dst"
expect "the pulled amd64 image has the built measurement" 0 "$amd_measurement
" "" -- env CVMCTL_ROOT="$TMP/root-amd" "$CVMCTL" measure "$dst"
expect "a platform the index lacks" 125 "" "cvmctl: error: pull '$dst': no image for platform linux/riscv64 in the index (it has linux/amd64, linux/arm64/v8)
" -- env CVMCTL_ROOT="$TMP/root-none" "$CVMCTL" pull -q --platform linux/riscv64 "$dst"
expect "a variant the index lacks" 125 "" "cvmctl: error: pull '$dst': no image for platform linux/arm64/v9 in the index (it has linux/amd64, linux/arm64/v8)
" -- env CVMCTL_ROOT="$TMP/root-none" "$CVMCTL" pull -q --platform linux/arm64/v9 "$dst"
expect "pull --platform with bad syntax is misuse" $misuse "" "cvmctl: --platform takes os/arch[/variant] of lowercase letters and digits, not 'linux/ARM64'
see 'cvmctl pull --help'
" -- env CVMCTL_ROOT="$TMP/root-none" "$CVMCTL" pull -q --platform linux/ARM64 "$dst"
expect "the failed pulls stored nothing" 0 "[]
" "" -- sh -c "ls -A '$TMP/root-none/blobs/sha256' && env CVMCTL_ROOT='$TMP/root-none' '$CVMCTL' images --format json"

# ---- the index and the other image commands --------------------------------------------------
fp=$(openssl pkey -pubin -in "$TMP/k.pub" -outform DER | sha256sum | cut -d' ' -f1)
expect "sign the index" 0 "signed localhost/multi@$index with key sha256:$fp
" "" -- "$CVMCTL" sign --key "$TMP/k.key" multi
counts=$(python3 - "$CVMCTL_ROOT" "$index" <<'PY'
import json, os, sys
root = sys.argv[1]
size = lambda d: os.path.getsize(f"{root}/blobs/sha256/{d[7:]}")
# Each distinct blob once: the two images share their deployment manifest.
blobs = {sys.argv[2]}
for e in json.load(open(f"{root}/blobs/sha256/{sys.argv[2][7:]}"))["manifests"]:
    m = json.load(open(f"{root}/blobs/sha256/{e['digest'][7:]}"))
    blobs |= {e["digest"]} | {d["digest"] for d in [m["config"]] + m["layers"]}
print(len(blobs), sum(size(d) for d in blobs))
PY
)
n_blobs=${counts% *} bytes=${counts#* }
check "the two images share a blob (their deployment manifest)" test "$n_blobs" = 8
expect "verify checks the index and every blob of both images" 0 "verified localhost/multi@$index: signed by key sha256:$fp; $n_blobs blobs, $bytes bytes checked
" "" -- "$CVMCTL" verify --key "$TMP/k.pub" multi
expect "save the index" 0 "" "" -- "$CVMCTL" save -o "$TMP/multi.tar" multi
expect "load it into a fresh store" 0 "Loaded image: localhost/multi:latest
" "" -- env CVMCTL_ROOT="$TMP/root-load" "$CVMCTL" load -i "$TMP/multi.tar"
expect "the loaded index verifies" 0 "verified localhost/multi@$index: signed by key sha256:$fp; $n_blobs blobs, $bytes bytes checked
" "" -- env CVMCTL_ROOT="$TMP/root-load" "$CVMCTL" verify --key "$TMP/k.pub" multi
expect "the loaded index has the same bytes" 0 "$(cat "$TMP/want-index")" "" -- \
    env CVMCTL_ROOT="$TMP/root-load" "$CVMCTL" manifest inspect multi
"$CVMCTL" gc >/dev/null
expect "rmi of the arm64 image's name" 0 "Untagged: localhost/hello:arm64
" "" -- "$CVMCTL" rmi hello:arm64
expect "gc keeps the images the index lists" 0 "removed 0 blobs, 0 B
" "" -- "$CVMCTL" gc
expect "the arm64 image the index lists still verifies through it" 0 "verified localhost/multi@$index: signed by key sha256:$fp; $n_blobs blobs, $bytes bytes checked
" "" -- "$CVMCTL" verify --key "$TMP/k.pub" multi
finish
