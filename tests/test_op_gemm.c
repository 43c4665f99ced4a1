/* Grouped GEMM shader vs the C reference: sizes that are not tile multiples, several group
 * counts, bias and ReLU on/off, and the partition gather/scatter index maps. Built once per
 * algorithm (TS_GEMM_ALGORITHM, tests/CMakeLists.txt): test_op_gemm runs the register tile
 * at every row tile, the others force every kernel row of their algorithm (ts_gemm_runs). */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/context.h"
#include "ops/ops.h"
#include "nn_ref.h"
#include "ops_ref.h"

/* fp32 sums of up to 3136 products of [-1, 1] values: worst measured 7.9e-7 (fp16-weight
 * cases; 3.4e-7 fp32), both drivers, 2026-11-30. */
#define GEMM_TOLERANCE 5e-6

/* Every case runs with both operand variants, so both kernels are checked on every driver. */
static rm_gemm_variant variant;
static const char *variant_name(void) {
    return variant == RM_GEMM_TEXEL ? "texel" : "storage";
}

static void plain(uint32_t M, uint32_t K, uint32_t NO, uint32_t g, bool bias, bool relu) {
    size_t nx = (size_t)M * g * K, nw = (size_t)g * NO * K, ny = (size_t)M * g * NO;
    float *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w), *b = malloc(g * NO * 4);
    float *y = malloc(ny * sizeof *y);
    double *want = malloc(ny * sizeof *want);
    ts_rng rng = ts_rng_make(M * 7 + K * 131 + NO * 31 + g + bias * 3 + relu);
    ts_fill(&rng, x, nx, -1.0f, 1.0f);
    ts_fill(&rng, w, nw, -1.0f, 1.0f);
    ts_fill(&rng, b, g * NO, -1.0f, 1.0f);
    ref_gemm(x, w, bias ? b : NULL, M, K, NO, g, relu, want);

    rm_buffer bx = ts_buffer_from(ts_ctx, x, nx), bw = ts_weight_buffer(ts_ctx, w, g, NO, K);
    rm_buffer bb = ts_buffer_from(ts_ctx, b, g * NO), by = ts_buffer_from(ts_ctx, NULL, ny);
    rm_gemm_params p = rm_gemm_row_major(M, K, NO, g);
    p.has_bias = bias;
    p.act = relu ? RM_ACT_RELU : RM_ACT_NONE;
    p.variant = variant;
    rm_binding bind[7] = {ts_bind(&bx), ts_bind(&bw), ts_bind(&bb), ts_bind(&by),
                          ts_bind(&bx), ts_bind(&bx), ts_bind(&bx)};
    ts_gemm_run runs[TS_GEMM_RUNS];
    size_t nruns = ts_gemm_runs(TS_ALGORITHM, RM_GEMM_KERNEL_GEMM, variant, false, runs);
    for (size_t t = 0; t < nruns; t++) {
        p.tile_m = runs[t].tile_m;
        p.force = runs[t].force;
        rm_dispatch d;
        char what[96];
        snprintf(what, sizeof what, "gemm %s M=%u K=%u N=%u g=%u", variant_name(), M, K, NO, g);
        if (!ts_gemm_prepare_run(rm_gemm_prepare(ts_ctx, &p, &d), &runs[t], what)) continue;
        double ms, err = ts_run_compare(ts_ctx, &d, bind, &by, y, want, ny, &ms);
        print_message("%s %s bias=%d relu=%d: max rel error %.3g (%.2f ms)\n", what, runs[t].name,
                      bias, relu, err, ms);
        ts_gemm_check_error(TS_ALGORITHM, err, GEMM_TOLERANCE, K, ny);
    }
    ts_destroy_buffers(ts_ctx, &bx, &bw, &bb, &by, NULL);
    free(x);
    free(w);
    free(b);
    free(y);
    free(want);
}

static void odd_sizes(void **state) {
    variant = *(rm_gemm_variant *)*state;
    ts_gemm_require(TS_ALGORITHM, RM_GEMM_KERNEL_GEMM, variant, false);
    plain(1, 1, 1, 1, false, false);
    plain(1, 3, 7, 1, true, false);
    plain(3, 7, 1, 1, true, true);
    plain(7, 49, 97, 1, true, false);
    plain(49, 97, 3, 1, false, true);
    plain(97, 1, 49, 1, true, false);
    plain(3136, 7, 5, 1, true, true);
    plain(33, 64, 33, 1, true, false);
}

