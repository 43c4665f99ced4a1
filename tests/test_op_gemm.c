/* Grouped GEMM shader vs the C reference: sizes that are not tile multiples, several group
 * counts, bias and ReLU on/off, and the partition gather/scatter index maps. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/context.h"
#include "ops/ops.h"
#include "ops_ref.h"

/* fp32 sums of up to 3136 products of [-1, 1] values: worst measured 7.9e-7 (fp16-weight
 * cases; 3.4e-7 fp32), both drivers, 2026-11-30. */
#define GEMM_TOLERANCE 5e-6

/* Every case runs with both operand variants, so both kernels are checked on every driver. */
static rm_gemm_variant variant;
/* When set, each case runs this row of rm_gemm_kernel_variants (forced) instead of every
 * row tile of the built-in choice. */
static const rm_gemm_kernel_variant *forced;
static const char *variant_name(void) {
    if (forced) return rm_shader(forced->shader)->name;
    return variant == RM_GEMM_TEXEL ? "texel" : "storage";
}
/* The forced row's tolerance: fp32 sums, or fp16 products (SHARED_F16, COOPMAT_NV: measured
 * 2-6e-4 on lavapipe). */
static double tolerance(void) {
    bool fp16_math = forced && (forced->algorithm == RM_GEMM_ALGORITHM_SHARED_F16 ||
                                forced->algorithm == RM_GEMM_ALGORITHM_COOPMAT_NV);
    return fp16_math ? 3e-3 : GEMM_TOLERANCE;
}
static size_t config_count(void) {
    return forced ? 1 : TS_TILE_COUNT;
}
static void configure(rm_gemm_params *p, size_t t) {
    p->force = forced;
    p->tile_m = forced ? 0 : ts_tiles[t];
}
/* > 0: the cases below cut their weight into bindings of at most this many bytes and must
 * run as split_parts dispatches (rm_gemm_params.split_bytes). */
static uint64_t split_bytes;
static uint32_t split_parts;
/* Parts of a weight cut one block per part (0: a single block is not cut). */
static uint32_t split_count(uint32_t groups, uint32_t NO) {
    uint32_t blocks = groups * ((NO + RM_GEMM_PANEL - 1) / RM_GEMM_PANEL);
    return blocks > 1 ? blocks : 0;
}

/* Runs p in each configuration (config_count) on `ops` against want, checking the error; `label`
 * names the case in the log. parts > 0: the part count every dispatch must have. */
static void check_configs(rm_gemm_params *p, const rm_binding *ops, rm_buffer *by, float *y,
                          const double *want, size_t ny, uint32_t parts, const char *label) {
    for (size_t t = 0; t < config_count(); t++) {
        configure(p, t);
        rm_dispatch d;
        assert_int_equal(rm_gemm_prepare(ts_ctx, p, &d), REPMLP_OK);
        if (parts) assert_int_equal(d.part_count, parts);
        rm_binding bind[RM_MAX_BINDINGS];
        ts_gemm_bindings(ts_ctx, &d, ops, bind);
        double ms, err = ts_run_compare(ts_ctx, &d, bind, by, y, want, ny, &ms);
        print_message("%s %s tile %u parts=%u: max rel error %.3g (%.2f ms)\n", label,
                      variant_name(), p->tile_m, rm_dispatch_sets(&d), err, ms);
        assert_true(err < tolerance());
    }
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

    /* The bias lives in the weight block; without has_bias the kernel must ignore it. */
    rm_buffer bx = ts_buffer_from(ts_ctx, x, nx), bw = ts_weight_buffer(ts_ctx, w, b, g, NO, K);
    rm_buffer by = ts_buffer_from(ts_ctx, NULL, ny);
    rm_gemm_params p = rm_gemm_row_major(M, K, NO, g);
    p.has_bias = bias;
    p.act = relu ? RM_ACT_RELU : RM_ACT_NONE;
    p.variant = variant;
    p.split_bytes = split_bytes;
    rm_binding ops[RM_GEMM_OPERANDS] = {ts_bind(&bx), ts_bind(&bw), ts_bind(&bx), ts_bind(&by),
                                        ts_bind(&bx), ts_bind(&bx), ts_bind(&bx)};
    char label[128];
    snprintf(label, sizeof label, "gemm M=%u K=%u N=%u g=%u bias=%d relu=%d", M, K, NO, g, bias,
             relu);
    check_configs(&p, ops, &by, y, want, ny, split_bytes ? split_parts : 0, label);
    ts_destroy_buffers(ts_ctx, &bx, &bw, &by, NULL);
    free(x);
    free(w);
    free(b);
    free(y);
    free(want);
}

