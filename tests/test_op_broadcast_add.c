/* broadcast_add shader vs the C reference, including partitions with h != w. */
#include "test_support.h"

#include <stdlib.h>

#include "ops/ops.h"
#include "ops_ref.h"

static void check(uint32_t N, uint32_t C, uint32_t H, uint32_t W, uint32_t h, uint32_t w) {
    size_t n = (size_t)N * C * H * W, nv = (size_t)N * C * (H / h) * (W / w);
    float *x = malloc(n * sizeof *x), *v = malloc(nv * sizeof *v), *y = malloc(n * sizeof *y);
    double *want = malloc(n * sizeof *want);
    ts_rng rng = ts_rng_make(N + C * 5 + H * 11 + W * 13 + h * 17 + w * 19);
    ts_fill(&rng, x, n, -1.0f, 1.0f);
    ts_fill(&rng, v, nv, -3.0f, 3.0f);
    ref_broadcast_add(x, v, N, C, H, W, h, w, want);

    rm_buffer bx = ts_buffer_from(ts_ctx, x, n), bv = ts_buffer_from(ts_ctx, v, nv);
    rm_broadcast_add_params p = {N, C, H, W, h, w};
    rm_dispatch d;
    assert_int_equal(rm_broadcast_add_prepare(ts_ctx, &p, &d), REPMLP_OK);
    rm_binding b[2] = {ts_bind(&bx), ts_bind(&bv)};
    ts_run1(ts_ctx, &d, b);
    ts_buffer_read(ts_ctx, &bx, y, n);
    double err = ts_max_rel_error(y, want, n);
    print_message("broadcast_add N=%u C=%u %ux%u partition %ux%u: max rel error %.3g\n", N, C, H, W,
                  h, w, err);
    assert_true(err < 1e-7);
    ts_destroy_buffers(ts_ctx, &bx, &bv, NULL);
    free(x);
    free(v);
    free(y);
    free(want);
}

static void shapes(void **state) {
    (void)state;
    check(1, 1, 1, 1, 1, 1);
    check(1, 3, 7, 7, 7, 7);
    check(2, 7, 14, 21, 7, 7);
    check(3, 5, 12, 15, 3, 5);
    check(1, 97, 28, 28, 7, 7);
    check(2, 1, 56, 56, 1, 1);
    check(1, 49, 6, 9, 2, 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(shapes)};
    return ts_exit_code(ts_run_group(tests, ts_group_context_open, ts_group_context_close));
}