static void groups(void **state) {
    variant = *(rm_gemm_variant *)*state;
    ts_gemm_require(TS_ALGORITHM, RM_GEMM_KERNEL_GEMM, variant, false);
    plain(5, 3, 7, 2, true, false);
    plain(49, 49, 49, 4, true, true);
    plain(7, 98, 13, 8, false, false);
    plain(97, 12, 3, 3, true, false);
    plain(2, 1, 1, 64, true, false);
}

/* The RepMLP partition perceptron: the input (N,C,H,W) is read as rows (n,ip,jp) and columns
 * (c,y,x) of (N*hp*wp, C*h*w), and the output is written back as (N,O,H,W), all through index
 * maps; with `addend`, v (N,C,hp,wp) is broadcast-added to each partition on load (the global
 * perceptron). Checked against an explicit add + permute + plain GEMM + inverse permute. */
static void partition_maps(uint32_t N, uint32_t C, uint32_t O, uint32_t H, uint32_t W, uint32_t h,
                           uint32_t w, uint32_t g, bool addend) {
    uint32_t hp = H / h, wp = W / w, M = N * hp * wp;
    uint32_t K = C * h * w / g, NO = O * h * w / g;
    size_t nx = (size_t)N * C * H * W, ny = (size_t)N * O * H * W, nw = (size_t)g * NO * K;
    float *x = malloc(nx * 4), *wt = malloc(nw * 4), *b = malloc((size_t)g * NO * 4);
    float *xp = malloc(nx * 4), *y = malloc(ny * 4);
    size_t nv = (size_t)N * C * hp * wp;
    float *v = malloc(nv * 4);
    double *yp = malloc(ny * 8), *want = malloc(ny * 8);
    ts_rng rng = ts_rng_make(N + C * 3 + O * 5 + H * 7 + W * 11 + h * 13 + w * 17 + g);
    ts_fill(&rng, x, nx, -1.0f, 1.0f);
    ts_fill(&rng, wt, nw, -0.5f, 0.5f);
    ts_fill(&rng, b, (size_t)g * NO, -1.0f, 1.0f);
    ts_fill(&rng, v, nv, -2.0f, 2.0f);
    /* xp = x.reshape(N,C,hp,h,wp,w).permute(0,2,4,1,3,5) */
    for (uint32_t n = 0; n < N; n++)
        for (uint32_t c = 0; c < C; c++)
            for (uint32_t yy = 0; yy < H; yy++)
                for (uint32_t xx = 0; xx < W; xx++) {
                    size_t row = ((size_t)n * hp + yy / h) * wp + xx / w;
                    size_t col = ((size_t)c * h + yy % h) * w + xx % w;
                    float add = addend ? v[(((size_t)n * C + c) * hp + yy / h) * wp + xx / w] : 0;
                    xp[row * C * h * w + col] = x[(((size_t)n * C + c) * H + yy) * W + xx] + add;
                }
    ref_gemm(xp, wt, b, M, K, NO, g, 0, yp);
    for (uint32_t n = 0; n < N; n++)
        for (uint32_t o = 0; o < O; o++)
            for (uint32_t yy = 0; yy < H; yy++)
                for (uint32_t xx = 0; xx < W; xx++) {
                    size_t row = ((size_t)n * hp + yy / h) * wp + xx / w;
                    size_t col = ((size_t)o * h + yy % h) * w + xx % w;
                    want[(((size_t)n * O + o) * H + yy) * W + xx] = yp[row * O * h * w + col];
                }

    rm_buffer bx = ts_buffer_from(ts_ctx, x, nx), bw = ts_weight_buffer(ts_ctx, wt, g, NO, K);
    rm_buffer bb = ts_buffer_from(ts_ctx, b, (size_t)g * NO), by = ts_buffer_from(ts_ctx, NULL, ny);
    rm_gemm_params p = {
        .M = M,
        .K = K,
        .NO = NO,
        .groups = g,
        .has_bias = true,
        .has_addend = addend,
        .variant = variant,
        /* v[n, c, ip, jp]: rows (n, ip, jp) and columns (c, y, x) with y, x broadcast */
        .v_rows = {{wp, hp, 0}, {1, wp, C * hp * wp, 0}},
        .v_cols = {{w, h, 0}, {0, 0, hp * wp, 0}},
        .a_rows = {{wp, hp, 0}, {w, h * W, C * H * W, 0}},
        .a_cols = {{w, h, 0}, {1, W, H * W, 0}},
        .y_rows = {{wp, hp, 0}, {w, h * W, O * H * W, 0}},
        .y_cols = {{w, h, 0}, {1, W, H * W, 0}},
    };
    rm_buffer bv = ts_buffer_from(ts_ctx, v, nv);
    /* With the addend: at every k, and through the weight's run sums (one run per channel). */
    for (uint32_t run = 0; run <= (addend ? h * w : 0); run += h * w) {
        rm_buffer br = ts_weight_buffer_runs(ts_ctx, wt, g, NO, K, run);
        rm_binding bind[7] = {ts_bind(&bx), ts_bind(run ? &br : &bw),
                              ts_bind(&bb), ts_bind(&by),
                              ts_bind(&bv), ts_bind(&bx),
                              ts_bind(&bx)};
        p.addend_run = run;
        ts_gemm_run runs[TS_GEMM_RUNS];
        size_t nruns = ts_gemm_runs(TS_ALGORITHM, RM_GEMM_KERNEL_GEMM, variant, false, runs);
        for (size_t t = 0; t < nruns; t++) {
            p.tile_m = runs[t].tile_m;
            p.force = runs[t].force;
            rm_dispatch d;
            char what[128];
            snprintf(what, sizeof what,
                     "partition gemm %s N=%u C=%u O=%u %ux%u part %ux%u g=%u addend=%d run=%u",
                     variant_name(), N, C, O, H, W, h, w, g, addend, run);
            if (!ts_gemm_prepare_run(rm_gemm_prepare(ts_ctx, &p, &d), &runs[t], what)) continue;
            double err = ts_run_compare(ts_ctx, &d, bind, &by, y, want, ny, NULL);
            print_message("%s %s: max rel error %.3g\n", what, runs[t].name, err);
            ts_gemm_check_error(TS_ALGORITHM, err, GEMM_TOLERANCE, K, ny);
        }
        ts_destroy_buffers(ts_ctx, &br, NULL);
    }
    /* A run that V is not constant over is refused. */
    if (addend && h * w > 1) {
        p.addend_run = w + 1;
        rm_dispatch d;
        assert_int_equal(rm_gemm_prepare(ts_ctx, &p, &d), REPMLP_ERROR_INVALID_ARGUMENT);
    }
    ts_destroy_buffers(ts_ctx, &bx, &bw, &bb, &by, &bv, NULL);
    free(v);
    free(x);
    free(wt);
    free(b);
    free(xp);
    free(y);
    free(yp);
    free(want);
}