static void odd_sizes(void **state) {
    variant = *(rm_gemm_variant *)*state;
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

    rm_buffer bx = ts_buffer_from(ts_ctx, x, nx), bw = ts_weight_buffer(ts_ctx, wt, b, g, NO, K);
    rm_buffer by = ts_buffer_from(ts_ctx, NULL, ny);
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
        rm_buffer br = ts_weight_buffer_runs(ts_ctx, wt, b, g, NO, K, run);
        rm_binding ops[RM_GEMM_OPERANDS] = {ts_bind(&bx), ts_bind(run ? &br : &bw),
                                            ts_bind(&bx), ts_bind(&by),
                                            ts_bind(&bv), ts_bind(&bx),
                                            ts_bind(&bx)};
        p.addend_run = run;
        /* Split: blocks of (K + runs + 1) rows, split_parts per group. */
        p.split_bytes = split_bytes ? rm_gemm_block_bytes(K, run, false) : 0;
        char label[160];
        snprintf(label, sizeof label,
                 "partition gemm N=%u C=%u O=%u %ux%u part %ux%u g=%u addend=%d run=%u", N, C, O, H,
                 W, h, w, g, addend, run);
        check_configs(&p, ops, &by, y, want, ny, split_bytes ? split_count(g, NO) : 0, label);
        ts_destroy_buffers(ts_ctx, &br, NULL);
    }
    /* A run that V is not constant over is refused. */
    if (addend && h * w > 1) {
        p.addend_run = w + 1;
        rm_dispatch d;
        assert_int_equal(rm_gemm_prepare(ts_ctx, &p, &d), REPMLP_ERROR_INVALID_ARGUMENT);
    }
    ts_destroy_buffers(ts_ctx, &bx, &bw, &by, &bv, NULL);
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
    partition_maps(1, 1, 1, 1, 1, 1, 1, 1, false);
    partition_maps(2, 4, 6, 14, 14, 7, 7, 2, false);
    partition_maps(3, 8, 8, 6, 10, 3, 5, 4, false);
    partition_maps(1, 3, 5, 7, 7, 7, 7, 1, false);
    partition_maps(2, 4, 6, 14, 14, 7, 7, 2, true);
    partition_maps(3, 8, 8, 6, 10, 3, 5, 4, true);
    partition_maps(1, 2, 2, 3, 3, 1, 1, 1, true);
}

/* A column map of four digits (radices r, the last digit < q) that permutes A's columns, and
 * with `addend` a V added at every column through another permutation: the kernels walk these
 * maps a column at a time (map_step in shaders/index_map.glsl), so every carry, a radix of 1
 * and group starts inside a digit are checked against the map's definition. */
static uint32_t digits_offset(uint32_t col, const rm_index_map *m) {
    uint32_t d[4], rest = col;
    for (int i = 0; i < 3; i++) {
        d[i] = rest % m->radix[i];
        rest /= m->radix[i];
    }
    d[3] = rest;
    return d[0] * m->stride[0] + d[1] * m->stride[1] + d[2] * m->stride[2] + d[3] * m->stride[3];
}

