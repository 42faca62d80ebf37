#!/bin/sh
# The LibOS's /cap devices (specs/libos.md §8): images/cap-stream's single and dual deployments,
# deployed from their YAML by `cvmctl monitor -y` and as signed images by `cvmctl build` and
# `cvmctl run`; then tests/linux/capdev's good and bad input through the devices, each result
# exact, with the LibOS and the other cVMs of its deployment running on.
. "$(dirname "$0")/lib.sh"

IMG=$BUILD/images/cap-stream
export CVMCTL_ROOT="$TMP/root"
"$CVMCTL" keygen --out "$TMP/k" >/dev/null
tab=$(printf '\t')

# masked CMD...: runs CMD, its stdout with every address as 0xADDR (kept as they were in
# $TMP/addrs, one a line); the status is CMD's.
masked() {
    "$@" >"$TMP/raw"
    raw_status=$?
    grep -o '0x[0-9a-f]*' "$TMP/raw" >"$TMP/addrs"
    sed 's/0x[0-9a-f]*/0xADDR/g' "$TMP/raw"
    return $raw_status
}

# build_signed NAME [BUILD FILE]: builds build/images/cap-stream as NAME and signs it.
build_signed() {
    "$CVMCTL" build -q -t "$1" ${2:+-f "$IMG/$2"} "$IMG" >/dev/null &&
        "$CVMCTL" sign --key "$TMP/k.key" "$1" >/dev/null
}

# The receive buffer is posted, filled and printed where it is: its three addresses are one.
same_buffer() {
    [ "$(sed -n 1p "$TMP/addrs")" = "$(sed -n 3p "$TMP/addrs")" ] &&
        [ "$(sed -n 1p "$TMP/addrs")" != "$(sed -n 2p "$TMP/addrs")" ]
}

single_out="Testing CF_STREAMs, single thread
RECV:${tab}clear ('') and publish ptr(0xADDR) with key 'key1' via /cap/ch1
SEND:${tab}sending ptr (0xADDR) with 'text for ptr' via /cap/ch2 (3)
RECV:${tab}Check ptr (0xADDR) after wait: 'text for ptr'
"
dual_out=$(i=0 && while [ $i -lt 20 ]; do
    echo "$i:${tab}recv = 'send $i'"
    i=$((i + 1))
done)
dual_out="$dual_out
"

# ---- images/cap-stream ---------------------------------------------------------------------------
expect "single: monitor -y" 0 "$single_out" "" -- \
    masked "$CVMCTL" monitor -q -t 60 -y "$IMG/cap-stream.yaml"
check "single: the message lands in the posted buffer" same_buffer
expect "dual: monitor -y, receiver and sender each on its LibOS" 0 "$dual_out" "" -- \
    "$CVMCTL" monitor -q -t 60 -y "$IMG/cap-stream-dual.yaml"
check "single: build and sign" build_signed cap-stream
expect "single: run" 0 "$single_out" "" -- \
    masked "$CVMCTL" run -q --verify "key:$TMP/k.pub" cap-stream
check "dual: build -f cvm-dual.yaml and sign" build_signed cap-stream-dual cvm-dual.yaml
expect "dual: run" 0 "$dual_out" "" -- \
    "$CVMCTL" run -q --verify "key:$TMP/k.pub" cap-stream-dual
# The LibOS writes standard error to the cVM's standard output too (libos.md §5).
expect "single: run without a mode: usage, status 2" 2 "usage: cap_stream 1 | cap_stream 3 COUNT | cap_stream 4 COUNT
  1  one thread: receive and send through /cap/ch1 and /cap/ch2
  3  receive COUNT messages on key 'key1'
  4  send COUNT messages to key 'key1'
" "" -- "$CVMCTL" run -q --verify "key:$TMP/k.pub" cap-stream -- /app/cap_stream

# ---- tests/linux/capdev --------------------------------------------------------------------------
cp "$BUILD/runtimes/libos/libos.so" "$BUILD/tests/linux/capdev" "$TMP/"

