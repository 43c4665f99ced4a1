/* The GEMM-core cases shared by test_op_gemm (the built-in kernels at every row tile) and
 * test_op_gemm_variants (every row of the other algorithms, forced); see gemm_cases.h. */
#include "gemm_cases.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_ref.h"

/* fp32 sums of up to 3136 products of [-1, 1] values: worst measured 7.9e-7 (fp16-weight
 * cases; 3.4e-7 fp32), both drivers, 2026-11-30. */
#define GEMM_TOLERANCE 5e-6

rm_gemm_variant ts_gemm_variant;
const rm_gemm_kernel_variant *ts_gemm_forced;
uint64_t ts_gemm_split_bytes;
uint32_t ts_gemm_split_parts;

static const char *variant_name(void) {
    if (ts_gemm_forced) return rm_shader(ts_gemm_forced->shader)->name;
    return ts_gemm_variant == RM_GEMM_TEXEL ? "texel" : "storage";
}
/* The forced row's tolerance: fp32 sums, or fp16 products (SHARED_F16, COOPMAT_NV: measured
 * 2-6e-4 on lavapipe). */
static double tolerance(void) {
    bool fp16_math = ts_gemm_forced && (ts_gemm_forced->algorithm == RM_GEMM_ALGORITHM_SHARED_F16 ||
                                        ts_gemm_forced->algorithm == RM_GEMM_ALGORITHM_COOPMAT_NV);
    return fp16_math ? 3e-3 : GEMM_TOLERANCE;
}
static size_t config_count(void) {
    return ts_gemm_forced ? 1 : TS_TILE_COUNT;
}
static void configure(rm_gemm_params *p, size_t t) {
    p->force = ts_gemm_forced;
    p->tile_m = ts_gemm_forced ? 0 : ts_tiles[t];
}
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

void ts_gemm_plain(uint32_t M, uint32_t K, uint32_t NO, uint32_t g, bool bias, bool relu) {
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
    p.variant = ts_gemm_variant;
    p.split_bytes = ts_gemm_split_bytes;
    rm_binding ops[RM_GEMM_OPERANDS] = {ts_bind(&bx), ts_bind(&bw), ts_bind(&bx), ts_bind(&by),
                                        ts_bind(&bx), ts_bind(&bx), ts_bind(&bx)};
    char label[128];
    snprintf(label, sizeof label, "gemm M=%u K=%u N=%u g=%u bias=%d relu=%d", M, K, NO, g, bias,
             relu);
    check_configs(&p, ops, &by, y, want, ny, ts_gemm_split_bytes ? ts_gemm_split_parts : 0, label);
    ts_destroy_buffers(ts_ctx, &bx, &bw, &by, NULL);
    free(x);
    free(w);
    free(b);
    free(y);
    free(want);
}

/* The RepMLP partition perceptron: the input (N,C,H,W) is read as rows (n,ip,jp) and columns
 * (c,y,x) of (N*hp*wp, C*h*w), and the output is written back as (N,O,H,W), all through index
 * maps; with `addend`, v (N,C,hp,wp) is broadcast-added to each partition on load (the global
 * perceptron). Checked against an explicit add + permute + plain GEMM + inverse permute. */
void ts_gemm_partition_maps(uint32_t N, uint32_t C, uint32_t O, uint32_t H, uint32_t W, uint32_t h,
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
        .variant = ts_gemm_variant,
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
        /* Split: blocks of (K + runs + 1) rows, ts_gemm_split_parts per group. */
        p.split_bytes = ts_gemm_split_bytes ? rm_gemm_block_bytes(K, run, false) : 0;
        char label[160];
        snprintf(label, sizeof label,
                 "partition gemm N=%u C=%u O=%u %ux%u part %ux%u g=%u addend=%d run=%u", N, C, O, H,
                 W, h, w, g, addend, run);
        check_configs(&p, ops, &by, y, want, ny, ts_gemm_split_bytes ? split_count(g, NO) : 0,
                      label);
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

void ts_gemm_digit_maps(uint32_t M, uint32_t NO, uint32_t g, const uint32_t r[3], uint32_t q,
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
    p.variant = ts_gemm_variant;
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

/* fp16 weights (rm_gemm_pack_f16): the kernels must compute exactly the fp32 GEMM of the
 * rounded weights plus the fp32 bias (kept as hi + lo halves in the block); the rounding
 * itself is checked against the definition. With ts_gemm_split_bytes the fp16 blocks are cut too.
 */
void ts_gemm_fp16_cases(size_t count) {
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
        p.variant = ts_gemm_variant;
        p.w16 = true;
        /* One block per part, or one group per part where that would be too many parts. */
        uint32_t panels = (NO + RM_GEMM_PANEL - 1) / RM_GEMM_PANEL;
        bool by_group = g * panels > RM_MAX_PARTS;
        p.split_bytes =
            ts_gemm_split_bytes ? rm_gemm_block_bytes(K, 0, true) * (by_group ? panels : 1) : 0;
        rm_binding ops[RM_GEMM_OPERANDS] = {ts_bind(&bx), ts_bind(&bw), ts_bind(&bx), ts_bind(&by),
                                            ts_bind(&bx), ts_bind(&bx), ts_bind(&bx)};
        for (size_t t = 0; t < config_count(); t++) {
            configure(&p, t);
            rm_dispatch d;
            repmlp_status st = rm_gemm_prepare(ts_ctx, &p, &d);
            if (st == REPMLP_ERROR_TOO_LARGE && ts_gemm_variant == RM_GEMM_TEXEL) {
                /* Every row tile reads the same operands: none of them fits either. */
                ts_skip_note("fp16 texel GEMM M=%u K=%u N=%u g=%u, all row tiles: %s: %s", M, K, NO,
                             g, ts_ctx->info.name, repmlp_last_error());
                break;
            }
            if (st != REPMLP_OK) fail_msg("%s", repmlp_last_error());
            if (ts_gemm_split_bytes)
                assert_int_equal(d.part_count, by_group ? g : split_count(g, NO));
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

/* V, S and R together, read through the one AUX binding at their offsets in one buffer (in
 * an order unlike the operands', with gaps), with bias, scale, residual and an activation:
 *   y = act(((x + v) W^T + b) * s + r). */
void ts_gemm_aux_case(void) {
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
    p.variant = ts_gemm_variant;
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
