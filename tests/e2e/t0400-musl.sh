#!/bin/sh
# Unmodified musl programs on the LibOS (images/musl-*, specs/monitor-yaml.md, `abi: linux`):
# each prints exactly its lines and exits 0, deployed from its YAML by `cvmctl monitor -y` and
# as a signed image by `cvmctl build` and `cvmctl run`.
. "$(dirname "$0")/lib.sh"

export CVMCTL_ROOT="$TMP/root"
"$CVMCTL" keygen --out "$TMP/k" >/dev/null

# build_signed IMAGE: builds build/images/IMAGE as IMAGE and signs it.
build_signed() {
    "$CVMCTL" build -q -t "$1" "$BUILD/images/$1" >/dev/null &&
        "$CVMCTL" sign --key "$TMP/k.key" "$1" >/dev/null
}

# random_as_x CMD...: runs CMD, its stdout with the random bytes of musl-hello's /dev/random
# line replaced by x's (kept as they were in $TMP/random); the status is CMD's.
random_as_x() {
    "$@" >"$TMP/raw"
    raw_status=$?
    line='^\(read 8 bytes from /dev/random, rd=\)\([0-9a-f]\{16\}\)$'
    sed -n "s|$line|\\2|p" "$TMP/raw" >"$TMP/random"
    sed "s|$line|\\1xxxxxxxxxxxxxxxx|" "$TMP/raw"
    return $raw_status
}

# musl_hello_out ARG...: what musl-hello prints when its argv is ARG...
musl_hello_out() {
    echo "hello from musl, argc = $#"
    i=0
    for arg in "$@"; do
        echo "argv[$i] = $arg"
        i=$((i + 1))
    done
    cat <<'EOF'
fd = 3
wrote 12
fd = 3
read 12 from file = hello world
....testing /dev/zero
/dev/zero fd = 3
read 128 bytes from /dev/zero
....testing /dev/random
/dev/random fd = 3
read 8 bytes from /dev/random, rd=xxxxxxxxxxxxxxxx
....testing /dev/stdout
/dev/stdout fd = 3
write 18 bytes to /dev/stdout
Hello /dev/stdout
....testing /etc/hostname
/etc/hostname fd = 3
hostname = musl-hello
/etc/passwd: No such file or directory
--------- LibOS is ok -------
EOF
}

pthreads_out="starting 5 threads
$(for t in 0 1 2 3 4; do
    for s in 1 2 3; do echo "thread $t: step $s, count = $((t * 3 + s))"; done
done)
$(for t in 0 1 2 3 4; do echo "joined thread $t: it added 3"; done)
final count = 15 (want 15)
"
libhello_out="app main
hello world from lib
"

# ---- musl-hello: files, devices and the rootfs's /etc/hostname through the LibOS ---------------
expect "musl-hello: monitor -y" 0 "$(musl_hello_out /app/hello)
" "" -- random_as_x "$CVMCTL" monitor -q -y "$BUILD/images/musl-hello/musl-hello.yaml"
cp "$TMP/random" "$TMP/random1"
check "musl-hello: build and sign" build_signed musl-hello
expect "musl-hello: run" 0 "$(musl_hello_out /app/hello)
" "" -- random_as_x "$CVMCTL" run -q --verify "key:$TMP/k.pub" musl-hello
check "musl-hello: /dev/random gives other bytes in another run" \
    sh -c "[ -s '$TMP/random' ] && ! cmp -s '$TMP/random' '$TMP/random1'"
expect "musl-hello: run's arguments reach main()" 0 "$(musl_hello_out /bin/hi one 'two words')
" "" -- random_as_x "$CVMCTL" run -q --verify "key:$TMP/k.pub" musl-hello -- /bin/hi one 'two words'

# ---- musl-pthreads: five threads, a mutex and a condition variable -----------------------------
expect "musl-pthreads: monitor -y" 0 "$pthreads_out" "" -- \
    "$CVMCTL" monitor -q -y "$BUILD/images/musl-pthreads/musl-pthreads.yaml"
check "musl-pthreads: build and sign" build_signed musl-pthreads
expect "musl-pthreads: run" 0 "$pthreads_out" "" -- \
    "$CVMCTL" run -q --verify "key:$TMP/k.pub" musl-pthreads

# ---- musl-libhello: a dynamic PIE, musl's ld.so, dlopen() of a library in the rootfs -----------
expect "musl-libhello: monitor -y" 0 "$libhello_out" "" -- \
    "$CVMCTL" monitor -q -y "$BUILD/images/musl-libhello/musl-libhello.yaml"
check "musl-libhello: build and sign" build_signed musl-libhello
expect "musl-libhello: run" 0 "$libhello_out" "" -- \
    "$CVMCTL" run -q --verify "key:$TMP/k.pub" musl-libhello
finish
