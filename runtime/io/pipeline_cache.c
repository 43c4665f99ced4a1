/* The context's pipeline cache as a device file (io/pipeline_cache.h). */
#include "io/pipeline_cache.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/fault.h"
#include "io/device_file.h"

#define RM_CACHE_MAGIC "RMVKPC01"

repmlp_status rm_pipeline_cache_serialize(repmlp_context *ctx, unsigned char **out, size_t *size) {
    size_t payload = 0;
    rm_mutex_lock(&ctx->lock);
    VkResult r = ctx->vk.vkGetPipelineCacheData(ctx->device, ctx->pipeline_cache, &payload, NULL);
    size_t bytes = sizeof(rm_device_file_header) + payload;
    unsigned char *data = r == VK_SUCCESS && bytes > payload ? rm_malloc(bytes) : NULL;
    if (r == VK_SUCCESS && data)
        r = ctx->vk.vkGetPipelineCacheData(ctx->device, ctx->pipeline_cache, &payload,
                                           data + sizeof(rm_device_file_header));
    rm_mutex_unlock(&ctx->lock);
    if (r != VK_SUCCESS) {
        rm_free(data);
        return rm_vk_fail(ctx, r, "vkGetPipelineCacheData");
    }
    if (!data)
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "pipeline cache: out of host memory");
    rm_device_file_header h;
    rm_device_file_header_make(ctx, RM_CACHE_MAGIC, data + sizeof h, payload, &h);
    memcpy(data, &h, sizeof h);
    *out = data;
    *size = sizeof h + payload;
    return REPMLP_OK;
}

repmlp_status rm_pipeline_cache_load(repmlp_context *ctx, const unsigned char *data, size_t size,
                                     const char *what) {
    const char *why =
        rm_device_file_check(ctx, RM_CACHE_MAGIC, "not a repmlp-vk cache", data, size);
    if (why) {
        rm_log(ctx, REPMLP_LOG_WARNING, "pipeline cache %s ignored: %s", what, why);
        return REPMLP_OK;
    }
    VkPipelineCacheCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
        .initialDataSize = size - sizeof(rm_device_file_header),
        .pInitialData = data + sizeof(rm_device_file_header),
    };
    VkPipelineCache loaded;
    VkResult r =
        RM_VK_CREATE(ctx->vk.vkCreatePipelineCache(ctx->device, &info, ctx->vk_allocator, &loaded));
    if (r != VK_SUCCESS) {
        rm_log(ctx, REPMLP_LOG_WARNING, "pipeline cache %s ignored: the driver refused it (%s)",
               what, rm_vk_result_name(r));
        return REPMLP_OK;
    }
    rm_mutex_lock(&ctx->lock);
    r = ctx->vk.vkMergePipelineCaches(ctx->device, ctx->pipeline_cache, 1, &loaded);
    rm_mutex_unlock(&ctx->lock);
    ctx->vk.vkDestroyPipelineCache(ctx->device, loaded, ctx->vk_allocator);
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkMergePipelineCaches");
    rm_log(ctx, REPMLP_LOG_INFO, "pipeline cache %s loaded", what);
    return REPMLP_OK;
}
