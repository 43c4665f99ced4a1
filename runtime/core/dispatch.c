#include "core/dispatch.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/fault.h"
#include "core/limits.h"

repmlp_status rm_descriptor_pool_create(repmlp_context *ctx, uint32_t sets, VkDescriptorPool *out) {
    if (sets == 0) sets = 1;
    VkDescriptorPoolSize sizes[3] = {
        {.type = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, .descriptorCount = sets * RM_MAX_BINDINGS},
        {.type = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
         .descriptorCount = sets * RM_MAX_BINDINGS},
        {.type = VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, .descriptorCount = sets},
    };
    VkDescriptorPoolCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
        .maxSets = sets,
        .poolSizeCount = 3,
        .pPoolSizes = sizes,
    };
    VkResult r =
        RM_VK_CREATE(ctx->vk.vkCreateDescriptorPool(ctx->device, &info, ctx->vk_allocator, out));
    if (r != VK_SUCCESS) {
        *out = VK_NULL_HANDLE;
        return rm_vk_fail(ctx, r, "vkCreateDescriptorPool");
    }
    return REPMLP_OK;
}

void rm_descriptor_pool_destroy(repmlp_context *ctx, VkDescriptorPool pool) {
    if (pool) ctx->vk.vkDestroyDescriptorPool(ctx->device, pool, ctx->vk_allocator);
}

static repmlp_status check_binding(const repmlp_context *ctx, const rm_shader_info *info,
                                   uint32_t i, const rm_binding *b, bool texel) {
    if (!b->buffer || b->range == 0)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: binding %u is empty", info->name, i);
    if (texel && ((info->texel4_mask >> i) & 1) && b->range < 8)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "%s: binding %u holds %llu bytes, less than one vec4 texel", info->name, i,
                       (unsigned long long)b->range);
    return rm_limits_check_binding(ctx, info, i, b, texel);
}

/* Part i of d (a whole dispatch when d is not cut). */
static rm_dispatch_part part_of(const rm_dispatch *d, uint32_t i) {
    if (d->part_count) return d->parts[i];
    rm_dispatch_part whole = {.groups = {d->groups[0], d->groups[1], d->groups[2]}};
    return whole;
}

repmlp_status rm_dispatch_bind(repmlp_context *ctx, VkDescriptorPool pool, rm_dispatch *d,
                               const rm_binding *bindings) {
    const rm_shader_info *info = rm_shader(d->pipeline->shader);
    VkDescriptorBufferInfo buffers[RM_MAX_BINDINGS];
    VkDescriptorImageInfo images[RM_MAX_BINDINGS];
    VkWriteDescriptorSet writes[RM_MAX_BINDINGS];
    rm_dispatch_unbind(ctx, d);
    char what[96];
    snprintf(what, sizeof what, "pipeline %s", info->name);
    uint32_t parts = rm_dispatch_sets(d);
    if (d->part_count > RM_MAX_PARTS || (d->part_count && d->part_binding >= info->binding_count))
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: %u parts on binding %u", what,
                       d->part_count, d->part_binding);
    for (uint32_t p = 0; p < parts; p++) {
        rm_dispatch_part part = part_of(d, p);
        repmlp_status gst =
            rm_limits_check_groups(ctx, what, part.groups[0], part.groups[1], part.groups[2]);
        if (gst != REPMLP_OK) return gst;
    }
    for (uint32_t i = 0; i < info->binding_count; i++) {
        const rm_binding *b = &bindings[i];
        if ((info->image_mask >> i) & 1) {
            if (!d->image) {
                rm_dispatch_unbind(ctx, d);
                return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: binding %u has no image view",
                               info->name, i);
            }
            images[i] =
                (VkDescriptorImageInfo){.imageView = d->image, .imageLayout = d->image_layout};
            continue;
        }
        bool texel = (info->texel_mask >> i) & 1;
        if (d->part_count && i == d->part_binding) {
            /* Checked per part below; a cut binding is never a texel view. */
            if (texel || !b->buffer) {
                rm_dispatch_unbind(ctx, d);
                return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "%s: binding %u cannot be cut",
                               info->name, i);
            }
            continue;
        }
        repmlp_status st = check_binding(ctx, info, i, b, texel);
        if (st != REPMLP_OK) {
            rm_dispatch_unbind(ctx, d);
            return st;
        }
        buffers[i] =
            (VkDescriptorBufferInfo){.buffer = b->buffer, .offset = b->offset, .range = b->range};
        if (texel) {
            /* The op checked that it reads fewer texels than the view limit, so the view may
             * be shorter than the binding. */
            bool vec4 = (info->texel4_mask >> i) & 1, half = vec4 && ((d->half_mask >> i) & 1);
            uint64_t texel_bytes = half ? 8 : vec4 ? 4 * sizeof(float) : sizeof(float);
            VkFormat format = half   ? VK_FORMAT_R16G16B16A16_SFLOAT
                              : vec4 ? VK_FORMAT_R32G32B32A32_SFLOAT
                                     : VK_FORMAT_R32_SFLOAT;
            uint64_t max_bytes = ctx->caps.max_texel_buffer_elements * texel_bytes;
            VkBufferViewCreateInfo view = {
                .sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
                .buffer = b->buffer,
                .format = format,
                .offset = b->offset,
                .range = b->range < max_bytes ? b->range / texel_bytes * texel_bytes : max_bytes,
            };
            VkResult r = RM_VK_CREATE(
                ctx->vk.vkCreateBufferView(ctx->device, &view, ctx->vk_allocator, &d->views[i]));
            if (r != VK_SUCCESS) {
                d->views[i] = VK_NULL_HANDLE;
                rm_dispatch_unbind(ctx, d);
                return rm_vk_fail(ctx, r, "vkCreateBufferView");
            }
        }
    }
    for (uint32_t p = 0; p < parts; p++) {
        if (d->part_count) {
            /* This part's range of the cut binding, inside what the caller bound there. */
            const rm_binding *whole = &bindings[d->part_binding];
            rm_dispatch_part part = d->parts[p];
            if (part.range == 0 || part.offset > whole->range ||
                part.range > whole->range - part.offset) {
                rm_dispatch_unbind(ctx, d);
                return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                               "%s: part %u spans bytes [%llu, +%llu) of a %llu-byte binding %u",
                               info->name, p, (unsigned long long)part.offset,
                               (unsigned long long)part.range, (unsigned long long)whole->range,
                               d->part_binding);
            }
            rm_binding b = {whole->buffer, whole->offset + part.offset, part.range};
            repmlp_status st = check_binding(ctx, info, d->part_binding, &b, false);
            if (st != REPMLP_OK) {
                rm_dispatch_unbind(ctx, d);
                return st;
            }
            buffers[d->part_binding] =
                (VkDescriptorBufferInfo){.buffer = b.buffer, .offset = b.offset, .range = b.range};
        }
        VkDescriptorSetAllocateInfo alloc = {
            .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
            .descriptorPool = pool,
            .descriptorSetCount = 1,
            .pSetLayouts = &d->pipeline->set_layout,
        };
        VkResult r =
            RM_VK_CREATE(ctx->vk.vkAllocateDescriptorSets(ctx->device, &alloc, &d->sets[p]));
        if (r != VK_SUCCESS) {
            rm_dispatch_unbind(ctx, d);
            return rm_vk_fail(ctx, r, "vkAllocateDescriptorSets");
        }
        for (uint32_t i = 0; i < info->binding_count; i++) {
            VkDescriptorType type = rm_descriptor_type(info, i);
            writes[i] = (VkWriteDescriptorSet){
                .sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                .dstSet = d->sets[p],
                .dstBinding = i,
                .descriptorCount = 1,
                .descriptorType = type,
                .pBufferInfo = type == VK_DESCRIPTOR_TYPE_STORAGE_BUFFER ? &buffers[i] : NULL,
                .pTexelBufferView =
                    type == VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER ? &d->views[i] : NULL,
                .pImageInfo = type == VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER ? &images[i] : NULL,
            };
        }
        ctx->vk.vkUpdateDescriptorSets(ctx->device, info->binding_count, writes, 0, NULL);
    }
    return REPMLP_OK;
}

