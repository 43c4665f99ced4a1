#!/usr/bin/env bash
# The main job: installs what is missing, builds, fuses the trained RepMLPNet digits classifier
# (examples/digits, made by tools/digits/train_digits.py) with its preprocessing, classifies
# the held-out test set on the default Vulkan device, printing the device, the accuracy
# (checked against PyTorch's, prediction by prediction) and the throughput, then classifies
# the shipped PNG digits with their top-3 classes.
# Extra arguments go to repmlp-run (for example --device SEL).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-main -DCMAKE_BUILD_TYPE=Release -DREPMLP_BUILD_TESTS=OFF -DREPMLP_PACKAGE=OFF
cmake --build build-main -j"$(nproc)"

ex=examples/digits
out=build-main/main-job
mkdir -p "$out"
fused="$out/digits.fused.safetensors"
./build-main/bin/repmlp-fuse --arch RepMLPNet --config "@$ex/config.json" \
  --metadata "preprocess=@$ex/preprocess.json" "$ex/train.safetensors" "$fused"
rm -f "$out/predictions.json"
./build-main/bin/repmlp-run "$fused" --input "$ex/test.safetensors" --eval "$ex/test.safetensors" \
  --predictions "$out/predictions.json" --repeat 2 "$@"

# The check: the same number of correct images and the same class for every image as the
# training-time PyTorch model (float64, eval mode) in pytorch_predictions.json.
bash scripts/check-digits.sh "$out/predictions.json"

images=()
for f in "$ex"/digit_*.png; do images+=(--image "$f"); done
./build-main/bin/repmlp-run "$fused" "${images[@]}" --top 3 "$@"