static void digit_maps(uint32_t M, uint32_t NO, uint32_t g, const uint32_t r[3], uint32_t q,
                       bool addend) {
    const uint32_t cols = r[0] * r[1] * r[2] * q, K = cols / g;
    assert_int_equal(K * g, cols);
    /* A: (d0, d1, d2, d3) at ((d0 * r1 + d1) * r2 + d2) * q + d3; V: d2 + r2 * (d0 + r0 * (d3 + q *
     * d1)). */
    const rm_index_map a_cols = {{r[0], r[1], r[2]}, {r[1] * r[2] * q, r[2] * q, q, 1}};
    const rm_index_map v_cols = {{r[0], r[1], r[2]}, {r[2], r[2] * r[0] * q, 1, r[2] * r[0]}};
    size_t nx = (size_t)M * cols, nw = (size_t)cols * NO, ny = (size_t)M * g * NO;
    float *x = malloc(nx * sizeof *x), *v = malloc(nx * sizeof *v), *xp = malloc(nx * sizeof *xp);
    float *w = malloc(nw * sizeof *w), *b = malloc(g * NO * 4), *y = malloc(ny * sizeof *y);
    double *want = malloc(ny * sizeof *want);
    ts_rng rng = ts_rng_make(M * 5 + NO * 11 + g * 13 + q * 17 + addend);
    ts_fill(&rng, x, nx, -1.0f, 1.0f);
    ts_fill(&rng, v, nx, -1.0f, 1.0f);
    ts_fill(&rng, w, nw, -1.0f, 1.0f);
    ts_fill(&rng, b, g * NO, -1.0f, 1.0f);
    for (uint32_t m = 0; m < M; m++)
        for (uint32_t c = 0; c < cols; c++)
            xp[(size_t)m * cols + c] =
                x[(size_t)m * cols + digits_offset(c, &a_cols)] +
                (addend ? v[(size_t)m * cols + digits_offset(c, &v_cols)] : 0);
    ref_gemm(xp, w, b, M, K, NO, g, 0, want);

    rm_buffer bx = ts_buffer_from(ts_ctx, x, nx), bw = ts_weight_buffer(ts_ctx, w, b, g, NO, K);
    rm_buffer bv = ts_buffer_from(ts_ctx, v, nx), by = ts_buffer_from(ts_ctx, NULL, ny);
    rm_gemm_params p = rm_gemm_row_major(M, K, NO, g);
    p.has_bias = true;
    p.variant = variant;
    p.a_cols = a_cols;
    p.has_addend = addend;
    p.v_rows = rm_map_stride(cols);
    p.v_cols = v_cols;
    rm_binding ops[RM_GEMM_OPERANDS] = {ts_bind(&bx), ts_bind(&bw), ts_bind(&bx), ts_bind(&by),
                                        ts_bind(&bv), ts_bind(&bx), ts_bind(&bx)};
    char label[128];
    snprintf(label, sizeof label,
             "digit-map gemm M=%u K=%u N=%u g=%u radices %u,%u,%u,<%u addend=%d", M, K, NO, g, r[0],
             r[1], r[2], q, addend);
    check_configs(&p, ops, &by, y, want, ny, 0, label);
    ts_destroy_buffers(ts_ctx, &bx, &bw, &bv, &by, NULL);
    free(x);
    free(v);
    free(xp);
    free(w);
    free(b);
    free(y);
    free(want);
}

static void digit_map_cases(void) {
    static const uint32_t r322[3] = {3, 2, 2}, r213[3] = {2, 1, 3};
    digit_maps(7, 9, 4, r322, 5, false); /* K = 15: groups start inside digits */
    digit_maps(7, 9, 4, r322, 5, true);
    digit_maps(3, 70, 3, r213, 7, true); /* a radix of 1; K = 14 */
    digit_maps(1, 5, 1, r213, 7, false);
}

static void digit_maps_all(void **state) {
    variant = *(rm_gemm_variant *)*state;
    digit_map_cases();
}

/* fp16 weights (rm_gemm_pack_f16): the kernels must compute exactly the fp32 GEMM of the
 * rounded weights plus the fp32 bias (kept as hi + lo halves in the block); the rounding
 * itself is checked against the definition. With split_bytes the fp16 blocks are cut too. */
