#include "core/error.h"
#include "ops/elementwise.h"
#include "ops/ops.h"

repmlp_status rm_broadcast_add_prepare(repmlp_context *ctx, const rm_broadcast_add_params *p,
                                       rm_dispatch *out) {
    if (!p->N || !p->C || !p->h || !p->w || p->H % p->h || p->W % p->w)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "broadcast_add: partition %ux%u does not tile a %ux%u map", p->h, p->w, p->H,
                       p->W);
    uint64_t total = (uint64_t)p->N * p->C * p->H * p->W;
    uint32_t push[7] = {(uint32_t)total, p->H, p->W, p->h, p->w, p->H / p->h, p->W / p->w};
    return rm_elementwise_prepare(ctx, RM_SHADER_BROADCAST_ADD, total, push, sizeof push, out);
}

uint64_t rm_broadcast_add_flops(const rm_broadcast_add_params *p) {
    return (uint64_t)p->N * p->C * p->H * p->W;
}
