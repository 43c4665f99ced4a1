# Dependencies of a cross build (e.g. cmake/mingw-w64-x86_64.cmake), included by
# Dependencies.cmake.
#
# The Vulkan, volk and cJSON headers are the same for every target, so they are taken from the
# build machine (libvulkan-dev, libvulkan-volk-dev, libcjson-dev). They are copied into the
# build tree instead of being used in place: the host's include directory also holds the
# host C library's headers, which must never shadow the cross compiler's own.
set(REPMLP_HOST_INCLUDE_DIR /usr/include
    CACHE PATH "Build machine's directory holding vulkan/, vk_video/, volk.h, volk.c, cjson/")
set(REPMLP_CROSS_INCLUDE_DIR ${CMAKE_BINARY_DIR}/host-include)
foreach(item vulkan vk_video volk.h volk.c cjson/cJSON.h)
  if(NOT EXISTS ${REPMLP_HOST_INCLUDE_DIR}/${item})
    message(FATAL_ERROR "cross build: ${REPMLP_HOST_INCLUDE_DIR}/${item} is missing "
                        "(install libvulkan-dev, libvulkan-volk-dev and libcjson-dev)")
  endif()
endforeach()
file(COPY ${REPMLP_HOST_INCLUDE_DIR}/vulkan ${REPMLP_HOST_INCLUDE_DIR}/vk_video
     DESTINATION ${REPMLP_CROSS_INCLUDE_DIR} FILES_MATCHING PATTERN "*.h")
file(COPY ${REPMLP_HOST_INCLUDE_DIR}/volk.h ${REPMLP_HOST_INCLUDE_DIR}/volk.c
     DESTINATION ${REPMLP_CROSS_INCLUDE_DIR})
file(COPY ${REPMLP_HOST_INCLUDE_DIR}/cjson/cJSON.h DESTINATION ${REPMLP_CROSS_INCLUDE_DIR}/cjson)

set(Vulkan_INCLUDE_DIRS ${REPMLP_CROSS_INCLUDE_DIR})
set(REPMLP_VOLK_C ${REPMLP_CROSS_INCLUDE_DIR}/volk.c)
set(REPMLP_VOLK_INCLUDE_DIR ${REPMLP_CROSS_INCLUDE_DIR})
set(REPMLP_CJSON_INCLUDE_DIR ${REPMLP_CROSS_INCLUDE_DIR})

# cJSON built for the target, if the cross tree has one (Debian ships none for MinGW).
find_library(REPMLP_CJSON_LIBRARY cjson)
if(NOT REPMLP_CJSON_LIBRARY AND WIN32)
  # Without one, link against an import library for a cJSON DLL, made here from the function
  # list of cJSON's header. Every other symbol is still resolved for real, so the cross build
  # links completely; running the result on Windows needs cJSON built as libcjson.dll, or a
  # rebuild with -DREPMLP_CJSON_LIBRARY=<a MinGW cJSON library>.
  if(NOT CMAKE_DLLTOOL)
    find_program(CMAKE_DLLTOOL NAMES ${CMAKE_C_COMPILER_TARGET}-dlltool dlltool REQUIRED)
  endif()
  file(STRINGS ${REPMLP_CROSS_INCLUDE_DIR}/cjson/cJSON.h decls
       REGEX "^CJSON_PUBLIC\\([^)]*\\)[ \t*]*cJSON_[A-Za-z0-9_]+\\(")
  set(def "LIBRARY libcjson.dll\nEXPORTS\n")
  foreach(decl IN LISTS decls)
    string(REGEX MATCH "cJSON_[A-Za-z0-9_]+\\(" name "${decl}")
    string(REPLACE "(" "" name "${name}")
    string(APPEND def "    ${name}\n")
  endforeach()
  set(stub_dir ${CMAKE_BINARY_DIR}/cjson-import)
  file(WRITE ${stub_dir}/cjson.def "${def}")
  execute_process(COMMAND ${CMAKE_DLLTOOL} -d ${stub_dir}/cjson.def -l ${stub_dir}/libcjson.dll.a
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "cross build: dlltool failed making the cJSON import library: ${err}")
  endif()
  set(REPMLP_CJSON_LIBRARY ${stub_dir}/libcjson.dll.a)
  # Calls then go through the DLL's import table, as with any cJSON DLL.
  add_compile_definitions(CJSON_IMPORT_SYMBOLS)
  list(LENGTH decls n)
  message(STATUS "cross build: no cJSON for the target; linking against an import library "
                 "for libcjson.dll (${n} functions from cJSON.h)")
elseif(NOT REPMLP_CJSON_LIBRARY)
  message(FATAL_ERROR "cross build: no cJSON library for the target; set REPMLP_CJSON_LIBRARY")
endif()
