#!/bin/sh
# The example deployments print exactly the seed's lines, from any working directory.
. "$(dirname "$0")/lib.sh"

expect "hello prints the CAP_File" 0 "hello world, let's read cap 'test1'
Hello world
" "" -- "$CVMCTL" monitor -q -y "$BUILD/images/hello/hello.yaml"
expect "two-pure: the outer intercepts the inner's write" 0 "hello outer layer
Outer: intercepting message 'hello world from inner'
" "" -- "$CVMCTL" monitor -q -y "$BUILD/images/two-pure/two-pure.yaml"

# Without -q: the backend note, then one line per cVM with window, time and measurement.
abs=$(cd "$BUILD" && pwd)
(cd / && "$abs/cvmctl" monitor -y "$abs/images/two-pure/two-pure.yaml") >"$TMP/out" 2>"$TMP/err"
check "runs from another directory" [ "$(cat "$TMP/out")" = "hello outer layer
Outer: intercepting message 'hello world from inner'" ]
check "backend note" [ "$(sed -n 1p "$TMP/err")" = "cvmctl: backend 'inproc': cVMs are threads of this process; windows are not enforced" ]
outer=$(sha256sum <"$BUILD/images/two-pure/libouter.so" | cut -c1-8)
check "outer line" grep -Eq "^cvm 'outer': window 0x20000000-0x30000000, deployed in [0-9]+\.[0-9]{3} ms, runtime sha256:[0-9a-f]{64}$" "$TMP/err"
check "inner line" grep -Eq "^cvm 'inner': window 0x10000000-0x20000000, deployed in [0-9]+\.[0-9]{3} ms, runtime sha256:[0-9a-f]{64}$" "$TMP/err"
check "three stderr lines" [ "$(wc -l <"$TMP/err")" = 3 ]
finish
