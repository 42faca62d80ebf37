#!/bin/sh
# A runtime's measurement does not depend on where it is loaded, and relocation works for
# both RELA and RELR images.
. "$(dirname "$0")/lib.sh"

cp "$RT/libreloc.so" "$RT/librelr.so" "$TMP/"
yaml "$TMP/low.yaml" low libreloc.so 0x10000000
yaml "$TMP/high.yaml" high libreloc.so 0x50000000
expect "relocated pointers are right at 0x10000000" 0 "alpha beta gamma
" "" -- "$CVMCTL" monitor -q -y "$TMP/low.yaml"
expect "relocated pointers are right at 0x50000000" 0 "alpha beta gamma
" "" -- "$CVMCTL" monitor -q -y "$TMP/high.yaml"
m_low=$("$CVMCTL" monitor -y "$TMP/low.yaml" 2>&1 >/dev/null | sed -n 's/.*runtime sha256://p')
m_high=$("$CVMCTL" monitor -y "$TMP/high.yaml" 2>&1 >/dev/null | sed -n 's/.*runtime sha256://p')
check "measurement is a sha256" [ "${#m_low}" = 64 ]
check "same measurement at two bases" [ "$m_low" = "$m_high" ]

# Independent oracle: hash [0, last PT_LOAD vaddr + memsz) of the file laid out by readelf.
python3 - "$RT/libreloc.so" >"$TMP/oracle" <<'PY'
import hashlib, subprocess, sys
path = sys.argv[1]
data = open(path, 'rb').read()
out = subprocess.run(['readelf', '-lW', path], capture_output=True, text=True).stdout
loads = [f for f in (l.split() for l in out.splitlines()) if f and f[0] == 'LOAD']
span = max(int(f[2], 16) + int(f[5], 16) for f in loads)
img = bytearray(span)
for f in loads:
    off, vaddr, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
    img[vaddr:vaddr + filesz] = data[off:off + filesz]
print(hashlib.sha256(img).hexdigest())
PY
check "measurement matches an independent hash of the loaded span" [ "$(cat "$TMP/oracle")" = "$m_low" ]

yaml "$TMP/relr.yaml" relr librelr.so 0x10000000
expect "DT_RELR image runs" 0 "alpha beta gamma
" "" -- "$CVMCTL" monitor -q -y "$TMP/relr.yaml"
finish
