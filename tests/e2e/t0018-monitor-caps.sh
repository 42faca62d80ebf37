#!/bin/sh
# CAP_Files, CAP_Calls and streams between baremetal cVMs (specs/hostcall-abi.md §8): probers
# get handles checked for rights and bounds, owners revoke, calls run in the callee's window,
# the stream examples of the LibOS run from baremetal, and every bad input is an error code
# that leaves the monitor and the other cVMs running. Roles: tests/runtimes/caps.c.
. "$(dirname "$0")/lib.sh"

cp "$RT/libcaps.so" "$TMP/"
# pair FILE NAME1 ARGS1 NAME2 ARGS2 [top-level lines]: two cVMs of libcaps.so; the second starts
# a second after the first, which publishes what the second needs before it waits.
pair() {
    file=$1 name1=$2 args1=$3 name2=$4 args2=$5
    shift 5
    {
        echo "cVMs:"
        echo "  - name: $name1"
        echo "    runtime: libcaps.so"
        echo "    args: caps $args1"
        echo "    wait: 1"
        echo "    isolation: {base: 0x10000000, size: 0x10000000}"
        echo "  - name: $name2"
        echo "    runtime: libcaps.so"
        echo "    args: caps $args2"
        echo "    isolation: {base: 0x20000000, size: 0x10000000}"
        for line in "$@"; do printf '%s\n' "$line"; done
    } >"$file"
}
# A deployment that hangs is stopped: the test fails with status 137 instead of hanging.
monitor() {
    "$CVMCTL" monitor -q --timeout 30 -y "$@"
}

pair "$TMP/files.yaml" owner file-owner prober file-prober "capfiles:" "  - name: test1" \
    "    size: 32" '    data: "Hello world\n"' "  - name: big" "    size: 10000"
expect "CAP_Files: rights, reads and writes both ways, declared files, revocation, owner's end" \
    0 "owner: advertise ro (read): handle
owner: advertise wo (write): handle
owner: advertise rw (read, write): handle
owner: waiting
probe ro: size 32 rights 1
probe wo: size 32 rights 2
probe rw: size 32 rights 3
probe test1 (declared): size 32 rights 3
probe big (declared): size 10000 rights 3
probe ro again gives the same handle: 1
read ro: 32 'owner's read-only bytes\0\0\0\0\0\0\0\0\0'
write ro: -1
read wo: -1
write wo at 2: 11
read rw at 8: 12 'shared bytes'
write rw at 0: 6
read rw: 32 'PROBERs shared bytes\0\0\0\0\0\0\0\0\0\0\0\0'
read rw, length 0: 0
read test1: 32 'Hello world\n\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
write test1: 5
read test1 again: 12 'Howdy world\n'
read big at 9998: 2 '\0\0'
write big at 9999: 1
read big at 9998 again: 2 '\0Z'
revoke test1 (no owner): -1
owner: ro holds 'owner's read-only bytes\0\0\0\0\0\0\0\0\0'
owner: wo holds '\0\0from prober\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'
owner: rw holds 'PROBERs shared bytes\0\0\0\0\0\0\0\0\0\0\0\0'
owner: revoke rw: 0
owner: revoke rw again: -13
owner: read through its revoked handle: -13
read rw after revocation: -13
write rw after revocation: -13
probe rw after revocation: -2
read ro (not revoked): 9 'owner's r'
owner: advertise rw again: handle
owner: its new handle differs from the revoked one: 1
probe rw again: size 16 rights 3
the new handle differs from the old: 1
read the new rw: 16 'second object\0\0\0'
read the old rw: -13
owner: ends
send to the owner's channel after its end: -13
read ro after the owner's end: -13
write wo after the owner's end: -13
read the new rw after the owner's end: -13
probe ro after the owner's end: -2
probe the owner's channel after its end: -2
read test1 after the owner's end: 12 'Howdy world\n'
" "" -- monitor "$TMP/files.yaml"

pair "$TMP/call.yaml" callee call-callee caller call-caller
expect "CAP_Calls run in the callee; a fault fails the call only; -ELOOP, -EAGAIN" 0 \
    "callee: advertise add: handle
callee: advertise crash: handle
callee: advertise nest: handle
callee: waiting
caller: in cVM 2 ('caller')
probe add: size 0 rights 4
add: in cVM 1 ('callee'), local variable in its window: 1, args 1 2 3 4
call add(1, 2, 3, 4): 1234
probe crash: size 0 rights 4
crash: writing to NULL
call crash: -125
caller: still running
add: in cVM 1 ('callee'), local variable in its window: 1, args 5 6 7 8
call add(5, 6, 7, 8): 5678
call nest(7): 8 nested calls: 7
call nest(8): 9 nested calls: -40
add: in cVM 1 ('callee'), local variable in its window: 1, args -1 0 0 0
call add(-1, 0, 0, 0): -1000
callee: still running, add ran 3 times
callee: 15 threads hold every other stack slot
call add with no free slot in the callee: -11
callee: ends, its sleeping threads with it
send to the callee's channel after its end: -13
call add after the callee's end: -13
" "" -- monitor "$TMP/call.yaml"

