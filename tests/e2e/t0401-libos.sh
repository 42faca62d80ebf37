#!/bin/sh
# The LibOS (specs/libos.md) under a real musl program, tests/linux/libostest: its files, memory,
# time, futexes, threads and bad pointers, mode by mode, each run's stdout and status exact; the
# syscalls it does not implement; and the deployments it refuses, stops or lets end.
. "$(dirname "$0")/lib.sh"

cp "$BUILD/runtimes/libos/libos.so" "$BUILD/tests/linux/libostest" "$TMP/"

# The rootfs: files, an executable, symlinks of every kind, an empty folder. The archive keeps
# the modes (image-format.md §4), so they are set here whatever the umask.
R=$TMP/rootfs
mkdir -p "$R/bin" "$R/etc" "$R/tmp"
printf 'hello rootfs' >"$R/etc/data"
for c in a b c d e; do head -c 1000 /dev/zero | tr '\0' "$c"; done >"$R/etc/big"
printf 'tool' >"$R/bin/tool"
ln -s data "$R/etc/link"
ln -s link "$R/etc/chain"
ln -s /etc/data "$R/etc/abs"
ln -s ../bin "$R/etc/dirlink"
ln -s loop "$R/etc/loop"
ln -s nowhere "$R/etc/dangling"
chmod 0755 "$R/bin" "$R/etc" "$R/tmp" "$R/bin/tool"
chmod 0644 "$R/etc/data" "$R/etc/big"

# libos_yaml FILE ARGS [extra lines of the LibOS cVM]: the LibOS and the program in one heap
# group, laid out as libostest's badptr mode expects: the program's window at 0x10000000, the
# LibOS's at 0x20000000, their 128 MiB heap at 0x40000000.
libos_yaml() {
    file=$1 args=$2
    shift 2
    {
        echo "cVMs:"
        echo "  - name: libos"
        echo "    runtime: libos.so"
        echo "    callback_in: app"
        echo "    heap_group: os"
        echo "    wait: -1"
        for line in "$@"; do echo "    $line"; done
        echo "    isolation: {base: 0x20000000, size: 0x10000000}"
        echo "  - name: app"
        echo "    runtime: libostest"
        echo "    abi: linux"
        echo "    args: $args"
        echo "    callback_out: libos"
        echo "    heap_group: os"
        echo "    isolation: {base: 0x10000000, size: 0x10000000}"
        echo "heaps:"
        echo "  - name: os"
        echo "    base: 0x40000000"
        echo "    size: 0x8000000"
        echo "rootfs: rootfs"
    } >"$file"
}

# monitor FILE [SEC]: runs the deployment, stopped after SEC seconds (default a minute) so that
# a LibOS that hangs fails its check instead of holding up the suite.
monitor() {
    "$CVMCTL" monitor -q -t "${2:-60}" -y "$1"
}

# run MODE [ARG...]: libostest MODE ARG... on the LibOS.
run() {
    libos_yaml "$TMP/run.yaml" "libostest $*"
    monitor "$TMP/run.yaml"
}

