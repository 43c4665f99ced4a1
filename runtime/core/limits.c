/* Device profiles and the limit checks (see core/limits.h). */
#include "core/limits.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* The Vulkan 1.1 required limits (the specification's "Required Limits" table; the allocation
 * size and descriptors per set are VK_KHR_maintenance3's minimums, core in 1.1). */
#define RM_VULKAN_MIN_LIMITS                                                                       \
    .max_workgroup_invocations = 128, .max_workgroup_size = {128, 128, 64},                        \
    .max_workgroup_count = {65535, 65535, 65535}, .max_shared_memory = 16384,                      \
    .max_push_constants = 128, .max_per_stage_storage_buffers = 4,                                 \
    .max_per_stage_sampled_images = 16, .max_per_stage_uniform_buffers = 12,                       \
    .max_bound_descriptor_sets = 4, .max_descriptor_set_storage_buffers = 24,                      \
    .max_per_set_descriptors = 1024, .max_storage_buffer_range = 1u << 27,                         \
    .max_texel_buffer_elements = 65536, .min_storage_buffer_offset_alignment = 256,                \
    .min_texel_buffer_offset_alignment = 256

static const rm_profile profiles[] = {
    {
        .name = "vulkan-min",
        .summary = "every limit clamped to the Vulkan 1.1 required minimum, no 16-bit storage, "
                   "no fp16 arithmetic, no cooperative matrices, no subgroup arithmetic",
        .limits = {RM_VULKAN_MIN_LIMITS, .max_allocation_size = 1ull << 30},
        .timestamps = true,
    },
    {
        .name = "phone",
        .summary = "Vulkan 1.1 minimums, 256 MiB allocations, no 16-bit storage, no fp16 "
                   "arithmetic, no cooperative matrices, no subgroup arithmetic, no timestamps, "
                   "workgroups planned for 64-wide subgroups",
        .limits = {RM_VULKAN_MIN_LIMITS, .max_allocation_size = 256ull << 20},
        .plan_subgroup_size = 64,
    },
};
#define RM_PROFILE_COUNT (sizeof profiles / sizeof profiles[0])

repmlp_status rm_limits_read_env(const rm_profile **profile, rm_operand_path *operand_path) {
    *profile = NULL;
    *operand_path = RM_OPERAND_UNDECIDED;
    const char *v = getenv("REPMLP_DEVICE_PROFILE");
    if (v && *v) {
        for (size_t i = 0; i < RM_PROFILE_COUNT && !*profile; i++)
            if (strcmp(v, profiles[i].name) == 0) *profile = &profiles[i];
        if (!*profile)
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                           "REPMLP_DEVICE_PROFILE='%.64s' is not a device profile (known: "
                           "vulkan-min, phone; unset it for the device's own limits)",
                           v);
    }
    v = getenv("REPMLP_OPERAND_PATH");
    if (v && *v) {
        if (strcmp(v, "storage") == 0)
            *operand_path = RM_OPERAND_STORAGE;
        else if (strcmp(v, "texel") == 0)
            *operand_path = RM_OPERAND_TEXEL;
        else
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                           "REPMLP_OPERAND_PATH='%.64s' is not an operand path (known: storage, "
                           "texel; unset it to let the library measure)",
                           v);
    }
    return REPMLP_OK;
}

bool rm_profile_allows_16bit(const rm_profile *p) {
    return !p || p->storage_16bit;
}

void rm_profile_apply(const rm_profile *p, rm_device_caps *c) {
    if (!c->plan_subgroup_size) c->plan_subgroup_size = c->subgroup_size;
    c->profile = p ? p->name : "none";
    if (!p) return;
    const rm_device_caps *l = &p->limits;
#define RM_LOWER(f)                                                                                \
    if (l->f && l->f < c->f) c->f = l->f
#define RM_RAISE(f)                                                                                \
    if (l->f > c->f) c->f = l->f
    RM_LOWER(max_workgroup_invocations);
    for (int i = 0; i < 3; i++) {
        RM_LOWER(max_workgroup_size[i]);
        RM_LOWER(max_workgroup_count[i]);
    }
    RM_LOWER(max_shared_memory);
    RM_LOWER(max_push_constants);
    RM_LOWER(max_per_stage_storage_buffers);
    RM_LOWER(max_per_stage_sampled_images);
    RM_LOWER(max_per_stage_uniform_buffers);
    RM_LOWER(max_bound_descriptor_sets);
    RM_LOWER(max_descriptor_set_storage_buffers);
    RM_LOWER(max_per_set_descriptors);
    RM_LOWER(max_storage_buffer_range);
    RM_LOWER(max_texel_buffer_elements);
    RM_LOWER(max_allocation_size);
    RM_RAISE(min_storage_buffer_offset_alignment);
    RM_RAISE(min_texel_buffer_offset_alignment);
#undef RM_LOWER
#undef RM_RAISE
    c->storage_16bit = c->storage_16bit && p->storage_16bit;
    c->fp16_weights = c->fp16_weights && p->storage_16bit;
    c->subgroup_arithmetic = c->subgroup_arithmetic && p->subgroup_arithmetic;
    c->shader_float16 = c->shader_float16 && p->shader_float16;
    c->cooperative_matrix_nv = c->cooperative_matrix_nv && p->cooperative_matrix_nv;
    if (!p->timestamps) {
        c->timestamps = false;
        c->timestamp_valid_bits = 0;
    }
    if (p->plan_subgroup_size) c->plan_subgroup_size = p->plan_subgroup_size;
}

