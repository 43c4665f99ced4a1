/* Softmax + top-k on the device: an engine reads k (class, probability) pairs per image
 * instead of the whole classifier output. */
#include <string.h>

#include "core/error.h"
#include "ops/ops.h"

/* One workgroup per row; a power of two for the tree reductions, 64 fits every device. */
#define RM_TOPK_LOCAL 64

repmlp_status rm_softmax_topk_prepare(repmlp_context *ctx, const rm_softmax_topk_params *p,
                                      rm_dispatch *out) {
    memset(out, 0, sizeof *out);
    if (!p->rows || !p->classes || p->k < 1 || p->k > RM_TOPK_MAX || p->k > p->classes)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "softmax_topk: k = %u must be in [1, min(%u classes, %u)] (rows %u)", p->k,
                       p->classes, RM_TOPK_MAX, p->rows);
    if ((uint64_t)p->rows * p->classes > UINT32_MAX || (uint64_t)p->rows * p->k * 2 > UINT32_MAX)
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "softmax_topk: %u rows of %u classes is too large",
                       p->rows, p->classes);
    uint32_t spec[5] = {RM_TOPK_LOCAL, 1, 1, p->k, p->classes};
    repmlp_status st = rm_pipeline_get(ctx, RM_SHADER_SOFTMAX_TOPK, spec, 5, &out->pipeline);
    if (st != REPMLP_OK) return st;
    /* rows workgroups, flattened over x and y; the shader skips the excess ones. */
    st = rm_grid_1d(ctx, (uint64_t)p->rows * RM_TOPK_LOCAL, RM_TOPK_LOCAL, out->groups);
    if (st != REPMLP_OK) return st;
    memcpy(out->push, &p->rows, sizeof p->rows);
    out->push_size = sizeof p->rows;
    return REPMLP_OK;
}
