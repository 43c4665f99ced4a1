/* Eval-mode BatchNorm from its four tensors, with and without a residual, vs double
 * arithmetic. */
#include "test_support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

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

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(batchnorm)};
    return ts_exit_code(ts_run_group(tests, ts_group_context_open, ts_group_context_close));
}
