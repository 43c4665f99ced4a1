/* conv (implicit GEMM) vs the C reference: the kernel shapes the networks use (7x7/s2/p3
 * stem, 3x3/p1 with stride 1 and 2, 1x1 pointwise and strided, 2x2/s2 and 4x4/s4 patch
 * embeddings), grouped convs, odd sizes, bias, activations and a residual, with both operand
 * variants; every row of the other algorithms (rm_gemm_kernel_variants) forced over a subset,
 * with fp16 weights where the row reads them. */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

#include "nn_ref.h"
#include "ops/ops.h"

static rm_gemm_variant variant;
static bool split; /* cut every weight into one dispatch per panel block */
/* When set, each case runs this conv row (its gemm twin for pointwise convs) instead of every
 * row tile of the built-in choice; fp16 weights when the row reads them. */
static const rm_gemm_kernel_variant *forced;
/* fp32 sums: worst measured 1.0e-6 (forced rows), 7.3e-7 (tiles); fp16 products (SHARED_F16,
 * COOPMAT_NV): 2-6e-4 on lavapipe. */
static double tolerance(void) {
    bool fp16_math = forced && (forced->algorithm == RM_GEMM_ALGORITHM_SHARED_F16 ||
                                forced->algorithm == RM_GEMM_ALGORITHM_COOPMAT_NV);
    return fp16_math ? 3e-3 : 5e-6;
}

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
    bool w16 = forced && forced->weights == RM_GEMM_WEIGHTS_F16;
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
                        .variant = variant,
                        .w16 = w16,
                        .force = forced,
                        /* split: one weight block per dispatch */
                        .split_bytes =
                            split ? rm_gemm_block_bytes((uint32_t)(nw / t->O), 0, w16) : 0};
    uint32_t blocks = t->groups * ((t->O / t->groups + RM_GEMM_PANEL - 1) / RM_GEMM_PANEL);
    /* R is read through AUX; V and S are not read (X stands in). */
    rm_binding ops[RM_GEMM_OPERANDS] = {ts_bind(&bx), ts_bind(&bw), ts_bind(&bx), ts_bind(&by),
                                        ts_bind(&bx), ts_bind(&bx), ts_bind(&br)};
    for (size_t i = 0; i < (forced ? 1 : TS_TILE_COUNT); i++) {
        p.tile_m = forced ? 0 : ts_tiles[i];
        rm_dispatch d;
        repmlp_status st = rm_conv_prepare(ts_ctx, &p, &d);
        if (st != REPMLP_OK) fail_msg("%s", repmlp_last_error());
        if (split) assert_int_equal(d.part_count, blocks > 1 ? blocks : 0);
        rm_binding bind[RM_MAX_BINDINGS];
        ts_gemm_bindings(ts_ctx, &d, ops, bind);
        double err = ts_run_compare(ts_ctx, &d, bind, &by, y, want, ny, NULL);
        print_message("conv %s tile %u N=%u C=%u %ux%u O=%u k=%u s=%u p=%u g=%u act=%d bias=%d "
                      "res=%d parts=%u: max rel error %.3g\n",
                      forced                     ? rm_shader(forced->shader)->name
                      : variant == RM_GEMM_TEXEL ? "texel"
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
    {1, 6, 9, 9, 150, 3, 1, 1, 2, RM_ACT_NONE, true, true, 0, 0},   /* 2 panels per group */
    {2, 12, 5, 5, 200, 1, 1, 0, 1, RM_ACT_RELU, true, true, 0, 0},  /* pointwise, 4 panels */
};

static void shapes(void **state) {
    variant = *(rm_gemm_variant *)*state;
    split = false;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check(&cases[i]);
}

/* The same cases with each weight cut into one dispatch per panel block. */
static void split_weights(void **state) {
    (void)state;
    variant = RM_GEMM_STORAGE; /* texel views are never cut */
    split = true;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check(&cases[i]);
    split = false;
}

/* Whether conv row v runs here: one this device cannot take is a loud skip with the reason. */
static bool row_runs_here(const rm_gemm_kernel_variant *v) {
    rm_conv_params p = {.N = 1,
                        .C = 1,
                        .H = 3,
                        .W = 3,
                        .O = 1,
                        .kh = 3,
                        .kw = 3,
                        .sh = 1,
                        .sw = 1,
                        .groups = 1,
                        .force = v,
                        .w16 = v->weights == RM_GEMM_WEIGHTS_F16};
    rm_dispatch d;
    repmlp_status st = rm_conv_prepare(ts_ctx, &p, &d);
    if (st == REPMLP_ERROR_UNSUPPORTED) {
        ts_skip_note("conv kernel %s on %s: %s", rm_shader(v->shader)->name, ts_ctx->info.name,
                     repmlp_last_error());
        return false;
    }
    assert_int_equal(st, REPMLP_OK);
    return true;
}

/* Every conv row of an algorithm other than the register tile, forced over the small cases:
 * padding, strides, groups, a pointwise conv (the gemm twin), a residual, every activation. */
static void algorithms(void **state) {
    (void)state;
    static const conv_case small[] = {
        {2, 5, 7, 9, 7, 3, 1, 1, 1, RM_ACT_RELU, true, false, 0, 0},
        {1, 6, 13, 13, 9, 3, 2, 1, 3, RM_ACT_NONE, true, false, 0, 0},
        {2, 12, 7, 7, 20, 1, 1, 0, 1, RM_ACT_NONE, true, true, 0, 0},
        {1, 2, 3, 3, 3, 5, 1, 2, 1, RM_ACT_GELU, true, true, 0, 0},
        {1, 97, 5, 3, 49, 3, 1, 1, 1, RM_ACT_SIGMOID, true, true, 0, 0},
    };
    uint32_t rows = 0;
    for (uint32_t i = 0; i < rm_gemm_kernel_variant_count; i++) {
        const rm_gemm_kernel_variant *v = &rm_gemm_kernel_variants[i];
        if (v->kernel != RM_GEMM_KERNEL_CONV || v->algorithm == RM_GEMM_ALGORITHM_REGISTER)
            continue;
        rows++;
        if (!row_runs_here(v)) continue;
        forced = v;
        variant = v->path == RM_OPERAND_TEXEL ? RM_GEMM_TEXEL : RM_GEMM_STORAGE;
        for (size_t c = 0; c < sizeof small / sizeof small[0]; c++) check(&small[c]);
        forced = NULL;
    }
    assert_true(rows > 0); /* the list has such rows: this test must not pass empty */
}

static void errors(void **state) {
    (void)state;
    rm_dispatch d;
    rm_conv_params p = {1, 6, 8, 8, 9, 3, 3, 1, 1, 1, 1, 4, .ep = {0}}; /* 6 % 4 != 0 */
    assert_int_equal(rm_conv_prepare(ts_ctx, &p, &d), REPMLP_ERROR_INVALID_ARGUMENT);
    /* 7x7 kernel over 2x2 + 2*1 padding */
    rm_conv_params q = {1, 4, 2, 2, 4, 7, 7, 1, 1, 1, 1, 1, .ep = {0}};
    assert_int_equal(rm_conv_prepare(ts_ctx, &q, &d), REPMLP_ERROR_INVALID_ARGUMENT);
    /* The kernel keeps positions in 16 bits: a padded side over 65535 is refused, a pointwise
     * conv (a GEMM) of the same size is not limited by it. */
    rm_conv_params r = {1, 1, 65534, 2, 4, 3, 3, 1, 1, 1, 1, 1, .ep = {0}};
    assert_int_equal(rm_conv_prepare(ts_ctx, &r, &d), REPMLP_ERROR_TOO_LARGE);
    assert_non_null(strstr(repmlp_last_error(), "65536x4"));
    r.kh = r.kw = 1;
    r.ph = r.pw = 0;
    assert_int_equal(rm_conv_prepare(ts_ctx, &r, &d), REPMLP_OK);
}

int main(void) {
    static rm_gemm_variant storage = RM_GEMM_STORAGE, texel = RM_GEMM_TEXEL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(shapes, &storage),
        cmocka_unit_test_prestate(shapes, &texel),
        cmocka_unit_test(split_weights),
        cmocka_unit_test(errors),
        cmocka_unit_test(algorithms),
    };
    return ts_exit_code(
        cmocka_run_group_tests(tests, ts_group_context_open, ts_group_context_close));
}
