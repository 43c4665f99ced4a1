/* The table of embedded SPIR-V modules (generated at build time from shaders/). */
#include "core/pipeline.h"

#include "rm_spv_avgpool.h"
#include "rm_spv_broadcast_add.h"
#include "rm_spv_gemm.h"

#define RM_SHADER_ENTRY(id, var, bindings, push) [id] = {#var, var, sizeof(var), bindings, push}

static const rm_shader_info shader_table[RM_SHADER_COUNT] = {
    RM_SHADER_ENTRY(RM_SHADER_AVGPOOL, rm_spv_avgpool, 2, 8 * 4),
    RM_SHADER_ENTRY(RM_SHADER_BROADCAST_ADD, rm_spv_broadcast_add, 2, 7 * 4),
    RM_SHADER_ENTRY(RM_SHADER_GEMM, rm_spv_gemm, 5, 1 * 4),
};

const rm_shader_info *rm_shader(rm_shader_id id) {
    return &shader_table[id];
}
