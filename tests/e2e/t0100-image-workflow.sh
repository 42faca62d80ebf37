#!/bin/sh
# The local image workflow: build -> inspect -> measure -> sign -> verify -> save -> load
# into a fresh root -> verify, with independent checks of digests, measurement and signature.
. "$(dirname "$0")/lib.sh"

export CVMCTL_ROOT="$TMP/root"
ctx="$BUILD/images/hello"
sha() { sha256sum "$1" | cut -d' ' -f1; }
blob() { echo "$CVMCTL_ROOT/blobs/sha256/${1#sha256:}"; }

digest=$("$CVMCTL" build -q -t hello "$ctx")
check "build prints the manifest digest" [ "${#digest}" = 71 ]
check "the manifest blob hashes to its digest" [ "sha256:$(sha "$(blob "$digest")")" = "$digest" ]
expect "a second build gives the same digest" 0 "$digest
" "" -- "$CVMCTL" build -q -t hello "$ctx"

# The same files in another folder, created in another order at other times: same image.
mkdir "$TMP/ctx2"
cp "$ctx/cvm.yaml" "$TMP/ctx2/" && sleep 1 && cp "$ctx/libhello.so" "$TMP/ctx2/"
expect "the build does not depend on paths or times" 0 "$digest
" "" -- "$CVMCTL" build -q -t hello:copy "$TMP/ctx2"

# skopeo reads the store as an OCI layout, byte for byte.
skopeo inspect --raw "oci:$CVMCTL_ROOT:localhost/hello:latest" >"$TMP/raw"
check "skopeo inspect --raw returns our manifest" cmp -s "$TMP/raw" "$(blob "$digest")"
skopeo copy -q "oci:$CVMCTL_ROOT:localhost/hello:latest" "dir:$TMP/skopeo-dir" >/dev/null 2>&1
check "skopeo copy to dir: keeps the manifest bytes" cmp -s "$TMP/skopeo-dir/manifest.json" "$(blob "$digest")"
python3 - "$TMP/raw" "$CVMCTL_ROOT" "$TMP/skopeo-dir" >"$TMP/layers" <<'PY'
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
for d in [m["config"]] + m["layers"]:
    h = d["digest"].split(":")[1]
    a = open(f"{sys.argv[2]}/blobs/sha256/{h}", "rb").read()
    b = open(f"{sys.argv[3]}/{h}", "rb").read()
    ok = a == b and hashlib.sha256(a).hexdigest() == h and len(a) == d["size"]
    print(d.get("annotations", {}).get("org.opencontainers.image.title", "config"), d["mediaType"], "ok" if ok else "BAD")
PY
expect "every blob copied by skopeo keeps its digest and size" 0 "config application/vnd.cvm.config.v1+json ok
cvm.yaml application/vnd.cvm.manifest.v1+yaml ok
libhello.so application/vnd.cvm.runtime.v1+zstd ok
" "" -- cat "$TMP/layers"
check "the runtime layer decompresses to the runtime" sh -c \
    "zstd -dc <'$(blob "$(python3 -c "import json;print(json.load(open('$TMP/raw'))['layers'][1]['digest'])")")' | cmp -s - '$ctx/libhello.so'"
expect "the deployment layer is the canonical YAML" 0 'cVMs:
  - name: "hello"
    runtime: "libhello.so"
    args: ["libhello.so"]
    env: []
    wait: -1
    clean_room: true
    isolation: {base: 0x20000000, size: 0x10000000}
capfiles:
  - name: "test1"
    size: 32
    data: "Hello world\n"
' "" -- cat "$(blob "$(python3 -c "import json;print(json.load(open('$TMP/raw'))['layers'][0]['digest'])")")"

# A layout skopeo wrote (its index.json has no mediaType) is a store cvmctl reads.
skopeo copy -q "oci:$CVMCTL_ROOT:localhost/hello:latest" "oci:$TMP/skopeo-layout:localhost/hello:latest" >/dev/null 2>&1
expect "cvmctl reads a layout skopeo wrote" 0 "$("$CVMCTL" measure hello)
" "" -- "$CVMCTL" --root "$TMP/skopeo-layout" measure hello

