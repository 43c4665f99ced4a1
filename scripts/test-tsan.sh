#!/usr/bin/env bash
# Data races: the multithreaded tests in a ThreadSanitizer build with the validation layer on.
# test_threads_stress (4 threads creating, running, re-binding and destroying sessions of one
# model on one imported context while the engine's thread submits to the same queue; a device
# loss while threads run) on lavapipe and SwiftShader, test_embed (threads, imported queue,
# async submission, allocator callbacks) on lavapipe. Any report fails the run. The drivers
# and the validation layer are not instrumented; what TSan still sees of them through its
# interceptors is suppressed by library name in tests/tsan.supp, each entry saying why.
# Nothing of repmlp-vk is suppressed.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${REPMLP_TSAN_BUILD_DIR:-build-tsan}
start=$SECONDS
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREPMLP_WERROR=ON -DREPMLP_TSAN=ON \
  -DREPMLP_BUILD_TESTS=ON -DREPMLP_BUILD_TOOLS=OFF -DREPMLP_PACKAGE=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target test_threads_stress test_embed
built=$SECONDS
export TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp halt_on_error=1 exitcode=66 second_deadlock_stack=1"
# called_from_lib entries abort TSan when their library is unloaded: keep every dlopen'ed
# Vulkan library mapped until exit (tests/support/keep_loaded.c).
cc -shared -fPIC -O2 -o "$build/libkeep_loaded.so" tests/support/keep_loaded.c
export LD_PRELOAD="$PWD/$build/libkeep_loaded.so"
# TSan's shadow memory needs the address space randomised by at most 28 bits: where the
# kernel randomises more, run without randomisation (inherited by ctest's children) if allowed.
wrap=()
if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 0)" -gt 28 ] &&
  setarch "$(uname -m)" -R true 2>/dev/null; then
  wrap=(setarch "$(uname -m)" -R)
fi
"${wrap[@]}" bash scripts/run-ctest.sh "$build" -j"$(nproc)" \
  -R '^(test_threads_stress@(lavapipe|swiftshader)|test_embed@lavapipe)$'
echo "test-tsan.sh: build $((built - start)) s, tests $((SECONDS - built)) s"
