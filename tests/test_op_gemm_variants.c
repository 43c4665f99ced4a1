/* Every GEMM row of an algorithm other than the register tile (rm_gemm_kernel_variants), forced
 * over the small cases of gemm_cases.h. A row this device cannot take is a loud skip; a device
 * that takes none of them skips the program. */
#include "gemm_cases.h"

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

/* Every row of an algorithm other than the register tile (whose rows test_op_gemm chooses
 * through tile_m), forced over the small cases: odd sizes, groups, the partition maps with the
 * addend at every k and through the run sums, V + S + R through AUX with the full epilogue,
 * fp16 weights, and a weight cut into parts. */
static void algorithms(void **state) {
    (void)state;
    uint32_t rows = 0, ran = 0;
    for (uint32_t i = 0; i < rm_gemm_kernel_variant_count; i++) {
        const rm_gemm_kernel_variant *v = &rm_gemm_kernel_variants[i];
        if (v->kernel != RM_GEMM_KERNEL_GEMM || v->algorithm == RM_GEMM_ALGORITHM_REGISTER)
            continue;
        rows++;
        if (!row_runs_here(v)) continue;
        ran++;
        ts_gemm_forced = v;
        ts_gemm_variant = v->path == RM_OPERAND_TEXEL ? RM_GEMM_TEXEL : RM_GEMM_STORAGE;
        if (v->weights == RM_GEMM_WEIGHTS_F32) {
            ts_gemm_plain(1, 1, 1, 1, false, false);
            ts_gemm_plain(3, 7, 1, 1, true, true);
            ts_gemm_plain(49, 97, 3, 1, false, true);
            ts_gemm_plain(2, 1, 1, 64, true, false);
            ts_gemm_partition_maps(1, 2, 2, 3, 3, 1, 1, 1, true);
            ts_gemm_digit_maps(7, 9, 4, (const uint32_t[3]){3, 2, 2}, 5, true);
        }
        /* The texel rows differ from the storage rows only in how they load (LOAD_X, LOAD_W4,
         * LOAD_V): the cases that cover every load and store (a pipeline costs SwiftShader up
         * to ~1 s to compile). */
        if (v->weights != RM_GEMM_WEIGHTS_F16) {
            ts_gemm_plain(7, 49, 97, 1, true, false);
            ts_gemm_plain(5, 3, 7, 2, true, false);
            ts_gemm_partition_maps(2, 4, 6, 14, 14, 7, 7, 2, true);
            ts_gemm_aux_case();
        }
        if (v->weights != RM_GEMM_WEIGHTS_F32) ts_gemm_fp16_cases(2);
        ts_gemm_forced = NULL;
    }
    assert_true(rows > 0); /* the list has such rows: this test must not pass empty */
    print_message("%u of %u gemm rows ran on %s\n", ran, rows, ts_ctx->info.name);
    if (!ran)
        ts_skip("no gemm row of these algorithms runs on %s (reasons above)", ts_ctx->info.name);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(algorithms),
    };
    return ts_exit_code(ts_run_group(tests, ts_group_context_open, ts_group_context_close));
}
