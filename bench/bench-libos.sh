#!/bin/sh
# The LibOS's cost: libos-bench (bench/libos), one unmodified musl static-pie, run natively and
# inside a cVM whose syscalls the LibOS serves, in the same run. The program times itself (no
# deploy or process start in the figures): N getppid() syscalls, and N files of 100 bytes
# created, read back and deleted, natively in a tmpfs folder (/dev/shm), in the cVM in the
# LibOS's ramfs. Prints medians of RUNS runs (default 11) of each, and the ratios.
#   bench/bench-libos.sh [BUILD]
set -eu
. "$(dirname "$0")/lib.sh"
BUILD=${1:-build}
CVMCTL=$(realpath "$BUILD/cvmctl")
BENCH=$(realpath "$BUILD/bench/libos/libos-bench")
RUNS=${RUNS:-11}
SYSCALLS=${SYSCALLS:-100000}
FILES=${FILES:-10000}
TMP=$(mktemp -d)
# The native peer's files live in memory, as the ramfs's do.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    SHM=$(mktemp -d /dev/shm/bench-libos.XXXXXX)
else
    SHM=$TMP/files
    mkdir "$SHM"
fi
trap 'rm -rf "$TMP" "$SHM"' EXIT
export CVMCTL_ROOT="$TMP/root" XDG_STATE_HOME="$TMP/state"

"$CVMCTL" keygen --out "$TMP/k" >/dev/null
"$CVMCTL" build -q -t libos-bench -f "$BUILD/bench/libos/libos-bench.yaml" "$BUILD/bench/libos" \
    >/dev/null
"$CVMCTL" sign --key "$TMP/k.key" libos-bench >/dev/null

# once WHERE MODE: one run of libos-bench; prints its figure (ns per call, or ms).
once() {
    where=$1
    dir=/tmp
    if [ "$where" = native ]; then dir=$SHM; fi
    case $2 in
    syscall) set -- syscall "$SYSCALLS" ;;
    files) set -- files "$FILES" "$dir" ;;
    esac
    if [ "$where" = native ]; then
        out=$("$BENCH" "$@") || { echo "bench-libos: native libos-bench $* failed" >&2; exit 1; }
    else
        out=$("$CVMCTL" run -q --verify "key:$TMP/k.pub" libos-bench -- /app/libos-bench "$@") ||
            { echo "bench-libos: libos-bench $* in a cVM failed" >&2; exit 1; }
    fi
    figure=$(printf '%s\n' "$out" | sed -n 's/^syscall: [0-9]* calls, \([0-9.]*\) ns per call$/\1/p
s/^files: [0-9]* files of [0-9]* bytes in .*, \([0-9.]*\) ms$/\1/p')
    [ -n "$figure" ] || { echo "bench-libos: libos-bench $* ($where) printed: $out" >&2; exit 1; }
    echo "$figure"
}

# Each mode's runs interleaved, native and cVM (bench/lib.sh), after warm-up runs.
WARMUP=2
for mode in syscall files; do
    abba "$mode" native cvm
done

sn=$(median "$TMP/syscall.native") sc=$(median "$TMP/syscall.cvm")
fn=$(median "$TMP/files.native") fc=$(median "$TMP/files.cvm")
echo "libos-bench natively vs in a cVM on the LibOS ($RUNS runs each, medians)"
awk -v n="$sn" -v c="$sc" -v k="$SYSCALLS" 'BEGIN {
    printf "  %d getppid() syscalls: native %8.1f ns, cVM %8.1f ns per call", k, n, c
    printf "; cVM / native: %.1fx\n", c / n }'
awk -v n="$fn" -v c="$fc" -v k="$FILES" 'BEGIN {
    printf "  %d files of 100 bytes: native %8.3f ms (tmpfs), cVM %8.3f ms (ramfs)", k, n, c
    printf "; cVM / native: %.1fx\n", c / n }'
