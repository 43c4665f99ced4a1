#!/usr/bin/env bash
# The error table of docs/FUSED_FORMAT.md ("8-bit weights"): every test fixture, plus any
# preset directories given (tools/fixtures/make_preset_weights.py --preset NAME --out DIR,
# with its input and float64 expected output), fused, then repmlp-q8-accuracy on each.
# usage: bench/q8_accuracy.sh BUILD_DIR [PRESET_DIR...]
set -euo pipefail
build=${1:?usage: bench/q8_accuracy.sh BUILD_DIR [PRESET_DIR...]}
shift
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
declare -A arch=([block_v1]=RepMLP [block_v2]=RepMLPBlock [resnet]=RepMLPResNet
  [repmlpnet]=RepMLPNet)
measure() { # name, fuse arguments..., dir
  local name=$1 dir=${*: -1}
  "$build/bin/repmlp-fuse" "${@:2:$#-2}" "$dir/train.safetensors" "$work/f.safetensors" >/dev/null
  "$build/bin/repmlp-q8-accuracy" "$work/f.safetensors" "$dir/input.safetensors" \
    "$dir/expected.safetensors" "$work" | sed "s|^|$name |"
}
for d in tests/fixtures/*/*/; do
  set_=$(basename "$(dirname "$d")")
  measure "$set_/$(basename "$d")" --arch "${arch[$set_]}" --config "@$d/config.json" "$d"
done
for d in "$@"; do
  measure "$(basename "$d")" --arch RepMLPNet --config "@$d/config.json" "$d"
done
