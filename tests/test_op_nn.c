/* maxpool, affine, gather, batchnorm and the GEMM epilogue (scale through index maps, residual,
 * GELU, sigmoid) vs the C references. */
#include "test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "nn_ref.h"
#include "ops/ops.h"

static double *to_double(const float *x, size_t n) {
    double *d = malloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

static void maxpool_case(uint32_t N, uint32_t C, uint32_t H, uint32_t W, uint32_t k,
                         uint32_t stride, uint32_t pad) {
    uint32_t oh = rm_conv_out_size(H, k, stride, pad), ow = rm_conv_out_size(W, k, stride, pad);
    size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * oh * ow;
    float *x = malloc(nx * 4), *y = malloc(ny * 4);
    double *want = malloc(ny * 8);
    ts_rng rng = ts_rng_make(N + C * 3 + H * 5 + W * 7 + k * 11 + stride * 13 + pad);
    ts_fill(&rng, x, nx, -3.0f, -1.0f); /* all negative: a zero from padding would win */
    double *xd = to_double(x, nx);
    ref_maxpool(xd, N, C, H, W, k, stride, pad, want);
    rm_buffer bx = ts_buffer_from(ts_ctx, x, nx), by = ts_buffer_from(ts_ctx, NULL, ny);
    rm_maxpool_params p = {N, C, H, W, k, stride, pad};
    rm_dispatch d;
    assert_int_equal(rm_maxpool_prepare(ts_ctx, &p, &d), REPMLP_OK);
    rm_binding bind[2] = {ts_bind(&bx), ts_bind(&by)};
    ts_poison(ts_ctx, &by, ny);
    ts_run1(ts_ctx, &d, bind);
    ts_buffer_read(ts_ctx, &by, y, ny);
    double err = ts_max_rel_error(y, want, ny);
    print_message("maxpool N=%u C=%u %ux%u k=%u s=%u p=%u: max rel error %.3g\n", N, C, H, W, k,
                  stride, pad, err);
    assert_true(err == 0.0);
    ts_destroy_buffers(ts_ctx, &bx, &by, NULL);
    free(x);
    free(y);
    free(xd);
    free(want);
}

static void maxpool(void **state) {
    (void)state;
    maxpool_case(1, 3, 112, 112, 3, 2, 1);
    maxpool_case(2, 5, 7, 9, 3, 2, 1);
    maxpool_case(1, 1, 1, 1, 3, 2, 1);
    maxpool_case(3, 2, 13, 6, 2, 2, 0);
    maxpool_case(1, 4, 5, 5, 3, 1, 1);
}

static void affine(void **state) {
    (void)state;
    const uint32_t N = 3, C = 7, HW = 49;
    size_t n = (size_t)N * C * HW;
    float *x = malloc(n * 4), *y = malloc(n * 4), sc[7], sh[7];
    ts_rng rng = ts_rng_make(99);
    ts_fill(&rng, x, n, -2.0f, 2.0f);
    ts_fill(&rng, sc, C, -1.5f, 1.5f);
    ts_fill(&rng, sh, C, -1.0f, 1.0f);
    double *want = to_double(x, n), scd[7], shd[7];
    for (uint32_t c = 0; c < C; c++) scd[c] = sc[c], shd[c] = sh[c];
    ref_affine(want, N, C, HW, scd, shd);
    rm_buffer bx = ts_buffer_from(ts_ctx, x, n), bs = ts_buffer_from(ts_ctx, sc, C);
    rm_buffer bh = ts_buffer_from(ts_ctx, sh, C), by = ts_buffer_from(ts_ctx, NULL, n);
    rm_affine_params p = {N, C, HW};
    rm_dispatch d;
    assert_int_equal(rm_affine_prepare(ts_ctx, &p, &d), REPMLP_OK);
    rm_binding bind[4] = {ts_bind(&bx), ts_bind(&bs), ts_bind(&bh), ts_bind(&by)};
    ts_poison(ts_ctx, &by, n);
    ts_run1(ts_ctx, &d, bind);
    ts_buffer_read(ts_ctx, &by, y, n);
    double err = ts_max_rel_error(y, want, n);
    print_message("affine N=%u C=%u HW=%u: max rel error %.3g\n", N, C, HW, err);
    assert_true(err < 1e-7);
    ts_destroy_buffers(ts_ctx, &bx, &bs, &bh, &by, NULL);
    free(x);
    free(y);
    free(want);
}

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
    double *xd = to_double(x, nx), *wd = to_double(w, nw), *bd = to_double(b, NO);
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
    double *want = to_double(x, M);
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

/* Eval-mode BatchNorm from its four tensors (+ residual) vs double arithmetic. */
static void batchnorm_case(uint32_t N, uint32_t C, uint32_t HW, bool residual) {
    size_t n = (size_t)N * C * HW;
    float *x = malloc(n * 4), *r = malloc(n * 4), *y = malloc(n * 4);
    float *gamma = malloc(C * 4), *beta = malloc(C * 4), *mean = malloc(C * 4),
          *var = malloc(C * 4);
    ts_rng rng = ts_rng_make(N * 3 + C * 5 + HW * 7 + residual);
    ts_fill(&rng, x, n, -2.0f, 2.0f);
    ts_fill(&rng, r, n, -1.0f, 1.0f);
    ts_fill(&rng, gamma, C, 0.5f, 1.5f);
    ts_fill(&rng, beta, C, -0.5f, 0.5f);
    ts_fill(&rng, mean, C, -0.3f, 0.3f);
    ts_fill(&rng, var, C, 0.2f, 2.0f);
    double *want = malloc(n * 8);
    for (size_t i = 0; i < n; i++) {
        size_t c = i / HW % C;
        want[i] = ((double)x[i] - mean[c]) / sqrt((double)var[c] + 1e-5) * gamma[c] + beta[c] +
                  (residual ? r[i] : 0.0);
    }
    /* The four tensors as the model packs them: [gamma | beta | mean | var]. */
    float *block = malloc((size_t)C * 16);
    memcpy(block, gamma, C * 4);
    memcpy(block + C, beta, C * 4);
    memcpy(block + 2 * C, mean, C * 4);
    memcpy(block + 3 * C, var, C * 4);
    rm_buffer bx = ts_buffer_from(ts_ctx, x, n), br = ts_buffer_from(ts_ctx, r, n);
    rm_buffer bp = ts_buffer_from(ts_ctx, block, (size_t)C * 4),
              by = ts_buffer_from(ts_ctx, NULL, n);
    free(block);
    rm_batchnorm_params p = {N, C, HW, residual};
    rm_dispatch d;
    assert_int_equal(rm_batchnorm_prepare(ts_ctx, &p, &d), REPMLP_OK);
    rm_binding bind[4] = {ts_bind(&bx), ts_bind(&bp), ts_bind(&br), ts_bind(&by)};
    ts_poison(ts_ctx, &by, n);
    ts_run1(ts_ctx, &d, bind);
    ts_buffer_read(ts_ctx, &by, y, n);
    double err = ts_max_rel_error(y, want, n);
    print_message("batchnorm N=%u C=%u HW=%u residual=%d: max rel error %.3g\n", N, C, HW, residual,
                  err);
    assert_true(err < 1e-6);
    ts_destroy_buffers(ts_ctx, &bx, &br, &bp, &by, NULL);
    free(x), free(r), free(y), free(gamma), free(beta), free(mean), free(var), free(want);
}

static void batchnorm(void **state) {
    (void)state;
    batchnorm_case(1, 1, 1, false);
    batchnorm_case(3, 7, 49, true);
    batchnorm_case(97, 392, 1, false);
    batchnorm_case(2, 3, 97, true);
}

/* A host mirror of shaders/index_map.glsl. */
static size_t map_at(const rm_index_map *m, size_t i) {
    size_t off = 0;
    for (int d = 0; d < 3; d++) {
        if (!m->radix[d]) return off + i * m->stride[d];
        off += i % m->radix[d] * m->stride[d];
        i /= m->radix[d];
    }
    return off + i * m->stride[3];
}

/* The RepMLP partition split (with the GP's broadcast addend) and merge, as gathers. */
static void gather_case(uint32_t N, uint32_t C, uint32_t H, uint32_t W, uint32_t h, uint32_t w) {
    uint32_t hp = H / h, wp = W / w, rows = N * hp * wp, cols = C * h * w;
    size_t n = (size_t)N * C * H * W, nv = (size_t)N * C * hp * wp;
    float *x = malloc(n * 4), *v = malloc(nv * 4), *y = malloc(n * 4), *back = malloc(n * 4);
    double *want = malloc(n * 8), *want_back = malloc(n * 8);
    ts_rng rng = ts_rng_make(N + C * 3 + H * 5 + W * 7 + h * 11 + w * 13);
    ts_fill(&rng, x, n, -1.0f, 1.0f);
    ts_fill(&rng, v, nv, -1.0f, 1.0f);
    rm_gather_params split = {rows,
                              cols,
                              true,
                              {{wp, hp, 0}, {w, h * W, C * H * W, 0}},
                              {{w, h, 0}, {1, W, H * W, 0}},
                              {{wp, hp, 0}, {1, wp, C * hp * wp, 0}},
                              {{w, h, 0}, {0, 0, hp * wp, 0}}};
    /* merge: the split's output (n, ip, jp, c, y, x) back to (N, C, H, W), addend dropped */
    rm_gather_params merge = {.rows = N * C,
                              .cols = H * W,
                              .x_rows = {{C, 0, 0}, {h * w, hp * wp * cols, 0, 0}},
                              .x_cols = {{w, wp, h}, {1, cols, w, wp * cols}}};
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            want[r * cols + c] = (double)x[map_at(&split.x_rows, r) + map_at(&split.x_cols, c)] +
                                 v[map_at(&split.v_rows, r) + map_at(&split.v_cols, c)];
    for (size_t i = 0; i < n; i++) {
        size_t nn = i / ((size_t)C * H * W), c = i / ((size_t)H * W) % C, yy = i / W % H,
               xx = i % W;
        size_t row = (nn * hp + yy / h) * wp + xx / w, col = (c * h + yy % h) * w + xx % w;
        want_back[i] = want[row * cols + col];
    }
    rm_buffer bx = ts_buffer_from(ts_ctx, x, n), bv = ts_buffer_from(ts_ctx, v, nv);
    rm_buffer by = ts_buffer_from(ts_ctx, NULL, n), bb = ts_buffer_from(ts_ctx, NULL, n);
    rm_dispatch d[2];
    assert_int_equal(rm_gather_prepare(ts_ctx, &split, &d[0]), REPMLP_OK);
    assert_int_equal(rm_gather_prepare(ts_ctx, &merge, &d[1]), REPMLP_OK);
    rm_binding b0[3] = {ts_bind(&bx), ts_bind(&bv), ts_bind(&by)};
    rm_binding b1[3] = {ts_bind(&by), ts_bind(&bv), ts_bind(&bb)};
    const rm_binding *binds[2] = {b0, b1};
    ts_poison(ts_ctx, &by, n);
    ts_poison(ts_ctx, &bb, n);
    ts_run(ts_ctx, d, binds, 2);
    ts_buffer_read(ts_ctx, &by, y, n);
    ts_buffer_read(ts_ctx, &bb, back, n);
    double err = ts_max_rel_error(y, want, n), err_back = ts_max_rel_error(back, want_back, n);
    print_message("gather N=%u C=%u %ux%u part %ux%u: split error %.3g, merge error %.3g\n", N, C,
                  H, W, h, w, err, err_back);
    assert_true(err < 1e-7 && err_back < 1e-7);
    ts_destroy_buffers(ts_ctx, &bx, &bv, &by, &bb, NULL);
    free(x), free(v), free(y), free(back), free(want), free(want_back);
}

static void gather(void **state) {
    (void)state;
    gather_case(1, 1, 1, 1, 1, 1);
    gather_case(2, 3, 14, 14, 7, 7);
    gather_case(3, 5, 6, 10, 3, 5);
    gather_case(1, 7, 49, 7, 7, 7);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(maxpool),   cmocka_unit_test(affine),
                                       cmocka_unit_test(epilogues), cmocka_unit_test(gelu_range),
                                       cmocka_unit_test(batchnorm), cmocka_unit_test(gather)};
    return ts_exit_code(
        cmocka_run_group_tests(tests, ts_group_context_open, ts_group_context_close));
}
