# Cross build for 64-bit Windows with Debian's MinGW-w64 (package gcc-mingw-w64-x86-64):
#   cmake -S . -B build-mingw -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake
# Shaders are still compiled by the build machine's glslangValidator (programs are searched
# on the host, everything else only in the MinGW tree). Headers that are the same on every
# target (Vulkan, volk, cJSON) come from the host; see cmake/Dependencies.cmake.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(REPMLP_MINGW_TRIPLE x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${REPMLP_MINGW_TRIPLE}-gcc)
set(CMAKE_RC_COMPILER ${REPMLP_MINGW_TRIPLE}-windres)
set(CMAKE_DLLTOOL ${REPMLP_MINGW_TRIPLE}-dlltool)

set(CMAKE_FIND_ROOT_PATH /usr/${REPMLP_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
