#!/usr/bin/env bash
# The Khronos validation layer's best-practices checks, the vendor-specific ones included
# (AMD, Arm, IMG, NVIDIA), on real sessions on lavapipe: the trained digits model
# (examples/digits: its whole test set with repmlp-run --eval, then repmlp-bench with kernel
# tuning, per-op profiling and a run in two parts, for the tuner's and the profiler's command
# buffers and timestamp queries) and RepMLPNet-T224 with random weights at batch 1 (repmlp-run).
# SwiftShader is left out: on digits it reported the same 7 IDs as lavapipe (2026-12-07) and
# took 6x as long (its kernel compiles); only the kernels and operand path chosen differ. The
# distinct message IDs are collected; any ID not in scripts/best-practices-known.txt (one ID per
# line, then why it does not apply or is accepted) fails the check. Each run must also still
# compute the right answer (digits: scripts/check-digits.sh; T224: --expect against PyTorch).
#   bash scripts/check-best-practices.sh [BUILD] [T224_WEIGHTS_DIR]
# BUILD defaults to build (with the tools); T224_WEIGHTS_DIR holds make_preset_weights.py's
# output for RepMLPNet-T224 (made in a temporary directory when not given; needs Debian's
# python3-torch). Used by scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
known=scripts/best-practices-known.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
lavapipe=/usr/share/vulkan/icd.d/lvp_icd.$(uname -m).json # this machine's (multiarch)
[ -r "$lavapipe" ] || {
  echo "check-best-practices: driver manifest $lavapipe is missing (see scripts/install-deps.sh)" >&2
  exit 1
}
# Added to what the library enables with REPMLP_CONTEXT_VALIDATION (synchronization validation).
export VK_LAYER_ENABLES=VK_VALIDATION_FEATURE_ENABLE_BEST_PRACTICES_EXT:VALIDATION_CHECK_ENABLE_VENDOR_SPECIFIC_ALL

# run NAME ICD TOOL ARGS...: the tool (repmlp-run, repmlp-bench) with the layer on; its
# messages go to $work/NAME.log. Its exit status is not looked at: any message makes it 1; each
# caller checks the answer instead.
run() {
  local name=$1 icd=$2 tool=$3 t0=$SECONDS
  shift 3
  VK_ICD_FILENAMES=$icd "$build/bin/$tool" "$@" --validation >"$work/$name.out" \
    2>"$work/$name.log" || true
  echo "check-best-practices: $name: $(grep -c 'validation: ' "$work/$name.log" || true)" \
    "layer messages ($((SECONDS - t0)) s)"
}

ex=examples/digits
"$build/bin/repmlp-fuse" --arch RepMLPNet --config "@$ex/config.json" \
  --metadata "preprocess=@$ex/preprocess.json" "$ex/train.safetensors" "$work/digits.fused" \
  >/dev/null
run digits "$lavapipe" repmlp-run "$work/digits.fused" --input "$ex/test.safetensors" \
  --eval "$ex/test.safetensors" --predictions "$work/digits.json"
if ! bash scripts/check-digits.sh "$work/digits.json" >/dev/null 2>&1; then
  echo "check-best-practices: digits did not classify as PyTorch does:" >&2
  cat "$work/digits.out" "$work/digits.log" >&2
  exit 1
fi
# A 1 s tuning budget still measures and confirms candidates for some ops (all the tuner's
# command buffers and queries); the default budget only repeats them, for 30 s more.
run digits-bench "$lavapipe" repmlp-bench "$work/digits.fused" --batch 1 --repeat 1 --tune \
  --tune-budget 1000 \
  --parts 2
if ! grep -q '^  sum .* ms, largest part' "$work/digits-bench.out"; then
  echo "check-best-practices: repmlp-bench on digits did not finish:" >&2
  cat "$work/digits-bench.out" "$work/digits-bench.log" >&2
  exit 1
fi

weights=${2:-$work/t224}
if [ ! -f "$weights/train.safetensors" ]; then
  t0=$SECONDS
  # The layer sees the same calls whatever the values: the cheapest calibration will do.
  /usr/bin/python3 tools/fixtures/make_preset_weights.py --preset RepMLPNet-T224 --out "$weights" \
    --calib-batch 1 --no-f32-check >/dev/null
  echo "check-best-practices: RepMLPNet-T224 random weights made ($((SECONDS - t0)) s)"
fi
"$build/bin/repmlp-fuse" --preset RepMLPNet-T224 "$weights/train.safetensors" \
  "$work/t224.fused" >/dev/null
run t224 "$lavapipe" repmlp-run "$work/t224.fused" --input "$weights/input.safetensors" \
  --output "$work/t224.out.safetensors" --expect "$weights/expected.safetensors"
if ! grep -q '^check: .* PASS$' "$work/t224.out"; then
  echo "check-best-practices: RepMLPNet-T224 did not match PyTorch:" >&2
  cat "$work/t224.out" "$work/t224.log" >&2
  exit 1
fi

# The message ID is the "[ ID ]" that opens each layer message; a message without one is
# reported as such and fails the check too.
for log in "$work"/*.log; do
  grep 'validation: ' "$log" | sed -n 's/^.*validation: [^[]*\[ \([^] ]*\) \].*$/\1/p;t;s/.*/(no-id)/p'
done | sort -u >"$work/found.txt"
grep -v '^\s*\(#\|$\)' "$known" | awk '{print $1}' | sort -u >"$work/known.txt"
new=$(comm -23 "$work/found.txt" "$work/known.txt")
stale=$(comm -13 "$work/found.txt" "$work/known.txt")
echo "check-best-practices: $(wc -l <"$work/found.txt") distinct message IDs," \
  "all listed in $known: $([ -z "$new" ] && echo yes || echo no)"
[ -z "$stale" ] || echo "check-best-practices: listed but not reported now (prune?): $stale"
if [ -n "$new" ]; then
  for id in $new; do
    echo "check-best-practices: unlisted finding $id, e.g.:" >&2
    grep -h -m 1 -F "[ $id ]" "$work"/*.log >&2 || grep -h -m 1 'validation: ' "$work"/*.log >&2
  done
  echo "check-best-practices: FAIL (fix it, or list it in $known with the reason)" >&2
  exit 1
fi
echo "check-best-practices: PASS in $(($(date +%s) - start)) s"
