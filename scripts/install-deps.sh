#!/bin/sh
# Installs every Debian package the build and the tests need.
#   scripts/install-deps.sh               install (apt-get update first)
#   scripts/install-deps.sh --if-missing  install only when something is missing
#   scripts/install-deps.sh --check       exit 1 when something is missing, install nothing
set -eu

PACKAGES="build-essential clang libclang-rt-14-dev pkg-config perl make git
libyaml-dev libssl-dev libarchive-dev libcurl4-openssl-dev libzstd-dev libjansson-dev
musl-tools lld bsdutils runc skopeo docker-registry openssl zstd python3 apache2-utils curl"
COMMANDS="cc clang ld.lld pkg-config prove make skopeo docker-registry openssl zstd python3 htpasswd curl script runc"
PKG_MODULES="yaml-0.1 libcrypto libarchive libcurl libzstd jansson"

missing() {
    for c in $COMMANDS; do
        command -v "$c" >/dev/null 2>&1 || { echo "command $c"; return 0; }
    done
    for m in $PKG_MODULES; do
        pkg-config --exists "$m" 2>/dev/null || { echo "pkg-config module $m"; return 0; }
    done
    # clang without its sanitizer runtime cannot build the SANITIZE= pass of make check
    asan=$(clang -print-file-name=libclang_rt.asan-x86_64.a 2>/dev/null)
    [ -f "$asan" ] || { echo "clang's ASan runtime"; return 0; }
    command -v musl-gcc >/dev/null 2>&1 || { echo "command musl-gcc"; return 0; }
    return 1
}

case "${1:-}" in
--check)
    if what=$(missing); then echo "missing: $what" >&2; exit 1; fi
    exit 0 ;;
--if-missing)
    what=$(missing) || exit 0
    echo "install-deps: $what is missing; installing packages" >&2 ;;
"") ;;
*)
    echo "usage: scripts/install-deps.sh [--check | --if-missing]" >&2
    exit 2 ;;
esac

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null
if what=$(missing); then
    echo "install-deps: still missing after install: $what" >&2
    exit 1
fi
