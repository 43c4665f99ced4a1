#include "core/pipeline.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/fault.h"
#include "core/limits.h"
#include "core/pipeline_stats.h"

struct rm_pipeline_cache_entry {
    rm_pipeline pipeline;
    struct rm_pipeline_cache_entry *next;
};

static void destroy_pipeline(repmlp_context *ctx, rm_pipeline *p) {
    rm_free(p->stats);
    if (p->pipeline) ctx->vk.vkDestroyPipeline(ctx->device, p->pipeline, ctx->vk_allocator);
    if (p->layout) ctx->vk.vkDestroyPipelineLayout(ctx->device, p->layout, ctx->vk_allocator);
    if (p->set_layout)
        ctx->vk.vkDestroyDescriptorSetLayout(ctx->device, p->set_layout, ctx->vk_allocator);
}

static repmlp_status build(repmlp_context *ctx, rm_pipeline *p) {
    const rm_shader_info *info = rm_shader(p->shader);
    VkDescriptorSetLayoutBinding bindings[16];
    for (uint32_t i = 0; i < info->binding_count; i++)
        bindings[i] = (VkDescriptorSetLayoutBinding){
            .binding = i,
            .descriptorType = rm_descriptor_type(info, i),
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
            .pImmutableSamplers = (info->image_mask >> i) & 1 ? &ctx->sampler : NULL,
        };
    VkDescriptorSetLayoutCreateInfo set_info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = info->binding_count,
        .pBindings = bindings,
    };
    VkResult r = RM_VK_CREATE(ctx->vk.vkCreateDescriptorSetLayout(
        ctx->device, &set_info, ctx->vk_allocator, &p->set_layout));
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkCreateDescriptorSetLayout");

    VkPushConstantRange push = {
        .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = info->push_size};
    VkPipelineLayoutCreateInfo layout_info = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &p->set_layout,
        .pushConstantRangeCount = info->push_size ? 1 : 0,
        .pPushConstantRanges = &push,
    };
    r = RM_VK_CREATE(
        ctx->vk.vkCreatePipelineLayout(ctx->device, &layout_info, ctx->vk_allocator, &p->layout));
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkCreatePipelineLayout");

    VkShaderModuleCreateInfo module_info = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = info->code_size,
        .pCode = info->code,
    };
    VkShaderModule module;
    r = RM_VK_CREATE(
        ctx->vk.vkCreateShaderModule(ctx->device, &module_info, ctx->vk_allocator, &module));
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkCreateShaderModule");

    VkSpecializationMapEntry entries[RM_MAX_SPEC];
    for (uint32_t i = 0; i < p->spec_count; i++)
        entries[i] = (VkSpecializationMapEntry){.constantID = i, .offset = i * 4, .size = 4};
    VkSpecializationInfo spec = {
        .mapEntryCount = p->spec_count,
        .pMapEntries = entries,
        .dataSize = p->spec_count * 4,
        .pData = p->spec,
    };
    VkComputePipelineCreateInfo pipeline_info = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .flags = ctx->caps.pipeline_stats
                     ? VK_PIPELINE_CREATE_CAPTURE_STATISTICS_BIT_KHR |
                           VK_PIPELINE_CREATE_CAPTURE_INTERNAL_REPRESENTATIONS_BIT_KHR
                     : 0,
        .stage =
            {
                .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = module,
                .pName = "main",
                .pSpecializationInfo = &spec,
            },
        .layout = p->layout,
    };
    r = RM_VK_CREATE(ctx->vk.vkCreateComputePipelines(
        ctx->device, ctx->pipeline_cache, 1, &pipeline_info, ctx->vk_allocator, &p->pipeline));
    ctx->vk.vkDestroyShaderModule(ctx->device, module, ctx->vk_allocator);
    if (r != VK_SUCCESS) {
        p->pipeline = VK_NULL_HANDLE;
        return rm_vk_fail(ctx, r, "vkCreateComputePipelines");
    }
    if (ctx->caps.pipeline_stats) {
        p->stats = rm_calloc(1, sizeof *p->stats);
        if (!p->stats) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
        rm_pipeline_stats_read(ctx, p->pipeline, p->stats);
    }
    return REPMLP_OK;
}

repmlp_status rm_pipeline_get(repmlp_context *ctx, rm_shader_id shader, const uint32_t *spec,
                              uint32_t spec_count, const rm_pipeline **out) {
    const rm_shader_info *info = rm_shader(shader);
    if (spec_count < 3 || spec_count > RM_MAX_SPEC)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "pipeline %s: %u specialization constants",
                       info->name, spec_count);
    /* Every layout and pipeline is checked here, before the driver sees it. */
    repmlp_status st = rm_limits_check_pipeline(ctx, info, spec);
    if (st != REPMLP_OK) return st;

    rm_mutex_lock(&ctx->lock);
    for (struct rm_pipeline_cache_entry *e = ctx->pipelines; e; e = e->next) {
        if (e->pipeline.shader == shader && e->pipeline.spec_count == spec_count &&
            memcmp(e->pipeline.spec, spec, spec_count * sizeof *spec) == 0) {
            *out = &e->pipeline;
            rm_mutex_unlock(&ctx->lock);
            return REPMLP_OK;
        }
    }
    struct rm_pipeline_cache_entry *entry = rm_calloc(1, sizeof *entry);
    if (!entry) {
        rm_mutex_unlock(&ctx->lock);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    entry->pipeline.shader = shader;
    entry->pipeline.spec_count = spec_count;
    memcpy(entry->pipeline.spec, spec, spec_count * sizeof *spec);
    st = build(ctx, &entry->pipeline);
    if (st != REPMLP_OK) {
        destroy_pipeline(ctx, &entry->pipeline);
        rm_free(entry);
        rm_mutex_unlock(&ctx->lock);
        return rm_fail_prefix(st, "shader %s", info->name);
    }
    entry->next = ctx->pipelines;
    ctx->pipelines = entry;
    *out = &entry->pipeline;
    rm_mutex_unlock(&ctx->lock);
    return REPMLP_OK;
}

void rm_pipelines_destroy_all(repmlp_context *ctx) {
    struct rm_pipeline_cache_entry *e = ctx->pipelines;
    while (e) {
        struct rm_pipeline_cache_entry *next = e->next;
        destroy_pipeline(ctx, &e->pipeline);
        rm_free(e);
        e = next;
    }
    ctx->pipelines = NULL;
}