static void fp16_cases(size_t count) {
    static const uint32_t shapes[][4] = {
        {1, 97, 49, 1}, {33, 64, 3, 2}, {5, 30, 200, 3}, {7, 392, 392, 8}};
    for (size_t c = 0; c < count; c++) {
        uint32_t M = shapes[c][0], K = shapes[c][1], NO = shapes[c][2], g = shapes[c][3];
        size_t nx = (size_t)M * g * K, nw = (size_t)g * NO * K, ny = (size_t)M * g * NO;
        uint64_t np = rm_gemm_packed_count(g, NO, K, 0, true);
        float *x = malloc(nx * 4), *w = malloc(nw * 4), *wr = malloc(nw * 4),
              *b = malloc(g * NO * 4);
        float *scratch = malloc(rm_gemm_block_rows(K, 0, false) * RM_GEMM_PANEL * 4);
        float *y = malloc(ny * 4);
        uint16_t *packed = malloc(np * 2);
        double *want = malloc(ny * 8);
        ts_rng rng = ts_rng_make(M + K * 3 + NO * 5 + g);
        ts_fill(&rng, x, nx, -1.0f, 1.0f);
        ts_fill(&rng, w, nw, -1.0f, 1.0f);
        ts_fill(&rng, b, g * NO, -3.0f, 3.0f);
        for (size_t i = 0; i < nw; i++) wr[i] = rm_f16_to_f32(rm_f32_to_f16(w[i]));
        ref_gemm(x, wr, b, M, K, NO, g, 0, want);
        assert_true(rm_gemm_pack_f16(w, b, g, NO, K, 0, scratch, packed));
        rm_buffer bx = ts_buffer_from(ts_ctx, x, nx);
        rm_buffer bw = ts_buffer_from(ts_ctx, (const float *)packed, (size_t)np / 2);
        rm_buffer by = ts_buffer_from(ts_ctx, NULL, ny);
        rm_gemm_params p = rm_gemm_row_major(M, K, NO, g);
        p.has_bias = true;
        p.variant = variant;
        p.w16 = true;
        /* One block per part, or one group per part where that would be too many parts. */
        uint32_t panels = (NO + RM_GEMM_PANEL - 1) / RM_GEMM_PANEL;
        bool by_group = g * panels > RM_MAX_PARTS;
        p.split_bytes = split_bytes ? rm_gemm_block_bytes(K, 0, true) * (by_group ? panels : 1) : 0;
        rm_binding ops[RM_GEMM_OPERANDS] = {ts_bind(&bx), ts_bind(&bw), ts_bind(&bx), ts_bind(&by),
                                            ts_bind(&bx), ts_bind(&bx), ts_bind(&bx)};
        for (size_t t = 0; t < config_count(); t++) {
            configure(&p, t);
            rm_dispatch d;
            repmlp_status st = rm_gemm_prepare(ts_ctx, &p, &d);
            if (st == REPMLP_ERROR_TOO_LARGE && variant == RM_GEMM_TEXEL) {
                /* Every row tile reads the same operands: none of them fits either. */
                ts_skip_note("fp16 texel GEMM M=%u K=%u N=%u g=%u, all row tiles: %s: %s", M, K, NO,
                             g, ts_ctx->info.name, repmlp_last_error());
                break;
            }
            if (st != REPMLP_OK) fail_msg("%s", repmlp_last_error());
            if (split_bytes) assert_int_equal(d.part_count, by_group ? g : split_count(g, NO));
            rm_binding bind[RM_MAX_BINDINGS];
            ts_gemm_bindings(ts_ctx, &d, ops, bind);
            double err = ts_run_compare(ts_ctx, &d, bind, &by, y, want, ny, NULL);
            print_message("gemm fp16 weights %s tile %u M=%u K=%u N=%u g=%u parts=%u: max rel "
                          "error %.3g\n",
                          variant_name(), p.tile_m, M, K, NO, g, rm_dispatch_sets(&d), err);
            assert_true(err < tolerance());
        }
        ts_destroy_buffers(ts_ctx, &bx, &bw, &by, NULL);
        free(x), free(w), free(wr), free(b), free(scratch), free(y), free(packed), free(want);
    }
}

static void fp16_weights(void **state) {
    variant = *(rm_gemm_variant *)*state;
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
    split_bytes = 0;
    fp16_cases(4);
}

/* The bias of an fp16 block as hi + lo: how much of fp32's precision it keeps (measured), and
 * that the block puts hi and lo where the kernels read them. */
static void fp16_bias(void **state) {
    (void)state;
    enum { NO = 70, K = 3 };
    float w[NO * K] = {0}, b[NO], scratch[(K + 1) * RM_GEMM_PANEL];
    ts_rng rng = ts_rng_make(99);
    double worst = 0, worst_hi = 0;
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < NO; i++)
            b[i] = (ts_uniform(&rng, 0.5f, 1.0f) * (i % 2 ? -1.0f : 1.0f)) *
                   ldexpf(1.0f, round % 24 - 12);
        uint16_t packed[2 * 6 * RM_GEMM_PANEL];
        assert_int_equal(rm_gemm_packed_count(1, NO, K, 0, true), 2 * 6 * RM_GEMM_PANEL);
        assert_true(rm_gemm_pack_f16(w, b, 1, NO, K, 0, scratch, packed));
        for (int n = 0; n < NO; n++) {
            const uint16_t *block = packed + (n / RM_GEMM_PANEL) * 6 * RM_GEMM_PANEL;
            float hi = rm_f16_to_f32(block[K * RM_GEMM_PANEL + n % RM_GEMM_PANEL]);
            float lo = rm_f16_to_f32(block[(K + 1) * RM_GEMM_PANEL + n % RM_GEMM_PANEL]) / 2048;
            double rel = fabs(((double)hi + lo - b[n]) / b[n]), rel_hi = fabs((hi - b[n]) / b[n]);
            if (rel > worst) worst = rel;
            if (rel_hi > worst_hi) worst_hi = rel_hi;
        }
    }
    print_message("fp16 block bias, |b| in [2^-12, 2^12): max rel error hi + lo %.3g (hi alone "
                  "%.3g)\n",
                  worst, worst_hi);
    assert_true(worst < 5e-7);
}

