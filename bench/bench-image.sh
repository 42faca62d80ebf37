#!/bin/sh
# Build and verify of an image with a 100 MiB rootfs, compared in the same run with
# sha256sum over the same bytes. Prints medians of RUNS runs (default 5): the whole verify
# command (start-up, signature, every blob), and its blob hashing alone, as verify's debug
# log reports it.
#   bench/bench-image.sh [BUILD]
set -eu
BUILD=${1:-build}
CVMCTL="$BUILD/cvmctl"
RUNS=${RUNS:-5}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export CVMCTL_ROOT="$TMP/root"

now() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# 100 MiB of rootfs: 64 files of 1.5 MiB random bytes (incompressible: the hash and the
# compressor see every byte) and 16 files of 0.25 MiB text.
mkdir -p "$TMP/ctx/rootfs/data" "$TMP/ctx/rootfs/text"
i=0
while [ $i -lt 64 ]; do
    head -c 1572864 /dev/urandom >"$TMP/ctx/rootfs/data/blob$i"
    i=$((i + 1))
done
i=0
while [ $i -lt 16 ]; do
    yes "cVM rootfs text line $i" | head -c 262144 >"$TMP/ctx/rootfs/text/t$i"
    i=$((i + 1))
done
cp "$BUILD/images/hello/libhello.so" "$TMP/ctx/"
printf 'cVMs:\n  - name: app\n    runtime: libhello.so\n    isolation: {base: 0x20000000, size: 0x10000000}\nrootfs: rootfs\n' >"$TMP/ctx/cvm.yaml"
"$CVMCTL" keygen --out "$TMP/k" >/dev/null

: >"$TMP/build" && : >"$TMP/verify" && : >"$TMP/hash" && : >"$TMP/sum"
r=0
while [ $r -lt "$RUNS" ]; do
    rm -rf "$CVMCTL_ROOT"
    t0=$(now)
    "$CVMCTL" build -q -t big "$TMP/ctx" >/dev/null
    t1=$(now)
    echo $((t1 - t0)) >>"$TMP/build"
    "$CVMCTL" sign --key "$TMP/k.key" big >/dev/null
    t0=$(now)
    out=$("$CVMCTL" --log-level debug verify --key "$TMP/k.pub" big 2>"$TMP/log")
    t1=$(now)
    echo $((t1 - t0)) >>"$TMP/verify"
    sed -n 's/^cvmctl: debug: checked .* in \([0-9.]*\) ms.*/\1/p' "$TMP/log" >>"$TMP/hash"
    # The peer hashes the same blob files the verify hashed.
    t0=$(now)
    cat "$CVMCTL_ROOT"/blobs/sha256/* | sha256sum >/dev/null
    t1=$(now)
    echo $((t1 - t0)) >>"$TMP/sum"
    r=$((r + 1))
done
bytes=$(echo "$out" | sed 's/.*; [0-9]* blobs, \([0-9]*\) bytes checked/\1/')
b=$(median <"$TMP/build")
v=$(median <"$TMP/verify")
h=$(median <"$TMP/hash")
s=$(median <"$TMP/sum")
awk -v b="$b" -v v="$v" -v h="$h" -v s="$s" -v n="$bytes" -v runs="$RUNS" 'BEGIN {
    printf "image with a 100 MiB rootfs (%d runs, medians; %.1f MiB of blobs)\n", runs, n / 1048576
    printf "  build                    %8.1f ms\n", b / 1e6
    printf "  verify, whole command      %6.1f ms  %6.2f GB/s\n", v / 1e6, n / v
    printf "  verify, blob hashing       %6.1f ms  %6.2f GB/s (target: >= 1.5 GB/s)\n", h, n / h / 1e6
    printf "  peer: sha256sum same bytes %6.1f ms  %6.2f GB/s\n", s / 1e6, n / s
    printf "  verify / sha256sum throughput ratio: %.2f (whole command)\n", s / v
}'
