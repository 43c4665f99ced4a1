# Cross build for 64-bit ARM Linux with Debian's cross compiler (package gcc-aarch64-linux-gnu):
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
# Target libraries come from Debian multiarch (libcjson-dev:arm64, libcmocka-dev:arm64 in
# /usr/lib/aarch64-linux-gnu); shaders are still compiled by the build machine's
# glslangValidator, and headers that are the same on every target (Vulkan, volk, cJSON) come
# from the host (see cmake/CrossDependencies.cmake). Tests and the tools they start run through
# qemu-aarch64 (qemu-user-static), whether or not binfmt_misc is set up for it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(REPMLP_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${REPMLP_CROSS_TRIPLE}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${REPMLP_CROSS_TRIPLE})

# The cross C library (libc6-dev-arm64-cross), then the host tree, whose multiarch library
# directories (lib/aarch64-linux-gnu, from CMAKE_LIBRARY_ARCHITECTURE) hold the target's
# libraries apart from the build machine's own.
set(CMAKE_FIND_ROOT_PATH /usr/${REPMLP_CROSS_TRIPLE} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(REPMLP_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64
             DOC "user-mode emulator running the target's programs (qemu-user-static)")
if(REPMLP_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${REPMLP_QEMU_AARCH64})
endif()
