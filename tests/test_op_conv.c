/* conv (implicit GEMM) vs the C reference with the built-in kernels at every row tile and both
 * operand variants: the kernel shapes the networks use (7x7/s2/p3 stem, 3x3/p1 with stride 1
 * and 2, 1x1 pointwise and strided, 2x2/s2 and 4x4/s4 patch embeddings), grouped convs, odd
 * sizes, bias, activations and a residual, and the weights cut into parts. The other
 * algorithms' rows are forced over a subset by test_op_conv_variants. */
#include "conv_cases.h"

#include <string.h>

static const ts_conv_case cases[] = {
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
    ts_conv_variant = *(rm_gemm_variant *)*state;
    ts_conv_split = false;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) ts_conv_check(&cases[i]);
}

/* The same cases with each weight cut into one dispatch per panel block. */
static void split_weights(void **state) {
    (void)state;
    ts_conv_variant = RM_GEMM_STORAGE; /* texel views are never cut */
    ts_conv_split = true;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) ts_conv_check(&cases[i]);
    ts_conv_split = false;
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
    };
    return ts_exit_code(ts_run_group(tests, ts_group_context_open, ts_group_context_close));
}
