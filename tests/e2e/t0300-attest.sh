#!/bin/sh
# cvmctl attest: the host key in the store folder, and verify's verdicts on signed reports
# (written here by the unit test's sample writer): 0 verified, 1 refused with the reason,
# 125 no verdict (specs/attestation.md §6).
. "$(dirname "$0")/lib.sh"

export CVMCTL_ROOT="$TMP/root"
sample="$BUILD/tests/unit/test-attest"
corpus="$(dirname "$0")/../fuzz/corpus"
key="$CVMCTL_ROOT/attest/host.key"
pub="$CVMCTL_ROOT/attest/host.pub"
N=00112233445566778899aabbccddeeff
N2=ffeeddccbbaa99887766554433221100
D=sha256:aee50b18a03c89e4883a5acadf5c8614dd7fd2f111c3b616e1a8d6427edc3e3f
H=05b3abf2579a5eb66403cd78be557fd860633a1fe2103c7642030defe32c657f
fp() { echo "sha256:$(openssl pkey -pubin -in "$1" -outform DER | sha256sum | cut -d' ' -f1)"; }
mode() { stat -c %a "$1"; }
sig() { sed 's/.*"signature":"\([^"]*\)".*/\1/' "$1"; }
payload() { sed 's/.*"payload":"\([^"]*\)".*/\1/' "$1"; }
envelope() {
    printf '{"payloadType":"application/vnd.cvmctl.attestation.v1+json","payload":"%s","signature":"%s"}\n' "$1" "$2"
}
v() { "$CVMCTL" attest verify --key "$pub" --nonce "$N" --expect "$D" "$@"; }

# The command.
check "attest --help shows the usage" sh -c '"$1" attest --help | head -1 | grep -qx "usage: cvmctl attest keygen \[--force\]"' - "$CVMCTL"
check "attest is listed in the overview" sh -c '"$1" --help | grep -q "^  attest  *Create the host key; verify attestation reports$"' - "$CVMCTL"
expect "no subcommand" 125 "" "cvmctl: no subcommand given (keygen or verify)
see 'cvmctl attest --help'
" -- "$CVMCTL" attest
expect "an unknown subcommand" 125 "" "cvmctl: unknown subcommand 'sign' (keygen or verify)
see 'cvmctl attest --help'
" -- "$CVMCTL" attest sign

# keygen.
"$CVMCTL" attest keygen >"$TMP/keygen.out"
check "keygen prints host.pub and its fingerprint" test "$(cat "$TMP/keygen.out")" = "$pub $(fp "$pub")"
check "host.key is the owner's alone" test "$(mode "$key")" = 600
check "host.pub is public" test "$(mode "$pub")" = 644
check "host.key is a PKCS#8 key" test "$(head -1 "$key")" = "-----BEGIN PRIVATE KEY-----"
first=$(fp "$pub")
cp "$key" "$TMP/first.key"
expect "keygen keeps an existing key" 125 "" "cvmctl: error: host key '$key' already exists (use --force to replace it)
" -- "$CVMCTL" attest keygen
check "the existing key is unchanged" cmp -s "$key" "$TMP/first.key"
expect "keygen takes no argument" 125 "" "cvmctl: unexpected argument 'x'
see 'cvmctl attest --help'
" -- "$CVMCTL" attest keygen x
expect "keygen: an unknown option" 125 "" "cvmctl: unknown option '--out'
see 'cvmctl attest --help'
" -- "$CVMCTL" attest keygen --out x
mkdir -p "$TMP/root2/attest" && cp "$pub" "$TMP/root2/attest/host.pub"
expect "keygen keeps a lone host.pub" 125 "" "cvmctl: error: host key '$TMP/root2/attest/host.pub' already exists (use --force to replace it)
" -- "$CVMCTL" --root "$TMP/root2" attest keygen
check "... and writes no host.key beside it" test ! -e "$TMP/root2/attest/host.key"

