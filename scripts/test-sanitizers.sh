#!/usr/bin/env bash
# The whole test suite again in an AddressSanitizer + UndefinedBehaviorSanitizer build, on
# lavapipe (one driver is enough: the sanitizers check our code, not the driver's). Leaks
# inside the Vulkan loader and drivers are not ours; they are suppressed by library name in
# tests/lsan.supp, nothing of ours is.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${REPMLP_ASAN_BUILD_DIR:-build-asan}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DREPMLP_WERROR=ON -DREPMLP_ASAN=ON -DREPMLP_UBSAN=ON \
  -DREPMLP_BUILD_TESTS=ON -DREPMLP_BUILD_TOOLS=ON -DREPMLP_FAULT_INJECTION=ON -DREPMLP_TEST_HOOKS=ON
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
# Keep every dlopen'ed Vulkan library mapped until exit (see tests/support/keep_loaded.c); the
# ASan runtime must come first in the preload list.
cc -shared -fPIC -O2 -o "$build/libkeep_loaded.so" tests/support/keep_loaded.c
export LD_PRELOAD="$(cc -print-file-name=libasan.so) $PWD/$build/libkeep_loaded.so"
# RADV's null device (test_compile_only@radv-navi21) is left out too: its driver's own
# allocations have no suppressions; the library's side of it runs here on lavapipe.
# check_docs and check_api_tiers run no code of ours (they read the docs and compile the
# headers; the main suite runs them): with the ASan runtime preloaded, bash and mawk report their
# own leaks and a mawk overflow, so they are left out here.
bash scripts/run-ctest.sh "$build" -j"$(nproc)" -LE "swiftshader|radv" -E "^(check_docs|check_api_tiers)$"