# The measurement, recomputed by an independent oracle from specs/measurement.md.
"$(dirname "$0")/hello-measurement.py" "$ctx/libhello.so" >"$TMP/oracle"
expect "measure matches the independent oracle" 0 "$(cat "$TMP/oracle")
" "" -- "$CVMCTL" measure hello
measurement=$(sed 's/measurement: //' "$TMP/oracle")
"$CVMCTL" inspect hello >"$TMP/inspect"
check "inspect names the image" grep -qx "Name:          localhost/hello:latest" "$TMP/inspect"
check "inspect shows the digest" grep -qx "Digest:        $digest" "$TMP/inspect"
check "inspect shows the platform" grep -qx "Platform:      linux/amd64" "$TMP/inspect"
check "inspect shows the recorded measurement" grep -qx "Measurement:   $measurement" "$TMP/inspect"
check "inspect shows no signature yet" grep -qx "Signatures:    0" "$TMP/inspect"
"$CVMCTL" inspect --format json hello >"$TMP/inspect.json"
expect "inspect --format json carries manifest, config and measurement" 0 "$digest $measurement 2 0
" "" -- python3 -c "import json; j = json.load(open('$TMP/inspect.json')); print(j['digest'], j['config']['cvm']['measurement'], len(j['manifest']['layers']), len(j['signatures']))"

# Sign and verify, and check the signature with openssl as an independent verifier.
"$CVMCTL" keygen --out "$TMP/signer" >/dev/null && "$CVMCTL" keygen --out "$TMP/other" >/dev/null
fp=$(openssl pkey -pubin -in "$TMP/signer.pub" -outform DER | sha256sum | cut -d' ' -f1)
expect "keygen writes a PKCS#8 private key" 0 "-----BEGIN PRIVATE KEY-----
" "" -- head -1 "$TMP/signer.key"
expect "keygen's private key is for the owner only" 0 "600
" "" -- stat -c %a "$TMP/signer.key"
expect "sign prints the signed digest and key" 0 "signed localhost/hello@$digest with key sha256:$fp
" "" -- "$CVMCTL" sign --key "$TMP/signer.key" hello
size=$(python3 -c "import json; m = json.load(open('$TMP/raw')); print(sum(d['size'] for d in [m['config']] + m['layers']) + $(stat -c %s "$(blob "$digest")"))")
expect "verify checks the signature and every blob" 0 "verified localhost/hello@$digest: signed by key sha256:$fp; 4 blobs, $size bytes checked
" "" -- "$CVMCTL" verify --key "$TMP/signer.pub" hello
"$CVMCTL" --log-level debug verify --key "$TMP/signer.pub" hello >/dev/null 2>"$TMP/debug.log"
check "verify's debug log times the blob check" \
    grep -Eqx "cvmctl: debug: checked 4 blobs, $size bytes in [0-9]+\.[0-9] ms \([0-9]+\.[0-9]{2} GB/s\)" \
    "$TMP/debug.log"
