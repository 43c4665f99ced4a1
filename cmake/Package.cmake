# The installable libraries, their CMake package and pkg-config file, and the install rules.
#
# The tests and tools keep linking the internal static library `repmlp` (runtime/), which
# exports everything because they call internal rm_* functions. What is installed is built
# again from the same sources with hidden visibility, so that only the REPMLP_API functions
# of include/repmlp/ are visible:
#   repmlp::repmlp         librepmlp.so.X.Y (Windows: librepmlp.dll + librepmlp.dll.a)
#   repmlp::repmlp_static  librepmlp.a, its internal symbols (volk included) made local
# Included from the top-level CMakeLists.txt after runtime/ and tools/.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(REPMLP_PACKAGE_DIR ${CMAKE_BINARY_DIR}/package) # apart from build/lib's internal archive

# The library's own sources, exactly those of the internal target.
get_target_property(REPMLP_PACKAGE_SOURCES repmlp SOURCES)
list(FILTER REPMLP_PACKAGE_SOURCES EXCLUDE REGEX "^\\$<")

# cJSON as an imported target, so the exported link interface names it and the package's
# config file can find it again on the consumer's machine (see repmlpConfig.cmake.in).
add_library(repmlp::cjson UNKNOWN IMPORTED)
set_target_properties(repmlp::cjson PROPERTIES IMPORTED_LOCATION ${REPMLP_CJSON_LIBRARY})
set(REPMLP_PACKAGE_LINK repmlp::cjson Threads::Threads ${CMAKE_DL_LIBS})
if(REPMLP_MATH_LIBRARY)
  list(APPEND REPMLP_PACKAGE_LINK m)
endif()

# repmlp_package_objects(<name> [DEFINES ...]): the library's objects with hidden visibility.
# volk is compiled apart because its warnings are not ours to fix, but hidden too: otherwise
# its vk* function pointers would clash with (or, worse, silently interpose) an application's
# own volk or libvulkan.
function(repmlp_package_objects name)
  cmake_parse_arguments(P "" "" "DEFINES" ${ARGN})
  add_library(${name}_volk OBJECT ${REPMLP_VOLK_C})
  target_include_directories(${name}_volk PRIVATE ${REPMLP_VOLK_INCLUDE_DIR}
                                                   ${Vulkan_INCLUDE_DIRS})
  target_compile_definitions(${name}_volk PRIVATE VK_NO_PROTOTYPES)
  add_library(${name} OBJECT ${REPMLP_PACKAGE_SOURCES})
  repmlp_warnings(${name})
  add_dependencies(${name} repmlp_shaders)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/include
    ${PROJECT_SOURCE_DIR}/runtime ${REPMLP_SHADER_OUT_DIR} ${PROJECT_SOURCE_DIR}/shaders ${REPMLP_CJSON_INCLUDE_DIR}
    ${REPMLP_VOLK_INCLUDE_DIR} ${Vulkan_INCLUDE_DIRS})
  # REPMLP_EXPERIMENTAL: the library defines (and exports) the experimental tier too.
  target_compile_definitions(${name} PRIVATE VK_NO_PROTOTYPES REPMLP_EXPERIMENTAL ${P_DEFINES})
  if(REPMLP_ABI_DEBUGINFO AND NOT MSVC)
    target_compile_options(${name} PRIVATE -g)
  endif()
  set_target_properties(${name} ${name}_volk PROPERTIES POSITION_INDEPENDENT_CODE ON
                        C_VISIBILITY_PRESET hidden)
endfunction()

# Shared and static objects are the same on ELF (REPMLP_API is a visibility attribute either
# way); Windows needs dllexport in the DLL and plain declarations in the archive.
if(WIN32)
  repmlp_package_objects(repmlp_dll_objects DEFINES REPMLP_BUILDING_DLL)
  repmlp_package_objects(repmlp_static_objects DEFINES REPMLP_STATIC)
  set(dll_objects repmlp_dll_objects)
else()
  repmlp_package_objects(repmlp_static_objects)
  set(dll_objects repmlp_static_objects)
endif()

add_library(repmlp_shared SHARED $<TARGET_OBJECTS:${dll_objects}>
                                 $<TARGET_OBJECTS:${dll_objects}_volk>)
