#!/usr/bin/env bash
# Regenerates bench/RESULTS.md: the RepMLP-Res50 block shapes of issue [perf] (S2B, S3B, S2L,
# S3L; h = w = 7, k {1,3,5}) at batch 1 and 32 on lavapipe and SwiftShader, and the GEMM
# kernel's rate, all in one run on this machine. Needs a build (build/bin) and python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${REPMLP_BIN:-build/bin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
lvp=$(ls /usr/share/vulkan/icd.d/lvp_icd.*.json | head -1)
swr=/usr/lib/chromium/vk_swiftshader_icd.json
shapes="S2B:64:28:8 S3B:64:14:8 S2L:64:28:4 S3L:128:14:4"
for s in $shapes; do
  IFS=: read -r name C H g <<<"$s"
  /usr/bin/python3 bench/make_block.py "$work/$name" "$C" "$H" "$g"
  "$bin/repmlp-fuse" --arch RepMLP --config "@$work/$name/config.json" \
    "$work/$name/train.safetensors" "$work/$name.fused" >/dev/null
done
median() { grep -oE "median [0-9.]+" | head -1 | awk '{print $2}'; }
{
  echo "# Benchmarks"
  echo
  echo "Made by \`bash bench/run.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores,"
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), all in one run."
  echo "Median host-to-host latency (input upload, run, output download) of our fused RepMLP"
  echo "block, ms; the ncnn rows are the figures quoted in issue [perf] for the same machine kind."
  echo "Run-to-run variation on these shared 2-core machines reaches +-40%: decide between kernel"
  echo "variants by alternating them in one run, not by comparing two of these files."
  echo
  echo "| system | S2B b1 / b32 | S3B b1 / b32 | S2L b1 / b32 | S3L b1 / b32 |"
  echo "| --- | --- | --- | --- | --- |"
  declare -A ncnn=([lavapipe]="130 3771 39 993 224 6982 224 6990"
                   [swiftshader]="49 1572 23 540 73 2678 94 3527")
  ratios=""
  for drv in lavapipe swiftshader; do
    icd=$lvp; [ $drv = swiftshader ] && icd=$swr
    row="| repmlp-vk on $drv"
    ratio="| speed-up over ncnn-Vulkan on $drv"
    read -r -a theirs <<<"${ncnn[$drv]}"
    i=0
    for s in $shapes; do
      IFS=: read -r name C H g <<<"$s"
      cells=""; rcells=""
      for n in 1 32; do
        reps=10; [ $n = 32 ] && reps=3
        m=$(VK_ICD_FILENAMES=$icd "$bin/repmlp-bench" "$work/$name.fused" --batch $n \
              --repeat $reps | median)
        cells="$cells${cells:+ / }$m"
        rcells="$rcells${rcells:+ / }$(awk -v a="${theirs[$i]}" -v b="$m" 'BEGIN{printf "%.1fx", a/b}')"
        i=$((i + 1))
      done
      row="$row | $cells"
      ratio="$ratio | $rcells"
    done
    echo "$row |"
    ratios="$ratios$ratio |"$'\n'
  done
  printf "%s" "$ratios"
  echo "| ncnn 2026 Vulkan on lavapipe (quoted) | 130 / 3771 | 39 / 993 | 224 / 6982 | 224 / 6990 |"
  echo "| ncnn 2026 Vulkan on SwiftShader (quoted) | 49 / 1572 | 23 / 540 | 73 / 2678 | 94 / 3527 |"
  echo "| ncnn 2026 CPU, 2 threads (quoted) | 0.99 / 35.9 | 0.34 / 11.9 | 1.89 / 58.1 | 3.10 / 100 |"
  echo
  echo "GEMM kernel alone (\`repmlp-bench --gemm M N K --groups G\`, best of 5):"
  echo
  echo "| problem | lavapipe | SwiftShader |"
  echo "| --- | --- | --- |"
  for p in "128 392 392 8" "4 392 392 8" "512 512 512 1"; do
    set -- $p
    a=$(VK_ICD_FILENAMES=$lvp "$bin/repmlp-bench" --gemm $1 $2 $3 --groups $4 --repeat 3 | grep -oE "[0-9.]+ GFLOP/s")
    b=$(VK_ICD_FILENAMES=$swr "$bin/repmlp-bench" --gemm $1 $2 $3 --groups $4 --repeat 1 | grep -oE "[0-9.]+ GFLOP/s")
    echo "| M=$1 N=$2 K=$3 groups=$4 | $a | $b |"
  done
  echo
  echo "Per-op profile of S3B at batch 32 on lavapipe (\`repmlp-bench FUSED --batch 32\`):"
  echo
  echo '```'
  VK_ICD_FILENAMES=$lvp "$bin/repmlp-bench" "$work/S3B.fused" --batch 32 --repeat 3 | sed -n '/per-op/,$p'
  echo '```'
} > bench/RESULTS.md.tmp
mv bench/RESULTS.md.tmp bench/RESULTS.md
cat bench/RESULTS.md
