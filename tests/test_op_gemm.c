/* Grouped GEMM shader vs the C reference with the built-in kernels at every row tile and both
 * operand variants: sizes that are not tile multiples, several group counts, bias and ReLU on/off,
 * the partition gather/scatter index maps, fp16 weights and weights cut into parts. The other
 * algorithms' rows are forced over the same cases by test_op_gemm_variants. */
#include "gemm_cases.h"

#include <math.h>
#include <string.h>

#include "core/context.h"

static void odd_sizes(void **state) {
    ts_gemm_variant = *(rm_gemm_variant *)*state;
    ts_gemm_plain(1, 1, 1, 1, false, false);
    ts_gemm_plain(1, 3, 7, 1, true, false);
    ts_gemm_plain(3, 7, 1, 1, true, true);
    ts_gemm_plain(7, 49, 97, 1, true, false);
    ts_gemm_plain(49, 97, 3, 1, false, true);
    ts_gemm_plain(97, 1, 49, 1, true, false);
    ts_gemm_plain(3136, 7, 5, 1, true, true);
    ts_gemm_plain(33, 64, 33, 1, true, false);
}

static void groups(void **state) {
    ts_gemm_variant = *(rm_gemm_variant *)*state;
    ts_gemm_plain(5, 3, 7, 2, true, false);
    ts_gemm_plain(49, 49, 49, 4, true, true);
    ts_gemm_plain(7, 98, 13, 8, false, false);
    ts_gemm_plain(97, 12, 3, 3, true, false);
    ts_gemm_plain(2, 1, 1, 64, true, false);
}

static void partitions(void **state) {
    ts_gemm_variant = *(rm_gemm_variant *)*state;
    ts_gemm_partition_maps(1, 1, 1, 1, 1, 1, 1, 1, false);
    ts_gemm_partition_maps(2, 4, 6, 14, 14, 7, 7, 2, false);
    ts_gemm_partition_maps(3, 8, 8, 6, 10, 3, 5, 4, false);
    ts_gemm_partition_maps(1, 3, 5, 7, 7, 7, 7, 1, false);
    ts_gemm_partition_maps(2, 4, 6, 14, 14, 7, 7, 2, true);
    ts_gemm_partition_maps(3, 8, 8, 6, 10, 3, 5, 4, true);
    ts_gemm_partition_maps(1, 2, 2, 3, 3, 1, 1, 1, true);
}

static void digit_map_cases(void) {
    static const uint32_t r322[3] = {3, 2, 2}, r213[3] = {2, 1, 3};
    ts_gemm_digit_maps(7, 9, 4, r322, 5, false); /* K = 15: groups start inside digits */
    ts_gemm_digit_maps(7, 9, 4, r322, 5, true);
    ts_gemm_digit_maps(3, 70, 3, r213, 7, true); /* a radix of 1; K = 14 */
    ts_gemm_digit_maps(1, 5, 1, r213, 7, false);
}

static void digit_maps_all(void **state) {
    ts_gemm_variant = *(rm_gemm_variant *)*state;
    digit_map_cases();
}

static void fp16_weights(void **state) {
    ts_gemm_variant = *(rm_gemm_variant *)*state;
    if (ts_gemm_variant == RM_GEMM_STORAGE && !ts_ctx->caps.storage_16bit) {
        ts_skip("fp16 weights through storage buffers need 16-bit storage, which %s lacks (the "
                "texel ts_gemm_variant is still tested here)",
                ts_ctx->info.name);
    }
    assert_int_equal(rm_f32_to_f16(1.0f), 0x3c00);
    assert_int_equal(rm_f32_to_f16(-2.5f), 0xc100);
    assert_int_equal(rm_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(rm_f32_to_f16(65520.0f), 0x7c00);        /* rounds up to infinity */
    assert_int_equal(rm_f32_to_f16(1.0f + 0x1p-11f), 0x3c00); /* tie: to even */
    assert_int_equal(rm_f32_to_f16(1.0f + 0x1p-10f + 0x1p-11f), 0x3c02);
    assert_int_equal(rm_f32_to_f16(0x1p-24f), 0x0001); /* smallest subnormal */
    assert_int_equal(rm_f32_to_f16(0x1p-14f), 0x0400); /* smallest normal */
    ts_gemm_split_bytes = 0;
    ts_gemm_fp16_cases(4);
}

/* The bias of an fp16 block as hi + lo: how much of fp32's precision it keeps (measured), and
 * that the block puts hi and lo where the kernels read them. */
static void fp16_bias(void **state) {
    (void)state;
    enum { NO = 70, K = 3 };
    float w[NO * K] = {0}, b[NO], scratch[(K + 1) * RM_GEMM_PANEL];
    ts_rng rng = ts_rng_make(99);
    double worst = 0, worst_hi = 0;
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < NO; i++)
            b[i] = (ts_uniform(&rng, 0.5f, 1.0f) * (i % 2 ? -1.0f : 1.0f)) *
                   ldexpf(1.0f, round % 24 - 12);
        uint16_t packed[2 * 6 * RM_GEMM_PANEL];
        assert_int_equal(rm_gemm_packed_count(1, NO, K, 0, true), 2 * 6 * RM_GEMM_PANEL);
        assert_true(rm_gemm_pack_f16(w, b, 1, NO, K, 0, scratch, packed));
        for (int n = 0; n < NO; n++) {
            const uint16_t *block = packed + (n / RM_GEMM_PANEL) * 6 * RM_GEMM_PANEL;
            float hi = rm_f16_to_f32(block[K * RM_GEMM_PANEL + n % RM_GEMM_PANEL]);
            float lo = rm_f16_to_f32(block[(K + 1) * RM_GEMM_PANEL + n % RM_GEMM_PANEL]) / 2048;
            double rel = fabs(((double)hi + lo - b[n]) / b[n]), rel_hi = fabs((hi - b[n]) / b[n]);
            if (rel > worst) worst = rel;
            if (rel_hi > worst_hi) worst_hi = rel_hi;
        }
    }
    print_message("fp16 block bias, |b| in [2^-12, 2^12): max rel error hi + lo %.3g (hi alone "
                  "%.3g)\n",
                  worst, worst_hi);
    assert_true(worst < 5e-7);
}

