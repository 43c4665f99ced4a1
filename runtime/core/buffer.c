#include "core/buffer.h"

#include <stdatomic.h>
#include <string.h>

#include "core/error.h"
#include "core/fault.h"
#include "core/limits.h"
#include "core/suballoc.h"

/* VK_EXT_memory_priority: what the driver should keep in device memory first when it runs
 * short (0.5 is the default). */
static float memory_priority(rm_buffer_kind kind) {
    switch (kind) {
        case RM_BUFFER_WEIGHTS:
            return 1.0f;
        case RM_BUFFER_ACTIVATIONS:
        case RM_BUFFER_IO:
            return 0.75f;
        case RM_BUFFER_UPLOAD:
        case RM_BUFFER_READBACK:
            return 0.0f;
    }
    return 0.5f;
}

/* The memory type for the buffer (memory_choice.h), then its heap's budget: a type whose heap
 * is over budget is left out and the next choice tried, as long as that one is as device-local
 * as the first (a device buffer never falls back to system memory on its own). */
static repmlp_status choose_memory(repmlp_context *ctx, const VkMemoryRequirements *mem,
                                   rm_buffer_kind kind, rm_memory_choice *out) {
    uint64_t used[VK_MAX_MEMORY_HEAPS];
    for (uint32_t i = 0; i < VK_MAX_MEMORY_HEAPS; i++) used[i] = atomic_load(&ctx->heap_used[i]);
    rm_memory_request req = {.kind = kind,
                             .size = mem->size,
                             .allowed = mem->memoryTypeBits,
                             .force_staging = (ctx->flags & REPMLP_CONTEXT_FORCE_STAGING) != 0,
                             .heap_used = used};
    repmlp_status st = REPMLP_OK;
    VkMemoryPropertyFlags first = 0;
    for (uint32_t tries = 0; tries < ctx->memory.memoryTypeCount; tries++) {
        *out = rm_memory_choose(&ctx->memory, &req);
        if (out->type < 0) break;
        VkMemoryPropertyFlags f = ctx->memory.memoryTypes[out->type].propertyFlags;
        if (tries == 0)
            first = f;
        else if ((first & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) &&
                 !(f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
            break;
        st = rm_memory_check(ctx, (uint32_t)out->heap, mem->size);
        if (st == REPMLP_OK) return REPMLP_OK;
        req.allowed &= ~(1u << out->type);
    }
    if (st != REPMLP_OK) return st;
    return rm_fail(REPMLP_ERROR_UNSUPPORTED,
                   "no memory type of the device can hold a %s buffer of %llu bytes",
                   rm_buffer_kind_name(kind), (unsigned long long)mem->size);
}

bool rm_buffer_maps(const repmlp_context *ctx, rm_buffer_kind kind, VkDeviceSize size) {
    uint64_t used[VK_MAX_MEMORY_HEAPS];
    for (uint32_t i = 0; i < VK_MAX_MEMORY_HEAPS; i++) used[i] = atomic_load(&ctx->heap_used[i]);
    rm_memory_request req = {.kind = kind,
                             .size = size,
                             .allowed = ~0u,
                             .force_staging = (ctx->flags & REPMLP_CONTEXT_FORCE_STAGING) != 0,
                             .heap_used = used};
    return rm_memory_choose(&ctx->memory, &req).map;
}

repmlp_status rm_buffer_create(repmlp_context *ctx, VkDeviceSize size, rm_buffer_kind kind,
                               rm_buffer *out) {
    memset(out, 0, sizeof *out);
    repmlp_status st = rm_check_alive(ctx);
    if (st == REPMLP_OK) st = rm_check_runs(ctx, "a device buffer");
    if (st != REPMLP_OK) return st;
    if (size == 0) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "buffer of 0 bytes requested");
    st = rm_limits_check_buffer(ctx, size);
    if (st == REPMLP_OK) st = rm_memory_check(ctx, RM_HEAP_NONE, size);
    if (st != REPMLP_OK) return st;

    VkBufferCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    if (kind != RM_BUFFER_UPLOAD && kind != RM_BUFFER_READBACK)
        info.usage |= VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT;
    VkResult r =
        RM_VK_CREATE(ctx->vk.vkCreateBuffer(ctx->device, &info, ctx->vk_allocator, &out->buffer));
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkCreateBuffer");

    VkMemoryRequirements req;
    ctx->vk.vkGetBufferMemoryRequirements(ctx->device, out->buffer, &req);
    if (req.size > size && (st = rm_limits_check_buffer(ctx, req.size)) != REPMLP_OK) {
        rm_buffer_destroy(ctx, out);
        return st;
    }
    if (req.size > size) st = rm_memory_check(ctx, RM_HEAP_NONE, req.size);
    rm_memory_choice choice = {.type = -1, .heap = -1};
    if (st == REPMLP_OK) st = choose_memory(ctx, &req, kind, &choice);
    if (st != REPMLP_OK) {
        rm_buffer_destroy(ctx, out);
        return st;
    }
    VkMemoryPriorityAllocateInfoEXT priority = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_PRIORITY_ALLOCATE_INFO_EXT,
        .priority = memory_priority(kind)};
    VkMemoryAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .pNext = ctx->caps.memory_priority ? &priority : NULL,
        .allocationSize = req.size,
        .memoryTypeIndex = (uint32_t)choice.type,
    };
    if (req.size < RM_SUBALLOC_MAX && req.alignment <= RM_SUBALLOC_MAX) {
        rm_suballocation sub;
        st = rm_suballoc(ctx, &alloc, kind, choice.map, req.size, req.alignment, &sub);
        if (st != REPMLP_OK) {
            rm_buffer_destroy(ctx, out);
            return st;
        }
        out->block = sub.block;
        out->offset = sub.offset;
        out->mapped = sub.mapped;
        out->allocated = req.size;
        out->heap = (uint32_t)choice.heap;
        r = ctx->vk.vkBindBufferMemory(ctx->device, out->buffer, sub.memory, sub.offset);
    } else {
        r = RM_VK_CREATE(
            ctx->vk.vkAllocateMemory(ctx->device, &alloc, ctx->vk_allocator, &out->memory));
        if (r != VK_SUCCESS) {
            rm_buffer_destroy(ctx, out);
            return rm_vk_fail(ctx, r, "vkAllocateMemory");
        }
        r = ctx->vk.vkBindBufferMemory(ctx->device, out->buffer, out->memory, 0);
    }
    if (r != VK_SUCCESS) {
        rm_buffer_destroy(ctx, out);
        return rm_vk_fail(ctx, r, "vkBindBufferMemory");
    }
    if (choice.map && !out->block) {
        r = ctx->vk.vkMapMemory(ctx->device, out->memory, 0, VK_WHOLE_SIZE, 0, &out->mapped);
        if (r != VK_SUCCESS) {
            rm_buffer_destroy(ctx, out);
            return rm_vk_fail(ctx, r, "vkMapMemory");
        }
    }
    out->size = size;
    out->allocated = req.size;
    out->heap = (uint32_t)choice.heap;
    rm_memory_count(ctx, out->heap, req.size, true);
    return REPMLP_OK;
}

