/* RM_GEMM_ALGORITHM_SPLIT_K (shaders/gemm_main_split_k.glsl): one workgroup per weight panel
 * and row tile, LX lanes x KS K-slices, the partial tiles in shared memory. */
#include "core/error.h"
#include "ops/gemm_core.h"

#define RM_SPLIT_K_LX (RM_GEMM_PANEL / RM_GEMM_TN)
#define RM_SPLIT_K_MAX_SLICES 16

/* One vec4 per lane, slice and accumulator (TM rows x TN / 4). */
static uint64_t slice_bytes(uint32_t tile_m) {
    return (uint64_t)RM_SPLIT_K_LX * tile_m * (RM_GEMM_TN / 4) * 16;
}

uint32_t rm_gemm_split_k_slices(const rm_device_caps *caps, uint32_t K, uint32_t tile_m) {
    uint32_t slices = RM_SPLIT_K_MAX_SLICES;
    /* Halved until within the limits, and to no more slices than K has steps. */
    while (slices > 1 &&
           (slices * RM_SPLIT_K_LX > caps->max_workgroup_invocations ||
            slices > caps->max_workgroup_size[1] ||
            slices * slice_bytes(tile_m) > caps->max_shared_memory || slices / 2 >= K))
        slices /= 2;
    if (RM_SPLIT_K_LX * slices > caps->max_workgroup_invocations ||
        slices * slice_bytes(tile_m) > caps->max_shared_memory)
        return 0;
    return slices;
}

repmlp_status rm_gemm_plan_split_k(repmlp_context *ctx, const rm_gemm_core *c,
                                   const rm_gemm_kernel_variant *v, uint32_t *spec,
                                   uint64_t grid[3]) {
    const rm_device_caps *caps = &ctx->caps;
    uint32_t slices = rm_gemm_split_k_slices(caps, c->K, v->tile_m);
    if (!slices)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "%s: split-K needs %u invocations and %llu bytes of shared memory per "
                       "workgroup (limits %u and %u)",
                       c->name, RM_SPLIT_K_LX, (unsigned long long)slice_bytes(v->tile_m),
                       caps->max_workgroup_invocations, caps->max_shared_memory);
    grid[0] = rm_div_up(c->NO, RM_GEMM_PANEL);
    grid[1] = rm_div_up(c->M, v->tile_m);
    grid[2] = c->groups;
    spec[0] = RM_SPLIT_K_LX;
    spec[1] = slices;
    spec[2] = 1;
    return REPMLP_OK;
}
