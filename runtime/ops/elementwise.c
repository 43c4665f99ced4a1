#include "ops/elementwise.h"

#include <string.h>

#include "core/error.h"

/* 64 invocations fit every device (the Vulkan minimum is 128) and fill a subgroup almost
 * anywhere; wider where workgroups are planned for wider subgroups (caps.plan_subgroup_size),
 * within the workgroup limits. */
static uint32_t local_size(const repmlp_context *ctx) {
    const rm_device_caps *c = &ctx->caps;
    uint32_t local = c->plan_subgroup_size > 64 ? c->plan_subgroup_size : 64;
    if (local > c->max_workgroup_invocations) local = c->max_workgroup_invocations;
    if (local > c->max_workgroup_size[0]) local = c->max_workgroup_size[0];
    return local;
}

repmlp_status rm_elementwise_prepare_spec(repmlp_context *ctx, rm_shader_id shader, uint64_t total,
                                          const uint32_t *extra, uint32_t extra_count,
                                          const void *push, uint32_t push_size, rm_dispatch *out) {
    memset(out, 0, sizeof *out);
    if (total > UINT32_MAX)
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "%s: %llu elements is too large",
                       rm_shader(shader)->name, (unsigned long long)total);
    uint32_t local = local_size(ctx);
    uint32_t spec[RM_MAX_SPEC] = {local, 1, 1};
    if (extra_count > RM_MAX_SPEC - 3)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: %u specialization constants",
                       rm_shader(shader)->name, extra_count);
    if (extra_count) memcpy(spec + 3, extra, extra_count * sizeof *extra);
    repmlp_status st = rm_pipeline_get(ctx, shader, spec, 3 + extra_count, &out->pipeline);
    if (st != REPMLP_OK) return st;
    st = rm_grid_1d(ctx, total, local, out->groups);
    if (st != REPMLP_OK) return st;
    memcpy(out->push, push, push_size);
    out->push_size = push_size;
    return REPMLP_OK;
}

repmlp_status rm_elementwise_prepare(repmlp_context *ctx, rm_shader_id shader, uint64_t total,
                                     const void *push, uint32_t push_size, rm_dispatch *out) {
    return rm_elementwise_prepare_spec(ctx, shader, total, NULL, 0, push, push_size, out);
}
