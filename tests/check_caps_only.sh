#!/usr/bin/env bash
# Fails when library code under the given directory reads the device's Vulkan limits directly
# instead of ctx->caps (runtime/core/context.h): only read_caps in runtime/core/context.c may,
# so that the device profile (REPMLP_DEVICE_PROFILE) and the limit checks see every limit.
set -euo pipefail
dir=${1:?usage: check_caps_only.sh RUNTIME_DIR}
report=$(grep -rnE 'properties\.limits|VkPhysicalDeviceLimits|Maintenance3Properties' \
  --include='*.c' --include='*.h' "$dir" | grep -v "^$dir/core/context\.c:" || true)
if [ -n "$report" ]; then
  echo "$report" | sed 's/^/direct limit read: /'
  echo "0 passed, 1 failed"
  exit 1
fi
echo "no direct limit reads outside read_caps"
echo "1 passed, 0 failed"
