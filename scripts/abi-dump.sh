#!/usr/bin/env bash
# Writes the ABI of BUILD_DIR's shared library (package/librepmlp.so, built with
# -DREPMLP_ABI_DEBUGINFO=ON) as abidw XML to OUT: the exported functions and the types the
# public headers (include/repmlp/) define, without paths or source locations, so the file is
# the same wherever it was built. Used by check-abi.sh and update-abi-baseline.sh.
#   bash scripts/abi-dump.sh BUILD_DIR OUT
set -euo pipefail
build=${1:?usage: abi-dump.sh BUILD_DIR OUT}
out=${2:?usage: abi-dump.sh BUILD_DIR OUT}
cd "$(dirname "$0")/.."
command -v abidw >/dev/null ||
  { echo "abi-dump: abidw not found (bash scripts/install-deps.sh installs abigail-tools)"; exit 1; }
lib=$build/package/librepmlp.so
[ -e "$lib" ] || { echo "abi-dump: no $lib (build the target repmlp_shared)"; exit 1; }
# Not `readelf | grep -q`: grep quits at the first match, readelf may then die of SIGPIPE and
# pipefail would report the pipeline as failed (it did, once in CI).
if ! grep -q '\.debug_info' <<<"$(readelf -S "$lib")"; then
  echo "abi-dump: $lib has no debug information: configure with -DREPMLP_ABI_DEBUGINFO=ON"
  exit 1
fi
# Types defined outside include/repmlp/ (the structs behind the opaque handles, everything
# internal) are kept as bare declarations, so changing them is not an ABI change. Locations
# stay (they tell public types from private ones) but relative to the source root; those
# outside it (system headers) and the build directory's are dropped.
root=$(pwd)
build_abs=$(cd "$build" && pwd)
abidw --headers-dir include/repmlp --drop-private-types --no-corpus-path --no-comp-dir-path \
  --type-id-style hash --out-file "$out.tmp" "$lib"
sed -E -e "s# filepath='$build_abs/[^']*' line='[0-9]+' column='[0-9]+'##g" \
  -e "s#(path=')$root/#\1#g" \
  -e "s# filepath='/[^']*' line='[0-9]+' column='[0-9]+'##g" \
  -e "s# path='/[^']*'##g" "$out.tmp" >"$out"
rm -f "$out.tmp"
