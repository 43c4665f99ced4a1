/* maxpool vs the C reference: padding (which must never win), strides, odd and 1x1 maps. */
#include "test_support.h"

#include <stdlib.h>

#include "nn_ref.h"
#include "ops/ops.h"

static void maxpool_case(uint32_t N, uint32_t C, uint32_t H, uint32_t W, uint32_t k,
                         uint32_t stride, uint32_t pad) {
    uint32_t oh = rm_conv_out_size(H, k, stride, pad), ow = rm_conv_out_size(W, k, stride, pad);
    size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * oh * ow;
    float *x = malloc(nx * 4), *y = malloc(ny * 4);
    double *want = malloc(ny * 8);
    ts_rng rng = ts_rng_make(N + C * 3 + H * 5 + W * 7 + k * 11 + stride * 13 + pad);
    ts_fill(&rng, x, nx, -3.0f, -1.0f); /* all negative: a zero from padding would win */
    double *xd = ts_to_double(x, nx);
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

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(maxpool)};
    return ts_exit_code(ts_run_group(tests, ts_group_context_open, ts_group_context_close));
}