/* V, S and R together, read through the one AUX binding at their offsets in one buffer (in
 * an order unlike the operands', with gaps), with bias, scale, residual and an activation:
 *   y = act(((x + v) W^T + b) * s + r). */
static void aux_case(void) {
    const uint32_t M = 37, K = 29, NO = 75, rows_per_scale = 5;
    size_t nx = (size_t)M * K, nw = (size_t)NO * K, ny = (size_t)M * NO;
    size_t ns = (size_t)((M + rows_per_scale - 1) / rows_per_scale) * NO;
    float *x = malloc(nx * 4), *v = malloc(nx * 4), *w = malloc(nw * 4), *b = malloc(NO * 4);
    float *s = malloc(ns * 4), *r = malloc(ny * 4), *y = malloc(ny * 4), *xv = malloc(nx * 4);
    double *want = malloc(ny * 8);
    ts_rng rng = ts_rng_make(4242);
    ts_fill(&rng, x, nx, -1.0f, 1.0f);
    ts_fill(&rng, v, nx, -1.0f, 1.0f);
    ts_fill(&rng, w, nw, -1.0f, 1.0f);
    ts_fill(&rng, b, NO, -1.0f, 1.0f);
    ts_fill(&rng, s, ns, 0.0f, 2.0f);
    ts_fill(&rng, r, ny, -1.0f, 1.0f);
    for (size_t i = 0; i < nx; i++) xv[i] = x[i] + v[i];
    ref_gemm(xv, w, b, M, K, NO, 1, 0, want);
    for (uint32_t m = 0; m < M; m++)
        for (uint32_t n = 0; n < NO; n++) {
            double *o = &want[(size_t)m * NO + n];
            *o = *o * s[(m / rows_per_scale) * NO + n] + r[(size_t)m * NO + n];
            *o = *o > 0 ? *o : 0;
        }
    /* One buffer: R, then S, then V, each at a 256-byte boundary after a gap. */
    size_t at_r = 64, at_s = at_r + (ny + 127) / 64 * 64, at_v = at_s + (ns + 127) / 64 * 64;
    size_t total = at_v + nx + 64;
    float *aux = malloc(total * 4);
    for (size_t i = 0; i < total; i++) aux[i] = NAN; /* gaps: any stray read fails */
    memcpy(aux + at_r, r, ny * 4);
    memcpy(aux + at_s, s, ns * 4);
    memcpy(aux + at_v, v, nx * 4);
    rm_buffer bx = ts_buffer_from(ts_ctx, x, nx), bw = ts_weight_buffer(ts_ctx, w, b, 1, NO, K);
    rm_buffer ba = ts_buffer_from(ts_ctx, aux, total), by = ts_buffer_from(ts_ctx, NULL, ny);
    rm_buffer bs2 = ts_buffer_from(ts_ctx, s, ns);
    rm_gemm_params p = rm_gemm_row_major(M, K, NO, 1);
    p.has_addend = true;
    p.v_rows = rm_map_stride(K);
    p.v_cols = rm_map_stride(1);
    p.ep = (rm_epilogue){.has_bias = true,
                         .has_scale = true,
                         .has_residual = true,
                         .act = RM_ACT_RELU,
                         .s_rows = {{rows_per_scale, 0, 0}, {0, NO, 0, 0}},
                         .s_cols = rm_map_stride(1)};
    p.variant = variant;
    rm_binding bv = {ba.buffer, at_v * 4, nx * 4}, bsb = {ba.buffer, at_s * 4, ns * 4},
               brb = {ba.buffer, at_r * 4, ny * 4};
    rm_binding ops[RM_GEMM_OPERANDS] = {ts_bind(&bx), ts_bind(&bw), ts_bind(&bx), ts_bind(&by),
                                        bv,           bsb,          brb};
    for (size_t t = 0; t < config_count(); t++) {
        configure(&p, t);
        rm_dispatch d;
        assert_int_equal(rm_gemm_prepare(ts_ctx, &p, &d), REPMLP_OK);
        rm_binding bind[RM_MAX_BINDINGS];
        ts_gemm_bindings(ts_ctx, &d, ops, bind);
        double err = ts_run_compare(ts_ctx, &d, bind, &by, y, want, ny, NULL);
        print_message("gemm %s tile %u V+S+R through AUX: max rel error %.3g\n", variant_name(),
                      p.tile_m, err);
        assert_true(err < tolerance());
        /* S in another buffer than R: refused with a message, nothing bound. */
        rm_binding other[RM_GEMM_OPERANDS];
        memcpy(other, ops, sizeof other);
        other[RM_GEMM_S] = ts_bind(&bs2);
        assert_int_equal(rm_gemm_core_bindings(ts_ctx, &d, "aux test", other, bind),
                         REPMLP_ERROR_UNSUPPORTED);
        assert_non_null(strstr(repmlp_last_error(), "aux test: V, S and R"));
        assert_non_null(strstr(repmlp_last_error(), "lies in another"));
    }
    ts_destroy_buffers(ts_ctx, &bx, &bw, &ba, &by, &bs2, NULL);
    free(x), free(v), free(w), free(b), free(s), free(r), free(y), free(xv), free(want), free(aux);
}

