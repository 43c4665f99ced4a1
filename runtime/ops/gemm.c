#include <string.h>

#include "core/error.h"
#include "ops/gemm_core.h"

repmlp_status rm_gemm_prepare(repmlp_context *ctx, const rm_gemm_params *p, rm_dispatch *out) {
    memset(out, 0, sizeof *out);
    rm_gemm_core c = {
        .name = "gemm",
        .kernel = RM_GEMM_KERNEL_GEMM,
        .w16 = p->w16,
        .variant = p->variant,
        .tile_m = p->tile_m,
        .force = p->force,
        .M = p->M,
        .K = p->K,
        .NO = p->NO,
        .groups = p->groups,
        .ep = p->ep,
        .y_rows = p->y_rows,
        .y_cols = p->y_cols,
        .has_addend = p->has_addend,
        .split_bytes = p->split_bytes,
    };
    c.ep.has_bias |= p->has_bias;
    if (c.ep.act == RM_ACT_NONE) c.ep.act = p->act;
    uint64_t cols = (uint64_t)p->groups * p->K;
    c.max_read[0] = rm_map_max_offset(&p->a_rows, p->M) + rm_map_max_offset(&p->a_cols, cols);
    uint32_t run = p->has_addend ? p->addend_run : 0;
    if (run) {
        /* V must be constant over each run: the leading stride-0 digits of v_cols cover it. */
        uint64_t flat = 1;
        for (int d = 0; d < 3 && p->v_cols.radix[d] && p->v_cols.stride[d] == 0; d++)
            flat *= p->v_cols.radix[d];
        if (p->K % run || flat % run)
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                           "gemm: addend run %u does not divide K=%u and V's constant runs (%llu)",
                           run, p->K, (unsigned long long)flat);
    }
    c.run = run;
    c.max_read[2] = p->has_addend
                        ? rm_map_max_offset(&p->v_rows, p->M) + rm_map_max_offset(&p->v_cols, cols)
                        : 0;
    uint32_t spec[RM_GEMM_MAX_SPEC] = {0};
    rm_gemm_put_map(spec + RM_SPEC_A_ROWS, &p->a_rows);
    rm_gemm_put_map(spec + RM_SPEC_A_COLS, &p->a_cols);
    spec[RM_SPEC_HAS_ADDEND] = p->has_addend ? 1u : 0u;
    spec[RM_SPEC_ADD_RUN] = run;
    spec[RM_SPEC_ADD_RUNS] = run ? p->K / run : 0;
    if (p->has_addend) {
        rm_gemm_put_map(spec + RM_SPEC_V_ROWS, &p->v_rows);
        rm_gemm_put_map(spec + RM_SPEC_V_COLS, &p->v_cols);
    }
    return rm_gemm_core_prepare(ctx, &c, spec, RM_GEMM_MAX_SPEC, out);
}

uint64_t rm_gemm_flops(const rm_gemm_params *p) {
    return 2ull * p->M * p->K * p->NO * p->groups;
}

repmlp_status rm_gemm_bindings(const repmlp_context *ctx, rm_dispatch *d, const char *label,
                               const rm_binding *operands, rm_binding *bindings) {
    return rm_gemm_core_bindings(ctx, d, label, operands, bindings);
}
