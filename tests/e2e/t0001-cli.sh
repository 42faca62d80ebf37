#!/bin/sh
# The command line: help, version, misuse and unknown commands, with their exit codes.
. "$(dirname "$0")/lib.sh"

"$CVMCTL" --help >"$TMP/help"; status=$?
check "--help exits 0" [ "$status" = 0 ]
check "--help lists monitor" grep -q '^  monitor    Deploy and run cVMs from an Intravisor-style YAML$' "$TMP/help"
check "--help says windows are not enforced" grep -q 'not enforced' "$TMP/help"
"$CVMCTL" help monitor >"$TMP/hm"; status=$?
check "help monitor exits 0" [ "$status" = 0 ]
check "help monitor shows the synopsis" grep -qx 'usage: cvmctl monitor -y <file.yaml> \[--timeout <seconds>\] \[--quiet\]' "$TMP/hm"
"$CVMCTL" monitor --help >"$TMP/mh"
check "monitor --help equals help monitor" cmp -s "$TMP/hm" "$TMP/mh"
expect "version" 0 "cvmctl version 0.1.0
monitor backend: inproc
" "" -- "$CVMCTL" version
expect "unknown command" 125 "" "cvmctl: 'frobnicate' is not a cvmctl command
see 'cvmctl --help'
" -- "$CVMCTL" frobnicate
expect "monitor without -y" 125 "" "cvmctl: no deployment given: use -y <file.yaml>
see 'cvmctl monitor --help'
" -- "$CVMCTL" monitor
expect "monitor unknown option" 125 "" "cvmctl: unknown option '--frob'
see 'cvmctl monitor --help'
" -- "$CVMCTL" monitor --frob
expect "monitor bad timeout" 125 "" "cvmctl: --timeout takes 1 to 86400 seconds, not 'soon'
see 'cvmctl monitor --help'
" -- "$CVMCTL" monitor -y x.yaml --timeout soon
expect "--root without a folder" 125 "" "cvmctl: option '--root' needs a folder
see 'cvmctl --help'
" -- "$CVMCTL" --root
expect "--root= empty" 125 "" "cvmctl: '--root' needs a folder
see 'cvmctl --help'
" -- "$CVMCTL" --root= images
expect "--log-level without a level" 125 "" "cvmctl: option '--log-level' needs a level
see 'cvmctl --help'
" -- "$CVMCTL" --log-level
expect "--log-level unknown" 125 "" "cvmctl: unknown log level 'loud' (error, warn, info or debug)
see 'cvmctl --help'
" -- "$CVMCTL" --log-level=loud version
expect "global options in any order" 0 "cvmctl version 0.1.0
monitor backend: inproc
" "" -- "$CVMCTL" --log-level debug --root "$TMP/r" --log-level=error version
expect "help for unknown command" 125 "" "cvmctl: 'nope' is not a cvmctl command
see 'cvmctl help --help'
" -- "$CVMCTL" help nope
finish
