/* The conv cases shared by test_op_conv (the built-in kernels at every row tile) and
 * test_op_conv_variants (every conv row of the other algorithms, forced); see conv_cases.h. */
#include "conv_cases.h"

#include <stdlib.h>

#include "nn_ref.h"

rm_gemm_variant ts_conv_variant;
bool ts_conv_split;
const rm_gemm_kernel_variant *ts_conv_forced;

/* fp32 sums: worst measured 1.0e-6 (ts_conv_forced rows), 7.3e-7 (tiles); fp16 products
 * (SHARED_F16, COOPMAT_NV): 2-6e-4 on lavapipe. */
static double tolerance(void) {
    bool fp16_math = ts_conv_forced && (ts_conv_forced->algorithm == RM_GEMM_ALGORITHM_SHARED_F16 ||
                                        ts_conv_forced->algorithm == RM_GEMM_ALGORITHM_COOPMAT_NV);
    return fp16_math ? 3e-3 : 5e-6;
}

void ts_conv_check(const ts_conv_case *t) {
    const uint32_t kw = t->kw ? t->kw : t->k, sw = t->sw ? t->sw : t->stride;
    uint32_t oh = rm_conv_out_size(t->H, t->k, t->stride, t->pad);
    uint32_t ow = rm_conv_out_size(t->W, kw, sw, t->pad);
    size_t nx = (size_t)t->N * t->C * t->H * t->W,
           nw = (size_t)t->O * (t->C / t->groups) * t->k * kw;
    size_t ny = (size_t)t->N * t->O * oh * ow;
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(t->O * 4), *r = malloc(ny * 4);
    float *y = malloc(ny * 4);
    double *xd = malloc(nx * 8), *wd = malloc(nw * 8), *bd = malloc(t->O * 8),
           *want = malloc(ny * 8);
    ts_rng rng = ts_rng_make(t->N * 3 + t->C * 5 + t->H * 7 + t->O * 11 + t->k * 13 + t->stride +
                             t->groups * 17 + t->act);
    ts_fill(&rng, x, nx, -1.0f, 1.0f);
    ts_fill(&rng, w, nw, -0.5f, 0.5f);
    ts_fill(&rng, b, t->O, -0.5f, 0.5f);
    ts_fill(&rng, r, ny, -1.0f, 1.0f);
    for (size_t i = 0; i < nx; i++) xd[i] = x[i];
    bool w16 = ts_conv_forced && ts_conv_forced->weights == RM_GEMM_WEIGHTS_F16;
    for (size_t i = 0; i < nw; i++) wd[i] = w16 ? rm_f16_to_f32(rm_f32_to_f16(w[i])) : w[i];
    for (size_t i = 0; i < t->O; i++) bd[i] = b[i];
    ref_conv2d_rect(xd, t->N, t->C, t->H, t->W, wd, t->bias ? bd : NULL, t->O, t->k, kw, t->stride,
                    sw, t->pad, t->pad, t->groups, REF_ACT_NONE, want);
    for (size_t i = 0; i < ny; i++) want[i] += t->residual ? r[i] : 0.0;
    ref_activate(want, ny, (ref_act)t->act);

    uint32_t K = (uint32_t)(nw / t->O), NO = t->O / t->groups;
    rm_buffer bx = ts_buffer_from(ts_ctx, x, nx), bw;
    if (w16) {
        uint64_t np = rm_gemm_packed_count(t->groups, NO, K, 0, true);
        float *scratch = malloc(rm_gemm_block_rows(K, 0, false) * RM_GEMM_PANEL * 4);
        uint16_t *packed = malloc(np * 2);
        assert_true(rm_gemm_pack_f16(w, b, t->groups, NO, K, 0, scratch, packed));
        bw = ts_buffer_from(ts_ctx, (const float *)packed, (size_t)np / 2);
        free(scratch);
        free(packed);
    } else {
        bw = ts_weight_buffer(ts_ctx, w, b, t->groups, NO, K);
    }
    rm_buffer br = ts_buffer_from(ts_ctx, r, ny);
    rm_buffer by = ts_buffer_from(ts_ctx, NULL, ny);
    rm_conv_params p = {.N = t->N,
                        .C = t->C,
                        .H = t->H,
                        .W = t->W,
                        .O = t->O,
                        .kh = t->k,
                        .kw = kw,
                        .sh = t->stride,
                        .sw = sw,
                        .ph = t->pad,
                        .pw = t->pad,
                        .groups = t->groups,
                        .ep = {.has_bias = t->bias, .has_residual = t->residual, .act = t->act},
                        .variant = ts_conv_variant,
                        .w16 = w16,
                        .force = ts_conv_forced,
                        /* ts_conv_split: one weight block per dispatch */
                        .split_bytes =
                            ts_conv_split ? rm_gemm_block_bytes((uint32_t)(nw / t->O), 0, w16) : 0};
    uint32_t blocks = t->groups * ((t->O / t->groups + RM_GEMM_PANEL - 1) / RM_GEMM_PANEL);
    /* R is read through AUX; V and S are not read (X stands in). */
    rm_binding ops[RM_GEMM_OPERANDS] = {ts_bind(&bx), ts_bind(&bw), ts_bind(&bx), ts_bind(&by),
                                        ts_bind(&bx), ts_bind(&bx), ts_bind(&br)};
    for (size_t i = 0; i < (ts_conv_forced ? 1 : TS_TILE_COUNT); i++) {
        p.tile_m = ts_conv_forced ? 0 : ts_tiles[i];
        rm_dispatch d;
        repmlp_status st = rm_conv_prepare(ts_ctx, &p, &d);
        if (st != REPMLP_OK) fail_msg("%s", repmlp_last_error());
        if (ts_conv_split) assert_int_equal(d.part_count, blocks > 1 ? blocks : 0);
        rm_binding bind[RM_MAX_BINDINGS];
        ts_gemm_bindings(ts_ctx, &d, ops, bind);
        double err = ts_run_compare(ts_ctx, &d, bind, &by, y, want, ny, NULL);
        print_message("conv %s tile %u N=%u C=%u %ux%u O=%u k=%u s=%u p=%u g=%u act=%d bias=%d "
                      "res=%d parts=%u: max rel error %.3g\n",
                      ts_conv_forced                     ? rm_shader(ts_conv_forced->shader)->name
                      : ts_conv_variant == RM_GEMM_TEXEL ? "texel"
                                                         : "storage",
                      p.tile_m, t->N, t->C, t->H, t->W, t->O, t->k, t->stride, t->pad, t->groups,
                      t->act, t->bias, t->residual, rm_dispatch_sets(&d), err);
        assert_true(err < tolerance());
    }
    ts_destroy_buffers(ts_ctx, &bx, &bw, &br, &by, NULL);
    free(x);
    free(w);
    free(b);
    free(r);
    free(y);
    free(xd);
    free(wd);
    free(bd);
    free(want);
}
