#include "core/error.h"
#include "ops/elementwise.h"
#include "ops/ops.h"
#include "ops/gemm_core.h"

repmlp_status rm_gather_prepare(repmlp_context *ctx, const rm_gather_params *p, rm_dispatch *out) {
    if (!p->rows || !p->cols)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "gather: empty output (%u, %u)", p->rows,
                       p->cols);
    uint64_t total = (uint64_t)p->rows * p->cols;
    uint64_t x_max =
        rm_map_max_offset(&p->x_rows, p->rows) + rm_map_max_offset(&p->x_cols, p->cols);
    uint64_t v_max = p->has_addend ? rm_map_max_offset(&p->v_rows, p->rows) +
                                         rm_map_max_offset(&p->v_cols, p->cols)
                                   : 0;
    if (total > UINT32_MAX || x_max >= UINT32_MAX || v_max >= UINT32_MAX)
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "gather: (%u, %u) addresses more than 2^32 elements",
                       p->rows, p->cols);
    uint32_t spec[30] = {p->cols};
    rm_gemm_put_map(spec + 1, &p->x_rows);
    rm_gemm_put_map(spec + 8, &p->x_cols);
    spec[15] = p->has_addend ? 1u : 0u;
    if (p->has_addend) {
        rm_gemm_put_map(spec + 16, &p->v_rows);
        rm_gemm_put_map(spec + 23, &p->v_cols);
    }
    uint32_t push = (uint32_t)total;
    return rm_elementwise_prepare_spec(ctx, RM_SHADER_GATHER, total, spec, 30, &push, sizeof push,
                                       out);
}

uint64_t rm_gather_flops(const rm_gather_params *p) {
    return p->has_addend ? (uint64_t)p->rows * p->cols : 0;
}
