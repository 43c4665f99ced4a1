#!/usr/bin/env bash
# Checks the public headers' two tiers (docs/API.md) from an application's side, with the C
# compiler CC (default cc) and, where there is one, a C++ compiler CXX (default c++):
# - the stable tier (repmlp.h and repmlp/vulkan.h, every REPMLP_*_INIT initializer) compiles as
#   C11 with -Wall -Wextra -pedantic -Werror, and as C++11;
# - without REPMLP_EXPERIMENTAL an experimental function is undeclared and repmlp/tensor_file.h
#   stops the build with an #error naming the macro; with it, both compile.
set -euo pipefail
include=${1:?usage: check_api_tiers.sh INCLUDE_DIR}
cc=${CC:-cc}
cxx=${CXX:-c++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "check_api_tiers: $*" >&2
  exit 1
}

cat >"$tmp/stable.c" <<'C'
#include <vulkan/vulkan_core.h>

#include "repmlp.h"
#include "repmlp/vulkan.h"

int main(void) {
    repmlp_context_desc c = REPMLP_CONTEXT_DESC_INIT;
    repmlp_session_desc s = REPMLP_SESSION_DESC_INIT;
    repmlp_fuse_desc f = REPMLP_FUSE_DESC_INIT;
    repmlp_vulkan_import v = REPMLP_VULKAN_IMPORT_INIT;
    repmlp_submit_info i = REPMLP_SUBMIT_INFO_INIT;
    repmlp_image_input m = REPMLP_IMAGE_INPUT_INIT;
    repmlp_completion d = REPMLP_COMPLETION_INIT;
    repmlp_allocator a = REPMLP_ALLOCATOR_INIT;
    return (int)(c.size + s.size + f.size + v.size + i.size + m.size + d.size + a.size);
}
C
"$cc" -std=c11 -Wall -Wextra -pedantic -Werror -fsyntax-only -I"$include" "$tmp/stable.c" ||
  fail "the stable headers do not compile as C11 with -pedantic -Werror"
if command -v "$cxx" >/dev/null; then
  cp "$tmp/stable.c" "$tmp/stable.cpp"
  "$cxx" -std=c++11 -Wall -Werror -fsyntax-only -I"$include" "$tmp/stable.cpp" ||
    fail "the stable headers do not compile as C++11"
fi

printf '#include "repmlp.h"\nuint32_t f(void) { return repmlp_session_op_count(0); }\n' \
  >"$tmp/hidden.c"
if "$cc" -std=c11 -Werror=implicit-function-declaration -fsyntax-only -I"$include" \
  "$tmp/hidden.c" 2>/dev/null; then
  fail "repmlp_session_op_count is declared without REPMLP_EXPERIMENTAL"
fi
"$cc" -std=c11 -Wall -Werror -DREPMLP_EXPERIMENTAL -fsyntax-only -I"$include" "$tmp/hidden.c" ||
  fail "repmlp_session_op_count is not declared with REPMLP_EXPERIMENTAL"

printf '#include "repmlp/tensor_file.h"\n' >"$tmp/tensor.c"
if "$cc" -std=c11 -fsyntax-only -I"$include" "$tmp/tensor.c" 2>"$tmp/err.txt"; then
  fail "repmlp/tensor_file.h compiles without REPMLP_EXPERIMENTAL"
fi
grep -q 'define REPMLP_EXPERIMENTAL' "$tmp/err.txt" ||
  fail "repmlp/tensor_file.h fails without naming REPMLP_EXPERIMENTAL: $(cat "$tmp/err.txt")"
"$cc" -std=c11 -Wall -Werror -DREPMLP_EXPERIMENTAL -fsyntax-only -I"$include" "$tmp/tensor.c" ||
  fail "repmlp/tensor_file.h does not compile with REPMLP_EXPERIMENTAL"
echo "check_api_tiers: stable tier compiles as C11 and C++11; experimental tier only on request"
