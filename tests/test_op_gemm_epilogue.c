/* The GEMM epilogue vs the C references: a scale read through its own index maps, a residual,
 * bias and every activation (GELU over a wide range against erf). */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "nn_ref.h"
#include "ops/ops.h"

/* y[m, n] = act((x @ w^T + b)[m, n] * s[m / per_scale_row, n] + r[m, n]): the scale is read
 * through its own maps, here a gate per (row block, column) as RepMLPNet's uses per
 * (image, channel). */
static void epilogue_case(uint32_t M, uint32_t K, uint32_t NO, uint32_t rows_per_scale,
                          rm_activation act, rm_gemm_variant variant) {
    size_t nx = (size_t)M * K, nw = (size_t)NO * K, ny = (size_t)M * NO;
    uint32_t srows = (M + rows_per_scale - 1) / rows_per_scale;
    size_t ns = (size_t)srows * NO;
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(NO * 4), *s = malloc(ns * 4);
    float *r = malloc(ny * 4), *y = malloc(ny * 4);
    ts_rng rng = ts_rng_make(M * 7 + K + NO * 3 + rows_per_scale + act);
    ts_fill(&rng, x, nx, -1.0f, 1.0f);
    ts_fill(&rng, w, nw, -0.5f, 0.5f);
    ts_fill(&rng, b, NO, -0.5f, 0.5f);
    ts_fill(&rng, s, ns, 0.0f, 1.0f);
    ts_fill(&rng, r, ny, -1.0f, 1.0f);
    double *xd = ts_to_double(x, nx), *wd = ts_to_double(w, nw), *bd = ts_to_double(b, NO);
    double *want = malloc(ny * 8);
    ref_linear(xd, M, K, wd, bd, NO, REF_ACT_NONE, want);
    for (uint32_t m = 0; m < M; m++)
        for (uint32_t n = 0; n < NO; n++) {
            double *v = &want[(size_t)m * NO + n];
            *v = *v * s[(m / rows_per_scale) * NO + n] + r[(size_t)m * NO + n];
        }
    ref_activate(want, ny, (ref_act)act);
    rm_buffer bx = ts_buffer_from(ts_ctx, x, nx), bw = ts_weight_buffer(ts_ctx, w, b, 1, NO, K);
    rm_buffer by = ts_buffer_from(ts_ctx, NULL, ny);
    /* S and R share one buffer, as in a session's arena: S, then R at a 256-byte boundary. */
    size_t at_r = (ns + 63) / 64 * 64;
    float *sr = malloc((at_r + ny) * 4);
    memcpy(sr, s, ns * 4);
    memcpy(sr + at_r, r, ny * 4);
    rm_buffer bsr = ts_buffer_from(ts_ctx, sr, at_r + ny);
    free(sr);
    rm_gemm_params p = {
        .M = M,
        .K = K,
        .NO = NO,
        .groups = 1,
        .a_rows = rm_map_stride(K),
        .a_cols = rm_map_stride(1),
        .y_rows = rm_map_stride(NO),
        .y_cols = rm_map_stride(1),
        .ep = {.has_bias = true,
               .has_scale = true,
               .has_residual = true,
               .act = act,
               .s_rows = {{rows_per_scale, 0, 0}, {0, NO, 0, 0}},
               .s_cols = rm_map_stride(1)},
        .variant = variant,
    };
    rm_dispatch d;
    assert_int_equal(rm_gemm_prepare(ts_ctx, &p, &d), REPMLP_OK);
    rm_binding ops[RM_GEMM_OPERANDS] = {ts_bind(&bx),
                                        ts_bind(&bw),
                                        ts_bind(&bx),
                                        ts_bind(&by),
                                        ts_bind(&bx),
                                        {bsr.buffer, 0, ns * 4},
                                        {bsr.buffer, at_r * 4, ny * 4}};
    rm_binding bind[RM_MAX_BINDINGS];
    ts_gemm_bindings(ts_ctx, &d, ops, bind);
    ts_poison(ts_ctx, &by, ny);
    ts_run1(ts_ctx, &d, bind);
    ts_buffer_read(ts_ctx, &by, y, ny);
    double err = ts_max_rel_error(y, want, ny);
    print_message("epilogue M=%u K=%u N=%u rows/scale=%u act=%d: max rel error %.3g\n", M, K, NO,
                  rows_per_scale, act, err);
    assert_true(err < 2e-6); /* worst measured 1.8e-7 */
    ts_destroy_buffers(ts_ctx, &bx, &bw, &bsr, &by, NULL);
    free(x);
    free(w);
    free(b);
    free(s);
    free(r);
    free(y);
    free(xd);
    free(wd);
    free(bd);
    free(want);
}