void rm_buffer_destroy(repmlp_context *ctx, rm_buffer *buf) {
    if (!buf) return;
    if (buf->buffer) ctx->vk.vkDestroyBuffer(ctx->device, buf->buffer, ctx->vk_allocator);
    /* Freeing the memory also unmaps it. */
    if (buf->memory) ctx->vk.vkFreeMemory(ctx->device, buf->memory, ctx->vk_allocator);
    if (buf->block) rm_subfree(ctx, buf->block, buf->offset, buf->allocated);
    if (buf->allocated && buf->size) rm_memory_count(ctx, buf->heap, buf->allocated, false);
    memset(buf, 0, sizeof *buf);
}

repmlp_status rm_oneoff_begin(repmlp_context *ctx, VkCommandBuffer *cmd) {
    repmlp_status st = rm_check_runs(ctx, "a submission");
    if (st != REPMLP_OK) return st;
    VkCommandBufferAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = ctx->command_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = 1,
    };
    rm_mutex_lock(&ctx->lock);
    VkResult r = RM_VK_CREATE(ctx->vk.vkAllocateCommandBuffers(ctx->device, &alloc, cmd));
    rm_mutex_unlock(&ctx->lock);
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkAllocateCommandBuffers");
    VkCommandBufferBeginInfo begin = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    r = ctx->vk.vkBeginCommandBuffer(*cmd, &begin);
    if (r != VK_SUCCESS) {
        rm_mutex_lock(&ctx->lock);
        ctx->vk.vkFreeCommandBuffers(ctx->device, ctx->command_pool, 1, cmd);
        rm_mutex_unlock(&ctx->lock);
        return rm_vk_fail(ctx, r, "vkBeginCommandBuffer");
    }
    return REPMLP_OK;
}

