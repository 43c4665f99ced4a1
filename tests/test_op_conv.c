/* conv (implicit GEMM) vs the C reference: the kernel shapes the networks use (7x7/s2/p3
 * stem, 3x3/p1 with stride 1 and 2, 1x1 pointwise and strided, 2x2/s2 and 4x4/s4 patch
 * embeddings), grouped convs, odd sizes, bias, activations and a residual, with both operand
 * variants. Built once per algorithm like test_op_gemm (TS_GEMM_ALGORITHM). */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>

#include "nn_ref.h"
#include "ops/ops.h"

static rm_gemm_variant variant;

typedef struct conv_case {
    uint32_t N, C, H, W, O, k, stride, pad, groups;
    rm_activation act;
    bool bias, residual;
    uint32_t kw, sw; /* 0: square (k, stride) */
} conv_case;

static void check(const conv_case *t) {
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
    for (size_t i = 0; i < nw; i++) wd[i] = w[i];
    for (size_t i = 0; i < t->O; i++) bd[i] = b[i];
    ref_conv2d_rect(xd, t->N, t->C, t->H, t->W, wd, t->bias ? bd : NULL, t->O, t->k, kw, t->stride,
                    sw, t->pad, t->pad, t->groups, REF_ACT_NONE, want);
    for (size_t i = 0; i < ny; i++) want[i] += t->residual ? r[i] : 0.0;
    ref_activate(want, ny, (ref_act)t->act);

    rm_buffer bx = ts_buffer_from(ts_ctx, x, nx),
              bw = ts_weight_buffer(ts_ctx, w, t->groups, t->O / t->groups, (uint32_t)(nw / t->O));
    rm_buffer bb = ts_buffer_from(ts_ctx, b, t->O), br = ts_buffer_from(ts_ctx, r, ny);
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
                        .variant = variant};
    rm_binding bind[7] = {ts_bind(&bx), ts_bind(&bw), ts_bind(&bb), ts_bind(&by),
                          ts_bind(&bx), ts_bind(&bx), ts_bind(&br)};
    ts_gemm_run runs[TS_GEMM_RUNS];
    size_t nruns = ts_gemm_runs(TS_ALGORITHM, RM_GEMM_KERNEL_CONV, variant, false, runs);
    for (size_t i = 0; i < nruns; i++) {
        p.tile_m = runs[i].tile_m;
        p.force = runs[i].force;
        rm_dispatch d;
        char what[160];
        snprintf(what, sizeof what,
                 "conv %s N=%u C=%u %ux%u O=%u k=%u s=%u p=%u g=%u act=%d bias=%d res=%d",
                 variant == RM_GEMM_TEXEL ? "texel" : "storage", t->N, t->C, t->H, t->W, t->O, t->k,
                 t->stride, t->pad, t->groups, t->act, t->bias, t->residual);
        if (!ts_gemm_prepare_run(rm_conv_prepare(ts_ctx, &p, &d), &runs[i], what)) continue;
        double err = ts_run_compare(ts_ctx, &d, bind, &by, y, want, ny, NULL);
        print_message("%s %s: max rel error %.3g\n", what, runs[i].name, err);
        /* fp32: worst measured 7.3e-7, both drivers (2026-11-30) */
        ts_gemm_check_error(TS_ALGORITHM, err, 5e-6, (t->C / t->groups) * t->k * kw, ny);
    }
    ts_destroy_buffers(ts_ctx, &bx, &bw, &bb, &br, &by, NULL);
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

static void shapes(void **state) {
    variant = *(rm_gemm_variant *)*state;
    ts_gemm_require(TS_ALGORITHM, RM_GEMM_KERNEL_CONV, variant, false);
    static const conv_case cases[] = {
        {1, 3, 31, 29, 8, 7, 2, 3, 1, RM_ACT_RELU, true, false, 0, 0},  /* stem */
        {2, 5, 7, 9, 7, 3, 1, 1, 1, RM_ACT_RELU, true, false, 0, 0},    /* 3x3 p1 */
        {1, 6, 13, 13, 9, 3, 2, 1, 3, RM_ACT_NONE, true, false, 0, 0},  /* strided, grouped */
        {2, 12, 7, 7, 20, 1, 1, 0, 1, RM_ACT_NONE, true, true, 0, 0},   /* pointwise + residual */
        {1, 8, 9, 7, 4, 1, 2, 0, 2, RM_ACT_NONE, false, false, 0, 0},   /* strided pointwise */
        {3, 4, 8, 6, 16, 1, 1, 0, 1, RM_ACT_GELU, true, false, 0, 0},   /* ffn_fc1 */
        {1, 3, 16, 12, 8, 4, 4, 0, 1, RM_ACT_RELU, true, false, 0, 0},  /* patch embedding */
        {2, 8, 10, 6, 16, 2, 2, 0, 1, RM_ACT_RELU, true, false, 0, 0},  /* stage embedding */
        {1, 1, 1, 1, 1, 1, 1, 0, 1, RM_ACT_SIGMOID, true, false, 0, 0}, /* 1x1x1 */
        {1, 2, 3, 3, 3, 5, 1, 2, 1, RM_ACT_NONE, true, true, 0, 0},     /* kernel > map */
        {1, 97, 5, 3, 49, 3, 1, 1, 1, RM_ACT_RELU, true, true, 0, 0},   /* odd channel counts */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check(&cases[i]);
}

static void errors(void **state) {
    (void)state;
    rm_dispatch d;
    rm_conv_params p = {1, 6, 8, 8, 9, 3, 3, 1, 1, 1, 1, 4, .ep = {0}}; /* 6 % 4 != 0 */
    assert_int_equal(rm_conv_prepare(ts_ctx, &p, &d), REPMLP_ERROR_INVALID_ARGUMENT);
    /* 7x7 kernel over 2x2 + 2*1 padding */
    rm_conv_params q = {1, 4, 2, 2, 4, 7, 7, 1, 1, 1, 1, 1, .ep = {0}};
    assert_int_equal(rm_conv_prepare(ts_ctx, &q, &d), REPMLP_ERROR_INVALID_ARGUMENT);
}

int main(void) {
    static rm_gemm_variant storage = RM_GEMM_STORAGE, texel = RM_GEMM_TEXEL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(shapes, &storage),
        cmocka_unit_test_prestate(shapes, &texel),
        cmocka_unit_test(errors),
    };
    return ts_exit_code(
        cmocka_run_group_tests(tests, ts_group_context_open, ts_group_context_close));
}
