#!/bin/sh
# push and pull of an image with a 200 MiB rootfs over loopback against Debian's
# docker-registry, compared in the same run with skopeo copy of the same image. Prints medians
# of RUNS runs (default 5); BENCH_MIB (default 200) sets the rootfs size.
#   bench/bench-registry.sh [BUILD]
set -eu
BUILD=${1:-build}
CVMCTL="$BUILD/cvmctl"
RUNS=${RUNS:-5}
BENCH_MIB=${BENCH_MIB:-200}
TMP=$(mktemp -d)
# shellcheck source-path=SCRIPTDIR source=../tests/registry/lib.sh
. "$(dirname "$0")/../tests/registry/lib.sh"
# The harness is written for tests without set -e (its polls and waits return non-zero on
# the way), so its functions run here as the left side of '||', where set -e is off.
trap 'registry_stop_all || :; rm -rf "$TMP"' EXIT
export CVMCTL_ROOT="$TMP/root"
# No credentials from the host's files for either tool.
export REGISTRY_AUTH_FILE="$TMP/auth.json"

now() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# stored_bytes: the bytes of every blob (manifest included) the running registry holds.
stored_bytes() {
    find "$REGISTRY_DIR/data/docker/registry/v2/blobs" -type f -name data -exec stat -c %s {} + |
        awk '{ n += $1 } END { print n + 0 }'
}
# registry_fresh: stops every registry, drops their storage and starts an empty one.
registry_fresh() {
    registry_stop_all || :
    rm -rf "$TMP"/registry-[0-9]*
    registry_start plain || exit 1
}

# BENCH_MIB MiB of rootfs in files of 16 MiB down to 128 KiB spread over four folders, all
# random bytes: zstd cannot shrink them, so the root.cpio layer carries every byte.
for d in usr/bin usr/lib usr/share/app opt/data; do
    mkdir -p "$TMP/ctx/rootfs/$d"
done
left=$((BENCH_MIB * 1024))
i=0
while [ $left -gt 0 ]; do
    kib=$(echo "4096 1024 8192 512 2048 256 16384 128" | cut -d' ' -f$((i % 8 + 1)))
    [ "$kib" -le $left ] || kib=$left
    d=$(echo "usr/lib opt/data usr/bin usr/share/app" | cut -d' ' -f$((i % 4 + 1)))
    head -c $((kib * 1024)) /dev/urandom >"$TMP/ctx/rootfs/$d/f$i"
    left=$((left - kib))
    i=$((i + 1))
