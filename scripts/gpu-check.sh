#!/usr/bin/env bash
# One prepared run for a machine with a GPU, whose output belongs in bench/RESULTS-gpu.md:
#   bash scripts/gpu-check.sh [OUT_DIR]        # OUT_DIR: default gpu-check-out
# It builds what it can with what the machine has (no package installs: such machines may have
# no network), lists the Vulkan devices, runs the device tests on the loader's own drivers (the
# GPU; "system" in tests/CMakeLists.txt), runs the digits main job on it, and measures: the
# GEMM kernel on the RepMLP-Res50 block shapes (batch 1 and 32) and square problems, the
# shipped fixtures end to end with their per-op profile, and the digits model spread over 1, 2,
# 4 and 8 parts. RepMLPNet-T224 / -B224 run too where /usr/bin/python3 has torch to make their
# random weights, and T224's per-op compile statistics on this device (repmlp-bench
# --compile-stats, batch 1 and 32) follow its timings. Every step's time and status is logged; a failing step does not stop the
# others, the exit status says whether any failed.
# REPMLP_GPU_DEVICE (a name substring) picks the device when the loader lists several.
# REPMLP_GPU_CHECK_QUICK=1 leaves out the largest GEMMs and the presets: a dry run of the script
# on a CPU driver (VK_ICD_FILENAMES=...lvp_icd...json) in a few minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-check-out}
mkdir -p "$out"
log=$out/gpu-check.txt
: >"$log"
build=build-gpu
device=${REPMLP_GPU_DEVICE:-}
quick=${REPMLP_GPU_CHECK_QUICK:-0}
failed=0
t0=$SECONDS

say() { echo "$*" | tee -a "$log"; }
# step NAME CMD...: runs CMD with its output in the log, its time and status after it.
step() {
  local name=$1 start=$SECONDS rc
  shift
  say ""
  say "== $name"
  "$@" >>"$log" 2>&1
  rc=$?
  say "-- $name: exit $rc, $((SECONDS - start)) s"
  if [ "$rc" != 0 ]; then failed=$((failed + 1)); fi
  return 0
}
dev_args=()
if [ -n "$device" ]; then dev_args=(--device "$device"); fi

say "gpu-check $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2>/dev/null || echo 'no git')"
step "machine" bash -c 'uname -a; nproc; free -g | head -2; command -v nvidia-smi >/dev/null && nvidia-smi -L;
  for t in cc cmake glslangValidator spirv-opt spirv-val python3; do
    printf "%s: " "$t"; command -v "$t" || echo "missing"; done
  command -v vulkaninfo >/dev/null && vulkaninfo --summary 2>/dev/null | head -40'

# ---- build: tests only where cmocka is there ----
tests=ON
if ! [ -e /usr/include/cmocka.h ]; then
  tests=OFF
  say "cmocka is missing: building without the tests"
fi
step "configure" cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DREPMLP_BUILD_TESTS=$tests \
  -DREPMLP_PACKAGE=OFF -DREPMLP_TEST_DRIVERS=system -DREPMLP_TEST_SYSTEM_DEVICE="$device"
step "build" cmake --build "$build" -j"$(nproc)"
bin=$build/bin
if ! [ -x "$bin/repmlp-run" ]; then
  say "no tools were built: nothing more to do"
  exit 1
fi
step "devices" "$bin/repmlp-run" --list-devices

# ---- correctness on the GPU ----
if [ "$tests" = ON ]; then
  step "device tests on the GPU" ctest --test-dir "$build" -L device --output-on-failure \
    --timeout 900
fi
digits=$out/digits.fused.safetensors
step "fuse digits" "$bin/repmlp-fuse" --arch RepMLPNet --config @examples/digits/config.json \
  --metadata preprocess=@examples/digits/preprocess.json examples/digits/train.safetensors "$digits"
