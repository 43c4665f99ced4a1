/* The disassembly parser of core/pipeline_stats.c: the hottest loop of ACO-style text (labels
 * "BBn:", backward branches), its instruction mix, and the lanes a workgroup fills. */
#include "test_support.h"
#include "core/pipeline_stats.h"

static repmlp_compile_stats parse(const char *text) {
    repmlp_compile_stats c;
    rm_pipeline_stats_clear(&c);
    rm_pipeline_stats_parse_loop(text, &c);
    return c;
}

/* An outer loop around an inner one with FMAs, and a second loop without: the inner FMA loop
 * is the hottest (the outer one holds the same FMAs, but is longer). Comments, encodings and
 * blank lines are not instructions. */
static void hottest_loop(void **state) {
    (void)state;
    const char *text = "BB0:\n"
                       "\ts_mov_b32 s0, 0                 ; be800380\n"
                       "BB1:\n"
                       "\tv_mov_b32 v1, 0\n"
                       "BB2:\n"
                       "\tbuffer_load_dwordx4 v[4:7], v2, s[4:7], 0 offen\n"
                       "\ts_waitcnt vmcnt(0)\n"
                       "\tv_fma_f32 v8, v4, v5, v8\n"
                       "\tv_fmac_f32 v9, v6, v7\n"
                       "\tv_add_nc_u32 v2, 16, v2\n"
                       "\ts_cbranch_scc1 BB2               ; bf85fff8\n"
                       "\n"
                       "; a comment line\n"
                       "\ts_add_u32 s0, s0, 1\n"
                       "\ts_cbranch_scc0 BB1\n"
                       "BB3:\n"
                       "\tglobal_load_dword v3, v[0:1], off\n"
                       "\tv_add_f32 v3, v3, v3\n"
                       "\ts_cbranch_execnz BB3\n"
                       "\ts_endpgm\n";
    repmlp_compile_stats c = parse(text);
    assert_int_equal(c.loop_instructions, 6);
    assert_int_equal(c.loop_fma, 2);
    assert_int_equal(c.loop_loads, 1);
    /* v_fma, v_fmac, v_add: the load, the wait and the branch are not vector ALU. */
    assert_int_equal(c.loop_vector_alu, 3);
}

/* Vector ALU of a loop: "v_" mnemonics only (not buffer_/global_/ds_ memory, not s_ scalar
 * ones); a text naming no "v_" instruction (another vendor's) does not report it. */
static void vector_alu(void **state) {
    (void)state;
    repmlp_compile_stats c = parse("BB1:\n"
                                   "\tv_cndmask_b32 v1, 0, v2, vcc\n"
                                   "\tv_cmp_gt_i32 vcc, s3, v4\n"
                                   "\tv_mad_u32_u24 v8, v4, 12, v3\n"
                                   "\tds_read_b32 v5, v6\n"
                                   "\tv_fmac_f32 v7, v5, v1\n"
                                   "\ts_add_u32 s3, s3, 1\n"
                                   "\ts_cbranch_scc1 BB1\n"
                                   "\tv_mov_b32 v0, 0\n");
    assert_int_equal(c.loop_instructions, 7);
    assert_int_equal(c.loop_fma, 1); /* the integer multiply-add is not an FMA */
    assert_int_equal(c.loop_vector_alu, 4);
    c = parse("L1:\n\tfma r0, r1, r2, r0\n\tadd r3, r3, 1\n\tjmp L1\n");
    assert_int_equal(c.loop_fma, 1);
    assert_int_equal(c.loop_vector_alu, REPMLP_NOT_REPORTED);
}

/* A loop of FMAs around a staging loop without (a shared-memory kernel): the outer one. */
static void fma_loop_around_another(void **state) {
    (void)state;
    repmlp_compile_stats c = parse("BB1:\n"
                                   "BB2:\n\tds_read_b128 v[0:3], v9\n\ts_cbranch_scc1 BB2\n"
                                   "\tv_fmac_f32 v4, v0, v1\n\tv_fmac_f32 v5, v2, v3\n"
                                   "\ts_cbranch_vccnz BB1\n");
    assert_int_equal(c.loop_instructions, 5);
    assert_int_equal(c.loop_fma, 2);
    assert_int_equal(c.loop_loads, 1);
}

/* A subgroup GEMV: the k loop inside a loop over column chunks whose epilogue holds a few FMAs
 * of its own (an activation): the k loop, not the longer loop with one FMA more. */
static void k_loop_inside_epilogue_loop(void **state) {
    (void)state;
    repmlp_compile_stats c = parse("BB1:\n"
                                   "BB2:\n\tbuffer_load_dword v0, v9, s[0:3], 0 offen\n"
                                   "\tv_fmac_f32 v4, v0, v1\n\tv_fmac_f32 v5, v0, v2\n"
                                   "\ts_cbranch_scc1 BB2\n"
                                   "\tv_cndmask_b32 v6, v4, v5, vcc\n\tv_fma_f32 v6, v6, v7, v8\n"
                                   "\tv_mul_f32 v6, v6, v6\n"
                                   "\ts_cbranch_vccnz BB1\n");
    assert_int_equal(c.loop_instructions, 4);
    assert_int_equal(c.loop_fma, 2);
    assert_int_equal(c.loop_vector_alu, 2);
}

/* Forward branches only (an unrolled kernel), and text that is not a disassembly: no loop. */
static void no_loop(void **state) {
    (void)state;
    repmlp_compile_stats c = parse("BB0:\n\ts_cbranch_execz BB1\n\tv_fma_f32 v0, v1, v2, v0\n"
                                   "BB1:\n\ts_endpgm\n");
    assert_int_equal(c.loop_instructions, REPMLP_NOT_REPORTED);
    assert_int_equal(c.loop_fma, REPMLP_NOT_REPORTED);
    assert_int_equal(c.loop_vector_alu, REPMLP_NOT_REPORTED);
    c = parse("");
    assert_int_equal(c.loop_loads, REPMLP_NOT_REPORTED);
    c = parse("BB7:\n\ts_branch BB7\n");
    assert_int_equal(c.loop_instructions, 1);
    assert_int_equal(c.loop_fma, 0);
}

static void lanes(void **state) {
    (void)state;
    repmlp_compile_stats c;
    rm_pipeline_stats_lanes((const uint32_t[3]){8, 2, 1}, 64, &c);
    assert_int_equal(c.lanes_active, 16);
    assert_int_equal(c.lanes, 64);
    rm_pipeline_stats_lanes((const uint32_t[3]){8, 8, 1}, 32, &c);
    assert_int_equal(c.lanes_active, 64);
    assert_int_equal(c.lanes, 64);
    rm_pipeline_stats_lanes((const uint32_t[3]){24, 1, 1}, 32, &c);
    assert_int_equal(c.lanes, 32);
    assert_int_equal(c.workgroup[0], 24);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hottest_loop), cmocka_unit_test(fma_loop_around_another),
        cmocka_unit_test(vector_alu),   cmocka_unit_test(k_loop_inside_epilogue_loop),
        cmocka_unit_test(no_loop),      cmocka_unit_test(lanes),
    };
    return ts_exit_code(ts_run_group(tests, NULL, NULL));
}