static void partitions(void **state) {
    variant = *(rm_gemm_variant *)*state;
    ts_gemm_require(TS_ALGORITHM, RM_GEMM_KERNEL_GEMM, variant, false);
    partition_maps(1, 1, 1, 1, 1, 1, 1, 1, false);
    partition_maps(2, 4, 6, 14, 14, 7, 7, 2, false);
    partition_maps(3, 8, 8, 6, 10, 3, 5, 4, false);
    partition_maps(1, 3, 5, 7, 7, 7, 7, 1, false);
    partition_maps(2, 4, 6, 14, 14, 7, 7, 2, true);
    partition_maps(3, 8, 8, 6, 10, 3, 5, 4, true);
    partition_maps(1, 2, 2, 3, 3, 1, 1, 1, true);
}

/* The full epilogue: y = act((x @ w^T + b) * s[m / rows_per_scale, n] + r), the scale read
 * through its own index maps (a gate per row block and column, as RepMLPNet's per image and
 * channel), the residual at the output's position. */
static void epilogue(uint32_t M, uint32_t K, uint32_t NO, uint32_t rows_per_scale,
                     rm_activation act) {
    size_t nx = (size_t)M * K, nw = (size_t)NO * K, ny = (size_t)M * NO;
    size_t ns = (size_t)((M + rows_per_scale - 1) / rows_per_scale) * NO;
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(NO * 4), *s = malloc(ns * 4);
    float *r = malloc(ny * 4), *y = malloc(ny * 4);
    double *want = malloc(ny * 8);
    ts_rng rng = ts_rng_make(M * 5 + K * 3 + NO + rows_per_scale + act);
    ts_fill(&rng, x, nx, -1.0f, 1.0f);
    ts_fill(&rng, w, nw, -0.5f, 0.5f);
    ts_fill(&rng, b, NO, -0.5f, 0.5f);
    ts_fill(&rng, s, ns, 0.0f, 1.0f);
    ts_fill(&rng, r, ny, -1.0f, 1.0f);
    ref_gemm(x, w, b, M, K, NO, 1, 0, want);
    for (uint32_t m = 0; m < M; m++)
        for (uint32_t n = 0; n < NO; n++) {
            double *v = &want[(size_t)m * NO + n];
            *v = *v * s[(m / rows_per_scale) * NO + n] + r[(size_t)m * NO + n];
        }
    ref_activate(want, ny, (ref_act)act);
    rm_buffer bx = ts_buffer_from(ts_ctx, x, nx), bw = ts_weight_buffer(ts_ctx, w, 1, NO, K);
    rm_buffer bb = ts_buffer_from(ts_ctx, b, NO), bs = ts_buffer_from(ts_ctx, s, ns);
    rm_buffer br = ts_buffer_from(ts_ctx, r, ny), by = ts_buffer_from(ts_ctx, NULL, ny);
    rm_gemm_params p = rm_gemm_row_major(M, K, NO, 1);
    p.ep = (rm_epilogue){.has_bias = true,
                         .has_scale = true,
                         .has_residual = true,
                         .act = act,
                         .s_rows = {{rows_per_scale, 0, 0}, {0, NO, 0, 0}},
                         .s_cols = rm_map_stride(1)};
    p.variant = variant;
    rm_binding bind[7] = {ts_bind(&bx), ts_bind(&bw), ts_bind(&bb), ts_bind(&by),
                          ts_bind(&bx), ts_bind(&bs), ts_bind(&br)};
    ts_gemm_run runs[TS_GEMM_RUNS];
    size_t nruns = ts_gemm_runs(TS_ALGORITHM, RM_GEMM_KERNEL_GEMM, variant, false, runs);
    for (size_t t = 0; t < nruns; t++) {
        p.tile_m = runs[t].tile_m;
        p.force = runs[t].force;
        rm_dispatch d;
        char what[96];
        snprintf(what, sizeof what, "gemm epilogue %s M=%u K=%u N=%u rows/scale=%u act=%d",
                 variant_name(), M, K, NO, rows_per_scale, act);
        if (!ts_gemm_prepare_run(rm_gemm_prepare(ts_ctx, &p, &d), &runs[t], what)) continue;
        double err = ts_run_compare(ts_ctx, &d, bind, &by, y, want, ny, NULL);
        print_message("%s %s: max rel error %.3g\n", what, runs[t].name, err);
        ts_gemm_check_error(TS_ALGORITHM, err, 2e-6, K, ny); /* fp32: worst measured 1.8e-7 */
    }
    ts_destroy_buffers(ts_ctx, &bx, &bw, &bb, &bs, &br, &by, NULL);
    free(x), free(w), free(b), free(s), free(r), free(y), free(want);
}

