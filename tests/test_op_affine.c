/* affine (a per-channel scale and shift) vs the C reference. */
#include "test_support.h"

#include <stdlib.h>

#include "nn_ref.h"
#include "ops/ops.h"

static void affine(void **state) {
    (void)state;
    const uint32_t N = 3, C = 7, HW = 49;
    size_t n = (size_t)N * C * HW;
    float *x = malloc(n * 4), *y = malloc(n * 4), sc[7], sh[7];
    ts_rng rng = ts_rng_make(99);
    ts_fill(&rng, x, n, -2.0f, 2.0f);
    ts_fill(&rng, sc, C, -1.5f, 1.5f);
    ts_fill(&rng, sh, C, -1.0f, 1.0f);
    double *want = ts_to_double(x, n), scd[7], shd[7];
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

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(affine)};
    return ts_exit_code(ts_run_group(tests, ts_group_context_open, ts_group_context_close));
}
