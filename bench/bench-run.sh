#!/bin/sh
# cvmctl run of the signed hello image from a warm layer cache (its signature verified by an
# earlier run: image-format.md §7, "Verified signatures"), compared in the same run with runc
# run of a static musl hello in a minimal bundle. Prints medians of RUNS runs (default
# 21) of each whole command, and the monitor's own deploy time as run's debug log reports it.
#   bench/bench-run.sh [BUILD]
set -eu
BUILD=${1:-build}
CVMCTL=$(realpath "$BUILD/cvmctl")
RUNS=${RUNS:-21}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export CVMCTL_ROOT="$TMP/root" XDG_STATE_HOME="$TMP/state"

command -v runc >/dev/null 2>&1 || {
    echo "bench-run: runc is not installed (scripts/install-deps.sh installs it)" >&2
    exit 1
}

"$CVMCTL" keygen --out "$TMP/k" >/dev/null
"$CVMCTL" build -q -t hello "$BUILD/images/hello" >/dev/null
"$CVMCTL" sign --key "$TMP/k.key" hello >/dev/null
# The first run fills the layer cache; the timed ones find it warm.
"$CVMCTL" run -q --verify "key:$TMP/k.pub" hello >/dev/null

# The peer: a static hello as runc's whole container, read-only rootfs, no terminal.
mkdir -p "$TMP/bundle/rootfs"
printf '#include <stdio.h>\nint main(void) { puts("Hello world"); return 0; }\n' >"$TMP/hello.c"
musl-gcc -static -O2 -o "$TMP/bundle/rootfs/hello" "$TMP/hello.c"
(cd "$TMP/bundle" && runc spec)
python3 - "$TMP/bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
c = json.load(open(path))
c["process"]["args"] = ["/hello"]
c["process"]["terminal"] = False
c["root"]["readonly"] = True
json.dump(c, open(path, "w"))
PY
runc --root "$TMP/runc" run --bundle "$TMP/bundle" warm >/dev/null

# Each command runs RUNS times, timed by one python process (posix_spawn and waitpid around
# each: the same overhead for all); output goes to /dev/null, a failure stops the bench. As
# hyperfine measures several commands: each command's runs back to back after warm-up runs, in
# two halves, the second in reverse order (ABBA), so that slow drift of the machine falls on all
# alike. runc's aftermath (its Go runtime's threads, the teardown of its cgroups) slows
# whatever runs next by ~0.5 ms here, warm-up runs and a 50 ms pause notwithstanding: runc
# therefore comes last, so that only /bin/true's block ever follows it.
python3 - "$RUNS" "$TMP" "$CVMCTL" <<'PY'
import os, shutil, sys, time
runs, tmp, cvmctl = int(sys.argv[1]), sys.argv[2], sys.argv[3]
devnull = os.open(os.devnull, os.O_WRONLY)
cmds = {
    "cvmctl": [cvmctl, "run", "-q", "--verify", f"key:{tmp}/k.pub", "hello"],
    "runc": [shutil.which("runc"), "--root", f"{tmp}/runc", "run", "--bundle", f"{tmp}/bundle",
             "NAME"],
    # Where the time goes: the same run verifying the signature afresh (its memo removed
    # before each run, untimed), without the signature, cvmctl's start-up alone, and the
    # start of any process.
    "fresh": [cvmctl, "run", "-q", "--verify", f"key:{tmp}/k.pub", "hello"],
    "nosig": [cvmctl, "run", "-q", "--verify=none", "hello"],
    "version": [cvmctl, "version"],
    "true": ["/bin/true"],
}

def spawn(name, container):
    argv = [container if a == "NAME" else a for a in cmds[name]]
    if name == "fresh":
        memos = f"{tmp}/root/verified"
        for entry in os.listdir(memos):
            os.unlink(f"{memos}/{entry}")
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(argv[0], argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1),
                                       (os.POSIX_SPAWN_DUP2, devnull, 2)])
    _, status = os.waitpid(pid, 0)
    t1 = time.perf_counter_ns()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench-run: {name} failed with status {os.waitstatus_to_exitcode(status)}")
    return (t1 - t0) / 1e6

WARMUP = 3
times = {k: [] for k in cmds}
order = ["cvmctl", "fresh", "nosig", "version", "true", "runc"]
for half, names in enumerate((order, order[::-1])):
    n = (runs + 1) // 2 if half == 0 else runs // 2
    for name in names:
        for i in range(WARMUP):
            spawn(name, f"w{half}-{i}")
        for i in range(n):
            times[name].append(spawn(name, f"b{half}-{i}"))
def median(v):
    v = sorted(v)
    return v[len(v) // 2]
c, r = median(times["cvmctl"]), median(times["runc"])
print(f"cvmctl run of hello from a warm cache vs runc run of a static hello ({runs} runs each, medians)")
print(f"  cvmctl run (signature memo, blob check, deploy, measure, run) {c:6.2f} ms")
print(f"  peer: runc run (minimal bundle)                           {r:8.2f} ms")
print(f"  runc / cvmctl: {r / c:.1f}x")
print(f"  the same run verifying the signature afresh (no memo)     {median(times['fresh']):8.2f} ms")
print(f"  breakdown: run --verify=none {median(times['nosig']):.2f} ms, cvmctl version "
      f"{median(times['version']):.2f} ms, /bin/true {median(times['true']):.2f} ms")
PY

# The monitor's share: deploy time inside cvmctl run, from its debug log.
: >"$TMP/deploy"
i=0
while [ $i -lt "$RUNS" ]; do
    "$CVMCTL" --log-level debug run -q --verify "key:$TMP/k.pub" hello 2>&1 >/dev/null |
        sed -n 's/^cvmctl: debug: deployed [0-9]* cVMs in \([0-9.]*\) ms$/\1/p' >>"$TMP/deploy"
    i=$((i + 1))
done
printf '  deploy inside the monitor (reserve, load, measure, relocate, lay out): %s ms\n' \
    "$(sort -n "$TMP/deploy" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
