#!/usr/bin/env bash
# Checks what users get, from the outside: installs the build into a temporary prefix, checks
# the exported symbols and that the libraries hold no test code (check-no-test-code.sh), builds
# the examples against the installed CMake package and with pkg-config, runs them on lavapipe
# and SwiftShader (engine and frame with the validation layer on; frame renders the shipped
# digits and classifies them on the GPU over 3 frames), and cross-builds the library and tools
# for Windows with MinGW-w64 (warnings as errors).
# Called by scripts/test.sh after the test suite; runs alone too:
#   bash scripts/check-package.sh            # REPMLP_BUILD_DIR picks the build (build-test)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

build=${REPMLP_BUILD_DIR:-build-test}
mingw_build=${build}-mingw
jobs=$(nproc)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t_start=$SECONDS
step() { echo "== check-package [$((SECONDS - t_start)) s]: $*"; }
fail() {
  echo "check-package: $*" >&2
  exit 1
}

lavapipe_icd=/usr/share/vulkan/icd.d/lvp_icd.$(uname -m).json # this machine's (multiarch)
swiftshader_icd=/usr/lib/chromium/vk_swiftshader_icd.json
for icd in "$lavapipe_icd" "$swiftshader_icd"; do
  [ -f "$icd" ] || fail "Vulkan driver manifest $icd is missing"
done

# ---- build (a no-op after scripts/test.sh) and install ----
step "build and install ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DREPMLP_WERROR=ON >/dev/null
cmake --build "$build" -j"$jobs" >/dev/null
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name 'librepmlp.so' | head -n1)")
[ -d "$libdir" ] || fail "no librepmlp.so installed"
for f in include/repmlp.h include/repmlp/export.h include/repmlp/status.h include/repmlp/context.h \
  include/repmlp/model.h include/repmlp/vulkan.h bin/repmlp-fuse bin/repmlp-run bin/repmlp-bench; do
  [ -e "$prefix/$f" ] || fail "$f is not installed"
done
for f in librepmlp.a cmake/repmlp/repmlpConfig.cmake pkgconfig/repmlp.pc; do
  [ -e "$libdir/$f" ] || fail "$libdir/$f is not installed"
done

# ---- exported symbols: exactly the REPMLP_API functions of the headers ----
step "exported symbols"
grep -h '^REPMLP_API ' "$prefix"/include/repmlp/*.h | sed 's/(.*//; s/.*[ *]//' | sort >"$tmp/api.txt"
nm -D --defined-only "$libdir/librepmlp.so" | awk '{print $3}' | sort >"$tmp/shared.txt"
nm -g --defined-only "$libdir/librepmlp.a" | awk 'NF == 3 {print $3}' | sort >"$tmp/static.txt"
diff -u "$tmp/api.txt" "$tmp/shared.txt" || fail "librepmlp.so exports other symbols than the API"
diff -u "$tmp/api.txt" "$tmp/static.txt" || fail "librepmlp.a has other global symbols than the API"
soname=$(readelf -d "$libdir/librepmlp.so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
echo "$(wc -l <"$tmp/api.txt") API functions exported; SONAME $soname"

# ---- no test scaffolding: test hooks, reference/ and tests/support/ code, local symbols too ----
step "no test code in the installed libraries"
bash scripts/check-no-test-code.sh "$build" "$libdir/librepmlp.so" "$libdir/librepmlp.a"

# ---- a fused model, made by the installed tool ----
model=$tmp/block_v1.fused.safetensors
"$prefix/bin/repmlp-fuse" --arch RepMLP --config @examples/block_v1/config.json \
  examples/block_v1/train.safetensors "$model"
digits=$tmp/digits.fused.safetensors # with its preprocessing, for the frame example
"$prefix/bin/repmlp-fuse" --arch RepMLPNet --config @examples/digits/config.json \
  --metadata preprocess=@examples/digits/preprocess.json examples/digits/train.safetensors "$digits"

# ---- the examples against the installed CMake package ----
step "examples (CMake package)"
build_example() { # name static(ON/OFF)
  cmake -S "examples/$1" -B "$tmp/$1-$2" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
    -DREPMLP_EXAMPLE_STATIC="$2" -DCMAKE_C_FLAGS=-Werror >/dev/null
  cmake --build "$tmp/$1-$2" >/dev/null
}
build_example classify OFF
build_example engine OFF
build_example engine ON # compiles its own volk and links the static library
build_example frame OFF # renders with a graphics pipeline, classifies on the GPU over 3 frames

# ---- pkg-config ----
step "pkg-config"
export PKG_CONFIG_PATH=$libdir/pkgconfig
echo "pkg-config --cflags --libs repmlp: $(pkg-config --cflags --libs repmlp)"
# shellcheck disable=SC2046 # pkg-config's output is meant to be split into words
cc -std=c11 -Wall -Wextra -Werror examples/classify/classify.c -o "$tmp/classify-pc" \
  $(pkg-config --cflags --libs repmlp) -Wl,-rpath,"$libdir"
# The static library beside libvulkan: its volk must not interpose the loader's vk* symbols.
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -DREPMLP_STATIC examples/classify/classify.c \
  -o "$tmp/classify-pc-static" $(pkg-config --cflags repmlp) "$libdir/librepmlp.a" \
  $(pkg-config --static --libs-only-l repmlp | sed 's/-lrepmlp\b//') -lvulkan
if grep -q librepmlp <<<"$(ldd "$tmp/classify-pc-static" 2>&1)"; then fail "classify-pc-static is not static"; fi

# ---- run on both CPU drivers ----
for driver in lavapipe swiftshader; do
  step "run examples on $driver"
  if [ "$driver" = lavapipe ]; then icd=$lavapipe_icd; else icd=$swiftshader_icd; fi
  export VK_ICD_FILENAMES=$icd
  "$tmp/classify-OFF/classify" "$model"
  "$tmp/engine-ON/engine" "$model" --validation
  "$tmp/engine-OFF/engine" "$model" --validation >/dev/null
  "$tmp/classify-pc" "$model" >/dev/null
  "$tmp/classify-pc-static" "$model" >/dev/null
  "$tmp/frame-OFF/frame" "$digits" examples/digits/digit_*.png --validation
done
unset VK_ICD_FILENAMES

# ---- Windows: cross build with MinGW-w64 (run under Wine by scripts/check-windows.sh) ----
step "MinGW-w64 cross build ($mingw_build)"
# shellcheck source=scripts/mingw-build.sh
source scripts/mingw-build.sh
win=$tmp/win
mingw_install "$mingw_build" "$win"
x86_64-w64-mingw32-objdump -p "$win/bin/librepmlp.dll" |
  sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' | grep -o 'repmlp_[a-z0-9_]*' | sort >"$tmp/dll.txt"
diff -u "$tmp/api.txt" "$tmp/dll.txt" || fail "librepmlp.dll exports other symbols than the API"
x86_64-w64-mingw32-nm -g --defined-only "$win/lib/librepmlp.a" | awk 'NF == 3 {print $3}' |
  sort >"$tmp/win-static.txt"
diff -u "$tmp/api.txt" "$tmp/win-static.txt" || fail "Windows librepmlp.a: other globals than the API"
mingw_classify "$mingw_build" "$win" "$tmp" # against the installed Windows package
echo "Windows: librepmlp.dll exports $(wc -l <"$tmp/dll.txt") functions; tools and classify.exe link"

step "done"
