/* Private: the embedded shaders and the compute pipelines built from them. */
#ifndef RM_PIPELINE_H
#define RM_PIPELINE_H

#include "core/context.h"

typedef enum rm_shader_id {
    RM_SHADER_AVGPOOL = 0,
    RM_SHADER_BROADCAST_ADD,
    /* The GEMM-core kernels, each with 1-, 4- and 8-row tiles (in this order). */
    RM_SHADER_GEMM_M1,
    RM_SHADER_GEMM_M4,
    RM_SHADER_GEMM_M8,
    RM_SHADER_GEMM_TEXEL_M1,
    RM_SHADER_GEMM_TEXEL_M4,
    RM_SHADER_GEMM_TEXEL_M8,
    RM_SHADER_CONV_M1,
    RM_SHADER_CONV_M4,
    RM_SHADER_CONV_M8,
    RM_SHADER_CONV_TEXEL_M1,
    RM_SHADER_CONV_TEXEL_M4,
    RM_SHADER_CONV_TEXEL_M8,
    RM_SHADER_GEMM_W16_M1, /* fp16 weights through storage buffers */
    RM_SHADER_GEMM_W16_M4,
    RM_SHADER_GEMM_W16_M8,
    RM_SHADER_CONV_W16_M1,
    RM_SHADER_CONV_W16_M4,
    RM_SHADER_CONV_W16_M8,
    RM_SHADER_MAXPOOL,
    RM_SHADER_AFFINE,
    RM_SHADER_GATHER,
    RM_SHADER_BATCHNORM,
    RM_SHADER_SOFTMAX_TOPK,
    RM_SHADER_PREPROCESS_IMAGE,
    RM_SHADER_COUNT
} rm_shader_id;

typedef struct rm_shader_info {
    const char *name; /* the kernel variant, e.g. "gemm_texel_m8" (messages, benchmarks) */
    const uint32_t *code;
    size_t code_size; /* bytes */
    uint32_t binding_count;
    uint32_t push_size;
    uint32_t texel_mask;  /* bindings that are uniform texel buffers (R32_SFLOAT views) */
    uint32_t texel4_mask; /* the subset viewed as R32G32B32A32_SFLOAT (one vec4 per texel) */
    uint32_t image_mask;  /* bindings that are sampled images (the context's nearest sampler) */
} rm_shader_info;

const rm_shader_info *rm_shader(rm_shader_id id);
/* The descriptor type of binding i of a shader. */
VkDescriptorType rm_descriptor_type(const rm_shader_info *info, uint32_t i);

#define RM_MAX_SPEC 72
/* Specialization constants 0..2 are the workgroup size (x, y, z) in every shader. */
typedef struct rm_pipeline {
    rm_shader_id shader;
    uint32_t spec[RM_MAX_SPEC];
    uint32_t spec_count;
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
} rm_pipeline;

/* Returns the context's pipeline for this shader and specialization (built on first use,
 * then shared; it lives as long as the context). spec[0..2] = workgroup size. The layout
 * (bindings per stage, push constants) and the workgroup are checked against ctx->caps first
 * (rm_limits_check_pipeline): a violation is REPMLP_ERROR_UNSUPPORTED naming the limit. */
repmlp_status rm_pipeline_get(repmlp_context *ctx, rm_shader_id shader, const uint32_t *spec,
                              uint32_t spec_count, const rm_pipeline **out);
void rm_pipelines_destroy_all(repmlp_context *ctx);

#endif