# Reports signed by the first key, for the wrong-key checks after --force.
check "the sample writer prints the deployment measurement" test "$("$sample" --write-sample "$key" "$TMP/r.json" "$N")" = "$D"
check "a report is public" test "$(mode "$TMP/r.json")" = 644
"$sample" --write-sample "$key" "$TMP/r2.json" "$N2" >/dev/null
expect "a report verifies" 0 "verified report '$TMP/r.json': localhost/hello:latest@sha256:$H, deployment $D, 2 cVMs, backend inproc (not isolating), 2023-11-14T22:13:20Z, host key $first
" "" -- v "$TMP/r.json"
expect "the nonce may be given in uppercase" 0 "verified report '$TMP/r.json': localhost/hello:latest@sha256:$H, deployment $D, 2 cVMs, backend inproc (not isolating), 2023-11-14T22:13:20Z, host key $first
" "" -- "$CVMCTL" attest verify -k "$pub" -n 00112233445566778899AABBCCDDEEFF -e "$D" "$TMP/r.json"
expect "--format json prints the verified payload" 0 "{\"version\":1,\"image\":\"localhost/hello:latest@sha256:$H\",\"image_digest\":\"sha256:$H\",\"deployment\":\"$D\",\"cvms\":[{\"name\":\"hello\",\"measurement\":\"sha256:590fa9126c760528f9132c5b8840d7b1866716524760d322a2052301ae1ab571\"},{\"name\":\"b.2_x-y\",\"measurement\":\"sha256:90c95846f6a8e57c86412943031c869b50f534d0b6bcfd896ec4bad480334384\"}],\"nonce\":\"$N\",\"time\":\"2023-11-14T22:13:20Z\",\"backend\":\"inproc\",\"isolating\":false,\"host_key\":\"$first\"}
" "" -- v --format json "$TMP/r.json"
{ payload "$TMP/r.json" | base64 -d && echo; } >"$TMP/payload.want"
v --format json "$TMP/r.json" >"$TMP/payload.got"
check "the payload printed is the file's, byte for byte" cmp -s "$TMP/payload.want" "$TMP/payload.got"

# Refused: exit 1 and the reason.
expect "another nonce" 1 "" "cvmctl: error: report '$TMP/r2.json': nonce is '$N2', expected '$N'
" -- v "$TMP/r2.json"
expect "another measurement" 1 "" "cvmctl: error: report '$TMP/r.json': deployment measurement is $D, expected sha256:$H
" -- "$CVMCTL" attest verify --key "$pub" --nonce "$N" --expect "sha256:$H" "$TMP/r.json"
envelope "$(payload "$TMP/r.json")" "$(sig "$TMP/r2.json")" >"$TMP/swapped-sig.json"
expect "another report's signature" 1 "" "cvmctl: error: report '$TMP/swapped-sig.json': signature does not verify with key $first
" -- v "$TMP/swapped-sig.json"
envelope "$(payload "$TMP/r2.json")" "$(sig "$TMP/r.json")" >"$TMP/swapped-payload.json"
expect "another report's payload" 1 "" "cvmctl: error: report '$TMP/swapped-payload.json': signature does not verify with key $first
" -- "$CVMCTL" attest verify --key "$pub" --nonce "$N2" --expect "$D" "$TMP/swapped-payload.json"
head -c 500 "$TMP/r.json" >"$TMP/truncated.json"
expect "a truncated report" 1 "" "cvmctl: error: report '$TMP/truncated.json': invalid JSON at line 1, column 500: premature end of input
" -- v "$TMP/truncated.json"
printf 'garbage\n' >"$TMP/garbage.json"
expect "garbage" 1 "" "cvmctl: error: report '$TMP/garbage.json': invalid JSON at line 1, column 7: '[' or '{' expected near 'garbage'
" -- v "$TMP/garbage.json"
printf '{"payloadType":"application/vnd.cvmctl.attestation.v1+json","payload":"e30=","payload":"e30=","signature":"AAAA"}' >"$TMP/dup.json"
expect "a duplicate key" 1 "" "cvmctl: error: report '$TMP/dup.json': invalid JSON at line 1, column 86: duplicate object key near '\"payload\"'
" -- v "$TMP/dup.json"
head -c 65537 /dev/zero | tr '\0' ' ' >"$TMP/huge.json"
expect "a report over 64 KiB" 1 "" "cvmctl: error: report '$TMP/huge.json': over the limit of 65536 bytes
" -- v "$TMP/huge.json"

