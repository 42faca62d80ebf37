#!/bin/sh
# Images with a rootfs: packed reproducibly as newc cpio; and concurrent builds into one store.
. "$(dirname "$0")/lib.sh"

export CVMCTL_ROOT="$TMP/root"
make_ctx() {
    mkdir -p "$1/rootfs/etc" "$1/rootfs/bin" "$1/rootfs/empty"
    cp "$BUILD/images/hello/libhello.so" "$1/"
    printf 'cVMs:\n  - name: app\n    runtime: libhello.so\n    isolation: {base: 0x20000000, size: 0x10000000}\nrootfs: rootfs\n' >"$1/cvm.yaml"
    printf 'hello world' >"$1/rootfs/etc/motd"
    printf '#!/bin/sh\n' >"$1/rootfs/bin/run" && chmod 755 "$1/rootfs/bin/run"
    ln -s ../etc/motd "$1/rootfs/bin/motd"
}
make_ctx "$TMP/a"
d1=$("$CVMCTL" build -q -t app:1 "$TMP/a")
# The same tree made again later, in another order, with other times and modes of folders.
mkdir -p "$TMP/b/rootfs/empty" && sleep 1 && make_ctx "$TMP/b" && touch -d '2001-01-01' "$TMP/b/rootfs/etc/motd"
expect "the rootfs packs reproducibly" 0 "$d1
" "" -- "$CVMCTL" build -q -t app:2 "$TMP/b"
layer=$(python3 -c "import json; m = json.load(open('$CVMCTL_ROOT/blobs/sha256/${d1#sha256:}')); print([l for l in m['layers'] if l['annotations']['org.opencontainers.image.title'] == 'root.cpio'][0]['digest'][7:])")
zstd -dcq "$CVMCTL_ROOT/blobs/sha256/$layer" >"$TMP/root.cpio"
python3 - "$TMP/root.cpio" >"$TMP/entries" <<'PY'
import sys
data, off = open(sys.argv[1], "rb").read(), 0
while True:
    h = data[off:off + 110]
    assert h[:6] == b"070701"
    f = [int(h[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
    ino, mode, uid, gid, nlink, mtime, size, namesize = f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[11]
    name = data[off + 110:off + 110 + namesize - 1].decode()
    off = (off + 110 + namesize + 3) & ~3
    body = data[off:off + size]
    off = (off + size + 3) & ~3
    if name == "TRAILER!!!":
        break
    print(ino, oct(mode), uid, gid, mtime, name, body.decode() if mode & 0o170000 != 0o40000 else "")
PY
expect "root.cpio holds the tree, sorted, with fixed owners and times" 0 "1 0o40755 0 0 0 bin 
2 0o120777 0 0 0 bin/motd ../etc/motd
3 0o100755 0 0 0 bin/run #!/bin/sh

4 0o40755 0 0 0 empty 
5 0o40755 0 0 0 etc 
6 0o100644 0 0 0 etc/motd hello world
" "" -- cat "$TMP/entries"
m=$("$CVMCTL" inspect app:1 | sed -n 's/^Rootfs: *//p')
expect "inspect shows the rootfs digest" 0 "root.cpio, $(stat -c %s "$TMP/root.cpio") B uncompressed, sha256:$(sha256sum "$TMP/root.cpio" | cut -d' ' -f1)
" "" -- echo "$m"
check "measure agrees with the recorded value" sh -c "'$CVMCTL' measure app:1 | grep -qx \"measurement: \$('$CVMCTL' inspect app:1 | sed -n 's/^Measurement: *//p')\""
printf 'different' >"$TMP/b/rootfs/etc/motd"
check "a rootfs change changes the measurement" sh -c "[ \"\$('$CVMCTL' build -q -t app:3 '$TMP/b' && '$CVMCTL' measure app:3)\" != \"\$('$CVMCTL' measure app:1)\" ]"

# Two builders and a tagger run at once, repeatedly, into one store: every name ends up
# valid, index.json stays one consistent document, and every image verifies.
"$CVMCTL" keygen --out "$TMP/k" >/dev/null
builder() {
    i=0
    while [ $i -lt 8 ]; do
        "$CVMCTL" build -q -t "$1:$i" "$2" >/dev/null || echo "build $1:$i failed" >>"$TMP/failures"
        i=$((i + 1))
    done
}
builder two "$BUILD/images/two-pure" &
p1=$!
builder hello "$BUILD/images/hello" &
p2=$!
builder app "$TMP/a" &
p3=$!
wait $p1 $p2 $p3
check "no concurrent build failed" [ ! -s "$TMP/failures" ]
count=$("$CVMCTL" images --format json | python3 -c "import json, sys; print(len(json.load(sys.stdin)))")
expect "every tag of every builder is in the index" 0 "24
" "" -- echo "$count"
ok=0
for name in two:0 two:7 hello:0 hello:7 app:0 app:7; do
    "$CVMCTL" sign --key "$TMP/k.key" "$name" >/dev/null && "$CVMCTL" verify --key "$TMP/k.pub" "$name" >/dev/null && ok=$((ok + 1))
done
expect "images built concurrently verify" 0 "6
" "" -- echo "$ok"
check "skopeo reads the index written concurrently" sh -c "skopeo inspect --raw oci:'$CVMCTL_ROOT':localhost/two:5 >/dev/null"
finish
