#include <string.h>

#include "ops/gemm_core.h"

repmlp_status rm_gemm_prepare(repmlp_context *ctx, const rm_gemm_params *p, rm_dispatch *out) {
    rm_gemm_core c = {
        .name = "gemm",
        .storage_shader = RM_SHADER_GEMM_M1,
        .texel_shader = RM_SHADER_GEMM_TEXEL_M1,
        .storage_w16_shader = RM_SHADER_GEMM_W16_M1,
        .w16 = p->w16,
        .variant = p->variant,
        .tile_m = p->tile_m,
        .M = p->M,
        .K = p->K,
        .NO = p->NO,
        .groups = p->groups,
        .ep = p->ep,
        .y_rows = p->y_rows,
        .y_cols = p->y_cols,
    };
    c.ep.has_bias |= p->has_bias;
    if (c.ep.act == RM_ACT_NONE) c.ep.act = p->act;
    uint64_t cols = (uint64_t)p->groups * p->K;
    c.max_read[0] = rm_map_max_offset(&p->a_rows, p->M) + rm_map_max_offset(&p->a_cols, cols);
    c.max_read[1] = rm_gemm_packed_count(p->groups, p->NO, p->K) / 4;
    c.max_read[2] = p->has_addend
                        ? rm_map_max_offset(&p->v_rows, p->M) + rm_map_max_offset(&p->v_cols, cols)
                        : 0;
    uint32_t spec[RM_GEMM_MAX_SPEC] = {0};
    rm_gemm_put_map(spec + 37, &p->a_rows);
    rm_gemm_put_map(spec + 44, &p->a_cols);
    spec[51] = p->has_addend ? 1u : 0u;
    if (p->has_addend) {
        rm_gemm_put_map(spec + 52, &p->v_rows);
        rm_gemm_put_map(spec + 59, &p->v_cols);
    }
    return rm_gemm_core_prepare(ctx, &c, spec, RM_GEMM_MAX_SPEC, out);
}