static void aux_window(void **state) {
    ts_gemm_variant = *(rm_gemm_variant *)*state;
    ts_gemm_aux_case();
}

/* A weight cut into several dispatches (rm_gemm_params.split_bytes forces small bindings):
 * every part must cover its panels and groups exactly once. */
static void split(void **state) {
    ts_gemm_variant = RM_GEMM_STORAGE; /* texel views are never cut */
    (void)state;
    /* panels of one group per part (4 panels x 3 groups = 12 parts) */
    ts_gemm_split_bytes = rm_gemm_block_bytes(49, 0, false);
    ts_gemm_split_parts = 12;
    ts_gemm_plain(7, 49, 200, 3, true, false);
    /* 3 panels per part: a group's 4 panels in 2 parts */
    ts_gemm_split_bytes = 3 * rm_gemm_block_bytes(49, 0, false);
    ts_gemm_split_parts = 6;
    ts_gemm_plain(9, 49, 200, 3, true, true);
    /* whole groups per part: 2 groups of 1 panel, 5 groups -> 3 parts */
    ts_gemm_split_bytes = 2 * rm_gemm_block_bytes(13, 0, false) + 100;
    ts_gemm_split_parts = 3;
    ts_gemm_plain(33, 13, 7, 5, true, false);
    /* with the addend's run sums in the blocks: one block per part */
    ts_gemm_split_bytes = 1;
    ts_gemm_partition_maps(2, 4, 6, 14, 14, 7, 7, 2, true);
    ts_gemm_partition_maps(3, 8, 8, 6, 10, 3, 5, 4, true);
    ts_gemm_split_bytes = 0;
}

static void split_fp16(void **state) {
    ts_gemm_variant = RM_GEMM_STORAGE;
    (void)state;
    if (!ts_ctx->caps.storage_16bit)
        ts_skip("fp16 weights through storage buffers need 16-bit storage, which %s lacks",
                ts_ctx->info.name);
    ts_gemm_split_bytes = 1;
    ts_gemm_fp16_cases(4);
    ts_gemm_split_bytes = 0;
}

/* What cannot be cut is refused with the limit named. */
static void split_limits(void **state) {
    (void)state;
    rm_gemm_params p = rm_gemm_row_major(4, 49, 200, 3);
    p.variant = RM_GEMM_STORAGE;
    rm_dispatch d;
    p.split_bytes = rm_gemm_block_bytes(49, 0, false) - 256; /* one block does not fit */
    assert_int_equal(rm_gemm_prepare(ts_ctx, &p, &d), REPMLP_ERROR_TOO_LARGE);
    assert_non_null(strstr(repmlp_last_error(), "maxStorageBufferRange"));
    p = rm_gemm_row_major(4, 49, 64 * 40, 1); /* 40 parts of one block */
    p.variant = RM_GEMM_STORAGE;
    p.split_bytes = rm_gemm_block_bytes(49, 0, false);
    assert_int_equal(rm_gemm_prepare(ts_ctx, &p, &d), REPMLP_ERROR_TOO_LARGE);
    assert_non_null(strstr(repmlp_last_error(), "40 dispatches"));
    p.NO = 64 * RM_MAX_PARTS; /* exactly the most parts */
    assert_int_equal(rm_gemm_prepare(ts_ctx, &p, &d), REPMLP_OK);
    assert_int_equal(d.part_count, RM_MAX_PARTS);
}

int main(void) {
    static rm_gemm_variant storage = RM_GEMM_STORAGE, texel = RM_GEMM_TEXEL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(odd_sizes, &storage),
        cmocka_unit_test_prestate(groups, &storage),
        cmocka_unit_test_prestate(partitions, &storage),
        cmocka_unit_test_prestate(odd_sizes, &texel),
        cmocka_unit_test_prestate(groups, &texel),
        cmocka_unit_test_prestate(partitions, &texel),
        cmocka_unit_test_prestate(digit_maps_all, &storage),
        cmocka_unit_test_prestate(digit_maps_all, &texel),
        cmocka_unit_test_prestate(fp16_weights, &storage),
        cmocka_unit_test_prestate(fp16_weights, &texel),
        cmocka_unit_test(fp16_bias),
        cmocka_unit_test_prestate(aux_window, &storage),
        cmocka_unit_test_prestate(aux_window, &texel),
        cmocka_unit_test(split),
        cmocka_unit_test(split_fp16),
        cmocka_unit_test(split_limits),
    };
    return ts_exit_code(ts_run_group(tests, ts_group_context_open, ts_group_context_close));
}
