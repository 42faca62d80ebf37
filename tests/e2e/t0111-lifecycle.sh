#!/bin/sh
# cvmctl create/start/state/kill/delete/ps and run -d, --rm, --name: an instance is deployed
# and measured by a background monitor that waits for start, records its state atomically in
# ROOT/instances/<id>/, is stopped by a signal with 128+N, and never outlives its record.
. "$(dirname "$0")/lib.sh"

export CVMCTL_ROOT="$TMP/root"
INST="$CVMCTL_ROOT/instances"
# Monitors left behind by a failing check are killed with the test.
trap 'for p in "$INST"/*/pid; do [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null; done; rm -rf "$TMP"' EXIT

"$CVMCTL" keygen --out "$TMP/k" >/dev/null
digest=$("$CVMCTL" build -q -t hello "$BUILD/images/hello")
"$CVMCTL" sign --key "$TMP/k.key" hello >/dev/null
measurement=$("$CVMCTL" measure hello)
mkdir "$TMP/spin"
cp "$RT/libspin.so" "$TMP/spin/"
yaml "$TMP/spin/cvm.yaml" spin libspin.so 0x10000000
"$CVMCTL" build -q -t spin "$TMP/spin" >/dev/null
"$CVMCTL" sign --key "$TMP/k.key" spin >/dev/null
key="key:$TMP/k.pub"
backend="cvmctl: backend 'inproc': cVMs are threads of this process; windows are not enforced"
hello_out="hello world, let's read cap 'test1'
Hello world
"

# field ID KEY: one member of `cvmctl state ID`, "-" when absent.
field() {
    "$CVMCTL" state "$1" | python3 -c "import json, sys; print(json.load(sys.stdin).get('$2', '-'))"
}

# wait_stopped ID: until the instance has stopped (at most 10 s; the check after it fails).
wait_stopped() {
    i=0
    while [ "$i" -lt 100 ] && [ "$(field "$1" status)" != stopped ]; do
        sleep 0.1
        i=$((i + 1))
    done
}

# wait_gone ID: until the instance's folder is gone (at most 10 s).
wait_gone() {
    i=0
    while [ "$i" -lt 100 ] && [ -e "$INST/$1" ]; do
        sleep 0.1
        i=$((i + 1))
    done
}

# ---- create, state, start, log, delete ----------------------------------------------------------
expect "create prints the instance's name" 0 "h1
" "" -- "$CVMCTL" create --verify "$key" --name h1 hello
check "state: created, its monitor's pid, image, digest, measurement, time" python3 -c "
import json, re, subprocess
s = json.loads(subprocess.check_output(['$CVMCTL', 'state', 'h1']))
assert list(s) == ['id', 'status', 'pid', 'image', 'digest', 'measurement', 'created'], s
assert s['id'] == 'h1' and s['status'] == 'created', s
assert s['pid'] == int(open('$INST/h1/pid').read()), s
assert s['image'] == 'localhost/hello:latest' and s['digest'] == '$digest', s
assert 'measurement: ' + s['measurement'] == '$measurement', s
assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ', s['created']), s
"
check "the folder: state.json, pid, log, the start FIFO, nothing temporary" test \
    "$(cd "$INST/h1" && ls -A | tr '\n' ' ')" = "log pid start state.json " -a -p "$INST/h1/start"
check "nothing ran before start: the log is empty" test ! -s "$INST/h1/log"
check "the monitor runs in another session" test \
    "$(ps -o sid= -p "$(cat "$INST/h1/pid")")" != "$(ps -o sid= -p $$)"
expect "start releases it" 0 "" "" -- "$CVMCTL" start h1
wait_stopped h1
check "state: stopped, exit code 0, pid 0" test "$(field h1 status) $(field h1 exitCode) $(field h1 pid)" = "stopped 0 0"
check "the log holds the monitor's lines and the cVMs' output" test "$(cat "$INST/h1/log")" = "$backend
$measurement
${hello_out%?}"
check "the start FIFO is gone" test ! -e "$INST/h1/start"
expect "start of a stopped instance" 125 "" "cvmctl: error: instance 'h1' is stopped: only a created one starts
" -- "$CVMCTL" start h1
expect "delete removes a stopped instance" 0 "" "" -- "$CVMCTL" delete h1
check "... and its folder" test ! -e "$INST/h1"
expect "state of an instance that is not there" 125 "" "cvmctl: error: no instance 'h1'
" -- "$CVMCTL" state h1

