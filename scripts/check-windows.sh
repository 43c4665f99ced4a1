#!/usr/bin/env bash
# Runs the Windows build under Wine, not only builds it: cross-builds with MinGW-w64 (the
# build of scripts/check-package.sh), installs it into a temporary prefix, builds libcjson.dll
# from Debian's own cJSON source package, and runs under Wine (64-bit, an Xvfb display, Wine's
# Vulkan forwarded to the host's lavapipe):
#   - repmlp-run.exe --list-devices, which must list llvmpipe;
#   - repmlp-fuse.exe on the digits and block_v1 models, byte-identical to the Linux tool's;
#   - repmlp-run.exe --eval of the digits test set: accuracy and every prediction equal to
#     PyTorch's, outputs byte-identical to the Linux tool's (the predictions JSON apart from
#     its \r\n), and --expect against the Linux output with tolerance 0;
#   - repmlp-run.exe --image, and examples/classify linked against the installed Windows
#     package (librepmlp.dll and the static library);
# and checks that every text output equals the Linux build's apart from line endings and
# timings. Called by scripts/test.sh after check-package.sh; runs alone too:
#   bash scripts/check-windows.sh            # REPMLP_BUILD_DIR picks the Linux build (build-test)
set -euo pipefail
self=$(realpath "$0")
cd "$(dirname "$self")/.."

# Times in 0.1 s, from microseconds since the epoch.
usec() { echo "${EPOCHREALTIME/./}"; }
since() { local d=$(($(usec) - $1)); echo "$((d / 1000000)).$((d / 100000 % 10)) s"; }
t_start=${CHECK_WINDOWS_T0:-$(usec)}
step() { echo "== check-windows [$(since "$t_start")]: $*"; }
fail() {
  echo "check-windows: FAIL: $*" >&2
  exit 1
}

ex=examples/digits
images=()
for f in "$ex"/digit_*.png; do images+=(--image "$f"); done
# The outputs of both builds are compared after this filter: Windows text ends lines with
# \r\n, and timings differ from run to run.
normalise() { sed -E 's/\r$//; s/[0-9]+(\.[0-9]+)? (ms|images\/s)/T \2/g' "$1"; }

# ---- the Wine part, run by the outer part below inside xvfb-run ----
# Wine's Vulkan (winevulkan over the host's libvulkan) needs a display: without one the
# loader reports Vulkan 1.0 and no devices.
if [ "${1:-}" = --under-xvfb ]; then
  : "${tmp:?}" "${win:?}" # from the outer part
  bin=$win/bin
  wine_run() { # NAME EXE ARGS...: runs EXE under Wine, stdout to $tmp/win/NAME.txt
    local name=$1 exe=$2 t
    t=$(usec)
    shift 2
    if ! wine "$exe" "$@" >"$tmp/win/$name.txt" 2>"$tmp/win/$name.err"; then
      cat "$tmp/win/$name.txt" "$tmp/win/$name.err" >&2
      fail "under Wine: $(basename "$exe") $* failed"
    fi
    echo "  $name ($(basename "$exe")): $(since "$t")"
  }
  step "Wine prefix (wineboot)"
  wineboot -i >"$tmp/wineboot.log" 2>&1 || {
    cat "$tmp/wineboot.log" >&2
    fail "wineboot failed"
  }
  step "run under Wine"
  wine_run list-devices "$bin/repmlp-run.exe" --list-devices
  grep -q llvmpipe "$tmp/win/list-devices.txt" ||
    fail "repmlp-run.exe --list-devices lists no llvmpipe: $(cat "$tmp/win/list-devices.txt")"
  wine_run fuse-digits "$bin/repmlp-fuse.exe" --arch RepMLPNet --config "@$ex/config.json" \
    --metadata "preprocess=@$ex/preprocess.json" "$ex/train.safetensors" "$tmp/win/digits.fused"
  wine_run fuse-block_v1 "$bin/repmlp-fuse.exe" --arch RepMLP \
    --config @examples/block_v1/config.json examples/block_v1/train.safetensors \
    "$tmp/win/block_v1.fused"
  # Both builds run the Linux-made fused file, so that the runs compare even if fusing differed.
  wine_run eval "$bin/repmlp-run.exe" "$tmp/linux/digits.fused" --input "$ex/test.safetensors" \
    --eval "$ex/test.safetensors" --predictions "$tmp/win/predictions.json" \
    --output "$tmp/win/eval.safetensors"
  wine_run expect "$bin/repmlp-run.exe" "$tmp/linux/digits.fused" --input "$ex/test.safetensors" \
    --output "$tmp/win/run.safetensors" --expect "$tmp/linux/run.safetensors" --tolerance 0
  wine_run images "$bin/repmlp-run.exe" "$tmp/linux/digits.fused" "${images[@]}" --top 3
  for st in OFF ON; do
    for m in digits block_v1; do
      wine_run "classify-$st-$m" "$bin/classify-$st.exe" "$tmp/linux/$m.fused"
    done
  done
  wineserver -k # before the display goes away
  exit 0
