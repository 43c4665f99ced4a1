#include <string.h>

#include "core/error.h"
#include "core/limits.h"
#include "ops/ops.h"

/* The spec constants after the workgroup size, in shaders/global_perceptron.comp's order. */
enum { GP_C = 3, GP_H, GP_W, GP_PH, GP_PW, GP_I, GP_ACT, GP_D, GP_HP, GP_WP, GP_SPEC_COUNT };

uint64_t rm_global_perceptron_width(const rm_global_perceptron_params *p) {
    if (!p->h || !p->w) return 0;
    return (uint64_t)p->C * (p->H / p->h) * (p->W / p->w);
}

/* One workgroup per image runs both layers (2 * D * I multiply-adds) on one compute unit, each
 * lane reading its own weight row: it saves two dispatches but gives up the GEMM core's
 * parallelism and packed weights, so it pays only for small perceptrons. Measured on both CPU
 * drivers (bench/RESULTS.md): for the RepMLP-Res50 block shapes (D * I of 65,536 and more) the
 * unfused ops were 1.2-10x faster at batch 1 and 32. */
#define RM_GP_FUSED_MAX_WEIGHTS 16384

/* pooled and hidden live in shared memory, and the four weight tensors are bound as one window
 * (placed together in one weight buffer, each at an aligned offset): a perceptron that does not
 * fit takes the unfused ops. */
bool rm_global_perceptron_fits(const repmlp_context *ctx, const rm_global_perceptron_params *p) {
    if (!ctx) return false; /* no device (a model parsed for its metadata): the unfused ops */
    const rm_device_caps *c = &ctx->caps;
    uint64_t D = rm_global_perceptron_width(p);
    if (D * p->I > RM_GP_FUSED_MAX_WEIGHTS || rm_test_hook(ctx, unfuse_perceptrons)) return false;
    uint64_t window = (2 * D * p->I + D + p->I) * sizeof(float) + 4 * rm_caps_binding_alignment(c);
    return (D + p->I) * sizeof(float) <= c->max_shared_memory &&
           window <= c->max_storage_buffer_range && window <= c->max_allocation_size;
}

repmlp_status rm_global_perceptron_prepare(repmlp_context *ctx,
                                           const rm_global_perceptron_params *p, rm_dispatch *out) {
    memset(out, 0, sizeof *out);
    if (!p->N || !p->C || !p->I || !p->h || !p->w || p->H % p->h || p->W % p->w ||
        (p->act != RM_ACT_NONE && p->act != RM_ACT_SIGMOID))
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "global_perceptron: N=%u C=%u %ux%u map, %ux%u window, I=%u, act %d", p->N,
                       p->C, p->H, p->W, p->h, p->w, p->I, (int)p->act);
    uint64_t D = rm_global_perceptron_width(p);
    uint64_t input = (uint64_t)p->N * p->C * p->H * p->W, weights = 2 * D * p->I + D + p->I;
    if (input > UINT32_MAX || weights > UINT32_MAX || (uint64_t)p->N * D > UINT32_MAX)
        return rm_fail(REPMLP_ERROR_TOO_LARGE,
                       "global_perceptron: N=%u C=%u %ux%u, I=%u addresses more than 2^32 elements",
                       p->N, p->C, p->H, p->W, p->I);
    uint64_t shared = (D + p->I) * sizeof(float);
    if (shared > ctx->caps.max_shared_memory)
        return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                       "global_perceptron: %llu B of shared memory (D=%llu, I=%u); the device "
                       "allows %u (maxComputeSharedMemorySize, profile %s)",
                       (unsigned long long)shared, (unsigned long long)D, p->I,
                       ctx->caps.max_shared_memory, ctx->caps.profile);
    /* One workgroup per image: as wide as a planned subgroup, at least 64 lanes. */
    uint32_t local = ctx->caps.plan_subgroup_size > 64 ? ctx->caps.plan_subgroup_size : 64;
    if (local > ctx->caps.max_workgroup_invocations) local = ctx->caps.max_workgroup_invocations;
    if (local > ctx->caps.max_workgroup_size[0]) local = ctx->caps.max_workgroup_size[0];
    repmlp_status st = rm_limits_check_groups(ctx, "global_perceptron", p->N, 1, 1);
    if (st != REPMLP_OK) return st;
    uint32_t spec[GP_SPEC_COUNT] = {local, 1, 1};
    spec[GP_C] = p->C;
    spec[GP_H] = p->H;
    spec[GP_W] = p->W;
    spec[GP_PH] = p->h;
    spec[GP_PW] = p->w;
    spec[GP_I] = p->I;
    spec[GP_ACT] = (uint32_t)p->act;
    spec[GP_D] = (uint32_t)D;
    spec[GP_HP] = p->H / p->h; /* the host divides: no specialization-constant division */
    spec[GP_WP] = p->W / p->w;
    st = rm_pipeline_get(ctx, RM_SHADER_GLOBAL_PERCEPTRON, spec, GP_SPEC_COUNT, &out->pipeline);
    if (st != REPMLP_OK) return st;
    out->groups[0] = p->N;
    out->groups[1] = out->groups[2] = 1;
    out->push_size = 4 * sizeof(uint32_t); /* the weight offsets: rm_global_perceptron_offsets */
    return REPMLP_OK;
}

void rm_global_perceptron_offsets(rm_dispatch *d, const uint32_t offsets[4]) {
    memcpy(d->push, offsets, 4 * sizeof *offsets);
}

repmlp_status rm_global_perceptron_bindings(const repmlp_context *ctx, rm_dispatch *d,
                                            const char *label, const rm_binding *operands,
                                            rm_binding *bindings) {
    uint32_t offsets[4];
    repmlp_status st = rm_binding_window(ctx, label, operands + 1, 4, &bindings[1], offsets);
    if (st != REPMLP_OK) return st;
    rm_global_perceptron_offsets(d, offsets);
    bindings[0] = operands[0];
    bindings[2] = operands[5];
    return REPMLP_OK;
}

uint64_t rm_global_perceptron_flops(const rm_global_perceptron_params *p) {
    return (uint64_t)p->N *
           ((uint64_t)p->C * p->H * p->W + 4 * rm_global_perceptron_width(p) * p->I);
}
