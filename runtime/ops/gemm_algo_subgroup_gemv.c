/* RM_GEMM_ALGORITHM_SUBGROUP_GEMV (shaders/gemm_main_subgroup_gemv.glsl): one workgroup per
 * weight panel and row tile, a whole number of subgroups wide. */
#include "core/error.h"
#include "ops/gemm_core.h"

/* Column chunks of a panel, one per subgroup at most. */
#define RM_GEMV_CHUNKS (RM_GEMM_PANEL / RM_GEMM_TN)

repmlp_status rm_gemm_plan_subgroup_gemv(repmlp_context *ctx, const rm_gemm_core *c,
                                         const rm_gemm_kernel_variant *v, uint32_t *spec,
                                         uint64_t grid[3]) {
    const rm_device_caps *caps = &ctx->caps;
    if (!caps->subgroup_arithmetic)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "%s: the subgroup GEMV needs subgroup arithmetic, which %s lacks (device "
                       "profile %s)",
                       c->name, ctx->info.name, caps->profile);
    uint32_t sg = caps->subgroup_size;
    if (!sg || sg > caps->max_workgroup_invocations || sg > caps->max_workgroup_size[0])
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "%s: the subgroup GEMV needs one %u-wide subgroup per workgroup, over the "
                       "limit of %u invocations",
                       c->name, sg, caps->max_workgroup_invocations);
    /* As many subgroups as chunks, within the workgroup limits (the shader loops over the
     * chunks, so fewer are also correct). */
    uint32_t subgroups = RM_GEMV_CHUNKS;
    while (subgroups > 1 && ((uint64_t)subgroups * sg > caps->max_workgroup_invocations ||
                             (uint64_t)subgroups * sg > caps->max_workgroup_size[0]))
        subgroups--;
    grid[0] = rm_div_up(c->NO, RM_GEMM_PANEL);
    grid[1] = rm_div_up(c->M, v->tile_m);
    grid[2] = c->groups;
    spec[0] = subgroups * sg;
    spec[1] = 1;
    spec[2] = 1;
    return REPMLP_OK;
}
