#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs, only those that are missing.
# Runs as root, or through sudo when it is available.
#   bash scripts/install-deps.sh              # build, test and package check
#   bash scripts/install-deps.sh windows      # + Wine, Xvfb and cJSON's source (check-windows.sh)
#   bash scripts/install-deps.sh arm64        # + the arm64 cross compiler, libraries and qemu
#                                             #   (check-arm64.sh)
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  libvulkan-dev libvulkan-volk-dev glslang-tools spirv-tools
  mesa-vulkan-drivers vulkan-validationlayers chromium-common
  libcmocka-dev libcjson-dev libstb-dev
  doxygen abigail-tools  # the API reference (check-doxygen.sh), the ABI check (check-abi.sh)
  gcc-mingw-w64-x86-64
  python3-torch  # the checkpoint converter test; T224 weights for check-best-practices.sh
)
# The Windows build run under Wine (64-bit only), with an X server for Wine's Vulkan; dpkg-dev
# unpacks cJSON's Debian source package, built there as libcjson.dll.
windows_packages=(wine wine64 xvfb xauth dpkg-dev)
# The arm64 cross build, its target libraries (Debian multiarch) and the user-mode emulator
# that runs its tests.
arm64_packages=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static
  libcmocka-dev:arm64 libcjson-dev:arm64)

windows=0
arm64=0
for arg in "$@"; do
  case $arg in
    windows)
      windows=1
      packages+=("${windows_packages[@]}")
      ;;
    arm64)
      arm64=1
      packages+=("${arm64_packages[@]}")
      ;;
    *)
      echo "install-deps: unknown argument '$arg' (expected windows or arm64)" >&2
      exit 2
      ;;
  esac
done

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
need_root() {
  if [ -n "$SUDO" ] && ! command -v sudo >/dev/null; then
    echo "install-deps: run as root ($*)" >&2
    exit 1
  fi
}
export DEBIAN_FRONTEND=noninteractive
apt_get() { $SUDO apt-get -o DPkg::Lock::Timeout=600 -q "$@"; }
updated=0

# arm64 packages come from the same archive once dpkg knows the architecture.
if [ $arm64 = 1 ] && ! grep -qx arm64 <<<"$(dpkg --print-foreign-architectures)"; then
  need_root "dpkg --add-architecture arm64"
  echo "install-deps: adding the arm64 architecture"
  $SUDO dpkg --add-architecture arm64
  apt_get update
  updated=1
fi

# cJSON's source package needs the source index (deb-src) of the configured suites.
if [ $windows = 1 ] && ! apt-cache showsrc cjson 2>/dev/null | grep '^Package: cjson' >/dev/null; then
  need_root "enable deb-src"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    echo "install-deps: enabling deb-src in /etc/apt/sources.list.d/debian.sources"
    $SUDO sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources
  elif [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list; then
    echo "install-deps: adding deb-src lines to /etc/apt/sources.list.d/deb-src.list"
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list | $SUDO tee /etc/apt/sources.list.d/deb-src.list >/dev/null
  else
    echo "install-deps: no /etc/apt/sources.list(.d/debian.sources) to enable deb-src in" >&2
    exit 1
  fi
  apt_get update
  updated=1
fi

missing=()
for p in "${packages[@]}"; do
  grep -q "install ok installed" <<<"$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

need_root "missing: ${missing[*]}"
echo "install-deps: installing ${missing[*]}"
[ $updated = 1 ] || apt_get update
apt_get install -y --no-install-recommends "${missing[@]}"
