/* NV cooperative matrices (RM_GEMM_ALGORITHM_COOPMAT_NV, shaders/gemm_main_coopmat_nv.glsl):
 * a workgroup of 4 subgroups computes a 64 x 64 tile with fp16 x fp16 + fp32 matrices of the
 * shape in shaders/gemm_layout.h. */
#include "core/error.h"
#include "ops/gemm_core.h"

#define RM_COOP_SUBGROUPS 4 /* COOP_SUBGROUPS in the shader */
#define RM_COOP_BM (RM_COOP_SUBGROUPS * RM_COOP_M)
#define RM_COOP_BN 64
/* Shared memory: A (BM x (K + 8)) and W (K x (BN + 8)) slices in fp16, one fp32 accumulator
 * per subgroup. */
#define RM_COOP_SHARED                                                                             \
    ((RM_COOP_BM * (RM_COOP_K + 8) + RM_COOP_K * (RM_COOP_BN + 8)) * 2 +                           \
     RM_COOP_SUBGROUPS * RM_COOP_M * RM_COOP_N * 4)

repmlp_status rm_gemm_plan_coopmat_nv(repmlp_context *ctx, const rm_gemm_core *c,
                                      const rm_gemm_kernel_variant *v, uint32_t *spec,
                                      uint64_t grid[3]) {
    const rm_device_caps *caps = &ctx->caps;
    const char *kernel = rm_shader(v->shader)->name;
    if (!caps->cooperative_matrix_nv)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "%s: kernel %s needs VK_NV_cooperative_matrix with %ux%ux%u fp16 matrices, "
                       "fp16 arithmetic and the Vulkan memory model, which this device lacks",
                       c->name, kernel, RM_COOP_M, RM_COOP_N, RM_COOP_K);
    /* Whole subgroups: the real subgroup size, not the profile's planning width. */
    uint32_t lx = RM_COOP_SUBGROUPS * caps->subgroup_size;
    if (caps->subgroup_size == 0 || lx > caps->max_workgroup_invocations ||
        lx > caps->max_workgroup_size[0] || RM_COOP_SHARED > caps->max_shared_memory ||
        lx % (RM_COOP_BM / v->tile_m))
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "%s: kernel %s needs %u invocations (4 subgroups of %u) and %u bytes of "
                       "shared memory; this device takes %u and has %u",
                       c->name, kernel, lx, caps->subgroup_size, RM_COOP_SHARED,
                       caps->max_workgroup_invocations, caps->max_shared_memory);
    grid[0] = rm_div_up(c->NO, RM_COOP_BN);
    grid[1] = rm_div_up(c->M, RM_COOP_BM);
    grid[2] = c->groups;
    spec[0] = lx;
    spec[1] = 1;
    spec[2] = 1;
    return REPMLP_OK;
}