# ---- run -d, --rm -----------------------------------------------------------------------------------
"$CVMCTL" run -d -q --verify "$key" hello >"$TMP/id" 2>"$TMP/err"
id=$(cat "$TMP/id")
check "run -d prints a generated id: 12 hex digits, nothing else" sh -c \
    "grep -qx '[0-9a-f]\{12\}' '$TMP/id' && test ! -s '$TMP/err'"
wait_stopped "$id"
check "run -d: the cVMs' output in the log, exit code 0" test \
    "$(cat "$INST/$id/log") $(field "$id" exitCode)" = "${hello_out%?} 0"
"$CVMCTL" delete "$id"
expect "run -d --rm" 0 "r1
" "" -- "$CVMCTL" run -d --rm -q --name r1 --verify "$key" hello
wait_gone r1
check "--rm: the instance is deleted when it stops" test ! -e "$INST/r1"

# gone PID: the process has exited (gone, or a zombie its parent has not reaped yet); read in
# one go, since a zombie may be reaped between two looks.
gone() {
    _state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
    [ -z "$_state" ] || [ "$_state" = Z ]
}

# ---- kill -------------------------------------------------------------------------------------------
"$CVMCTL" run -d -q --name spin1 --verify "$key" spin >/dev/null
check "a spinning cVM: running" test "$(field spin1 status)" = running
pid=$(cat "$INST/spin1/pid")
expect "kill stops it (SIGTERM by default)" 0 "" "" -- "$CVMCTL" kill spin1
check "state: stopped, exit code 128+SIGTERM" test "$(field spin1 status) $(field spin1 exitCode)" = "stopped 143"
check "its monitor is gone" gone "$pid"
check "its log: the cVM's output" test "$(cat "$INST/spin1/log")" = "spinning"
expect "kill of a stopped instance" 125 "" "cvmctl: error: instance 'spin1' is not running
" -- "$CVMCTL" kill spin1
"$CVMCTL" run -d -q --name spin2 --verify "$key" spin >/dev/null
expect "kill with a signal by name" 0 "" "" -- "$CVMCTL" kill spin2 SIGKILL
check "SIGKILL: exit code 137" test "$(field spin2 status) $(field spin2 exitCode)" = "stopped 137"
"$CVMCTL" create -q --name spin3 --verify "$key" spin >/dev/null
expect "kill of a created instance, by number" 0 "" "" -- "$CVMCTL" kill spin3 2
check "SIGINT: exit code 130" test "$(field spin3 status) $(field spin3 exitCode)" = "stopped 130"
expect "an unknown signal is misuse" 125 "" "cvmctl: unknown signal 'SIGNOPE'
see 'cvmctl kill --help'
" -- "$CVMCTL" kill spin3 SIGNOPE

# ---- names, refusals ----------------------------------------------------------------------------------
"$CVMCTL" create -q --name dup --verify "$key" spin >/dev/null
expect "a name in use" 125 "" "cvmctl: error: instance name 'dup' is already in use
" -- "$CVMCTL" create -q --name dup --verify "$key" hello
check "... leaves the instance that has it alone" test "$(field dup status) $(field dup image)" = "created localhost/spin:latest"
expect "delete of a created instance without -f" 125 "" "cvmctl: error: instance 'dup' is created: stop it with 'cvmctl kill' or use -f
" -- "$CVMCTL" delete dup
"$CVMCTL" start dup
expect "delete of a running instance without -f" 125 "" "cvmctl: error: instance 'dup' is running: stop it with 'cvmctl kill' or use -f
" -- "$CVMCTL" delete dup
check "... leaves it running" test "$(field dup status)" = running
pid=$(cat "$INST/dup/pid")
expect "delete -f kills it first" 0 "" "" -- "$CVMCTL" delete -f dup
check "... its monitor and its folder are gone" sh -c \
    "test ! -e '$INST/dup' && { state=\$(sed 's/^.*) //' /proc/$pid/stat 2>/dev/null | cut -c1); [ -z \"\$state\" ] || [ \"\$state\" = Z ]; }"
