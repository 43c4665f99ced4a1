#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for a bounded time on a
# seed corpus made of the test fixtures, fused files made from them and fuzz/seeds/. Any
# crash, leak or sanitizer report fails; a found input is kept under fuzz/crashes/ to become a
# regression seed. FUZZ_SECONDS per target (default 15).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-15}
build=${REPMLP_FUZZ_BUILD_DIR:-build-fuzz}
CC=clang cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREPMLP_FUZZ=ON \
  -DREPMLP_BUILD_TESTS=OFF -DREPMLP_WERROR=ON -DREPMLP_TEST_HOOKS=ON >/dev/null
cmake --build "$build" -j"$(nproc)"

corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
for t in safetensors config model fuse; do mkdir -p "$corpus/$t"; done
cp fuzz/seeds/safetensors/* "$corpus/safetensors/"
cp fuzz/seeds/config/* "$corpus/config/"
i=0
for d in tests/fixtures/*/*/; do
  i=$((i + 1))
  [ -f "$d/config.json" ] && cp "$d/config.json" "$corpus/config/fixture$i.json"
  for f in "$d"*.safetensors; do
    [ "$(stat -c %s "$f")" -le 65536 ] && cp "$f" "$corpus/safetensors/fixture$i-$(basename "$f")"
  done
done
for d in tests/fixtures/block_v1/*/; do
  cp "$d/train.safetensors" "$corpus/fuse/$(basename "$d").safetensors"
  "$build/bin/repmlp-fuse" --arch RepMLP --config "@$d/config.json" "$d/train.safetensors" \
    "$corpus/model/$(basename "$d").safetensors" >/dev/null
  # the same with 8-bit weights: I8 tensors, F16 scales, the loader's block checks
  "$build/bin/repmlp-fuse" --arch RepMLP --config "@$d/config.json" --weights q8 \
    "$d/train.safetensors" "$corpus/model/$(basename "$d")-q8.safetensors" >/dev/null
done
for t in safetensors config model fuse; do
  [ -d "fuzz/regressions/$t" ] && cp fuzz/regressions/$t/* "$corpus/$t/" 2>/dev/null || true
done

export ASAN_OPTIONS=detect_leaks=1
mkdir -p fuzz/crashes
status=0
for t in safetensors config model fuse; do
  echo "fuzz_$t: ${seconds}s"
  if ! "$build/bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="fuzz/crashes/$t-" "$corpus/$t" 2>"$corpus/$t.log"; then
    tail -40 "$corpus/$t.log"
    status=1
  fi
  grep -E "^(#[0-9]+).*(DONE|pulse)|Done [0-9]+ runs" "$corpus/$t.log" | tail -1
done
exit $status
