#!/usr/bin/env bash
# The test command: installs what is missing, builds with warnings as errors, and runs every
# test (device tests on both lavapipe and SwiftShader, validation layer on; the docs checked
# against the tree by tests/check_docs.sh), builds the API reference with warnings as errors
# (scripts/check-doxygen.sh), compares the ABI with the release's (scripts/check-abi.sh), runs the layer's
# best-practices checks on two models (scripts/check-best-practices.sh), compiles every
# pipeline for four AMD GPU families without a GPU (scripts/check-gpu-compile.sh), then checks the
# installed package (scripts/check-package.sh), runs the Windows build under Wine
# (scripts/check-windows.sh) and the arm64 build's host tests under qemu
# (scripts/check-arm64.sh), runs the suite again under ASan + UBSan
# (scripts/test-sanitizers.sh), the multithreaded tests under ThreadSanitizer
# (scripts/test-tsan.sh) and fuzzes every parser for a bounded time (scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

# Formatting is checked on the files git tracks (skipped, with a note, outside a git checkout).
if command -v git >/dev/null && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files '*.c' '*.h' '*.comp' '*.glsl' | xargs -r clang-format --dry-run --Werror
else
  echo "test.sh: not a git checkout: clang-format check skipped"
fi

# Tests, tools, failure injection and the test hooks are forced on: a reused build directory
# configured without them must not pass with less run.
build=${REPMLP_BUILD_DIR:-build-test}
# REPMLP_ABI_DEBUGINFO: -g in the installable libraries, whose types the ABI check reads.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DREPMLP_WERROR=ON -DREPMLP_BUILD_TESTS=ON \
  -DREPMLP_BUILD_TOOLS=ON -DREPMLP_FAULT_INJECTION=ON -DREPMLP_TEST_HOOKS=ON -DREPMLP_ABI_DEBUGINFO=ON
cmake --build "$build" -j"$(nproc)"
# The public surface: the API reference builds without a warning (every public symbol
# documented) and the shared library's ABI equals the release baseline (abi/librepmlp.abi)
# but for additions.
bash scripts/check-doxygen.sh "$build"
bash scripts/check-abi.sh "$build"
bash scripts/run-ctest.sh "$build" -j"$(nproc)"
# The validation layer's best-practices checks (vendor ones included) on the digits model and
# RepMLPNet-T224: any finding not in scripts/best-practices-known.txt fails.
bash scripts/check-best-practices.sh "$build" "$build/best-practices-t224" # weights kept for reruns

# A real GPU compiler: every pipeline compiled by RADV/ACO for four AMD families without a GPU
# (compile-only contexts on RADV's null device); fails on a pipeline that does not compile or a
# built-in kernel that spills or uses scratch.
REPMLP_GPU_COMPILE_OUT=$build/RESULTS-gpu-compile.md bash scripts/check-gpu-compile.sh "$build"

# What users get: install, examples against the installed package on both drivers,
# pkg-config, and the Windows (MinGW-w64) cross build; then that Windows build run under Wine,
# compared with this build's tools, and the arm64 cross build's host tests under qemu.
REPMLP_BUILD_DIR=$build bash scripts/check-package.sh
REPMLP_BUILD_DIR=$build bash scripts/check-windows.sh
REPMLP_BUILD_DIR=$build bash scripts/check-arm64.sh

# Hostile input and leaks: the whole suite in an ASan + UBSan build (lavapipe); data races:
# the multithreaded tests in a TSan build (both drivers); then each libFuzzer target for
# FUZZ_SECONDS (default 15 s).
bash scripts/test-sanitizers.sh
bash scripts/test-tsan.sh
bash scripts/fuzz.sh
