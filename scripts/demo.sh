#!/bin/sh
# Runs the example deployments the build produced, showing the monitor's lines and output.
set -eu
build=${1:-build}
for name in hello two-pure musl-hello musl-libhello cap-stream; do
    yaml="$build/images/$name/$name.yaml"
    echo "\$ $build/cvmctl monitor -y $yaml"
    "$build/cvmctl" monitor -y "$yaml" 2>&1
    echo
done

# The image workflow on a throwaway store: build, sign, verify, measure, save, load.
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
run() {
    echo "\$ cvmctl $*"
    "$build/cvmctl" --root "$root/store" "$@" 2>&1
}
run build -t hello "$build/images/hello"
run keygen --out "$root/demo"
run sign --key "$root/demo.key" hello
run verify --key "$root/demo.pub" hello
run measure hello
run run --verify "key:$root/demo.pub" hello
run images
run save -o "$root/hello.tar" hello
echo "\$ cvmctl --root $root/other load -i $root/hello.tar"
"$build/cvmctl" --root "$root/other" load -i "$root/hello.tar"