expect "a failed create leaves no instance" 125 "" "cvmctl: error: run 'localhost/nope:latest': --pull=never: image 'localhost/nope:latest' is not in store '$CVMCTL_ROOT'
" -- "$CVMCTL" create --pull=never --name nope nope
check "... no folder" test ! -e "$INST/nope"
expect "--name needs -d" 125 "" "cvmctl: --name needs -d: a run in the foreground keeps no instance
see 'cvmctl run --help'
" -- "$CVMCTL" run --name x hello
expect "--rm needs -d" 125 "" "cvmctl: --rm needs -d: a run in the foreground keeps no instance
see 'cvmctl run --help'
" -- "$CVMCTL" run --rm hello
expect "a bad name is misuse" 125 "" "cvmctl: --name takes letters, digits, '_', '.' and '-' (not first), at most 64, not '-x/y'
see 'cvmctl create --help'
" -- "$CVMCTL" create --name=-x/y hello
expect "create has no -d" 125 "" "cvmctl: unknown option '-d'
see 'cvmctl create --help'
" -- "$CVMCTL" create -d hello
expect "start needs an instance" 125 "" "cvmctl: no instance given
see 'cvmctl start --help'
" -- "$CVMCTL" start

# ---- a monitor that died, a pid reused ----------------------------------------------------------------
"$CVMCTL" run -d -q --name gone --verify "$key" spin >/dev/null
kill -9 "$(cat "$INST/gone/pid")"
wait_stopped gone
check "a monitor killed with SIGKILL: stopped, exit code unknown" test \
    "$(field gone status) $(field gone exitCode) $(field gone pid)" = "stopped - 0"
"$CVMCTL" create -q --name reused --verify "$key" hello >/dev/null
"$CVMCTL" kill reused KILL
python3 - "$INST/reused/state.json" "$$" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s.update(status="running", pid=int(sys.argv[2]), pidStart="1")
s.pop("exitCode")
json.dump(s, open(sys.argv[1], "w"))
PY
check "a live process with the pid but another start time is not the monitor" test \
    "$(field reused status) $(field reused exitCode)" = "stopped -"
expect "... and kill leaves it alone" 125 "" "cvmctl: error: instance 'reused' is not running
" -- "$CVMCTL" kill reused
"$CVMCTL" create -q --name waiting --verify "$key" spin >/dev/null

# ---- ps ----------------------------------------------------------------------------------------------
"$CVMCTL" ps >"$TMP/ps" 2>"$TMP/err"
check "ps: a table of every instance, sorted by id" test "$(sed -e 's/20[0-9-]*T[0-9:]*Z/<time>/' \
    -e 's/ [0-9][0-9]*$/ <pid>/' "$TMP/ps")" = "ID                   IMAGE                                    STATUS         CREATED              PID
gone                 localhost/spin:latest                    stopped (?)    <time> -
reused               localhost/hello:latest                   stopped (?)    <time> -
spin1                localhost/spin:latest                    stopped (143)  <time> -
spin2                localhost/spin:latest                    stopped (137)  <time> -
spin3                localhost/spin:latest                    stopped (130)  <time> -
waiting              localhost/spin:latest                    created        <time> <pid>"
check "ps: nothing on stderr" test ! -s "$TMP/err"
check "ps --format json: what state prints, per instance" python3 -c "
import json, subprocess
ps = json.loads(subprocess.check_output(['$CVMCTL', 'ps', '--format', 'json']))
assert [s['id'] for s in ps] == ['gone', 'reused', 'spin1', 'spin2', 'spin3', 'waiting'], ps
for s in ps:
    assert s == json.loads(subprocess.check_output(['$CVMCTL', 'state', s['id']])), s
"
for i in gone reused spin1 spin2 spin3; do "$CVMCTL" delete "$i"; done
"$CVMCTL" delete -f waiting
expect "ps with no instances: the header" 0 "ID                   IMAGE                                    STATUS         CREATED              PID
" "" -- "$CVMCTL" ps
check "no instance folder, no temporary file left" test -z "$(ls -A "$INST")"

finish
