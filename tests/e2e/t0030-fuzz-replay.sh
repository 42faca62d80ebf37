#!/bin/sh
# The fuzz corpora (and every runtime and image file the build made) replay through the fuzz
# targets.
. "$(dirname "$0")/lib.sh"
corpus="$(dirname "$0")/../fuzz/corpus"
quiet() { "$@" >/dev/null; }
check "yaml corpus replays" quiet "$BUILD/tests/fuzz/fuzz-yaml" "$corpus/yaml" "$(dirname "$0")/../../images/hello/hello.yaml"
check "elf corpus replays" quiet "$BUILD/tests/fuzz/fuzz-elf" "$corpus/elf" "$BUILD/tests/runtimes" "$BUILD/images/hello"
check "ramfs corpus replays" quiet "$BUILD/tests/fuzz/fuzz-ramfs" "$corpus/ramfs"
check "reference corpus replays" quiet "$BUILD/tests/fuzz/fuzz-reference" "$corpus/reference"
check "manifest and config corpus replays" quiet "$BUILD/tests/fuzz/fuzz-manifest" "$corpus/manifest"
check "cpio corpus replays" quiet "$BUILD/tests/fuzz/fuzz-cpio" "$corpus/cpio"
check "tar corpus replays" quiet "$BUILD/tests/fuzz/fuzz-tar" "$corpus/tar"
check "policy corpus replays" quiet "$BUILD/tests/fuzz/fuzz-policy" "$corpus/policy"
finish