# ---- files ---------------------------------------------------------------------------------------
# The ramfs: the rootfs's files and symlinks, files made at run time, descriptors, folders,
# limits, libc's stdio and readdir over them, the devices and the consoles (specs/libos.md §5).
cat >"$TMP/want" <<'EOF'
open /etc/passwd: -ENOENT
read /etc/data: hello rootfs
stat /etc/data: reg 0644 size 12 nlink 1 uid 0 gid 0 mtime 0
stat /bin/tool: reg 0755 size 4 nlink 1 uid 0 gid 0 mtime 0
stat /etc: dir 0755 size 4096 nlink 2 uid 0 gid 0 mtime 0
access /bin/tool X_OK: 0
access /etc/data X_OK: -EACCES
access /etc/data R_OK|W_OK: 0
getdents64 /: ./d ../d dev/d cap/d bin/d etc/d tmp/d
getdents64 /etc: ./d ../d abs/l big/f chain/l dangling/l data/f dirlink/l link/l loop/l
stat /etc/link: reg 0644 size 12 nlink 1 uid 0 gid 0 mtime 0
lstat /etc/link: lnk 0777 size 4 nlink 1 uid 0 gid 0 mtime 0
readlink /etc/link: 4 "data"
readlink /etc/data: -EINVAL
read /etc/link: hello rootfs
read /etc/abs: hello rootfs
read /etc/dirlink/tool: tool
open /etc/loop: -ELOOP
open /etc/dangling: -ENOENT
open /etc/link O_NOFOLLOW: -ELOOP
open /etc/data/ (trailing slash): -ENOTDIR
stat /etc/chain (chain -> link -> data): reg 0644 size 12 nlink 1 uid 0 gid 0 mtime 0
stat /etc/dirlink/: dir 0755 size 4096 nlink 2 uid 0 gid 0 mtime 0
lstat /etc/dirlink/ (the slash follows it): dir 0755 size 4096 nlink 2 uid 0 gid 0 mtime 0
lstat /etc/dirlink: lnk 0777 size 6 nlink 1 uid 0 gid 0 mtime 0
stat /etc/link/: -ENOTDIR
stat /etc/loop/x: -ELOOP
readlink /etc/dirlink/: -EINVAL
stat /etc/../etc/./data: reg 0644 size 12 nlink 1 uid 0 gid 0 mtime 0
stat /../../etc//data: reg 0644 size 12 nlink 1 uid 0 gid 0 mtime 0
stat /etc/data/..: -ENOTDIR
unlink /etc/dirlink/: -ENOTDIR
chdir /etc/dirlink: 0
getcwd: 5 "/bin"
read ../etc/link (relative): hello rootfs
chdir /: 0
open /etc/link O_CREAT|O_EXCL: -EEXIST
mkdir /etc/dangling: -EEXIST
open /etc/dangling O_CREAT (makes its target): 3
write: 4
close: 0
stat /etc/nowhere: reg 0600 size 4 nlink 1 uid 0 gid 0 mtime 0
rename /etc/link /tmp/moved: 0
read /tmp/moved (data is relative to the link): -ENOENT
rename it back: 0
read /etc/link: hello rootfs
unlink /etc/chain: 0
stat /etc/link after unlink of chain: reg 0644 size 12 nlink 1 uid 0 gid 0 mtime 0
symlink /tmp/s: -ENOSYS
open /tmp/f O_CREAT|O_EXCL: 3
open /tmp/f O_CREAT|O_EXCL again: -EEXIST
stat /tmp/f: reg 0644 size 0 nlink 1 uid 0 gid 0 mtime 0
write hello world: 11
lseek SEEK_CUR 0: 11
lseek SEEK_SET 6: 6
read 5: 5 "world"
read at the end: 0
pwrite W at 6: 1
pread 64 at 0: 11 "hello World"
lseek SEEK_CUR after pread: 11
lseek SEEK_END +4: 15
write ! past the end: 1
pread 64 at 8: 8 "rld....!"
lseek SEEK_SET -1: -EINVAL
pread at -1: -EINVAL
ftruncate 4: 0
pread after ftruncate 4: 4 "hell"
ftruncate 7: 0
pread after ftruncate 7: 7 "hell..."
ftruncate -1: -EINVAL
fsync: 0
dup2 to 10: 10
lseek 10 SEEK_SET 2: 2
lseek fd SEEK_CUR (shared): 2
dup2 10 to itself: 10
fcntl 10 F_GETFD: 0
fcntl 10 F_SETFD FD_CLOEXEC: 0
fcntl 10 F_GETFD again: 1
fcntl 10 F_GETFL: 2
fcntl 10 F_SETFL O_APPEND: 0
write + with O_APPEND: 1
pread after append: 8 "hell...+"
fcntl 10 F_DUPFD 20: 20
fcntl 10 F_DUPFD 20 again: 21
fcntl 10 bad command: -EINVAL
close 21: 0
close 20: 0
close 10: 0
close 10 again: -EBADF
read fd 99: -EBADF
dup2 99 to 5: -EBADF
rename /tmp/f /tmp/g: 0
stat /tmp/f after rename: -ENOENT
pread /tmp/g through the old fd: 8 "hell...+"
unlink /tmp/g: 0
pread after unlink: 8 "hell...+"
close: 0
unlink /tmp/g again: -ENOENT
mkdir /tmp/d: 0
mkdir /tmp/d again: -EEXIST
stat /tmp/d: dir 0755 size 4096 nlink 2 uid 0 gid 0 mtime 0
mkdir /nope/d: -ENOENT
creat /tmp/d/a: 0
creat /tmp/d/b: 0
rename /tmp/d/a /tmp/d/c: 0
rename /tmp/d/a again: -ENOENT
mkdir /tmp/d/e: 0
getdents64 /tmp/d: ./d ../d b/f c/f e/d
rename /tmp/d /tmp/d/e/x: -EINVAL
rmdir /tmp/d: -ENOTEMPTY
unlink /tmp/d/e: -EISDIR
rmdir /tmp/d/b: -ENOTDIR
chdir /tmp/d: 0
getcwd: 7 "/tmp/d"
getcwd into 3 bytes: -ERANGE
unlink b (relative): 0
unlink ./c: 0
rmdir e: 0
getdents64 .: ./d ../d
chdir /: 0
rmdir /tmp/d: 0
stat /tmp/d after rmdir: -ENOENT
chdir /etc/data: -ENOTDIR
read a folder: -EISDIR
close the folder: 0
open /etc O_WRONLY: -EISDIR
unlink /etc: -EISDIR
write to an O_RDONLY fd: -EBADF
ftruncate an O_RDONLY fd: -EINVAL
close: 0
truncate /etc/data 5: 0
read /etc/data after truncate: hello
truncate /etc: -EISDIR
open a 256-byte name: -ENAMETOOLONG
open a 255-byte name: 3
unlink it: 0
open O_TMPFILE: -EOPNOTSUPP
open O_PATH: -EOPNOTSUPP
open access mode 3: -EINVAL
open empty path: -ENOENT
openat a file as the folder: -ENOTDIR
newfstatat AT_EMPTY_PATH: 0
  size: 5
