/* Shared-memory tiles (RM_GEMM_ALGORITHM_SHARED, shaders/gemm_main_shared.glsl). */
#include "core/error.h"
#include "core/limits.h"
#include "ops/gemm_core.h"

repmlp_status rm_gemm_plan_shared_tile(repmlp_context *ctx, const rm_gemm_core *c,
                                       const rm_gemm_kernel_variant *v, uint32_t *spec,
                                       uint64_t grid[3], uint32_t stage_bytes) {
    uint32_t tm = v->tile_m;
    uint32_t lx = RM_SHARED_LX(tm), ly = RM_SHARED_LY;
    uint64_t shared = (uint64_t)RM_SHARED_VEC4S(tm) * 4 * stage_bytes;
    const rm_device_caps *caps = &ctx->caps;
    const char *kernel = rm_shader(v->shader)->name;
    if (lx * ly > caps->max_workgroup_invocations || lx > caps->max_workgroup_size[0] ||
        ly > caps->max_workgroup_size[1])
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "%s: kernel %s needs a %ux%u workgroup; this device takes %u invocations "
                       "(%u x %u)",
                       c->name, kernel, lx, ly, caps->max_workgroup_invocations,
                       caps->max_workgroup_size[0], caps->max_workgroup_size[1]);
    if (shared > caps->max_shared_memory)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "%s: kernel %s needs %llu bytes of shared memory; this device has %u",
                       c->name, kernel, (unsigned long long)shared, caps->max_shared_memory);
    grid[0] = rm_div_up(c->NO, RM_SHARED_BN(tm));
    grid[1] = rm_div_up(c->M, RM_SHARED_BM(tm));
    grid[2] = c->groups;
    spec[0] = lx;
    spec[1] = ly;
    spec[2] = 1;
    return REPMLP_OK;
}

repmlp_status rm_gemm_plan_shared(repmlp_context *ctx, const rm_gemm_core *c,
                                  const rm_gemm_kernel_variant *v, uint32_t *spec,
                                  uint64_t grid[3]) {
    return rm_gemm_plan_shared_tile(ctx, c, v, spec, grid, 4);
}
