#!/usr/bin/env bash
# The ABI check: compares the shared library of BUILD_DIR (built with -DREPMLP_ABI_DEBUGINFO=ON)
# with the baseline of the last release, abi/librepmlp.abi, using libabigail's abidiff. Fails on
# any change an application built against the baseline could notice: a removed or changed
# function, a changed public type (a field inserted, removed, retyped), a changed SONAME.
# Added functions and variables pass (they are listed). After a deliberate break (a new minor
# version before 1.0), regenerate the baseline with scripts/update-abi-baseline.sh.
#   bash scripts/check-abi.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: check-abi.sh BUILD_DIR}
cd "$(dirname "$0")/.."
command -v abidiff >/dev/null ||
  { echo "check-abi: abidiff not found (bash scripts/install-deps.sh installs abigail-tools)"; exit 1; }
baseline=abi/librepmlp.abi
[ -f "$baseline" ] || { echo "check-abi: no baseline $baseline (scripts/update-abi-baseline.sh)"; exit 1; }
current=$build/abi/librepmlp.abi
mkdir -p "$build/abi"
bash scripts/abi-dump.sh "$build" "$current"

# abidiff's exit status is a bit mask: 1 error, 2 usage error, 4 an ABI change, 8 an
# incompatible one. A type's layout change counts only as 4, so every change fails except
# added symbols, which the second run leaves out.
rc=0
abidiff --no-added-syms "$baseline" "$current" >"$build/abi/abidiff.txt" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
  cat "$build/abi/abidiff.txt"
  echo "check-abi: FAILED: the ABI differs from $baseline (abidiff exit $rc)"
  exit 1
fi
added=0
abidiff "$baseline" "$current" >"$build/abi/abidiff-added.txt" 2>&1 || added=$?
if [ "$added" -ne 0 ]; then
  cat "$build/abi/abidiff-added.txt"
  echo "check-abi: passed, with the additions above"
else
  echo "check-abi: passed, the ABI equals $baseline"
fi
