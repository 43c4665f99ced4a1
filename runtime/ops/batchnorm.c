#include <string.h>

#include "core/error.h"
#include "ops/elementwise.h"
#include "ops/ops.h"

/* docs/MODELS.md §0: every BatchNorm uses eps = 1e-5. */
#define RM_BN_EPS 1e-5f

repmlp_status rm_batchnorm_prepare(repmlp_context *ctx, const rm_batchnorm_params *p,
                                   rm_dispatch *out) {
    if (!p->N || !p->C || !p->HW)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "batchnorm: empty tensor (%u, %u, %u)", p->N,
                       p->C, p->HW);
    uint64_t total = (uint64_t)p->N * p->C * p->HW;
    uint32_t push[4] = {(uint32_t)total, p->C, p->HW, 0};
    float eps = RM_BN_EPS;
    memcpy(&push[3], &eps, sizeof eps);
    uint32_t spec[1] = {p->has_residual ? 1u : 0u};
    return rm_elementwise_prepare_spec(ctx, RM_SHADER_BATCHNORM, total, spec, 1, push, sizeof push,
                                       out);
}

uint64_t rm_batchnorm_flops(const rm_batchnorm_params *p) {
    return (4ull + p->has_residual) * p->N * p->C * p->HW;
}

repmlp_status rm_batchnorm_bindings(const repmlp_context *ctx, rm_dispatch *d, const char *label,
                                    const rm_binding *operands, rm_binding *bindings) {
    (void)ctx;
    (void)d;
    (void)label;
    /* beta, mean and var are packed behind gamma (1): never bound themselves */
    bindings[0] = operands[0];
    bindings[1] = operands[1];
    bindings[2] = operands[5];
    bindings[3] = operands[6];
    return REPMLP_OK;
}
