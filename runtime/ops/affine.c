#include "core/error.h"
#include "ops/elementwise.h"
#include "ops/ops.h"

repmlp_status rm_affine_prepare(repmlp_context *ctx, const rm_affine_params *p, rm_dispatch *out) {
    if (!p->N || !p->C || !p->HW)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "affine: empty tensor (%u, %u, %u)", p->N,
                       p->C, p->HW);
    uint64_t total = (uint64_t)p->N * p->C * p->HW;
    uint32_t push[3] = {(uint32_t)total, p->C, p->HW};
    return rm_elementwise_prepare(ctx, RM_SHADER_AFFINE, total, push, sizeof push, out);
}

uint64_t rm_affine_flops(const rm_affine_params *p) {
    return 2ull * p->N * p->C * p->HW;
}
