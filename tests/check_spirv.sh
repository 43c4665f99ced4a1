#!/usr/bin/env bash
# Checks every embedded SPIR-V module (the .spv each generated header is made from) with
# spirv-dis against what the runtime enables:
# - capabilities: a module may declare only the core ones, or one of the optional ones below
#   when its row of shaders/shader_list.h is a kernel the runtime offers only with that device
#   feature, and the runtime enables the feature at device creation and checks it before it
#   builds such a pipeline (both are looked for in the runtime's sources, so neither side can
#   drift away alone). The Vulkan memory model counts as the capability VulkanMemoryModel.
# - specialization: no OpSpecConstantOp UDiv/SDiv/UMod/SMod/SRem whose divisor is not a nonzero
#   constant (or a select or or between such): the defaults and a driver's own folding could
#   divide by zero at pipeline creation. A select that guards a specialization constant against
#   zero is refused too: the host divides instead and passes the quotient as a specialization
#   constant of its own, which is simpler for every compiler (the guard in gemm.comp coincided
#   with SwiftShader's GEMMs running 1.2x slower, bench/AB.md 2026-12-08).
set -euo pipefail
shaders=${1:?usage: check_spirv.sh GENERATED_SHADERS_DIR SHADER_LIST RUNTIME_DIR}
list=${2:?usage: check_spirv.sh GENERATED_SHADERS_DIR SHADER_LIST RUNTIME_DIR}
runtime=${3:?usage: check_spirv.sh GENERATED_SHADERS_DIR SHADER_LIST RUNTIME_DIR}
command -v spirv-dis >/dev/null || { echo "spirv-dis not found (Debian spirv-tools)"; exit 1; }

# Capabilities every Vulkan 1.1 compute device has (GroupNonUniform: basic subgroup operations
# are required in the compute stage).
core="Shader SampledBuffer ImageBuffer GroupNonUniform"
# Optional capability; which rows may declare it (an awk condition on the row's columns
# `weights` and `algorithm`); the feature create_device enables (runtime/core/context.c);
# the check in the kernel's plan (runtime/ops/).
optional=(
  "Float16;algorithm == \"SHARED_F16\" || algorithm == \"COOPMAT_NV\";.shaderFloat16 = VK_TRUE;caps.shader_float16"
  "StorageBuffer16BitAccess;weights == \"F16\";.storageBuffer16BitAccess = use16;caps.storage_16bit"
  "GroupNonUniformArithmetic;algorithm == \"SUBGROUP_GEMV\";VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;caps->subgroup_arithmetic"
  "CooperativeMatrixNV;algorithm == \"COOPMAT_NV\";.cooperativeMatrix = VK_TRUE;caps->cooperative_matrix_nv"
  "VulkanMemoryModel;algorithm == \"COOPMAT_NV\";.vulkanMemoryModel = VK_TRUE;caps->cooperative_matrix_nv"
)

failed=0
fail() {
  echo "$1"
  failed=$((failed + 1))
}

# The runtime side of each optional capability.
for entry in "${optional[@]}"; do
  IFS=';' read -r cap _ feature gate <<<"$entry"
  grep -qF -- "$feature" "$runtime/core/context.c" ||
    fail "$cap: runtime/core/context.c never enables it ('$feature' not found)"
  grep -rqF --include='*.c' -- "$gate" "$runtime/ops" ||
    fail "$cap: no kernel plan in runtime/ops checks '$gate'"
done

# One line per row: name weights algorithm (RM_SHADER rows: name - -).
rows=$(sed -n 's/^RM_GEMM_SHADER(\([^,]*\), *\([^,]*\),[^,]*,[^,]*,[^,]*,[^,]*, *\([^,]*\), *\([^,]*\),.*/\2 \3 \4/p;
                s/^RM_SHADER(\([^,]*\), *\([^,]*\),.*/\2 - -/p' "$list")
[ -n "$rows" ] || { echo "no rows read from $list"; exit 1; }

modules=0
while read -r name weights algorithm; do
  spv="$shaders/rm_spv_$name.h.spv"
  if [ ! -f "$spv" ]; then
    fail "$name: $spv missing (build the repmlp_shaders target first)"
    continue
  fi
  modules=$((modules + 1))
  asm=$(spirv-dis --raw-id "$spv")
  caps=$(awk '$1 == "OpCapability" {print $2}' <<<"$asm")
  grep -q '^ *OpMemoryModel Logical Vulkan' <<<"$asm" && caps="$caps VulkanMemoryModel"
  for cap in $(tr ' ' '\n' <<<"$caps" | sort -u); do
    case " $core " in *" $cap "*) continue ;; esac
    allowed=0
    for entry in "${optional[@]}"; do
      IFS=';' read -r ocap rule _ _ <<<"$entry"
      [ "$ocap" = "$cap" ] || continue
      awk -v weights="$weights" -v algorithm="$algorithm" "BEGIN { exit !($rule) }" && allowed=1
    done
    [ $allowed = 1 ] ||
      fail "$name: declares capability $cap, which the runtime does not enable for this kernel"
  done
  divisions=$(awk '
    $2 == "=" { def[$1] = $0; sub(/^ *%[0-9]+ = /, "", def[$1]) }
    $2 == "=" && $3 == "OpSpecConstantOp" && $5 ~ /^(UDiv|SDiv|UMod|SMod|SRem)$/ { div[$1] = $7 }
    function word(id, i,   w) { split(def[id], w, " "); return w[i] }
    function nonzero(id, depth,   op) {
      if (depth > 32) return 0
      if (word(id, 1) == "OpConstant") return word(id, 3) != 0
      if (word(id, 1) != "OpSpecConstantOp") return 0
      op = word(id, 3)
      if (op == "Select") return nonzero(word(id, 5), depth + 1) && nonzero(word(id, 6), depth + 1)
      if (op == "BitwiseOr")
        return nonzero(word(id, 4), depth + 1) || nonzero(word(id, 5), depth + 1)
      return 0
    }
    END { for (id in div) if (!nonzero(div[id], 0)) print id " = " def[id] }' <<<"$asm")
  if [ -n "$divisions" ]; then
    while read -r line; do
      fail "$name: specialization divides by what is not a nonzero constant: $line"
    done <<<"$divisions"
  fi
done <<<"$rows"

echo "$modules modules checked"
if [ $failed -gt 0 ]; then
  echo "0 passed, $failed failed"
  exit 1
fi
echo "1 passed, 0 failed"
