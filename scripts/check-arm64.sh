#!/usr/bin/env bash
# The 64-bit ARM build: cross-builds the library, tools and tests for aarch64-linux-gnu
# (cmake/aarch64-linux-gnu.cmake, warnings as errors), runs the host tests (ctest -L host:
# safetensors, configs, fuser, fuse CLI, fused-file round trips) under qemu-aarch64, and fuses
# every test fixture and the digits model with both the arm64 and the x86-64 repmlp-fuse,
# whose files must be byte-identical. Called by scripts/test.sh after check-package.sh; runs
# alone too:
#   bash scripts/check-arm64.sh            # REPMLP_BUILD_DIR picks the x86-64 build (build-test)
#   bash scripts/check-arm64.sh --device   # + arm64 lavapipe under qemu (slow, see below)
#
# --device also runs the device tests on arm64 lavapipe, emulated: Debian's
# mesa-vulkan-drivers:arm64, libvulkan1:arm64 and vulkan-validationlayers:arm64 with their
# libraries are downloaded and unpacked in the build directory, not installed (installed, the
# arm64 manifest would sit beside the host's in /usr/share/vulkan/icd.d and the host's
# multiarch libraries would have to move to the same versions). That takes minutes, so it is
# not part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

device=0
for arg in "$@"; do
  case $arg in
    --device) device=1 ;;
    *)
      echo "usage: check-arm64.sh [--device]" >&2
      exit 2
      ;;
  esac
done

usec() { echo "${EPOCHREALTIME/./}"; }
since() { local d=$(($(usec) - $1)); echo "$((d / 1000000)).$((d / 100000 % 10)) s"; }
t_start=$(usec)
step() { echo "== check-arm64 [$(since "$t_start")]: $*"; }
fail() {
  echo "check-arm64: FAIL: $*" >&2
  exit 1
}

bash scripts/install-deps.sh arm64
build=${REPMLP_BUILD_DIR:-build-test} # the x86-64 build the fused files are compared with
arm_build="build-arm64"
jobs=$(nproc)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- cross build ----
step "cross build ($arm_build)"
cmake -S . -B "$arm_build" -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
  -DCMAKE_BUILD_TYPE=Release -DREPMLP_WERROR=ON >/dev/null
cmake --build "$arm_build" -j"$jobs" >/dev/null
qemu=$(sed -n 's/^REPMLP_QEMU_AARCH64:FILEPATH=//p' "$arm_build/CMakeCache.txt")
[ -x "$qemu" ] || fail "no qemu-aarch64 found (qemu-user-static)"
grep -q 'Machine: *AArch64' <<<"$(readelf -h "$arm_build/bin/repmlp-fuse")" ||
  fail "$arm_build/bin/repmlp-fuse is not an arm64 program"