sig=$(skopeo inspect --raw "oci:$CVMCTL_ROOT:localhost/hello:sha256-${digest#sha256:}.sig")
python3 - "$CVMCTL_ROOT" "$TMP" <<PY
import base64, json, sys
m = json.loads('''$sig''')
layer = m["layers"][0]
assert layer["mediaType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
open(sys.argv[2] + "/sig.der", "wb").write(base64.b64decode(layer["annotations"]["dev.cosignproject.cosign/signature"]))
h = layer["digest"].split(":")[1]
open(sys.argv[2] + "/payload", "wb").write(open(sys.argv[1] + "/blobs/sha256/" + h, "rb").read())
PY
expect "the payload is cosign's simple-signing document" 0 "{\"critical\":{\"identity\":{\"docker-reference\":\"localhost/hello\"},\"image\":{\"docker-manifest-digest\":\"$digest\"},\"type\":\"cosign container image signature\"},\"optional\":null}" "" -- cat "$TMP/payload"
expect "openssl verifies the signature over the payload" 0 "Verified OK
" "" -- openssl dgst -sha256 -verify "$TMP/signer.pub" -signature "$TMP/sig.der" "$TMP/payload"
expect "verify with another key is refused" 125 "" "cvmctl: error: verify 'localhost/hello:latest': no signature of image $digest verifies with key sha256:$(openssl pkey -pubin -in "$TMP/other.pub" -outform DER | sha256sum | cut -d' ' -f1) (1 signature checked)
" -- "$CVMCTL" verify --key "$TMP/other.pub" hello
check "images shows the image as signed" sh -c "'$CVMCTL' images | grep -q '^localhost/hello  *latest  *${digest%"${digest#???????????????????}"} .* yes\$'"

# Offline transfer into a fresh root.
expect "save writes the tar" 0 "" "" -- "$CVMCTL" save -o "$TMP/hello.tar" hello
expect "load into a fresh root names the image" 0 "Loaded image: localhost/hello:latest
" "" -- env CVMCTL_ROOT="$TMP/root2" "$CVMCTL" load -i "$TMP/hello.tar"
expect "the loaded image verifies" 0 "verified localhost/hello@$digest: signed by key sha256:$fp; 4 blobs, $size bytes checked
" "" -- env CVMCTL_ROOT="$TMP/root2" "$CVMCTL" verify --key "$TMP/signer.pub" hello
expect "the loaded image measures the same" 0 "measurement: $measurement
" "" -- env CVMCTL_ROOT="$TMP/root2" "$CVMCTL" measure hello
expect "save is reproducible" 0 "" "" -- sh -c "'$CVMCTL' save -o '$TMP/again.tar' hello && cmp '$TMP/hello.tar' '$TMP/again.tar'"

# Trust policy in the root: signed for localhost/hello, reject everything else.
cat >"$CVMCTL_ROOT/policy.json" <<JSON
{"default": [{"type": "reject"}],
 "transports": {"docker": {"localhost/hello": [{"type": "sigstoreSigned", "keyPath": "$TMP/signer.pub"}]}}}
JSON
expect "verify follows the policy in the root" 0 "verified localhost/hello@$digest: trust policy scope 'localhost/hello' satisfied; 4 blobs, $size bytes checked
" "" -- "$CVMCTL" verify hello
"$CVMCTL" build -q -t other "$BUILD/images/two-pure" >/dev/null
expect "the policy's default rejects other images" 125 "" "cvmctl: error: verify 'localhost/other:latest': the trust policy rejects 'localhost/other' (scope 'default')
" -- "$CVMCTL" verify other
printf '{"default": [{"type": "sigstoreSigned", "keyPath": "other.pub"}]}' >"$TMP/p2.json"
expect "a policy requiring another key refuses" 125 "" "cvmctl: error: verify 'localhost/hello:latest': trust policy scope 'default': no signature of image $digest verifies with key sha256:$(openssl pkey -pubin -in "$TMP/other.pub" -outform DER | sha256sum | cut -d' ' -f1) (1 signature checked)
" -- "$CVMCTL" verify --policy "$TMP/p2.json" hello

# tag, rmi and gc.
expect "tag into another repository" 0 "" "" -- "$CVMCTL" tag hello 127.0.0.1:5000/team/hello:1
expect "the signature follows the tag" 0 "verified 127.0.0.1:5000/team/hello@$digest: signed by key sha256:$fp; 4 blobs, $size bytes checked
" "" -- "$CVMCTL" verify --key "$TMP/signer.pub" 127.0.0.1:5000/team/hello:1
expect "rmi untags the name and its repository's signature" 0 "Untagged: 127.0.0.1:5000/team/hello:1
Untagged: 127.0.0.1:5000/team/hello:sha256-${digest#sha256:}.sig
" "" -- "$CVMCTL" rmi 127.0.0.1:5000/team/hello:1
expect "gc keeps every referenced blob" 0 "removed 0 blobs, 0 B
" "" -- "$CVMCTL" gc
other_size=$("$CVMCTL" images --format json | python3 -c "
import json, sys
size = [i['size'] for i in json.load(sys.stdin) if i['name'] == 'localhost/other:latest'][0]
print(f'{size} B' if size < 1024 else f'{size / 1024:.1f} KiB')")
expect "rmi of the other image" 0 "Untagged: localhost/other:latest
" "" -- "$CVMCTL" rmi other
expect "gc drops the other image's manifest, config and 3 layers" 0 "removed 5 blobs, $other_size
" "" -- "$CVMCTL" gc
expect "the remaining image still verifies" 0 "verified localhost/hello@$digest: signed by key sha256:$fp; 4 blobs, $size bytes checked
" "" -- "$CVMCTL" verify --key "$TMP/signer.pub" hello
finish
