/* The fused global perceptron (one dispatch) vs the unfused C references composed: avgpool,
 * linear + ReLU, linear (+ sigmoid). Sizes that are not multiples of the workgroup, the v1
 * shape (partition pooling) and the v2 shape (global pooling, sigmoid gate), the four weight
 * tensors at uneven offsets of one buffer, and the refusal when the perceptron does not fit in
 * shared memory. */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

#include "core/context.h"
#include "nn_ref.h"
#include "ops/ops.h"
#include "ops_ref.h"

/* fp32 dot products of up to 1024 [-1, 1] terms: worst measured 4.9e-7 on both drivers
 * (2026-11-30). */
#define GP_TOLERANCE 5e-6

static void gp_case(uint32_t N, uint32_t C, uint32_t H, uint32_t W, uint32_t h, uint32_t w,
                    uint32_t I, rm_activation act) {
    rm_global_perceptron_params p = {N, C, H, W, h, w, I, act};
    size_t D = (size_t)rm_global_perceptron_width(&p), nx = (size_t)N * C * H * W;
    /* W1, b1, W2, b2 at uneven offsets of one buffer, as model weights land. */
    uint32_t off[4];
    off[0] = 5;
    off[1] = off[0] + (uint32_t)(I * D) + 3;
    off[2] = off[1] + I + 1;
    off[3] = off[2] + (uint32_t)(D * I) + 7;
    size_t nw = off[3] + D;
    float *x = malloc(nx * 4), *wt = malloc(nw * 4), *y = malloc((size_t)N * D * 4);
    double *pooled = malloc((size_t)N * D * 8), *hidden = malloc((size_t)N * I * 8);
    double *want = malloc((size_t)N * D * 8), *wd = malloc(nw * 8);
    ts_rng rng = ts_rng_make(N * 3 + C * 5 + H * 7 + W * 11 + h * 13 + I * 17 + (uint32_t)act);
    ts_fill(&rng, x, nx, -1.0f, 1.0f);
    ts_fill(&rng, wt, nw, -1.0f, 1.0f);
    for (size_t i = 0; i < nw; i++) wd[i] = wt[i];
    ref_avgpool(x, N, C, H, W, h, w, pooled);
    ref_linear(pooled, N, D, wd + off[0], wd + off[1], I, REF_ACT_RELU, hidden);
    ref_linear(hidden, N, I, wd + off[2], wd + off[3], D,
               act == RM_ACT_SIGMOID ? REF_ACT_SIGMOID : REF_ACT_NONE, want);

    rm_buffer bx = ts_buffer_from(ts_ctx, x, nx), bw = ts_buffer_from(ts_ctx, wt, nw);
    rm_buffer by = ts_buffer_from(ts_ctx, NULL, (size_t)N * D);
    rm_dispatch d;
    assert_int_equal(rm_global_perceptron_prepare(ts_ctx, &p, &d), REPMLP_OK);
    rm_global_perceptron_offsets(&d, off);
    rm_binding bind[3] = {ts_bind(&bx), ts_bind(&bw), ts_bind(&by)};
    double ms, err = ts_run_compare(ts_ctx, &d, bind, &by, y, want, (size_t)N * D, &ms);
    print_message("global perceptron N=%u C=%u %ux%u window %ux%u D=%zu I=%u act=%d: max rel "
                  "error %.3g (%.2f ms)\n",
                  N, C, H, W, h, w, D, I, (int)act, err, ms);
    assert_true(err < GP_TOLERANCE);
    ts_destroy_buffers(ts_ctx, &bx, &bw, &by, NULL);
    free(x);
    free(wt);
    free(y);
    free(pooled);
    free(hidden);
    free(want);
    free(wd);
}

static void shapes(void **state) {
    (void)state;
    gp_case(1, 1, 1, 1, 1, 1, 1, RM_ACT_NONE);
    gp_case(2, 3, 7, 7, 7, 7, 5, RM_ACT_SIGMOID);       /* v2: global pool, gate */
    gp_case(3, 4, 14, 21, 7, 7, 13, RM_ACT_NONE);       /* v1: D = C * 2 * 3 */
    gp_case(1, 49, 6, 9, 3, 3, 97, RM_ACT_NONE);        /* D = 294, I > the workgroup */
    gp_case(2, 64, 28, 28, 7, 7, 16, RM_ACT_NONE);      /* D = 1024 */
    gp_case(5, 97, 14, 14, 14, 14, 24, RM_ACT_SIGMOID); /* a batch */
    gp_case(2, 5, 12, 10, 3, 5, 11, RM_ACT_NONE);       /* h != w: H / h = 4, W / w = 2 */
}

/* A perceptron whose pooled and hidden values do not fit in shared memory is refused (the
 * graph then uses the unfused ops), naming the limit. */
static void too_wide(void **state) {
    (void)state;
    uint32_t floats = ts_ctx->caps.max_shared_memory / 4;
    rm_global_perceptron_params p = {1, floats, 1, 1, 1, 1, 1, RM_ACT_NONE};
    rm_dispatch d;
    assert_int_equal(rm_global_perceptron_prepare(ts_ctx, &p, &d), REPMLP_ERROR_UNSUPPORTED);
    assert_non_null(strstr(repmlp_last_error(), "maxComputeSharedMemorySize"));
    p.C = floats - 1; /* exactly fits */
    assert_int_equal(rm_global_perceptron_prepare(ts_ctx, &p, &d), REPMLP_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shapes),
        cmocka_unit_test(too_wide),
    };
    return ts_exit_code(ts_run_group(tests, ts_group_context_open, ts_group_context_close));
}
