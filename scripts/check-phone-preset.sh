#!/usr/bin/env bash
# A full-size preset with random weights under REPMLP_DEVICE_PROFILE=phone (256 MiB allocations,
# 2^27-byte bindings, 4 storage buffers per stage) on lavapipe with the validation layer: the
# weights must take several buffers, the largest GEMMs run split, and the output match PyTorch's
# float64 one to 1e-4 (tests/test_preset_phone.c). Minutes, so not part of the ctest run.
#   bash scripts/check-phone-preset.sh [BUILD] [PRESET] [WEIGHTS_DIR]
# BUILD defaults to build, PRESET to RepMLPRes50-Light-224 (339 MiB of weights); WEIGHTS_DIR
# holds make_preset_weights.py's output (made in a temporary directory when not given; needs
# Debian's python3-torch).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
preset=${2:-RepMLPRes50-Light-224}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
weights=${3:-$work/weights}
start=$(date +%s)
if [ ! -f "$weights/train.safetensors" ]; then
  /usr/bin/python3 tools/fixtures/make_preset_weights.py --preset "$preset" --out "$weights"
fi
"$build/bin/repmlp-fuse" --preset "$preset" "$weights/train.safetensors" "$work/fused.safetensors"
icd=$(ls /usr/share/vulkan/icd.d/lvp_icd.*.json | head -n 1)
VK_ICD_FILENAMES=$icd REPMLP_TEST_DEVICE=llvmpipe REPMLP_TEST_VALIDATION=1 \
  REPMLP_DEVICE_PROFILE=phone "$build/bin/test_preset_phone" "$work/fused.safetensors" \
  "$weights/input.safetensors" "$weights/expected.safetensors" 1e-4
echo "check-phone-preset: $preset passed under phone in $(($(date +%s) - start)) s"
