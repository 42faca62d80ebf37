#!/bin/sh
# specs/hostcall-abi.md carries exactly the table generated from abi/hostcalls.h.
. "$(dirname "$0")/lib.sh"
spec="$(dirname "$0")/../../specs/hostcall-abi.md"
"$BUILD/tools/hostcall-table" >"$TMP/table"
sed -n '/^<!-- hostcall-table begin -->$/,/^<!-- hostcall-table end -->$/p' "$spec" | sed '1d;$d' >"$TMP/spec"
check "spec table is the generated table" cmp -s "$TMP/table" "$TMP/spec"
[ "$failed" -eq 0 ] || diff "$TMP/table" "$TMP/spec" | sed 's/^/# /'
finish
