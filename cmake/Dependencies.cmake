# Every dependency comes from a Debian package; scripts/install-deps.sh installs them.
if(NOT CMAKE_CROSSCOMPILING)
  find_package(Vulkan REQUIRED) # headers only: Vulkan is loaded at run time through volk
  find_file(REPMLP_VOLK_C volk.c PATHS /usr/include REQUIRED
            DOC "volk source shipped by libvulkan-volk-dev")
  get_filename_component(REPMLP_VOLK_INCLUDE_DIR ${REPMLP_VOLK_C} DIRECTORY)

  find_path(REPMLP_CJSON_INCLUDE_DIR cjson/cJSON.h REQUIRED)
  find_library(REPMLP_CJSON_LIBRARY cjson REQUIRED)
else()
  include(${CMAKE_CURRENT_LIST_DIR}/CrossDependencies.cmake)
endif()

find_program(GLSLANG_VALIDATOR glslangValidator REQUIRED)
find_program(SPIRV_VAL spirv-val REQUIRED)
find_program(SPIRV_OPT spirv-opt REQUIRED)
find_program(SPIRV_DIS spirv-dis)

find_library(REPMLP_MATH_LIBRARY m)
find_package(Threads REQUIRED)