static void aux_window(void **state) {
    variant = *(rm_gemm_variant *)*state;
    aux_case();
}

/* A weight cut into several dispatches (rm_gemm_params.split_bytes forces small bindings):
 * every part must cover its panels and groups exactly once. */
static void split(void **state) {
    variant = RM_GEMM_STORAGE; /* texel views are never cut */
    (void)state;
    /* panels of one group per part (4 panels x 3 groups = 12 parts) */
    split_bytes = rm_gemm_block_bytes(49, 0, false);
    split_parts = 12;
    plain(7, 49, 200, 3, true, false);
    /* 3 panels per part: a group's 4 panels in 2 parts */
    split_bytes = 3 * rm_gemm_block_bytes(49, 0, false);
    split_parts = 6;
    plain(9, 49, 200, 3, true, true);
    /* whole groups per part: 2 groups of 1 panel, 5 groups -> 3 parts */
    split_bytes = 2 * rm_gemm_block_bytes(13, 0, false) + 100;
    split_parts = 3;
    plain(33, 13, 7, 5, true, false);
    /* with the addend's run sums in the blocks: one block per part */
    split_bytes = 1;
    partition_maps(2, 4, 6, 14, 14, 7, 7, 2, true);
    partition_maps(3, 8, 8, 6, 10, 3, 5, 4, true);
    split_bytes = 0;
}

static void split_fp16(void **state) {
    variant = RM_GEMM_STORAGE;
    (void)state;
    if (!ts_ctx->caps.storage_16bit)
        ts_skip("fp16 weights through storage buffers need 16-bit storage, which %s lacks",
                ts_ctx->info.name);
    split_bytes = 1;
    fp16_cases(4);
    split_bytes = 0;
}

/* What cannot be cut is refused with the limit named. */
static void split_limits(void **state) {
    (void)state;
    rm_gemm_params p = rm_gemm_row_major(4, 49, 200, 3);
    p.variant = RM_GEMM_STORAGE;
    rm_dispatch d;
    p.split_bytes = rm_gemm_block_bytes(49, 0, false) - 256; /* one block does not fit */
    assert_int_equal(rm_gemm_prepare(ts_ctx, &p, &d), REPMLP_ERROR_TOO_LARGE);
    assert_non_null(strstr(repmlp_last_error(), "maxStorageBufferRange"));
    p = rm_gemm_row_major(4, 49, 64 * 40, 1); /* 40 parts of one block */
    p.variant = RM_GEMM_STORAGE;
    p.split_bytes = rm_gemm_block_bytes(49, 0, false);
    assert_int_equal(rm_gemm_prepare(ts_ctx, &p, &d), REPMLP_ERROR_TOO_LARGE);
    assert_non_null(strstr(repmlp_last_error(), "40 dispatches"));
    p.NO = 64 * RM_MAX_PARTS; /* exactly the most parts */
    assert_int_equal(rm_gemm_prepare(ts_ctx, &p, &d), REPMLP_OK);
    assert_int_equal(d.part_count, RM_MAX_PARTS);
}

