#!/bin/sh
# Streams between cVMs (specs/hostcall-abi.md §8) against a pipe and a unix stream socket, in
# the same run: throughput of messages of 64 B, 4 KiB and 1 MiB, and the round trip of a 64-byte
# ping-pong. The cVM side (bench/stream/stream-cvm.c) is one deployment of a receiving and a
# sending cVM, the receiver keeping up to 64 buffers posted (at most 8 MiB of them: with 1 MiB
# messages a deeper queue gains nothing and only spreads the copies over memory the caches
# cannot hold); the native peer (bench/stream/stream-peer.c) makes the same exchanges between
# two threads of one process. The programs time themselves with CLOCK_MONOTONIC (hostcall 801
# in the cVMs): throughput from the first send to the last receive, each round trip on its
# own; no deploy or process start in the figures. Prints the medians of RUNS runs (default 11)
# of each figure, and the ratios; with the round trips, what one clock read costs, since each
# timed round trip includes one.
#   bench/bench-stream.sh [BUILD]
# MSGS_64, MSGS_4K, MSGS_1M (messages a run) and TRIPS (round trips a run) size the runs;
# STREAM_BUFS (default 64) and STREAM_MEM (bytes, default 8 MiB) cap the buffers the receiving
# cVM keeps posted. CPUS (a taskset list, e.g. 0) runs both sides on those CPUs only: unpinned,
# the scheduler puts the two threads on one CPU or on two from run to run, and on a small VM
# some figures (the pipe's above all) differ several-fold between the two.
set -eu
. "$(dirname "$0")/lib.sh"
BUILD=${1:-build}
CVMCTL=$(realpath "$BUILD/cvmctl")
PEER=$(realpath "$BUILD/bench/stream/stream-peer")
RUNTIME=$(realpath "$BUILD/bench/stream/libstream-cvm.so")
RUNS=${RUNS:-11}
MSGS_64=${MSGS_64:-20000}
MSGS_4K=${MSGS_4K:-20000}
MSGS_1M=${MSGS_1M:-400}
TRIPS=${TRIPS:-5000}
STREAM_BUFS=${STREAM_BUFS:-64}
STREAM_MEM=${STREAM_MEM:-8388608}
CPUS=${CPUS:-}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cp "$RUNTIME" "$TMP/"
# deployment FILE NAME1 ARGS1 NAME2 ARGS2: the receiving (or echoing) cVM first, so that its
# stream usually exists before the other probes it; both start at once.
deployment() {
    cat >"$1" <<EOY
cVMs:
  - name: $2
    runtime: libstream-cvm.so
    args: stream-cvm $3
    isolation: {base: 0x10000000, size: 0x10000000}
  - name: $4
    runtime: libstream-cvm.so
    args: stream-cvm $5
    isolation: {base: 0x20000000, size: 0x10000000}
EOY
}
FIGURES="64 4096 1048576 pingpong"
msgs() {
    case $1 in
    64) echo "$MSGS_64" ;;
    4096) echo "$MSGS_4K" ;;
    1048576) echo "$MSGS_1M" ;;
    esac
}
bufs() {
    b=$((STREAM_MEM / $1))
    if [ "$b" -gt "$STREAM_BUFS" ]; then b=$STREAM_BUFS; fi
    if [ "$b" -lt 1 ]; then b=1; fi
    echo "$b"
}
for f in 64 4096 1048576; do
    deployment "$TMP/$f.yaml" recv "recv $f $(msgs $f) $(bufs $f)" send "send $f $(msgs $f)"
done
deployment "$TMP/pingpong.yaml" pong "pong $TRIPS" ping "ping $TRIPS"

# on COMMAND...: runs it on $CPUS, if set.
on() {
    if [ -n "$CPUS" ]; then
        taskset -c "$CPUS" "$@"
    else
        "$@"
    fi
}

# What both programs print: "KIND tput SIZE x N...: BYTES bytes in NS ns" and
# "KIND pingpong N: median NS ns (clock NS ns)".
PARSE='s/^[a-z]* tput .*: \([0-9]*\) bytes in \([0-9]*\) ns$/tput \1 \2/p
s/^[a-z]* pingpong [0-9]*: median \([0-9]*\) ns (clock \([0-9]*\) ns)$/trip \1 \2/p'

# once WHERE FIGURE: one run (WHERE: pipe, unix or stream; FIGURE: a message size or
# pingpong); prints its figure: GB/s, or the median round trip and clock read in ns.
once() {
    where=$1 figure=$2
    if [ "$figure" = pingpong ]; then
        set -- pingpong "$where" "$TRIPS"
    else
        set -- tput "$where" "$figure" "$(msgs "$figure")"
    fi
    if [ "$where" = stream ]; then
        out=$(on "$CVMCTL" monitor -q --timeout 60 -y "$TMP/$figure.yaml" 2>&1) ||
            { echo "bench-stream: the $figure deployment failed: $out" >&2; exit 1; }
    else
        out=$(on "$PEER" "$@" 2>&1) ||
            { echo "bench-stream: stream-peer $* failed: $out" >&2; exit 1; }
    fi
    value=$(printf '%s\n' "$out" | sed -n "$PARSE")
    [ -n "$value" ] || { echo "bench-stream: $where $figure printed: $out" >&2; exit 1; }
    # bytes per ns are GB/s
    echo "$value" | awk '$1 == "tput" { printf "%.6f\n", $2 / $3 } $1 == "trip" { print $2, $3 }'
}

# Each figure's runs interleaved, pipe, unix and stream (bench/lib.sh), after a warm-up run.
WARMUP=1
for figure in $FIGURES; do
    abba "$figure" pipe unix stream
done

echo "streams between two cVMs vs a pipe and a unix socket between two threads" \
    "(${CPUS:+on CPUs $CPUS, }$RUNS runs each, medians)"
printf '  %8s %8s %8s %10s %10s %12s %12s\n' size messages buffers "pipe GB/s" "unix GB/s" \
    "stream GB/s" "stream/pipe"
for figure in 64 4096 1048576; do
    awk -v s="$figure" -v m="$(msgs "$figure")" -v b="$(bufs "$figure")" \
        -v p="$(median "$TMP/$figure.pipe")" -v u="$(median "$TMP/$figure.unix")" \
        -v c="$(median "$TMP/$figure.stream")" 'BEGIN {
        name = s >= 1048576 ? s / 1048576 " MiB" : s >= 1024 ? s / 1024 " KiB" : s " B"
        printf "  %8s %8d %8d %10.3f %10.3f %12.3f %11.2fx\n", name, m, b, p, u, c, c / p }'
done
f=$TMP/pingpong
awk -v k="$TRIPS" -v p="$(median "$f.pipe")" -v u="$(median "$f.unix")" \
    -v c="$(median "$f.stream")" -v pc="$(median "$f.pipe" 2)" -v uc="$(median "$f.unix" 2)" \
    -v cc="$(median "$f.stream" 2)" 'BEGIN {
    printf "  64 B round trip (median of %d a run): pipe %.1f us, unix %.1f us, stream %.1f us", k,
        p / 1000, u / 1000, c / 1000
    printf "; stream / pipe: %.2fx\n", c / p
    printf "    of which one clock read: pipe %.3f us, unix %.3f us, stream %.3f us", pc / 1000,
        uc / 1000, cc / 1000
    printf " (hostcall 801)\n" }'
