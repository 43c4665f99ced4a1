/* Private: small buffers share device-memory blocks. A driver may cap the number of
 * allocations (maxMemoryAllocationCount, 4096 on some), and each one has a cost: buffers below
 * RM_SUBALLOC_MAX bytes are placed in blocks of RM_BLOCK_BYTES of one memory type and buffer
 * kind, found or made under the context's lock; a block is freed when its last buffer is. */
#ifndef RM_SUBALLOC_H
#define RM_SUBALLOC_H

#include "core/context.h"
#include "core/memory_choice.h"

#define RM_SUBALLOC_MAX ((VkDeviceSize)1 << 20)
#define RM_BLOCK_BYTES ((VkDeviceSize)4 << 20)

struct rm_block;

typedef struct rm_suballocation {
    struct rm_block *block;
    VkDeviceMemory memory; /* the block's */
    VkDeviceSize offset;   /* where the buffer is bound in it, aligned */
    void *mapped;          /* the block's mapping + offset, when mapped */
} rm_suballocation;

/* `size` bytes at `alignment` in a block of memory type `type` for buffers of `kind`, mapped
 * (coherent) when `map`; `info` is the allocation a new block copies (its pNext chain). */
repmlp_status rm_suballoc(repmlp_context *ctx, const VkMemoryAllocateInfo *info,
                          rm_buffer_kind kind, bool map, VkDeviceSize size, VkDeviceSize alignment,
                          rm_suballocation *out);
/* Returns [offset, offset + size) to its block; frees the block when nothing is left in it. */
void rm_subfree(repmlp_context *ctx, struct rm_block *block, VkDeviceSize offset,
                VkDeviceSize size);

#endif
