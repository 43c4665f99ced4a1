#!/usr/bin/env bash
# One doubtful cell of bench/ab.sh, measured until its answer is out of the noise:
# `bash bench/ab_case.sh DRIVER CASE BATCH ROUNDS BIN...` runs `repmlp-bench` on one block shape
# (CASE: S2B, S3B, S2L or S3L of bench/blocks.sh) with each build's BIN, ROUNDS times, the
# builds alternating and their order reversed every other round (so that a slow phase of this
# shared machine, or a drift, falls on all of them alike), and prints for each build the mean
# and standard error of its per-process medians (host to host and execute only, ms).
# Single processes spread by 15-25% on 2 shared cores; the best of a few did not settle a 15%
# difference in three sessions, 12-16 rounds of this did (bench/AB.md, 2026-12-08).
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: bench/ab_case.sh lavapipe|swiftshader CASE BATCH ROUNDS BIN..."
driver=${1:?$usage}
case_name=${2:?$usage}
batch=${3:?$usage}
rounds=${4:?$usage}
shift 4
[ $# -ge 1 ] || { echo "$usage" >&2; exit 2; }
# shellcheck source=bench/blocks.sh
source bench/blocks.sh
case $driver in
  lavapipe) icd=$lvp ;;
  swiftshader) icd=$swr ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
shapes=$(tr ' ' '\n' <<<"$shapes" | grep "^$case_name:") || {
  echo "bench/ab_case.sh: no block shape $case_name in bench/blocks.sh" >&2
  exit 2
}
make_blocks "$work" "$1"
bins=("$@")
for ((r = 0; r < rounds; r++)); do
  order=("${bins[@]}")
  if ((r % 2)); then
    order=()
    for ((i = ${#bins[@]} - 1; i >= 0; i--)); do order+=("${bins[i]}"); done
  fi
  for bin in "${order[@]}"; do
    key=$(printf '%s' "$bin" | cksum | cut -d' ' -f1)
    VK_ICD_FILENAMES=$icd "$bin/repmlp-bench" "$work/$case_name.fused" --batch "$batch" --repeat 6 |
      sed -nE 's/.*host: median ([0-9.]+).*execute only: median ([0-9.]+).*/\1 \2/p' >>"$work/$key"
  done
done
echo "$driver $case_name batch $batch, $rounds processes per build: mean ± standard error (ms)"
for bin in "${bins[@]}"; do
  key=$(printf '%s' "$bin" | cksum | cut -d' ' -f1)
  awk -v bin="$bin" '
    { h += $1; hh += $1 * $1; e += $2; ee += $2 * $2; n++ }
    END { # the standard error: the population variance / (n - 1), rooted
      if (n < 2) { printf "%s: %d runs, too few\n", bin, n; exit 1 }
      mh = h / n; me = e / n
      printf "%s: host to host %.1f ± %.1f, execute only %.1f ± %.1f\n", bin, mh,
             sqrt((hh / n - mh * mh) / (n - 1)), me, sqrt((ee / n - me * me) / (n - 1))
    }' "$work/$key"
done
