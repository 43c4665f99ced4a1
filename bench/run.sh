#!/usr/bin/env bash
# Regenerates bench/RESULTS.md in one run on this machine: the RepMLP-Res50 block shapes of
# issue [perf] (S2B, S3B, S2L, S3L; h = w = 7, k {1,3,5}) at batch 1 and 32 for
#   - our fused (deploy) block on lavapipe (fp32 and fp16 weights; built-in and tuned kernel
#     choice, `repmlp-bench --tune`) and on SwiftShader,
#   - our runtime executing the *training-time* structure of the same block, unfused
#     (`repmlp-bench --unfused`: its BatchNorms, conv branches and permutes as separate ops),
#   - PyTorch on the CPU, 2 threads, best of three forms of the deploy block
#     (bench/pytorch_block.py; OpenBLAS, installed here when missing and running as root),
# then the GEMM kernel's rate per row tile and per algorithm (bench/gemm_algorithms.sh), and a
# per-op profile.
# Needs a build (build/bin; REPMLP_BIN overrides) and Debian's python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${REPMLP_BIN:-build/bin}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ! dpkg -s libopenblas0-openmp >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y -qq libopenblas0-openmp >/dev/null
  else
    echo "bench/run.sh: libopenblas0-openmp is missing: PyTorch falls back to the reference BLAS" >&2
  fi
fi
# shellcheck source=bench/blocks.sh
source bench/blocks.sh
make_blocks "$work" "$bin"
median() { grep -oE "median [0-9.]+" | head -1 | awk '{print $2}'; }
# ours DRIVER NAME BATCH [tuned|unfused|fp16]: median host-to-host ms of one process. tuned:
# with the winners of a tuning run made once per driver, shape and batch (ours_tune), so that
# the tuned process measures nothing at creation.
ours() {
  local icd=$lvp reps=10
  [ "$1" = swiftshader ] && icd=$swr && reps=5
  [ "$3" = 32 ] && reps=3
  [ "$1" = swiftshader ] && [ "$3" = 32 ] && reps=2
  if [ "${4:-}" = fp16 ]; then
    VK_ICD_FILENAMES=$icd "$bin/repmlp-bench" "$work/$2.fused" --batch "$3" --repeat $reps \
      --fp16 | median
  elif [ "${4:-}" = tuned ]; then
    VK_ICD_FILENAMES=$icd "$bin/repmlp-bench" "$work/$2.fused" --batch "$3" --repeat $reps \
      --tuning-file "$work/$1.$2.$3.tuning" | median
  elif [ "${4:-}" = unfused ]; then
    VK_ICD_FILENAMES=$icd "$bin/repmlp-bench" --unfused "$work/$2/train.safetensors" \
      --config "@$work/$2/config.json" --batch "$3" --repeat $reps | median
  else
    VK_ICD_FILENAMES=$icd "$bin/repmlp-bench" "$work/$2.fused" --batch "$3" --repeat $reps | median
  fi
}
ours_tune() { # DRIVER NAME BATCH: measures and saves the winners (REPMLP_CONTEXT_TUNE)
  local icd=$lvp
  [ "$1" = swiftshader ] && icd=$swr
  VK_ICD_FILENAMES=$icd "$bin/repmlp-bench" "$work/$2.fused" --batch "$3" --repeat 1 --tune \
    --tuning-file "$work/$1.$2.$3.tuning" >"$work/$1.$2.$3.report"
}
changed() { # DRIVER NAME BATCH: "ops whose kernel the tuning changed / GEMM-conv ops"
  local report="$work/$1.$2.$3.report"
  [ "$2" = t224 ] && report="$work/$1.t224.report"
  awk '/ -> .*, measured$/ {n++; if ($(NF-3)"," != $(NF-1)) c++} END {printf "%d of %d", c, n}' \
    "$report"
}
# Built-in and tuned kernels alternately, five processes each on lavapipe (three on SwiftShader),
# the best median of each: on these machines one process's median can be 2x another's for the
# same command and kernels (2.2 vs 5.5 ms seen for S2B at batch 1 on lavapipe, 0.77 vs 1.39 ms
# for S3B), which a single pair would read as a kernel difference.
# Sets t[NAME.BATCH.KEY] and t[NAME.BATCH.KEY_tuned].
ours_pair() { # DRIVER KEY NAME BATCH
  local a="" b="" rounds=5
  [ "$1" = swiftshader ] && rounds=3
  ours_tune "$1" "$3" "$4"
  for round in $(seq $rounds); do
    a="$a$(ours "$1" "$3" "$4")"$'\n'
    b="$b$(ours "$1" "$3" "$4" tuned)"$'\n'
  done
  t[$3.$4.$2]=$(printf '%s' "$a" | min)
  t[$3.$4.$2_tuned]=$(printf '%s' "$b" | min)
}
torch_ms() {
  /usr/bin/python3 bench/pytorch_block.py "$work/$1.fused" --batch "$2" --threads 2 \
    --repeat 10 --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["median_ms"])'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1fx", a/b}'; }