void rm_dispatch_unbind(repmlp_context *ctx, rm_dispatch *d) {
    for (int i = 0; i < RM_MAX_BINDINGS; i++)
        if (d->views[i]) {
            ctx->vk.vkDestroyBufferView(ctx->device, d->views[i], ctx->vk_allocator);
            d->views[i] = VK_NULL_HANDLE;
        }
}

void rm_dispatch_record(const repmlp_context *ctx, VkCommandBuffer cmd, const rm_dispatch *d,
                        const rm_dispatch *prev) {
    if (!prev || prev->pipeline->pipeline != d->pipeline->pipeline)
        ctx->vk.vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, d->pipeline->pipeline);
    uint8_t push[RM_MAX_PUSH];
    memcpy(push, d->push, d->push_size);
    /* The parts write disjoint outputs and only read shared inputs: no barrier between them. */
    for (uint32_t p = 0; p < rm_dispatch_sets(d); p++) {
        rm_dispatch_part part = part_of(d, p);
        ctx->vk.vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, d->pipeline->layout, 0,
                                        1, &d->sets[p], 0, NULL);
        if (d->part_count && (d->part_push + 2) * 4 <= d->push_size)
            memcpy(push + d->part_push * 4, part.first, sizeof part.first);
        if (d->push_size)
            ctx->vk.vkCmdPushConstants(cmd, d->pipeline->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                                       d->push_size, push);
        ctx->vk.vkCmdDispatch(cmd, part.groups[0], part.groups[1], part.groups[2]);
    }
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
    if (invocations > UINT32_MAX)
        return rm_fail(REPMLP_ERROR_TOO_LARGE, "a dispatch of %llu invocations is too large",
                       (unsigned long long)invocations);
    char what[64];
    snprintf(what, sizeof what, "a dispatch of %llu invocations", (unsigned long long)invocations);
    repmlp_status st = rm_limits_check_groups(ctx, what, gx, gy, 1);
    if (st != REPMLP_OK) return st;
    groups[0] = (uint32_t)gx;
    groups[1] = (uint32_t)gy;
    groups[2] = 1;
    return REPMLP_OK;
}

repmlp_status rm_binding_window(const repmlp_context *ctx, const char *what,
                                const rm_binding *operands, uint32_t count, rm_binding *window,
                                uint32_t *float_offsets) {
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint32_t i = 0; i < count; i++) {
        const rm_binding *o = &operands[i];
        if (o->buffer != operands[0].buffer)
            return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                           "%s: operands 0 and %u are read through one binding but lie in "
                           "different buffers",
                           what, i);
        if (o->offset < lo) lo = o->offset;
        if (o->offset + o->range > hi) hi = o->offset + o->range;
    }
    uint64_t align = ctx->caps.min_storage_buffer_offset_alignment;
    uint64_t base = align > 1 ? lo / align * align : lo;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t at = operands[i].offset - base;
        if (at % sizeof(float) || at / sizeof(float) > UINT32_MAX)
            return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                           "%s: operand %u at byte %llu of its window", what, i,
                           (unsigned long long)at);
        float_offsets[i] = (uint32_t)(at / sizeof(float));
    }
    *window = (rm_binding){operands[0].buffer, base, hi - base};
    return REPMLP_OK;
}