fi

bash scripts/install-deps.sh windows
build=${REPMLP_BUILD_DIR:-build-test}
mingw_build=${build}-mingw
jobs=$(nproc)
tmp=$(mktemp -d)
export WINEPREFIX=$tmp/wineprefix WINEDEBUG=-all
# No Mono or Gecko installer dialogs while the prefix is made: nothing here needs them.
export WINEDLLOVERRIDES="mscoree,mshtml="
cleanup() {
  wineserver -k 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/linux" "$tmp/win"

lavapipe_icd=/usr/share/vulkan/icd.d/lvp_icd.$(uname -m).json
[ -f "$lavapipe_icd" ] || fail "lavapipe's manifest $lavapipe_icd is missing (mesa-vulkan-drivers)"
export VK_ICD_FILENAMES=$lavapipe_icd # Linux runs, and Wine's Vulkan through the host loader

# ---- the Linux build: the reference outputs ----
step "Linux tools ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DREPMLP_WERROR=ON >/dev/null
cmake --build "$build" -j"$jobs" --target repmlp-fuse repmlp-run repmlp_shared >/dev/null
linux_lib=$(dirname "$(find "$build/package" -name 'librepmlp.so' | head -n1)")
cc -std=c11 -Wall -Wextra -Werror examples/classify/classify.c -o "$tmp/linux/classify" \
  -Iinclude -L"$linux_lib" -lrepmlp -Wl,-rpath,"$PWD/$linux_lib"
linux_run() { # NAME EXE ARGS...: stdout to $tmp/linux/NAME.txt
  local name=$1
  shift
  "$@" >"$tmp/linux/$name.txt" || fail "Linux: $* failed"
}
linux_run list-devices "$build/bin/repmlp-run" --list-devices
linux_run fuse-digits "$build/bin/repmlp-fuse" --arch RepMLPNet --config "@$ex/config.json" \
  --metadata "preprocess=@$ex/preprocess.json" "$ex/train.safetensors" "$tmp/linux/digits.fused"
linux_run fuse-block_v1 "$build/bin/repmlp-fuse" --arch RepMLP \
  --config @examples/block_v1/config.json examples/block_v1/train.safetensors \
  "$tmp/linux/block_v1.fused"
linux_run eval "$build/bin/repmlp-run" "$tmp/linux/digits.fused" --input "$ex/test.safetensors" \
  --eval "$ex/test.safetensors" --predictions "$tmp/linux/predictions.json" \
  --output "$tmp/linux/eval.safetensors"
linux_run expect "$build/bin/repmlp-run" "$tmp/linux/digits.fused" --input "$ex/test.safetensors" \
  --output "$tmp/linux/run.safetensors" --expect "$tmp/linux/eval.safetensors" --tolerance 0
linux_run images "$build/bin/repmlp-run" "$tmp/linux/digits.fused" "${images[@]}" --top 3
for st in OFF ON; do
  for m in digits block_v1; do linux_run "classify-$st-$m" "$tmp/linux/classify" "$tmp/linux/$m.fused"; done
done

# ---- the Windows build, installed, with libcjson.dll and the MinGW runtime beside it ----
step "MinGW-w64 cross build ($mingw_build), install, classify.exe"
# shellcheck source=scripts/mingw-build.sh
source scripts/mingw-build.sh
win=$tmp/win-prefix
mingw_install "$mingw_build" "$win"
mingw_classify "$mingw_build" "$win" "$tmp"
for st in OFF ON; do cp "$tmp/classify-win-$st/classify.exe" "$win/bin/classify-$st.exe"; done

# cJSON as the DLL the import library names, built from the Debian source package of the
# version whose header the build used; kept in the build directory for the next run.
step "libcjson.dll from Debian's cJSON source package"
cjson_version=$(dpkg-query -W -f='${Version}' "libcjson-dev:$(dpkg --print-architecture)")
cjson_dll=$mingw_build/cjson-dll-$cjson_version/libcjson.dll
if [ ! -f "$cjson_dll" ]; then
  mkdir -p "$tmp/cjson-src"
  (cd "$tmp/cjson-src" && apt-get source -q "cjson=$cjson_version") >"$tmp/cjson-src.log" 2>&1 || {
    cat "$tmp/cjson-src.log" >&2
    fail "apt-get source cjson=$cjson_version failed (is deb-src enabled? see scripts/install-deps.sh)"
  }
  src=$(find "$tmp/cjson-src" -mindepth 2 -maxdepth 2 -name cJSON.c)
  [ -n "$src" ] || fail "no cJSON.c in Debian's cjson source package"
  mkdir -p "$(dirname "$cjson_dll")"
  x86_64-w64-mingw32-gcc -std=c89 -O2 -shared -DCJSON_EXPORT_SYMBOLS -DCJSON_API_VISIBILITY \
    "$src" -o "$cjson_dll.tmp"
  mv "$cjson_dll.tmp" "$cjson_dll"
fi
cp "$cjson_dll" "$win/bin/"
echo "libcjson.dll: cJSON $cjson_version"

# Every DLL the binaries import is one of Wine's own, or is put beside them: ours, cJSON, or
# a MinGW runtime DLL from Debian's MinGW-w64 packages.
step "DLLs the binaries import"
imports=$(for f in "$win"/bin/*.exe "$win"/bin/*.dll; do
  x86_64-w64-mingw32-objdump -p "$f" | sed -n 's/^\tDLL Name: //p'
done | sort -fu)
wine_dlls=(/usr/lib/*/wine/x86_64-windows)
mingw_dlls=(/usr/lib/gcc/x86_64-w64-mingw32/*-win32 /usr/x86_64-w64-mingw32/lib)
for dll in $imports; do
  [ -z "$(find "$win/bin" "${wine_dlls[@]}" -maxdepth 1 -iname "$dll")" ] || continue
  found=$(find "${mingw_dlls[@]}" -maxdepth 1 -iname "$dll" 2>/dev/null | head -n1)
  [ -n "$found" ] || fail "the Windows binaries import $dll, found neither in Wine nor in MinGW-w64"
  cp "$found" "$win/bin/"
  echo "beside the binaries: $found"
done
echo "imported DLLs: $(echo "$imports" | tr '\n' ' ')"

# ---- under Wine ----
export tmp win CHECK_WINDOWS_T0=$t_start
xvfb-run -a -e "$tmp/xvfb.log" bash "$self" --under-xvfb || {
  cat "$tmp/xvfb.log" >&2
  fail "the Wine run failed"
}

# ---- Windows against Linux ----
step "compare with the Linux build"
for m in digits block_v1; do
  cmp "$tmp/linux/$m.fused" "$tmp/win/$m.fused" ||
    fail "repmlp-fuse.exe's $m fused file differs from the Linux tool's"
done
bash scripts/check-digits.sh "$tmp/win/predictions.json"
for f in eval run; do
  cmp "$tmp/linux/$f.safetensors" "$tmp/win/$f.safetensors" ||
    fail "repmlp-run.exe's $f output differs from the Linux tool's"
done
cmp <(tr -d '\r' <"$tmp/linux/predictions.json") <(tr -d '\r' <"$tmp/win/predictions.json") ||
  fail "repmlp-run.exe's predictions differ from the Linux tool's"
crlf=0
for f in "$tmp"/linux/*.txt; do
  name=$(basename "$f" .txt)
  diff -u <(normalise "$f") <(normalise "$tmp/win/$name.txt") ||
    fail "the Windows and Linux outputs of $name differ (above, timings and \\r filtered)"
  if grep -q $'\r$' "$tmp/win/$name.txt"; then crlf=$((crlf + 1)); fi
done
echo "equal: $(find "$tmp/linux" -name '*.txt' | wc -l) text outputs ($crlf with CRLF line ends" \
  "on Windows) and the predictions, apart from line ends; fused files and outputs byte for byte"
grep -h 'check:' "$tmp/win/expect.txt" | tr -d '\r'
step "done"
