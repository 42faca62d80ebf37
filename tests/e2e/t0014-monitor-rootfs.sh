#!/bin/sh
# Hostcalls 900/901: a cVM reads its deployment's root.cpio, and hostile reads get -errno.
. "$(dirname "$0")/lib.sh"

# A monitor YAML carries no rootfs: both calls say -ENOENT, before looking at the buffer.
cp "$RT/librootfs.so" "$TMP/"
yaml "$TMP/none.yaml" r librootfs.so 0x10000000
expect "without a rootfs 900 and 901 return -ENOENT" 0 "rootfs size: -2
read without rootfs: -2
bad buffer without rootfs: -2
bad range without rootfs: -2
" "" -- "$CVMCTL" monitor -q -y "$TMP/none.yaml"

# An image with a rootfs folder, packed by the build (specs/image-format.md §4).
export CVMCTL_ROOT="$TMP/store"
ctx="$TMP/ctx"
mkdir -p "$ctx/root/dir"
cp "$RT/librootfs.so" "$ctx/"
printf 'hello, cVM\n' >"$ctx/root/dir/hello.txt"
awk 'BEGIN { for (i = 0; i < 1000; i++) printf "%04d\n", i }' >"$ctx/root/dir/count.txt"
ln -s dir/hello.txt "$ctx/root/link"
chmod 755 "$ctx/root/dir"
chmod 644 "$ctx/root/dir/hello.txt" "$ctx/root/dir/count.txt"
cat >"$ctx/cvm.yaml" <<EOY
cVMs:
  - name: r
    runtime: librootfs.so
    isolation: {base: 0x10000000, size: 0x10000000}
rootfs: root
EOY
"$CVMCTL" build -q -t rootfs "$ctx" >/dev/null
"$CVMCTL" keygen --out "$TMP/signer" >/dev/null
"$CVMCTL" sign --key "$TMP/signer.key" rootfs >/dev/null

# The runtime reads the archive in 999-byte pieces, lists it and checks what arrived
# (FNV-1a of the whole archive, and of each entry's data), then tries hostile reads.
expect "the cVM reads root.cpio through 900/901; hostile reads get -EFAULT or -EINVAL" 0 \
    "rootfs size: 5632
read 5632 bytes, fnv1a 62c81303
dir dir size 0 fnv1a 811c9dc5
file dir/count.txt size 5000 fnv1a 86fc62d1
file dir/hello.txt size 11 fnv1a bf4d4da1
symlink link size 13 fnv1a bdac66e9
entries: 4
buffer outside window: -14
buffer across window end: -14
buffer in guard page: -14
buffer in boot block: -14
buffer in code: -14
null buffer, len 0: -14
len past end: -22
offset+len past end: -22
offset past end: -22
negative len: -22
negative offset: -22
offset+len wraps: -22
bad range and bad buffer: -22
len 0 at end: 0
last byte: 1
byte at offset 1: 1
it is '7'
" "" -- "$CVMCTL" run -q --pull never --verify "key:$TMP/signer.pub" rootfs
finish
