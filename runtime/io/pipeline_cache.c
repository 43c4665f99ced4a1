/* Saving and loading the pipeline cache: our device-file header (io/device_file.h), then the
 * driver's blob, so a stale or damaged file is detected here and ignored instead of being
 * handed to the driver. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "core/context.h"
#include "core/error.h"
#include "io/device_file.h"
#include "io/file_map.h"
#include "repmlp/vulkan.h"

#define RM_CACHE_MAGIC "RMVKPC01"

repmlp_status repmlp_context_save_pipeline_cache(repmlp_context *ctx, const char *path) {
    if (!ctx || !path)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "save_pipeline_cache: NULL argument");
    size_t size = 0;
    rm_mutex_lock(&ctx->lock);
    VkResult r = ctx->vk.vkGetPipelineCacheData(ctx->device, ctx->pipeline_cache, &size, NULL);
    unsigned char *data = r == VK_SUCCESS ? rm_malloc(size) : NULL;
    if (r == VK_SUCCESS && data)
        r = ctx->vk.vkGetPipelineCacheData(ctx->device, ctx->pipeline_cache, &size, data);
    rm_mutex_unlock(&ctx->lock);
    if (r != VK_SUCCESS) {
        rm_free(data);
        return rm_vk_fail(ctx, r, "vkGetPipelineCacheData");
    }
    if (!data) return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", path);
    rm_device_file_header h;
    rm_device_file_header_make(ctx, RM_CACHE_MAGIC, data, size, &h);
    repmlp_status st = rm_device_file_write(path, &h, data, size);
    rm_free(data);
    return st;
}

repmlp_status repmlp_context_load_pipeline_cache(repmlp_context *ctx, const char *path) {
    if (!ctx || !path)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "load_pipeline_cache: NULL argument");
    if (!rm_device_file_exists(path)) {
        rm_log(ctx, REPMLP_LOG_INFO, "pipeline cache %s: none yet", path);
        return REPMLP_OK;
    }
    rm_file_map map;
    repmlp_status st = rm_file_map_open(path, &map);
    if (st != REPMLP_OK) return st;
    const char *why =
        rm_device_file_check(ctx, RM_CACHE_MAGIC, "not a repmlp-vk cache", map.data, map.size);
    if (why) {
        rm_log(ctx, REPMLP_LOG_WARNING, "pipeline cache %s ignored: %s", path, why);
        rm_file_map_close(&map);
        return REPMLP_OK;
    }
    VkPipelineCacheCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
        .initialDataSize = map.size - sizeof(rm_device_file_header),
        .pInitialData = map.data + sizeof(rm_device_file_header),
    };
    VkPipelineCache loaded;
    VkResult r =
        RM_VK_CREATE(ctx->vk.vkCreatePipelineCache(ctx->device, &info, ctx->vk_allocator, &loaded));
    rm_file_map_close(&map);
    if (r != VK_SUCCESS) {
        rm_log(ctx, REPMLP_LOG_WARNING, "pipeline cache %s ignored: the driver refused it (%s)",
               path, rm_vk_result_name(r));
        return REPMLP_OK;
    }
    rm_mutex_lock(&ctx->lock);
    r = ctx->vk.vkMergePipelineCaches(ctx->device, ctx->pipeline_cache, 1, &loaded);
    rm_mutex_unlock(&ctx->lock);
    ctx->vk.vkDestroyPipelineCache(ctx->device, loaded, ctx->vk_allocator);
    if (r != VK_SUCCESS) return rm_vk_fail(ctx, r, "vkMergePipelineCaches");
    rm_log(ctx, REPMLP_LOG_INFO, "pipeline cache %s loaded", path);
    return REPMLP_OK;
}