newfstatat flags 1: -EINVAL
dup until it fails: 252 more, then -EMFILE
open after closing them: 4
readv 1025 iovecs: -EINVAL
readv -1 iovecs: -EINVAL
readv 0 iovecs: 0
ftruncate 64 MiB + 1: -EFBIG
pwrite at 64 MiB: -EFBIG
pwrite 2 bytes at 64 MiB - 1: 1
  size: 67108864
ftruncate a second file to 64 MiB (the heap is 128 MiB): -ENOSPC
ftruncate the first to 0: 0
ftruncate the second to 64 MiB now: 0
fopen /etc/big (musl): 1
  'c' bytes read: 1000
stat() /etc/link (musl): 5
readdir /etc entries (musl): 10
write /dev/null: 5
read /dev/null: 0
read /dev/zero: 16
  zero bytes: 16
read /dev/urandom: 32
  not all zero: 1
stat /dev/null: chr 0666 size 0 nlink 1 uid 0 gid 0 mtime 0
stat /dev/zero: rdev 1:5
read stdin: 0
read /dev/stdin: 0
lseek /dev/zero: 0
ioctl 1 TCGETS: -ENOTTY
ioctl 99 TCGETS: -EBADF
lseek stdout: -ESPIPE
through /dev/stdout
write /dev/stdout: 20
to stderr
write stderr: 10
writev
writev stdout: 7
EOF
expect "files: the rootfs, the ramfs and the devices" 0 "$(cat "$TMP/want")
" "" -- run files

# ---- memory --------------------------------------------------------------------------------------
# malloc, anonymous and file maps (copies: specs/libos.md §4), MAP_FIXED, madvise, code run from
# the heap after mprotect(PROT_EXEC), brk, and the LibOS's own pages left alone.
cat >"$TMP/want" <<'EOF'
malloc 10 MiB: 1
  sum of its bytes: 10485760
mmap anonymous 3 pages: ok
  reads zero: 1
munmap: 0
munmap again: 0
munmap unaligned: -EINVAL
munmap length 0: -EINVAL
mmap anonymous 3 pages again: ok
  reads zero (reused pages are cleared): 1
munmap: 0
mmap length 0: -EINVAL
mmap without a type: -EINVAL
mmap unknown prot: -EINVAL
mmap unaligned offset: -EINVAL
mmap 1 TiB: -ENOMEM
mmap MAP_FIXED in the program's window: -ENOMEM
mmap MAP_FIXED_NOREPLACE mid-heap is there: 1
mmap MAP_FIXED_NOREPLACE again: -EEXIST
mmap MAP_FIXED over it is there: 1
  reads zero: 1
mmap MAP_FIXED unaligned: -EINVAL
mmap MAP_FIXED on the LibOS's bookkeeping (the heap's last page): -ENOMEM
mmap MAP_FIXED past the heap: -ENOMEM
munmap mid-heap: 0
madvise MADV_DONTNEED: 0
  reads zero: 1
