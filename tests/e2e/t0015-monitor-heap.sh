#!/bin/sh
# Shared heaps (specs/monitor-yaml.md §5): members of a heap group pass data through one
# region outside their windows; outsiders' pointers into it get -EFAULT; bad heaps are refused;
# an image with a shared heap measures the same at build, at measure and as deployed.
. "$(dirname "$0")/lib.sh"

cp "$RT/libsharedheap.so" "$RT/libargs.so" "$TMP/"
# deployment FILE HEAP-LINES...: writer and reader in group g (reader: $reader_group if set),
# in that order and each run to its end, then an outsider given the heap's address; the
# lines after 'heaps:' declare the heaps.
deployment() {
    file=$1
    shift
    {
        cat <<EOY
cVMs:
  - name: writer
    runtime: libsharedheap.so
    args: sharedheap write
    heap_group: g
    wait: -1
    isolation: {base: 0x10000000, size: 0x10000000}
  - name: reader
    runtime: libsharedheap.so
    args: sharedheap read
    clean_room: false
    heap_group: ${reader_group:-g}
    wait: -1
    isolation: {base: 0x20000000, size: 0x10000000}
  - name: outsider
    runtime: libsharedheap.so
    args: sharedheap outside 0x40000000
    isolation: {base: 0x30000000, size: 0x10000000}
heaps:
EOY
        for line in "$@"; do echo "$line"; done
    } >"$file"
}

shared_out="writer: heap 0x40000000+0x100000
zero-filled: 1
reader: heap 0x40000000+0x100000
last byte: !
a message through the shared heap
write from the shared heap: 34
gettimeofday into the shared heap: 0
write across its end: -14
write past its end: -14
write before its start: -14
outsider: heap inside its window
outsider's write from the shared heap: -14
outsider's gettimeofday into it: -14
"
deployment "$TMP/ok.yaml" "  - {name: g, base: 0x40000000, size: 0x100000}"
expect "members share the heap; pointers past it and an outsider's get -EFAULT" 0 \
    "$shared_out" "" -- "$CVMCTL" monitor -q -y "$TMP/ok.yaml"
deployment "$TMP/nobase.yaml" "  - {name: g, size: 0x100000}"
expect "a heap without a base is placed right above every window" 0 \
    "$shared_out" "" -- "$CVMCTL" monitor -q -y "$TMP/nobase.yaml"

yaml "$TMP/one.yaml" a libargs.so 0x10000000 "heap_group: solo"
echo "heaps: [{name: solo, base: 0x20000000, size: 0x10000}]" >>"$TMP/one.yaml"
expect "a group of one cVM: its heap lies outside its window" 1 "argv[0]=libargs.so
id=1 name=a heap-inside=0
heap[1]=0
" "" -- "$CVMCTL" monitor -q -y "$TMP/one.yaml"

# Bad inputs: one precise line each, exit status 125.
deployment "$TMP/e.yaml" "  - {name: h, size: 0x1000}"
expect "unknown heap group" 125 "" "cvmctl: error: $TMP/e.yaml:5:17: heap_group 'g' of cVM 'writer' names no heap in 'heaps'
" -- "$CVMCTL" monitor -q -y "$TMP/e.yaml"
deployment "$TMP/e.yaml" "  - {name: g, size: 0x1000}" "  - {name: h, size: 0x1000}"
expect "a heap no cVM uses" 125 "" "cvmctl: error: $TMP/e.yaml:21:5: heap 'h' is the heap_group of no cVM
" -- "$CVMCTL" monitor -q -y "$TMP/e.yaml"
deployment "$TMP/e.yaml" "  - {name: g, size: 0x1800}"
expect "size not page-aligned" 125 "" "cvmctl: error: $TMP/e.yaml:20:21: heap 'size' must be a multiple of 4 KiB, from 4 KiB to 64 GiB
" -- "$CVMCTL" monitor -q -y "$TMP/e.yaml"
deployment "$TMP/e.yaml" "  - {name: g, base: 0x40000800, size: 0x1000}"
expect "base not page-aligned" 125 "" "cvmctl: error: $TMP/e.yaml:20:21: heap 'base' must be non-zero and 4 KiB-aligned
" -- "$CVMCTL" monitor -q -y "$TMP/e.yaml"
yaml "$TMP/e.yaml" a libargs.so 0x10000000 "clean_room: true" "heap_group: g"
echo "heaps: [{name: g, size: 0x1000}]" >>"$TMP/e.yaml"
expect "clean_room: true with a heap group" 125 "" "cvmctl: error: $TMP/e.yaml:5:17: heap_group 'g' of cVM 'a' needs clean_room: false
" -- "$CVMCTL" monitor -q -y "$TMP/e.yaml"
yaml "$TMP/e.yaml" a libargs.so 0x10000000 "clean_room: false"
expect "clean_room: false without a heap group" 125 "" "cvmctl: error: $TMP/e.yaml:2:5: cVM 'a' has clean_room: false but no 'heap_group'
" -- "$CVMCTL" monitor -q -y "$TMP/e.yaml"
deployment "$TMP/e.yaml" "  - {name: g, base: 0x2ff00000, size: 0x200000}"
expect "heap overlapping a window" 125 "" "cvmctl: error: shared heap 'g' [0x2ff00000, 0x30100000) overlaps the window [0x20000000, 0x30000000) of 'reader'
" -- "$CVMCTL" monitor -q -y "$TMP/e.yaml"
reader_group=h
deployment "$TMP/e.yaml" "  - {name: g, size: 0x100000}" "  - {name: h, base: 0x400ff000, size: 0x1000}"
unset reader_group
expect "heap overlapping another heap" 125 "" "cvmctl: error: shared heap 'h' [0x400ff000, 0x40100000) overlaps shared heap [0x40000000, 0x40100000) of 'g'
" -- "$CVMCTL" monitor -q -y "$TMP/e.yaml"
deployment "$TMP/e.yaml" "  - {name: g, base: 0x7ffffffff000, size: 0x2000}"
expect "heap past the address space" 125 "" "cvmctl: error: cannot reserve shared heap 'g' [0x7ffffffff000, 0x800000001000): Cannot allocate memory
" -- "$CVMCTL" monitor -q -y "$TMP/e.yaml"

