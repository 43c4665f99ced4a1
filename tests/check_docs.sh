#!/usr/bin/env bash
# Fails when docs/ARCHITECTURE.md no longer describes the tree:
#   - a .c/.h file under runtime/ not named in its layer's paragraph of §1 ("**core** (...)"),
#     as `name.c`, `name.h` or `name.{c,h}`;
#   - a graph op of runtime/ops/op_list.h not named, in backticks, in the ops paragraph;
#   - an architecture id of RM_ARCH_LIST (runtime/model/arch_list.h) not named, in backticks, in
#     the model paragraph;
#   - a test program of tests/ (every repmlp_add_test and add_test name, "@driver" dropped) not
#     named, in backticks (an extension allowed: `check_layers.sh`), in §5 (Testing);
#   - a file named in §4 (Recipes) that does not exist (a path from the source root or from
#     runtime/, or a bare name found anywhere; names with <placeholders> are not checked).
set -euo pipefail
src=${1:?usage: check_docs.sh SOURCE_DIR}
doc=$src/docs/ARCHITECTURE.md
[ -f "$doc" ] || { echo "no $doc"; exit 1; }
bad=0 checked=0
missing() {
  echo "$1"
  bad=$((bad + 1))
}

# The text of a section: from the first line matching START to the line before the next line
# matching END (exclusive), or to the end of the file.
section() { awk -v s="$1" -v e="$2" 'on && $0 ~ e { exit } $0 ~ s { on = 1 } on' "$doc"; }
# Every file name a text mentions: tokens ending in a file extension, braces expanded
# (`build.{c,h}` -> build.c build.h), directories dropped.
mentioned_files() {
  grep -oE '[A-Za-z0-9_.*/-]+\.(\{[a-z,]+\}|[a-z]+)' | while IFS= read -r tok; do
    if [[ $tok =~ ^(.*)\.\{([a-z,]+)\}$ ]]; then
      for ext in ${BASH_REMATCH[2]//,/ }; do echo "${BASH_REMATCH[1]##*/}.$ext"; done
    else
      echo "${tok##*/}"
    fi
  done | sort -u
}
in_list() { grep -qxF -- "$1" <<<"$2"; }

# --- runtime files, each in its layer's paragraph ---
for dir in "$src"/runtime/*/; do
  layer=$(basename "$dir")
  para=$(section "^\\*\\*$layer\\*\\* \\(" '^(\*\*|## )')
  [ -n "$para" ] || { missing "layer $layer has no paragraph '**$layer** (...)' in §1"; continue; }
  names=$(mentioned_files <<<"$para")
  while IFS= read -r f; do
    checked=$((checked + 1))
    in_list "$(basename "$f")" "$names" ||
      missing "runtime file not named in the $layer paragraph of §1: ${f#"$src"/}"
  done < <(find "$dir" -type f \( -name '*.c' -o -name '*.h' \) | sort)
done

# --- graph ops and architectures, each named in backticks in its layer's paragraph ---
ops_para=$(section '^\*\*ops\*\* \(' '^(\*\*|## )')
for op in $(sed -nE 's/^[[:space:]]*X\([A-Z0-9_]+, *([a-z0-9_]+),.*/\1/p' \
              "$src/runtime/ops/op_list.h"); do
  checked=$((checked + 1))
  grep -qF "\`$op\`" <<<"$ops_para" || missing "op not named in the ops paragraph of §1: \`$op\`"
done
model_para=$(section '^\*\*model\*\* \(' '^(\*\*|## )')
for arch in $(sed -nE 's/^[[:space:]]*X\(([a-z0-9_]+), *RM_ARCH_[A-Z0-9_]+\).*/\1/p' \
                "$src/runtime/model/arch_list.h"); do
  checked=$((checked + 1))
  grep -qF "\`$arch\`" <<<"$model_para" ||
    missing "architecture not named in the model paragraph of §1: \`$arch\`"
done

# --- test programs, each in §5 ---
testing=$(section '^## [0-9]+\. Testing' '^## ')
[ -n "$testing" ] || missing "no section '## N. Testing'"
while IFS= read -r t; do
  checked=$((checked + 1))
  grep -qE "\`$t(\.[a-z]+)?\`" <<<"$testing" || missing "test not named in §5 (Testing): $t"
done < <(find "$src/tests" -name CMakeLists.txt -exec sed -E 's/#.*//' {} + |
           grep -oE '(repmlp_add_test\(|add_test\(NAME)[[:space:]]*[A-Za-z0-9_]+' |
           sed -E 's/.*[( ]//' | sort -u)

# --- files the recipes name exist ---
recipes=$(section '^## [0-9]+\. Recipes' '^## ')
[ -n "$recipes" ] || missing "no section '## N. Recipes'"
tree=$(cd "$src" && find . \( -type d \( -name .git -o -name 'build*' \) \) -prune -o -type f -print |
         sed 's|^\./||')
# A glob pattern (only `*`) relative to the source root or runtime/, or a bare name anywhere.
exists() {
  local re
  re=$(sed -e 's/[.]/[.]/g' -e 's/[*]/[^\/]*/g' <<<"$1")
  if [[ $1 == */* ]]; then
    grep -qE "^(runtime/)?$re\$" <<<"$tree"
  else
    grep -qE "(^|/)$re\$" <<<"$tree"
  fi
}
while IFS= read -r tok; do
  [[ $tok =~ ^[A-Za-z0-9_.*/-]+\.(\{[a-z,]+\}|c|h|comp|glsl|py|sh|md|txt|cmake|json)$ ]] || continue
  if [[ $tok =~ ^(.*)\.\{([a-z,]+)\}$ ]]; then
    pats=()
    for ext in ${BASH_REMATCH[2]//,/ }; do pats+=("${BASH_REMATCH[1]}.$ext"); done
  else
    pats=("$tok")
  fi
  for p in "${pats[@]}"; do
    checked=$((checked + 1))
    exists "$p" || missing "§4 (Recipes) names a file that does not exist: $p"
  done
done < <(grep -oE '`[^`]+`' <<<"$recipes" | tr -d '`' | sort -u)

echo "$checked names checked against docs/ARCHITECTURE.md, $bad missing"
if [ "$bad" -ne 0 ]; then
  echo "0 passed, 1 failed"
  exit 1
fi
echo "1 passed, 0 failed"
