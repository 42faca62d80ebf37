# Real registries for the e2e tests: docker-registry (plain, TLS + Basic, or token auth), its
# token server and a fault-injecting proxy, all on 127.0.0.1 with ports the kernel picks.
# Source after tests/e2e/lib.sh (needs $TMP); call the *_start functions in the test's own
# shell, not in $(...), since they set variables. Everything started dies at exit.
# shellcheck shell=sh

if [ -f "$(dirname "$0")/../registry/token-server.py" ]; then
    REGISTRY_LIB_DIR=$(dirname "$0")/../registry
else
    REGISTRY_LIB_DIR=tests/registry
fi
_registry_n=0
_registry_pids=$TMP/registry-pids
: >"$_registry_pids"
# Chains tests/e2e/lib.sh's own EXIT trap; the signal traps turn a kill into an exit so the
# EXIT trap runs (dash skips it on a fatal signal).
trap 'registry_stop_all; rm -rf "$TMP"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

_registry_fail() {
    echo "Bail out! $*"
    echo "$*" >&2
    exit 1
}

# _registry_alive PID: true while PID runs (a zombie counts as gone).
_registry_alive() {
    [ -r "/proc/$1/stat" ] && [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# _registry_wait_file FILE PID WHAT LOG: waits up to 10 s for FILE while PID lives; on
# failure shows the end of LOG.
_registry_wait_file() {
    _i=0
    while [ ! -s "$1" ]; do
        _registry_alive "$2" || _registry_fail "$3 exited before it listened: $(tail -n 5 "$4")"
        _i=$((_i + 1))
        [ $_i -le 200 ] || _registry_fail "$3 did not start within 10 s"
        sleep 0.05
    done
}

# _registry_run LOG CMD...: starts CMD in the background with the docker-registry config
# variables removed: docker-registry reads every REGISTRY_* variable as a config override
# (REGISTRY_LOG=/x would make it fail to parse its 'log' section).
_registry_run() {
    _log=$1
    shift
    # shellcheck disable=SC2046
    env $(env | sed -n 's/^\(REGISTRY_[A-Za-z0-9_]*\)=.*/-u \1/p') "$@" >"$_log" 2>&1 &
    _registry_pid=$!
    echo "$_registry_pid" >>"$_registry_pids"
}

# _registry_certs DIR: a CA and a server certificate for 127.0.0.1 and localhost, 1 day.
_registry_certs() {
    _ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
    printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'basicConstraints=CA:FALSE' \
        'keyUsage=digitalSignature' 'extendedKeyUsage=serverAuth' >"$1/server.ext"
    # shellcheck disable=SC2086
    if ! openssl req -x509 $_ec -days 1 -subj /CN=cvm-test-ca -keyout "$1/ca.key" \
        -out "$1/ca.crt" 2>/dev/null ||
        ! openssl req $_ec -subj /CN=localhost -keyout "$1/server.key" -out "$1/server.csr" \
            2>/dev/null ||
        ! openssl x509 -req -in "$1/server.csr" -CA "$1/ca.crt" -CAkey "$1/ca.key" \
            -CAcreateserial -days 1 -extfile "$1/server.ext" -out "$1/server.crt" 2>/dev/null
    then
        _registry_fail "registry_start: openssl could not make the certificates"
    fi
}

# registry_start MODE [TOKEN-SERVER-OPTIONS...]: MODE is plain, tls or token; in token mode
# the options go to token-server.py (--anonymous-pull, --expires-in N, --bad-answer
# KIND:REGEX, --answer-expires-in N:REGEX). Sets REGISTRY,
# REGISTRY_URL, REGISTRY_LOG, REGISTRY_DIR; tls adds REGISTRY_CA, REGISTRY_CERT_DIR; tls and
# token add REGISTRY_USER, REGISTRY_PASS; token adds TOKEN_LOG, TOKEN_REALM.
registry_start() {
    _mode=$1
    shift
    _registry_n=$((_registry_n + 1))
    REGISTRY_DIR=$TMP/registry-$_registry_n
    mkdir -p "$REGISTRY_DIR/data"
    REGISTRY_LOG=$REGISTRY_DIR/registry.log
    _scheme=http
    _curl=
    _extra=
    case $_mode in
    plain) ;;
    tls)
        _registry_certs "$REGISTRY_DIR"
        mkdir "$REGISTRY_DIR/certs.d"
        cp "$REGISTRY_DIR/ca.crt" "$REGISTRY_DIR/certs.d/ca.crt"
        REGISTRY_CA=$REGISTRY_DIR/ca.crt
        REGISTRY_CERT_DIR=$REGISTRY_DIR/certs.d
        REGISTRY_USER=cvm REGISTRY_PASS=s3cret
        htpasswd -nbB "$REGISTRY_USER" "$REGISTRY_PASS" >"$REGISTRY_DIR/htpasswd" 2>/dev/null ||
            _registry_fail "registry_start: htpasswd failed"
        export REGISTRY_CA REGISTRY_CERT_DIR REGISTRY_USER REGISTRY_PASS
        _scheme=https
        _curl="--cacert $REGISTRY_CA"
        _extra="  tls:
    certificate: \"$REGISTRY_DIR/server.crt\"
    key: \"$REGISTRY_DIR/server.key\"
auth:
  htpasswd:
    realm: cvm-registry
    path: \"$REGISTRY_DIR/htpasswd\""
        ;;
    token)
        REGISTRY_USER=cvm REGISTRY_PASS=s3cret
        TOKEN_LOG=$REGISTRY_DIR/token.log
        _registry_run "$REGISTRY_DIR/token.stderr" /usr/bin/python3 \
            "$REGISTRY_LIB_DIR/token-server.py" --user "$REGISTRY_USER" \
            --password "$REGISTRY_PASS" --dir "$REGISTRY_DIR/token" \
            --port-file "$REGISTRY_DIR/token.port" --log "$TOKEN_LOG" "$@"
        _registry_wait_file "$REGISTRY_DIR/token.port" "$_registry_pid" token-server.py \
            "$REGISTRY_DIR/token.stderr"
        TOKEN_REALM=http://127.0.0.1:$(cat "$REGISTRY_DIR/token.port")/token
        export REGISTRY_USER REGISTRY_PASS TOKEN_LOG TOKEN_REALM
        _extra="auth:
  token:
    realm: \"$TOKEN_REALM\"
    service: cvm-registry
    issuer: cvm-test-issuer
    rootcertbundle: \"$REGISTRY_DIR/token/cert.pem\""
        ;;
    *) _registry_fail "registry_start: unknown mode '$_mode' (plain, tls or token)" ;;
    esac
    # Port 0: the kernel picks a free port, which the registry logs ("listening on ...").
    cat >"$REGISTRY_DIR/config.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: "$REGISTRY_DIR/data"
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:0
  secret: cvm-test-secret