madvise unaligned: -EINVAL
mremap: -ENOSYS
munmap: 0
mmap /etc/big 2 pages: ok
  bytes 0 999 1000 4095 4096 4999 5000 8191: a a b e e e 0 0
mmap /etc/big at offset 4096: ok
  bytes 0 903 904 4095: e e 0 0
  a write to the private map leaves the file: e
mmap /etc/big MAP_SHARED PROT_READ: ok
pwrite Q to /etc/big at 0: 1
  the shared map is a copy made at mmap: a
mmap /etc/big MAP_SHARED PROT_WRITE: -ENODEV
mmap /etc/big MAP_SHARED_VALIDATE PROT_WRITE: -ENODEV
mmap /etc/big past its end: ok
  reads zero: 1
mmap /etc/big offset wrapping: -EOVERFLOW
mmap a closed fd: -EBADF
mmap an O_WRONLY fd: -EACCES
mmap /dev/null: -ENODEV
mmap a folder: -ENODEV
mmap /dev/zero: ok
  reads zero: 1
mprotect PROT_READ|PROT_EXEC: 0
  the code returns: 42
mprotect PROT_READ|PROT_WRITE: 0
munmap: 0
mmap PROT_EXEC: ok
  the code returns: 42
munmap: 0
mprotect unaligned: -EINVAL
mprotect an unmapped heap page: -ENOMEM
mprotect length 0: 0
mprotect in the program's window: 0
mprotect the LibOS's window: -ENOMEM
mprotect unknown prot: -EINVAL
malloc 1 GiB (musl): -ENOMEM
mmap 128 MiB (the whole heap): -ENOMEM
munmap the LibOS's pages: 0
madvise MADV_DONTNEED the LibOS's pages: 0
mprotect PROT_EXEC the LibOS's pages: -ENOMEM
mmap afterwards: ok
munmap afterwards: 0
read /etc/data afterwards: hello rootfs
brk(0) in the heap: 1
brk +100000 (relative): 100000
  last byte written: 1
brk far beyond the heap (relative): 100000
brk below the heap (relative): 100000
brk onto the LibOS's pages (relative): 100000
brk back (relative): 0
brk +100000 again: zeros: 100000
  last byte: 0
brk back again (relative): 0
mmap MAP_FIXED two pages above the break is there: 1
brk across it (relative): 0
brk up to it: 1
brk back (relative): 0
munmap it: 0
EOF
expect "memory: malloc, mmap, mprotect, madvise, brk" 0 "$(cat "$TMP/want")
" "" -- run memory

# ---- time ----------------------------------------------------------------------------------------
# Clocks and sleeps; durations are only ever compared with what was asked for.
cat >"$TMP/want" <<'EOF'
clock_gettime CLOCK_MONOTONIC: 0
  non-decreasing over 1000 calls: 1
clock_gettime CLOCK_REALTIME: 0
  after 2020: 1
clock_gettime CLOCK_BOOTTIME: 0
clock_gettime clock 99: -EINVAL
clock_gettime clock -1: -EINVAL
gettimeofday: 0
  after 2020: 1
gettimeofday NULL: 0
nanosleep 30 ms: 0
  slept >= 30 ms: 1
  rem untouched: 1
nanosleep tv_nsec 1e9: -EINVAL
nanosleep -1 s: -EINVAL
nanosleep 0: 0
clock_nanosleep TIMER_ABSTIME in the past: 0
  returned within 5 s: 1
clock_nanosleep TIMER_ABSTIME in 30 ms: 0
  woke at or after the deadline: 1
clock_nanosleep CLOCK_REALTIME relative 1 ms: 0
clock_nanosleep CLOCK_PROCESS_CPUTIME_ID: -EINVAL
clock_nanosleep clock 99: -EINVAL
clock_nanosleep flags 2: -EINVAL
clock_nanosleep tv_nsec -1: -EINVAL
clock_gettime() (musl) bad clock: -EINVAL
usleep(1000) (musl): 0
EOF
expect "time: clocks, nanosleep, clock_nanosleep" 0 "$(cat "$TMP/want")
" "" -- run time