repmlp_status rm_oneoff_submit(repmlp_context *ctx, VkCommandBuffer cmd) {
    VkResult r = ctx->vk.vkEndCommandBuffer(cmd);
    repmlp_status st = r == VK_SUCCESS ? REPMLP_OK : rm_vk_fail(ctx, r, "vkEndCommandBuffer");
    if (st == REPMLP_OK) {
        rm_mutex_lock(&ctx->transfer_lock);
        st = rm_submit_wait(ctx, cmd, ctx->fence);
        rm_mutex_unlock(&ctx->transfer_lock);
    }
    /* A timed-out command buffer may still be pending: leak it rather than free it in use. */
    if (st != REPMLP_ERROR_TIMEOUT) {
        rm_mutex_lock(&ctx->lock);
        ctx->vk.vkFreeCommandBuffers(ctx->device, ctx->command_pool, 1, &cmd);
        rm_mutex_unlock(&ctx->lock);
    }
    return st;
}

static repmlp_status check_range(const rm_buffer *buf, VkDeviceSize offset, VkDeviceSize size) {
    if (offset > buf->size || size > buf->size - offset)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT,
                       "transfer of %llu bytes at offset %llu exceeds a buffer of %llu bytes",
                       (unsigned long long)size, (unsigned long long)offset,
                       (unsigned long long)buf->size);
    return REPMLP_OK;
}

static repmlp_status staged_copy(repmlp_context *ctx, const rm_buffer *device_buf,
                                 VkDeviceSize offset, void *host, VkDeviceSize size, bool upload) {
    rm_buffer staging;
    repmlp_status st =
        rm_buffer_create(ctx, size, upload ? RM_BUFFER_UPLOAD : RM_BUFFER_READBACK, &staging);
    if (st != REPMLP_OK) return st;
    if (upload) memcpy(staging.mapped, host, size);
    VkCommandBuffer cmd;
    st = rm_oneoff_begin(ctx, &cmd);
    if (st == REPMLP_OK) {
        VkBufferCopy region = {
            .srcOffset = upload ? 0 : offset, .dstOffset = upload ? offset : 0, .size = size};
        ctx->vk.vkCmdCopyBuffer(cmd, upload ? staging.buffer : device_buf->buffer,
                                upload ? device_buf->buffer : staging.buffer, 1, &region);
        /* The fence alone makes nothing visible: a download's copy to the host's reads, an
         * upload's to the shaders and transfers of later submissions. */
        VkMemoryBarrier b = {
            .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
            .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
            .dstAccessMask = upload ? VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                          VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT
                                    : VK_ACCESS_HOST_READ_BIT};
        ctx->vk.vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                     upload ? VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT |
                                                  VK_PIPELINE_STAGE_TRANSFER_BIT
                                            : VK_PIPELINE_STAGE_HOST_BIT,
                                     0, 1, &b, 0, NULL, 0, NULL);
        st = rm_oneoff_submit(ctx, cmd);
    }
    if (st == REPMLP_OK && !upload) memcpy(host, staging.mapped, size);
    rm_buffer_destroy(ctx, &staging);
    return st;
}

repmlp_status rm_buffer_upload(repmlp_context *ctx, rm_buffer *buf, VkDeviceSize offset,
                               const void *src, VkDeviceSize size) {
    repmlp_status st = check_range(buf, offset, size);
    if (st != REPMLP_OK || size == 0) return st;
    if (buf->mapped) {
        memcpy((char *)buf->mapped + offset, src, size);
        return REPMLP_OK;
    }
    return staged_copy(ctx, buf, offset, (void *)src, size, true);
}

repmlp_status rm_buffer_download(repmlp_context *ctx, const rm_buffer *buf, VkDeviceSize offset,
                                 void *dst, VkDeviceSize size) {
    repmlp_status st = check_range(buf, offset, size);
    if (st != REPMLP_OK || size == 0) return st;
    if (buf->mapped) {
        memcpy(dst, (const char *)buf->mapped + offset, size);
        return REPMLP_OK;
    }
    return staged_copy(ctx, buf, offset, dst, size, false);
}
