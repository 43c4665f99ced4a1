/* Private: device buffers and host transfers. */
#ifndef RM_BUFFER_H
#define RM_BUFFER_H

#include "core/context.h"
#include "core/memory_choice.h"

typedef struct rm_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize size;
    void *mapped;           /* non-NULL when host-visible and coherent */
    VkDeviceSize allocated; /* device memory bytes, counted in ctx->memory_used */
    uint32_t heap;          /* the heap they come from, counted in ctx->heap_used[heap] */
    /* A small buffer's place in a shared block (core/suballoc.h); memory is then NULL. */
    struct rm_block *block;
    VkDeviceSize offset;
} rm_buffer;

/* Creates a buffer of `size` bytes (> 0) for `kind` (memory_choice.h: where it lands). Checks
 * size against the device's allocation limit and heaps before asking the driver, so an
 * impossible request gets a clear message, and the budget of the heap it lands in. */
repmlp_status rm_buffer_create(repmlp_context *ctx, VkDeviceSize size, rm_buffer_kind kind,
                               rm_buffer *out);
void rm_buffer_destroy(repmlp_context *ctx, rm_buffer *buf); /* zeroed or NULL buffer ok */
/* Whether a buffer of `kind` and `size` bytes created now would be mapped (assuming every
 * memory type is allowed for it, as for the library's storage buffers on real drivers). */
bool rm_buffer_maps(const repmlp_context *ctx, rm_buffer_kind kind, VkDeviceSize size);

/* Copies between host memory and buffer bytes [offset, offset + size); synchronous. Through a
 * staging buffer when buf is not mapped; its writes are visible to later submissions' shaders
 * and transfers, and a download's to the host. */
repmlp_status rm_buffer_upload(repmlp_context *ctx, rm_buffer *buf, VkDeviceSize offset,
                               const void *src, VkDeviceSize size);
repmlp_status rm_buffer_download(repmlp_context *ctx, const rm_buffer *buf, VkDeviceSize offset,
                                 void *dst, VkDeviceSize size);

/* One-off command buffer on the context's transfer pool: begin, then end+submit+wait+free. */
repmlp_status rm_oneoff_begin(repmlp_context *ctx, VkCommandBuffer *cmd);
repmlp_status rm_oneoff_submit(repmlp_context *ctx, VkCommandBuffer cmd);

#endif
