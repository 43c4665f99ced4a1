#!/usr/bin/env bash
# The test command: installs what is missing, builds with warnings as errors, and runs every
# test (device tests on both lavapipe and SwiftShader, validation layer on).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

if command -v clang-format >/dev/null; then
  git ls-files '*.c' '*.h' '*.comp' '*.glsl' 2>/dev/null | xargs -r clang-format --dry-run --Werror
fi

build=${REPMLP_BUILD_DIR:-build-test}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DREPMLP_WERROR=ON
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
