#!/bin/sh
# Linux cVMs: an unmodified musl static PIE started as Linux starts a process, its syscalls
# trapped and served by its callback_out cVM (here tests/runtimes/linuxserv.c), and the bad
# deployments refused with one line.
. "$(dirname "$0")/lib.sh"

cp "$RT/liblinuxserv.so" "$BUILD/tests/linux/linuxhello" "$TMP/"
# linux_yaml FILE ARGS [extra lines of the application cVM]
linux_yaml() {
    file=$1 args=$2
    shift 2
    {
        echo "cVMs:"
        echo "  - name: serv"
        echo "    runtime: liblinuxserv.so"
        echo "    callback_in: app"
        echo "    wait: -1"
        echo "    isolation: {base: 0x20000000, size: 0x10000000}"
        echo "  - name: app"
        echo "    runtime: linuxhello"
        echo "    abi: linux"
        echo "    args: $args"
        for line in "$@"; do echo "    $line"; done
        echo "    isolation: {base: 0x10000000, size: 0x10000000}"
    } >"$file"
}

linux_yaml "$TMP/hello.yaml" "/app/linuxhello one two" "env: [A=1, B=two words]" \
    "callback_out: serv"
expect "a static PIE runs with its arguments, environment and auxv" 7 "argc 3
argv[0] /app/linuxhello
argv[1] one
argv[2] two
env A=1
env B=two words
pagesz 4096 secure 0 random yes
pid 1
syscall 999: -1, Function not implemented
" "" -- "$CVMCTL" monitor -q -y "$TMP/hello.yaml"

linux_yaml "$TMP/count.yaml" "linuxhello count 1000" "callback_out: serv"
expect "every syscall is trapped and served once" 0 "getpid 1, syscalls served 1001
" "" -- "$CVMCTL" monitor -q -y "$TMP/count.yaml"

linux_yaml "$TMP/exit.yaml" "linuxhello exit 42" "callback_out: serv"
expect "exit_group's status is the cVM's" 42 "" "" -- "$CVMCTL" monitor -q -y "$TMP/exit.yaml"

linux_yaml "$TMP/crash.yaml" "linuxhello crash" "callback_out: serv"
"$CVMCTL" monitor -q -y "$TMP/crash.yaml" >"$TMP/out" 2>"$TMP/err"
status=$?
check "a fault in a Linux program ends the deployment (139)" [ "$status" = 139 ]
check "and names the cVM, address and ip" grep -q "^cvmctl: error: cVM 'app' faulted: SIGSEGV at address 0x10, ip 0x1000" "$TMP/err"

linux_yaml "$TMP/spin.yaml" "linuxhello spin" "callback_out: serv"
expect "a spinning Linux program is stopped at the timeout" 137 "" \
    "cvmctl: error: deployment timed out after 1 s; its cVMs were stopped
" -- "$CVMCTL" monitor -q -t 1 -y "$TMP/spin.yaml"

linux_yaml "$TMP/nocb.yaml" "linuxhello"
expect "a Linux cVM served by the monitor itself" 125 "" "cvmctl: error: cVM 'app' runs a Linux program: its callback_out must name a cVM that serves Linux syscalls, such as a LibOS
" -- "$CVMCTL" monitor -q -y "$TMP/nocb.yaml"

linux_yaml "$TMP/badabi.yaml" "linuxhello" "callback_out: serv"
sed -i 's/abi: linux/abi: windows/' "$TMP/badabi.yaml"
expect "an unknown abi" 125 "" "cvmctl: error: $TMP/badabi.yaml:9:10: 'abi' of cVM 'app' must be 'cvm' or 'linux', not 'windows'
" -- "$CVMCTL" monitor -q -y "$TMP/badabi.yaml"

# A dynamic program needs the deployment's ldso as its interpreter.
cp /bin/true "$TMP/linuxhello"
linux_yaml "$TMP/interp.yaml" "true" "callback_out: serv"
expect "a dynamic program without an ldso" 125 "" "cvmctl: error: deploy cVM 'app': 'linuxhello' needs a program interpreter; the deployment has no ldso
" -- "$CVMCTL" monitor -q -y "$TMP/interp.yaml"

# The ldso must be for the program's machine.
cp "$BUILD/images/musl-libhello/main" "$TMP/linuxhello"
cp "$BUILD/images/musl-libhello/ld-musl-x86_64.so.1" "$TMP/ld.so"
printf '\267\000' | dd of="$TMP/ld.so" bs=1 seek=18 conv=notrunc 2>/dev/null
linux_yaml "$TMP/armld.yaml" "main" "callback_out: serv"
echo "ldso: ld.so" >>"$TMP/armld.yaml"
expect "an ldso for another machine" 125 "" "cvmctl: error: deploy cVM 'app': the ldso is built for aarch64; 'linuxhello' for x86-64
" -- "$CVMCTL" monitor -q -y "$TMP/armld.yaml"

# The runtime ABI still refuses what a Linux program may have.
yaml "$TMP/asruntime.yaml" a linuxhello 0x10000000
expect "a Linux program is not a cVM runtime" 125 "" "cvmctl: error: deploy cVM 'a': 'linuxhello' asks for a program interpreter; runtimes are loaded by the monitor
" -- "$CVMCTL" monitor -q -y "$TMP/asruntime.yaml"
finish
