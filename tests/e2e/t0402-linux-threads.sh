#!/bin/sh
# Threads of Linux cVMs on the LibOS: the cVM lives as long as one of its threads does.
. "$(dirname "$0")/lib.sh"

cp "$BUILD/runtimes/libos/libos.so" "$BUILD/tests/linux/mainexit" "$BUILD/tests/linux/threadchurn" \
    "$BUILD/tests/linux/exitrace" "$BUILD/tests/linux/fullchurn" "$TMP/"
cat >"$TMP/mainexit.yaml" <<'YAML'
cVMs:
  - name: libos
    runtime: libos.so
    callback_in: app
    heap_group: os
    wait: -1
    isolation: {base: 0x20000000, size: 0x10000000}
  - name: app
    runtime: mainexit
    abi: linux
    callback_out: libos
    heap_group: os
    isolation: {base: 0x10000000, size: 0x10000000}
heaps:
  - name: os
    size: 0x4000000
YAML
expect "the main thread's pthread_exit leaves the other threads running" 0 "main leaves
worker done
" "" -- "$CVMCTL" monitor -q -y "$TMP/mainexit.yaml"
sed 's/runtime: mainexit/runtime: threadchurn/' "$TMP/mainexit.yaml" >"$TMP/churn.yaml"
expect "threads are created without end as long as 64 at most are alive" 0 \
    "created and joined 200 of 200
" "" -- "$CVMCTL" monitor -q -y "$TMP/churn.yaml"
sed 's/runtime: mainexit/runtime: fullchurn/' "$TMP/mainexit.yaml" >"$TMP/fullchurn.yaml"
expect "a join frees its thread's record before it returns (63 alive)" 0 \
    "EAGAIN right after a join: 0 of 500
" "" -- "$CVMCTL" monitor -q -y "$TMP/fullchurn.yaml"

# Stop signals land at every point of a trap: twenty runs, each must end with exit's status.
sed 's/runtime: mainexit/runtime: exitrace/' "$TMP/mainexit.yaml" >"$TMP/exitrace.yaml"
statuses=""
i=0
while [ $i -lt 20 ]; do
    "$CVMCTL" monitor -q -y "$TMP/exitrace.yaml" >/dev/null 2>&1
    statuses="$statuses $?"
    i=$((i + 1))
done
check "exit while 40 threads trap: status 3 in 20 of 20 runs ($statuses )" \
    [ "$statuses" = "$(printf ' 3%.0s' $(seq 20))" ]
finish
