#!/usr/bin/env bash
# Regenerates abi/librepmlp.abi, the ABI baseline scripts/check-abi.sh compares against, from
# BUILD_DIR's shared library (configured with -DREPMLP_ABI_DEBUGINFO=ON). Run it when a release
# deliberately changes the ABI, and commit the file with that release.
#   bash scripts/update-abi-baseline.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: update-abi-baseline.sh BUILD_DIR}
cd "$(dirname "$0")/.."
cmake --build "$build" --target repmlp_shared
mkdir -p abi
bash scripts/abi-dump.sh "$build" abi/librepmlp.abi
echo "update-abi-baseline: wrote abi/librepmlp.abi ($(grep -c '<elf-symbol ' abi/librepmlp.abi) symbols)"
