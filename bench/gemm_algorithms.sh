#!/usr/bin/env bash
# Prints a bench/RESULTS.md section: the GEMM-core algorithms (shaders/shader_list.h) side by
# side, each forced and measured alternately in one run per problem and driver
# (`repmlp-bench-kernels --gemm M N K --variant storage --kernels ...`, best of 5, GFLOP/s), with the
# row tile the built-in choice takes for M. Needs a build (build/bin; REPMLP_BIN overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${REPMLP_BIN:-build/bin}
lvp=$(ls /usr/share/vulkan/icd.d/lvp_icd.*.json | head -1)
swr=/usr/lib/chromium/vk_swiftshader_icd.json
echo "GEMM-core algorithms, storage-buffer operands, fp32 weights, each row forced and measured"
echo "alternately in one run (\`repmlp-bench-kernels --gemm M N K --variant storage --kernels"
echo "gemm_mT,gemm_coalesced_mT,gemm_sgemv_mT,gemm_splitk_mT,gemm_narrow_mU\`, T the row tile"
echo "chosen for M, U = max(T, 4), best of 5; GFLOP/s): register tile / coalesced / subgroup"
echo "GEMV / split-K / narrow (4-column tile)"
echo
echo "| problem | tile | lavapipe | SwiftShader |"
echo "| --- | --- | --- | --- |"
for M in 1 8 64 512; do
  for NK in 512 3136; do
    T=8
    if [ "$M" -lt 4 ]; then T=1; elif [ "$M" -lt 12 ]; then T=4; fi
    U=$((T < 4 ? 4 : T))
    kernels=gemm_m$T,gemm_coalesced_m$T,gemm_sgemv_m$T,gemm_splitk_m$T,gemm_narrow_m$U
    # Up to 20 dispatches per timing, about 50 MFLOP at most.
    repeat=$((25000000 / (M * NK * NK)))
    repeat=$((repeat < 1 ? 1 : repeat > 20 ? 20 : repeat))
    row=""
    for icd in "$lvp" "$swr"; do
      # SwiftShader takes 10 s or more per dispatch from M=64, N=K=3136 (and 25 are timed).
      if [ "$icd" = "$swr" ] && [ $((M * NK * NK)) -gt 200000000 ]; then
        row="$row | not run"
        continue
      fi
      r=$(VK_ICD_FILENAMES=$icd "$bin/repmlp-bench-kernels" --gemm "$M" "$NK" "$NK" --variant storage \
        --kernels "$kernels" --repeat "$repeat" | grep -oE "[0-9.]+ GFLOP/s" | awk '{print $1}' |
        paste -sd/ | sed 's|/| / |g')
      row="$row | $r"
    done
    echo "| M=$M N=$NK K=$NK | $T$row |"
  done
done
