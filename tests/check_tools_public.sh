#!/usr/bin/env bash
# Fails when a tool's source under TOOLS_DIR includes anything but the public headers
# (INCLUDE_DIR: "repmlp.h", "repmlp/*.h"), the tools' own headers (next to it in TOOLS_DIR),
# standard C headers, stb_image and windows.h: the tools are built on the public API alone.
# (The internal programs repmlp-bench-kernels and repmlp-demo live in bench/kernels/.)
set -euo pipefail
tools=${1:?usage: check_tools_public.sh TOOLS_DIR INCLUDE_DIR}
include=${2:?usage: check_tools_public.sh TOOLS_DIR INCLUDE_DIR}
system='assert|complex|ctype|errno|fenv|float|inttypes|iso646|limits|locale|math|setjmp|signal'
system+='|stdalign|stdarg|stdatomic|stdbool|stddef|stdint|stdio|stdlib|stdnoreturn|string|tgmath'
system+='|threads|time|uchar|wchar|wctype'
bad=0 checked=0
while IFS= read -r -d '' file; do
  while IFS= read -r line; do
    checked=$((checked + 1))
    name=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]*)[>"].*/\1/' <<<"$line")
    case $line in
      *'<'*)
        [[ $name =~ ^($system)\.h$ || $name == stb/stb_image.h || $name == windows.h ]] && continue ;;
      *)
        [[ ($name == repmlp.h || $name == repmlp/*) && -f $include/$name ]] && continue
        [[ $name != */* && -f $(dirname "$file")/$name ]] && continue ;;
    esac
    echo "not public: $file: $line"
    bad=$((bad + 1))
  done < <(grep -E '^[[:space:]]*#[[:space:]]*include' "$file" || true)
done < <(find "$tools" \( -name '*.c' -o -name '*.h' \) -print0)
echo "$checked includes checked, $bad outside the public API"
if [ "$bad" -ne 0 ]; then
  echo "0 passed, 1 failed"
  exit 1
fi
echo "1 passed, 0 failed"
