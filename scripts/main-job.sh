#!/usr/bin/env bash
# The main job: installs what is missing, builds, fuses the shipped training-time RepMLP block
# checkpoint (examples/block_v1) and runs it on the default Vulkan device, printing the
# device, the check against PyTorch's float64 output, and the latency.
# Extra arguments go to repmlp-run (for example --device SEL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"

ex=examples/block_v1
out=build/main-job
mkdir -p "$out"
./build/bin/repmlp-fuse --arch RepMLP --config "@$ex/config.json" \
  "$ex/train.safetensors" "$out/fused.safetensors"
./build/bin/repmlp-run "$out/fused.safetensors" --input "$ex/input.safetensors" \
  --output "$out/output.safetensors" --expect "$ex/expected.safetensors" --tolerance 1e-5 \
  --repeat 20 "$@"