$_extra
EOF
    _registry_run "$REGISTRY_LOG" /usr/bin/docker-registry serve "$REGISTRY_DIR/config.yml"
    _listening='.*msg="listening on 127\.0\.0\.1:\([0-9]*\).*'
    _i=0
    while :; do
        _port=$(sed -n "s/$_listening/\1/p" "$REGISTRY_LOG" 2>/dev/null)
        [ -z "$_port" ] || break
        _registry_alive "$_registry_pid" ||
            _registry_fail "docker-registry exited: $(tail -n 5 "$REGISTRY_LOG")"
        _i=$((_i + 1))
        [ $_i -le 200 ] || _registry_fail "docker-registry did not listen within 10 s"
        sleep 0.05
    done
    REGISTRY=127.0.0.1:$_port
    REGISTRY_URL=$_scheme://$REGISTRY
    export REGISTRY REGISTRY_URL REGISTRY_LOG REGISTRY_DIR
    # Listening is not serving yet: wait for /v2/ to answer (401 when auth is on).
    _i=0
    # shellcheck disable=SC2086
    until _code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 $_curl "$REGISTRY_URL/v2/") &&
        { [ "$_code" = 200 ] || [ "$_code" = 401 ]; }; do
        _i=$((_i + 1))
        [ $_i -le 100 ] || _registry_fail "$REGISTRY_URL/v2/ did not answer within 10 s"
        sleep 0.1
    done
}

# proxy_start UPSTREAM_HOSTPORT [FAULT-OPTIONS...]: fault-proxy.py in front of a plain-HTTP
# registry. Sets PROXY (127.0.0.1:port), PROXY_LOG and PROXY_HEADER_LOG (each request's
# Authorization scheme).
proxy_start() {
    _registry_n=$((_registry_n + 1))
    _dir=$TMP/proxy-$_registry_n
    mkdir -p "$_dir"
    PROXY_LOG=$_dir/proxy.log
    PROXY_HEADER_LOG=$_dir/headers.log
    _up=$1
    shift
    _registry_run "$_dir/stderr" /usr/bin/python3 "$REGISTRY_LIB_DIR/fault-proxy.py" \
        --upstream "$_up" --port-file "$_dir/port" --log "$PROXY_LOG" \
        --header-log "$PROXY_HEADER_LOG" "$@"
    _registry_wait_file "$_dir/port" "$_registry_pid" fault-proxy.py "$_dir/stderr"
    PROXY=127.0.0.1:$(cat "$_dir/port")
    export PROXY PROXY_LOG PROXY_HEADER_LOG
}

# registry_stop_all: TERM to everything started, KILL to what still runs after 5 s.
registry_stop_all() {
    [ -s "$_registry_pids" ] || return 0
    _pids=$(cat "$_registry_pids")
    # shellcheck disable=SC2086
    kill $_pids 2>/dev/null
    _i=0
    for _p in $_pids; do
        while _registry_alive "$_p" && [ $_i -lt 100 ]; do
            _i=$((_i + 1))
            sleep 0.05
        done
        _registry_alive "$_p" && kill -9 "$_p" 2>/dev/null
        wait "$_p" 2>/dev/null
    done
    : >"$_registry_pids"
    return 0
}

# odd_start MODE: tests/registry/odd-registry.py in MODE (deny-all, upload-elsewhere). Sets ODD
# (host:port) and ODD_LOG (what its second port was sent).
odd_start() {
    _registry_n=$((_registry_n + 1))
    _dir=$TMP/odd-$_registry_n
    mkdir -p "$_dir"
    ODD_LOG=$_dir/elsewhere.log
    : >"$ODD_LOG"
    _registry_run "$_dir/stderr" /usr/bin/python3 "$REGISTRY_LIB_DIR/odd-registry.py" \
        --mode "$1" --port-file "$_dir/port" --log "$ODD_LOG"
    _registry_wait_file "$_dir/port" "$_registry_pid" odd-registry.py "$_dir/stderr"
    ODD=127.0.0.1:$(cat "$_dir/port")
    export ODD ODD_LOG
}
