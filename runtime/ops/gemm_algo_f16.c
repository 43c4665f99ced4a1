/* fp16 products with fp32 sums on the shared-memory tile (RM_GEMM_ALGORITHM_SHARED_F16,
 * shaders/gemm_main_shared.glsl with RM_F16_MATH). */
#include "core/error.h"
#include "ops/gemm_core.h"

repmlp_status rm_gemm_plan_shared_f16(repmlp_context *ctx, const rm_gemm_core *c,
                                      const rm_gemm_kernel_variant *v, uint32_t *spec,
                                      uint64_t grid[3]) {
    if (!ctx->caps.shader_float16)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "%s: kernel %s computes in fp16, and this device lacks shaderFloat16 "
                       "(VK_KHR_shader_float16_int8)",
                       c->name, rm_shader(v->shader)->name);
    return rm_gemm_plan_shared_tile(ctx, c, v, spec, grid, 2);
}