# Every measurement of a shape and batch is taken back to back, so ratios compare like with like.
declare -A t
for s in $shapes; do
  IFS=: read -r name C H g <<<"$s"
  for n in 1 32; do
    ours_pair lavapipe lvp "$name" $n
    t[$name.$n.lvp_unfused]=$(ours lavapipe "$name" $n unfused)
    t[$name.$n.lvp_fp16]=$(ours lavapipe "$name" $n fp16)
    ours_pair swiftshader swr "$name" $n
    t[$name.$n.swr_unfused]=$(ours swiftshader "$name" $n unfused)
    t[$name.$n.torch]=$(torch_ms "$name" $n)
  done
done
declare -A ncnn_lvp=([S2B.1]=130 [S2B.32]=3771 [S3B.1]=39 [S3B.32]=993 [S2L.1]=224 [S2L.32]=6982 [S3L.1]=224 [S3L.32]=6990)
declare -A ncnn_swr=([S2B.1]=49 [S2B.32]=1572 [S3B.1]=23 [S3B.32]=540 [S2L.1]=73 [S2L.32]=2678 [S3L.1]=94 [S3L.32]=3527)
declare -A ncnn_cpu=([S2B.1]=0.99 [S2B.32]=35.9 [S3B.1]=0.34 [S3B.32]=11.9 [S2L.1]=1.89 [S2L.32]=58.1 [S3L.1]=3.10 [S3L.32]=100)
row() { # row LABEL FORMULA: one cell per shape, "b1 / b32"
  local line="| $1"
  for s in $shapes; do
    local name=${s%%:*} cells=""
    for n in 1 32; do cells="$cells${cells:+ / }$($2 "$name" $n)"; done
    line="$line | $cells"
  done
  echo "$line |"
}
cell_lvp() { echo "${t[$1.$2.lvp]}"; }
cell_swr() { echo "${t[$1.$2.swr]}"; }
cell_lvp_tuned() { echo "${t[$1.$2.lvp_tuned]}"; }
cell_swr_tuned() { echo "${t[$1.$2.swr_tuned]}"; }
cell_tuned_lvp() { ratio "${t[$1.$2.lvp]}" "${t[$1.$2.lvp_tuned]}"; }
cell_changed_lvp() { changed lavapipe "$1" "$2"; }
cell_changed_swr() { changed swiftshader "$1" "$2"; }
cell_tuned_swr() { ratio "${t[$1.$2.swr]}" "${t[$1.$2.swr_tuned]}"; }
cell_vs_ncnn_swr_tuned() { ratio "${ncnn_swr[$1.$2]}" "${t[$1.$2.swr_tuned]}"; }
cell_lvp_fp16() { echo "${t[$1.$2.lvp_fp16]}"; }
cell_lvp_unfused() { echo "${t[$1.$2.lvp_unfused]}"; }
cell_swr_unfused() { echo "${t[$1.$2.swr_unfused]}"; }
cell_torch() { echo "${t[$1.$2.torch]}"; }
cell_vs_ncnn_lvp() { ratio "${ncnn_lvp[$1.$2]}" "${t[$1.$2.lvp]}"; }
cell_vs_ncnn_swr() { ratio "${ncnn_swr[$1.$2]}" "${t[$1.$2.swr]}"; }
cell_fuse_lvp() { ratio "${t[$1.$2.lvp_unfused]}" "${t[$1.$2.lvp]}"; }
cell_fuse_swr() { ratio "${t[$1.$2.swr_unfused]}" "${t[$1.$2.swr]}"; }
cell_vs_torch() { ratio "${t[$1.$2.torch]}" "${t[$1.$2.lvp]}"; }
cell_vs_ncnn_cpu() { ratio "${ncnn_cpu[$1.$2]}" "${t[$1.$2.lvp]}"; }
# RepMLPNet-T224 (random weights) at batch 1: built-in kernels, tuning at session creation (its
# cost), and the saved tuning file reused, on both drivers.
/usr/bin/python3 tools/fixtures/make_preset_weights.py --preset RepMLPNet-T224 --out "$work/T224" \
  >/dev/null