done
nfiles=$i
cp "$BUILD/images/hello/libhello.so" "$TMP/ctx/"
printf 'cVMs:\n  - name: app\n    runtime: libhello.so\n    isolation: {base: 0x20000000, size: 0x10000000}\nrootfs: rootfs\n' >"$TMP/ctx/cvm.yaml"
digest=$("$CVMCTL" build -q -t bench "$TMP/ctx")
# The store holds this one unsigned image: its manifest, config and layers are what either
# tool sends or fetches (the payload; HTTP headers are not counted).
bytes=$(cat "$CVMCTL_ROOT"/blobs/sha256/* | wc -c)
layer=$(python3 - "$CVMCTL_ROOT" "$digest" <<'PY'
import json, sys
m = json.load(open(f"{sys.argv[1]}/blobs/sha256/{sys.argv[2][7:]}"))
print(" ".join(f"{l['annotations']['org.opencontainers.image.title']}={l['size']}" for l in m["layers"]))
PY
)

# ---- push: an empty registry for every push, so every blob goes over the wire -------------
: >"$TMP/push-cvm" && : >"$TMP/push-sko" && : >"$TMP/stored-cvm" && : >"$TMP/stored-sko"
: >"$TMP/notes"
push_cvm() {
    registry_fresh
    sync
    t0=$(now)
    got=$("$CVMCTL" push -q bench "$REGISTRY/bench/cvm-$r:1")
    t1=$(now)
    echo $((t1 - t0)) >>"$TMP/push-cvm"
    stored_bytes >>"$TMP/stored-cvm"
    [ "$got" = "$digest" ] || echo "cvmctl push printed $got, not $digest" >>"$TMP/notes"
}
push_sko() {
    registry_fresh
    sync
    t0=$(now)
    skopeo copy -q --dest-tls-verify=false --digestfile "$TMP/sko-digest" \
        "oci:$CVMCTL_ROOT:localhost/bench:latest" "docker://$REGISTRY/bench/sko-$r:1"
    t1=$(now)
    echo $((t1 - t0)) >>"$TMP/push-sko"
    stored_bytes >>"$TMP/stored-sko"
    [ "$(cat "$TMP/sko-digest")" = "$digest" ] ||
        echo "skopeo pushed manifest $(cat "$TMP/sko-digest"), not $digest" >>"$TMP/notes"
}
r=0
while [ $r -lt "$RUNS" ]; do
    # Alternate which tool goes first.
    if [ $((r % 2)) -eq 0 ]; then
        push_cvm
        push_sko
    else
        push_sko
        push_cvm
    fi
    r=$((r + 1))
done

# ---- pull: one registry holding the image, an empty destination for every pull ------------
registry_fresh
"$CVMCTL" push -q bench "$REGISTRY/bench/x:1" >/dev/null
src=$REGISTRY/bench/x:1
: >"$TMP/pull-cvm" && : >"$TMP/pull-sko"
pull_cvm() {
    rm -rf "$TMP/pull-root"
    sync
    t0=$(now)
    got=$("$CVMCTL" --root "$TMP/pull-root" pull -q "$src")
    t1=$(now)
    echo $((t1 - t0)) >>"$TMP/pull-cvm"
    [ "$got" = "$digest" ] || echo "cvmctl pull printed $got, not $digest" >>"$TMP/notes"
}
pull_sko() {
    rm -rf "$TMP/pull-oci"
    sync
    t0=$(now)
    skopeo copy -q --src-tls-verify=false "docker://$src" "oci:$TMP/pull-oci:x"
    t1=$(now)
    echo $((t1 - t0)) >>"$TMP/pull-sko"
    n=$(cat "$TMP/pull-oci"/blobs/sha256/* | wc -c)
    [ "$n" = "$bytes" ] || echo "skopeo pull stored $n bytes of blobs, not $bytes" >>"$TMP/notes"
}
r=0
while [ $r -lt "$RUNS" ]; do
    if [ $((r % 2)) -eq 0 ]; then
        pull_cvm
        pull_sko
    else
        pull_sko
        pull_cvm
    fi
    r=$((r + 1))
done

# Who syncs what during one pull, outside the timed runs: strace -y names each call's file, and
# a name still a folder afterwards is a folder (the synced files were temporaries, now renamed).
# fsyncs DEST CMD...: prints "N on files, N on folders of DEST, N elsewhere[: paths]".
fsyncs() {
    dest=$1
    shift
    if ! strace -f -y -e trace=fsync,fdatasync -o "$TMP/strace" "$@" >/dev/null 2>&1; then
        echo "unknown (strace failed)"
        return
    fi
    files=0 dirs=0 other=0
    : >"$TMP/elsewhere"
    # A call another thread interrupts is split: its first half still names the file.
    sed -n 's/^[0-9]* *f[a-z]*sync([0-9]*<\([^>]*\)>.*/\1/p' "$TMP/strace" >"$TMP/synced"
    while read -r p; do
        case $p in
        "$dest" | "$dest"/*) if [ -d "$p" ]; then dirs=$((dirs + 1)); else files=$((files + 1)); fi ;;
        *)
            other=$((other + 1))
            echo "$p" >>"$TMP/elsewhere"
            ;;
        esac
    done <"$TMP/synced"
    printf '%d on files, %d on folders of the destination, %d elsewhere' $files $dirs $other
    [ $other -eq 0 ] || printf ': %s' "$(sort -u "$TMP/elsewhere" | tr '\n' ' ' | sed 's/ $//')"
    echo
}
if command -v strace >/dev/null 2>&1; then
    rm -rf "$TMP/pull-root" "$TMP/pull-oci"
    sync_cvm=$(fsyncs "$TMP/pull-root" "$CVMCTL" --root "$TMP/pull-root" pull -q "$src")
    sync_sko=$(fsyncs "$TMP/pull-oci" skopeo copy -q --src-tls-verify=false "docker://$src" \
        "oci:$TMP/pull-oci:x")
else
    sync_cvm="unknown (strace is not installed)"
    sync_sko=$sync_cvm
fi
registry_stop_all || :

pc=$(median <"$TMP/push-cvm")
ps=$(median <"$TMP/push-sko")
lc=$(median <"$TMP/pull-cvm")
lk=$(median <"$TMP/pull-sko")
sc=$(median <"$TMP/stored-cvm")
ss=$(median <"$TMP/stored-sko")
awk -v pc="$pc" -v ps="$ps" -v lc="$lc" -v lk="$lk" -v sc="$sc" -v ss="$ss" -v n="$bytes" \
    -v runs="$RUNS" -v mib="$BENCH_MIB" -v files="$nfiles" -v layer="$layer" \
    -v fc="$sync_cvm" -v fs="$sync_sko" 'BEGIN {
    printf "registry push and pull over loopback, docker-registry, plain HTTP (%d runs, medians)\n", runs
    printf "  image: a %d MiB random rootfs in %d files; layers %s\n", mib, files, layer
    printf "  payload each way: %d bytes = %.1f MiB (manifest, config, layers; no HTTP headers)\n", n, n / 1048576
    printf "  registry received: cvmctl %d bytes, skopeo %d bytes (an empty registry per push)\n", sc, ss
    printf "  rates in MiB/s (2^20 bytes per second) of the payload\n"
    printf "  push, cvmctl push          %8.1f ms  %7.1f MiB/s\n", pc / 1e6, n / 1048576 / (pc / 1e9)
    printf "  push, peer: skopeo copy    %8.1f ms  %7.1f MiB/s\n", ps / 1e6, n / 1048576 / (ps / 1e9)
    printf "  push cvmctl / skopeo time ratio: %.2f\n", pc / ps
    printf "  pull, cvmctl pull          %8.1f ms  %7.1f MiB/s\n", lc / 1e6, n / 1048576 / (lc / 1e9)
    printf "  pull, peer: skopeo copy    %8.1f ms  %7.1f MiB/s\n", lk / 1e6, n / 1048576 / (lk / 1e9)
    printf "  pull cvmctl / skopeo time ratio: %.2f\n", lc / lk
    printf "  fsync + fdatasync calls in one pull (strace -f, untimed):\n"
    printf "    cvmctl: %s\n", fc
    printf "    skopeo: %s\n", fs
}'
if [ -s "$TMP/notes" ]; then
    sed 's/^/  note: /' "$TMP/notes"
fi
