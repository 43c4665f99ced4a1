#include "core/error.h"
#include "ops/gemm_core.h"

uint32_t rm_conv_out_size(uint32_t in, uint32_t k, uint32_t stride, uint32_t pad) {
    return (in + 2 * pad - k) / stride + 1;
}

/* A 1x1, stride-1, unpadded conv is a GEMM over rows (n, pixel) with strided columns. */
static repmlp_status prepare_pointwise(repmlp_context *ctx, const rm_conv_params *p,
                                       rm_dispatch *out) {
    uint32_t hw = p->H * p->W;
    rm_gemm_params g = {
        .M = p->N * hw,
        .K = p->C / p->groups,
        .NO = p->O / p->groups,
        .groups = p->groups,
        .a_rows = {{hw, 0, 0}, {1, p->C * hw, 0, 0}},
        .a_cols = rm_map_stride(hw),
        .y_rows = {{hw, 0, 0}, {1, p->O * hw, 0, 0}},
        .y_cols = rm_map_stride(hw),
        .ep = p->ep,
        .variant = p->variant,
        .tile_m = p->tile_m,
        .w16 = p->w16,
        .split_bytes = p->split_bytes,
    };
    /* A forced conv kernel runs as its gemm twin (same columns in shaders/shader_list.h). */
    const rm_gemm_kernel_variant *f = p->force;
    if (f) {
        g.force = rm_gemm_kernel_variant_find(RM_GEMM_KERNEL_GEMM, f->path, f->weights,
                                              f->algorithm, f->tile_m);
        if (!g.force)
            return rm_fail(REPMLP_ERROR_UNSUPPORTED, "conv: kernel %s has no gemm twin",
                           rm_shader(f->shader)->name);
    }
    return rm_gemm_prepare(ctx, &g, out);
}

repmlp_status rm_conv_prepare(repmlp_context *ctx, const rm_conv_params *p, rm_dispatch *out) {
    if (!p->N || !p->C || !p->O || !p->kh || !p->kw || !p->sh || !p->sw || !p->groups ||
        p->C % p->groups || p->O % p->groups || p->H + 2 * p->ph < p->kh ||
        p->W + 2 * p->pw < p->kw || p->ep.has_scale)
        return rm_fail(
            REPMLP_ERROR_INVALID_ARGUMENT,
            "conv: C=%u O=%u groups=%u kernel %ux%u stride %ux%u pad %ux%u on %ux%u is not "
            "a valid convolution",
            p->C, p->O, p->groups, p->kh, p->kw, p->sh, p->sw, p->ph, p->pw, p->H, p->W);
    if ((uint64_t)p->H * p->W * p->C >= (1u << 31) ||
        (uint64_t)p->N * p->C * p->H * p->W >= UINT32_MAX)
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "conv: input (%u, %u, %u, %u) is too large", p->N,
                       p->C, p->H, p->W);
    if (p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 && p->ph == 0 && p->pw == 0)
        return prepare_pointwise(ctx, p, out);
    /* conv.comp keeps a row's first tap (oy * sh, ox * sw) in 16 bits each. */
    if ((uint64_t)p->H + 2 * (uint64_t)p->ph > 0xffff ||
        (uint64_t)p->W + 2 * (uint64_t)p->pw > 0xffff)
        return rm_fail(REPMLP_ERROR_TOO_LARGE,
                       "conv: padded input %ux%u is too large (at most 65535 a side)",
                       p->H + 2 * p->ph, p->W + 2 * p->pw);
    uint32_t oh = rm_conv_out_size(p->H, p->kh, p->sh, p->ph);
    uint32_t ow = rm_conv_out_size(p->W, p->kw, p->sw, p->pw);
    uint32_t cg = p->C / p->groups, ohw = oh * ow;
    rm_gemm_core c = {
        .name = "conv",
        .kernel = RM_GEMM_KERNEL_CONV,
        .w16 = p->w16,
        .variant = p->variant,
        .tile_m = p->tile_m,
        .force = p->force,
        .M = p->N * ohw,
        .K = cg * p->kh * p->kw,
        .NO = p->O / p->groups,
        .groups = p->groups,
        .ep = p->ep,
        .y_rows = {{ohw, 0, 0}, {1, p->O * ohw, 0, 0}},
        .y_cols = rm_map_stride(ohw),
        .split_bytes = p->split_bytes,
        .max_read = {(uint64_t)p->N * p->C * p->H * p->W, 0, 0},
    };
    uint32_t spec[RM_SPEC_CONV + RM_SPEC_CONV_COUNT] = {0};
    uint32_t own[RM_SPEC_CONV_COUNT] = {cg,    p->C,  p->H,  p->W,  p->kh, p->kw,
                                        p->sh, p->sw, p->ph, p->pw, oh,    ow};
    for (int i = 0; i < RM_SPEC_CONV_COUNT; i++) spec[RM_SPEC_CONV + i] = own[i];
    return rm_gemm_core_prepare(ctx, &c, spec, RM_SPEC_CONV + RM_SPEC_CONV_COUNT, out);
}

uint64_t rm_conv_flops(const rm_conv_params *p) {
    uint64_t out = (uint64_t)p->N * p->O * rm_conv_out_size(p->H, p->kh, p->sh, p->ph) *
                   rm_conv_out_size(p->W, p->kw, p->sw, p->pw);
    return 2ull * out * (p->C / p->groups) * p->kh * p->kw;
}

repmlp_status rm_conv_bindings(const repmlp_context *ctx, rm_dispatch *d, const char *label,
                               const rm_binding *operands, rm_binding *bindings) {
    return rm_gemm_core_bindings(ctx, d, label, operands, bindings);
}