/* Fails with the message (and, in test builds, logs it as an ERROR). */
static repmlp_status limit_fail(const repmlp_context *ctx, repmlp_status st, const char *message) {
#ifdef REPMLP_FAULT_INJECTION
    rm_log(ctx, REPMLP_LOG_ERROR, "device limit: %s", message);
#else
    (void)ctx;
#endif
    return rm_fail(st, "%s", message);
}

#define RM_SAY(...) (snprintf(msg, size, __VA_ARGS__), true)

/* True (with the message and status) when a pipeline of info violates a limit; local_size
 * NULL skips the workgroup. */
static bool pipeline_violation(const repmlp_context *ctx, const rm_shader_info *info,
                               const uint32_t *local_size, repmlp_status *st, char *msg,
                               size_t size) {
    const rm_device_caps *c = &ctx->caps;
    uint32_t texel = 0;
    for (uint32_t i = 0; i < info->binding_count; i++) texel += (info->texel_mask >> i) & 1;
    uint32_t storage = info->binding_count - texel;
    *st = REPMLP_ERROR_UNSUPPORTED;
    if (storage > c->max_per_stage_storage_buffers)
        return RM_SAY("pipeline %s: declares %u storage buffers; the device allows %u per stage "
                      "(maxPerStageDescriptorStorageBuffers, profile %s)",
                      info->name, storage, c->max_per_stage_storage_buffers, c->profile);
    if (storage > c->max_descriptor_set_storage_buffers)
        return RM_SAY("pipeline %s: declares %u storage buffers; the device allows %u per "
                      "pipeline layout (maxDescriptorSetStorageBuffers, profile %s)",
                      info->name, storage, c->max_descriptor_set_storage_buffers, c->profile);
    if (texel > c->max_per_stage_sampled_images)
        return RM_SAY("pipeline %s: declares %u uniform texel buffers; the device allows %u per "
                      "stage (maxPerStageDescriptorSampledImages, profile %s)",
                      info->name, texel, c->max_per_stage_sampled_images, c->profile);
    if (info->binding_count > c->max_per_set_descriptors)
        return RM_SAY("pipeline %s: declares %u descriptors in its set; the device allows %u "
                      "(maxPerSetDescriptors, profile %s)",
                      info->name, info->binding_count, c->max_per_set_descriptors, c->profile);
    if (c->max_bound_descriptor_sets < 1)
        return RM_SAY("pipeline %s: binds 1 descriptor set; the device allows %u "
                      "(maxBoundDescriptorSets, profile %s)",
                      info->name, c->max_bound_descriptor_sets, c->profile);
    if (info->push_size > c->max_push_constants)
        return RM_SAY("pipeline %s: declares %u bytes of push constants; the device allows %u "
                      "(maxPushConstantsSize, profile %s)",
                      info->name, info->push_size, c->max_push_constants, c->profile);
    if (!local_size) return false;
    uint64_t invocations = 1;
    for (int i = 0; i < 3; i++) {
        if (local_size[i] > c->max_workgroup_size[i])
            return RM_SAY("pipeline %s: workgroup size %u in dimension %c; the device allows %u "
                          "(maxComputeWorkGroupSize[%d], profile %s)",
                          info->name, local_size[i], "xyz"[i], c -> max_workgroup_size[i], i,
                          c -> profile);
        invocations *= local_size[i];
    }
    if (invocations > c->max_workgroup_invocations)
        return RM_SAY("pipeline %s: %llu invocations per workgroup; the device allows %u "
                      "(maxComputeWorkGroupInvocations, profile %s)",
                      info->name, (unsigned long long)invocations, c->max_workgroup_invocations,
                      c->profile);
    return false;
}

