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

/* The register tile's invocation rows (LY) for M rows in tiles of tile_m: fewer than 8 when M
 * needs fewer, as rows past M would only start and exit (a batch-1 GEMM on lavapipe ran 1.x
 * faster with one row of invocations than with 8). */
static uint32_t register_ly(uint32_t M, uint32_t tile_m) {
    uint64_t row_tiles = rm_div_up(M, tile_m);
    return row_tiles < RM_GEMM_LY ? (uint32_t)row_tiles : RM_GEMM_LY;
}

/* The register tile (RM_GEMM_ALGORITHM_REGISTER): a workgroup of LX x LY invocations spans
 * one weight panel and LY row tiles. */
static repmlp_status plan_register(repmlp_context *ctx, const rm_gemm_core *c,
                                   const rm_gemm_kernel_variant *v, uint32_t *spec,
                                   uint64_t grid[3]) {
    (void)ctx;
    grid[0] = rm_div_up(c->NO, RM_GEMM_TN * RM_GEMM_LX);
    uint32_t ly = register_ly(c->M, v->tile_m);
    grid[1] = rm_div_up(rm_div_up(c->M, v->tile_m), ly);
    grid[2] = c->groups;
    spec[0] = RM_GEMM_LX;
    spec[1] = ly;
    spec[2] = 1;
    return REPMLP_OK;
}

/* Per algorithm: the workgroup (spec[0..2]), the grid, and any constants of its own; an
 * algorithm the device or the shape cannot take returns REPMLP_ERROR_UNSUPPORTED. */
typedef repmlp_status (*rm_gemm_plan_fn)(repmlp_context *ctx, const rm_gemm_core *c,
                                         const rm_gemm_kernel_variant *v, uint32_t *spec,
                                         uint64_t grid[3]);
static const rm_gemm_plan_fn plans[RM_GEMM_ALGORITHM_COUNT] = {
    [RM_GEMM_ALGORITHM_REGISTER] = plan_register,
    [RM_GEMM_ALGORITHM_COALESCED] = rm_gemm_plan_coalesced,
    [RM_GEMM_ALGORITHM_SUBGROUP_GEMV] = rm_gemm_plan_subgroup_gemv,
    [RM_GEMM_ALGORITHM_SPLIT_K] = rm_gemm_plan_split_k,
    [RM_GEMM_ALGORITHM_NARROW] = rm_gemm_plan_narrow,
    [RM_GEMM_ALGORITHM_SHARED] = rm_gemm_plan_shared,
    [RM_GEMM_ALGORITHM_SHARED_F16] = rm_gemm_plan_shared_f16,
    [RM_GEMM_ALGORITHM_COOPMAT_NV] = rm_gemm_plan_coopmat_nv,
};

/* Whether row v can run this problem on this device: its kernel, weight type and operand
 * path (texel reads within maxTexelBufferElements, fp16 storage where 16-bit storage exists). */
static repmlp_status check_variant(repmlp_context *ctx, const rm_gemm_core *c,
                                   const rm_gemm_kernel_variant *v, uint64_t texel_reads,
                                   const char *what) {
    if (!rm_gemm_kernel_variant_runs(v, c->kernel, c->w16))
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "%s: kernel %s does not run a %s op with %s weights", what,
                       rm_shader(v->shader)->name, c->name, c->w16 ? "fp16" : "fp32");
    if (v->path == RM_OPERAND_TEXEL) return rm_limits_check_texel_reads(ctx, what, texel_reads);
    if (c->w16 && !ctx->caps.storage_16bit)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "%s: fp16 weights need 16-bit storage, which this device lacks", what);
    return REPMLP_OK;
}