# capdev_yaml FILE ARGS [PEER_ARGS]: capdev ARGS on its LibOS, laid out as capdev expects (the
# program's window at 0x10000000, the LibOS's at 0x20000000); with PEER_ARGS a second capdev
# on a LibOS of its own.
capdev_yaml() {
    {
        echo "cVMs:"
        echo "  - {name: libos, runtime: libos.so, callback_in: app, heap_group: os, wait: -1,"
        echo "     isolation: {base: 0x20000000, size: 0x10000000}}"
        echo "  - {name: app, runtime: capdev, abi: linux, args: capdev $2, callback_out: libos,"
        echo "     heap_group: os, isolation: {base: 0x10000000, size: 0x10000000}}"
        if [ $# -gt 2 ]; then
            echo "  - {name: libos2, runtime: libos.so, callback_in: peer, heap_group: os2,"
            echo "     wait: -1, isolation: {base: 0x40000000, size: 0x10000000}}"
            echo "  - {name: peer, runtime: capdev, abi: linux, args: capdev $3,"
            echo "     callback_out: libos2, heap_group: os2,"
            echo "     isolation: {base: 0x30000000, size: 0x10000000}}"
        fi
        echo "heaps:"
        echo "  - {name: os, base: 0x50000000, size: 0x8000000}"
        if [ $# -gt 2 ]; then echo "  - {name: os2, base: 0x58000000, size: 0x8000000}"; fi
    } >"$1"
}

# CAP_Files: the devices, ADVERTISE, PROBE, the copies at the end and past it, revocation, and
# what close and munmap withdraw.
cat >"$TMP/files" <<'EOF'
stat /cap/cf1: chr 0666 rdev 240:1
stat /cap/cf2: chr 0666 rdev 240:2
stat /cap/ch1: chr 0666 rdev 241:1
stat /cap/ch2: chr 0666 rdev 241:2
stat /cap/ch3: chr 0666 rdev 241:3
stat /cap/ch4: chr 0666 rdev 241:4
getdents64 /cap: ./d ../d cf1/c cf2/c ch1/c ch2/c ch3/c ch4/c
read before any ioctl: -ENOTCONN
revoke before any ioctl: -ENOTCONN
probe an unknown key: -ENOENT
advertise with rights 0: -EINVAL
advertise with rights call: -EINVAL
advertise 0 bytes: -EINVAL
advertise a bad argument: -EFAULT
advertise a bad name: -EFAULT
advertise the libos's memory: -EFAULT
advertise a 256-byte name: -ENAMETOOLONG
advertise a 255-byte name: 0
advertise an empty name: -EINVAL
advertise file1: 0
advertise again on its descriptor: -EBUSY
advertise file1 on another descriptor: -EEXIST
probe file1: 0 size 64 rights rw-
probe again on its descriptor: -EBUSY
read 10: 10 '0123456789'
read 10 more: 10 'abcdefghij'
lseek SEEK_END -4: 60
read 10 at 60: 4 'YZ!?'
read at the end: 0
lseek past the end: 100
read past the end: 0
lseek before the start: -EINVAL
lseek SEEK_DATA: -EINVAL
pread at 1000: 0
pread at -1: -EINVAL
pwrite at 64: -ENOSPC
pwrite 10 at 60: 4
pwrite XYZ at 0: 3
the owner's buffer: 'XYZ3456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXWXYZ'
lseek SEEK_SET 3: 3
write abc: 3
lseek SEEK_CUR 0: 6
lseek SEEK_SET 0: 0
readv 3+4: 7 'XYZ' 'abc6'
writev 1+1 at 62: 2
writev at the end: -ENOSPC
owner reads 64: 64 'XYZabc6789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXWX[]'
read into a bad buffer: -EFAULT
read into the libos's memory: -EFAULT
write from a bad buffer: -EFAULT
readv of a bad iovec: -EFAULT
ioctl unknown request: -ENOTTY
ioctl a stream request: -ENOTTY
probe on a bound descriptor with a bad argument: -EBUSY
probe with a bad argument on a fresh descriptor: -EFAULT
probe with a read-only argument: -EFAULT
probe file1 read-only descriptor: 0 size 64 rights rw-
write on a read-only descriptor: -EBADF
advertise ro read-only: 0
probe ro: 0 size 16 rights rw-
read ro: 16 'read only'
write ro through the libos's own handle: 1
read ro after its owner closed: -EACCES
revoke through the prober: -EPERM
revoke through the owner: 0
read after revocation: -EACCES
write after revocation: -EACCES
owner reads after revocation: -EACCES
revoke again: -EACCES
advertise file1 anew: 0
the old prober reads: -EACCES
probe file1 anew: 0 size 32 rights rw-
read after the owner closed: -EACCES
advertise a mapped page: 0
probe mapped: 0 size 4096 rights rw-
read mapped: 6 'mapped'
munmap it: 0
read mapped after munmap: -EACCES
EOF
capdev_yaml "$TMP/files.yaml" files
expect "capdev files: CAP_Files on /cap/cf1 and /cap/cf2" 0 "$(cat "$TMP/files")
" "" -- "$CVMCTL" monitor -q -t 60 -y "$TMP/files.yaml"

# Streams: POST, CONNECT, messages and their bounds, a reader copying, 24 readers waiting at once
# (more than the LibOS's 16 stack slots), the queue's limit, revocation, close and munmap.
cat >"$TMP/streams" <<'EOF'
read with nothing posted: -ENOBUFS
write unconnected: -EDESTADDRREQ
connect to an unknown key: -ENOENT
post a bad argument: -EFAULT
post 0 bytes: -EINVAL
post the libos's memory: -EFAULT
post a bad buffer: -EFAULT
ioctl unknown request: -ENOTTY
ioctl a CAP_File request: -ENOTTY
post s1: 0
connect s1: 0 size 0 rights -ws
write hello: 6
read it: 6 'hello'
read with no buffer queued: -ENOBUFS
post s1: 0
write 17 bytes into 16: -EMSGSIZE
write 16 bytes: 16
read them: 16 '0123456789abcdef'
post s1: 0
write 0 bytes: -EINVAL
write from a bad buffer: -EFAULT
write message: 8
read into a bad buffer: -EFAULT
read 3 into another buffer: 8 'mes'
post b1: 0
post b2: 0
write one: 4
write two: 4
read first: 4 'one'
read second: 4 'two'
b1 'one' b2 'two'
post s1: 0
write wake to a waiting reader: 5
the waiting reader got: 5 'wake'
post 24 buffers: 0
write 24 messages: 4
24 waiting readers got: 24 distinct messages
post on the sender: -EINVAL
connect on the receiver: -EINVAL
connect again: -EISCONN
post another key on the receiver: -EINVAL
post s1 on a second descriptor: -EBUSY
connect with a bad argument: -EFAULT
lseek: -ESPIPE
pread: -ESPIPE
writev: -EINVAL
revoke through the sender: -EPERM
post 65 buffers: 64 queued, then the last: -ENOSPC
revoke the receiver: 0
read after revocation: -EACCES
write after revocation: -EACCES
post after revocation: -EACCES
post s5: 0
connect s5: 0 size 0 rights -ws
write early: 6
revoke s5 while a sender waits: 0
the waiting sender got: -EACCES
read after revocation: -EACCES
post s3: 0
connect s3: 0 size 0 rights -ws
write after the receiver closed: -EACCES
post s4 in a mapped page: 0
connect s4: 0 size 0 rights -ws
munmap it: 0
write after munmap: -EACCES
read after munmap: -EACCES
post s6 in .rodata: 0
connect s6: 0 size 0 rights -ws
write into it: -EFAULT
read the dropped buffer: -EFAULT
read with none queued: -ENOBUFS
EOF
capdev_yaml "$TMP/streams.yaml" streams
expect "capdev streams: streams on /cap/ch1../cap/ch4" 0 "$(cat "$TMP/streams")
" "" -- "$CVMCTL" monitor -q -t 60 -y "$TMP/streams.yaml"

# All of it beside another LibOS and its program, which then still serve a CAP_File of theirs
# (read-only: -EPERM for a write) and receive a message.
capdev_yaml "$TMP/all.yaml" "all k" "peer k 1"
expect "capdev all: bad input leaves the LibOS and the other cVMs running" 0 "$(cat "$TMP/files" "$TMP/streams")
probe the peer's k-ro: 0 size 16 rights r--
read it: 16 'peer data'
write it: -EPERM
revoke it: -EPERM
peer received: 6 'alive'
" "" -- "$CVMCTL" monitor -q -t 60 -y "$TMP/all.yaml"
finish
