/* The table of embedded SPIR-V modules (generated at build time from shaders/). */
#include "core/pipeline.h"

#include "rm_spv_avgpool.h"
#include "rm_spv_broadcast_add.h"
#include "rm_spv_gemm_m1.h"
#include "rm_spv_gemm_m4.h"
#include "rm_spv_gemm_m8.h"
#include "rm_spv_gemm_texel_m1.h"
#include "rm_spv_gemm_texel_m4.h"
#include "rm_spv_gemm_texel_m8.h"
#include "rm_spv_conv_m1.h"
#include "rm_spv_conv_m4.h"
#include "rm_spv_conv_m8.h"
#include "rm_spv_conv_texel_m1.h"
#include "rm_spv_conv_texel_m4.h"
#include "rm_spv_conv_texel_m8.h"
#include "rm_spv_gemm_w16_m1.h"
#include "rm_spv_gemm_w16_m4.h"
#include "rm_spv_gemm_w16_m8.h"
#include "rm_spv_conv_w16_m1.h"
#include "rm_spv_conv_w16_m4.h"
#include "rm_spv_conv_w16_m8.h"
#include "rm_spv_maxpool.h"
#include "rm_spv_affine.h"
#include "rm_spv_gather.h"
#include "rm_spv_preprocess_image.h"
#include "rm_spv_softmax_topk.h"
#include "rm_spv_batchnorm.h"

/* texel_mask: bit i set when binding i is a uniform texel buffer; texel4_mask: those of them
 * read as vec4 texels. */
#define RM_SHADER_ENTRY(id, name, bindings, push, texel_mask, texel4_mask)                         \
    [id] = {#name, rm_spv_##name, sizeof(rm_spv_##name), bindings, push, texel_mask, texel4_mask, 0}
/* The GEMM core (shaders/gemm_core.glsl): 4 storage bindings (X, W, Y, AUX), 6 push words; the
 * texel variants read 0 (X), 1 (W, vec4) and 4 (V) through texel buffers. */
#define RM_GEMM_CORE_ENTRY(id, name) RM_SHADER_ENTRY(id, name, 4, 6 * 4, 0, 0)
#define RM_GEMM_CORE_TEXEL_ENTRY(id, name) RM_SHADER_ENTRY(id, name, 5, 6 * 4, 0x13, 0x2)

static const rm_shader_info shader_table[RM_SHADER_COUNT] = {
    RM_SHADER_ENTRY(RM_SHADER_AVGPOOL, avgpool, 2, 8 * 4, 0, 0),
    RM_SHADER_ENTRY(RM_SHADER_BROADCAST_ADD, broadcast_add, 2, 7 * 4, 0, 0),
    RM_GEMM_CORE_ENTRY(RM_SHADER_GEMM_M1, gemm_m1),
    RM_GEMM_CORE_ENTRY(RM_SHADER_GEMM_M4, gemm_m4),
    RM_GEMM_CORE_ENTRY(RM_SHADER_GEMM_M8, gemm_m8),
    RM_GEMM_CORE_TEXEL_ENTRY(RM_SHADER_GEMM_TEXEL_M1, gemm_texel_m1),
    RM_GEMM_CORE_TEXEL_ENTRY(RM_SHADER_GEMM_TEXEL_M4, gemm_texel_m4),
    RM_GEMM_CORE_TEXEL_ENTRY(RM_SHADER_GEMM_TEXEL_M8, gemm_texel_m8),
    RM_GEMM_CORE_ENTRY(RM_SHADER_CONV_M1, conv_m1),
    RM_GEMM_CORE_ENTRY(RM_SHADER_CONV_M4, conv_m4),
    RM_GEMM_CORE_ENTRY(RM_SHADER_CONV_M8, conv_m8),
    RM_GEMM_CORE_TEXEL_ENTRY(RM_SHADER_CONV_TEXEL_M1, conv_texel_m1),
    RM_GEMM_CORE_TEXEL_ENTRY(RM_SHADER_CONV_TEXEL_M4, conv_texel_m4),
    RM_GEMM_CORE_TEXEL_ENTRY(RM_SHADER_CONV_TEXEL_M8, conv_texel_m8),
    RM_GEMM_CORE_ENTRY(RM_SHADER_GEMM_W16_M1, gemm_w16_m1),
    RM_GEMM_CORE_ENTRY(RM_SHADER_GEMM_W16_M4, gemm_w16_m4),
    RM_GEMM_CORE_ENTRY(RM_SHADER_GEMM_W16_M8, gemm_w16_m8),
    RM_GEMM_CORE_ENTRY(RM_SHADER_CONV_W16_M1, conv_w16_m1),
    RM_GEMM_CORE_ENTRY(RM_SHADER_CONV_W16_M4, conv_w16_m4),
    RM_GEMM_CORE_ENTRY(RM_SHADER_CONV_W16_M8, conv_w16_m8),
    RM_SHADER_ENTRY(RM_SHADER_MAXPOOL, maxpool, 2, 8 * 4, 0, 0),
    RM_SHADER_ENTRY(RM_SHADER_AFFINE, affine, 4, 3 * 4, 0, 0),
    RM_SHADER_ENTRY(RM_SHADER_GATHER, gather, 3, 1 * 4, 0, 0),
    RM_SHADER_ENTRY(RM_SHADER_BATCHNORM, batchnorm, 4, 4 * 4, 0, 0),
    RM_SHADER_ENTRY(RM_SHADER_SOFTMAX_TOPK, softmax_topk, 2, 1 * 4, 0, 0),
    [RM_SHADER_PREPROCESS_IMAGE] = {.name = "preprocess_image",
                                    .code = rm_spv_preprocess_image,
                                    .code_size = sizeof(rm_spv_preprocess_image),
                                    .binding_count = 2,
                                    .push_size = 10 * 4,
                                    .image_mask = 0x1},
};

const rm_shader_info *rm_shader(rm_shader_id id) {
    return &shader_table[id];
}

VkDescriptorType rm_descriptor_type(const rm_shader_info *info, uint32_t i) {
    if ((info->image_mask >> i) & 1) return VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
    if ((info->texel_mask >> i) & 1) return VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
    return VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
}