# ---- futex ---------------------------------------------------------------------------------------
# Every futex command, its timeouts and bad arguments; a wait ended by another thread.
cat >"$TMP/want" <<'EOF'
FUTEX_WAIT 20 ms timeout: -ETIMEDOUT
  waited >= 20 ms: 1
FUTEX_WAIT value differs: -EAGAIN
FUTEX_WAIT (shared) value differs: -EAGAIN
FUTEX_WAIT tv_nsec 1e9: -EINVAL
FUTEX_WAIT -1 s: -EINVAL
FUTEX_WAIT unaligned: -EINVAL
FUTEX_WAKE nobody: 0
FUTEX_WAKE unaligned: -EINVAL
FUTEX_REQUEUE nobody: 0
FUTEX_CMP_REQUEUE val3 differs: -EAGAIN
FUTEX_CMP_REQUEUE val3 equal: 0
FUTEX_WAIT_BITSET bitset 0: -EINVAL
FUTEX_WAKE_BITSET bitset 0: -EINVAL
FUTEX_WAKE_BITSET all ones: 0
FUTEX_WAIT_BITSET deadline passed: -ETIMEDOUT
FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME 20 ms ahead: -ETIMEDOUT
  woke at or after the deadline: 1
FUTEX_WAKE|FUTEX_CLOCK_REALTIME: -ENOSYS
futex command 99: -ENOSYS
futex command 5 (FUTEX_WAKE_OP): -ENOSYS
FUTEX_WAIT woken by another thread: 0
  the word: 1
EOF
expect "futex: commands, timeouts, bad arguments" 0 "$(cat "$TMP/want")
" "" -- run futex

# ---- misc ----------------------------------------------------------------------------------------
# Identity, uname, getrandom, the signal calls that are accepted and forgotten, arch_prctl.
cat >"$TMP/want" <<'EOF'
getpid: 1
getppid: 0
getuid: 0
geteuid: 0
getgid: 0
getegid: 0
gettid: 1
sched_yield: 0
uname: 0
  Linux|cvm|6.1.0-cvm|#1 cvmctl LibOS|x86_64|(none)
getrandom 64: 64
getrandom 64 GRND_NONBLOCK|GRND_RANDOM|GRND_INSECURE: 64
  two draws differ: 1
getrandom flags 8: -EINVAL
getrandom 0 bytes: 0
getrandom 0 bytes at 16: 0
getrandom 3 MiB (one call): 1048576
getentropy (musl): 0
rt_sigaction SIGPIPE SIG_IGN: 0
  old action is zero: 1
rt_sigaction SIGPIPE query: 0
  still reads as the default: 1
rt_sigaction SIGKILL: -EINVAL
rt_sigaction SIGSTOP: -EINVAL
rt_sigaction SIGKILL query: 0
rt_sigaction signal 0: -EINVAL
rt_sigaction signal 65: -EINVAL
rt_sigaction sigsetsize 4: -EINVAL
rt_sigprocmask SIG_BLOCK all: 0
  old mask: 0
rt_sigprocmask how 3: -EINVAL
rt_sigprocmask how 3 without a set: 0
rt_sigprocmask sigsetsize 16: -EINVAL
sigaltstack query: 0
  sp 0 flags 2 size 0
signal() (musl): 1
raise(SIGUSR1) (musl, kill is not implemented): -ENOSYS
arch_prctl ARCH_GET_FS: -EINVAL
arch_prctl code 0: -EINVAL
set_robust_list length 24: 0
set_robust_list length 16: -EINVAL
mremap: -ENOSYS
EOF
expect "misc: identity, uname, getrandom, signals" 0 "$(cat "$TMP/want")
" "" -- run misc

# ---- threads -------------------------------------------------------------------------------------
# Forty threads block in pthread_cond_wait at once, more than the LibOS's 16 stack slots: the
# main thread's file calls are still served (waits hold no slot), then all are woken and joined.
cat >"$TMP/want" <<'EOF'
threads created: 40
threads waiting in pthread_cond_wait: 40
open while they wait: 3
write while they wait: 12
pread while they wait: 12
  read back: still served
close while they wait: 0
threads woken: 40
threads joined: 40
threads returned 1: 40
EOF
expect "threads: 40 blocked at once, file calls still served" 0 "$(cat "$TMP/want")
" "" -- run threads 40