# A new host key: reports by the old one are refused, naming both keys.
"$CVMCTL" attest keygen --force >"$TMP/keygen2.out"
second=$(fp "$pub")
check "keygen --force replaces the key" test "$(cat "$TMP/keygen2.out")" = "$pub $second" -a "$second" != "$first"
check "... keeping the modes" test "$(mode "$key"):$(mode "$pub")" = 600:644
check "... and leaving nothing else" test "$(ls -A "$CVMCTL_ROOT/attest" | tr '\n' ' ')" = "host.key host.pub "
expect "a report by the old key" 1 "" "cvmctl: error: report '$TMP/r.json': signature does not verify with key $second: the report names host key $first
" -- v "$TMP/r.json"
"$sample" --write-sample "$key" "$TMP/r3.json" "$N" >/dev/null
expect "a report by the new key" 0 "verified report '$TMP/r3.json': localhost/hello:latest@sha256:$H, deployment $D, 2 cVMs, backend inproc (not isolating), 2023-11-14T22:13:20Z, host key $second
" "" -- v "$TMP/r3.json"

# No verdict: exit 125.
expect "a missing report" 125 "" "cvmctl: error: cannot open '$TMP/none.json': No such file or directory
" -- v "$TMP/none.json"
expect "a private key as --key" 125 "" "cvmctl: error: key '$key': expected a public key, found a private key
" -- "$CVMCTL" attest verify --key "$key" --nonce "$N" --expect "$D" "$TMP/r3.json"
expect "no --key" 125 "" "cvmctl: no host key given: use --key <host.pub>
see 'cvmctl attest --help'
" -- "$CVMCTL" attest verify --nonce "$N" --expect "$D" "$TMP/r3.json"
expect "no --nonce" 125 "" "cvmctl: no nonce given: use --nonce <hex>
see 'cvmctl attest --help'
" -- "$CVMCTL" attest verify --key "$pub" --expect "$D" "$TMP/r3.json"
expect "no --expect" 125 "" "cvmctl: no measurement given: use --expect sha256:<hex>
see 'cvmctl attest --help'
" -- "$CVMCTL" attest verify --key "$pub" --nonce "$N" "$TMP/r3.json"
expect "a short nonce" 125 "" "cvmctl: --nonce: nonce '0011' is not 16 to 128 hex digits
see 'cvmctl attest --help'
" -- "$CVMCTL" attest verify --key "$pub" --nonce 0011 --expect "$D" "$TMP/r3.json"
expect "an --expect that is no digest" 125 "" "cvmctl: --expect: digest 'sha256:12': expected 64 lowercase hex digits after 'sha256:'
see 'cvmctl attest --help'
" -- "$CVMCTL" attest verify --key "$pub" --nonce "$N" --expect sha256:12 "$TMP/r3.json"
expect "two reports" 125 "" "cvmctl: expected one report file
see 'cvmctl attest --help'
" -- v "$TMP/r3.json" "$TMP/r.json"
expect "an unknown format" 125 "" "cvmctl: unknown format 'yaml' (only 'json')
see 'cvmctl attest --help'
" -- v --format yaml "$TMP/r3.json"
expect "--nonce without a value" 125 "" "cvmctl: option '--nonce' needs a value
see 'cvmctl attest --help'
" -- "$CVMCTL" attest verify --key "$pub" --nonce

check "attest corpus replays" sh -c '"$1" "$2" >/dev/null' - "$BUILD/tests/fuzz/fuzz-attest" "$corpus/attest"
finish