static void epilogues(void **state) {
    (void)state;
    epilogue_case(49, 13, 7, 7, RM_ACT_NONE, RM_GEMM_STORAGE);
    epilogue_case(50, 9, 33, 5, RM_ACT_GELU, RM_GEMM_STORAGE);
    epilogue_case(3, 97, 3, 1, RM_ACT_SIGMOID, RM_GEMM_STORAGE);
    epilogue_case(97, 8, 16, 97, RM_ACT_RELU, RM_GEMM_TEXEL);
    epilogue_case(20, 40, 30, 4, RM_ACT_GELU, RM_GEMM_TEXEL);
}

/* GELU over a wide range against erf in double: the shader's erf approximation. */
static void gelu_range(void **state) {
    (void)state;
    const uint32_t M = 1001;
    float x[1001], w = 1.0f, b = 0.0f, y[1001];
    for (uint32_t i = 0; i < M; i++) x[i] = -10.0f + 20.0f * (float)i / (float)(M - 1);
    double *want = ts_to_double(x, M);
    ref_activate(want, M, REF_ACT_GELU);
    rm_buffer bx = ts_buffer_from(ts_ctx, x, M), bw = ts_weight_buffer(ts_ctx, &w, &b, 1, 1, 1);
    rm_buffer by = ts_buffer_from(ts_ctx, NULL, M);
    rm_gemm_params p = {.M = M,
                        .K = 1,
                        .NO = 1,
                        .groups = 1,
                        .a_rows = rm_map_stride(1),
                        .a_cols = rm_map_stride(1),
                        .y_rows = rm_map_stride(1),
                        .y_cols = rm_map_stride(1),
                        .ep = {.act = RM_ACT_GELU}};
    rm_dispatch d;
    assert_int_equal(rm_gemm_prepare(ts_ctx, &p, &d), REPMLP_OK);
    rm_binding ops[RM_GEMM_OPERANDS] = {ts_bind(&bx), ts_bind(&bw), ts_bind(&bx), ts_bind(&by),
                                        ts_bind(&bx), ts_bind(&bx), ts_bind(&bx)};
    rm_binding bind[RM_MAX_BINDINGS];
    ts_gemm_bindings(ts_ctx, &d, ops, bind);
    ts_poison(ts_ctx, &by, M);
    ts_run1(ts_ctx, &d, bind);
    ts_buffer_read(ts_ctx, &by, y, M);
    /* An absolute bound (GELU's outputs go through 0); a NaN or Inf anywhere fails. */
    ref_comparison c = ref_compare_f32(y, want, M);
    print_message("GELU on [-10, 10]: max abs error %.3g, %zu non-finite\n", c.max_abs,
                  c.nonfinite);
    assert_int_equal(c.nonfinite, 0);
    assert_true(c.max_abs < 2e-6);
    ts_destroy_buffers(ts_ctx, &bx, &bw, &by, NULL);
    free(want);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(epilogues), cmocka_unit_test(gelu_range)};
    return ts_exit_code(ts_run_group(tests, ts_group_context_open, ts_group_context_close));
}