target_link_libraries(repmlp_shared PRIVATE ${REPMLP_PACKAGE_LINK})
target_include_directories(repmlp_shared INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
# 0.x releases may change the ABI with the minor version, so the SONAME carries both.
set_target_properties(repmlp_shared PROPERTIES
  OUTPUT_NAME repmlp EXPORT_NAME repmlp
  VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
  LIBRARY_OUTPUT_DIRECTORY ${REPMLP_PACKAGE_DIR} RUNTIME_OUTPUT_DIRECTORY ${REPMLP_PACKAGE_DIR}
  ARCHIVE_OUTPUT_DIRECTORY ${REPMLP_PACKAGE_DIR})
# Every dependency linked (sanitizer runtimes are left for the executable to provide).
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang" AND NOT APPLE AND NOT WIN32 AND NOT REPMLP_SANITIZE)
  target_link_options(repmlp_shared PRIVATE -Wl,--no-undefined)
endif()
if(MINGW)
  target_link_options(repmlp_shared PRIVATE -static-libgcc) # no libgcc DLL to ship beside it
endif()

# The static archive holds one relocatable object: the library's objects linked with `ld -r`,
# then every symbol not marked REPMLP_API made local. An application linking librepmlp.a can
# then also compile its own volk (no duplicate vk* definitions) or link libvulkan (whose
# vkGetInstanceProcAddr etc. would otherwise be interposed by volk's function pointers of the
# same names), and never sees the library's internal rm_* names. ELF marks the API by
# visibility (--localize-hidden); PE has no visibility, so there the API names are listed.
set(REPMLP_STATIC_OBJECT ${REPMLP_PACKAGE_DIR}/repmlp_static${CMAKE_C_OUTPUT_EXTENSION})
set(static_objects $<TARGET_OBJECTS:repmlp_static_objects>
                   $<TARGET_OBJECTS:repmlp_static_objects_volk>)
if(WIN32)
  set(api_list ${REPMLP_PACKAGE_DIR}/api-symbols.txt)
  file(GLOB api_headers ${PROJECT_SOURCE_DIR}/include/repmlp/*.h)
  set(api_names "")
  foreach(h IN LISTS api_headers)
    file(STRINGS ${h} decls REGEX "^REPMLP_API .*repmlp_[a-z0-9_]+\\(")
    foreach(d IN LISTS decls)
      string(REGEX MATCH "repmlp_[a-z0-9_]+\\(" n "${d}")
      string(REPLACE "(" "\n" n "${n}")
      string(APPEND api_names "${n}")
    endforeach()
  endforeach()
  file(WRITE ${api_list} "${api_names}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${api_headers})
  set(localize --keep-global-symbols=${api_list})
else()
  set(localize --localize-hidden)
endif()
add_custom_command(
  OUTPUT ${REPMLP_STATIC_OBJECT}
  COMMAND ${CMAKE_LINKER} -r -o ${REPMLP_STATIC_OBJECT}.tmp ${static_objects}
  COMMAND ${CMAKE_OBJCOPY} ${localize} ${REPMLP_STATIC_OBJECT}.tmp ${REPMLP_STATIC_OBJECT}
  COMMAND ${CMAKE_COMMAND} -E remove ${REPMLP_STATIC_OBJECT}.tmp
  DEPENDS ${static_objects} repmlp_static_objects repmlp_static_objects_volk
  COMMENT "Localizing the static library's internal symbols"
  COMMAND_EXPAND_LISTS VERBATIM)
add_library(repmlp_static STATIC ${REPMLP_STATIC_OBJECT})
set_source_files_properties(${REPMLP_STATIC_OBJECT} PROPERTIES EXTERNAL_OBJECT ON GENERATED ON)
target_link_libraries(repmlp_static PRIVATE ${REPMLP_PACKAGE_LINK})
target_compile_definitions(repmlp_static INTERFACE REPMLP_STATIC)
target_include_directories(repmlp_static INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
set_target_properties(repmlp_static PROPERTIES
  OUTPUT_NAME repmlp EXPORT_NAME repmlp_static LINKER_LANGUAGE C
  ARCHIVE_OUTPUT_DIRECTORY ${REPMLP_PACKAGE_DIR})

# ---- install ----
install(TARGETS repmlp_shared repmlp_static EXPORT repmlpTargets
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/include/repmlp.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/repmlp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
if(REPMLP_BUILD_TOOLS)
  install(TARGETS repmlp-fuse repmlp-run repmlp-bench RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

set(cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/repmlp)
install(EXPORT repmlpTargets NAMESPACE repmlp:: DESTINATION ${cmake_dir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/repmlpConfig.cmake.in
  ${REPMLP_PACKAGE_DIR}/repmlpConfig.cmake INSTALL_DESTINATION ${cmake_dir})
# 0.x: only the same minor version is compatible.
write_basic_package_version_file(${REPMLP_PACKAGE_DIR}/repmlpConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${REPMLP_PACKAGE_DIR}/repmlpConfig.cmake ${REPMLP_PACKAGE_DIR}/repmlpConfigVersion.cmake
        DESTINATION ${cmake_dir})

# pkg-config: the prefix is found relative to the .pc file, so `cmake --install --prefix P`
# works whatever prefix was configured.
file(RELATIVE_PATH REPMLP_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" REPMLP_PC_TO_PREFIX "${REPMLP_PC_TO_PREFIX}")
set(REPMLP_PC_LIBS_PRIVATE "-lcjson")
if(REPMLP_MATH_LIBRARY)
  string(APPEND REPMLP_PC_LIBS_PRIVATE " -lm")
endif()
foreach(lib IN LISTS CMAKE_DL_LIBS)
  string(APPEND REPMLP_PC_LIBS_PRIVATE " -l${lib}")
endforeach()
if(CMAKE_THREAD_LIBS_INIT)
  string(APPEND REPMLP_PC_LIBS_PRIVATE " ${CMAKE_THREAD_LIBS_INIT}")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/repmlp.pc.in ${REPMLP_PACKAGE_DIR}/repmlp.pc @ONLY)
install(FILES ${REPMLP_PACKAGE_DIR}/repmlp.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