# ---- stress --------------------------------------------------------------------------------------
# 24 threads in the LibOS at once, more than its 16 stack slots: appends to one file stay whole
# and in order, maps and malloc stay consistent.
cat >"$TMP/want" <<'EOF'
errors: 0
shared file records: 12000
records whole and in order: 12000
EOF
expect "stress: 24 threads of file and memory calls" 0 "$(cat "$TMP/want")
" "" -- run stress

# ---- bad pointers --------------------------------------------------------------------------------
# Pointers outside the program's memory (libostest.c names each address) fail with EFAULT,
# change nothing, and the program runs on.
cat >"$TMP/want" <<'EOF'
write from 16: -EFAULT
read into 16: -EFAULT
open path at 16: -EFAULT
stat path at 16: -EFAULT
stat into 16: -EFAULT
clock_gettime into 16: -EFAULT
nanosleep from 16: -EFAULT
futex wait at 16: -EFAULT
write from the LibOS's window: -EFAULT
read /dev/zero into the LibOS's window: -EFAULT
pread /dev/zero into the LibOS's window: -EFAULT
readv into the LibOS's window: -EFAULT
readv with iovecs in the LibOS's window: -EFAULT
uname into the LibOS's window: -EFAULT
clock_gettime into the LibOS's window: -EFAULT
gettimeofday into the LibOS's window: -EFAULT
getrandom into the LibOS's window: -EFAULT
getcwd into the LibOS's window: -EFAULT
stat into the LibOS's window: -EFAULT
open path in the LibOS's window: -EFAULT
nanosleep from the LibOS's window: -EFAULT
futex wake at the LibOS's window: -EFAULT
futex wait at the LibOS's window: -EFAULT
futex wait, timeout in the LibOS's window: -EFAULT
rt_sigaction old into the LibOS's window: -EFAULT
rt_sigprocmask set from the LibOS's window: -EFAULT
set_tid_address to the LibOS's window: -EFAULT
clone with a parent tid in the LibOS's window: -EFAULT
read /dev/zero into a free heap page: -EFAULT
write from a free heap page: -EFAULT
uname into a free heap page: -EFAULT
getrandom into a free heap page: -EFAULT
futex wake at a free heap page: -EFAULT
read /dev/zero into a fresh map: 4
read /dev/zero into it after munmap: -EFAULT
uname into the LibOS's heap pages: -EFAULT
read /dev/zero into the LibOS's heap pages: -EFAULT
uname into the gate: -EFAULT
clock_gettime into the gate: -EFAULT
read /dev/zero into the gate: -EFAULT
rt_sigaction old into the gate: -EFAULT
write from the gate to /dev/null (reading it is allowed): 16
read /dev/zero into slot 0's guard page: -EFAULT
uname into slot 1's guard page: -EFAULT
write across the window's end: -EFAULT
read /dev/zero across the window's end: -EFAULT
write from a wrapping range: -EFAULT
write from a non-canonical address: -EFAULT
read /dev/zero into a map's last 8 bytes and on: -EFAULT
  the map is untouched: 1
stat into a map's last 8 bytes and on: -EFAULT
  the map is untouched: 1
readv whose second buffer is the LibOS's: -EFAULT
  the first buffer is untouched: 1
open a path running off its map: -EFAULT
uname into the program's own memory: 0
  Linux cvm 6.1.0-cvm #1 cvmctl LibOS x86_64
still running: 1
EOF
expect "badptr: every bad pointer is EFAULT" 0 "$(cat "$TMP/want")
" "" -- run badptr

# ---- not implemented -----------------------------------------------------------------------------
# Syscalls the LibOS does not implement are ENOSYS, silently by default.
cat >"$TMP/want" <<'EOF'
fork (57): -ENOSYS
syscall 999: -ENOSYS
syscall 999 again: -ENOSYS
pipe (22): -ENOSYS
fork (57) again: -ENOSYS
EOF
expect "unknown: ENOSYS, nothing reported" 0 "$(cat "$TMP/want")
" "" -- run unknown

# With LIBOS_DEBUG=1 in the LibOS's environment each number is reported once, in its place among
# the program's lines (specs/libos.md §1).
libos_yaml "$TMP/debug.yaml" "libostest unknown" "env: [LIBOS_DEBUG=1]"
expect "unknown: LIBOS_DEBUG=1 reports each number once" 0 "libos: syscall 57 is not implemented
fork (57): -ENOSYS
libos: syscall 999 is not implemented
syscall 999: -ENOSYS
syscall 999 again: -ENOSYS
libos: syscall 22 is not implemented
pipe (22): -ENOSYS
fork (57) again: -ENOSYS
" "" -- monitor "$TMP/debug.yaml"

