#!/usr/bin/env bash
# A real GPU compiler in CI: every pipeline of the presets RepMLPNet-T224, RepMLPNet-B224 and
# RepMLPRes50-Light-224 (batch 1 and 32), of the digits example and every test fixture, and
# every row of shaders/shader_list.h, compiled by RADV/ACO for polaris10, vega10, navi21 and
# gfx1100 (wave64; RDNA also wave32) on RADV's null device (no GPU needed: compile-only
# contexts). Fails when a pipeline does not compile, the built-in kernel choice spills or uses
# scratch, or one of its GEMM/conv ops leaves more than half of its subgroups' lanes idle;
# writes bench/RESULTS-gpu-compile.md. Details: scripts/check_gpu_compile.py.
#   bash scripts/check-gpu-compile.sh [BUILD] [WEIGHTS_DIR]
# BUILD defaults to build; WEIGHTS_DIR keeps the presets' random weights between runs
# (a temporary directory when not given; needs Debian's python3-torch). The report goes to
# REPMLP_GPU_COMPILE_OUT (default bench/RESULTS-gpu-compile.md; scripts/test.sh writes it into
# its build directory).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
cmake --build "$build" -j"$(nproc)" --target repmlp-fuse repmlp-bench repmlp-compile-rows
args=("$build" --out "${REPMLP_GPU_COMPILE_OUT:-bench/RESULTS-gpu-compile.md}")
if [ $# -ge 2 ]; then args+=(--weights "$2"); fi
/usr/bin/python3 scripts/check_gpu_compile.py "${args[@]}"
