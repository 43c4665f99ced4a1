#include "ops/elementwise.h"

#include <string.h>

#include "core/error.h"

/* 64 invocations fit every device (the Vulkan minimum is 128) and fill a subgroup anywhere. */
#define RM_ELEMENTWISE_LOCAL 64

repmlp_status rm_elementwise_prepare(repmlp_context *ctx, rm_shader_id shader, uint64_t total,
                                     const void *push, uint32_t push_size, rm_dispatch *out) {
    memset(out, 0, sizeof *out);
    if (total > UINT32_MAX)
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "%s: %llu elements is too large",
                       rm_shader(shader)->name, (unsigned long long)total);
    uint32_t spec[3] = {RM_ELEMENTWISE_LOCAL, 1, 1};
    repmlp_status st = rm_pipeline_get(ctx, shader, spec, 3, &out->pipeline);
    if (st != REPMLP_OK) return st;
    st = rm_grid_1d(ctx, total, RM_ELEMENTWISE_LOCAL, out->groups);
    if (st != REPMLP_OK) return st;
    memcpy(out->push, push, push_size);
    out->push_size = push_size;
    return REPMLP_OK;
}
