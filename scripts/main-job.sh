#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs on the default Vulkan device,
# printing the device, the result check and the time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
./build/bin/repmlp-demo "$@"