yaml "$TMP/single.yaml" cap_stream_test libcaps.so 0x20000000 "args: caps stream-single"
expect "stream, single mode: a cVM sends to itself; queued buffers fill in order" 0 \
    "RECV:   clear ('') and publish ptr(0x28005000) with key 'key1'
SEND:   sending ptr (0x28405000) with 'text for ptr'
RECV:   Check ptr (0x28005000) after wait: 'text for ptr'
RECV:   13 bytes
queue[0]: 6 'first'
queue[1]: 7 'second'
queue[2]: 6 'third'
" "" -- monitor "$TMP/single.yaml"

# "N:" padded to eight columns, as the LibOS example prints it.
i=0 want=""
while [ "$i" -lt 20 ]; do
    want="$want$(printf '%-8s' "$i:")recv = 'send $i'
"
    i=$((i + 1))
done
pair "$TMP/dual.yaml" recv "stream-recv 20" send "stream-send 20"
expect "stream, dual mode: the receiver prints each message of the sender" 0 "$want" "" -- \
    monitor "$TMP/dual.yaml"

pair "$TMP/count.yaml" recv "stream-count 500" send "stream-threads 500"
expect "four sender threads, eight queued buffers: every message, each thread's in order" 0 \
    "sender 0: 500 messages
sender 1: 500 messages
sender 2: 500 messages
sender 3: 500 messages
out of order or garbled: 0
" "" -- monitor "$TMP/count.yaml"

pair "$TMP/stall.yaml" recv stream-stall send "stream-send 3"
start=$(date +%s)
"$CVMCTL" monitor -q --timeout 2 -y "$TMP/stall.yaml" >"$TMP/stall.out" 2>"$TMP/stall.err"
status=$?
check "a sender waiting for a buffer is stopped at the timeout (137)" [ "$status" = 137 ]
check "with the timeout's error" grep -qx \
    "cvmctl: error: deployment timed out after 2 s; its cVMs were stopped" "$TMP/stall.err"
check "after the first message was delivered" grep -qx "stall: got 7 bytes" "$TMP/stall.out"
check "the stop took under 5 s" [ $(($(date +%s) - start)) -lt 5 ]

pair "$TMP/bad.yaml" owner bad-owner prober bad-prober
expect "every bad input is an error code; the monitor and both cVMs survive" 0 \
    "advertise shared: handle
advertise readonly: handle
advertise writeonly: handle
advertise fn: handle
advertise an empty name: -22
advertise a 256-byte name: -36
probe a 256-byte name: -36
post a 256-byte name: -36
advertise a 255-byte name: handle
revoke it: 0
probe an empty name: -22
probe an unknown name: -2
probe a name outside the window: -14
advertise outside the window: -14
advertise across the window end: -14
advertise size 0: -22
advertise rights 0: -22
advertise rights 8: -22
advertise rights 16: -22
advertise rights 5 (call and read): -22
advertise rights -1: -22
advertise a call with size 8: -22
advertise a call of data: -14
advertise a call of the heap: -14
advertise a call outside the window: -14
advertise the same name: -17
advertise a CAP_Call's name: -17
read with a number never issued: -9
read with handle 0: -9
read with handle -1: -9
revoke a number never issued: -9
read length 0: 0
read beyond the bounds: -22
read at the end: -22
write beyond the bounds: -22
read with offset+len overflowing: -22
write with offset+len overflowing: -22
read into memory outside the window: -14
read into the boot block: -14
read across the window end: -14
write from memory outside the window: -14
call a CAP_File: -1
read a CAP_Call: -1
write a CAP_Call: -1
call fn through its owner's handle: 10
post an empty name: -22
post size 0: -22
post a buffer outside the window: -14
post a done word unaligned: -22
post a done word outside the window: -14
post a done word in the boot block: -14
post under a CAP_File's name: -17
post 4 bytes to small: handle
post 64 bytes to small: handle
advertise a stream's name: -17
send 8 bytes into the 4-byte buffer: -90
send 0 bytes: -22
send at offset 1: -22
send from outside the window: -14
read a stream: -1
send 3 bytes: 3
send 8 bytes: 8
the 4-byte buffer got: 3 'abc\0'
the 64-byte buffer got: 8 '12345678'
revoke small: 0
send to small after revocation: -13
revoke small again: -13
names advertised up to the limit: 60
the next name: -28
a stream's name beyond the limit: -28
revoked them: 60
post the next buffer: -28
buffers posted up to the limit: 64
revoke many: 0
advertise guarded: handle
post a heap page to fragile: handle
post 16 bytes to fragile: handle
make both pages read-only: 0
owner: waiting
probe the owner's channel (a stream): size 0 rights 10
probe shared: size 64 rights 3
probe readonly: size 16 rights 1
probe writeonly: size 16 rights 2
probe fn: size 0 rights 4
probe into the boot block: -14
probe into memory outside the window: -14
write with a read-only handle: -1
read with a write-only handle: -1
call a CAP_File: -1
read a CAP_Call: -1
call fn: 10
revoke without the owner's handle: -1
revoke a CAP_Call without the owner's handle: -1
revoke a stream without the owner's handle: -1
read a stream: -1
the owner's handle number is not one of ours: 1
read with the owner's handle number: -9
write with the owner's handle number: -9
revoke with the owner's handle number: -9
write from the boot block (read-only, as a source): 8
read into a guard page: -14
call a stream: -1
probe guarded: size 4096 rights 3
read guarded: 5 'page\0'
write into guarded, read-only to its owner: -14
send into a read-only buffer: -14
send again: 7
read into another cVM's window: -14
write from another cVM's window: -14
post to another cVM's stream: -17
advertise another cVM's stream name: -17
owner: fragile's second buffer got: 7 'second\0'
owner: wait for fragile's dropped first buffer: -14
owner: revoke shared: 0
owner: revoke fn: 0
read after revocation: -13
write after revocation: -13
call after revocation: -13
probe after revocation: -2
read readonly (not revoked): 4
monitor survived
send to the owner's channel after its end: -13
monitor survived
" "" -- monitor "$TMP/bad.yaml"

