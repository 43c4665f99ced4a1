# Script mode helper for repmlp_add_shader: glslangValidator -> spirv-val -> C header.
set(spv ${OUT}.spv)
execute_process(
  COMMAND ${GLSLANG} -V --target-env vulkan1.1 ${DEFINES} --depfile ${OUT}.d.tmp
          --vn ${VAR} -o ${OUT}.tmp ${SRC}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
# glslangValidator echoes the input file name on success; anything else is a diagnostic.
string(REGEX REPLACE "^[^\n]*\\.comp\n?" "" out "${out}")
string(STRIP "${out}${err}" diag)
if(NOT rc EQUAL 0 OR NOT diag STREQUAL "")
  file(REMOVE ${OUT}.tmp ${OUT}.d.tmp)
  message(FATAL_ERROR "shader ${SRC} (${DEFINES}): compiler output:\n${diag}")
endif()
# Validate the binary form too (the header cannot be fed to spirv-val directly).
execute_process(
  COMMAND ${GLSLANG} -V --target-env vulkan1.1 ${DEFINES} -o ${spv} ${SRC}
  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
execute_process(COMMAND ${SPIRV_VAL} --target-env vulkan1.1 ${spv}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(STRIP "${out}${err}" diag)
if(NOT rc EQUAL 0 OR NOT diag STREQUAL "")
  file(REMOVE ${OUT}.tmp ${OUT}.d.tmp)
  message(FATAL_ERROR "shader ${SRC}: spirv-val failed:\n${diag}")
endif()
if(SPIRV_DIS)
  # Kept beside the header for review of what the compiler produced.
  execute_process(COMMAND ${SPIRV_DIS} -o ${OUT}.spvasm ${spv} OUTPUT_QUIET ERROR_QUIET)
endif()
# glslang writes the depfile target as the -o path; make it name the real header.
file(READ ${OUT}.d.tmp dep)
string(REPLACE "${OUT}.tmp" "${OUT}" dep "${dep}")
file(WRITE ${OUT}.d "${dep}")
file(REMOVE ${OUT}.d.tmp)
file(RENAME ${OUT}.tmp ${OUT})
