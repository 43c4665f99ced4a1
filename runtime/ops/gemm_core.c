#include "ops/gemm_core.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/limits.h"

/* Row tiles compiled for every GEMM-core kernel (TM in shaders/gemm_core.glsl), indexed by
 * pick_tile. */
static const uint32_t tile_rows[] = {1, 4, 8};
#define RM_TILE_COUNT (sizeof tile_rows / sizeof tile_rows[0])
/* A workgroup spans one packed weight panel. */
#define RM_GEMM_LX (RM_GEMM_PANEL / RM_GEMM_TN)
#define RM_GEMM_LY 8

const rm_gemm_kernel_variant *
rm_gemm_kernel_variant_find(rm_gemm_kernel kernel, rm_operand_path path, rm_gemm_weights weights,
                            rm_gemm_algorithm algorithm, uint32_t tile_m) {
    for (uint32_t i = 0; i < rm_gemm_kernel_variant_count; i++) {
        const rm_gemm_kernel_variant *v = &rm_gemm_kernel_variants[i];
        if (v->kernel == kernel && v->path == path && v->weights == weights &&
            v->algorithm == algorithm && v->tile_m == tile_m)
            return v;
    }
    return NULL;
}

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

/* The row tile for M rows (an index into tile_rows). Measured side by side with
 * `repmlp-bench --gemm M N K --tiles 1,4,8` (bench/RESULTS.md): 1 row wins for GEMVs (M < 4:
 * taller tiles idle most rows), 4 rows at M = 4, 8 rows from M = 16 on (lavapipe: on par with
 * 4 rows at M = 16, 1.1-1.2x at M >= 128; SwiftShader: 1.2-1.4x from M = 16). */
static int pick_tile(uint32_t M) {
    if (M < 4) return 0;
    if (M < 12) return 1;
    return 2;
}

void rm_gemm_put_map(uint32_t *spec, const rm_index_map *m) {
    memcpy(spec, m->radix, sizeof m->radix);
    memcpy(spec + 3, m->stride, sizeof m->stride);
}

