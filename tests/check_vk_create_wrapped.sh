#!/usr/bin/env bash
# Fails when a vkCreate*/vkAllocate* call under the given directory bypasses RM_VK_CREATE (the
# one fault-injecting wrapper, runtime/core/fault.h): the fault walk would never reach it.
# A call counts as wrapped when RM_VK_CREATE( is on its line or ends the line before it.
set -euo pipefail
dir=${1:?usage: check_vk_create_wrapped.sh RUNTIME_DIR}
report=$(find "$dir" -name '*.c' -print0 | xargs -0 awk '
  FNR == 1 { prev = "" }
  /(^|[^A-Za-z0-9_])vk(Create|Allocate)[A-Za-z0-9]*\(/ {
    if ($0 ~ /RM_VK_CREATE\(/ || prev ~ /RM_VK_CREATE\($/) wrapped++
    else { print "bypass: " FILENAME ":" FNR ": " $0; bad++ }
  }
  { prev = $0 }
  END { printf "%d calls wrapped, %d bypass RM_VK_CREATE\n", wrapped, bad }')
echo "$report"
if grep -q '^bypass:' <<<"$report"; then
  echo "0 passed, 1 failed"
  exit 1
fi
echo "1 passed, 0 failed"