/* Few rows leave the register tile's workgroup (8 lanes x one per row tile, up to 8) narrow:
 * below 12 rows, or 2-3 tiles of 8, it has 8-24 invocations, and a GPU running it in 32- or
 * 64-lane subgroups idles most lanes (batch-1 FCs, the global perceptron's FCs, late stages).
 * Where the register tile leaves more than half of the planned subgroup (caps.plan_subgroup_size:
 * the device's or the profile's) idle, the first of these that fills half is taken: split-K with
 * the same row tile (8 lanes x up to 16 K-slices reduced in shared memory; no subgroup
 * operations, so also under the profiles), then shorter row tiles (more row tiles per
 * workgroup: register, then split-K); where none does (few rows and a short K), the widest.
 * CPU drivers plan 4-8 lanes and keep the register tile. A missing row is passed over. */
static const rm_gemm_kernel_variant *fill_subgroup(const rm_device_caps *caps,
                                                   const rm_gemm_core *c,
                                                   const rm_gemm_kernel_variant *reg) {
    uint64_t best_lanes = (uint64_t)RM_GEMM_LX * register_ly(c->M, reg->tile_m);
    const rm_gemm_kernel_variant *best = reg;
    for (int t = (int)RM_TILE_COUNT - 1; t >= 0 && 2 * best_lanes < caps->plan_subgroup_size; t--) {
        uint32_t tile = tile_rows[t];
        if (tile > reg->tile_m) continue;
        for (int split = tile == reg->tile_m; split < 2; split++) {
            uint64_t lanes =
                (uint64_t)RM_GEMM_LX *
                (split ? rm_gemm_split_k_slices(caps, c->K, tile) : register_ly(c->M, tile));
            const rm_gemm_kernel_variant *v = rm_gemm_kernel_variant_find(
                reg->kernel, reg->path, reg->weights,
                split ? RM_GEMM_ALGORITHM_SPLIT_K : RM_GEMM_ALGORITHM_REGISTER, tile);
            if (v && lanes > best_lanes) {
                best = v;
                best_lanes = lanes;
                if (2 * lanes >= caps->plan_subgroup_size) break;
            }
        }
    }
    return best;
}

/* The built-in choice: the operand path measured on the context (or forced), the register
 * tile from M (or forced by tile_m), split-K or a shorter tile where the register tile would
 * leave most of a subgroup idle (fill_subgroup; not when tile_m is forced). */
static repmlp_status pick_variant(repmlp_context *ctx, const rm_gemm_core *c, uint64_t texel_reads,
                                  const char *what, const rm_gemm_kernel_variant **out) {
    int tile = pick_tile(c->M);
    if (c->tile_m) {
        for (tile = 0; tile < (int)RM_TILE_COUNT && tile_rows[tile] != c->tile_m; tile++) continue;
        if (tile == (int)RM_TILE_COUNT)
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: no %u-row tile (1, 4 or 8)", c->name,
                           c->tile_m);
    }
    bool texel = false;
    if (c->variant == RM_GEMM_TEXEL) {
        texel = true;
    } else if (c->variant == RM_GEMM_AUTO && texel_reads <= ctx->caps.max_texel_buffer_elements) {
        rm_operand_path path;
        repmlp_status st = rm_operand_path_get(ctx, &path);
        if (st != REPMLP_OK) return rm_fail_prefix(st, "%s", c->name);
        texel = path == RM_OPERAND_TEXEL;
    }
    *out = rm_gemm_kernel_variant_find(c->kernel, texel ? RM_OPERAND_TEXEL : RM_OPERAND_STORAGE,
                                       texel    ? RM_GEMM_WEIGHTS_ANY
                                       : c->w16 ? RM_GEMM_WEIGHTS_F16
                                                : RM_GEMM_WEIGHTS_F32,
                                       RM_GEMM_ALGORITHM_REGISTER, tile_rows[tile]);
    if (!*out)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED, "%s: no %s kernel with a %u-row tile", what,
                       texel ? "texel" : "storage", tile_rows[tile]);
    if (!c->tile_m) *out = fill_subgroup(&ctx->caps, c, *out);
    return check_variant(ctx, c, *out, texel_reads, what);
}

