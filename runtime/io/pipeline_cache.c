/* Saving and loading the pipeline cache. The file is our own header, then the driver's blob:
 * the header pins the device (vendor, device, driver version, pipelineCacheUUID) and a
 * checksum of the blob, so a stale or damaged file is detected here and ignored instead of
 * being handed to the driver. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/fault.h"
#include "core/context.h"
#include "core/error.h"
#include "io/file_map.h"
#include "repmlp/vulkan.h"

#define RM_CACHE_MAGIC "RMVKPC01"

typedef struct cache_header {
    char magic[8];
    uint32_t vendor_id, device_id, driver_version, library_version;
    uint8_t uuid[VK_UUID_SIZE];
    uint64_t size;     /* bytes of driver data that follow */
    uint64_t checksum; /* FNV-1a of those bytes */
} cache_header;

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static void describe(const repmlp_context *ctx, cache_header *h) {
    memset(h, 0, sizeof *h);
    memcpy(h->magic, RM_CACHE_MAGIC, sizeof h->magic);
    h->vendor_id = ctx->properties.vendorID;
    h->device_id = ctx->properties.deviceID;
    h->driver_version = ctx->properties.driverVersion;
    h->library_version = REPMLP_VERSION_NUMBER;
    memcpy(h->uuid, ctx->properties.pipelineCacheUUID, VK_UUID_SIZE);
}

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
    cache_header h;
    describe(ctx, &h);
    h.size = size;
    h.checksum = fnv1a(data, size);
    rm_file_out out;
    repmlp_status st = rm_file_out_begin(path, &out);
    if (st == REPMLP_OK) {
        if (fwrite(&h, sizeof h, 1, out.fp) != 1 || (size && fwrite(data, size, 1, out.fp) != 1)) {
            rm_file_out_abort(&out);
            st = rm_fail(REPMLP_ERROR_IO, "%s: write failed", path);
        } else {
            st = rm_file_out_commit(&out);
        }
    }
    rm_free(data);
    return st;
}

/* Why the file cannot be used, or NULL when it can. */
static const char *check(const repmlp_context *ctx, const rm_file_map *map) {
    cache_header want, got;
    if (map->size < sizeof got) return "too short to hold a header";
    memcpy(&got, map->data, sizeof got);
    describe(ctx, &want);
    if (memcmp(got.magic, want.magic, sizeof got.magic) != 0) return "not a repmlp-vk cache";
    if (got.library_version != want.library_version) return "written by another library version";
    if (got.vendor_id != want.vendor_id || got.device_id != want.device_id)
        return "written for another device";
    if (got.driver_version != want.driver_version) return "written by another driver version";
    if (memcmp(got.uuid, want.uuid, VK_UUID_SIZE) != 0) return "pipelineCacheUUID differs";
    if (got.size != map->size - sizeof got) return "truncated or padded";
    if (got.checksum != fnv1a(map->data + sizeof got, (size_t)got.size)) return "checksum differs";
    return NULL;
}

repmlp_status repmlp_context_load_pipeline_cache(repmlp_context *ctx, const char *path) {
    if (!ctx || !path)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "load_pipeline_cache: NULL argument");
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        rm_log(ctx, REPMLP_LOG_INFO, "pipeline cache %s: none yet", path);
        return REPMLP_OK;
    }
    fclose(probe);
    rm_file_map map;
    repmlp_status st = rm_file_map_open(path, &map);
    if (st != REPMLP_OK) return st;
    const char *why = check(ctx, &map);
    if (why) {
        rm_log(ctx, REPMLP_LOG_WARNING, "pipeline cache %s ignored: %s", path, why);
        rm_file_map_close(&map);
        return REPMLP_OK;
    }
    VkPipelineCacheCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
        .initialDataSize = map.size - sizeof(cache_header),
        .pInitialData = map.data + sizeof(cache_header),
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