static void epilogues(void **state) {
    variant = *(rm_gemm_variant *)*state;
    ts_gemm_require(TS_ALGORITHM, RM_GEMM_KERNEL_GEMM, variant, false);
    epilogue(49, 13, 7, 7, RM_ACT_NONE);
    epilogue(50, 9, 33, 5, RM_ACT_GELU);
    epilogue(3, 97, 3, 1, RM_ACT_SIGMOID);
    epilogue(97, 8, 16, 97, RM_ACT_RELU);
}

static float half_to_float(uint16_t h) {
    int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    float v = exp == 0 ? ldexpf((float)mant, -24) : ldexpf((float)(mant | 0x400), exp - 25);
    return (h & 0x8000) ? -v : v;
}

/* fp16 weights (rm_gemm_pack_f16): the kernels must compute exactly the fp32 GEMM of the
 * rounded weights; the rounding itself is checked against the definition. */
static void fp16_weights(void **state) {
    variant = *(rm_gemm_variant *)*state;
    ts_gemm_require(TS_ALGORITHM, RM_GEMM_KERNEL_GEMM, variant, true);
    if (variant == RM_GEMM_STORAGE && !ts_ctx->caps.storage_16bit) {
        ts_skip("fp16 weights through storage buffers need 16-bit storage, which %s lacks (the "
                "texel variant is still tested here)",
                ts_ctx->info.name);
    }
    assert_int_equal(rm_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(rm_f32_to_f16(-2.5f), 0xc100);
    assert_int_equal(rm_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(rm_f32_to_f16(65520.0f), 0x7c00);        /* rounds up to infinity */
    assert_int_equal(rm_f32_to_f16(1.0f + 0x1p-11f), 0x3c00); /* tie: to even */
    assert_int_equal(rm_f32_to_f16(1.0f + 0x1p-10f + 0x1p-11f), 0x3c02);
    assert_int_equal(rm_f32_to_f16(0x1p-24f), 0x0001); /* smallest subnormal */
    assert_int_equal(rm_f32_to_f16(0x1p-14f), 0x0400); /* smallest normal */
    static const uint32_t shapes[][4] = {{1, 97, 49, 1}, {7, 392, 392, 8}, {33, 64, 3, 2}};
    for (size_t c = 0; c < 3; c++) {
        uint32_t M = shapes[c][0], K = shapes[c][1], NO = shapes[c][2], g = shapes[c][3];
        size_t nx = (size_t)M * g * K, nw = (size_t)g * NO * K, ny = (size_t)M * g * NO;
        uint64_t np = rm_gemm_packed_count(g, NO, K);
        float *x = malloc(nx * 4), *w = malloc(nw * 4), *wr = malloc(nw * 4),
              *b = malloc(g * NO * 4);
        float *scratch = malloc(np * 4), *y = malloc(ny * 4);
        uint16_t *packed = malloc(np * 2);
        double *want = malloc(ny * 8);
        ts_rng rng = ts_rng_make(M + K * 3 + NO * 5 + g);
        ts_fill(&rng, x, nx, -1.0f, 1.0f);
        ts_fill(&rng, w, nw, -1.0f, 1.0f);
        ts_fill(&rng, b, g * NO, -1.0f, 1.0f);
        for (size_t i = 0; i < nw; i++) wr[i] = half_to_float(rm_f32_to_f16(w[i]));
        ref_gemm(x, wr, b, M, K, NO, g, 0, want);
        assert_true(rm_gemm_pack_f16(w, g, NO, K, 0, scratch, packed));
        rm_buffer bx = ts_buffer_from(ts_ctx, x, nx), bb = ts_buffer_from(ts_ctx, b, g * NO);
        rm_buffer bw = ts_buffer_from(ts_ctx, (const float *)packed, (size_t)np / 2);
        rm_buffer by = ts_buffer_from(ts_ctx, NULL, ny);
        rm_gemm_params p = rm_gemm_row_major(M, K, NO, g);
        p.has_bias = true;
        p.variant = variant;
        p.w16 = true;
        rm_binding bind[7] = {ts_bind(&bx), ts_bind(&bw), ts_bind(&bb), ts_bind(&by),
                              ts_bind(&bx), ts_bind(&bx), ts_bind(&bx)};
        ts_gemm_run runs[TS_GEMM_RUNS];
        size_t nruns = ts_gemm_runs(TS_ALGORITHM, RM_GEMM_KERNEL_GEMM, variant, true, runs);
        for (size_t t = 0; t < nruns; t++) {
            p.tile_m = runs[t].tile_m;
            p.force = runs[t].force;
            rm_dispatch d;
            repmlp_status st = rm_gemm_prepare(ts_ctx, &p, &d);
            if (st == REPMLP_ERROR_TOO_LARGE && variant == RM_GEMM_TEXEL) {
                /* Every row tile reads the same operands: none of them fits either. */
                ts_skip_note("fp16 texel GEMM M=%u K=%u N=%u g=%u, all row tiles: %s: %s", M, K, NO,
                             g, ts_ctx->info.name, repmlp_last_error());
                break;
            }
            char what[96];
            snprintf(what, sizeof what, "gemm fp16 weights %s M=%u K=%u N=%u g=%u", variant_name(),
                     M, K, NO, g);
            if (!ts_gemm_prepare_run(st, &runs[t], what)) continue;
            double err = ts_run_compare(ts_ctx, &d, bind, &by, y, want, ny, NULL);
            print_message("%s %s: max rel error %.3g\n", what, runs[t].name, err);
            ts_gemm_check_error(TS_ALGORITHM, err, GEMM_TOLERANCE, K, ny);
        }
        ts_destroy_buffers(ts_ctx, &bx, &bw, &bb, &by, NULL);
        free(x), free(w), free(wr), free(b), free(scratch), free(y), free(packed), free(want);
    }
}

int main(void) {
    static rm_gemm_variant storage = RM_GEMM_STORAGE, texel = RM_GEMM_TEXEL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(odd_sizes, &storage),
        cmocka_unit_test_prestate(groups, &storage),
        cmocka_unit_test_prestate(partitions, &storage),
        cmocka_unit_test_prestate(epilogues, &storage),
        cmocka_unit_test_prestate(odd_sizes, &texel),
        cmocka_unit_test_prestate(groups, &texel),
        cmocka_unit_test_prestate(partitions, &texel),
        cmocka_unit_test_prestate(epilogues, &texel),
        cmocka_unit_test_prestate(fp16_weights, &storage),
        cmocka_unit_test_prestate(fp16_weights, &texel),
    };
    return ts_exit_code(
        cmocka_run_group_tests(tests, ts_group_context_open, ts_group_context_close));
}