repmlp_status rm_gemm_core_prepare(repmlp_context *ctx, const rm_gemm_core *c, uint32_t *spec,
                                   uint32_t spec_count, rm_dispatch *out) {
    memset(out, 0, sizeof *out);
    if (!c->M || !c->K || !c->NO || !c->groups)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: empty problem M=%u K=%u N=%u g=%u",
                       c->name, c->M, c->K, c->NO, c->groups);
    uint64_t y_max = rm_map_max_offset(&c->y_rows, c->M) +
                     rm_map_max_offset(&c->y_cols, (uint64_t)c->groups * c->NO);
    uint64_t s_max = c->ep.has_scale
                         ? rm_map_max_offset(&c->ep.s_rows, c->M) +
                               rm_map_max_offset(&c->ep.s_cols, (uint64_t)c->groups * c->NO)
                         : 0;
    uint64_t largest = y_max > s_max ? y_max : s_max;
    for (int i = 0; i < 3; i++)
        if (c->max_read[i] > largest) largest = c->max_read[i];
    if (largest >= UINT32_MAX)
        return rm_fail(REPMLP_ERROR_TOO_LARGE,
                       "%s: M=%u K=%u N=%u g=%u addresses more than 2^32 elements", c->name, c->M,
                       c->K, c->NO, c->groups);
    uint32_t tm = tile_rows[pick_tile(c->M)];
    if (c->row) {
        tm = c->row->tile_m;
    } else if (c->tile_m) {
        int tile = 0;
        while (tile < (int)RM_TILE_COUNT && tile_rows[tile] != c->tile_m) tile++;
        if (tile == (int)RM_TILE_COUNT)
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: no %u-row tile (1, 4 or 8)", c->name,
                           c->tile_m);
        tm = c->tile_m;
    }
    uint64_t gx = rm_div_up(c->NO, RM_GEMM_TN * RM_GEMM_LX);
    /* Fewer invocation rows when M needs fewer: rows past M would only start and exit (a
     * batch-1 GEMM on lavapipe ran 1.x faster with one row of invocations than with 8). */
    uint64_t row_tiles = rm_div_up(c->M, tm);
    uint32_t ly = row_tiles < RM_GEMM_LY ? (uint32_t)row_tiles : RM_GEMM_LY;
    uint64_t gy = rm_div_up(row_tiles, ly);
    char what[128];
    snprintf(what, sizeof what, "%s M=%u N=%u g=%u", c->name, c->M, c->NO, c->groups);
    repmlp_status st = rm_limits_check_groups(ctx, what, gx, gy, c->groups);
    if (st != REPMLP_OK) return st;

    spec[0] = RM_GEMM_LX;
    spec[1] = ly;
    spec[2] = 1;
    spec[RM_SPEC_K] = c->K;
    spec[RM_SPEC_NO] = c->NO;
    spec[RM_SPEC_HAS_BIAS] = c->ep.has_bias ? 1u : 0u;
    spec[RM_SPEC_ACT] = (uint32_t)c->ep.act;
    rm_gemm_put_map(spec + RM_SPEC_Y_ROWS, &c->y_rows);
    rm_gemm_put_map(spec + RM_SPEC_Y_COLS, &c->y_cols);
    spec[RM_SPEC_HAS_SCALE] = c->ep.has_scale ? 1u : 0u;
    if (c->ep.has_scale) {
        rm_gemm_put_map(spec + RM_SPEC_S_ROWS, &c->ep.s_rows);
        rm_gemm_put_map(spec + RM_SPEC_S_COLS, &c->ep.s_cols);
    } else {
        /* Unused maps are zeroed so that they do not split the pipeline cache. */
        memset(spec + RM_SPEC_S_ROWS, 0, 2 * RM_SPEC_MAP_SIZE * sizeof *spec);
    }
    spec[RM_SPEC_HAS_RESIDUAL] = c->ep.has_residual ? 1u : 0u;

    /* Texels read through the largest texel view (max_read holds the largest index). */
    uint64_t texel_reads = 0;
    for (int i = 0; i < 3; i++)
        if (c->max_read[i] + 1 > texel_reads) texel_reads = c->max_read[i] + 1;
    bool texel = false;
    if (c->row) {
        if (c->row->kernel != c->kernel || (c->row->weights != RM_GEMM_WEIGHTS_ANY &&
                                            (c->row->weights == RM_GEMM_WEIGHTS_F16) != c->w16))
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                           "%s: kernel %s does not run this op (another kernel or weight type)",
                           c->name, rm_shader(c->row->shader)->name);
        texel = c->row->path == RM_OPERAND_TEXEL;
        if (texel) st = rm_limits_check_texel_reads(ctx, what, texel_reads);
        if (st != REPMLP_OK) return st;
    } else if (c->variant == RM_GEMM_TEXEL) {
        st = rm_limits_check_texel_reads(ctx, what, texel_reads);
        if (st != REPMLP_OK) return st;
        texel = true;
    } else if (c->variant == RM_GEMM_AUTO && texel_reads <= ctx->caps.max_texel_buffer_elements) {
        rm_operand_path path;
        st = rm_operand_path_get(ctx, &path);
        if (st != REPMLP_OK) return rm_fail_prefix(st, "%s", c->name);
        texel = path == RM_OPERAND_TEXEL;
    }
    if (c->w16 && !texel && !ctx->caps.storage_16bit)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "%s: fp16 weights need 16-bit storage, which this device lacks", c->name);
    const rm_gemm_kernel_variant *variant =
        rm_gemm_kernel_variant_find(c->kernel, texel ? RM_OPERAND_TEXEL : RM_OPERAND_STORAGE,
                                    texel    ? RM_GEMM_WEIGHTS_ANY
                                    : c->w16 ? RM_GEMM_WEIGHTS_F16
                                             : RM_GEMM_WEIGHTS_F32,
                                    RM_GEMM_ALGORITHM_REGISTER, tm);
    if (c->row) variant = c->row;
    if (!variant)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED, "%s: no %s kernel with a %u-row tile", c->name,
                       texel ? "texel" : "storage", tm);
    rm_shader_id shader = variant->shader;
    st = rm_pipeline_get(ctx, shader, spec, spec_count, &out->pipeline);
    if (st != REPMLP_OK) return st;
    out->half_mask = texel && c->w16 ? 1u << 1 : 0;
    out->groups[0] = (uint32_t)gx;
    out->groups[1] = (uint32_t)gy;
    out->groups[2] = c->groups;
    memcpy(out->push, &c->M, sizeof c->M);
    out->push_size = sizeof c->M;
    return REPMLP_OK;
}
