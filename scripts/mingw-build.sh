# shellcheck shell=bash
# The MinGW-w64 cross build, shared by scripts/check-package.sh and scripts/check-windows.sh.
# Sourced from the repository root by a script that defines fail() and jobs.
#
# Debian has no cJSON for MinGW, so the build links against an import library for a cJSON DLL
# (see cmake/CrossDependencies.cmake); check-windows.sh supplies a libcjson.dll to run it.

mingw_toolchain=$PWD/cmake/mingw-w64-x86_64.cmake

# mingw_install BUILD PREFIX: configures and builds BUILD with warnings as errors (a no-op when
# up to date), installs it into PREFIX and checks the installed files.
mingw_install() {
  local build=$1 prefix=$2 f
  cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE="$mingw_toolchain" \
    -DCMAKE_BUILD_TYPE=Release -DREPMLP_WERROR=ON -DREPMLP_BUILD_TESTS=OFF >/dev/null
  cmake --build "$build" -j"${jobs:?}" >/dev/null
  cmake --install "$build" --prefix "$prefix" >/dev/null
  for f in bin/librepmlp.dll bin/repmlp-fuse.exe bin/repmlp-run.exe bin/repmlp-bench.exe \
    lib/librepmlp.dll.a lib/librepmlp.a lib/cmake/repmlp/repmlpConfig.cmake; do
    [ -e "$prefix/$f" ] || fail "Windows install: $f is missing"
  done
}

# mingw_classify BUILD PREFIX OUT: examples/classify cross-linked against the Windows package
# installed in PREFIX, as OUT/classify-win-OFF/classify.exe (librepmlp.dll) and
# OUT/classify-win-ON/classify.exe (the static library).
mingw_classify() {
  local build=$1 prefix=$2 out=$3 st import
  import=$build/cjson-import/libcjson.dll.a
  [[ $import = /* ]] || import=$PWD/$import
  for st in OFF ON; do
    cmake -S examples/classify -B "$out/classify-win-$st" -DCMAKE_TOOLCHAIN_FILE="$mingw_toolchain" \
      -DCMAKE_BUILD_TYPE=Release -Drepmlp_DIR="$prefix/lib/cmake/repmlp" \
      -DREPMLP_EXAMPLE_STATIC=$st -DCMAKE_C_FLAGS=-Werror \
      -DREPMLP_CJSON_LIBRARY="$import" >/dev/null
    cmake --build "$out/classify-win-$st" >/dev/null
    [ -f "$out/classify-win-$st/classify.exe" ] || fail "classify.exe ($st) not built"
  done
}