static repmlp_status split(const repmlp_context *ctx, const rm_gemm_core *c, const char *what,
                           uint64_t panels, uint64_t gy, rm_dispatch *out);

/* Whether an algorithm's grid is (panels, row tiles, groups) with each workgroup in one panel,
 * starting at the pushed first group and panel: only those run a weight cut into parts. */
static bool panel_grid(rm_gemm_algorithm a) {
    switch (a) {
        case RM_GEMM_ALGORITHM_REGISTER:
        case RM_GEMM_ALGORITHM_COALESCED:
        case RM_GEMM_ALGORITHM_SUBGROUP_GEMV:
        case RM_GEMM_ALGORITHM_SPLIT_K:
        case RM_GEMM_ALGORITHM_NARROW:
            return true;
        default:
            return false;
    }
}

repmlp_status rm_gemm_core_plan(repmlp_context *ctx, const rm_gemm_core *c,
                                const rm_gemm_kernel_variant **out, uint32_t *spec,
                                uint64_t grid[3]) {
    if (!c->M || !c->K || !c->NO || !c->groups)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: empty problem M=%u K=%u N=%u g=%u",
                       c->name, c->M, c->K, c->NO, c->groups);
    uint64_t y_max = rm_map_max_offset(&c->y_rows, c->M) +
                     rm_map_max_offset(&c->y_cols, (uint64_t)c->groups * c->NO);
    uint64_t s_max = c->ep.has_scale
                         ? rm_map_max_offset(&c->ep.s_rows, c->M) +
                               rm_map_max_offset(&c->ep.s_cols, (uint64_t)c->groups * c->NO)
                         : 0;
    uint64_t w_count = rm_gemm_packed_count(c->groups, c->NO, c->K, c->run, c->w16);
    if (!w_count)
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "%s: a weight of %u x (%u, %u) is too large",
                       c->name, c->groups, c->NO, c->K);
    uint64_t max_read[3] = {c->max_read[0], w_count / 4 - 1, c->max_read[2]}; /* W in vec4s */
    uint64_t largest = y_max > s_max ? y_max : s_max;
    if (c->max_read[0] > largest) largest = c->max_read[0];
    if (c->max_read[2] > largest) largest = c->max_read[2];
    if (largest >= UINT32_MAX)
        return rm_fail(REPMLP_ERROR_TOO_LARGE,
                       "%s: M=%u K=%u N=%u g=%u addresses more than 2^32 elements", c->name, c->M,
                       c->K, c->NO, c->groups);
    char what[128];
    snprintf(what, sizeof what, "%s M=%u N=%u g=%u", c->name, c->M, c->NO, c->groups);
    /* Texels read through the largest texel view (max_read holds the largest index). */
    uint64_t texel_reads = 0;
    for (int i = 0; i < 3; i++)
        if (max_read[i] + 1 > texel_reads) texel_reads = max_read[i] + 1;

    const rm_gemm_kernel_variant *v = c->force;
    repmlp_status st = v ? check_variant(ctx, c, v, texel_reads, what)
                         : pick_variant(ctx, c, texel_reads, what, &v);
    if (st != REPMLP_OK) return st;
    st = plans[v->algorithm](ctx, c, v, spec, grid);
    if (st != REPMLP_OK) return st;
    *out = v;
    return rm_limits_check_groups(ctx, what, grid[0], grid[1], grid[2]);
}