# ---- deployments the LibOS cannot serve ----------------------------------------------------------
# Its start fails with one line and status 1 (specs/libos.md §2); the program, started all the
# same, ends at its first syscall with status 1.
libos_yaml "$TMP/nocb.yaml" "libostest files"
sed -i '/callback_in/d' "$TMP/nocb.yaml"
expect "a LibOS without callback_in" 1 "libos: error: cannot get the application's window (get_my_inner; callback_in missing?): No such file or directory (-2)
" "" -- monitor "$TMP/nocb.yaml"

# The LibOS outside the heap group (its heap_group line, the first, dropped) has its own heap,
# inside its window.
libos_yaml "$TMP/nogroup.yaml" "libostest files"
sed -i '0,/heap_group/{/heap_group/d}' "$TMP/nogroup.yaml"
expect "a LibOS whose heap is not shared" 1 "libos: error: the heap is inside the libos's window: the libos and its application need a shared heap (heap_group)
" "" -- monitor "$TMP/nogroup.yaml"

libos_yaml "$TMP/heap1.yaml" "libostest files"
sed -i 's/size: 0x8000000/size: 0x1000/' "$TMP/heap1.yaml"
expect "a heap of one page (no room beyond the LibOS's bitmaps)" 1 "libos: error: cannot use the shared heap: Cannot allocate memory (-12)
" "" -- monitor "$TMP/heap1.yaml"

libos_yaml "$TMP/heap4.yaml" "libostest files"
sed -i 's/size: 0x8000000/size: 0x4000/' "$TMP/heap4.yaml"
expect "a heap of four pages (no room for the rootfs)" 1 "libos: error: cannot load the root file system: Cannot allocate memory (-12)
" "" -- monitor "$TMP/heap4.yaml"

# No rootfs is an empty root, but for /dev and /cap.
libos_yaml "$TMP/norootfs.yaml" "libostest ls / /dev /tmp"
sed -i '/^rootfs:/d' "$TMP/norootfs.yaml"
expect "no rootfs: an empty root, /dev and /cap" 0 "/: ./d ../d dev/d cap/d
/dev: ./d ../d null/c zero/c random/c urandom/c stdin/c stdout/c stderr/c
/tmp: -ENOENT
" "" -- monitor "$TMP/norootfs.yaml"

# ---- ends ----------------------------------------------------------------------------------------
# A read into the program's read-only data faults in the LibOS's code, as the program's own write
# would: the deployment ends (specs/libos.md §6, hostcall-abi.md §6).
libos_yaml "$TMP/rodata.yaml" "libostest rodata"
monitor "$TMP/rodata.yaml" >"$TMP/out" 2>"$TMP/err"
status=$?
check "read() into .rodata ends the deployment (139)" [ "$status" = 139 ]
check "and the program's lines before it are out" \
    [ "$(cat "$TMP/out")" = "reading into .rodata: read-only" ]
check "and the fault is the program's, in the LibOS's code" grep -q \
    "^cvmctl: error: cVM 'app' faulted: SIGSEGV at address 0x1[0-9a-f]\{7\}, ip 0x2[0-9a-f]\{7\} in code of cVM 'libos'$" \
    "$TMP/err"

# Threads blocked in futex waits and sleeps, held by no stack slot, still stop at the timeout.
libos_yaml "$TMP/block.yaml" "libostest block"
expect "threads blocked in futex waits and sleeps are stopped at the timeout" 137 \
    "blocked threads: 6
" "cvmctl: error: deployment timed out after 2 s; its cVMs were stopped
" -- monitor "$TMP/block.yaml" 2

# exit from main, or _exit from a thread, ends every blocked thread with it: well before the
# timeout, whose status would be 137.
libos_yaml "$TMP/exit.yaml" "libostest exit-blocked"
expect "exit while threads are blocked ends at once with its status" 5 "blocked threads: 6
" "" -- monitor "$TMP/exit.yaml" 20
libos_yaml "$TMP/exit.yaml" "libostest exit-thread"
expect "_exit from a thread while main waits to join it" 6 "blocked threads: 4
" "" -- monitor "$TMP/exit.yaml" 20
finish