if [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then binfmt=on; else binfmt=off; fi
echo "$($qemu --version | head -n1); binfmt_misc for aarch64: $binfmt (not needed)"

# ---- host tests, each and every tool they start under qemu ----
step "host tests under qemu (ctest -L host)"
ctest --test-dir "$arm_build" -L host --output-on-failure -j"$jobs" >"$tmp/ctest-host.log" 2>&1 || {
  cat "$tmp/ctest-host.log" >&2
  fail "host tests failed under qemu-aarch64"
}
grep -E 'tests passed|Total Test time' "$tmp/ctest-host.log"

# ---- fused files: arm64 against x86-64, byte for byte ----
step "x86-64 repmlp-fuse ($build)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DREPMLP_WERROR=ON >/dev/null
cmake --build "$build" -j"$jobs" --target repmlp-fuse >/dev/null
step "fused files, arm64 against x86-64"
fuse_both() { # NAME ARGS... (the output file is appended)
  local name=$1
  shift
  "$build/bin/repmlp-fuse" "$@" "$tmp/$name.x86-64" || fail "x86-64 repmlp-fuse $* failed"
  "$qemu" "$arm_build/bin/repmlp-fuse" "$@" "$tmp/$name.arm64" || fail "arm64 repmlp-fuse $* failed"
  cmp "$tmp/$name.x86-64" "$tmp/$name.arm64" || fail "$name: the arm64 fused file differs from x86-64's"
}
declare -A arch=([block_v1]=RepMLP [block_v2]=RepMLPBlock [resnet]=RepMLPResNet [repmlpnet]=RepMLPNet)
n=0
for set in block_v1 block_v2 resnet repmlpnet; do
  for dir in tests/fixtures/"$set"/*/; do
    fuse_both "$set-$(basename "$dir")" --arch "${arch[$set]}" --config "@${dir}config.json" \
      "${dir}train.safetensors"
    n=$((n + 1))
  done
done
ex=examples/digits
fuse_both digits --arch RepMLPNet --config "@$ex/config.json" \
  --metadata "preprocess=@$ex/preprocess.json" "$ex/train.safetensors"
echo "$((n + 1)) fused files (every test fixture and the digits model) byte-identical"

if [ $device = 1 ]; then
  # ---- arm64 lavapipe, unpacked (see the top) ----
  step "arm64 lavapipe (Debian's packages, unpacked in $arm_build/lavapipe)"
  root=$PWD/$arm_build/lavapipe/root
  if [ ! -f "$root/usr/lib/aarch64-linux-gnu/libvulkan_lvp.so" ]; then
    rm -rf "$arm_build/lavapipe"
    mkdir -p "$arm_build/lavapipe/debs"
    # The arm64 packages apt would add to this machine for them (the arm64 C library and
    # cJSON are already installed by install-deps.sh).
    mapfile -t pkgs < <(apt-get install -s --no-install-recommends mesa-vulkan-drivers:arm64 \
      libvulkan1:arm64 vulkan-validationlayers:arm64 2>/dev/null | awk '/^Inst .*:arm64 / {print $2}')
    [ ${#pkgs[@]} -gt 0 ] || fail "apt-get finds no arm64 lavapipe packages"
    (cd "$arm_build/lavapipe/debs" && apt-get download -q "${pkgs[@]}") >"$tmp/download.log" 2>&1 || {
      cat "$tmp/download.log" >&2
      fail "apt-get download of the arm64 lavapipe packages failed"
    }
    for deb in "$arm_build"/lavapipe/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
    echo "unpacked ${#pkgs[@]} packages"
  fi
  icd=$PWD/$arm_build/lavapipe/lvp_icd.aarch64.json
  sed "s|\"/usr/lib/|\"$root/usr/lib/|" "$root/usr/share/vulkan/icd.d/lvp_icd.aarch64.json" >"$icd"
  # For the emulated programs only (qemu sets it in the guest's environment).
  export QEMU_SET_ENV=LD_LIBRARY_PATH=$root/usr/lib/aarch64-linux-gnu:$root/lib/aarch64-linux-gnu
  export VK_LAYER_PATH=$root/usr/share/vulkan/explicit_layer.d VK_ICD_FILENAMES=$icd
  "$qemu" "$arm_build/bin/repmlp-run" --list-devices | tee "$tmp/devices.txt"
  grep -q llvmpipe "$tmp/devices.txt" || fail "arm64 repmlp-run lists no llvmpipe"

  # The block end-to-end runs of test_models_e2e, from the script (test_models_e2e as a whole
  # takes over 10 minutes emulated): every block fixture's arm64 fused file on arm64 lavapipe
  # against PyTorch's output (SPEC's 1e-5), and against x86-64 lavapipe's output.
  step "block end to end on arm64 lavapipe under qemu"
  cmake --build "$build" -j"$jobs" --target repmlp-run >/dev/null
  host_icd=/usr/share/vulkan/icd.d/lvp_icd.$(uname -m).json
  same=0
  cases=0
  for set in block_v1 block_v2; do
    for dir in tests/fixtures/"$set"/*/; do
      name=$set-$(basename "$dir")
      t=$(usec)
      "$qemu" "$arm_build/bin/repmlp-run" "$tmp/$name.arm64" --input "${dir}input.safetensors" \
        --output "$tmp/$name.out.arm64" --expect "${dir}expected.safetensors" --tolerance 1e-5 \
        >"$tmp/$name.log" 2>&1 || {
        cat "$tmp/$name.log" >&2
        fail "$name on arm64 lavapipe"
      }
      echo "  $name: $(grep -o 'max abs.*' "$tmp/$name.log") ($(since "$t"))"
      VK_ICD_FILENAMES=$host_icd "$build/bin/repmlp-run" "$tmp/$name.x86-64" \
        --input "${dir}input.safetensors" --output "$tmp/$name.out.x86-64" >/dev/null
      if cmp -s "$tmp/$name.out.x86-64" "$tmp/$name.out.arm64"; then same=$((same + 1)); fi
      cases=$((cases + 1))
    done
  done
  echo "$cases block fixtures within 1e-5 of PyTorch; outputs byte-identical to x86-64" \
    "lavapipe's: $same of $cases"

  step "digits on arm64 lavapipe under qemu"
  digits=("$tmp/digits.x86-64" --input "$ex/test.safetensors")
  "$qemu" "$arm_build/bin/repmlp-run" "${digits[@]}" --eval "$ex/test.safetensors" \
    --predictions "$tmp/predictions.json" --output "$tmp/digits-out.arm64"
  bash scripts/check-digits.sh "$tmp/predictions.json"
  VK_ICD_FILENAMES=$host_icd "$build/bin/repmlp-run" "${digits[@]}" \
    --output "$tmp/digits-out.x86-64" >/dev/null
  if cmp -s "$tmp/digits-out.x86-64" "$tmp/digits-out.arm64"; then
    echo "outputs of the 450 test digits byte-identical to x86-64 lavapipe's"
  else
    echo "outputs of the 450 test digits differ from x86-64 lavapipe's (within the PyTorch check)"
  fi

  # The operator and embedding tests, validation layer on. Not test_op_gemm: Debian 12's arm64 lavapipe
  # (LLVM 15) aborts compiling the fp16-weight GEMM ("LLVM ERROR: Cannot select:
  # fp_extend v4i16"), a driver bug (REPMLP_CONTEXT_FP16_WEIGHTS is opt-in); nor the end-to-end
  # tests (the blocks and digits run above) and the fault walk, for their time.
  step "operator and embedding tests on arm64 lavapipe under qemu (ctest)"
  cmake -S . -B "$arm_build" -DREPMLP_LAVAPIPE_ICD="$icd" >/dev/null
  ctest --test-dir "$arm_build" -R '^test_(context|op_avgpool|op_broadcast_add|op_conv|op_nn|embed)@lavapipe$' \
    --output-on-failure -j"$jobs" >"$tmp/ctest-device.log" 2>&1 || {
    cat "$tmp/ctest-device.log" >&2
    fail "device tests failed on arm64 lavapipe"
  }
  grep -E 'tests passed|Total Test time' "$tmp/ctest-device.log"
fi
step "done"
