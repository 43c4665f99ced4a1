#!/usr/bin/env bash
# The installed libraries carry no test scaffolding: no symbol, local ones included, named like
#   - a test hook: a function that a runtime/ header declares under #ifdef REPMLP_TEST_HOOKS or
#     #ifdef REPMLP_FAULT_INJECTION (runtime/core/test_hooks.h, fault.h, ...);
#   - a global of the test-only code: BUILD's librepmlp_reference.a (reference/) and
#     librepmlp_test_support.a (tests/support/), so code moved there cannot come back unseen.
# Called by scripts/check-package.sh on what it installed; runs alone too:
#   bash scripts/check-no-test-code.sh BUILD LIBRARY...
set -euo pipefail
cd "$(dirname "$0")/.."
fail() {
  echo "check-no-test-code: $*" >&2
  exit 1
}
[ $# -ge 2 ] || fail "usage: check-no-test-code.sh BUILD LIBRARY..."
build=$1
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Test hooks: the declarations (a line starting with a type, then rm_NAME( ) inside the hook
# branch of an #ifdef REPMLP_TEST_HOOKS / REPMLP_FAULT_INJECTION, not in its #else.
# shellcheck disable=SC2016 # an awk program
find runtime -name '*.h' -print0 | sort -z | xargs -0 awk '
  FNR == 1 { depth = 0; hook = 0 }
  /^#if/ {
    depth++
    if (!hook && $0 ~ /^#ifdef REPMLP_(TEST_HOOKS|FAULT_INJECTION)$/) hook = depth
    next
  }
  /^#el/ { if (hook == depth) hook = 0; next }
  /^#endif/ { if (hook == depth) hook = 0; depth--; next }
  hook && match($0, /^[a-z][a-z0-9_ *]*[ *]rm_[a-z0-9_]+\(/) {
    name = substr($0, 1, RLENGTH - 1)
    sub(/.*[ *]/, "", name)
    print name
  }' | sort -u >"$tmp/hooks.txt"
[ -s "$tmp/hooks.txt" ] || fail "found no test hook declarations under runtime/ (is the parser broken?)"

for lib in librepmlp_reference.a librepmlp_test_support.a; do
  [ -f "$build/lib/$lib" ] || fail "$build/lib/$lib is missing: BUILD must have the tests built"
  nm -g --defined-only "$build/lib/$lib" | awk 'NF == 3 {print $3}'
done | sort -u >"$tmp/test-code.txt"
sort -u "$tmp/hooks.txt" "$tmp/test-code.txt" >"$tmp/names.txt"

for lib in "$@"; do
  [ -f "$lib" ] || fail "$lib does not exist"
  # Every defined symbol, local ones too (.symtab; the dynamic table if it was stripped).
  if ! nm --defined-only "$lib" 2>/dev/null | awk 'NF >= 3 {print $NF}' >"$tmp/lib.txt" ||
    [ ! -s "$tmp/lib.txt" ]; then
    nm -D --defined-only "$lib" | awk 'NF >= 3 {print $NF}' >"$tmp/lib.txt"
  fi
  sort -u -o "$tmp/lib.txt" "$tmp/lib.txt"
  found=$(comm -12 "$tmp/names.txt" "$tmp/lib.txt")
  [ -z "$found" ] || fail "$lib has test-only symbols: $(tr '\n' ' ' <<<"$found")"
  echo "$(basename "$lib"): none of $(wc -l <"$tmp/hooks.txt") test hooks and" \
    "$(wc -l <"$tmp/test-code.txt") reference/ and tests/support/ symbols"
done