repmlp_status rm_limits_check_pipeline(const repmlp_context *ctx, const rm_shader_info *info,
                                       const uint32_t *local_size) {
    for (int i = 0; i < 3; i++)
        if (local_size[i] == 0)
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                           "pipeline %s: workgroup size 0 in dimension %c", info->name, "xyz"[i]);
    char msg[512];
    repmlp_status st;
    if (pipeline_violation(ctx, info, local_size, &st, msg, sizeof msg))
        return limit_fail(ctx, st, msg);
    return REPMLP_OK;
}

bool rm_limits_shader_fits(const repmlp_context *ctx, const rm_shader_info *info, char *why,
                           size_t why_size) {
    repmlp_status st;
    return !pipeline_violation(ctx, info, NULL, &st, why, why_size);
}

repmlp_status rm_limits_check_buffer(const repmlp_context *ctx, uint64_t size) {
    const rm_device_caps *c = &ctx->caps;
    char msg[512];
    size_t n = sizeof msg;
    if (c->max_allocation_size && size > c->max_allocation_size) {
        snprintf(msg, n,
                 "a buffer of %llu bytes exceeds the device's allocation limit of %llu bytes "
                 "(maxMemoryAllocationSize, profile %s)",
                 (unsigned long long)size, (unsigned long long)c->max_allocation_size, c->profile);
        return limit_fail(ctx, REPMLP_ERROR_TOO_LARGE, msg);
    }
    if (c->device_local_bytes && size > c->device_local_bytes)
        return rm_fail(REPMLP_ERROR_OUT_OF_DEVICE_MEMORY,
                       "a buffer of %llu bytes exceeds the device's memory of %llu bytes",
                       (unsigned long long)size, (unsigned long long)c->device_local_bytes);
    return REPMLP_OK;
}

repmlp_status rm_limits_check_binding(const repmlp_context *ctx, const rm_shader_info *info,
                                      uint32_t index, const rm_binding *b, bool texel) {
    const rm_device_caps *c = &ctx->caps;
    char msg[512];
    size_t n = sizeof msg;
    if (!texel && b->range > c->max_storage_buffer_range) {
        snprintf(msg, n,
                 "pipeline %s: binding %u spans %llu bytes; the device binds at most %llu "
                 "(maxStorageBufferRange, profile %s)",
                 info->name, index, (unsigned long long)b->range,
                 (unsigned long long)c->max_storage_buffer_range, c->profile);
        return limit_fail(ctx, REPMLP_ERROR_TOO_LARGE, msg);
    }
    uint64_t align =
        texel ? c->min_texel_buffer_offset_alignment : c->min_storage_buffer_offset_alignment;
    if (align && b->offset % align) {
        snprintf(msg, n,
                 "pipeline %s: binding %u at offset %llu; the device needs multiples of %llu "
                 "(%s, profile %s)",
                 info->name, index, (unsigned long long)b->offset, (unsigned long long)align,
                 texel ? "minTexelBufferOffsetAlignment" : "minStorageBufferOffsetAlignment",
                 c->profile);
        return limit_fail(ctx, REPMLP_ERROR_UNSUPPORTED, msg);
    }
    return REPMLP_OK;
}

repmlp_status rm_limits_check_texel_reads(const repmlp_context *ctx, const char *what,
                                          uint64_t texels) {
    const rm_device_caps *c = &ctx->caps;
    if (texels <= c->max_texel_buffer_elements) return REPMLP_OK;
    char msg[512];
    snprintf(msg, sizeof msg,
             "%s: reads %llu texels through one uniform texel buffer; the device allows %llu "
             "(maxTexelBufferElements, profile %s)",
             what, (unsigned long long)texels, (unsigned long long)c->max_texel_buffer_elements,
             c->profile);
    return limit_fail(ctx, REPMLP_ERROR_TOO_LARGE, msg);
}

repmlp_status rm_limits_check_groups(const repmlp_context *ctx, const char *what, uint64_t x,
                                     uint64_t y, uint64_t z) {
    const uint32_t *m = ctx->caps.max_workgroup_count;
    if (x <= m[0] && y <= m[1] && z <= m[2]) return REPMLP_OK;
    char msg[512];
    snprintf(msg, sizeof msg,
             "%s: a grid of %llux%llux%llu workgroups; the device allows %ux%ux%u "
             "(maxComputeWorkGroupCount, profile %s)",
             what, (unsigned long long)x, (unsigned long long)y, (unsigned long long)z, m[0], m[1],
             m[2], ctx->caps.profile);
    return limit_fail(ctx, REPMLP_ERROR_TOO_LARGE, msg);
}
