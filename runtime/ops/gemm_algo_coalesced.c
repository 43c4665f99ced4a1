/* RM_GEMM_ALGORITHM_COALESCED (shaders/gemm_main_coalesced.glsl): the register tile's
 * workgroup and grid, LX lanes on one weight panel and up to 8 row tiles. */
#include "ops/gemm_core.h"

#define RM_COALESCED_LX (RM_GEMM_PANEL / RM_GEMM_TN)
#define RM_COALESCED_LY 8

repmlp_status rm_gemm_plan_coalesced(repmlp_context *ctx, const rm_gemm_core *c,
                                     const rm_gemm_kernel_variant *v, uint32_t *spec,
                                     uint64_t grid[3]) {
    (void)ctx;
    uint64_t row_tiles = rm_div_up(c->M, v->tile_m);
    uint32_t ly = row_tiles < RM_COALESCED_LY ? (uint32_t)row_tiles : RM_COALESCED_LY;
    grid[0] = rm_div_up(c->NO, RM_GEMM_PANEL);
    grid[1] = rm_div_up(row_tiles, ly);
    grid[2] = c->groups;
    spec[0] = RM_COALESCED_LX;
    spec[1] = ly;
    spec[2] = 1;
    return REPMLP_OK;
}
