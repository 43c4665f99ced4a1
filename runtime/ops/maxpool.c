#include "core/error.h"
#include "ops/elementwise.h"
#include "ops/ops.h"

repmlp_status rm_maxpool_prepare(repmlp_context *ctx, const rm_maxpool_params *p,
                                 rm_dispatch *out) {
    if (!p->N || !p->C || !p->k || !p->stride || p->pad >= p->k || p->H + 2 * p->pad < p->k ||
        p->W + 2 * p->pad < p->k)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "maxpool: window %u, stride %u, padding %u do not fit a %ux%u map", p->k,
                       p->stride, p->pad, p->H, p->W);
    uint32_t oh = rm_conv_out_size(p->H, p->k, p->stride, p->pad);
    uint32_t ow = rm_conv_out_size(p->W, p->k, p->stride, p->pad);
    uint64_t total = (uint64_t)p->N * p->C * oh * ow;
    uint32_t push[8] = {(uint32_t)total, p->H, p->W, p->k, p->stride, p->pad, oh, ow};
    return rm_elementwise_prepare(ctx, RM_SHADER_MAXPOOL, total, push, sizeof push, out);
}

uint64_t rm_maxpool_flops(const rm_maxpool_params *p) {
    return (uint64_t)p->N * p->C * rm_conv_out_size(p->H, p->k, p->stride, p->pad) *
           rm_conv_out_size(p->W, p->k, p->stride, p->pad) * p->k * p->k;
}
