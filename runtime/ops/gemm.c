#include <string.h>

#include "core/error.h"
#include "ops/ops.h"

/* Must match TM, TN in shaders/gemm.comp. */
#define RM_GEMM_TM 4
#define RM_GEMM_TN 4
#define RM_GEMM_LX 8
#define RM_GEMM_LY 8

uint64_t rm_map_max_offset(const rm_index_map *map, uint64_t count) {
    uint64_t top = count ? count - 1 : 0; /* largest index, reduced digit by digit */
    uint64_t bound = 0;
    for (int d = 0; d < 3; d++) {
        uint64_t r = map->radix[d];
        if (r == 0) return bound + top * map->stride[d];
        bound += (top < r ? top : r - 1) * map->stride[d];
        top /= r;
    }
    return bound + top * map->stride[3];
}

static void put_map(uint32_t *spec, const rm_index_map *m) {
    memcpy(spec, m->radix, sizeof m->radix);
    memcpy(spec + 3, m->stride, sizeof m->stride);
}

repmlp_status rm_gemm_prepare(repmlp_context *ctx, const rm_gemm_params *p, rm_dispatch *out) {
    memset(out, 0, sizeof *out);
    if (!p->M || !p->K || !p->NO || !p->groups)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "gemm: empty problem M=%u K=%u N=%u g=%u",
                       p->M, p->K, p->NO, p->groups);
    uint64_t a_max = rm_map_max_offset(&p->a_rows, p->M) +
                     rm_map_max_offset(&p->a_cols, (uint64_t)p->groups * p->K);
    uint64_t y_max = rm_map_max_offset(&p->y_rows, p->M) +
                     rm_map_max_offset(&p->y_cols, (uint64_t)p->groups * p->NO);
    uint64_t w_max = (uint64_t)p->groups * p->NO * p->K;
    uint64_t v_max = p->has_addend ? rm_map_max_offset(&p->v_rows, p->M) +
                                         rm_map_max_offset(&p->v_cols, (uint64_t)p->groups * p->K)
                                   : 0;
    if (a_max >= UINT32_MAX || y_max >= UINT32_MAX || w_max >= UINT32_MAX || v_max >= UINT32_MAX)
        return rm_fail(REPMLP_ERROR_TOO_LARGE,
                       "gemm: M=%u K=%u N=%u g=%u addresses more than 2^32 elements", p->M, p->K,
                       p->NO, p->groups);
    uint64_t gx = rm_div_up(p->NO, RM_GEMM_TN * RM_GEMM_LX);
    uint64_t gy = rm_div_up(p->M, RM_GEMM_TM * RM_GEMM_LY);
    if (gx > ctx->caps.max_workgroup_count[0] || gy > ctx->caps.max_workgroup_count[1] ||
        p->groups > ctx->caps.max_workgroup_count[2])
        return rm_fail(REPMLP_ERROR_TOO_LARGE,
                       "gemm: M=%u N=%u g=%u needs a %llux%llux%u grid, over the device limits",
                       p->M, p->NO, p->groups, (unsigned long long)gx, (unsigned long long)gy,
                       p->groups);

    uint32_t spec[50] = {RM_GEMM_LX,      RM_GEMM_LY, 1, p->K, p->NO, p->has_bias ? 1u : 0u,
                         (uint32_t)p->act};
    put_map(spec + 7, &p->a_rows);
    put_map(spec + 14, &p->a_cols);
    put_map(spec + 21, &p->y_rows);
    put_map(spec + 28, &p->y_cols);
    spec[35] = p->has_addend ? 1u : 0u;
    if (p->has_addend) {
        put_map(spec + 36, &p->v_rows);
        put_map(spec + 43, &p->v_cols);
    } else {
        /* Unused maps are zeroed so that they do not split the pipeline cache. */
        memset(spec + 36, 0, 14 * sizeof *spec);
    }
    uint64_t texel_limit = ctx->caps.max_texel_buffer_elements;
    bool texel_fits = a_max < texel_limit && w_max < texel_limit && v_max < texel_limit;
    rm_shader_id shader = RM_SHADER_GEMM;
    if (p->variant == RM_GEMM_TEXEL) {
        if (!texel_fits)
            return rm_fail(REPMLP_ERROR_TOO_LARGE,
                           "gemm: operands exceed the device's %llu texel-buffer elements",
                           (unsigned long long)texel_limit);
        shader = RM_SHADER_GEMM_TEXEL;
    } else if (p->variant == RM_GEMM_AUTO && ctx->caps.prefer_texel_operands && texel_fits) {
        shader = RM_SHADER_GEMM_TEXEL;
    }
    repmlp_status st = rm_pipeline_get(ctx, shader, spec, 50, &out->pipeline);
    if (st != REPMLP_OK) return st;
    out->groups[0] = (uint32_t)gx;
    out->groups[1] = (uint32_t)gy;
    out->groups[2] = p->groups;
    uint32_t m = p->M;
    memcpy(out->push, &m, sizeof m);
    out->push_size = sizeof m;
    return REPMLP_OK;
}
