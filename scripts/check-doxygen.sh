#!/usr/bin/env bash
# The API reference: runs doxygen on the public headers (docs/Doxyfile) into BUILD_DIR/doc/api
# and fails on any warning, so an undocumented public symbol fails CI.
#   bash scripts/check-doxygen.sh BUILD_DIR
# Doxygen reports undocumented members only in files it considers documented, so every public
# header must also carry a file comment (/** @file ... */); this script checks that first.
set -euo pipefail
build=${1:?usage: check-doxygen.sh BUILD_DIR}
cd "$(dirname "$0")/.."
command -v doxygen >/dev/null ||
  { echo "check-doxygen: doxygen not found (bash scripts/install-deps.sh installs it)"; exit 1; }
mkdir -p "$build"
out=$(cd "$build" && pwd)/doc/api
log=$out/warnings.txt
rm -rf "$out"
mkdir -p "$out"

bad=0
for h in include/repmlp/*.h; do
  if ! grep -qE '^[[:space:]]*(/\*\*|\*|///)?[[:space:]]*[@\\]file\b' "$h"; then
    echo "$h: no file comment (/** @file ... */): doxygen would not report its undocumented members"
    bad=$((bad + 1))
  fi
done

# OUTPUT_DIRECTORY and the log are this build's; everything else is docs/Doxyfile.
rc=0
{ cat docs/Doxyfile; echo "OUTPUT_DIRECTORY = $out"; echo "WARN_LOGFILE = $log"; } |
  doxygen - || rc=$?
warnings=0
[ -f "$log" ] && warnings=$(grep -c . "$log" || true)
if [ "$warnings" -ne 0 ]; then
  head -n 40 "$log"
  [ "$warnings" -le 40 ] || echo "... ($warnings lines in all: $log)"
fi
echo "check-doxygen: $warnings warning lines, $bad headers without a file comment (HTML in $out/html)"
if [ "$rc" -ne 0 ] || [ "$warnings" -ne 0 ] || [ "$bad" -ne 0 ]; then
  echo "check-doxygen: FAILED (doxygen exit $rc)"
  exit 1
fi
echo "check-doxygen: passed"
