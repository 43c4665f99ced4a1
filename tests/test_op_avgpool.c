/* avgpool shader vs the C reference: windows that tile the map, and the global pool. */
#include "test_support.h"

#include <stdlib.h>

#include "ops/ops.h"
#include "ops_ref.h"

static void check(uint32_t N, uint32_t C, uint32_t H, uint32_t W, uint32_t kh, uint32_t kw) {
    size_t nin = (size_t)N * C * H * W, nout = (size_t)N * C * (H / kh) * (W / kw);
    float *x = malloc(nin * sizeof *x), *y = malloc(nout * sizeof *y);
    double *want = malloc(nout * sizeof *want);
    ts_rng rng = ts_rng_make(N * 131 + C * 17 + H + W * 7 + kh * 3 + kw);
    ts_fill(&rng, x, nin, -2.0f, 2.0f);
    ref_avgpool(x, N, C, H, W, kh, kw, want);

    rm_buffer bx = ts_buffer_from(ts_ctx, x, nin), by = ts_buffer_from(ts_ctx, NULL, nout);
    rm_avgpool_params p = {N, C, H, W, kh, kw};
    rm_dispatch d;
    assert_int_equal(rm_avgpool_prepare(ts_ctx, &p, &d), REPMLP_OK);
    rm_binding b[2] = {ts_bind(&bx), ts_bind(&by)};
    double ms, err = ts_run_compare(ts_ctx, &d, b, &by, y, want, nout, &ms);
    print_message("avgpool N=%u C=%u %ux%u window %ux%u: max rel error %.3g (%.2f ms)\n", N, C, H,
                  W, kh, kw, err, ms);
    assert_true(err < 1e-5); /* fp32 sums of up to 3136 terms: worst measured 1.2e-6 */
    ts_destroy_buffers(ts_ctx, &bx, &by, NULL);
    free(x);
    free(y);
    free(want);
}

static void windows(void **state) {
    (void)state;
    check(1, 1, 1, 1, 1, 1);
    check(1, 3, 7, 7, 7, 7);
    check(2, 7, 21, 14, 7, 7);
    check(3, 5, 12, 15, 3, 5);
    check(1, 97, 28, 28, 7, 7);
    check(2, 13, 9, 6, 1, 2);
}

static void global_pool(void **state) {
    (void)state;
    check(1, 3, 56, 56, 56, 56); /* 3136 elements per channel */
    check(3, 49, 7, 7, 7, 7);
    check(2, 1, 97, 3, 97, 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(windows), cmocka_unit_test(global_pool)};
    return ts_exit_code(ts_run_group(tests, ts_group_context_open, ts_group_context_close));
}