"$bin/repmlp-fuse" --preset RepMLPNet-T224 "$work/T224/train.safetensors" "$work/T224.fused" >/dev/null
declare -A n224
t224() { # DRIVER KEY [ARGS...]: "median-ms created-ms"
  local icd=$lvp reps=10 key=$2
  [ "$1" = swiftshader ] && icd=$swr && reps=3
  shift 2
  VK_ICD_FILENAMES=$icd "$bin/repmlp-bench" "$work/T224.fused" --batch 1 --repeat $reps "$@" \
    >"$work/t224.out"
  n224[$key.ms]=$(median <"$work/t224.out")
  n224[$key.created]=$(grep -oE "session created in [0-9]+" "$work/t224.out" | awk '{print $NF}')
}
for d in lavapipe swiftshader; do
  t224 $d $d.tuning --tune --tuning-file "$work/$d.tuning"
  cp "$work/t224.out" "$work/$d.t224.report"
  builtin="" file="" rounds=5
  [ $d = swiftshader ] && rounds=3
  for round in $(seq $rounds); do # alternately, the best median of each (see ours_pair)
    t224 $d $d.builtin
    builtin="$builtin${n224[$d.builtin.ms]}"$'\n'
    t224 $d $d.file --tuning-file "$work/$d.tuning"
    file="$file${n224[$d.file.ms]}"$'\n'
  done
  n224[$d.builtin.ms]=$(printf '%s' "$builtin" | min)
  n224[$d.file.ms]=$(printf '%s' "$file" | min)
done
t224_row() { # DRIVER
  echo "| $1 | ${n224[$1.builtin.ms]} | ${n224[$1.tuning.ms]} | ${n224[$1.file.ms]} |" \
    "$(ratio "${n224[$1.builtin.ms]}" "${n224[$1.file.ms]}") |" \
    "${n224[$1.builtin.created]} / ${n224[$1.tuning.created]} / ${n224[$1.file.created]} |" \
    "$(changed "$1" t224 x) |"
}

