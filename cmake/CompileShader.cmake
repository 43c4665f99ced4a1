# Script mode helper for repmlp_add_shader:
#   glslangValidator -> spirv-opt -O -> spirv-val -> C header (from the optimized binary).
# spirv-opt fully unrolls the loops marked [[unroll]] and turns the register-tile arrays into
# plain values; drivers with a light shader compiler (SwiftShader) otherwise keep the tiles in
# memory, which made the GEMM 5x slower there.
set(raw ${OUT}.raw.spv)
set(spv ${OUT}.spv)
# Runs one step; any failure or any output fails the build and removes what it left.
macro(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  # glslangValidator echoes the input file name on success; anything else is a diagnostic.
  string(REGEX REPLACE "^[^\n]*\\.comp\n?" "" out "${out}")
  string(STRIP "${out}${err}" diag)
  if(NOT rc EQUAL 0 OR NOT diag STREQUAL "")
    file(REMOVE ${raw} ${spv} ${OUT}.d.tmp)
    message(FATAL_ERROR "shader ${SRC} (${DEFINES}): ${what}:\n${diag}")
  endif()
endmacro()
run_step("compiler output" ${GLSLANG} -V --target-env vulkan1.1 ${DEFINES} --depfile ${OUT}.d.tmp
         -o ${raw} ${SRC})
run_step("spirv-opt failed" ${SPIRV_OPT} --target-env=vulkan1.1 ${SPIRV_OPT_PASSES} ${raw}
         -o ${spv})
run_step("spirv-val failed" ${SPIRV_VAL} --target-env vulkan1.1 ${spv})
if(SPIRV_DIS)
  # Kept beside the header for review of what the compilers produced.
  execute_process(COMMAND ${SPIRV_DIS} -o ${OUT}.spvasm ${spv} OUTPUT_QUIET ERROR_QUIET)
endif()
# The header: SPIR-V words are little-endian in the file, 8 per line.
file(READ ${spv} hex HEX)
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1," words "${hex}")
set(word "0x........,")
string(REGEX REPLACE "(${word}${word}${word}${word}${word}${word}${word}${word})" "\\1\n    "
                     words "${words}")
string(REGEX REPLACE ",[\n ]*$" "" words "${words}")
file(WRITE ${OUT}.tmp "/* Generated from ${SRC} (${DEFINES}); do not edit. */\n"
                      "#pragma once\n#include <stdint.h>\n"
                      "static const uint32_t ${VAR}[] = {\n    ${words}\n};\n")
# glslang writes the depfile target as the -o path; make it name the real header.
file(READ ${OUT}.d.tmp dep)
string(REPLACE "${raw}" "${OUT}" dep "${dep}")
file(WRITE ${OUT}.d "${dep}")
file(REMOVE ${OUT}.d.tmp ${raw})
file(RENAME ${OUT}.tmp ${OUT})
