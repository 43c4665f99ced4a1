/* The table of embedded SPIR-V modules (generated at build time from shaders/). */
#include "core/pipeline.h"

#include "rm_spv_avgpool.h"
#include "rm_spv_broadcast_add.h"
#include "rm_spv_gemm.h"
#include "rm_spv_gemm_texel.h"
#include "rm_spv_conv.h"
#include "rm_spv_conv_texel.h"
#include "rm_spv_gemm_tall.h"
#include "rm_spv_gemm_texel_tall.h"
#include "rm_spv_conv_tall.h"
#include "rm_spv_conv_texel_tall.h"
#include "rm_spv_maxpool.h"
#include "rm_spv_affine.h"

/* texel_mask: bit i set when binding i is a uniform texel buffer. */
#define RM_SHADER_ENTRY(id, var, bindings, push, texel_mask)                                       \
    [id] = {#var, var, sizeof(var), bindings, push, texel_mask}

static const rm_shader_info shader_table[RM_SHADER_COUNT] = {
    RM_SHADER_ENTRY(RM_SHADER_AVGPOOL, rm_spv_avgpool, 2, 8 * 4, 0),
    RM_SHADER_ENTRY(RM_SHADER_BROADCAST_ADD, rm_spv_broadcast_add, 2, 7 * 4, 0),
    RM_SHADER_ENTRY(RM_SHADER_GEMM, rm_spv_gemm, 7, 1 * 4, 0),
    RM_SHADER_ENTRY(RM_SHADER_GEMM_TEXEL, rm_spv_gemm_texel, 7, 1 * 4, 0x13),
    RM_SHADER_ENTRY(RM_SHADER_CONV, rm_spv_conv, 7, 1 * 4, 0),
    RM_SHADER_ENTRY(RM_SHADER_CONV_TEXEL, rm_spv_conv_texel, 7, 1 * 4, 0x13),
    RM_SHADER_ENTRY(RM_SHADER_GEMM_TALL, rm_spv_gemm_tall, 7, 1 * 4, 0),
    RM_SHADER_ENTRY(RM_SHADER_GEMM_TEXEL_TALL, rm_spv_gemm_texel_tall, 7, 1 * 4, 0x13),
    RM_SHADER_ENTRY(RM_SHADER_CONV_TALL, rm_spv_conv_tall, 7, 1 * 4, 0),
    RM_SHADER_ENTRY(RM_SHADER_CONV_TEXEL_TALL, rm_spv_conv_texel_tall, 7, 1 * 4, 0x13),
    RM_SHADER_ENTRY(RM_SHADER_MAXPOOL, rm_spv_maxpool, 2, 8 * 4, 0),
    RM_SHADER_ENTRY(RM_SHADER_AFFINE, rm_spv_affine, 4, 3 * 4, 0),
};

const rm_shader_info *rm_shader(rm_shader_id id) {
    return &shader_table[id];
}