step "digits on the GPU (accuracy, PyTorch check)" bash -c "
  '$bin/repmlp-run' '$digits' --input examples/digits/test.safetensors \
    --eval examples/digits/test.safetensors --predictions '$out/predictions.json' --repeat 3 ${dev_args[*]} &&
  bash scripts/check-digits.sh '$out/predictions.json'"

# ---- speed ----
# The RepMLP-Res50 block fc3 GEMMs (h = w = 7: K = N = C*49/groups) at batch 1 and 32 (M =
# batch * partitions), then square problems; each row tile alternately, GFLOP/s.
problems=("16 392 392 8" "512 392 392 8" "4 392 392 8" "128 392 392 8" "16 1568 1568 4")
if [ "$quick" != 1 ]; then problems+=("512 1568 1568 4" "1024 1024 1024 1" "4096 4096 4096 1"); fi
for p in "${problems[@]}"; do
  set -- $p
  step "gemm M=$1 N=$2 K=$3 groups=$4" "$bin/repmlp-bench-kernels" --gemm "$1" "$2" "$3" --groups "$4" \
    --tiles 0,1,4,8 --repeat 5 "${dev_args[@]}"
done
for f in tests/fixtures/*/*/train.safetensors; do
  dir=$(dirname "$f")
  case $dir in
    *block_v1*) arch=RepMLP ;;
    *block_v2*) arch=RepMLPBlock ;;
    *resnet*) arch=RepMLPResNet ;;
    *) arch=RepMLPNet ;;
  esac
  name=$(basename "$(dirname "$dir")")-$(basename "$dir")
  "$bin/repmlp-fuse" --arch $arch --config "@$dir/config.json" "$f" "$out/$name.fused" >>"$log" 2>&1 ||
    continue
  for batch in 1 32; do
    step "$name batch $batch" "$bin/repmlp-bench" "$out/$name.fused" --batch $batch --repeat 10 \
      "${dev_args[@]}"
  done
done
for parts in 2 4 8; do
  step "digits in $parts parts" "$bin/repmlp-bench" "$digits" --repeat 10 --parts $parts \
    "${dev_args[@]}"
done
if [ "$quick" = 1 ]; then
  say "REPMLP_GPU_CHECK_QUICK=1: RepMLPNet-T224 / -B224 skipped"
elif /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  for preset in RepMLPNet-T224 RepMLPNet-B224; do
    w=$out/$preset
    step "$preset weights" /usr/bin/python3 tools/fixtures/make_preset_weights.py --preset $preset \
      --out "$w"
    step "$preset fuse" "$bin/repmlp-fuse" --preset $preset "$w/train.safetensors" "$w.fused"
    step "$preset check" "$bin/repmlp-run" "$w.fused" --input "$w/input.safetensors" \
      --output "$w/out.safetensors" --expect "$w/expected.safetensors" --tolerance 1e-4 \
      "${dev_args[@]}"
    for batch in 1 32; do
      step "$preset batch $batch" "$bin/repmlp-bench" "$w.fused" --batch $batch --repeat 10 \
        --parts 4 "${dev_args[@]}"
      # what this device's compiler made of each op (registers, spills, occupancy, lanes
      # filled), beside the static figures of bench/RESULTS-gpu-compile.md
      if [ "$preset" = RepMLPNet-T224 ]; then
        step "$preset batch $batch compile stats" "$bin/repmlp-bench" "$w.fused" --batch $batch \
          --compile-stats "${dev_args[@]}"
      fi
    done
    rm -rf "$w" "$w.fused"
  done
else
  say "no torch for /usr/bin/python3: RepMLPNet-T224 / -B224 skipped"
fi
say ""
say "gpu-check: $failed failed steps, $((SECONDS - t0)) s; the whole log is $log"
say "The device's fp32 peak is not reported through Vulkan: compare the GFLOP/s above with the"
say "vendor's figure for this GPU (units x clock x 2 FLOP per FMA)."
[ "$failed" = 0 ]