yaml "$TMP/handles.yaml" one libcaps.so 0x20000000 "args: caps handles"
printf 'capfiles:\n  - name: decl\n' >>"$TMP/handles.yaml"
expect "a deployment issues 1024 handles over its life" 0 "handles issued: 1024
the next advertise: -28
probe an unknown name still: -2
probe a declared CAP_File: -28
post to a new stream: -28
" "" -- monitor "$TMP/handles.yaml"
# The order of the checks of stream_post and of a send; a post that fails leaves no stream.
cat >"$TMP/order.yaml" <<'YAML'
cVMs:
  - {name: one, runtime: libcaps.so, args: caps check-order,
     isolation: {base: 0x10000000, size: 0x10000000}}
YAML
expect "stream_post and send check in the documented order; a failed post publishes nothing" 0 \
    "post 'leak' with the done word in the boot block: -14
probe 'leak' afterwards: -2
post with the done word inside the buffer: -22
post a 4-byte buffer: handle
send 8 bytes from outside the window (-EMSGSIZE first): -90
revoke: 0
send 2 bytes from outside the window (-EACCES first): -13
send 0 bytes after revocation: -13
send at offset 1 after revocation: -13
" "" -- monitor "$TMP/order.yaml"

pair "$TMP/big.yaml" owner big-owner readers big-readers
expect "an owner's end revokes while four threads copy from it without pause" 0 \
    "owner: advertise 64 MiB: handle
owner: ends
reader 0: last read -13
reader 1: last read -13
reader 2: last read -13
reader 3: last read -13
" "" -- "$CVMCTL" monitor -q --timeout 20 -y "$TMP/big.yaml"

# CAP_Calls made by a syscall server while it serves a Linux program's trapped syscall: the
# server then runs on its signal stack, and the callee's fault must not land on the frames it
# returns to. The program also leaves a clear-child-tid address on a read-only page, which the
# monitor cannot write when the thread ends.
cp "$RT/liblinuxserv.so" "$BUILD/tests/linux/trapcaps" "$TMP/"
cat >"$TMP/trapcaps.yaml" <<'YAML'
cVMs:
  - {name: callee, runtime: libcaps.so, args: caps trap-callee, wait: 1,
     isolation: {base: 0x30000000, size: 0x10000000}}
  - {name: serv, runtime: liblinuxserv.so, callback_in: app, wait: -1,
     isolation: {base: 0x20000000, size: 0x10000000}}
  - {name: app, runtime: trapcaps, abi: linux, args: trapcaps, callback_out: serv,
     isolation: {base: 0x10000000, size: 0x10000000}}
YAML
expect "a CAP_Call from a server serving a trapped syscall: a fault fails the call only" 0 \
    "callee: advertise add: handle
callee: advertise crash: handle
callee: advertise nest: handle
crash: writing to NULL
CAP_Call of crash while the syscall is served: -125
add: in cVM 1 ('callee'), local variable in its window: 1, args 1 2 3 4
CAP_Call of add after it: 1234
CAP_Call of an unknown name: -2
CAP_Call of nest, which calls itself 4 deep: 4
clear-child-tid on a read-only word, then the end
callee: ends
" "" -- monitor "$TMP/trapcaps.yaml"

finish