# An image with a shared heap: build, measure, an independent oracle, and run.
export CVMCTL_ROOT="$TMP/store"
ctx="$TMP/ctx"
mkdir -p "$ctx"
cp "$RT/libsharedheap.so" "$ctx/"
deployment "$ctx/cvm.yaml" "  - name: g" "    size: 0x100000"
"$CVMCTL" build -q -t heap "$ctx" >/dev/null
"$CVMCTL" keygen --out "$TMP/signer" >/dev/null
"$CVMCTL" sign --key "$TMP/signer.key" heap >/dev/null
python3 - "$ctx/libsharedheap.so" >"$TMP/oracle" <<'PY'
import hashlib, subprocess, sys
path = sys.argv[1]
data = open(path, 'rb').read()
out = subprocess.run(['readelf', '-lW', path], capture_output=True, text=True).stdout
loads = [f for f in (l.split() for l in out.splitlines()) if f and f[0] == 'LOAD']
img = bytearray(max(int(f[2], 16) + int(f[5], 16) for f in loads))
for f in loads:
    off, vaddr, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
    img[vaddr:vaddr + filesz] = data[off:off + filesz]
rt = hashlib.sha256(img).hexdigest()
ns = lambda k, s: f"{k} {len(s.encode())}:{s}\n"
def cvm(name, base, heap, wait, args):
    log = ("cvm-measurement-v1\n" + ns("name", name) + f"runtime sha256:{rt}\n" +
           f"ldso none\nrootfs none\nwindow {base} 0x10000000\nheap {heap}\n" +
           f"callback_out monitor\ncallback_in none\nwait {wait}\nargc {len(args)}\n" +
           "".join(ns("arg", a) for a in args) + "envc 0\n")
    return hashlib.sha256(log.encode()).hexdigest()
g = "shared 1:g 0x40000000 0x100000"
cvms = [cvm("writer", "0x10000000", g, -1, ["sharedheap", "write"]),
        cvm("reader", "0x20000000", g, -1, ["sharedheap", "read"]),
        cvm("outsider", "0x30000000", "clean-room", 0, ["sharedheap", "outside", "0x40000000"])]
dep = "cvm-deployment-v1\ncvms 3\n" + "".join(f"cvm sha256:{c}\n" for c in cvms) + "capfiles 0\n"
print("measurement: sha256:" + hashlib.sha256(dep.encode()).hexdigest())
PY
expect "measure of the image matches an independent oracle" 0 "$(cat "$TMP/oracle")
" "" -- "$CVMCTL" measure heap
expect "the image runs with its shared heap" 0 "$shared_out" "" -- \
    "$CVMCTL" run -q --pull never --verify "key:$TMP/signer.pub" heap
"$CVMCTL" run --pull never --verify "key:$TMP/signer.pub" heap >/dev/null 2>"$TMP/run.err"
check "the deployment as placed measures as built" grep -qx "$(cat "$TMP/oracle")" "$TMP/run.err"

# A heap that overlaps a window is refused at build, before anything is stored.
deployment "$ctx/cvm.yaml" "  - {name: g, base: 0x30000000, size: 0x1000}"
expect "build refuses an overlapping heap" 125 "" "cvmctl: error: measure: shared heap 'g' [0x30000000, 0x30001000) overlaps the window [0x30000000, 0x40000000) of 'outsider'
" -- "$CVMCTL" build -q -t bad "$ctx"
check "and names no image" sh -c '! "$1" inspect bad >/dev/null 2>&1' sh "$CVMCTL"
finish
