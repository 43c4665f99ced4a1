/* Every conv row of an algorithm other than the register tile (rm_gemm_kernel_variants),
 * forced over small cases, with fp16 weights where the row reads them. A row this device cannot
 * take is a loud skip; a device that takes none of them skips the program. */
#include "conv_cases.h"

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
    static const ts_conv_case small[] = {
        {2, 5, 7, 9, 7, 3, 1, 1, 1, RM_ACT_RELU, true, false, 0, 0},
        {1, 6, 13, 13, 9, 3, 2, 1, 3, RM_ACT_NONE, true, false, 0, 0},
        {2, 12, 7, 7, 20, 1, 1, 0, 1, RM_ACT_NONE, true, true, 0, 0},
        {1, 2, 3, 3, 3, 5, 1, 2, 1, RM_ACT_GELU, true, true, 0, 0},
        {1, 97, 5, 3, 49, 3, 1, 1, 1, RM_ACT_SIGMOID, true, true, 0, 0},
    };
    uint32_t rows = 0, ran = 0;
    for (uint32_t i = 0; i < rm_gemm_kernel_variant_count; i++) {
        const rm_gemm_kernel_variant *v = &rm_gemm_kernel_variants[i];
        if (v->kernel != RM_GEMM_KERNEL_CONV || v->algorithm == RM_GEMM_ALGORITHM_REGISTER)
            continue;
        rows++;
        if (!row_runs_here(v)) continue;
        ran++;
        ts_conv_forced = v;
        ts_conv_variant = v->path == RM_OPERAND_TEXEL ? RM_GEMM_TEXEL : RM_GEMM_STORAGE;
        for (size_t c = 0; c < sizeof small / sizeof small[0]; c++) ts_conv_check(&small[c]);
        ts_conv_forced = NULL;
    }
    assert_true(rows > 0); /* the list has such rows: this test must not pass empty */
    print_message("%u of %u conv rows ran on %s\n", ran, rows, ts_ctx->info.name);
    if (!ran)
        ts_skip("no conv row of these algorithms runs on %s (reasons above)", ts_ctx->info.name);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(algorithms),
    };
    return ts_exit_code(ts_run_group(tests, ts_group_context_open, ts_group_context_close));
}