blas=$(/usr/bin/python3 bench/pytorch_block.py "$work/S3B.fused" --batch 1 --repeat 1 --json |
  /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print("torch %s, %s" % (d["torch"], d["blas"]))')
{
  echo "# Benchmarks"
  echo
  echo "Made by \`bash bench/run.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores,"
  echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), all in one run."
  echo "Median host-to-host latency (input upload, run, output download) in ms, batch 1 / batch 32;"
  echo "the ncnn rows are the figures quoted in issue [perf] for the same machine kind. The"
  echo "measurements of one shape and batch are taken back to back. Run-to-run variation on these"
  echo "shared 2-core machines reaches +-40%: compare within a file, not across files. Built-in and"
  echo "tuned kernels: five processes each on lavapipe and three on SwiftShader, alternating, the"
  echo "best median of each (one process's median can be 2x another's for the same kernels); tuned"
  echo "processes load the winners of one \`--tune --tuning-file F\` run per driver, shape and"
  echo "batch."
  echo
  echo "| system | S2B | S3B | S2L | S3L |"
  echo "| --- | --- | --- | --- | --- |"
  row "repmlp-vk fused, lavapipe" cell_lvp
  row "repmlp-vk fused, kernels tuned (winners of \`--tune\`), lavapipe" cell_lvp_tuned
  row "repmlp-vk fused, fp16 weights, lavapipe" cell_lvp_fp16
  row "repmlp-vk fused, SwiftShader" cell_swr
  row "repmlp-vk fused, kernels tuned (winners of \`--tune\`), SwiftShader" cell_swr_tuned
  row "repmlp-vk unfused (training-time structure), lavapipe" cell_lvp_unfused
  row "repmlp-vk unfused (training-time structure), SwiftShader" cell_swr_unfused
  row "PyTorch CPU, 2 threads, best form (measured here)" cell_torch
  echo "| ncnn 2026 Vulkan on lavapipe (quoted) | 130 / 3771 | 39 / 993 | 224 / 6982 | 224 / 6990 |"
  echo "| ncnn 2026 Vulkan on SwiftShader (quoted) | 49 / 1572 | 23 / 540 | 73 / 2678 | 94 / 3527 |"
  echo "| ncnn 2026 CPU, 2 threads (quoted) | 0.99 / 35.9 | 0.34 / 11.9 | 1.89 / 58.1 | 3.10 / 100 |"
  echo
  echo "Ratios (how many times faster the first is; > 1 means ours is faster):"
  echo
  echo "| ratio | S2B | S3B | S2L | S3L |"
  echo "| --- | --- | --- | --- | --- |"
  row "fused on lavapipe vs ncnn-Vulkan on lavapipe (target 20x)" cell_vs_ncnn_lvp
  row "fused on SwiftShader vs ncnn-Vulkan on SwiftShader (target 2x)" cell_vs_ncnn_swr
  row "fused and tuned on SwiftShader vs ncnn-Vulkan on SwiftShader (target 2x)" cell_vs_ncnn_swr_tuned
  row "fused, tuned vs built-in kernel choice, lavapipe (target >= 1x, 5% is noise)" cell_tuned_lvp
  row "fused, tuned vs built-in kernel choice, SwiftShader (target >= 1x, 5% is noise)" cell_tuned_swr
  row "GEMM/conv ops whose kernel the tuning changed, lavapipe" cell_changed_lvp
  row "GEMM/conv ops whose kernel the tuning changed, SwiftShader" cell_changed_swr
  row "fused vs unfused, lavapipe (target 2x)" cell_fuse_lvp
  row "fused vs unfused, SwiftShader (target 2x)" cell_fuse_swr
  row "fused on lavapipe vs PyTorch CPU (stretch: 0.5x)" cell_vs_torch
  row "fused on lavapipe vs ncnn CPU (stretch: 0.5x)" cell_vs_ncnn_cpu
  echo
  echo "Where the tuning changed no op's kernel (the counts above), the tuned and built-in processes"
  echo "run the same kernels: their ratio is this machine's noise."
  echo
  echo "RepMLPNet-T224 with random weights at batch 1: \`repmlp-bench T224.fused --batch 1\` once"
  echo "with \`--tune --tuning-file F\` (tuning at session creation), then five rounds (SwiftShader: three) alternating"
  echo "built-in kernels and \`--tuning-file F\` (the tuned winners, nothing measured), the best"
  echo "median of each; median latency in ms, and session creation in ms (built-in / tuning /"
  echo "tuning file)."
  echo
  echo "| driver | built-in kernels | tuned | tuning file | tuning file vs built-in (target >= 1x) | session creation ms | ops whose kernel the tuning changed |"
  echo "| --- | --- | --- | --- | --- | --- | --- |"
  t224_row lavapipe
  t224_row swiftshader
  echo
  echo "PyTorch: $blas; forms timed: fc3 as grouped conv2d, as baddbmm, and the faster one"
  echo "traced and frozen (\`/usr/bin/python3 bench/pytorch_block.py FUSED --batch N --forms\`)."
  echo
  echo "GEMM kernel alone, each row tile measured alternately in one run"
  echo "(\`repmlp-bench-kernels --gemm M N K --groups G --tiles 1,4,8\`, best of 5; GFLOP/s):"
  echo
  echo "| problem | lavapipe tile 1 / 4 / 8 | SwiftShader tile 1 / 4 / 8 |"
  echo "| --- | --- | --- |"
  for p in "1 1024 1024 1" "4 392 392 8" "16 392 392 8" "128 392 392 8" "512 512 512 1"; do
    set -- $p
    a=$(VK_ICD_FILENAMES=$lvp "$bin/repmlp-bench-kernels" --gemm $1 $2 $3 --groups $4 --tiles 1,4,8 \
          --repeat 3 | grep -oE "[0-9.]+ GFLOP/s" | awk '{print $1}' | paste -sd/ | sed 's|/| / |g')
    b=$(VK_ICD_FILENAMES=$swr "$bin/repmlp-bench-kernels" --gemm $1 $2 $3 --groups $4 --tiles 1,4,8 \
          --repeat 1 | grep -oE "[0-9.]+ GFLOP/s" | awk '{print $1}' | paste -sd/ | sed 's|/| / |g')
    echo "| M=$1 N=$2 K=$3 groups=$4 | $a | $b |"
  done
  echo
  REPMLP_BIN=$bin bash bench/gemm_algorithms.sh
  echo
  echo "Per-op profile of S3B at batch 32 on lavapipe, fused then unfused"
  echo "(\`repmlp-bench FUSED --batch 32\`, \`repmlp-bench --unfused TRAIN --config @CFG --batch 32\`):"
  echo
  echo '```'
  VK_ICD_FILENAMES=$lvp "$bin/repmlp-bench" "$work/S3B.fused" --batch 32 --repeat 3 |
    sed -n '/per-op/,$p'
  VK_ICD_FILENAMES=$lvp "$bin/repmlp-bench" --unfused "$work/S3B/train.safetensors" \
    --config "@$work/S3B/config.json" --batch 32 --repeat 3 | sed -n '/per-op/,$p'
  echo '```'
} > bench/RESULTS.md.tmp
mv bench/RESULTS.md.tmp bench/RESULTS.md
