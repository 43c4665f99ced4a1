#!/usr/bin/env bash
# Runs ctest in BUILD (extra arguments go to ctest) so that it cannot pass on nothing: zero
# tests is an error. Afterwards it lists every skip with its reason: whole programs that ctest
# reports as skipped (exit code 77) and each "SKIPPED: reason" line a test printed.
#   bash scripts/run-ctest.sh BUILD [ctest arguments...]
set -uo pipefail
build=${1:?usage: run-ctest.sh BUILD [ctest arguments]}
shift
ctest --test-dir "$build" --no-tests=error --output-on-failure "$@"
rc=$?
log=$build/Testing/Temporary/LastTest.log
if [ -f "$log" ]; then
  # LastTest.log holds each test's full output after a line "N/M Testing: NAME".
  skips=$(env -u LD_PRELOAD awk '/^[0-9]+\/[0-9]+ Testing: / { name = $3 }
               /SKIPPED: / { sub(/.*SKIPPED: /, ""); print "  " name ": " $0 }' "$log" | sort -u)
  if [ -n "$skips" ]; then
    echo "== skipped (reported by ctest as 'Skipped' when a whole program skipped):"
    echo "$skips"
  else
    echo "== nothing skipped"
  fi
fi
exit $rc