repmlp_status rm_gemm_core_prepare(repmlp_context *ctx, const rm_gemm_core *c, uint32_t *spec,
                                   uint32_t spec_count, rm_dispatch *out) {
    memset(out, 0, sizeof *out);
    const rm_gemm_kernel_variant *v;
    uint64_t grid[3];
    repmlp_status st = rm_gemm_core_plan(ctx, c, &v, spec, grid);
    if (st != REPMLP_OK) return st;
    char what[128];
    snprintf(what, sizeof what, "%s M=%u N=%u g=%u", c->name, c->M, c->NO, c->groups);

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
    spec[RM_SPEC_W_HALF] = c->w16 ? 1u : 0u;

    st = rm_pipeline_get(ctx, v->shader, spec, spec_count, &out->pipeline);
    if (st != REPMLP_OK) return st;
    out->half_mask = v->path == RM_OPERAND_TEXEL && c->w16 ? 1u << 1 : 0;
    for (int i = 0; i < 3; i++) out->groups[i] = (uint32_t)grid[i];
    uint32_t push[RM_GEMM_PUSH_WORDS] = {[RM_PUSH_M] = c->M};
    memcpy(out->push, push, sizeof push);
    out->push_size = sizeof push;
    out->operand_mask = 1u << RM_GEMM_X | 1u << RM_GEMM_W | 1u << RM_GEMM_Y |
                        (c->has_addend ? 1u << RM_GEMM_V : 0) |
                        (c->ep.has_scale ? 1u << RM_GEMM_S : 0) |
                        (c->ep.has_residual ? 1u << RM_GEMM_R : 0);
    if (v->path == RM_OPERAND_TEXEL) return REPMLP_OK;
    /* A weight larger than one binding may span runs in parts over ranges of panel blocks;
     * the grid must then be (panels, row tiles, groups), which the part offsets address. */
    st = split(ctx, c, what, grid[0], grid[1], out);
    if (st == REPMLP_OK && out->part_count && !panel_grid(v->algorithm))
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "%s: kernel %s cannot run a weight cut into %u parts (its workgroups span "
                       "several panels)",
                       what, rm_shader(v->shader)->name, out->part_count);
    return st;
}

/* Cuts a storage-buffer weight larger than one binding may span into parts: ranges of whole
 * panel blocks, whole groups when a group fits, else panels of one group. */
static repmlp_status split(const repmlp_context *ctx, const rm_gemm_core *c, const char *what,
                           uint64_t panels, uint64_t gy, rm_dispatch *out) {
    const rm_device_caps *caps = &ctx->caps;
    uint64_t block = rm_gemm_block_bytes(c->K, c->run, c->w16);
    uint64_t limit = c->split_bytes ? c->split_bytes : caps->max_storage_buffer_range;
    if (limit > UINT32_MAX) limit = UINT32_MAX; /* the kernels index W in 32 bits */
    if (block > limit)
        return rm_fail(REPMLP_ERROR_TOO_LARGE,
                       "%s: one weight panel block of %llu bytes (K=%u) exceeds the %llu bytes a "
                       "binding may span (maxStorageBufferRange, profile %s)",
                       what, (unsigned long long)block, c->K, (unsigned long long)limit,
                       caps->profile);
    uint64_t per = limit / block, total = panels * c->groups;
    uint32_t test_parts = rm_test_hook(ctx, weight_split_parts);
    if (test_parts && rm_div_up(total, test_parts) < per) per = rm_div_up(total, test_parts);
    if (total <= per) return REPMLP_OK;
    /* Whole groups per part when a group fits, else a group's panels in per-block ranges. */
    uint64_t gpp = per >= panels ? per / panels : 0;
    uint64_t ppg = gpp ? 1 : rm_div_up(panels, per);
    uint64_t parts = gpp ? rm_div_up(c->groups, gpp) : ppg * c->groups;
    if (parts > RM_MAX_PARTS)
        return rm_fail(REPMLP_ERROR_TOO_LARGE,
                       "%s: a weight of %llu bytes needs %llu dispatches of at most %llu bytes "
                       "(maxStorageBufferRange, profile %s); at most %d are supported",
                       what, (unsigned long long)(total * block), (unsigned long long)parts,
                       (unsigned long long)limit, caps->profile, RM_MAX_PARTS);
    for (uint64_t i = 0; i < parts; i++) {
        uint64_t g0, p0, gcount, pcount;
        if (gpp) {
            g0 = i * gpp;
            gcount = c->groups - g0 < gpp ? c->groups - g0 : gpp;
            p0 = 0;
            pcount = panels;
        } else {
            g0 = i / ppg;
            gcount = 1;
            p0 = i % ppg * per;
            pcount = panels - p0 < per ? panels - p0 : per;
        }
        rm_dispatch_part *p = &out->parts[i];
        p->groups[0] = (uint32_t)pcount;
        p->groups[1] = (uint32_t)gy;
        p->groups[2] = (uint32_t)gcount;
        p->first[0] = (uint32_t)g0;
        p->first[1] = (uint32_t)p0;
        p->offset = (g0 * panels + p0) * block;
        p->range = (gcount > 1 ? gcount * panels : pcount) * block;
    }
    out->part_count = (uint32_t)parts;
    out->part_binding = 1;
    out->part_push = RM_PUSH_G0;
    return REPMLP_OK;
}

