#!/usr/bin/env bash
# Fails when a file under RUNTIME_DIR includes an internal header of a layer it may not include
# (docs/ARCHITECTURE.md §1: core < io, ops < graph, model < exec). Every layer may include the
# public headers ("repmlp/*.h") and its own.
set -euo pipefail
runtime=${1:?usage: check_layers.sh RUNTIME_DIR}
declare -A may=(
  [core]="core"
  [io]="io core"
  [ops]="ops core"
  [graph]="graph ops core"
  [model]="model io core"
  [exec]="exec model graph ops io core"
)
bad=0 checked=0
for layer in "${!may[@]}"; do
  [ -d "$runtime/$layer" ] || { echo "no layer directory $runtime/$layer"; exit 1; }
  while IFS= read -r hit; do
    file=${hit%%:*}
    target=$(sed -E 's/.*#[[:space:]]*include[[:space:]]*"([a-z_]+)\/.*/\1/' <<<"$hit")
    checked=$((checked + 1))
    [ "$target" = repmlp ] && continue
    [[ " ${may[$layer]} " == *" $target "* ]] && continue
    echo "layer $layer may not include $target: ${hit#*:}  ($file)"
    bad=$((bad + 1))
  done < <(grep -HE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z_]+/' \
             "$runtime/$layer"/*.[ch] || true)
done
for dir in "$runtime"/*/; do
  name=$(basename "$dir")
  [ -n "${may[$name]+x}" ] || { echo "layer $name is not in this check's table"; bad=$((bad + 1)); }
done
echo "$checked layered includes checked, $bad across the layers' order"
if [ "$bad" -ne 0 ]; then
  echo "0 passed, 1 failed"
  exit 1
fi
echo "1 passed, 0 failed"
