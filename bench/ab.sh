#!/usr/bin/env bash
# A/B of two builds side by side in one run: `bash bench/ab.sh OLD_BIN NEW_BIN [ROUNDS]` prints a
# markdown table of the RepMLP-Res50 block shapes (S2B, S3B, S2L, S3L) at batch 1 and 32 on
# lavapipe and SwiftShader, and the GEMM kernel alone (repmlp-bench-kernels, M = N = K = 256,
# row tiles 1 / 4 / 8), each cell the best median of ROUNDS (default 3) processes per build run
# alternately, so that a slow phase of this shared machine hits both builds. For changes to
# kernels or the runtime: OLD_BIN is a build of the commit before (e.g. a worktree's build/bin).
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?usage: bench/ab.sh OLD_BIN NEW_BIN [ROUNDS]}
new=${2:?usage: bench/ab.sh OLD_BIN NEW_BIN [ROUNDS]}
rounds=${3:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# shellcheck source=bench/blocks.sh
source bench/blocks.sh
make_blocks "$work" "$new"
# block BIN ICD NAME BATCH: median host-to-host ms of one process
block() {
  local reps=10
  [ "$2" = "$swr" ] && reps=5
  [ "$4" = 32 ] && reps=2
  VK_ICD_FILENAMES=$2 "$1/repmlp-bench" "$work/$3.fused" --batch "$4" --repeat $reps |
    grep -oE "median [0-9.]+" | head -1 | awk '{print $2}'
}
# gemm BIN ICD TILE: ms per dispatch of the 256^3 GEMM with the register tile forced
gemm() {
  VK_ICD_FILENAMES=$2 "$1/repmlp-bench-kernels" --gemm 256 256 256 --tiles "$3" --repeat 5 |
    grep -oE "[0-9.]+ ms per dispatch" | awk '{print $1}'
}
echo "| driver | case | before (ms) | after (ms) | before / after |"
echo "| --- | --- | --- | --- | --- |"
for driver in lavapipe swiftshader; do
  icd=$lvp
  [ $driver = swiftshader ] && icd=$swr
  cases=""
  for s in $shapes; do
    for b in 1 32; do cases="$cases block:${s%%:*}:$b"; done
  done
  for t in 1 4 8; do cases="$cases gemm:$t"; done
  for c in $cases; do
    IFS=: read -r kind a b <<<"$c"
    : >"$work/old.t"
    : >"$work/new.t"
    for ((r = 0; r < rounds; r++)); do
      for side in old new; do
        bin=$old
        [ $side = new ] && bin=$new
        if [ "$kind" = block ]; then block "$bin" "$icd" "$a" "$b"; else gemm "$bin" "$icd" "$a"; fi \
          >>"$work/$side.t"
      done
    done
    o=$(min <"$work/old.t")
    n=$(min <"$work/new.t")
    label="$a b$b"
    [ "$kind" = gemm ] && label="GEMM 256^3 tile $a"
    echo "| $driver | $label | $o | $n | $(awk -v o="$o" -v n="$n" 'BEGIN {printf "%.2fx", o / n}') |"
  done
done
