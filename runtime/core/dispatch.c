#include "core/dispatch.h"

#include <string.h>

#include "core/error.h"
#include "core/fault.h"

repmlp_status rm_descriptor_pool_create(repmlp_context *ctx, uint32_t sets, VkDescriptorPool *out) {
    if (sets == 0) sets = 1;
    VkDescriptorPoolSize sizes[1] = {
        {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = sets * RM_MAX_BINDINGS},
    };
    VkDescriptorPoolCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = sets,
        .poolSizeCount = 1,
        .pPoolSizes = sizes,
    };
    VkResult r = rm_fault_hit(RM_FAULT_VULKAN_ALLOC)
                     ? VK_ERROR_OUT_OF_DEVICE_MEMORY
                     : ctx->vk.vkCreateDescriptorPool(ctx->device, &info, NULL, out);
    if (r != VK_SUCCESS) {
        *out = VK_NULL_HANDLE;
        return rm_vk_fail(ctx, r, "vkCreateDescriptorPool");
    }
    return REPMLP_OK;
}

void rm_descriptor_pool_destroy(repmlp_context *ctx, VkDescriptorPool pool) {
    if (pool) ctx->vk.vkDestroyDescriptorPool(ctx->device, pool, NULL);
}

repmlp_status rm_dispatch_bind(repmlp_context *ctx, VkDescriptorPool pool, rm_dispatch *d,
                               const rm_binding *bindings) {
    const rm_shader_info *info = rm_shader(d->pipeline->shader);
    VkDescriptorBufferInfo buffers[RM_MAX_BINDINGS];
    VkWriteDescriptorSet writes[RM_MAX_BINDINGS];
    for (uint32_t i = 0; i < info->binding_count; i++) {
        const rm_binding *b = &bindings[i];
        if (!b->buffer || b->range == 0)
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: binding %u is empty", info->name, i);
        if (b->range > ctx->caps.max_storage_buffer_range)
            return rm_fail(REPMLP_ERROR_TOO_LARGE,
                           "%s: binding %u spans %llu bytes, over the device's storage-buffer "
                           "range of %llu",
                           info->name, i, (unsigned long long)b->range,
                           (unsigned long long)ctx->caps.max_storage_buffer_range);
        if (b->offset % ctx->caps.min_storage_buffer_offset_alignment)
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                           "%s: binding %u offset %llu is not a multiple of %llu", info->name, i,
                           (unsigned long long)b->offset,
                           (unsigned long long)ctx->caps.min_storage_buffer_offset_alignment);
        buffers[i] =
            (VkDescriptorBufferInfo){.buffer = b->buffer, .offset = b->offset, .range = b->range};
    }
    VkDescriptorSetAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
        .descriptorPool = pool,
        .descriptorSetCount = 1,
        .pSetLayouts = &d->pipeline->set_layout,
    };
    VkResult r = ctx->vk.vkAllocateDescriptorSets(ctx->device, &alloc, &d->set);
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkAllocateDescriptorSets");
    for (uint32_t i = 0; i < info->binding_count; i++)
        writes[i] = (VkWriteDescriptorSet){
            .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
            .dstSet = d->set,
            .dstBinding = i,
            .descriptorCount = 1,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .pBufferInfo = &buffers[i],
        };
    ctx->vk.vkUpdateDescriptorSets(ctx->device, info->binding_count, writes, 0, NULL);
    return REPMLP_OK;
}

void rm_dispatch_record(const repmlp_context *ctx, VkCommandBuffer cmd, const rm_dispatch *d) {
    ctx->vk.vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, d->pipeline->pipeline);
    ctx->vk.vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, d->pipeline->layout, 0, 1,
                                    &d->set, 0, NULL);
    if (d->push_size)
        ctx->vk.vkCmdPushConstants(cmd, d->pipeline->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                                   d->push_size, d->push);
    ctx->vk.vkCmdDispatch(cmd, d->groups[0], d->groups[1], d->groups[2]);
}

void rm_barrier_compute(const repmlp_context *ctx, VkCommandBuffer cmd) {
    VkMemoryBarrier barrier = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
    };
    ctx->vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                 VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &barrier, 0, NULL, 0,
                                 NULL);
}

void rm_barrier_to_host(const repmlp_context *ctx, VkCommandBuffer cmd) {
    VkMemoryBarrier barrier = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT,
    };
    ctx->vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                                 VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1,
                                 &barrier, 0, NULL, 0, NULL);
}

repmlp_status rm_grid_1d(const repmlp_context *ctx, uint64_t invocations, uint32_t local_size,
                         uint32_t groups[3]) {
    uint64_t total = rm_div_up(invocations ? invocations : 1, local_size);
    uint64_t max_x = ctx->caps.max_workgroup_count[0];
    uint64_t gx = total < max_x ? total : max_x;
    uint64_t gy = rm_div_up(total, gx);
    if (gy > ctx->caps.max_workgroup_count[1] || invocations > UINT32_MAX)
        return rm_fail(REPMLP_ERROR_TOO_LARGE,
                       "a dispatch of %llu invocations exceeds the device's grid limits",
                       (unsigned long long)invocations);
    groups[0] = (uint32_t)gx;
    groups[1] = (uint32_t)gy;
    groups[2] = 1;
    return REPMLP_OK;
}
