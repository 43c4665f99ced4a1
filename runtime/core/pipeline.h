/* Private: the embedded shaders and the compute pipelines built from them. */
#ifndef RM_PIPELINE_H
#define RM_PIPELINE_H

#include "core/context.h"
#include "shader_list.h"

/* RM_SHADER_<ID>, one per row of shaders/shader_list.h. */
#define RM_SHADER_ENUM(ID, ...) RM_SHADER_##ID,
typedef enum rm_shader_id {
    RM_SHADER_LIST(RM_SHADER_ENUM, RM_SHADER_ENUM) RM_SHADER_COUNT
} rm_shader_id;
#undef RM_SHADER_ENUM

/* The GEMM-core kernel variants (the RM_GEMM_SHADER rows): what each one is, so that the
 * kernel for a node is chosen by its properties (runtime/ops/gemm_core.c), not by enum order. */
typedef enum rm_gemm_kernel { RM_GEMM_KERNEL_GEMM, RM_GEMM_KERNEL_CONV } rm_gemm_kernel;
typedef enum rm_gemm_weights {
    RM_GEMM_WEIGHTS_F32,
    RM_GEMM_WEIGHTS_F16,
    RM_GEMM_WEIGHTS_ANY, /* texel views convert fp32 and fp16 alike */
} rm_gemm_weights;
typedef enum rm_gemm_algorithm {
    RM_GEMM_ALGORITHM_REGISTER,      /* a TM x RM_GEMM_TN register tile per invocation */
    RM_GEMM_ALGORITHM_COALESCED,     /* the same tile, lanes on interleaved vec4 columns */
    RM_GEMM_ALGORITHM_SUBGROUP_GEMV, /* K over a subgroup's lanes, subgroupAdd (few rows) */
    RM_GEMM_ALGORITHM_SPLIT_K,       /* K over a workgroup, shared-memory reduction */
    RM_GEMM_ALGORITHM_NARROW,        /* a coalesced TM x 4 tile: fewer accumulators */
    RM_GEMM_ALGORITHM_SHARED,        /* A and W slices staged in shared memory (RM_SHARED_*) */
    RM_GEMM_ALGORITHM_SHARED_F16,    /* the same staged as fp16, fp16 products, fp32 sums */
    RM_GEMM_ALGORITHM_COOPMAT_NV,    /* NV cooperative matrices, fp16 in, fp32 accumulate */
    RM_GEMM_ALGORITHM_COUNT
} rm_gemm_algorithm;
typedef struct rm_gemm_kernel_variant {
    rm_shader_id shader;
    rm_gemm_kernel kernel;
    rm_operand_path path; /* RM_OPERAND_STORAGE or RM_OPERAND_TEXEL */
    rm_gemm_weights weights;
    rm_gemm_algorithm algorithm;
    uint32_t tile_m;
} rm_gemm_kernel_variant;
extern const rm_gemm_kernel_variant rm_gemm_kernel_variants[];
extern const uint32_t rm_gemm_kernel_variant_count;
/* Whether a shader is a GEMM-core kernel that multiplies in fp16 (fp32 sums): run only in
 * sessions that chose REPMLP_PRECISION_FP16_ARITHMETIC. */
bool rm_shader_f16_math(rm_shader_id shader);

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
    /* What the driver compiled (caps.pipeline_stats; NULL otherwise), core/pipeline_stats.h;
     * its workgroup and lanes fields are left to the caller. */
    struct repmlp_compile_stats *stats;
} rm_pipeline;

/* Returns the context's pipeline for this shader and specialization (built on first use,
 * then shared; it lives as long as the context). spec[0..2] = workgroup size. The layout
 * (bindings per stage, push constants) and the workgroup are checked against ctx->caps first
 * (rm_limits_check_pipeline): a violation is REPMLP_ERROR_UNSUPPORTED naming the limit. */
repmlp_status rm_pipeline_get(repmlp_context *ctx, rm_shader_id shader, const uint32_t *spec,
                              uint32_t spec_count, const rm_pipeline **out);
void rm_pipelines_destroy_all(repmlp_context *ctx);

#endif