repmlp_status rm_gemm_core_bindings(const repmlp_context *ctx, rm_dispatch *d, const char *name,
                                    const rm_binding operands[RM_GEMM_OPERANDS],
                                    rm_binding bindings[RM_MAX_BINDINGS]) {
    static const int aux_operand[3] = {RM_GEMM_V, RM_GEMM_S, RM_GEMM_R};
    static const int aux_word[3] = {RM_PUSH_V_OFF, RM_PUSH_S_OFF, RM_PUSH_R_OFF};
    static const char *const aux_name[3] = {"V", "S", "R"};
    bool texel = rm_shader(d->pipeline->shader)->texel_mask != 0;
    bindings[0] = operands[RM_GEMM_X];
    bindings[1] = operands[RM_GEMM_W];
    bindings[2] = operands[RM_GEMM_Y];
    bindings[4] = operands[RM_GEMM_V]; /* texel variant: V through its own view */
    /* AUX: the window of one buffer covering what the kernel reads through it. */
    const rm_binding *first = NULL;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < 3; i++) {
        const rm_binding *o = &operands[aux_operand[i]];
        if (!((d->operand_mask >> aux_operand[i]) & 1) || (texel && aux_operand[i] == RM_GEMM_V))
            continue;
        if (!o->buffer || !o->range)
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: operand %s is empty", name,
                           aux_name[i]);
        if (first && o->buffer != first->buffer)
            return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                           "%s: V, S and R are read through one binding (AUX) and must lie in one "
                           "buffer; %s lies in another",
                           name, aux_name[i]);
        if (!first) first = o;
        if (o->offset < lo) lo = o->offset;
        if (o->offset + o->range > hi) hi = o->offset + o->range;
    }
    if (!first) {
        /* Nothing read through AUX: any buffer the caller bound will do. */
        for (int i = 0; i < 3 && !first; i++)
            if (operands[aux_operand[i]].buffer) first = &operands[aux_operand[i]];
        bindings[3] = first ? *first : operands[RM_GEMM_X];
        return REPMLP_OK;
    }
    uint64_t align = ctx->caps.min_storage_buffer_offset_alignment;
    uint64_t base = align ? lo / align * align : lo;
    bindings[3] = (rm_binding){first->buffer, base, hi - base};
    for (int i = 0; i < 3; i++) {
        if (!((d->operand_mask >> aux_operand[i]) & 1) || (texel && aux_operand[i] == RM_GEMM_V))
            continue;
        uint64_t at = operands[aux_operand[i]].offset - base;
        if (at % sizeof(float) || at / sizeof(float) > UINT32_MAX)
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                           "%s: operand %s at byte %llu of its AUX window", name, aux_name[i],
                           (unsigned long long)at);
        uint32_t word = (uint32_t)(at / sizeof(float));
        memcpy(d->push + aux_word[i] * 4, &word, sizeof word);
    }
    return REPMLP_OK;
}