/* Whether row v runs here: a row this device cannot take (no subgroup arithmetic, no 16-bit
 * storage, no fp16 arithmetic, a workgroup or shared memory over its limits, no cooperative
 * matrices) is a loud skip naming the reason. */
static bool row_runs_here(const rm_gemm_kernel_variant *v) {
    rm_gemm_params p = rm_gemm_row_major(1, 1, 1, 1);
    p.force = v;
    p.w16 = v->weights == RM_GEMM_WEIGHTS_F16;
    rm_dispatch d;
    repmlp_status st = rm_gemm_prepare(ts_ctx, &p, &d);
    if (st == REPMLP_ERROR_UNSUPPORTED) {
        ts_skip_note("gemm kernel %s on %s: %s", rm_shader(v->shader)->name, ts_ctx->info.name,
                     repmlp_last_error());
        return false;
    }
    assert_int_equal(st, REPMLP_OK);
    return true;
}

/* Every row of an algorithm other than the register tile (whose rows the cases above choose
 * through tile_m), forced over the small cases: odd sizes, groups, the partition maps with the
 * addend at every k and through the run sums, V + S + R through AUX with the full epilogue,
 * fp16 weights, and a weight cut into parts. */
static void algorithms(void **state) {
    (void)state;
    uint32_t rows = 0;
    for (uint32_t i = 0; i < rm_gemm_kernel_variant_count; i++) {
        const rm_gemm_kernel_variant *v = &rm_gemm_kernel_variants[i];
        if (v->kernel != RM_GEMM_KERNEL_GEMM || v->algorithm == RM_GEMM_ALGORITHM_REGISTER)
            continue;
        rows++;
        if (!row_runs_here(v)) continue;
        forced = v;
        variant = v->path == RM_OPERAND_TEXEL ? RM_GEMM_TEXEL : RM_GEMM_STORAGE;
        if (v->weights == RM_GEMM_WEIGHTS_F32) {
            plain(1, 1, 1, 1, false, false);
            plain(3, 7, 1, 1, true, true);
            plain(49, 97, 3, 1, false, true);
            plain(2, 1, 1, 64, true, false);
            partition_maps(1, 2, 2, 3, 3, 1, 1, 1, true);
            digit_maps(7, 9, 4, (const uint32_t[3]){3, 2, 2}, 5, true);
        }
        /* The texel rows differ from the storage rows only in how they load (LOAD_X, LOAD_W4,
         * LOAD_V): the cases that cover every load and store (a pipeline costs SwiftShader up
         * to ~1 s to compile). */
        if (v->weights != RM_GEMM_WEIGHTS_F16) {
            plain(7, 49, 97, 1, true, false);
            plain(5, 3, 7, 2, true, false);
            partition_maps(2, 4, 6, 14, 14, 7, 7, 2, true);
            aux_case();
        }
        if (v->weights != RM_GEMM_WEIGHTS_F32) fp16_cases(2);
        forced = NULL;
    }
    assert_true(rows > 0); /* the list has such rows: this test must not pass empty */
}

int main(void) {
    static rm_gemm_variant storage = RM_GEMM_STORAGE, texel = RM_GEMM_TEXEL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(odd_sizes, &storage),
        cmocka_unit_test_prestate(groups, &storage),
        cmocka_unit_test_prestate(partitions, &storage),
        cmocka_unit_test_prestate(odd_sizes, &texel),
        cmocka_unit_test_prestate(groups, &texel),
        cmocka_unit_test_prestate(partitions, &texel),
        cmocka_unit_test_prestate(digit_maps_all, &storage),
        cmocka_unit_test_prestate(digit_maps_all, &texel),
        cmocka_unit_test_prestate(fp16_weights, &storage),
        cmocka_unit_test_prestate(fp16_weights, &texel),
        cmocka_unit_test(fp16_bias),
        cmocka_unit_test_prestate(aux_window, &storage),
        cmocka_unit_test_prestate(aux_window, &texel),
        cmocka_unit_test(split),
        cmocka_unit_test(split_fp16),
        cmocka_unit_test(split_limits),
        cmocka_unit_test(algorithms),
    };
    return ts_exit_code(
        cmocka_run_group_tests(tests, ts_group_context_open, ts_group_context_close));
}
