# Shared helpers for the end-to-end tests: a tiny TAP emitter and the build paths.
# shellcheck shell=sh
BUILD=${CVM_BUILD:-build}
CVMCTL="$BUILD/cvmctl"
RT="$BUILD/tests/runtimes"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# The user's state (the secret of verified signatures) stays with the test, not in $HOME.
export XDG_STATE_HOME="$TMP/state"
n=0
failed=0

# expect NAME WANT_STATUS WANT_STDOUT WANT_STDERR -- CMD...: runs CMD, compares all three.
expect() {
    name=$1 want_status=$2 want_out=$3 want_err=$4
    shift 5
    n=$((n + 1))
    "$@" >"$TMP/out" 2>"$TMP/err"
    status=$?
    printf '%s' "$want_out" >"$TMP/want_out"
    printf '%s' "$want_err" >"$TMP/want_err"
    if [ "$status" = "$want_status" ] && cmp -s "$TMP/out" "$TMP/want_out" &&
        cmp -s "$TMP/err" "$TMP/want_err"; then
        echo "ok $n - $name"
    else
        failed=$((failed + 1))
        echo "not ok $n - $name"
        echo "# status $status (want $want_status)"
        diff "$TMP/want_out" "$TMP/out" | sed 's/^/# out: /'
        diff "$TMP/want_err" "$TMP/err" | sed 's/^/# err: /'
    fi
}

# check NAME CONDITION-COMMAND...: one assertion.
check() {
    name=$1
    shift
    n=$((n + 1))
    if "$@"; then echo "ok $n - $name"; else failed=$((failed + 1)); echo "not ok $n - $name"; fi
}

finish() {
    echo "1..$n"
    [ "$failed" -eq 0 ]
}

# yaml FILE NAME RUNTIME BASE [extra lines]: writes a one-cVM deployment.
yaml() {
    file=$1 name=$2 runtime=$3 base=$4
    shift 4
    {
        echo "cVMs:"
        echo "  - name: $name"
        echo "    runtime: $runtime"
        for line in "$@"; do echo "    $line"; done
        echo "    isolation:"
        echo "      - base: $base"
        echo "        size: 0x10000000"
    } >"$file"
}
