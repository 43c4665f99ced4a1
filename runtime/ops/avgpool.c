#include "core/error.h"
#include "ops/elementwise.h"
#include "ops/ops.h"

repmlp_status rm_avgpool_prepare(repmlp_context *ctx, const rm_avgpool_params *p,
                                 rm_dispatch *out) {
    if (!p->N || !p->C || !p->kh || !p->kw || p->H % p->kh || p->W % p->kw)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "avgpool: window %ux%u does not tile a %ux%u map (N=%u, C=%u)", p->kh, p->kw,
                       p->H, p->W, p->N, p->C);
    if ((uint64_t)p->N * p->C * p->H * p->W > UINT32_MAX)
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "avgpool: input of %llu elements is too large",
                       (unsigned long long)p->N * p->C * p->H * p->W);
    uint32_t oh = p->H / p->kh, ow = p->W / p->kw;
    uint64_t total = (uint64_t)p->N * p->C * oh * ow;
    struct {
        uint32_t total, H, W, kh, kw, OH, OW;
        float scale;
    } push = {(uint32_t)total, p->H, p->W, p->kh, p->kw, oh, ow, 1.0f / (float)(p->kh * p->kw)};
    return rm_elementwise_prepare(ctx, RM_SHADER_AVGPOOL, total, &push, sizeof push, out);
}

uint64_t rm_avgpool_flops(const rm_avgpool_params *p) {
    return (uint64_t)p->N * p->C * p->H * p->W;
}
