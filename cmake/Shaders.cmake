# Compiles a GLSL compute shader to SPIR-V at build time and wraps it as a C header holding
# `static const uint32_t <VAR>[]`. Any compiler or validator output fails the build.
# repmlp_add_shader(OUT_HEADER_VAR SOURCE file.comp VAR name [DEFINES A=1 B=2])
set(REPMLP_SHADER_OUT_DIR ${CMAKE_BINARY_DIR}/generated/shaders)
file(MAKE_DIRECTORY ${REPMLP_SHADER_OUT_DIR})
# Empty to compare against unoptimized shaders (benchmarks).
set(REPMLP_SPIRV_OPT_PASSES "-O" CACHE STRING "spirv-opt passes applied to every shader")

function(repmlp_add_shader out_var)
  cmake_parse_arguments(S "" "SOURCE;VAR" "DEFINES" ${ARGN})
  set(header ${REPMLP_SHADER_OUT_DIR}/${S_VAR}.h)
  set(defines "")
  foreach(d IN LISTS S_DEFINES)
    list(APPEND defines "-D${d}")
  endforeach()
  add_custom_command(
    OUTPUT ${header}
    COMMAND ${CMAKE_COMMAND}
            -DGLSLANG=${GLSLANG_VALIDATOR} -DSPIRV_OPT=${SPIRV_OPT} -DSPIRV_VAL=${SPIRV_VAL}
            -DSPIRV_DIS=${SPIRV_DIS} "-DSPIRV_OPT_PASSES=${REPMLP_SPIRV_OPT_PASSES}"
            -DSRC=${S_SOURCE} -DVAR=${S_VAR} -DOUT=${header} "-DDEFINES=${defines}"
            -P ${PROJECT_SOURCE_DIR}/cmake/CompileShader.cmake
    DEPENDS ${S_SOURCE} ${PROJECT_SOURCE_DIR}/cmake/CompileShader.cmake
    DEPFILE ${header}.d
    COMMENT "Compiling shader ${S_VAR}"
    VERBATIM)
  set(${out_var} ${header} PARENT_SCOPE)
endfunction()
