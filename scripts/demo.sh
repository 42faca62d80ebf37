#!/bin/sh
# Runs the example deployments the build produced, showing the monitor's lines and output.
set -eu
build=${1:-build}
for name in hello two-pure; do
    yaml="$build/images/$name/$name.yaml"
    echo "\$ $build/cvmctl monitor -y $yaml"
    "$build/cvmctl" monitor -y "$yaml" 2>&1
    echo
done
