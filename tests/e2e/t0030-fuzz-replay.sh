#!/bin/sh
# The fuzz corpora (and every runtime the build made) replay through the fuzz targets.
. "$(dirname "$0")/lib.sh"
corpus="$(dirname "$0")/../fuzz/corpus"
quiet() { "$@" >/dev/null; }
check "yaml corpus replays" quiet "$BUILD/tests/fuzz/fuzz-yaml" "$corpus/yaml" "$(dirname "$0")/../../images/hello/hello.yaml"
check "elf corpus replays" quiet "$BUILD/tests/fuzz/fuzz-elf" "$corpus/elf" "$BUILD/tests/runtimes" "$BUILD/images/hello"
finish
