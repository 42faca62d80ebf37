#!/bin/sh
# Every bad input is refused with one precise line and exit status 125.
. "$(dirname "$0")/lib.sh"

cp "$RT"/*.so "$TMP/"
yaml "$TMP/a.yaml" a libargs.so 0x10000000
cat "$TMP/a.yaml" >"$TMP/overlap.yaml"
sed -n '2,$p' "$TMP/a.yaml" | sed 's/name: a/name: b/; s/0x10000000$/0x18000000/' >>"$TMP/overlap.yaml"
expect "overlapping windows" 125 "" "cvmctl: error: deploy cVM 'b': window [0x18000000, 0x30000000) of cVM 'b' overlaps window [0x10000000, 0x20000000) of cVM 'a'
" -- "$CVMCTL" monitor -y "$TMP/overlap.yaml"

yaml "$TMP/unknown.yaml" a libargs.so 0x10000000 "disk: x.img"
expect "unknown key" 125 "" "cvmctl: error: $TMP/unknown.yaml:4:5: unknown key 'disk' in cVM 'a'
" -- "$CVMCTL" monitor -y "$TMP/unknown.yaml"

yaml "$TMP/cb.yaml" a libargs.so 0x10000000 "callback_out: ghost"
expect "unknown callback target" 125 "" "cvmctl: error: $TMP/cb.yaml:4:19: callback_out 'ghost' of cVM 'a' names no cVM
" -- "$CVMCTL" monitor -y "$TMP/cb.yaml"

yaml "$TMP/missing.yaml" a libnope.so 0x10000000
expect "missing runtime file" 125 "" "cvmctl: error: $TMP/missing.yaml:3:14: runtime of cVM 'a': cannot open '$TMP/libnope.so': No such file or directory
" -- "$CVMCTL" monitor -y "$TMP/missing.yaml"

head -c 100 "$RT/libargs.so" >"$TMP/libtrunc.so"
yaml "$TMP/trunc.yaml" a libtrunc.so 0x10000000
expect "truncated ELF" 125 "" "cvmctl: error: deploy cVM 'a': 'libtrunc.so' is truncated: program headers end past byte 100
" -- "$CVMCTL" monitor -y "$TMP/trunc.yaml"

cp "$RT/libargs.so" "$TMP/libarm.so"
printf '\267\000' | dd of="$TMP/libarm.so" bs=1 seek=18 conv=notrunc 2>/dev/null
yaml "$TMP/arm.yaml" a libarm.so 0x10000000
expect "foreign ELF (aarch64)" 125 "" "cvmctl: error: deploy cVM 'a': 'libarm.so' is built for aarch64; this monitor runs x86-64 runtimes
" -- "$CVMCTL" monitor -y "$TMP/arm.yaml"

yaml "$TMP/text.yaml" a a.yaml 0x10000000
expect "not an ELF file" 125 "" "cvmctl: error: deploy cVM 'a': 'a.yaml' is not an ELF file
" -- "$CVMCTL" monitor -y "$TMP/text.yaml"

# The first relocation the loader meets that is not RELATIVE, as binutils reports it.
first=$(readelf -rW "$RT/libplt.so" | awk '$3 ~ /^R_X86_64_/ && $3 != "R_X86_64_RELATIVE" { print $1, $3; exit }')
off=$(printf '%x' "0x${first%% *}")
type=${first#* }
num=$(case $type in R_X86_64_GLOB_DAT) echo 6 ;; R_X86_64_JUMP_SLOT) echo 7 ;; R_X86_64_64) echo 1 ;; esac)
yaml "$TMP/plt.yaml" a libplt.so 0x10000000
expect "unsupported relocation" 125 "" "cvmctl: error: deploy cVM 'a': 'libplt.so': unsupported relocation type $num ($type) at offset 0x$off
" -- "$CVMCTL" monitor -y "$TMP/plt.yaml"

yaml "$TMP/host.yaml" a /bin/true 0x10000000
expect "a host program is not a runtime" 125 "" "cvmctl: error: deploy cVM 'a': 'true' asks for a program interpreter; runtimes are loaded by the monitor
" -- "$CVMCTL" monitor -y "$TMP/host.yaml"

expect "YAML that does not exist" 125 "" "cvmctl: error: cannot open '$TMP/none.yaml': No such file or directory
" -- "$CVMCTL" monitor -y "$TMP/none.yaml"
finish
