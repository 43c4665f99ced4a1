#include <string.h>

#include "core/error.h"
#include "ops/ops.h"

#define RM_ELEMENTWISE_LOCAL 64

repmlp_status rm_broadcast_add_prepare(repmlp_context *ctx, const rm_broadcast_add_params *p,
                                       rm_dispatch *out) {
    memset(out, 0, sizeof *out);
    if (!p->N || !p->C || !p->h || !p->w || p->H % p->h || p->W % p->w)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "broadcast_add: partition %ux%u does not tile a %ux%u map", p->h, p->w, p->H,
                       p->W);
    uint64_t total = (uint64_t)p->N * p->C * p->H * p->W;
    if (total > UINT32_MAX)
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "broadcast_add: %llu elements is too large",
                       (unsigned long long)total);
    uint32_t spec[3] = {RM_ELEMENTWISE_LOCAL, 1, 1};
    repmlp_status st = rm_pipeline_get(ctx, RM_SHADER_BROADCAST_ADD, spec, 3, &out->pipeline);
    if (st != REPMLP_OK) return st;
    st = rm_grid_1d(ctx, total, RM_ELEMENTWISE_LOCAL, out->groups);
    if (st != REPMLP_OK) return st;
    uint32_t push[7] = {(uint32_t)total, p->H, p->W, p->h, p->w, p->H / p->h, p->W / p->w};
    memcpy(out->push, push, sizeof push);
    out->push_size = sizeof push;
    return REPMLP_OK;
}
