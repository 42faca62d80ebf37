#!/bin/sh
# Running: exit statuses, hostile hostcalls, faults and timeouts never hang the monitor.
. "$(dirname "$0")/lib.sh"

cp "$RT"/*.so "$TMP/"
yaml "$TMP/exit.yaml" a libexitcode.so 0x10000000 "args: exitcode 42"
expect "exit status is the cVM's exit code" 42 "" "" -- "$CVMCTL" monitor -q -y "$TMP/exit.yaml"

yaml "$TMP/bad.yaml" bad libbadcalls.so 0x10000000
"$CVMCTL" monitor -q -y "$TMP/bad.yaml" >"$TMP/bad.out" 2>&1; status=$?
check "hostile hostcalls: exit 3" [ "$status" = 3 ]
check "out-of-window pointer gets -EFAULT" grep -qx 'write outside window: -14' "$TMP/bad.out"
check "unknown hostcall gets -ENOSYS" grep -qx 'unknown hostcall 999: -38' "$TMP/bad.out"
check "monitor survives" grep -qx 'monitor survived' "$TMP/bad.out"

yaml "$TMP/crash.yaml" boom libcrash.so 0x10000000
off=$(nm "$RT/libcrash.so" | awk '$3 == "crash_now" { print $1 }')
ip=$(printf '0x%x' $((0x10000000 + 0x$off)))
expect "faulting cVM: name, address, ip; exit 139" 139 "about to fault
" "cvmctl: error: cVM 'boom' faulted: SIGSEGV at address 0xdead0, ip $ip
" -- "$CVMCTL" monitor -q -y "$TMP/crash.yaml"

cat >"$TMP/nested.yaml" <<EOY
cVMs:
  - name: handler
    runtime: libbadhandler.so
    wait: -1
    isolation: {base: 0x20000000, size: 0x10000000}
  - name: inner
    runtime: libexitcode.so
    callback_out: handler
    isolation: {base: 0x10000000, size: 0x10000000}
EOY
off=$(nm "$RT/libbadhandler.so" | awk '$3 == "syscall_handler" { print $1 }')
ip=$(printf '0x%x' $((0x20000000 + 0x$off)))
expect "fault inside a callback names both cVMs" 139 "" "cvmctl: error: cVM 'inner' faulted: SIGSEGV at address 0xbad0, ip $ip in code of cVM 'handler'
" -- "$CVMCTL" monitor -q -y "$TMP/nested.yaml"

cat >"$TMP/wait.yaml" <<EOY
cVMs:
  - name: first
    runtime: libexitcode.so
    args: exitcode 0
    wait: 1
    isolation: {base: 0x10000000, size: 0x10000000}
  - name: second
    runtime: libargs.so
    isolation: {base: 0x20000000, size: 0x10000000}
EOY
start=$(date +%s%N)
expect "wait: 1 starts the next cVM a second later; status of the last cVM" 1 "argv[0]=libargs.so
id=2 name=second heap-inside=1
heap[1]=0
" "" -- "$CVMCTL" monitor -q -y "$TMP/wait.yaml"
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
check "wait: 1 took at least 1 s ($elapsed ms)" [ "$elapsed" -ge 1000 ]

yaml "$TMP/spin.yaml" spin libspin.so 0x10000000
start=$(date +%s)
expect "timeout stops a spinning cVM; exit 137" 137 "spinning
" "cvmctl: error: deployment timed out after 1 s; its cVMs were stopped
" -- "$CVMCTL" monitor -q --timeout 1 -y "$TMP/spin.yaml"
check "timeout took under 5 s" [ $(( $(date +%s) - start )) -lt 5 ]
finish
