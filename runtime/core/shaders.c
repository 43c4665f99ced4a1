/* The table of embedded SPIR-V modules (generated at build time from shaders/). */
#include "core/pipeline.h"

#include "rm_spv_all.h"

/* The GEMM core (shaders/gemm_core.glsl): 4 storage bindings (X, W, Y, AUX) and 6 push words;
 * the texel variants read 0 (X), 1 (W, as RGBA texels) and 4 (V) through texel buffers. */
#define RM_GEMM_BINDINGS_STORAGE 4
#define RM_GEMM_BINDINGS_TEXEL 5
#define RM_GEMM_PUSH (6 * 4)
#define RM_GEMM_TEXEL_MASK_STORAGE 0x0
#define RM_GEMM_TEXEL4_MASK_STORAGE 0x0
#define RM_GEMM_TEXEL_MASK_TEXEL 0x13
#define RM_GEMM_TEXEL4_MASK_TEXEL 0x2

#define RM_SHADER_ROW(ID, name, source, defines, bindings, push, texel, texel4, image)             \
    [RM_SHADER_##                                                                                  \
        ID] = {#name, rm_spv_##name, sizeof(rm_spv_##name), bindings, push, texel, texel4, image},
#define RM_GEMM_SHADER_ROW(ID, name, source, defines, kernel, path, weights, algorithm, tile)      \
    RM_SHADER_ROW(ID, name, source, defines, RM_GEMM_BINDINGS_##path, RM_GEMM_PUSH,                \
                  RM_GEMM_TEXEL_MASK_##path, RM_GEMM_TEXEL4_MASK_##path, 0)
static const rm_shader_info shader_table[RM_SHADER_COUNT] = {
    RM_SHADER_LIST(RM_SHADER_ROW, RM_GEMM_SHADER_ROW)};

#define RM_NOT_GEMM(...)
#define RM_GEMM_VARIANT_ROW(ID, name, source, defines, kernel, path, weights, algorithm, tile)     \
    {RM_SHADER_##ID,                                                                               \
     RM_GEMM_KERNEL_##kernel,                                                                      \
     RM_OPERAND_##path,                                                                            \
     RM_GEMM_WEIGHTS_##weights,                                                                    \
     RM_GEMM_ALGORITHM_##algorithm,                                                                \
     tile},
const rm_gemm_kernel_variant rm_gemm_kernel_variants[] = {
    RM_SHADER_LIST(RM_NOT_GEMM, RM_GEMM_VARIANT_ROW)};
const uint32_t rm_gemm_kernel_variant_count =
    sizeof rm_gemm_kernel_variants / sizeof rm_gemm_kernel_variants[0];

bool rm_shader_f16_math(rm_shader_id shader) {
    for (uint32_t i = 0; i < rm_gemm_kernel_variant_count; i++) {
        const rm_gemm_kernel_variant *v = &rm_gemm_kernel_variants[i];
        if (v->shader == shader)
            return v->algorithm == RM_GEMM_ALGORITHM_SHARED_F16 ||
                   v->algorithm == RM_GEMM_ALGORITHM_COOPMAT_NV;
    }
    return false;
}

const rm_shader_info *rm_shader(rm_shader_id id) {
    return &shader_table[id];
}

VkDescriptorType rm_descriptor_type(const rm_shader_info *info, uint32_t i) {
    if ((info->image_mask >> i) & 1) return VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER;
    if ((info->texel_mask >> i) & 1) return VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
    return VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
}
