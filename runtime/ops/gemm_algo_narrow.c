/* RM_GEMM_ALGORITHM_NARROW (shaders/gemm_main_coalesced.glsl with RM_ALGORITHM_NARROW): 4
 * columns per invocation, so 16 lanes on one weight panel, and up to 8 row tiles (128
 * invocations, the Vulkan minimum). */
#include "core/error.h"
#include "ops/gemm_core.h"

#define RM_NARROW_LX (RM_GEMM_PANEL / 4)
#define RM_NARROW_LY 8

repmlp_status rm_gemm_plan_narrow(repmlp_context *ctx, const rm_gemm_core *c,
                                  const rm_gemm_kernel_variant *v, uint32_t *spec,
                                  uint64_t grid[3]) {
    const rm_device_caps *caps = &ctx->caps;
    uint64_t row_tiles = rm_div_up(c->M, v->tile_m);
    uint32_t ly = row_tiles < RM_NARROW_LY ? (uint32_t)row_tiles : RM_NARROW_LY;
    while (ly > 1 && RM_NARROW_LX * ly > caps->max_workgroup_invocations) ly /= 2;
    if (RM_NARROW_LX > caps->max_workgroup_invocations ||
        RM_NARROW_LX > caps->max_workgroup_size[0])
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "%s: the 4-column tile needs %u invocations per workgroup (limit %u)",
                       c->name, RM_NARROW_LX, caps->max_workgroup_invocations);
    grid[0] = rm_div_up(c->NO, RM_GEMM_PANEL);
    grid[1] = rm_div_up(row_tiles, ly);
    grid[2] = c->groups;
    spec[0] = RM_NARROW_LX;
    spec[1] = ly;
    spec[2] = 1;
    return REPMLP_OK;
}
