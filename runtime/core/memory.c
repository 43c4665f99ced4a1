/* Device memory on the application's terms: the library's own usage, the application's cap,
 * and the heap budget of VK_EXT_memory_budget where the device has it. */
#include <string.h>

#include "core/alloc.h"
#include "core/context.h"
#include "core/error.h"

/* VK_EXT_memory_budget's budget and usage of `heap` (both 0 without the extension). */
static void heap_budget(const repmlp_context *ctx, uint32_t heap, uint64_t *budget,
                        uint64_t *usage) {
    *budget = *usage = 0;
    if (!ctx->memory_budget_ext) return;
    VkPhysicalDeviceMemoryBudgetPropertiesEXT b = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 p = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, .pNext = &b};
    vkGetPhysicalDeviceMemoryProperties2(ctx->physical_device, &p);
    *budget = b.heapBudget[heap];
    *usage = b.heapUsage[heap];
}

void rm_memory_init(repmlp_context *ctx) {
    ctx->memory_budget_ext =
        rm_has_device_extension(ctx->physical_device, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
}

void rm_memory_count(repmlp_context *ctx, uint32_t heap, uint64_t bytes, bool add) {
    if (add) {
        atomic_fetch_add(&ctx->memory_used, bytes);
        atomic_fetch_add(&ctx->heap_used[heap], bytes);
    } else {
        atomic_fetch_sub(&ctx->memory_used, bytes);
        atomic_fetch_sub(&ctx->heap_used[heap], bytes);
    }
}

repmlp_status rm_memory_check(repmlp_context *ctx, uint32_t heap, uint64_t bytes) {
    uint64_t used = atomic_load(&ctx->memory_used);
    if (ctx->memory_limit && (bytes > ctx->memory_limit || used > ctx->memory_limit - bytes))
        return rm_fail(REPMLP_ERROR_OUT_OF_DEVICE_MEMORY,
                       "%llu more bytes of device memory would pass the context's limit of %llu "
                       "(%llu in use)",
                       (unsigned long long)bytes, (unsigned long long)ctx->memory_limit,
                       (unsigned long long)used);
    return rm_memory_check_budget(ctx, heap, bytes);
}

repmlp_status rm_memory_check_budget(repmlp_context *ctx, uint32_t heap, uint64_t bytes) {
    if (heap >= ctx->memory.memoryHeapCount) return REPMLP_OK;
    uint64_t budget, usage;
    heap_budget(ctx, heap, &budget, &usage);
    if (budget && (bytes > budget || usage > budget - bytes))
        return rm_fail(REPMLP_ERROR_OUT_OF_DEVICE_MEMORY,
                       "%llu more bytes of device memory would pass the budget of heap %u "
                       "(%llu bytes; VK_EXT_memory_budget; %llu in use)",
                       (unsigned long long)bytes, heap, (unsigned long long)budget,
                       (unsigned long long)usage);
    return REPMLP_OK;
}

repmlp_status repmlp_context_memory(const repmlp_context *ctx, repmlp_memory_info *out) {
    if (!ctx || !out)
        return rm_fail(REPMLP_ERROR_INVALID_ARGUMENT, "repmlp_context_memory: NULL argument");
    memset(out, 0, sizeof *out);
    out->used = atomic_load(&ctx->memory_used);
    out->limit = ctx->memory_limit;
    out->main_heap = ctx->caps.device_local_heap;
    out->heap_size = ctx->memory.memoryHeaps[out->main_heap].size;
    heap_budget(ctx, out->main_heap, &out->heap_budget, &out->heap_usage);
    out->heap_count = ctx->memory.memoryHeapCount;
    for (uint32_t i = 0; i < out->heap_count && i < REPMLP_MAX_HEAPS; i++) {
        repmlp_heap_info *h = &out->heaps[i];
        h->size = ctx->memory.memoryHeaps[i].size;
        h->device_local = (ctx->memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
        h->used = atomic_load(&ctx->heap_used[i]);
        heap_budget(ctx, i, &h->budget, &h->usage);
    }
    return REPMLP_OK;
}
