#include "test_image.h"

#include <string.h>

#include "core/buffer.h"
#include "core/context.h"
#include "test_support.h"

static void layout_barrier(repmlp_context *ctx, VkCommandBuffer cmd, VkImage image,
                           VkImageLayout from, VkImageLayout to, VkAccessFlags src_access,
                           VkAccessFlags dst_access, VkPipelineStageFlags src,
                           VkPipelineStageFlags dst) {
    VkImageMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
                              .srcAccessMask = src_access,
                              .dstAccessMask = dst_access,
                              .oldLayout = from,
                              .newLayout = to,
                              .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                              .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                              .image = image,
                              .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1}};
    ctx->vk.vkCmdPipelineBarrier(cmd, src, dst, 0, 0, NULL, 0, NULL, 1, &b);
}

ts_image ts_image_upload(repmlp_context *ctx, VkFormat format, const void *texels, size_t bytes,
                         uint32_t w, uint32_t h) {
    ts_image t;
    VkImageCreateInfo ii = {.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
                            .imageType = VK_IMAGE_TYPE_2D,
                            .format = format,
                            .extent = {w, h, 1},
                            .mipLevels = 1,
                            .arrayLayers = 1,
                            .samples = VK_SAMPLE_COUNT_1_BIT,
                            .tiling = VK_IMAGE_TILING_OPTIMAL,
                            .usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
                            .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED};
    assert_int_equal(ctx->vk.vkCreateImage(ctx->device, &ii, NULL, &t.image), VK_SUCCESS);
    VkMemoryRequirements req;
    ctx->vk.vkGetImageMemoryRequirements(ctx->device, t.image, &req);
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .allocationSize = req.size,
                               .memoryTypeIndex = ts_memory_type(ctx, req.memoryTypeBits, 0)};
    assert_int_equal(ctx->vk.vkAllocateMemory(ctx->device, &ai, NULL, &t.memory), VK_SUCCESS);
    assert_int_equal(ctx->vk.vkBindImageMemory(ctx->device, t.image, t.memory, 0), VK_SUCCESS);
    rm_buffer staging;
    assert_int_equal(rm_buffer_create(ctx, bytes, RM_BUFFER_UPLOAD, &staging), REPMLP_OK);
    memcpy(staging.mapped, texels, bytes);
    VkCommandBuffer cmd;
    assert_int_equal(rm_oneoff_begin(ctx, &cmd), REPMLP_OK);
    layout_barrier(ctx, cmd, t.image, VK_IMAGE_LAYOUT_UNDEFINED,
                   VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 0, VK_ACCESS_TRANSFER_WRITE_BIT,
                   VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT);
    VkBufferImageCopy region = {.imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
                                .imageExtent = {w, h, 1}};
    ctx->vk.vkCmdCopyBufferToImage(cmd, staging.buffer, t.image,
                                   VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 1, &region);
    /* What repmlp/vulkan.h asks of the caller: the writes visible to compute reads. */
    layout_barrier(ctx, cmd, t.image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL,
                   VK_IMAGE_LAYOUT_SHADER_READ_ONLY_OPTIMAL, VK_ACCESS_TRANSFER_WRITE_BIT,
                   VK_ACCESS_SHADER_READ_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
    assert_int_equal(rm_oneoff_submit(ctx, cmd), REPMLP_OK);
    rm_buffer_destroy(ctx, &staging);
    VkImageViewCreateInfo vi = {.sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
                                .image = t.image,
                                .viewType = VK_IMAGE_VIEW_TYPE_2D,
                                .format = format,
                                .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1}};
    assert_int_equal(ctx->vk.vkCreateImageView(ctx->device, &vi, NULL, &t.view), VK_SUCCESS);
    return t;
}

void ts_image_destroy(repmlp_context *ctx, ts_image *t) {
    ctx->vk.vkDestroyImageView(ctx->device, t->view, NULL);
    ctx->vk.vkDestroyImage(ctx->device, t->image, NULL);
    ctx->vk.vkFreeMemory(ctx->device, t->memory, NULL);
}
