#include "core/buffer.h"

#include <stdatomic.h>
#include <string.h>

#include "core/error.h"
#include "core/fault.h"
#include "core/limits.h"

static int find_memory_type(const repmlp_context *ctx, uint32_t allowed,
                            VkMemoryPropertyFlags want) {
    for (uint32_t i = 0; i < ctx->memory.memoryTypeCount; i++)
        if ((allowed & (1u << i)) && (ctx->memory.memoryTypes[i].propertyFlags & want) == want)
            return (int)i;
    return -1;
}

static int choose_memory_type(const repmlp_context *ctx, uint32_t allowed, rm_buffer_kind kind) {
    const VkMemoryPropertyFlags local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    const VkMemoryPropertyFlags host =
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int t = -1;
    if (kind == RM_BUFFER_DEVICE) {
        t = find_memory_type(ctx, allowed, local | host);
        if (t < 0) t = find_memory_type(ctx, allowed, local);
        if (t < 0) t = find_memory_type(ctx, allowed, 0);
    } else {
        t = find_memory_type(ctx, allowed, host | VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
        if (t < 0) t = find_memory_type(ctx, allowed, host);
    }
    return t;
}

repmlp_status rm_buffer_create(repmlp_context *ctx, VkDeviceSize size, rm_buffer_kind kind,
                               rm_buffer *out) {
    memset(out, 0, sizeof *out);
    repmlp_status st = rm_check_alive(ctx);
    if (st == REPMLP_OK) st = rm_check_runs(ctx, "a device buffer");
    if (st != REPMLP_OK) return st;
    if (size == 0) return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "buffer of 0 bytes requested");
    st = rm_limits_check_buffer(ctx, size);
    if (st == REPMLP_OK) st = rm_memory_check(ctx, size);
    if (st != REPMLP_OK) return st;

    VkBufferCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    if (kind == RM_BUFFER_DEVICE) info.usage |= VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT;
    VkResult r =
        RM_VK_CREATE(ctx->vk.vkCreateBuffer(ctx->device, &info, ctx->vk_allocator, &out->buffer));
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkCreateBuffer");

    VkMemoryRequirements req;
    ctx->vk.vkGetBufferMemoryRequirements(ctx->device, out->buffer, &req);
    if (req.size > size && (st = rm_limits_check_buffer(ctx, req.size)) != REPMLP_OK) {
        rm_buffer_destroy(ctx, out);
        return st;
    }
    int type = choose_memory_type(ctx, req.memoryTypeBits, kind);
    if (type < 0) {
        rm_buffer_destroy(ctx, out);
        return rm_fail(REPMLP_ERROR_UNSUPPORTED, "no suitable memory type for a %s buffer",
                       kind == RM_BUFFER_DEVICE ? "device" : "staging");
    }
    VkMemoryAllocateInfo alloc = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = (uint32_t)type,
    };
    r = RM_VK_CREATE(
        ctx->vk.vkAllocateMemory(ctx->device, &alloc, ctx->vk_allocator, &out->memory));
    if (r != VK_SUCCESS) {
        rm_buffer_destroy(ctx, out);
        return rm_vk_fail(ctx, r, "vkAllocateMemory");
    }
    r = ctx->vk.vkBindBufferMemory(ctx->device, out->buffer, out->memory, 0);
    if (r != VK_SUCCESS) {
        rm_buffer_destroy(ctx, out);
        return rm_vk_fail(ctx, r, "vkBindBufferMemory");
    }
    const VkMemoryPropertyFlags host =
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    bool may_map = kind == RM_BUFFER_STAGING || !(ctx->flags & REPMLP_CONTEXT_FORCE_STAGING);
    if (may_map && (ctx->memory.memoryTypes[type].propertyFlags & host) == host) {
        r = ctx->vk.vkMapMemory(ctx->device, out->memory, 0, VK_WHOLE_SIZE, 0, &out->mapped);
        if (r != VK_SUCCESS) {
            rm_buffer_destroy(ctx, out);
            return rm_vk_fail(ctx, r, "vkMapMemory");
        }
    }
    out->size = size;
    out->allocated = req.size;
    atomic_fetch_add(&ctx->memory_used, (uint64_t)req.size);
    return REPMLP_OK;
}

void rm_buffer_destroy(repmlp_context *ctx, rm_buffer *buf) {
    if (!buf) return;
    if (buf->buffer) ctx->vk.vkDestroyBuffer(ctx->device, buf->buffer, ctx->vk_allocator);
    /* Freeing the memory also unmaps it. */
    if (buf->memory) ctx->vk.vkFreeMemory(ctx->device, buf->memory, ctx->vk_allocator);
    if (buf->allocated) atomic_fetch_sub(&ctx->memory_used, (uint64_t)buf->allocated);
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
    repmlp_status st = rm_buffer_create(ctx, size, RM_BUFFER_STAGING, &staging);
    if (st != REPMLP_OK) return st;
    if (upload) memcpy(staging.mapped, host, size);
    VkCommandBuffer cmd;
    st = rm_oneoff_begin(ctx, &cmd);
    if (st == REPMLP_OK) {
        VkBufferCopy region = {
            .srcOffset = upload ? 0 : offset, .dstOffset = upload ? offset : 0, .size = size};
        ctx->vk.vkCmdCopyBuffer(cmd, upload ? staging.buffer : device_buf->buffer,
                                upload ? device_buf->buffer : staging.buffer, 1, &region);
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
