/* Blocks of device memory shared by small buffers: first fit over each block's sorted list of
 * free ranges, coalesced on free. */
#include "core/suballoc.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/fault.h"

typedef struct rm_range {
    VkDeviceSize offset, size;
} rm_range;

struct rm_block {
    struct rm_block *next;
    VkDeviceMemory memory;
    void *mapped;
    uint32_t type;
    rm_buffer_kind kind;
    bool map;
    VkDeviceSize size;
    rm_range *free; /* sorted by offset, never touching */
    uint32_t free_count, free_cap;
};

static bool reserve(struct rm_block *b, uint32_t count) {
    if (count <= b->free_cap) return true;
    uint32_t cap = b->free_cap ? b->free_cap * 2 : 8;
    rm_range *r = rm_realloc(b->free, cap * sizeof *r);
    if (!r) return false;
    b->free = r;
    b->free_cap = cap;
    return true;
}

/* Carves size bytes at alignment out of b; false when no free range holds them (or out of host
 * memory for the split, reported through *oom). */
static bool carve(struct rm_block *b, VkDeviceSize size, VkDeviceSize alignment,
                  VkDeviceSize *offset, bool *oom) {
    for (uint32_t i = 0; i < b->free_count; i++) {
        rm_range r = b->free[i];
        VkDeviceSize at = (r.offset + alignment - 1) / alignment * alignment;
        if (at < r.offset || at > r.offset + r.size || size > r.offset + r.size - at) continue;
        VkDeviceSize before = at - r.offset, after = r.offset + r.size - (at + size);
        if (before && after) {
            if (!reserve(b, b->free_count + 1)) {
                *oom = true;
                return false;
            }
            memmove(&b->free[i + 2], &b->free[i + 1], (b->free_count - i - 1) * sizeof *b->free);
            b->free_count++;
            b->free[i] = (rm_range){r.offset, before};
            b->free[i + 1] = (rm_range){at + size, after};
        } else if (before) {
            b->free[i] = (rm_range){r.offset, before};
        } else if (after) {
            b->free[i] = (rm_range){at + size, after};
        } else {
            memmove(&b->free[i], &b->free[i + 1], (b->free_count - i - 1) * sizeof *b->free);
            b->free_count--;
        }
        *offset = at;
        return true;
    }
    return false;
}

static void block_free(repmlp_context *ctx, struct rm_block *b) {
    if (b->memory) ctx->vk.vkFreeMemory(ctx->device, b->memory, ctx->vk_allocator);
    rm_free(b->free);
    rm_free(b);
}

static repmlp_status block_new(repmlp_context *ctx, const VkMemoryAllocateInfo *info,
                               rm_buffer_kind kind, bool map, struct rm_block **out) {
    struct rm_block *b = rm_calloc(1, sizeof *b);
    if (!b || !reserve(b, 1)) {
        if (b) block_free(ctx, b);
        return rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory");
    }
    VkMemoryAllocateInfo alloc = *info;
    alloc.allocationSize = RM_BLOCK_BYTES;
    VkResult r =
        RM_VK_CREATE(ctx->vk.vkAllocateMemory(ctx->device, &alloc, ctx->vk_allocator, &b->memory));
    if (r != VK_SUCCESS) {
        b->memory = VK_NULL_HANDLE;
        block_free(ctx, b);
        return rm_vk_fail(ctx, r, "vkAllocateMemory");
    }
    if (map && (r = ctx->vk.vkMapMemory(ctx->device, b->memory, 0, VK_WHOLE_SIZE, 0, &b->mapped)) !=
                   VK_SUCCESS) {
        block_free(ctx, b);
        return rm_vk_fail(ctx, r, "vkMapMemory");
    }
    b->type = info->memoryTypeIndex;
    b->kind = kind;
    b->map = map;
    b->size = RM_BLOCK_BYTES;
    b->free[0] = (rm_range){0, RM_BLOCK_BYTES};
    b->free_count = 1;
    *out = b;
    return REPMLP_OK;
}

repmlp_status rm_suballoc(repmlp_context *ctx, const VkMemoryAllocateInfo *info,
                          rm_buffer_kind kind, bool map, VkDeviceSize size, VkDeviceSize alignment,
                          rm_suballocation *out) {
    memset(out, 0, sizeof *out);
    if (alignment == 0) alignment = 1;
    repmlp_status st = REPMLP_OK;
    bool oom = false, placed = false;
    struct rm_block *b;
    rm_mutex_lock(&ctx->lock);
    for (b = ctx->blocks; b && !placed && !oom; b = placed ? b : b->next)
        if (b->type == info->memoryTypeIndex && b->kind == kind && b->map == map)
            placed = carve(b, size, alignment, &out->offset, &oom);
    if (!placed && !oom) {
        st = rm_memory_check_budget(ctx, ctx->memory.memoryTypes[info->memoryTypeIndex].heapIndex,
                                    RM_BLOCK_BYTES);
        if (st == REPMLP_OK) st = block_new(ctx, info, kind, map, &b);
        if (st == REPMLP_OK) {
            b->next = ctx->blocks;
            ctx->blocks = b;
            placed = carve(b, size, alignment, &out->offset, &oom);
        }
    }
    if (placed) {
        out->block = b;
        out->memory = b->memory;
        out->mapped = b->mapped ? (char *)b->mapped + out->offset : NULL;
    }
    rm_mutex_unlock(&ctx->lock);
    if (st != REPMLP_OK) return st;
    if (!placed)
        return oom ? rm_fail(REPMLP_ERROR_OUT_OF_HOST_MEMORY, "out of host memory")
                   : rm_fail(REPMLP_ERROR_OUT_OF_DEVICE_MEMORY,
                             "%llu bytes do not fit a new memory block", (unsigned long long)size);
    return REPMLP_OK;
}

void rm_subfree(repmlp_context *ctx, struct rm_block *b, VkDeviceSize offset, VkDeviceSize size) {
    rm_mutex_lock(&ctx->lock);
    uint32_t i = 0;
    while (i < b->free_count && b->free[i].offset < offset) i++;
    bool joins_prev = i > 0 && b->free[i - 1].offset + b->free[i - 1].size == offset;
    bool joins_next = i < b->free_count && offset + size == b->free[i].offset;
    if (joins_prev && joins_next) {
        b->free[i - 1].size += size + b->free[i].size;
        memmove(&b->free[i], &b->free[i + 1], (b->free_count - i - 1) * sizeof *b->free);
        b->free_count--;
    } else if (joins_prev) {
        b->free[i - 1].size += size;
    } else if (joins_next) {
        b->free[i].offset = offset;
        b->free[i].size += size;
    } else if (reserve(b, b->free_count + 1)) {
        memmove(&b->free[i + 1], &b->free[i], (b->free_count - i) * sizeof *b->free);
        b->free[i] = (rm_range){offset, size};
        b->free_count++;
    } /* else: out of host memory, the range stays used until the block goes with the device */
    if (b->free_count == 1 && b->free[0].size == b->size) {
        struct rm_block **p = &ctx->blocks;
        while (*p != b) p = &(*p)->next;
        *p = b->next;
        block_free(ctx, b);
    }
    rm_mutex_unlock(&ctx->lock);
}
